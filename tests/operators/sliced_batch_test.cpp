#define BOOST_TEST_MODULE sliced_batch
#include <boost/test/unit_test.hpp>

// Evaluates expressions over slices of a batch (column offsets that are not multiples of 8, so
// validity bitmaps start mid-byte) and checks they give the same rows as the whole batch and as
// a copied batch starting at offset 0.

#include <numeric>
#include <random>

#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

const Value N;

RecordBatchPtr random_batch(int64_t rows) {
  auto schema = schema_of({{"i", Type::Int64},
                           {"j", Type::Int64},
                           {"d", Type::Double},
                           {"s", Type::String},
                           {"b", Type::Bool},
                           {"t", Type::Timestamp}});
  std::mt19937_64 random(23);
  static const char* kWords[] = {"", "ab", "é", "2024-01-02", "42", "x y", "true"};
  std::vector<std::vector<Value>> data;
  for (int64_t r = 0; r < rows; ++r) {
    auto maybe = [&](Value v) { return random() % 4 == 0 ? N : v; };
    data.push_back({maybe(static_cast<int64_t>(random() % 9) - 4),
                    maybe(static_cast<int64_t>(random() % 5) - 2),
                    maybe(static_cast<double>(random() % 17) / 4 - 2), maybe(kWords[random() % 7]),
                    maybe(random() % 2 == 0),
                    maybe(Timestamp{static_cast<int64_t>(random() % 100'000) * 60'000'000})});
  }
  return batch_of(schema, data);
}

std::vector<Expr> expressions() {
  auto plus = udf("plus", [](int64_t a, int64_t b) { return a + b; });
  return {
      col("i") + col("j"),
      col("i") * 3 - col("j"),
      col("i") / col("j"),
      col("i") % col("j"),
      col("d") * 0.5 + col("i"),
      -col("d"),
      col("i") > col("j"),
      col("s") == "ab",
      col("d") <= 0,
      col("b") && col("i") > 0,
      col("b") || col("j") < 0,
      !col("b"),
      col("s").is_null(),
      col("t").is_not_null(),
      col("i").isin({1, 2, Value()}),
      col("s").isin({"ab", "é"}),
      when(col("i") > 0, col("s")).when(col("b"), lit("b")).otherwise(col("s")),
      when(col("d") > 0, col("d")),
      coalesce({col("i"), col("j"), lit(0)}),
      coalesce({col("s"), lit("none")}),
      col("s").cast(Type::Int64),
      col("s").cast(Type::Bool),
      col("s").cast(Type::Timestamp),
      col("d").cast(Type::String),
      col("t").cast(Type::String),
      upper(col("s")),
      length(col("s")),
      substring(col("s"), 2, 1),
      concat({col("s"), lit("-"), col("i")}),
      trim(col("s")),
      col("s").like("%b"),
      col("s").contains(lit("y")),
      col("s").starts_with(col("s")),
      to_timestamp(col("s"), "yyyy-MM-dd"),
      date_trunc("day", col("t")),
      minute(col("t")),
      col("t") + interval("90 seconds"),
      hash({col("i"), col("s"), col("d"), col("b"), col("t")}),
      plus(col("i"), col("j")),
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(slices_at_any_bit_offset_give_the_rows_of_the_whole_batch) {
  auto batch = random_batch(300);
  for (const Expr& e : expressions()) {
    const auto whole = evaluate(e, *batch);
    for (int64_t offset : {1, 2, 3, 5, 7, 8, 9, 13, 63, 64, 65, 130}) {
      const int64_t length = batch->num_rows() - offset - 3;
      auto slice = batch->slice(offset, length);
      const std::vector<Value> expected(whole.begin() + offset, whole.begin() + offset + length);
      check_values(evaluate(e, *slice), expected,
                   e.to_string() + " at offset " + std::to_string(offset));
    }
  }
}

BOOST_AUTO_TEST_CASE(slices_match_copies_that_start_at_offset_zero) {
  auto batch = random_batch(200);
  const int64_t offset = 11, length = 150;
  auto slice = batch->slice(offset, length);
  std::vector<int32_t> indices(static_cast<size_t>(length));
  std::iota(indices.begin(), indices.end(), static_cast<int32_t>(offset));
  auto copy = batch->take(indices.data(), length);
  for (const Expr& e : expressions()) {
    check_values(evaluate(e, *slice), evaluate(e, *copy), e.to_string());
  }
}

BOOST_AUTO_TEST_CASE(select_on_a_slice_returns_slice_relative_indices) {
  auto batch = random_batch(260);
  auto predicate = bind(col("i") > 0 && col("b"), *batch->schema()).value();
  const auto whole = evaluate(col("i") > 0 && col("b"), *batch);
  for (int64_t offset : {3, 17, 64, 99}) {
    auto slice = batch->slice(offset, 150);
    std::vector<int32_t> selection;
    BOOST_REQUIRE(predicate.select(*slice, selection).is_ok());
    std::vector<int32_t> expected;
    for (int32_t i = 0; i < 150; ++i) {
      if (whole[static_cast<size_t>(offset + i)] == Value(true)) expected.push_back(i);
    }
    BOOST_TEST(selection == expected, boost::test_tools::per_element());
  }
}
