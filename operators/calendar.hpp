#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

// Converts between microseconds since the Unix epoch (UTC) and civil dates and times of the
// proleptic Gregorian calendar, as Spark does for TIMESTAMP.
namespace sluice::calendar {

inline constexpr int64_t kMicrosPerSecond = 1'000'000;
inline constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

/// Divides rounding toward negative infinity.
constexpr int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return q - ((a % b != 0) & ((a < 0) != (b < 0)));
}

/// Returns the non-negative remainder of floor_div.
constexpr int64_t floor_mod(int64_t a, int64_t b) {
  return a - floor_div(a, b) * b;
}

/// Returns days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
constexpr int64_t days_from_civil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t yoe = year - era * 400;
  const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct CivilDate {
  int64_t year;
  int64_t month;  ///< 1..12
  int64_t day;    ///< 1..31
};

/// Returns the civil date of days since 1970-01-01.
constexpr CivilDate civil_from_days(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (month <= 2), month, day};
}

/// Returns the number of days of a month.
constexpr int64_t days_in_month(int64_t year, int64_t month) {
  constexpr int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

/// Returns the micros of a civil date and time, or nullopt when a field is out of range.
std::optional<int64_t> make_timestamp(int64_t year, int64_t month, int64_t day, int64_t hour,
                                      int64_t minute, int64_t second, int64_t micros);

/// Parses the text forms a cast to TIMESTAMP accepts: "yyyy-MM-dd", "yyyy-MM-dd HH:mm",
/// "yyyy-MM-dd HH:mm:ss[.fraction]" (1 to 9 fraction digits, beyond 6 truncated), with 'T'
/// allowed for the space, an optional trailing 'Z', surrounding whitespace ignored.
std::optional<int64_t> parse_timestamp(std::string_view text);

}  // namespace sluice::calendar
