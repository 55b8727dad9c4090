// Timestamp functions (UTC): to_timestamp with a Spark/Java datetime pattern, date_trunc,
// year/month/day/hour/minute/second, and the parser of interval literals.

#include <string>
#include <vector>

#include "operators/bound_node.hpp"
#include "operators/calendar.hpp"

namespace sluice {

namespace {

using calendar::floor_div;
using calendar::floor_mod;
using calendar::kMicrosPerDay;
using calendar::kMicrosPerHour;
using calendar::kMicrosPerMinute;
using calendar::kMicrosPerSecond;

char lower_char(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_ignoring_case(std::string_view text, size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (lower_char(text[pos + i]) != lower_char(word[i])) return false;
  }
  return true;
}

constexpr std::string_view kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};

// Parses strings against a compiled datetime pattern. Supported letters: y (year: y takes 1 to
// 6 digits, yy 2 digits for 2000-2099, yyyy exactly 4), M (month; MMM is an English abbreviation),
// d, H (0-23), h (1-12) with a (AM/PM), m, s, S (fraction of a second, as many digits as letters).
// Text in single quotes and any non-letter match themselves.
class DatetimePattern {
 public:
  static Result<DatetimePattern> compile(const std::string& format) {
    DatetimePattern pattern;
    for (size_t i = 0; i < format.size();) {
      const char c = format[i];
      if (c == '\'') {
        size_t end = i + 1;
        std::string text;
        while (true) {
          if (end >= format.size()) {
            return Status::invalid_argument("datetime pattern '" + format +
                                            "' has an unterminated quote");
          }
          if (format[end] == '\'') {
            if (end + 1 < format.size() && format[end + 1] == '\'') {
              text += '\'';
              end += 2;
              continue;
            }
            break;
          }
          text += format[end++];
        }
        if (end == i + 1) text = "'";  // '' is a quote
        pattern.fields_.push_back({Field::literal, 0, text});
        i = end + 1;
        continue;
      }
      const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (!letter) {
        pattern.fields_.push_back({Field::literal, 0, std::string(1, c)});
        ++i;
        continue;
      }
      size_t count = 1;
      while (i + count < format.size() && format[i + count] == c)
        ++count;
      Field::Kind kind;
      switch (c) {
        case 'y':
          kind = Field::year;
          break;
        case 'M':
          kind = Field::month;
          break;
        case 'd':
          kind = Field::day;
          break;
        case 'H':
          kind = Field::hour;
          break;
        case 'h':
          kind = Field::hour12;
          break;
        case 'm':
          kind = Field::minute;
          break;
        case 's':
          kind = Field::second;
          break;
        case 'S':
          kind = Field::fraction;
          break;
        case 'a':
          kind = Field::am_pm;
          break;
        default:
          return Status::invalid_argument(
              "datetime pattern '" + format + "' uses the unsupported letter '" +
              std::string(1, c) +
              "' (supported: y M d H h m s S a; quote literal text with '...'; times are UTC)");
      }
      pattern.fields_.push_back({kind, static_cast<int>(count), {}});
      i += count;
    }
    return pattern;
  }

