// CAST between BOOLEAN, BIGINT, DOUBLE, STRING and TIMESTAMP, following Spark:
//  - BIGINT -> TIMESTAMP reads seconds since the epoch, DOUBLE -> TIMESTAMP seconds with a
//    fraction (truncated to microseconds); TIMESTAMP -> BIGINT gives whole seconds (floor),
//    TIMESTAMP -> DOUBLE seconds with a fraction.
//  - DOUBLE -> BIGINT truncates toward zero; NaN, infinities and values out of range fail.
//  - STRING -> BOOLEAN accepts t/true/y/yes/1 and f/false/n/no/0 (any case); STRING -> BIGINT
//    accepts an optional sign and digits, with a fractional part truncated ("1.9" -> 1);
//    STRING -> DOUBLE accepts decimal and exponent forms, inf/infinity/nan; STRING ->
//    TIMESTAMP accepts the forms of calendar::parse_timestamp. Surrounding whitespace is
//    ignored.
//  - BOOLEAN <-> TIMESTAMP does not exist (a type error at bind, as in Spark's ANSI mode).
// A value that does not convert is NULL for a lenient cast, an error naming the value and the
// target type for a strict one.

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "operators/bound_node.hpp"
#include "operators/calendar.hpp"
#include "operators/string_writer.hpp"

