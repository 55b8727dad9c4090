#include "operators/calendar.hpp"

namespace sluice::calendar {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads exactly count digits at pos.
bool read_digits(std::string_view text, size_t& pos, size_t count, int64_t& value) {
  if (pos + count > text.size()) return false;
  value = 0;
  for (size_t i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (!is_digit(c)) return false;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return true;
}

bool is_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

}  // namespace

std::optional<int64_t> make_timestamp(int64_t year, int64_t month, int64_t day, int64_t hour,
                                      int64_t minute, int64_t second, int64_t micros) {
  if (year < -290000 || year > 290000 || month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, month) || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 59 || micros < 0 || micros >= kMicrosPerSecond) {
    return std::nullopt;
  }
  return days_from_civil(year, month, day) * kMicrosPerDay + hour * kMicrosPerHour +
         minute * kMicrosPerMinute + second * kMicrosPerSecond + micros;
}

std::optional<int64_t> parse_timestamp(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  if (!text.empty() && text.back() == 'Z') text.remove_suffix(1);
  size_t pos = 0;
  int64_t sign = 1;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) {
    sign = text[pos] == '-' ? -1 : 1;
    ++pos;
  }
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, micros = 0;
  // Years have four digits or more (up to six), as Spark prints them.
  size_t year_digits = 0;
  while (pos + year_digits < text.size() && is_digit(text[pos + year_digits]))
    ++year_digits;
  if (year_digits < 4 || year_digits > 6) return std::nullopt;
  if (!read_digits(text, pos, year_digits, year)) return std::nullopt;
  year *= sign;
  if (pos >= text.size() || text[pos++] != '-') return std::nullopt;
  if (!read_digits(text, pos, 2, month)) return std::nullopt;
  if (pos >= text.size() || text[pos++] != '-') return std::nullopt;
  if (!read_digits(text, pos, 2, day)) return std::nullopt;
  if (pos < text.size()) {
    if (text[pos] != ' ' && text[pos] != 'T') return std::nullopt;
    ++pos;
    if (!read_digits(text, pos, 2, hour)) return std::nullopt;
    if (pos >= text.size() || text[pos++] != ':') return std::nullopt;
    if (!read_digits(text, pos, 2, minute)) return std::nullopt;
    if (pos < text.size()) {
      if (text[pos++] != ':') return std::nullopt;
      if (!read_digits(text, pos, 2, second)) return std::nullopt;
      if (pos < text.size()) {
        if (text[pos++] != '.') return std::nullopt;
        size_t digits = 0;
        int64_t scale = 100000;
        while (pos < text.size() && is_digit(text[pos])) {
          if (digits < 6) micros += (text[pos] - '0') * scale;
          scale /= 10;
          ++digits;
          ++pos;
        }
        if (digits == 0 || digits > 9 || pos != text.size()) return std::nullopt;
      }
    }
  }
  return make_timestamp(year, month, day, hour, minute, second, micros);
}

}  // namespace sluice::calendar