  std::optional<int64_t> parse(std::string_view text) const {
    int64_t year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, micros = 0;
    int64_t hour12 = -1;
    bool pm = false;
    size_t pos = 0;
    for (const Field& field : fields_) {
      switch (field.kind) {
        case Field::literal:
          if (text.substr(pos, field.text.size()) != field.text) return std::nullopt;
          pos += field.text.size();
          break;
        case Field::year:
          if (field.count == 2) {
            if (!digits(text, pos, 2, 2, year)) return std::nullopt;
            year += 2000;
          } else if (!digits(text, pos, field.count == 1 ? 1 : field.count,
                             field.count == 1 ? 6 : field.count, year)) {
            return std::nullopt;
          }
          break;
        case Field::month:
          if (field.count >= 3) {
            month = 0;
            for (int m = 0; m < 12; ++m) {
              if (starts_with_ignoring_case(text, pos, kMonthNames[m])) {
                month = m + 1;
                pos += 3;
                break;
              }
            }
            if (month == 0) return std::nullopt;
          } else if (!number(text, pos, field.count, month)) {
            return std::nullopt;
          }
          break;
        case Field::day:
          if (!number(text, pos, field.count, day)) return std::nullopt;
          break;
        case Field::hour:
          if (!number(text, pos, field.count, hour)) return std::nullopt;
          break;
        case Field::hour12:
          if (!number(text, pos, field.count, hour12) || hour12 < 1 || hour12 > 12) {
            return std::nullopt;
          }
          break;
        case Field::minute:
          if (!number(text, pos, field.count, minute)) return std::nullopt;
          break;
        case Field::second:
          if (!number(text, pos, field.count, second)) return std::nullopt;
          break;
        case Field::fraction: {
          int64_t fraction;
          if (!digits(text, pos, field.count, field.count, fraction)) return std::nullopt;
          for (int k = field.count; k < 6; ++k)
            fraction *= 10;
          for (int k = 6; k < field.count; ++k)
            fraction /= 10;
          micros = fraction;
          break;
        }
        case Field::am_pm:
          if (starts_with_ignoring_case(text, pos, "am")) {
            pm = false;
          } else if (starts_with_ignoring_case(text, pos, "pm")) {
            pm = true;
          } else {
            return std::nullopt;
          }
          pos += 2;
          break;
      }
    }
    if (pos != text.size()) return std::nullopt;
    if (hour12 >= 0) hour = hour12 % 12 + (pm ? 12 : 0);
    return calendar::make_timestamp(year, month, day, hour, minute, second, micros);
  }

 private:
  struct Field {
    enum Kind { literal, year, month, day, hour, hour12, minute, second, fraction, am_pm } kind;
    int count;
    std::string text;
  };

  // Reads between min and max digits.
  static bool digits(std::string_view text, size_t& pos, int min, int max, int64_t& value) {
    value = 0;
    int count = 0;
    while (count < max && pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      value = value * 10 + (text[pos] - '0');
      ++pos;
      ++count;
    }
    return count >= min;
  }

  // Reads a field written with count letters: one letter takes one or two digits, two take two.
  static bool number(std::string_view text, size_t& pos, int count, int64_t& value) {
    return count == 1 ? digits(text, pos, 1, 2, value) : digits(text, pos, count, count, value);
  }

  std::vector<Field> fields_;
};

class ToTimestampNode final : public BoundNode {
 public:
  ToTimestampNode(BoundNodePtr child, DatetimePattern pattern, Expr expr)
      : BoundNode(Type::Timestamp, true, std::move(expr), {child}), pattern_(std::move(pattern)) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr input, children[0]->evaluate(ctx));
    const int64_t n = ctx.num_rows;
    auto values = allocate_values(type, n);
    int64_t* out = values->mutable_as<int64_t>();
    std::vector<uint8_t> ok(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      auto micros = pattern_.parse(input->string_at(i));
      ok[static_cast<size_t>(i)] = micros.has_value();
      out[i] = micros.value_or(0);
    }
    auto validity = validity::allocate(n);
    uint64_t* words = validity->mutable_as<uint64_t>();
    validity::pack(ok.data(), n, words);
    validity::and_into(words, validity::of(*input), n);
    return Column::make_unchecked(type, n, std::move(values), std::move(validity));
  }

 private:
  DatetimePattern pattern_;
};

enum class TruncUnit { year, quarter, month, week, fixed };