namespace sluice {

namespace {

bool is_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

bool parse_bool(std::string_view text, uint8_t& out) {
  text = trim_spaces(text);
  for (const char* word : {"t", "true", "y", "yes", "1"}) {
    if (equals_ignoring_case(text, word)) {
      out = 1;
      return true;
    }
  }
  for (const char* word : {"f", "false", "n", "no", "0"}) {
    if (equals_ignoring_case(text, word)) {
      out = 0;
      return true;
    }
  }
  return false;
}

bool parse_int64(std::string_view text, int64_t& out) {
  text = trim_spaces(text);
  size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) negative = text[pos++] == '-';
  uint64_t magnitude = 0;
  size_t digits = 0;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits) {
    const uint64_t digit = static_cast<uint64_t>(text[pos] - '0');
    if (magnitude > (limit - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  if (pos < text.size() && text[pos] == '.') {
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos)
      ++digits;
  }
  if (digits == 0 || pos != text.size()) return false;
  out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

bool parse_double(std::string_view text, double& out) {
  text = trim_spaces(text);
  bool negative = false;
  std::string_view body = text;
  if (!body.empty() && (body.front() == '-' || body.front() == '+')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (equals_ignoring_case(body, "inf") || equals_ignoring_case(body, "infinity")) {
    out = negative ? -INFINITY : INFINITY;
    return true;
  }
  if (equals_ignoring_case(body, "nan")) {
    out = NAN;
    return true;
  }
  if (body.empty() ||
      !(std::isdigit(static_cast<unsigned char>(body.front())) || body.front() == '.')) {
    return false;
  }
  double value;
  auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (error != std::errc() || end != body.data() + body.size()) return false;
  out = negative ? -value : value;
  return true;
}

// Converts fixed-width inputs to fixed-width outputs: out[i] for every row, and ok[i] = 0 for
// rows that do not convert.
struct FixedConversion {
  std::shared_ptr<Buffer> values;
  std::vector<uint8_t> ok;  ///< empty when every value converts
};

constexpr double kTwoTo63 = 9223372036854775808.0;

inline uint8_t fits_int64(double d) {
  return (d >= -kTwoTo63) & (d < kTwoTo63);
}

FixedConversion convert_fixed(const Column& input, Type from, Type to, int64_t n) {
  FixedConversion result{allocate_values(to, n), {}};
  auto need_ok = [&]() -> uint8_t* {
    result.ok.assign(static_cast<size_t>(n), 1);
    return result.ok.data();
  };
  if (from == Type::Bool) {
    const uint8_t* __restrict in = input.values<uint8_t>();
    if (to == Type::Double) {
      double* __restrict out = result.values->mutable_as<double>();
      for (int64_t i = 0; i < n; ++i)
        out[i] = in[i];
    } else {
      int64_t* __restrict out = result.values->mutable_as<int64_t>();
      for (int64_t i = 0; i < n; ++i)
        out[i] = in[i];
    }
  } else if (from == Type::Int64) {
    const int64_t* __restrict in = input.values<int64_t>();
    if (to == Type::Bool) {
      uint8_t* __restrict out = result.values->mutable_data();
      for (int64_t i = 0; i < n; ++i)
        out[i] = in[i] != 0;
    } else if (to == Type::Double) {
      double* __restrict out = result.values->mutable_as<double>();
      for (int64_t i = 0; i < n; ++i)
        out[i] = static_cast<double>(in[i]);
    } else {  // Timestamp: seconds
      int64_t* __restrict out = result.values->mutable_as<int64_t>();
      uint8_t* __restrict ok = need_ok();
      constexpr int64_t kMax = INT64_MAX / calendar::kMicrosPerSecond;
      for (int64_t i = 0; i < n; ++i) {
        out[i] = static_cast<int64_t>(static_cast<uint64_t>(in[i]) * calendar::kMicrosPerSecond);
        ok[i] = (in[i] <= kMax) & (in[i] >= -kMax);
      }
    }
  } else if (from == Type::Double) {
    const double* __restrict in = input.values<double>();
    if (to == Type::Bool) {
      uint8_t* __restrict out = result.values->mutable_data();
      for (int64_t i = 0; i < n; ++i)
        out[i] = in[i] != 0;
    } else {
      const double scale = to == Type::Timestamp ? 1e6 : 1.0;
      int64_t* __restrict out = result.values->mutable_as<int64_t>();
      uint8_t* __restrict ok = need_ok();
      for (int64_t i = 0; i < n; ++i) {
        const double scaled = in[i] * scale;
        ok[i] = fits_int64(scaled);
        out[i] = ok[i] ? static_cast<int64_t>(scaled) : 0;
      }
    }
  } else {  // Timestamp
    const int64_t* __restrict in = input.values<int64_t>();
    if (to == Type::Double) {
      double* __restrict out = result.values->mutable_as<double>();
      for (int64_t i = 0; i < n; ++i)
        out[i] = static_cast<double>(in[i]) / 1e6;
    } else {
      int64_t* __restrict out = result.values->mutable_as<int64_t>();
      for (int64_t i = 0; i < n; ++i)
        out[i] = calendar::floor_div(in[i], calendar::kMicrosPerSecond);
    }
  }
  return result;
}

FixedConversion parse_strings(const Column& input, Type to, int64_t n) {
  FixedConversion result{allocate_values(to, n), std::vector<uint8_t>(static_cast<size_t>(n))};
  uint8_t* ok = result.ok.data();
  switch (to) {
    case Type::Bool: {
      uint8_t* out = result.values->mutable_data();
      for (int64_t i = 0; i < n; ++i)
        ok[i] = parse_bool(input.string_at(i), out[i]);
      break;
    }
    case Type::Int64: {
      int64_t* out = result.values->mutable_as<int64_t>();
      for (int64_t i = 0; i < n; ++i)
        ok[i] = parse_int64(input.string_at(i), out[i]);
      break;
    }
    case Type::Double: {
      double* out = result.values->mutable_as<double>();
      for (int64_t i = 0; i < n; ++i)
        ok[i] = parse_double(input.string_at(i), out[i]);
      break;
    }
    case Type::Timestamp: {
      int64_t* out = result.values->mutable_as<int64_t>();
      for (int64_t i = 0; i < n; ++i) {
        auto micros = calendar::parse_timestamp(input.string_at(i));
        ok[i] = micros.has_value();
        out[i] = micros.value_or(0);
      }
      break;
    }
    case Type::String:
      break;
  }
  return result;
}

ColumnPtr format_strings(const Column& input, Type from, int64_t n) {
  StringColumnWriter writer(n, n * 8);
  const bool has_nulls = input.has_nulls();
  char buffer[32];
  for (int64_t i = 0; i < n; ++i) {
    if (has_nulls && input.is_null(i)) {
      writer.append({});
      continue;
    }
    switch (from) {
      case Type::Bool:
        writer.append(input.values<uint8_t>()[i] ? "true" : "false");
        break;
      case Type::Int64: {
        auto [end, error] =
            std::to_chars(buffer, buffer + sizeof buffer, input.values<int64_t>()[i]);
        writer.append({buffer, static_cast<size_t>(end - buffer)});
        break;
      }
      case Type::Double:
        writer.append(Value(input.values<double>()[i]).to_string());
        break;
      case Type::Timestamp:
        writer.append(format_timestamp(input.values<int64_t>()[i]));
        break;
      case Type::String:
        writer.append(input.string_at(i));
        break;
    }
  }
  return writer.finish(validity::rebase(input));
}

class CastNode final : public BoundNode {
 public:
  CastNode(Type to, bool strict, BoundNodePtr child, Expr expr)
      : BoundNode(to, child->nullable || (!strict && cast_can_fail(child->type, to)),
                  std::move(expr), {child}),
        from_(children[0]->type),
        strict_(strict) {
    may_fail = may_fail || (strict && cast_can_fail(from_, to));
  }

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr input, children[0]->evaluate(ctx));
    return cast(*input, ctx);
  }

  Result<ColumnPtr> cast(const Column& input, const EvalContext& ctx) const {
    const int64_t n = ctx.num_rows;
    if (type == Type::String) return format_strings(input, from_, n);
    FixedConversion conversion = from_ == Type::String ? parse_strings(input, type, n)
                                                       : convert_fixed(input, from_, type, n);
    BufferPtr validity = validity::rebase(input);
    if (!conversion.ok.empty()) {
      if (strict_) {
        const int64_t row = first_failing_row(ctx, validity.get(), [&](int64_t i) {
          return conversion.ok[static_cast<size_t>(i)] == 0;
        });
        if (row >= 0) {
          Value value = input.value_at(row);
          const std::string text =
              from_ == Type::String ? "'" + value.to_string() + "'" : value.to_string();
          return Status::invalid_argument("cannot cast " + std::string(type_name(from_)) +
                                          " value " + text + " to " + std::string(type_name(type)) +
                                          " in " + expr.to_string());
        }
      } else {
        auto bits = validity::allocate(n);
        uint64_t* words = bits->mutable_as<uint64_t>();
        validity::pack(conversion.ok.data(), n, words);
        validity::and_into(words, validity::of(input), n);
        validity = std::move(bits);
      }
    }
    return Column::make_unchecked(type, n, std::move(conversion.values), std::move(validity));
  }

 private:
  Type from_;
  bool strict_;
};

}  // namespace

bool cast_supported(Type from, Type to) {
  const bool bool_timestamp = (from == Type::Bool && to == Type::Timestamp) ||
                              (from == Type::Timestamp && to == Type::Bool);
  return !bool_timestamp;
}

bool cast_can_fail(Type from, Type to) {
  if (from == to || to == Type::String) return false;
  if (from == Type::String) return true;
  return (from == Type::Double && (to == Type::Int64 || to == Type::Timestamp)) ||
         (from == Type::Int64 && to == Type::Timestamp);
}

BoundNodePtr make_cast_node(Type to, bool strict, BoundNodePtr child, Expr expr) {
  return std::make_shared<CastNode>(to, strict, std::move(child), std::move(expr));
}

Result<Value> cast_value(const Value& value, Type to) {
  if (value.is_null()) return Value();
  const Type from = *value.type();
  if (from == to) return value;
  if (!cast_supported(from, to)) {
    return Status::type_error("cannot cast " + std::string(type_name(from)) + " to " +
                              std::string(type_name(to)));
  }
  const Expr literal = lit(value);
  CastNode node(to, false, make_literal_node(value, from, literal), literal.cast(to));
  auto batch = RecordBatch::make_unchecked(Schema::make({}).value(), {}, 1);
  EvalContext ctx{*batch, 1, {}};
  SLUICE_ASSIGN_OR_RETURN(ColumnPtr column, node.cast(*broadcast(from, value, 1), ctx));
  return column->value_at(0);
}

}  // namespace sluice
