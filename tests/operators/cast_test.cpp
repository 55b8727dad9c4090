#define BOOST_TEST_MODULE cast
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <map>

#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
const Value N;

// 2024-01-02 00:00:00 UTC is 1704153600 seconds after the epoch.
constexpr int64_t kJan2 = 1'704'153'600'000'000;

const std::vector<Type> kTypes = {Type::Bool, Type::Int64, Type::Double, Type::String,
                                  Type::Timestamp};

// Inputs of each type, nulls and edge cases included.
std::map<Type, std::vector<Value>> inputs() {
  return {
      {Type::Bool, {true, false, N}},
      {Type::Int64, {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{42}, kMax, kMin, N}},
      {Type::Double, {0.0, -0.0, 1.5, -1.5, 1e20, std::nan(""), INFINITY, 1e10, N}},
      {Type::String,
       {"true", " 42 ", "1.9", "-3", "abc", "", "2024-01-02 03:04:05.5", "2024-01-02", "NaN", "1e3",
        "yes", "9223372036854775808", N}},
      {Type::Timestamp, {Timestamp{0}, Timestamp{1'500'000}, Timestamp{-1'500'000}, N}},
  };
}

// Expected results of the lenient cast of each input (same order), written out by hand from
// Spark's rules; identity casts return the input.
std::vector<Value> expected(Type from, Type to) {
  const Value T(true), F(false);
  auto text = [](std::vector<Value> in) {
    std::vector<Value> out;
    for (const auto& v : in)
      out.push_back(v.is_null() ? N : Value(v.to_string()));
    return out;
  };
  if (from == to) return inputs()[from];
  if (to == Type::String) return text(inputs()[from]);
  switch (from) {
    case Type::Bool:
      if (to == Type::Int64) return {Value(1), Value(0), N};
      if (to == Type::Double) return {Value(1.0), Value(0.0), N};
      break;
    case Type::Int64:
      if (to == Type::Bool) return {F, T, T, T, T, T, N};
      if (to == Type::Double) {
        return {Value(0.0),
                Value(1.0),
                Value(-1.0),
                Value(42.0),
                Value(static_cast<double>(kMax)),
                Value(static_cast<double>(kMin)),
                N};
      }
      if (to == Type::Timestamp) {
        return {Value(Timestamp{0}),
                Value(Timestamp{1'000'000}),
                Value(Timestamp{-1'000'000}),
                Value(Timestamp{42'000'000}),
                N,
                N,
                N};
      }
      break;
    case Type::Double:
      if (to == Type::Bool) return {F, F, T, T, T, T, T, T, N};
      if (to == Type::Int64) {
        return {Value(0), Value(0), Value(1), Value(-1), N, N, N, Value(int64_t{10'000'000'000}),
                N};
      }
      if (to == Type::Timestamp) {
        return {Value(Timestamp{0}),
                Value(Timestamp{0}),
                Value(Timestamp{1'500'000}),
                Value(Timestamp{-1'500'000}),
                N,
                N,
                N,
                Value(Timestamp{10'000'000'000'000'000}),
                N};
      }
      break;
    case Type::String:
      if (to == Type::Bool) return {T, N, N, N, N, N, N, N, N, N, T, N, N};
      if (to == Type::Int64) return {N, Value(42), Value(1), Value(-3), N, N, N, N, N, N, N, N, N};
      if (to == Type::Double) {
        return {N, Value(42.0), Value(1.9),          Value(-3.0),   N, N,
                N, N,           Value(std::nan("")), Value(1000.0), N, Value(9223372036854775808.0),
                N};
      }
      if (to == Type::Timestamp) {
        return {N, N, N, N, N, N, Value(Timestamp{kJan2 + 11'045'500'000}), Value(Timestamp{kJan2}),
                N, N, N, N, N};
      }
      break;
    case Type::Timestamp:
      if (to == Type::Int64) return {Value(0), Value(1), Value(-2), N};
      if (to == Type::Double) return {Value(0.0), Value(1.5), Value(-1.5), N};
      break;
  }
  return {};
}

bool supported(Type from, Type to) {
  return !((from == Type::Bool && to == Type::Timestamp) ||
           (from == Type::Timestamp && to == Type::Bool));
}

RecordBatchPtr input_batch(Type type) {
  const auto all = inputs();
  std::vector<std::vector<Value>> rows;
  for (const auto& v : all.at(type))
    rows.push_back({v});
  return batch_of(schema_of({{"v", type}}), rows);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_lenient_cast_pair_matches_the_spark_table) {
  for (Type from : kTypes) {
    auto batch = input_batch(from);
    for (Type to : kTypes) {
      const std::string what = std::string(type_name(from)) + " -> " + std::string(type_name(to));
      if (!supported(from, to)) {
        Status status = evaluation_status(col("v").cast(to), *batch);
        BOOST_TEST((status.code() == StatusCode::type_error), what);
        continue;
      }
      check_values(evaluate(col("v").cast(to), *batch), expected(from, to), what);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_strict_cast_pair_fails_on_the_first_value_that_does_not_convert) {
  for (Type from : kTypes) {
    auto batch = input_batch(from);
    const auto in = inputs()[from];
    for (Type to : kTypes) {
      if (!supported(from, to)) continue;
      const std::string what = std::string(type_name(from)) + " -> " + std::string(type_name(to));
      const auto out = expected(from, to);
      // The first non-null input whose lenient result is NULL.
      int failing = -1;
      for (size_t i = 0; i < in.size() && failing < 0; ++i) {
        if (!in[i].is_null() && out[i].is_null()) failing = static_cast<int>(i);
      }
      Expr e = col("v").strict_cast(to);
      if (failing < 0) {
        check_values(evaluate(e, *batch), out, what);
        continue;
      }
      Status status = evaluation_status(e, *batch);
      BOOST_TEST(!status.is_ok(), what);
      BOOST_TEST((status.code() == StatusCode::invalid_argument), what);
      const std::string value = in[static_cast<size_t>(failing)].to_string();
      BOOST_TEST(contains(status.message(), value), what << ": " << status.message());
      BOOST_TEST(contains(status.message(), " to " + std::string(type_name(to))), status.message());
      // The rows before the failing one convert strictly too.
      auto prefix = batch->slice(0, failing);
      auto bound = bind(e, *batch->schema()).value();
      BOOST_TEST(bound.evaluate(*prefix).ok(), what);
    }
  }
}

BOOST_AUTO_TEST_CASE(strict_cast_error_names_value_type_and_expression) {
  auto batch = batch_of(schema_of({{"s", Type::String}}), {{"12"}, {"abc"}});
  Status status = evaluation_status(col("s").strict_cast(Type::Int64), *batch);
  BOOST_TEST(status.message() == "cannot cast STRING value 'abc' to BIGINT in CAST(s AS BIGINT)");
  // NULL input is NULL output even for strict casts.
  auto nulls = batch_of(schema_of({{"s", Type::String}}), {{Value()}});
  check_values(evaluate(col("s").strict_cast(Type::Int64), *nulls), {N});
}

BOOST_AUTO_TEST_CASE(literal_casts_fold_or_fail_at_evaluation) {
  BOOST_TEST(evaluate_scalar(lit("17").cast(Type::Int64)) == Value(17));
  BOOST_TEST(evaluate_scalar(lit("x").cast(Type::Int64)).is_null());
  BOOST_TEST(evaluate_scalar(lit(Value()).cast(Type::Timestamp)).is_null());
  auto status = evaluation_status(lit("x").strict_cast(Type::Double), *one_row());
  BOOST_TEST(contains(status.message(), "cannot cast STRING value 'x' to DOUBLE"));
}

BOOST_AUTO_TEST_CASE(string_to_timestamp_accepts_spark_forms_only) {
  auto ts = [](const char* text) { return evaluate_scalar(lit(text).cast(Type::Timestamp)); };
  BOOST_TEST(ts("2024-01-02T03:04:05Z") == Value(Timestamp{kJan2 + 11'045'000'000}));
  BOOST_TEST(ts("2024-01-02 03:04") == Value(Timestamp{kJan2 + 11'040'000'000}));
  BOOST_TEST(ts(" 2024-01-02 00:00:00.123456789 ") == Value(Timestamp{kJan2 + 123'456}));
  BOOST_TEST(ts("1969-12-31 23:59:59.5") == Value(Timestamp{-500'000}));
  BOOST_TEST(ts("2024-02-30").is_null());
  BOOST_TEST(ts("2024-1-2").is_null());
  BOOST_TEST(ts("2024-01-02 24:00:00").is_null());
  BOOST_TEST(ts("2024-01-02 03:04:05.").is_null());
}

BOOST_AUTO_TEST_CASE(strings_to_numbers_and_booleans_follow_spark) {
  BOOST_TEST(evaluate_scalar(lit("+7").cast(Type::Int64)) == Value(7));
  BOOST_TEST(evaluate_scalar(lit("-9223372036854775808").cast(Type::Int64)) == Value(kMin));
  BOOST_TEST(evaluate_scalar(lit("- 1").cast(Type::Int64)).is_null());
  BOOST_TEST(evaluate_scalar(lit("-Infinity").cast(Type::Double)) == Value(-INFINITY));
  BOOST_TEST(evaluate_scalar(lit(".5").cast(Type::Double)) == Value(0.5));
  BOOST_TEST(evaluate_scalar(lit("FALSE").cast(Type::Bool)) == Value(false));
  BOOST_TEST(evaluate_scalar(lit(" n ").cast(Type::Bool)) == Value(false));
}