class DateTruncNode final : public BoundNode {
 public:
  DateTruncNode(TruncUnit unit, int64_t fixed_micros, BoundNodePtr child, Expr expr)
      : BoundNode(Type::Timestamp, child->nullable, std::move(expr), {child}),
        unit_(unit),
        fixed_micros_(fixed_micros) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr input, children[0]->evaluate(ctx));
    const int64_t n = ctx.num_rows;
    auto values = allocate_values(type, n);
    int64_t* __restrict out = values->mutable_as<int64_t>();
    const int64_t* __restrict in = input->values<int64_t>();
    switch (unit_) {
      case TruncUnit::fixed: {
        const int64_t unit = fixed_micros_;
        for (int64_t i = 0; i < n; ++i)
          out[i] = in[i] - floor_mod(in[i], unit);
        break;
      }
      case TruncUnit::week:
        // 1970-01-01 was a Thursday; weeks start on Monday.
        for (int64_t i = 0; i < n; ++i) {
          const int64_t days = floor_div(in[i], kMicrosPerDay);
          out[i] = (days - floor_mod(days + 3, 7)) * kMicrosPerDay;
        }
        break;
      default:
        for (int64_t i = 0; i < n; ++i) {
          const auto date = calendar::civil_from_days(floor_div(in[i], kMicrosPerDay));
          int64_t month = date.month;
          if (unit_ == TruncUnit::year) month = 1;
          if (unit_ == TruncUnit::quarter) month = (date.month - 1) / 3 * 3 + 1;
          out[i] = calendar::days_from_civil(date.year, month, 1) * kMicrosPerDay;
        }
        break;
    }
    return Column::make_unchecked(type, n, std::move(values), validity::rebase(*input));
  }

 private:
  TruncUnit unit_;
  int64_t fixed_micros_;
};

class ExtractNode final : public BoundNode {
 public:
  ExtractNode(TimestampField field, BoundNodePtr child, Expr expr)
      : BoundNode(Type::Int64, child->nullable, std::move(expr), {child}), field_(field) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr input, children[0]->evaluate(ctx));
    const int64_t n = ctx.num_rows;
    auto values = allocate_values(type, n);
    int64_t* __restrict out = values->mutable_as<int64_t>();
    const int64_t* __restrict in = input->values<int64_t>();
    switch (field_) {
      case TimestampField::year:
      case TimestampField::month:
      case TimestampField::day:
        for (int64_t i = 0; i < n; ++i) {
          const auto date = calendar::civil_from_days(floor_div(in[i], kMicrosPerDay));
          out[i] = field_ == TimestampField::year    ? date.year
                   : field_ == TimestampField::month ? date.month
                                                     : date.day;
        }
        break;
      case TimestampField::hour:
        for (int64_t i = 0; i < n; ++i)
          out[i] = floor_mod(in[i], kMicrosPerDay) / kMicrosPerHour;
        break;
      case TimestampField::minute:
        for (int64_t i = 0; i < n; ++i)
          out[i] = floor_mod(in[i], kMicrosPerHour) / kMicrosPerMinute;
        break;
      case TimestampField::second:
        for (int64_t i = 0; i < n; ++i) {
          out[i] = floor_mod(in[i], kMicrosPerMinute) / kMicrosPerSecond;
        }
        break;
    }
    return Column::make_unchecked(type, n, std::move(values), validity::rebase(*input));
  }

 private:
  TimestampField field_;
};

struct IntervalUnit {
  const char* names[4];
  int64_t micros;
};

constexpr IntervalUnit kIntervalUnits[] = {
    {{"microsecond", "microseconds", "us", nullptr}, 1},
    {{"millisecond", "milliseconds", "ms", nullptr}, 1000},
    {{"second", "seconds", "sec", "secs"}, kMicrosPerSecond},
    {{"minute", "minutes", "min", "mins"}, kMicrosPerMinute},
    {{"hour", "hours", nullptr, nullptr}, kMicrosPerHour},
    {{"day", "days", nullptr, nullptr}, kMicrosPerDay},
    {{"week", "weeks", nullptr, nullptr}, 7 * kMicrosPerDay},
};

}  // namespace

