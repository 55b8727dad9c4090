#include "core/type.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>

#include "core/value.hpp"

namespace sluice {

std::string_view type_name(Type type) {
  switch (type) {
    case Type::Bool: return "BOOLEAN";
    case Type::Int64: return "BIGINT";
    case Type::Double: return "DOUBLE";
    case Type::String: return "STRING";
    case Type::Timestamp: return "TIMESTAMP";
  }
  return "UNKNOWN";
}

std::optional<Type> Value::type() const {
  switch (storage_.index()) {
    case 1: return Type::Bool;
    case 2: return Type::Int64;
    case 3: return Type::Double;
    case 4: return Type::String;
    case 5: return Type::Timestamp;
    default: return std::nullopt;
  }
}

namespace {

// Converts days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
void civil_from_days(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  year = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year += month <= 2;
}

std::string format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  // Find the fewest significant digits that round-trip; 17 always do.
  char buffer[64];
  int precision = 0;
  for (; precision < 16; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*e", precision, v);
    if (std::strtod(buffer, nullptr) == v) break;
  }
  std::snprintf(buffer, sizeof buffer, "%.*e", precision, v);
  std::string text(buffer);
  const size_t e = text.find('e');
  const int exponent = std::atoi(text.c_str() + e + 1);
  // Positional notation in the range Python's repr uses it, so 100 prints as "100.0" (where
  // "%.1g" gave "1e+02"); scientific outside it, with a digit after the point as in "1.0e+20".
  if (exponent < -4 || exponent >= 16) {
    if (precision == 0) text.insert(e, ".0");
    return text;
  }
  const bool negative = text[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i) {
    if (text[i] != '.') digits += text[i];
  }
  std::string out = negative ? "-" : "";
  if (exponent < 0)
    return out + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  const size_t integral = static_cast<size_t>(exponent) + 1;
  // Pad the shortest digits with zeros (below 1e16 that is the exact value).
  if (digits.size() <= integral)
    return out + digits + std::string(integral - digits.size(), '0') + ".0";
  return out + digits.substr(0, integral) + "." + digits.substr(integral);
}

}  // namespace

std::string format_timestamp(int64_t micros) {
  int64_t seconds = micros / 1'000'000;
  int64_t fraction = micros % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    seconds -= 1;
  }
  int64_t days = seconds / 86400;
  int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    days -= 1;
  }
  int64_t year;
  unsigned month, day;
  civil_from_days(days, year, month, day);
  char buffer[64];
  int n = std::snprintf(buffer, sizeof buffer, "%04" PRId64 "-%02u-%02u %02d:%02d:%02d", year,
                        month, day, static_cast<int>(second_of_day / 3600),
                        static_cast<int>(second_of_day / 60 % 60),
                        static_cast<int>(second_of_day % 60));
  std::string text(buffer, static_cast<size_t>(n));
  if (fraction != 0) {
    std::snprintf(buffer, sizeof buffer, ".%06" PRId64, fraction);
    std::string digits(buffer);
    while (digits.back() == '0') digits.pop_back();
    text += digits;
  }
  return text;
}

std::string Value::to_string() const {
  switch (storage_.index()) {
    case 1: return as_bool() ? "true" : "false";
    case 2: return std::to_string(as_int64());
    case 3: return format_double(as_double());
    case 4: return as_string();
    case 5: return format_timestamp(as_timestamp().micros);
    default: return "null";
  }
}

std::ostream& operator<<(std::ostream& out, Type type) { return out << type_name(type); }
std::ostream& operator<<(std::ostream& out, const Value& value) { return out << value.to_string(); }

}  // namespace sluice
