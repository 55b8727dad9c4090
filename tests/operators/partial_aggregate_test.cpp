#define BOOST_TEST_MODULE partial_aggregate
#include <boost/test/unit_test.hpp>

#include <random>

#include "core/wire.hpp"
#include "operators/hash_aggregate.hpp"
#include "operators/partial_aggregate.hpp"
#include "operators/window_assigner.hpp"
#include "tests/operators/stateful_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

SchemaPtr events_schema() {
  return schema_of({{"k", Type::Int64}, {"t", Type::Timestamp}, {"v", Type::Int64},
                    {"d", Type::Double}, {"s", Type::String}});
}

constexpr int kK = 0, kT = 1, kV = 2, kD = 3, kS = 4, kStart = 5, kEnd = 6;

// Every aggregate function, over every kind of state (fixed, string, set, sketch, ranked).
std::vector<AggregateSpec> all_aggregates() {
  return {{AggregateKind::count_all, -1, "n"},
          {AggregateKind::count, kS, "ns"},
          {AggregateKind::count_distinct, kV, "dv"},
          {AggregateKind::count_distinct, kS, "ds"},
          {AggregateKind::approx_count_distinct, kV, "av"},
          {AggregateKind::sum, kV, "sv"},
          {AggregateKind::sum, kD, "sd"},
          {AggregateKind::avg, kD, "ad"},
          {AggregateKind::min, kS, "mins"},
          {AggregateKind::max, kD, "maxd"},
          {AggregateKind::first, kV, "fv"},
          {AggregateKind::last, kV, "lv"},
          {AggregateKind::first, kS, "fs"},
          {AggregateKind::last, kS, "ls"}};
}

std::shared_ptr<const StatefulOperator> windowed_aggregate(const SchemaPtr& windowed) {
  HashAggregateOptions options;
  options.event_time_key = 1;  // window.end
  options.partial_aggregation = PartialAggregationMode::always;
  auto op = make_hash_aggregate(windowed, {kStart, kEnd, kK}, all_aggregates(), options);
  BOOST_REQUIRE_MESSAGE(op.ok(), op.status().to_string());
  return *op;
}