Result<int64_t> parse_interval(std::string_view text) {
  const std::string original(text);
  auto fail = [&](const std::string& why) {
    return Status::invalid_argument("cannot parse interval '" + original + "': " + why);
  };
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += lower_char(c);
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  size_t i = 0;
  if (!words.empty() && words[0] == "interval") ++i;
  if (i == words.size()) return fail("expected '<number> <unit>', e.g. '10 seconds'");
  int64_t total = 0;
  for (; i < words.size(); i += 2) {
    const std::string& number = words[i];
    size_t pos = 0;
    bool negative = false;
    if (pos < number.size() && (number[pos] == '-' || number[pos] == '+')) {
      negative = number[pos++] == '-';
    }
    if (pos == number.size()) return fail("'" + number + "' is not a whole number");
    int64_t amount = 0;
    for (; pos < number.size(); ++pos) {
      const char c = number[pos];
      if (c < '0' || c > '9') return fail("'" + number + "' is not a whole number");
      if (__builtin_mul_overflow(amount, 10, &amount) ||
          __builtin_add_overflow(amount, c - '0', &amount)) {
        return fail("the number is too large");
      }
    }
    if (negative) amount = -amount;
    if (i + 1 == words.size()) return fail("'" + number + "' has no unit");
    const std::string& unit = words[i + 1];
    int64_t unit_micros = 0;
    for (const auto& candidate : kIntervalUnits) {
      for (const char* name : candidate.names) {
        if (name != nullptr && unit == name) unit_micros = candidate.micros;
      }
    }
    if (unit_micros == 0) {
      if (unit.rfind("month", 0) == 0 || unit.rfind("year", 0) == 0) {
        return fail("months and years have no fixed length; use days or weeks");
      }
      return fail("unknown unit '" + unit +
                  "' (use microseconds, milliseconds, seconds, minutes, hours, days or weeks)");
    }
    int64_t micros;
    if (__builtin_mul_overflow(amount, unit_micros, &micros) ||
        __builtin_add_overflow(total, micros, &total)) {
      return fail("the interval does not fit in 64-bit microseconds");
    }
  }
  return total;
}

Result<BoundNodePtr> make_to_timestamp_node(BoundNodePtr child, const std::string& format,
                                            Expr expr) {
  SLUICE_ASSIGN_OR_RETURN(DatetimePattern pattern, DatetimePattern::compile(format));
  return BoundNodePtr(
      std::make_shared<ToTimestampNode>(std::move(child), std::move(pattern), std::move(expr)));
}

Result<BoundNodePtr> make_date_trunc_node(const std::string& unit, BoundNodePtr child, Expr expr) {
  TruncUnit kind = TruncUnit::fixed;
  int64_t micros = 0;
  if (unit == "year" || unit == "yyyy" || unit == "yy") {
    kind = TruncUnit::year;
  } else if (unit == "quarter") {
    kind = TruncUnit::quarter;
  } else if (unit == "month" || unit == "mon" || unit == "mm") {
    kind = TruncUnit::month;
  } else if (unit == "week") {
    kind = TruncUnit::week;
  } else if (unit == "day" || unit == "dd") {
    micros = kMicrosPerDay;
  } else if (unit == "hour") {
    micros = kMicrosPerHour;
  } else if (unit == "minute") {
    micros = kMicrosPerMinute;
  } else if (unit == "second") {
    micros = kMicrosPerSecond;
  } else if (unit == "millisecond") {
    micros = 1000;
  } else if (unit == "microsecond") {
    micros = 1;
  } else {
    return Status::invalid_argument("date_trunc unit '" + unit + "' is not one of year, quarter, " +
                                    "month, week, day, hour, minute, second, millisecond, " +
                                    "microsecond in " + expr.to_string());
  }
  return BoundNodePtr(
      std::make_shared<DateTruncNode>(kind, micros, std::move(child), std::move(expr)));
}

BoundNodePtr make_extract_node(TimestampField field, BoundNodePtr child, Expr expr) {
  return std::make_shared<ExtractNode>(field, std::move(child), std::move(expr));
}

namespace {

// unix_micros / timestamp_micros: both types hold int64 microseconds, so only the type changes.
class MicrosNode final : public BoundNode {
 public:
  MicrosNode(Type to, BoundNodePtr child, Expr expr)
      : BoundNode(to, child->nullable, std::move(expr), {child}) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr input, children[0]->evaluate(ctx));
    return Column::make_unchecked(type, input->length(), input->values_buffer(),
                                  input->validity_buffer(), nullptr, input->offset());
  }
};

}  // namespace

BoundNodePtr make_micros_node(Type to, BoundNodePtr child, Expr expr) {
  return std::make_shared<MicrosNode>(to, std::move(child), std::move(expr));
}

}  // namespace sluice
