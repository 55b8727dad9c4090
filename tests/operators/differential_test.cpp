#define BOOST_TEST_MODULE differential
#include <boost/test/unit_test.hpp>

// Random expression trees over random batches with nulls, evaluated by the vectorized kernels
// (whole batch, sliced at odd offsets, and as a filter) and compared with a row-at-a-time
// reference written here from Spark's rules over Values. Set SLUICE_TEST_SEED to replay a run.

#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <random>

#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

using Row = std::vector<Value>;
using Reference = std::function<Value(const Row&)>;

const Value N;

struct Generated {
  Expr expr;
  Type type;
  Reference reference;
};

// Column layout of the random batches.
const std::vector<Field> kFields = {
    {"i1", Type::Int64},  {"i2", Type::Int64},  {"d1", Type::Double},
    {"d2", Type::Double}, {"s1", Type::String}, {"s2", Type::String},
    {"b1", Type::Bool},   {"b2", Type::Bool},   {"t1", Type::Timestamp}};

const std::vector<std::string> kWords = {"", "a", "B", "ab", "é", "日本", " x ", "abc", "A b"};

int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
double to_double(const Value& v) {
  return v.type() == Type::Double ? v.as_double() : static_cast<double>(v.as_int64());
}

// Spark's order: NaN largest and equal to itself; strings bytewise.
int order(const Value& a, const Value& b) {
  if (a.type() == Type::Double || b.type() == Type::Double) {
    const double x = to_double(a), y = to_double(b);
    if (std::isnan(x) || std::isnan(y)) {
      return std::isnan(x) == std::isnan(y) ? 0 : (std::isnan(x) ? 1 : -1);
    }
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  return a < b ? -1 : (b < a ? 1 : 0);
}

std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : random_(seed) {}

  Row random_row() {
    Row row;
    for (const auto& field : kFields)
      row.push_back(random_value(field.type));
    return row;
  }

  Generated generate(Type type, int depth) {
    if (depth <= 0 || pick(4) == 0) return leaf(type);
    switch (type) {
      case Type::Int64:
        return int64_node(depth);
      case Type::Double:
        return double_node(depth);
      case Type::Bool:
        return bool_node(depth);
      case Type::String:
        return string_node(depth);
      case Type::Timestamp:
        return timestamp_node(depth);
    }
    return leaf(type);
  }

 private:
  size_t pick(size_t n) { return static_cast<size_t>(random_() % n); }

  Value random_value(Type type) {
    if (pick(5) == 0) return N;
    switch (type) {
      case Type::Int64: {
        static const int64_t kEdges[] = {std::numeric_limits<int64_t>::max(),
                                         std::numeric_limits<int64_t>::min(), 0, -1};
        if (pick(10) == 0) return Value(kEdges[pick(4)]);
        return Value(static_cast<int64_t>(pick(11)) - 5);
      }
      case Type::Double: {
        static const double kEdges[] = {std::nan(""), -0.0, 1e300, -INFINITY};
        if (pick(10) == 0) return Value(kEdges[pick(4)]);
        return Value(static_cast<double>(static_cast<int64_t>(pick(21)) - 10) / 4);
      }
      case Type::String:
        return Value(kWords[pick(kWords.size())]);
      case Type::Bool:
        return Value(pick(2) == 0);
      case Type::Timestamp:
        return Value(
            Timestamp{static_cast<int64_t>(pick(2'000'001)) * 7'919'000 - 7'000'000'000'000});
    }
    return N;
  }

  Generated leaf(Type type) {
    if (pick(3) != 0) {
      // A column of that type.
      std::vector<int> candidates;
      for (size_t i = 0; i < kFields.size(); ++i) {
        if (kFields[i].type == type) candidates.push_back(static_cast<int>(i));
      }
      const int index = candidates[pick(candidates.size())];
      return {col(kFields[static_cast<size_t>(index)].name), type,
              [index](const Row& row) { return row[static_cast<size_t>(index)]; }};
    }
    Value v = random_value(type);
    Expr e = v.is_null() ? lit_null(type) : lit(v);
    return {e, type, [v](const Row&) { return v; }};
  }

  Generated int64_node(int depth) {
    switch (pick(8)) {
      case 0:
      case 1: {
        auto a = generate(Type::Int64, depth - 1), b = generate(Type::Int64, depth - 1);
        const char op = "+-*%"[pick(4)];
        Expr e = op == '+'   ? a.expr + b.expr
                 : op == '-' ? a.expr - b.expr
                 : op == '*' ? a.expr * b.expr
                             : a.expr % b.expr;
        return {e, Type::Int64, [a, b, op](const Row& row) {
                  const Value x = a.reference(row), y = b.reference(row);
                  if (x.is_null() || y.is_null()) return N;
                  const int64_t l = x.as_int64(), r = y.as_int64();
                  switch (op) {
                    case '+':
                      return Value(wrap_add(l, r));
                    case '-':
                      return Value(wrap_sub(l, r));
                    case '*':
                      return Value(wrap_mul(l, r));
                    default:
                      if (r == 0) return N;
                      return Value(r == -1 ? int64_t{0} : l % r);
                  }
                }};
      }
      case 2: {
        auto a = generate(Type::Int64, depth - 1);
        return {-a.expr, Type::Int64, [a](const Row& row) {
                  const Value x = a.reference(row);
                  return x.is_null() ? N : Value(wrap_sub(0, x.as_int64()));
                }};
      }
      case 3: {
        auto s = generate(Type::String, depth - 1);
        return {length(s.expr), Type::Int64, [s](const Row& row) {
                  const Value x = s.reference(row);
                  return x.is_null()
                             ? N
                             : Value(static_cast<int64_t>(code_points(x.as_string()).size()));
                }};
      }
      case 4: {
        auto d = generate(Type::Double, depth - 1);
        return {d.expr.cast(Type::Int64), Type::Int64, [d](const Row& row) {
                  const Value x = d.reference(row);
                  if (x.is_null()) return N;
                  const double v = x.as_double();
                  if (std::isnan(v) || v >= 9223372036854775808.0 || v < -9223372036854775808.0)
                    return N;
                  return Value(static_cast<int64_t>(v));
                }};
      }
      case 5: {
        auto t = generate(Type::Timestamp, depth - 1);
        const bool use_hour = pick(2) == 0;
        return {use_hour ? hour(t.expr) : t.expr.cast(Type::Int64), Type::Int64,
                [t, use_hour](const Row& row) {
                  const Value x = t.reference(row);
                  if (x.is_null()) return N;
                  const int64_t micros = x.as_timestamp().micros;
                  const int64_t seconds = micros / 1'000'000 - (micros % 1'000'000 < 0);
                  if (!use_hour) return Value(seconds);
                  return Value(((seconds % 86400) + 86400) % 86400 / 3600);
                }};
      }
      case 6:
        return case_node(Type::Int64, depth);
      default:
        return coalesce_node(Type::Int64, depth);
    }
  }

  Generated double_node(int depth) {
    switch (pick(5)) {
      case 0:
      case 1: {
        const Type left_type = pick(2) == 0 ? Type::Int64 : Type::Double;
        const Type right_type = pick(2) == 0 ? Type::Int64 : Type::Double;
        const char op =
            (left_type == Type::Int64 && right_type == Type::Int64) ? '/' : "+-*/%"[pick(5)];
        auto a = generate(left_type, depth - 1), b = generate(right_type, depth - 1);
        Expr e = op == '+'   ? a.expr + b.expr
                 : op == '-' ? a.expr - b.expr
                 : op == '*' ? a.expr * b.expr
                 : op == '/' ? a.expr / b.expr
                             : a.expr % b.expr;
        return {e, Type::Double, [a, b, op](const Row& row) {
                  const Value x = a.reference(row), y = b.reference(row);
                  if (x.is_null() || y.is_null()) return N;
                  const double l = to_double(x), r = to_double(y);
                  switch (op) {
                    case '+':
                      return Value(l + r);
                    case '-':
                      return Value(l - r);
                    case '*':
                      return Value(l * r);
                    case '/':
                      return r == 0 ? N : Value(l / r);
                    default:
                      return r == 0 ? N : Value(std::fmod(l, r));
                  }
                }};
      }
      case 2: {
        auto i = generate(Type::Int64, depth - 1);
        return {i.expr.cast(Type::Double), Type::Double, [i](const Row& row) {
                  const Value x = i.reference(row);
                  return x.is_null() ? N : Value(static_cast<double>(x.as_int64()));
                }};
      }
      case 3:
        return case_node(Type::Double, depth);
      default:
        return coalesce_node(Type::Double, depth);
    }
  }

  Generated bool_node(int depth) {
    switch (pick(9)) {
      case 0:
      case 1: {
        static const Type kComparable[] = {Type::Int64, Type::Double, Type::String, Type::Bool,
                                           Type::Timestamp};
        Type left_type = kComparable[pick(5)];
        Type right_type = left_type;
        if (is_numeric(left_type) && pick(2) == 0)
          right_type = left_type == Type::Int64 ? Type::Double : Type::Int64;
        auto a = generate(left_type, depth - 1), b = generate(right_type, depth - 1);
        const int op = static_cast<int>(pick(6));
        Expr e = op == 0   ? a.expr == b.expr
                 : op == 1 ? a.expr != b.expr
                 : op == 2 ? a.expr < b.expr
                 : op == 3 ? a.expr <= b.expr
                 : op == 4 ? a.expr > b.expr
                           : a.expr >= b.expr;
        return {e, Type::Bool, [a, b, op](const Row& row) {
                  const Value x = a.reference(row), y = b.reference(row);
                  if (x.is_null() || y.is_null()) return N;
                  const int c = order(x, y);
                  const bool results[] = {c == 0, c != 0, c<0, c <= 0, c> 0, c >= 0};
                  return Value(results[op]);
                }};
      }
      case 2:
      case 3: {
        auto a = generate(Type::Bool, depth - 1), b = generate(Type::Bool, depth - 1);
        const bool is_and = pick(2) == 0;
        return {is_and ? (a.expr && b.expr) : (a.expr || b.expr), Type::Bool,
                [a, b, is_and](const Row& row) {
                  const Value x = a.reference(row), y = b.reference(row);
                  const Value decisive(!is_and);
                  if (x == decisive || y == decisive) return decisive;
                  if (x.is_null() || y.is_null()) return N;
                  return Value(is_and);
                }};
      }
      case 4: {
        auto a = generate(Type::Bool, depth - 1);
        return {!a.expr, Type::Bool, [a](const Row& row) {
                  const Value x = a.reference(row);
                  return x.is_null() ? N : Value(!x.as_bool());
                }};
      }
      case 5: {
        const Type inner = kFields[pick(kFields.size())].type;
        auto a = generate(inner, depth - 1);
        const bool negate = pick(2) == 0;
        return {
            negate ? a.expr.is_not_null() : a.expr.is_null(), Type::Bool,
            [a, negate](const Row& row) { return Value(a.reference(row).is_null() != negate); }};
      }
      case 6: {
        auto a = generate(Type::Int64, depth - 1);
        std::vector<Value> list;
        for (size_t n = pick(4); n > 0; --n)
          list.push_back(pick(5) == 0 ? N : Value(static_cast<int64_t>(pick(7)) - 3));
        return {a.expr.isin(list), Type::Bool, [a, list](const Row& row) {
                  const Value x = a.reference(row);
                  if (x.is_null()) return N;
                  bool has_null = false;
                  for (const auto& v : list) {
                    if (v.is_null()) {
                      has_null = true;
                    } else if (v == x) {
                      return Value(true);
                    }
                  }
                  return has_null ? N : Value(false);
                }};
      }
      case 7: {
        auto s = generate(Type::String, depth - 1);
        static const char* kPatterns[] = {"a%", "%b", "%a%", "_", "a_c", "%", "", "日%", "A b"};
        const std::string pattern = kPatterns[pick(9)];
        return {s.expr.like(pattern), Type::Bool, [s, pattern](const Row& row) {
                  const Value x = s.reference(row);
                  if (x.is_null()) return N;
                  return Value(like(code_points(x.as_string()), code_points(pattern), 0, 0));
                }};
      }
      default:
        return case_node(Type::Bool, depth);
    }
  }

  // Matches code points against a pattern of code points, recursively (reference only).
  static bool like(const std::vector<std::string>& s, const std::vector<std::string>& p, size_t i,
                   size_t j) {
    if (j == p.size()) return i == s.size();
    if (p[j] == "%") {
      for (size_t k = i; k <= s.size(); ++k) {
        if (like(s, p, k, j + 1)) return true;
      }
      return false;
    }
    if (i == s.size()) return false;
    return (p[j] == "_" || p[j] == s[i]) && like(s, p, i + 1, j + 1);
  }

  Generated string_node(int depth) {
    switch (pick(7)) {
      case 0: {
        auto s = generate(Type::String, depth - 1);
        const bool up = pick(2) == 0;
        return {up ? upper(s.expr) : lower(s.expr), Type::String, [s, up](const Row& row) {
                  Value x = s.reference(row);
                  if (x.is_null()) return N;
                  std::string text = x.as_string();
                  for (auto& c : text) {
                    if (up && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
                    if (!up && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
                  }
                  return Value(text);
                }};
      }
      case 1: {
        auto a = generate(Type::String, depth - 1), b = generate(Type::String, depth - 1);
        return {concat({a.expr, b.expr}), Type::String, [a, b](const Row& row) {
                  const Value x = a.reference(row), y = b.reference(row);
                  if (x.is_null() || y.is_null()) return N;
                  return Value(x.as_string() + y.as_string());
                }};
      }
      case 2: {
        auto s = generate(Type::String, depth - 1);
        const int64_t pos = static_cast<int64_t>(pick(7)) - 3,
                      len = static_cast<int64_t>(pick(5)) - 1;
        return {substring(s.expr, pos, len), Type::String, [s, pos, len](const Row& row) {
                  const Value x = s.reference(row);
                  if (x.is_null()) return N;
                  auto chars = code_points(x.as_string());
                  const int64_t count = static_cast<int64_t>(chars.size());
                  int64_t start = pos > 0 ? pos - 1 : (pos < 0 ? count + pos : 0);
                  const int64_t end = std::min(start + len, count);
                  std::string out;
                  for (int64_t k = std::max<int64_t>(start, 0); k < end; ++k)
                    out += chars[static_cast<size_t>(k)];
                  return Value(out);
                }};
      }
      case 3: {
        auto s = generate(Type::String, depth - 1);
        return {trim(s.expr), Type::String, [s](const Row& row) {
                  const Value x = s.reference(row);
                  if (x.is_null()) return N;
                  const std::string& text = x.as_string();
                  const size_t begin = text.find_first_not_of(' ');
                  if (begin == std::string::npos) return Value("");
                  return Value(text.substr(begin, text.find_last_not_of(' ') - begin + 1));
                }};
      }
      case 4: {
        auto i = generate(Type::Int64, depth - 1);
        return {i.expr.cast(Type::String), Type::String, [i](const Row& row) {
                  const Value x = i.reference(row);
                  return x.is_null() ? N : Value(std::to_string(x.as_int64()));
                }};
      }
      case 5:
        return case_node(Type::String, depth);
      default:
        return coalesce_node(Type::String, depth);
    }
  }

  Generated timestamp_node(int depth) {
    switch (pick(4)) {
      case 0: {
        auto t = generate(Type::Timestamp, depth - 1);
        static const std::pair<const char*, int64_t> kIntervals[] = {
            {"10 seconds", 10'000'000}, {"1 hour", 3'600'000'000}, {"500 milliseconds", 500'000}};
        const auto& [text, micros] = kIntervals[pick(3)];
        const bool add = pick(2) == 0;
        const int64_t delta = micros;
        return {add ? t.expr + interval(text) : t.expr - interval(text), Type::Timestamp,
                [t, add, delta](const Row& row) {
                  const Value x = t.reference(row);
                  if (x.is_null()) return N;
                  const int64_t v = x.as_timestamp().micros;
                  return Value(Timestamp{add ? wrap_add(v, delta) : wrap_sub(v, delta)});
                }};
      }
      case 1: {
        auto t = generate(Type::Timestamp, depth - 1);
        return {date_trunc("hour", t.expr), Type::Timestamp, [t](const Row& row) {
                  const Value x = t.reference(row);
                  if (x.is_null()) return N;
                  const int64_t v = x.as_timestamp().micros, unit = 3'600'000'000;
                  return Value(Timestamp{v - (((v % unit) + unit) % unit)});
                }};
      }
      case 2:
        return case_node(Type::Timestamp, depth);
      default:
        return coalesce_node(Type::Timestamp, depth);
    }
  }

  Generated case_node(Type type, int depth) {
    std::vector<Generated> conditions, values;
    const size_t branches = 1 + pick(3);
    for (size_t k = 0; k < branches; ++k) {
      conditions.push_back(generate(Type::Bool, depth - 1));
      values.push_back(generate(type, depth - 1));
    }
    const bool has_else = pick(2) == 0;
    std::optional<Generated> otherwise;
    if (has_else) otherwise = generate(type, depth - 1);
    CaseBuilder builder = when(conditions[0].expr, values[0].expr);
    for (size_t k = 1; k < branches; ++k) {
      builder = std::move(builder).when(conditions[k].expr, values[k].expr);
    }
    Expr e = has_else ? std::move(builder).otherwise(otherwise->expr) : Expr(builder);
    return {e, type, [conditions, values, otherwise](const Row& row) {
              for (size_t k = 0; k < conditions.size(); ++k) {
                if (conditions[k].reference(row) == Value(true)) return values[k].reference(row);
              }
              return otherwise ? otherwise->reference(row) : N;
            }};
  }

  Generated coalesce_node(Type type, int depth) {
    std::vector<Generated> args;
    std::vector<Expr> exprs;
    for (size_t n = 1 + pick(3); n > 0; --n) {
      args.push_back(generate(type, depth - 1));
      exprs.push_back(args.back().expr);
    }
    return {coalesce(exprs), type, [args](const Row& row) {
              for (const auto& arg : args) {
                Value v = arg.reference(row);
                if (!v.is_null()) return v;
              }
              return N;
            }};
  }

  std::mt19937_64 random_;
};

uint64_t test_seed() {
  if (const char* text = std::getenv("SLUICE_TEST_SEED")) return std::strtoull(text, nullptr, 10);
  return std::random_device{}();
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_expressions_match_the_row_reference) {
  const uint64_t seed = test_seed();
  std::cout << "differential seed " << seed << " (replay with SLUICE_TEST_SEED=" << seed << ")\n";
  Generator generator(seed);
  auto schema = schema_of(kFields);
  static const Type kTypes[] = {Type::Int64, Type::Double, Type::Bool, Type::String,
                                Type::Timestamp};
  int checked = 0;
  for (int round = 0; round < 30; ++round) {
    std::vector<Row> rows;
    for (int r = 0; r < 173; ++r)
      rows.push_back(generator.random_row());
    auto batch = batch_of(schema, rows);
    // Slices at bit offsets that are not multiples of 8.
    const int64_t offset = 1 + round % 13;
    auto slice = batch->slice(offset, batch->num_rows() - offset - 2);
    for (int e = 0; e < 60; ++e) {
      const Type type = kTypes[(round * 60 + e) % 5];
      Generated generated = generator.generate(type, 1 + e % 5);
      const std::string what = "seed " + std::to_string(seed) + ": " + generated.expr.to_string();
      auto bound = bind(generated.expr, *schema);
      BOOST_REQUIRE_MESSAGE(bound.ok(), what + ": " + bound.status().to_string());
      BOOST_REQUIRE_MESSAGE(bound->type() == type, what);
      std::vector<Value> expected;
      for (const auto& row : rows)
        expected.push_back(generated.reference(row));
      check_values(evaluate(generated.expr, *batch), expected, what);
      std::vector<Value> sliced(expected.begin() + offset,
                                expected.begin() + offset + slice->num_rows());
      check_values(evaluate(generated.expr, *slice), sliced, what + " (slice)");
      if (type == Type::Bool) {
        std::vector<int32_t> selection, wanted;
        BOOST_REQUIRE(bound->select(*slice, selection).is_ok());
        for (size_t i = 0; i < sliced.size(); ++i) {
          if (sliced[i] == Value(true)) wanted.push_back(static_cast<int32_t>(i));
        }
        BOOST_TEST(selection == wanted, what << " (select)");
      }
      ++checked;
    }
  }
  BOOST_TEST(checked == 1800);
}
