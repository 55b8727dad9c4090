#define BOOST_TEST_MODULE hash
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <random>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

const Value N;

// Reference: Spark's xxhash64 scheme written directly against the xxHash library.
uint64_t reference(const std::vector<Value>& row) {
  uint64_t h = 42;
  for (const Value& v : row) {
    if (v.is_null()) continue;
    switch (*v.type()) {
      case Type::Bool: {
        const int32_t b = v.as_bool();
        h = XXH64(&b, 4, h);
        break;
      }
      case Type::Int64: {
        const int64_t i = v.as_int64();
        h = XXH64(&i, 8, h);
        break;
      }
      case Type::Double: {
        double d = v.as_double();
        if (d == 0) d = 0.0;
        if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
        h = XXH64(&d, 8, h);
        break;
      }
      case Type::String:
        h = XXH64(v.as_string().data(), v.as_string().size(), h);
        break;
      case Type::Timestamp: {
        const int64_t t = v.as_timestamp().micros;
        h = XXH64(&t, 8, h);
        break;
      }
    }
  }
  return h;
}

SchemaPtr mixed() {
  return schema_of({{"b", Type::Bool},
                    {"i", Type::Int64},
                    {"d", Type::Double},
                    {"s", Type::String},
                    {"t", Type::Timestamp}});
}

RecordBatchPtr random_rows(uint64_t seed, int count) {
  std::mt19937_64 random(seed);
  std::vector<std::vector<Value>> rows;
  for (int r = 0; r < count; ++r) {
    auto maybe = [&](Value v) { return random() % 4 == 0 ? N : v; };
    rows.push_back({maybe(random() % 2 == 0), maybe(static_cast<int64_t>(random())),
                    maybe(static_cast<double>(random() % 1000) / 7),
                    maybe(std::string(random() % 12, static_cast<char>('a' + random() % 26))),
                    maybe(Timestamp{static_cast<int64_t>(random() % 1'000'000'000)})});
  }
  return batch_of(mixed(), rows);
}

}  // namespace

BOOST_AUTO_TEST_CASE(hash_matches_xxhash64_chained_over_the_arguments) {
  auto batch = random_rows(1, 200);
  auto rows = batch->to_rows();
  auto values = evaluate(hash({col("b"), col("i"), col("d"), col("s"), col("t")}), *batch);
  for (size_t r = 0; r < rows.size(); ++r) {
    BOOST_TEST(values[r] == Value(static_cast<int64_t>(reference(rows[r]))), "row " << r);
  }
  auto single = evaluate(hash({col("s")}), *batch);
  for (size_t r = 0; r < rows.size(); ++r) {
    BOOST_TEST(single[r] == Value(static_cast<int64_t>(reference({rows[r][3]}))));
  }
}

BOOST_AUTO_TEST_CASE(hash_is_never_null_and_skips_null_arguments) {
  auto batch = batch_of(schema_of({{"i", Type::Int64}, {"s", Type::String}}),
                        {{N, N}, {int64_t{5}, N}, {N, "x"}});
  auto values = evaluate(hash({col("i"), col("s")}), *batch);
  BOOST_TEST(values[0] == Value(int64_t{42}));
  BOOST_TEST(values[1] == evaluate(hash({lit(5)}), *batch)[0]);
  BOOST_TEST(values[2] == evaluate(hash({col("s")}), *batch)[2]);
  BOOST_TEST(evaluate_scalar(hash({lit_null(Type::String), lit(5)})) ==
             evaluate_scalar(hash({lit(5)})));
  BOOST_TEST(!bind(hash({col("i")}), *batch->schema()).value().nullable());
}

BOOST_AUTO_TEST_CASE(hash_is_deterministic_across_runs_and_batch_splits) {
  auto batch = random_rows(9, 300);
  Expr e = hash({col("i"), col("s"), col("d")});
  auto whole = evaluate(e, *batch);
  BOOST_TEST(whole == evaluate(e, *batch), boost::test_tools::per_element());
  for (int64_t offset : {0, 3, 64, 131}) {
    auto slice = batch->slice(offset, 100);
    auto part = evaluate(e, *slice);
    for (int64_t i = 0; i < 100; ++i)
      BOOST_TEST(part[i] == whole[offset + i]);
  }
  // A fixed value pins the function across builds and machines.
  BOOST_TEST(evaluate_scalar(hash({lit(int64_t{1})})) ==
             Value(static_cast<int64_t>(reference({Value(int64_t{1})}))));
}

BOOST_AUTO_TEST_CASE(equal_doubles_hash_equally) {
  const double other_nan = -std::nan("7");
  BOOST_TEST(evaluate_scalar(hash({lit(-0.0)})) == evaluate_scalar(hash({lit(0.0)})));
  BOOST_TEST(evaluate_scalar(hash({lit(std::nan(""))})) == evaluate_scalar(hash({lit(other_nan)})));
  BOOST_TEST(evaluate_scalar(hash({lit(1.0)})) != evaluate_scalar(hash({lit(2.0)})));
  // Argument order matters.
  BOOST_TEST(evaluate_scalar(hash({lit(1), lit(2)})) != evaluate_scalar(hash({lit(2), lit(1)})));
}

BOOST_AUTO_TEST_CASE(the_scheme_reproduces_spark_documented_xxhash64) {
  // Spark's documentation: xxhash64('Spark', array(123), 2) = 5602566077635097486, hashing the
  // string's bytes, then each INT as 4 bytes, each seeding the next from 42.
  uint64_t h = XXH64("Spark", 5, 42);
  const int32_t element = 123, last = 2;
  h = XXH64(&element, 4, h);
  h = XXH64(&last, 4, h);
  BOOST_TEST(h == 5602566077635097486ULL);
  BOOST_TEST(evaluate_scalar(hash({lit("Spark")})) ==
             Value(static_cast<int64_t>(XXH64("Spark", 5, 42))));
}
