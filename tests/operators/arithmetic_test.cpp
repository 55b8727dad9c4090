#define BOOST_TEST_MODULE arithmetic
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <random>

#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

SchemaPtr numbers() {
  return schema_of(
      {{"a", Type::Int64}, {"b", Type::Int64}, {"x", Type::Double}, {"y", Type::Double}});
}

// Rows with nulls in every column, zeros, negatives and extremes.
RecordBatchPtr number_rows() {
  std::vector<std::vector<Value>> rows = {
      {int64_t{7}, int64_t{2}, 7.5, 2.0},   {int64_t{-7}, int64_t{3}, -7.5, 2.0},
      {int64_t{7}, int64_t{-3}, 0.0, -0.0}, {Value(), int64_t{5}, Value(), 1.0},
      {int64_t{5}, Value(), 1.0, Value()},  {Value(), Value(), Value(), Value()},
      {int64_t{0}, int64_t{0}, 0.0, 0.0},   {kMax, int64_t{1}, 1e308, 1e308},
      {kMin, int64_t{-1}, -1e308, 10.0},    {int64_t{12}, int64_t{0}, std::nan(""), 3.0},
  };
  std::mt19937_64 random(7);
  for (int i = 0; i < 60; ++i) {
    auto maybe = [&](Value v) { return random() % 5 == 0 ? Value() : v; };
    rows.push_back({maybe(static_cast<int64_t>(random() % 2001) - 1000),
                    maybe(static_cast<int64_t>(random() % 21) - 10),
                    maybe(static_cast<double>(static_cast<int64_t>(random() % 20001) - 10000) / 8),
                    maybe(static_cast<double>(static_cast<int64_t>(random() % 41) - 20) / 4)});
  }
  return batch_of(numbers(), rows);
}

// Reference semantics, row at a time, written independently of the kernels.
std::optional<int64_t> as_int(const Value& v) {
  if (v.is_null()) return std::nullopt;
  return v.as_int64();
}
std::optional<double> as_double(const Value& v) {
  if (v.is_null()) return std::nullopt;
  return v.type() == Type::Double ? v.as_double() : static_cast<double>(v.as_int64());
}

int64_t wrap(__int128 v) {
  return static_cast<int64_t>(static_cast<uint64_t>(static_cast<unsigned __int128>(v)));
}

Value int_reference(char op, const Value& l, const Value& r) {
  auto a = as_int(l), b = as_int(r);
  if (!a || !b) return Value();
  switch (op) {
    case '+':
      return Value(wrap(static_cast<__int128>(*a) + *b));
    case '-':
      return Value(wrap(static_cast<__int128>(*a) - *b));
    case '*':
      return Value(wrap(static_cast<__int128>(*a) * *b));
    case '%':
      if (*b == 0) return Value();
      return Value(static_cast<int64_t>(static_cast<__int128>(*a) % *b));
  }
  return Value();
}

Value double_reference(char op, const Value& l, const Value& r) {
  auto a = as_double(l), b = as_double(r);
  if (!a || !b) return Value();
  switch (op) {
    case '+':
      return Value(*a + *b);
    case '-':
      return Value(*a - *b);
    case '*':
      return Value(*a * *b);
    case '/':
      return *b == 0 ? Value() : Value(*a / *b);
    case '%':
      return *b == 0 ? Value() : Value(std::fmod(*a, *b));
  }
  return Value();
}

Expr apply(char op, Expr a, Expr b) {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    default:
      return a % b;
  }
}

std::vector<Value> column_values(const RecordBatch& batch, int index) {
  std::vector<Value> values;
  for (int64_t i = 0; i < batch.num_rows(); ++i)
    values.push_back(batch.column(index)->value_at(i));
  return values;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_operator_with_nulls_matches_a_row_reference) {
  auto batch = number_rows();
  const auto a = column_values(*batch, 0), b = column_values(*batch, 1);
  const auto x = column_values(*batch, 2), y = column_values(*batch, 3);
  for (char op : std::string("+-*/%")) {
    // BIGINT op BIGINT (`/` is DOUBLE), DOUBLE op DOUBLE, mixed, and scalar on either side.
    struct Case {
      Expr expr;
      const std::vector<Value>& left;
      const std::vector<Value>& right;
      std::optional<Value> left_scalar, right_scalar;
      bool integer;
    };
    const std::vector<Case> cases = {
        {apply(op, col("a"), col("b")), a, b, {}, {}, op != '/'},
        {apply(op, col("x"), col("y")), x, y, {}, {}, false},
        {apply(op, col("a"), col("y")), a, y, {}, {}, false},
        {apply(op, col("a"), lit(3)), a, a, {}, Value(3), op != '/'},
        {apply(op, lit(100), col("b")), b, b, Value(100), {}, op != '/'},
        {apply(op, col("x"), lit(2.5)), x, x, {}, Value(2.5), false},
        {apply(op, lit(-1.5), col("y")), y, y, Value(-1.5), {}, false},
    };
    for (const auto& c : cases) {
      std::vector<Value> expected;
      for (size_t i = 0; i < a.size(); ++i) {
        const Value l = c.left_scalar ? *c.left_scalar : c.left[i];
        const Value r = c.right_scalar ? *c.right_scalar : c.right[i];
        expected.push_back(c.integer ? int_reference(op, l, r) : double_reference(op, l, r));
      }
      check_values(evaluate(c.expr, *batch), expected, c.expr.to_string());
    }
  }
}

