#define BOOST_TEST_MODULE udf
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/column_builder.hpp"
#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

const Value N;

SchemaPtr mixed() {
  return schema_of({{"i", Type::Int64},
                    {"d", Type::Double},
                    {"s", Type::String},
                    {"b", Type::Bool},
                    {"t", Type::Timestamp}});
}

RecordBatchPtr rows() {
  return batch_of(mixed(), {{int64_t{2}, 0.5, "ab", true, Timestamp{1'000'000}},
                            {int64_t{-3}, N, "", false, Timestamp{0}},
                            {N, 2.0, "日本", N, N}});
}

int64_t square(int64_t x) {
  return x * x;
}

}  // namespace

BOOST_AUTO_TEST_CASE(scalar_udfs_deduce_types_and_pass_nulls_through) {
  auto batch = rows();
  auto add = udf("add", [](int64_t a, double b) { return static_cast<double>(a) + b; });
  check_values(evaluate(add(col("i"), col("d")), *batch), {Value(2.5), N, N});
  auto shout = udf("shout", [](std::string_view s, bool loud) {
    return loud ? std::string(s) + "!" : std::string(s);
  });
  check_values(evaluate(shout(col("s"), col("b")), *batch), {Value("ab!"), Value(""), N});
  auto later = udf("later", [](Timestamp t, int64_t seconds) {
    return Timestamp{t.micros + seconds * 1'000'000};
  });
  check_values(evaluate(later(col("t"), lit(5)), *batch),
               {Value(Timestamp{6'000'000}), Value(Timestamp{5'000'000}), N});
  auto is_long = udf("is_long", [](const std::string& s) { return s.size() > 1; });
  check_values(evaluate(is_long(col("s")), *batch), {Value(true), Value(false), Value(true)});
  auto squared = udf("square", &square);
  check_values(evaluate(squared(col("i")), *batch), {Value(4), Value(9), N});
  auto type = infer_type(add(col("i"), col("d")), *mixed());
  BOOST_TEST((type.value() == Type::Double));
}

BOOST_AUTO_TEST_CASE(optional_results_become_null) {
  auto half = udf("half", [](int64_t x) -> std::optional<int64_t> {
    if (x % 2 != 0) return std::nullopt;
    return x / 2;
  });
  check_values(evaluate(half(col("i")), *rows()), {Value(1), N, N});
}

BOOST_AUTO_TEST_CASE(udf_arguments_are_type_checked_at_bind) {
  auto twice = udf("twice", [](double x) { return x * 2; });
  // BIGINT widens to DOUBLE.
  check_values(evaluate(twice(col("i")), *rows()), {Value(4.0), Value(-6.0), N});
  auto bound = bind(twice(col("s")), *mixed());
  BOOST_REQUIRE(!bound.ok());
  BOOST_TEST((bound.status().code() == StatusCode::type_error));
  BOOST_TEST(bound.status().message() == "udf 'twice' takes (DOUBLE), got (STRING) in twice(s)");
  BOOST_TEST(twice(col("i") + 1).to_string() == "twice((i + 1))");
}

BOOST_AUTO_TEST_CASE(batch_udfs_receive_whole_columns) {
  std::atomic<int> calls{0};
  BatchFunction lengths = [&calls](const std::vector<ColumnPtr>& args,
                                   int64_t num_rows) -> Result<ColumnPtr> {
    ++calls;
    ColumnBuilder builder(Type::Int64);
    for (int64_t i = 0; i < num_rows; ++i) {
      if (args[0]->is_null(i)) {
        builder.append_null();
      } else {
        builder.append_int64(static_cast<int64_t>(args[0]->string_at(i).size()) +
                             args[1]->values<int64_t>()[i]);
      }
    }
    return builder.finish();
  };
  Expr e = batch_udf("byte_length_plus", Type::Int64, lengths, {col("s"), lit(10)});
  check_values(evaluate(e, *rows()), {Value(12), Value(10), Value(16)});
  BOOST_TEST(calls.load() == 1);
  BOOST_TEST(e.to_string() == "byte_length_plus(s, 10)");
}

BOOST_AUTO_TEST_CASE(batch_udf_errors_and_wrong_results_are_reported) {
  BatchFunction failing = [](const std::vector<ColumnPtr>&, int64_t) -> Result<ColumnPtr> {
    return Status::invalid_argument("model not loaded");
  };
  Status status = evaluation_status(batch_udf("score", Type::Double, failing, {col("i")}), *rows());
  BOOST_TEST(contains(status.message(), "in udf score(i): model not loaded"));
  BatchFunction wrong_type = [](const std::vector<ColumnPtr>& args, int64_t) -> Result<ColumnPtr> {
    return args[0];
  };
  status = evaluation_status(batch_udf("score", Type::Double, wrong_type, {col("i")}), *rows());
  BOOST_TEST(
      contains(status.message(), "udf 'score' returned BIGINT column of 3 rows, expected DOUBLE"));
  BatchFunction wrong_length = [](const std::vector<ColumnPtr>& args,
                                  int64_t) -> Result<ColumnPtr> { return args[0]->slice(0, 1); };
  status = evaluation_status(batch_udf("score", Type::Int64, wrong_length, {col("i")}), *rows());
  BOOST_TEST(contains(status.message(), "returned BIGINT column of 1 rows"));
}

BOOST_AUTO_TEST_CASE(nondeterministic_udfs_are_not_folded) {
  std::atomic<int> calls{0};
  auto counter = udf("counter", [&calls](int64_t x) { return x + calls.fetch_add(1); });
  auto stable = bind(counter(lit(1)), *mixed()).value();
  auto unstable = bind(counter.as_nondeterministic()(lit(1)), *mixed()).value();
  BOOST_TEST(!counter.as_nondeterministic()(lit(1)).is_deterministic());
  const int before = calls.load();
  BOOST_REQUIRE(unstable.evaluate(*rows()).ok());
  BOOST_TEST(calls.load() == before + 3);  // once per row, evaluated at run time
  BOOST_REQUIRE(stable.evaluate(*rows()).ok());
}

BOOST_AUTO_TEST_CASE(bound_udfs_evaluate_concurrently) {
  auto add = udf("add", [](int64_t a, int64_t b) { return a + b; });
  auto bound = bind(add(col("i"), lit(1)) * 2, *mixed()).value();
  auto batch = rows();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < 200; ++r) {
        auto column = bound.evaluate(*batch);
        if (!column.ok() || (*column)->value_at(0) != Value(6) || !(*column)->is_null(2))
          ++failures;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  BOOST_TEST(failures.load() == 0);
}
