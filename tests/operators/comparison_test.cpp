#define BOOST_TEST_MODULE comparison
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

const std::vector<std::string> kOps = {"=", "!=", "<", "<=", ">", ">="};

Expr compare(const std::string& op, Expr a, Expr b) {
  if (op == "=") return a == b;
  if (op == "!=") return a != b;
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  return a >= b;
}

// Orders two non-null values the way Spark does: doubles with NaN largest and NaN == NaN,
// strings bytewise (unsigned), the rest by value. Returns -1, 0 or 1.
int order(const Value& a, const Value& b) {
  if (a.type() == Type::Double) {
    const double x = a.as_double(), y = b.as_double();
    if (std::isnan(x) || std::isnan(y))
      return std::isnan(x) == std::isnan(y) ? 0 : (std::isnan(x) ? 1 : -1);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.type() == Type::String) {
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return a < b ? -1 : (b < a ? 1 : 0);
}

Value reference(const std::string& op, const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return Value();
  const int c = order(a, b);
  if (op == "=") return Value(c == 0);
  if (op == "!=") return Value(c != 0);
  if (op == "<") return Value(c < 0);
  if (op == "<=") return Value(c <= 0);
  if (op == ">") return Value(c > 0);
  return Value(c >= 0);
}

Value random_value(Type type, std::mt19937_64& random) {
  if (random() % 6 == 0) return Value();
  switch (type) {
    case Type::Bool:
      return Value(random() % 2 == 0);
    case Type::Int64: {
      static const int64_t kEdges[] = {std::numeric_limits<int64_t>::min(), -1, 0, 1,
                                       std::numeric_limits<int64_t>::max()};
      if (random() % 5 == 0) return Value(kEdges[random() % 5]);
      return Value(static_cast<int64_t>(random() % 7) - 3);
    }
    case Type::Double: {
      static const double kEdges[] = {std::nan(""), -0.0, 0.0, INFINITY, -INFINITY, 1e-300};
      if (random() % 4 == 0) return Value(kEdges[random() % 6]);
      return Value(static_cast<double>(static_cast<int64_t>(random() % 7) - 3) / 2);
    }
    case Type::String: {
      static const char* kWords[] = {"", "a", "ab", "b", "B", "é", "\xff", "a\xc3\xa9", "zz"};
      return Value(kWords[random() % 9]);
    }
    case Type::Timestamp:
      return Value(Timestamp{static_cast<int64_t>(random() % 5) * 1'000'000 - 2'000'000});
  }
  return Value();
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_type_and_operator_with_nulls_matches_a_row_reference) {
  std::mt19937_64 random(11);
  for (Type type : {Type::Bool, Type::Int64, Type::Double, Type::String, Type::Timestamp}) {
    auto schema = schema_of({{"l", type}, {"r", type}});
    std::vector<std::vector<Value>> rows;
    for (int i = 0; i < 150; ++i)
      rows.push_back({random_value(type, random), random_value(type, random)});
    auto batch = batch_of(schema, rows);
    Value scalar = random_value(type, random);
    while (scalar.is_null())
      scalar = random_value(type, random);
    for (const auto& op : kOps) {
      std::vector<Value> both, column_scalar, scalar_column;
      for (const auto& row : rows) {
        both.push_back(reference(op, row[0], row[1]));
        column_scalar.push_back(reference(op, row[0], scalar));
        scalar_column.push_back(reference(op, scalar, row[1]));
      }
      const std::string what = std::string(type_name(type)) + " " + op;
      check_values(evaluate(compare(op, col("l"), col("r")), *batch), both, what);
      check_values(evaluate(compare(op, col("l"), lit(scalar)), *batch), column_scalar, what);
      check_values(evaluate(compare(op, lit(scalar), col("r")), *batch), scalar_column, what);
    }
  }
}

BOOST_AUTO_TEST_CASE(doubles_follow_spark_nan_semantics) {
  const double nan = std::nan("");
  BOOST_TEST(evaluate_scalar(lit(nan) == lit(nan)) == Value(true));
  BOOST_TEST(evaluate_scalar(lit(nan) > lit(INFINITY)) == Value(true));
  BOOST_TEST(evaluate_scalar(lit(INFINITY) < lit(nan)) == Value(true));
  BOOST_TEST(evaluate_scalar(lit(nan) != lit(1.0)) == Value(true));
  BOOST_TEST(evaluate_scalar(lit(-0.0) == lit(0.0)) == Value(true));
  BOOST_TEST(evaluate_scalar(lit(nan) <= lit(nan)) == Value(true));
}

BOOST_AUTO_TEST_CASE(numbers_of_different_types_compare_by_value) {
  auto schema = schema_of({{"i", Type::Int64}, {"d", Type::Double}});
  auto batch = batch_of(schema, {{int64_t{1}, 1.0}, {int64_t{2}, 1.5}, {Value(), 1.0}});
  check_values(evaluate(col("i") == col("d"), *batch), {Value(true), Value(false), Value()});
  check_values(evaluate(col("i") > 1.5, *batch), {Value(false), Value(true), Value()});
  check_values(evaluate(col("d") < 2, *batch), {Value(true), Value(true), Value(true)});
}

BOOST_AUTO_TEST_CASE(timestamps_compare_with_timestamp_strings) {
  auto schema = schema_of({{"t", Type::Timestamp}});
  const int64_t noon = 1'704'110'400'000'000;  // 2024-01-01 12:00:00 UTC
  auto batch = batch_of(schema, {{Timestamp{noon}}, {Timestamp{noon - 1}}, {Value()}});
  check_values(evaluate(col("t") >= "2024-01-01 12:00:00", *batch),
               {Value(true), Value(false), Value()});
  check_values(evaluate(lit("2024-01-01") < col("t"), *batch), {Value(true), Value(true), Value()});
  // A string that is no timestamp compares as NULL, as Spark's implicit cast gives.
  check_values(evaluate(col("t") == "not a time", *batch), {Value(), Value(), Value()});
}

BOOST_AUTO_TEST_CASE(strings_compare_bytewise_including_utf8) {
  auto schema = schema_of({{"s", Type::String}});
  auto batch = batch_of(schema, {{"z"}, {"é"}, {""}, {"Z"}});
  // 'é' is 0xC3 0xA9: above every ASCII byte.
  check_values(evaluate(col("s") > "z", *batch),
               {Value(false), Value(true), Value(false), Value(false)});
  check_values(evaluate(col("s") < "a", *batch),
               {Value(false), Value(false), Value(true), Value(true)});
}