BOOST_AUTO_TEST_CASE(unary_minus_negates_with_nulls) {
  auto batch = number_rows();
  auto values = evaluate(-col("a"), *batch);
  auto doubles = evaluate(-col("x"), *batch);
  for (int64_t i = 0; i < batch->num_rows(); ++i) {
    const Value a = batch->column(0)->value_at(i);
    const Value x = batch->column(2)->value_at(i);
    BOOST_TEST(values[i] ==
               (a.is_null() ? Value() : Value(wrap(-static_cast<__int128>(a.as_int64())))));
    BOOST_TEST(same_value(doubles[i], x.is_null() ? Value() : Value(-x.as_double())));
  }
  BOOST_TEST(std::signbit(evaluate_scalar(-lit(0.0)).as_double()));
}

BOOST_AUTO_TEST_CASE(integer_overflow_wraps_without_ansi) {
  BOOST_TEST(evaluate_scalar(lit(kMax) + 1) == Value(kMin));
  BOOST_TEST(evaluate_scalar(lit(kMin) - 1) == Value(kMax));
  BOOST_TEST(evaluate_scalar(lit(kMax) * 2) == Value(int64_t{-2}));
  BOOST_TEST(evaluate_scalar(-lit(kMin)) == Value(kMin));
}

BOOST_AUTO_TEST_CASE(integer_overflow_fails_under_ansi_naming_the_expression) {
  auto schema = schema_of({{"a", Type::Int64}});
  auto batch = batch_of(schema, {{int64_t{1}}, {kMax}});
  const EvalOptions ansi{true};
  Status status = evaluation_status(col("a") + 1, *batch, ansi);
  BOOST_TEST((status.code() == StatusCode::out_of_range));
  BOOST_TEST(contains(status.message(), "BIGINT overflow in (a + 1) at row 1"));
  BOOST_TEST(!evaluation_status(col("a") * 3, *batch, ansi).is_ok());
  BOOST_TEST(!evaluation_status(lit(kMin) - col("a"), *batch, ansi).is_ok());
  BOOST_TEST(evaluation_status(col("a") - 1, *batch, ansi).is_ok());
  // Doubles do not overflow into errors.
  BOOST_TEST(evaluation_status(col("a").cast(Type::Double) * 1e308, *batch, ansi).is_ok());
}

BOOST_AUTO_TEST_CASE(division_by_zero_is_null_without_ansi) {
  auto schema = schema_of({{"a", Type::Int64}, {"b", Type::Int64}, {"x", Type::Double}});
  auto batch = batch_of(
      schema,
      {{int64_t{6}, int64_t{0}, 1.5}, {int64_t{6}, int64_t{4}, 0.0}, {Value(), int64_t{0}, -0.0}});
  check_values(evaluate(col("a") / col("b"), *batch), {Value(), Value(1.5), Value()});
  check_values(evaluate(col("a") % col("b"), *batch), {Value(), Value(2), Value()});
  check_values(evaluate(col("a") / 0, *batch), {Value(), Value(), Value()});
  check_values(evaluate(col("a") % 0, *batch), {Value(), Value(), Value()});
  check_values(evaluate(lit(1.0) / col("x"), *batch), {Value(1.0 / 1.5), Value(), Value()});
  check_values(evaluate(col("x") % 0.0, *batch), {Value(), Value(), Value()});
}

BOOST_AUTO_TEST_CASE(division_by_zero_fails_under_ansi_naming_the_expression) {
  auto schema = schema_of({{"a", Type::Int64}, {"b", Type::Int64}});
  auto batch = batch_of(schema, {{int64_t{6}, int64_t{3}}, {int64_t{6}, int64_t{0}}});
  const EvalOptions ansi{true};
  Status status = evaluation_status(col("a") / col("b"), *batch, ansi);
  BOOST_TEST((status.code() == StatusCode::invalid_argument));
  BOOST_TEST(contains(status.message(), "division by zero in (a / b) at row 1"));
  BOOST_TEST(contains(evaluation_status(col("a") % col("b"), *batch, ansi).message(),
                      "division by zero in (a % b)"));
  BOOST_TEST(!evaluation_status(col("a") / 0, *batch, ansi).is_ok());
  // A NULL dividend makes the row NULL before any division happens.
  auto null_row = batch_of(schema, {{Value(), int64_t{0}}});
  check_values(evaluate(col("a") / col("b"), *null_row, ansi), {Value()});
}

BOOST_AUTO_TEST_CASE(remainder_takes_the_sign_of_the_dividend) {
  BOOST_TEST(evaluate_scalar(lit(-7) % 3) == Value(-1));
  BOOST_TEST(evaluate_scalar(lit(7) % -3) == Value(1));
  BOOST_TEST(evaluate_scalar(lit(-7.5) % 2) == Value(-1.5));
  BOOST_TEST(evaluate_scalar(lit(kMin) % -1) == Value(0));
  BOOST_TEST(evaluate_scalar(lit(7) / 2) == Value(3.5));
  BOOST_TEST(evaluate_scalar(lit(-7) / 2) == Value(-3.5));
}

BOOST_AUTO_TEST_CASE(null_literals_make_every_row_null) {
  auto batch = number_rows();
  for (const Value& v : evaluate(col("a") + lit_null(Type::Int64), *batch))
    BOOST_TEST(v.is_null());
  for (const Value& v : evaluate(lit(Value()) * col("x"), *batch))
    BOOST_TEST(v.is_null());
  auto type = infer_type(lit(Value()) + col("a"), *numbers());
  BOOST_TEST((type.value() == Type::Int64));
}

BOOST_AUTO_TEST_CASE(empty_batches_evaluate_to_empty_columns) {
  auto empty = RecordBatch::make_empty(numbers());
  BOOST_TEST(evaluate(col("a") * 2 + col("b"), *empty).empty());
  BOOST_TEST(evaluate(col("x") / col("y"), *empty).empty());
}