// Returns `count` events with few keys (so batches repeat keys), nulls in every value column,
// event times rising with disorder up to `disorder`.
Rows random_events(std::mt19937_64& random, int count, int64_t disorder) {
  Rows rows;
  for (int i = 0; i < count; ++i) {
    const auto pick = [&](int n) { return static_cast<int64_t>(random() % static_cast<uint64_t>(n)); };
    Value k = pick(20) == 0 ? Value() : Value(pick(6));
    Value t = Value(Timestamp{std::max<int64_t>(0, i - pick(static_cast<int>(disorder)))});
    Value v = pick(8) == 0 ? Value() : Value(pick(50));
    Value d = pick(8) == 0 ? Value() : Value(static_cast<double>(pick(1000)) / 8);
    Value s = pick(8) == 0 ? Value() : Value("s" + std::to_string(pick(30)));
    rows.push_back({k, t, v, d, s});
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(partials_give_the_same_output_and_state_as_raw_rows_in_every_mode) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  const SchemaPtr input = events_schema();
  const SchemaPtr windowed = *windowed_schema(*input);
  const auto op = windowed_aggregate(windowed);
  for (const WindowDefinition& window : {WindowDefinition{50, 50, 0}, WindowDefinition{60, 20, 7}}) {
    for (OutputMode mode : {OutputMode::Append, OutputMode::Update, OutputMode::Complete}) {
      for (int partitions : {1, 2, 7}) {
        const std::string what = "seed " + std::to_string(seed) + " slide " +
                                 std::to_string(window.slide_micros) + " mode " +
                                 std::to_string(static_cast<int>(mode)) + " partitions " +
                                 std::to_string(partitions);
        StatefulRunner raw(op, partitions);
        raw.combine = false;
        StatefulRunner combined(op, partitions);
        combined.combine = true;
        const Rows events = random_events(random, 1200, 30);
        int64_t max_time = -1;
        int64_t epoch = 0;
        for (size_t begin = 0; begin < events.size(); ++epoch) {
          const size_t epoch_rows = 1 + random() % 200;
          const int64_t watermark = max_time < 0 ? EpochContext::kNoWatermark : max_time - 25;
          std::vector<RecordBatchPtr> batches;
          for (size_t end = std::min(events.size(), begin + epoch_rows); begin < end;) {
            const size_t batch_rows = std::min(end - begin, 1 + random() % 60);
            Rows rows(events.begin() + static_cast<std::ptrdiff_t>(begin),
                      events.begin() + static_cast<std::ptrdiff_t>(begin + batch_rows));
            for (const Row& row : rows) max_time = std::max(max_time, row[kT].as_timestamp().micros);
            batches.push_back(*assign_windows(*batch_of(input, rows), kT, window));
            begin += batch_rows;
          }
          const EpochContext context = epoch_context(epoch, watermark, mode);
          const Rows expected = raw.run_epoch(batches, context);
          const Rows actual = combined.run_epoch(batches, context);
          check_same_rows(actual, expected, what + " epoch " + std::to_string(epoch));
          // Byte-equal deltas: a checkpoint does not depend on how rows arrived.
          for (int p = 0; p < partitions; ++p) {
            const auto& a = combined.last_deltas[static_cast<size_t>(p)].changes;
            const auto& b = raw.last_deltas[static_cast<size_t>(p)].changes;
            BOOST_REQUIRE_MESSAGE(a.size() == b.size(), what << " delta sizes");
            for (size_t i = 0; i < a.size(); ++i) {
              BOOST_REQUIRE_MESSAGE(a[i].key == b[i].key && a[i].value == b[i].value,
                                    what << " delta entry " << i);
            }
          }
          BOOST_REQUIRE_MESSAGE(combined.metrics().num_rows_dropped_by_watermark ==
                                    raw.metrics().num_rows_dropped_by_watermark,
                                what << " rows dropped by the watermark");
        }
        // A last epoch whose watermark passes every window.
        const EpochContext last = epoch_context(epoch, max_time + 1000, mode);
        check_same_rows(combined.run_epoch({}, last), raw.run_epoch({}, last), what + " final epoch");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_late_partial_row_is_dropped_and_counts_every_row_it_folds) {
  const SchemaPtr input = events_schema();
  const SchemaPtr windowed = *windowed_schema(*input);
  const auto op = windowed_aggregate(windowed);
  StatefulRunner runner(op, 1);
  runner.combine = true;
  const WindowDefinition window{10, 10, 0};
  auto batch = [&](std::vector<int64_t> times) {
    Rows rows;
    for (int64_t t : times) rows.push_back({Value(int64_t{1}), Value(Timestamp{t}), Value(int64_t{1}), Value(), Value()});
    return *assign_windows(*batch_of(input, rows), kT, window);
  };
  runner.run_epoch({batch({1, 2, 15})}, epoch_context(0, EpochContext::kNoWatermark, OutputMode::Append));
  // Watermark 12: window [0, 10) is final; three more rows of it arrive late, folded into one.
  const Rows out = runner.run_epoch({batch({3, 4, 5, 16})}, epoch_context(1, 12, OutputMode::Append));
  BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark == 3);
  BOOST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0][3] == Value(int64_t{2}));  // the window's count: the two rows on time
}

BOOST_AUTO_TEST_CASE(the_adaptive_rule_skips_batches_that_hardly_reduce_and_tries_again) {
  const SchemaPtr input = events_schema();
  auto row = [](int64_t k) { return Row{Value(k), Value(Timestamp{0}), Value(k), Value(), Value()}; };
  Rows distinct;
  Rows repeated;
  for (int64_t i = 0; i < 100; ++i) {
    distinct.push_back(row(i));
    repeated.push_back(row(i % 5));
  }
  auto aggregates = std::make_shared<const AggregateRow>(*AggregateRow::make(*input, all_aggregates()));
  auto partial = PartialAggregation::make(input, {kK}, aggregates, PartialAggregationMode::adaptive);
  BOOST_REQUIRE_MESSAGE(partial.ok(), partial.status().to_string());
  PartialCombiner combiner(*partial);
  const RecordBatchPtr distinct_batch = batch_of(input, distinct);
  const RecordBatchPtr repeated_batch = batch_of(input, repeated);
  // Combined batches: 1st (then skip 1), 3rd (skip 2), 6th (skip 4), 11th.
  std::vector<bool> was_combined;
  for (int i = 0; i < 11; ++i) {
    auto out = combiner.combine(distinct_batch);
    BOOST_REQUIRE(out.ok());
    was_combined.push_back(*out != distinct_batch);
  }
  const std::vector<bool> expected = {true, false, true, false, false, true,
                                      false, false, false, false, true};
  BOOST_TEST(was_combined == expected, boost::test_tools::per_element());
  // A batch that pays resets the backoff: from then on every such batch is combined.
  for (int i = 0; i < 8; ++i) (void)combiner.combine(repeated_batch);
  for (int i = 0; i < 5; ++i) {
    auto out = combiner.combine(repeated_batch);
    BOOST_REQUIRE(out.ok());
    BOOST_TEST((*out)->num_rows() == 5);
  }
  BOOST_TEST(combiner.stats().batches_passed == 15);
}

BOOST_AUTO_TEST_CASE(a_partial_batch_is_recognized_after_the_wire_format) {
  const SchemaPtr input = events_schema();
  auto aggregates = std::make_shared<const AggregateRow>(*AggregateRow::make(*input, all_aggregates()));
  auto partial = *PartialAggregation::make(input, {kK, kS}, aggregates, PartialAggregationMode::always);
  PartialCombiner combiner(partial);
  const RecordBatchPtr rows = batch_of(input, {{Value(int64_t{1}), Value(Timestamp{0}), Value(int64_t{2}), Value(0.5), Value("x")},
                                               {Value(int64_t{1}), Value(Timestamp{1}), Value(int64_t{3}), Value(), Value("x")}});
  auto combined = combiner.combine(rows);
  BOOST_REQUIRE(combined.ok());
  BOOST_TEST((*combined)->num_rows() == 1);
  auto bytes = wire::encode_batch(**combined);
  BOOST_REQUIRE(bytes.ok());
  auto decoded = wire::decode_batch(bytes->data(), bytes->size());
  BOOST_REQUIRE(decoded.ok());
  BOOST_TEST(partial->is_partial(**decoded));
  BOOST_TEST(!partial->is_partial(*rows));
}

BOOST_AUTO_TEST_CASE(an_unknown_mode_and_a_wrong_schema_are_errors_naming_them) {
  auto mode = parse_partial_aggregation_mode("sometimes");
  BOOST_REQUIRE(!mode.ok());
  BOOST_TEST(mode.status().to_string().find("'sometimes'") != std::string::npos);
  const SchemaPtr input = events_schema();
  auto aggregates = std::make_shared<const AggregateRow>(*AggregateRow::make(*input, all_aggregates()));
  auto partial = *PartialAggregation::make(input, {kK}, aggregates, PartialAggregationMode::always);
  PartialCombiner combiner(partial);
  auto other = schema_of({{"k", Type::String}});
  auto out = combiner.combine(batch_of(other, {{Value("a")}}));
  BOOST_REQUIRE(!out.ok());
  BOOST_TEST(out.status().to_string().find("partial aggregation expects rows of schema") != std::string::npos);
  BOOST_TEST(!PartialAggregation::make(input, {9}, aggregates, PartialAggregationMode::always).ok());
}
