#define BOOST_TEST_MODULE stream_join
#include <boost/test/unit_test.hpp>

#include "operators/stream_join.hpp"
#include "tests/operators/stateful_fixture.hpp"
#include "tests/support/join_reference.hpp"

namespace sluice::testing {
namespace {

constexpr int64_t kSecond = kJoinSecond;
constexpr int64_t kBound = kJoinBound;
constexpr int64_t kDelay = 5 * kSecond;       // how far rows arrive out of order
constexpr int64_t kFlush = int64_t{1} << 50;  // a watermark past every row

SchemaPtr left_schema() { return join_left_schema(); }
SchemaPtr right_schema() { return join_right_schema(); }
Expr range_condition() { return join_range_condition(); }

std::shared_ptr<const StatefulOperator> make_join(JoinType type, bool with_condition = true,
                                                  int64_t cache_bytes = 256LL << 20) {
  StreamJoinOptions options;
  options.type = type;
  options.cache_bytes = cache_bytes;
  options.left_keys = {0};
  options.right_keys = {0};
  options.left_time = 1;
  options.right_time = 1;
  if (with_condition) {
    options.condition = range_condition();
    options.bounds = time_bounds_of(*options.condition, "lts", "rts");
  }
  auto op = make_stream_join(left_schema(), right_schema(), options);
  BOOST_REQUIRE_MESSAGE(op.ok(), op.status().to_string());
  return *op;
}

using Inputs = std::vector<std::pair<int, RecordBatchPtr>>;

using Event = JoinEvent;

int64_t ts_of(const Row& row) { return join_time_of(row); }

std::vector<Event> random_events(std::mt19937_64& random, int rows_per_side) {
  return random_join_events(random, rows_per_side, 120, 7, 5, kDelay);
}

RecordBatchPtr batch_of(int side, const Rows& rows) {
  auto batch = RecordBatch::from_rows(side == 0 ? left_schema() : right_schema(), rows);
  BOOST_REQUIRE_MESSAGE(batch.ok(), batch.status().to_string());
  return *batch;
}

// Runs the events through the operator in random epochs (watermark = max event time of the
// earlier epochs - kDelay), restarting from the committed state once midway after an epoch
// whose commit was lost, then flushes with a final watermark.
// Adds to `read_back` the segments the partitions read back from the committed state (when
// their columns had left memory for the cache).
Rows run_stream(JoinType type, const std::vector<Event>& events, int partitions, std::mt19937_64& random,
                bool with_condition = true, int64_t cache_bytes = 256LL << 20, int64_t* read_back = nullptr) {
  StatefulRunner runner(make_join(type, with_condition, cache_bytes), partitions);
  int running = partitions;
  auto count_read_back = [&] {
    for (int p = 0; read_back && p < running; ++p) {
      *read_back += runner.state(p).metrics().custom_metrics["segmentsReadBack"];
    }
  };
  std::uniform_int_distribution<size_t> epoch_size(1, 40);
  std::optional<int64_t> max_time;
  int64_t epoch = 0;
  Rows out;
  size_t next = 0;
  const int64_t crash_epoch = std::uniform_int_distribution<int64_t>(1, 6)(random);
  while (next < events.size()) {
    const size_t end = std::min(events.size(), next + epoch_size(random));
    std::vector<std::pair<int, RecordBatchPtr>> inputs;
    size_t run = next;
    while (run < end) {
      size_t stop = run;
      Rows rows;
      while (stop < end && events[stop].side == events[run].side) rows.push_back(events[stop++].row);
      inputs.emplace_back(events[run].side, batch_of(events[run].side, rows));
      run = stop;
    }
    const int64_t watermark = max_time ? *max_time - kDelay : EpochContext::kNoWatermark;
    const auto context = epoch_context(epoch, watermark, OutputMode::Append);
    if (epoch == crash_epoch) {
      // The process dies before the commit: the epoch's output and delta are lost and it
      // re-runs over the committed state, with another partition count.
      runner.run_inputs(inputs, context, false);
      runner.restart(partitions + 1);
      running = partitions + 1;
    }
    Rows rows = runner.run_inputs(inputs, context);
    count_read_back();
    out.insert(out.end(), rows.begin(), rows.end());
    for (size_t i = next; i < end; ++i) max_time = std::max(max_time.value_or(0), ts_of(events[i].row));
    next = end;
    ++epoch;
  }
  Rows rows = runner.run_inputs(Inputs{}, epoch_context(epoch, kFlush, OutputMode::Append));
  out.insert(out.end(), rows.begin(), rows.end());
  BOOST_CHECK_EQUAL(runner.metrics().num_rows_total, 0);
  BOOST_CHECK_EQUAL(runner.store()->entries.size(), 0u);
  return out;
}

void check_same(const Rows& actual, const Rows& expected, const std::string& what) {
  const Rows a = sorted(actual);
  const Rows e = sorted(expected);
  BOOST_CHECK_MESSAGE(a == e, what << ": " << a.size() << " rows, expected " << e.size());
  if (a != e) {
    for (size_t i = 0; i < std::min<size_t>(std::max(a.size(), e.size()), 10); ++i) {
      BOOST_TEST_MESSAGE((i < a.size() ? row_text(a[i]) : "-") << " vs " << (i < e.size() ? row_text(e[i]) : "-"));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_join_kind_equals_a_batch_join_over_random_epochs) {
  std::mt19937_64 random(test_seed());
  for (JoinType type : {JoinType::inner, JoinType::left_outer, JoinType::right_outer, JoinType::full_outer,
                        JoinType::left_semi}) {
    for (int partitions : {1, 3}) {
      const auto events = random_events(random, 150);
      const Rows actual = run_stream(type, events, partitions, random);
      check_same(actual, reference_join(type, events),
                 std::string(join_type_name(type)) + " with " + std::to_string(partitions) + " partitions");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_tiny_state_cache_gives_the_same_join_as_a_large_one) {
  std::mt19937_64 random(test_seed());
  int64_t read_back = 0;
  for (JoinType type : {JoinType::inner, JoinType::left_outer, JoinType::full_outer, JoinType::left_semi}) {
    const auto events = random_events(random, 150);
    const uint64_t seed = random();
    std::mt19937_64 small_random(seed);
    std::mt19937_64 large_random(seed);
    // One byte: every committed segment leaves memory after each commit.
    const Rows small = run_stream(type, events, 2, small_random, true, 1, &read_back);
    const Rows large = run_stream(type, events, 2, large_random, true);
    const std::string name(join_type_name(type));
    check_same(small, large, name + " with a 1-byte cache against a 256 MB one");
    check_same(small, reference_join(type, events), name + " with a 1-byte cache");
  }
  BOOST_TEST_MESSAGE(read_back << " segments read back");
  BOOST_CHECK_GT(read_back, 0);
}

BOOST_AUTO_TEST_CASE(a_tiny_state_cache_keeps_the_columns_of_committed_rows_out_of_memory) {
  std::mt19937_64 random(test_seed());
  const auto events = random_events(random, 200);
  StatefulRunner small(make_join(JoinType::inner, false, 1), 1);
  StatefulRunner large(make_join(JoinType::inner, false), 1);
  int64_t epoch = 0;
  for (size_t begin = 0; begin < events.size(); begin += 25, ++epoch) {
    Inputs inputs;
    for (size_t i = begin; i < std::min(events.size(), begin + 25); ++i) {
      inputs.emplace_back(events[i].side, batch_of(events[i].side, {events[i].row}));
    }
    const auto context = epoch_context(epoch, EpochContext::kNoWatermark, OutputMode::Append);
    check_same(small.run_inputs(inputs, context), large.run_inputs(inputs, context),
               "epoch " + std::to_string(epoch));
    BOOST_CHECK_LT(small.metrics().memory_used_bytes, large.metrics().memory_used_bytes);
    BOOST_CHECK_EQUAL(small.metrics().num_rows_total, large.metrics().num_rows_total);
  }
}

BOOST_AUTO_TEST_CASE(inner_join_without_a_time_bound_keeps_every_row) {
  std::mt19937_64 random(test_seed());
  const auto events = random_events(random, 60);
  StatefulRunner runner(make_join(JoinType::inner, false), 2);
  std::vector<std::pair<int, RecordBatchPtr>> inputs;
  for (const auto& event : events) inputs.emplace_back(event.side, batch_of(event.side, {event.row}));
  Rows out = runner.run_inputs(inputs, epoch_context(0, EpochContext::kNoWatermark, OutputMode::Append));
  // Rows with a null key can never match and are not kept.
  int64_t keyed = 0;
  for (const auto& event : events) keyed += event.row[0].is_null() ? 0 : 1;
  BOOST_CHECK_EQUAL(runner.metrics().num_rows_total, keyed);
  check_same(out, reference_join(JoinType::inner, events, false), "unbounded inner join");
}

BOOST_AUTO_TEST_CASE(outer_null_rows_come_once_and_only_after_the_watermark_passes) {
  StatefulRunner runner(make_join(JoinType::left_outer), 2);
  auto left = batch_of(0, {{Value(int64_t{1}), Value(Timestamp{0}), Value("a")}});
  auto right = batch_of(1, {{Value(int64_t{1}), Value(Timestamp{20 * kSecond}), Value(int64_t{7})}});
  BOOST_CHECK(runner.run_inputs({{0, left}}, epoch_context(0, EpochContext::kNoWatermark, OutputMode::Append)).empty());
  // Too far apart to match: nothing comes until the watermark passes lts + 10 s.
  BOOST_CHECK(runner.run_inputs({{1, right}}, epoch_context(1, 5 * kSecond, OutputMode::Append)).empty());
  BOOST_CHECK(runner.run_inputs(Inputs{}, epoch_context(2, kBound, OutputMode::Append)).empty());
  runner.restart(3);
  Rows out = runner.run_inputs(Inputs{}, epoch_context(3, kBound + 1, OutputMode::Append));
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_CHECK(out[0] == (Row{Value(int64_t{1}), Value(Timestamp{0}), Value("a"), Value(), Value()}));
  BOOST_CHECK(runner.run_inputs(Inputs{}, epoch_context(4, kFlush, OutputMode::Append)).empty());
}

BOOST_AUTO_TEST_CASE(a_match_survives_a_restart_so_no_null_row_follows) {
  StatefulRunner runner(make_join(JoinType::full_outer), 1);
  auto left = batch_of(0, {{Value(int64_t{1}), Value(Timestamp{0}), Value("a")}});
  auto right = batch_of(1, {{Value(int64_t{1}), Value(Timestamp{3 * kSecond}), Value(int64_t{7})}});
  BOOST_CHECK(runner.run_inputs({{0, left}}, epoch_context(0, EpochContext::kNoWatermark, OutputMode::Append)).empty());
  BOOST_CHECK_EQUAL(runner.run_inputs({{1, right}}, epoch_context(1, 0, OutputMode::Append)).size(), 1u);
  runner.restart(2);
  BOOST_CHECK(runner.run_inputs(Inputs{}, epoch_context(2, kFlush, OutputMode::Append)).empty());
}

BOOST_AUTO_TEST_CASE(late_rows_are_dropped_and_counted) {
  StatefulRunner runner(make_join(JoinType::inner), 1);
  auto left = batch_of(0, {{Value(int64_t{1}), Value(Timestamp{0}), Value("late")},
                           {Value(int64_t{1}), Value(Timestamp{50 * kSecond}), Value("on time")}});
  runner.run_inputs({{0, left}}, epoch_context(0, 40 * kSecond, OutputMode::Append));
  BOOST_CHECK_EQUAL(runner.metrics().num_rows_dropped_by_watermark, 1);
  BOOST_CHECK_EQUAL(runner.metrics().num_rows_total, 1);
}

BOOST_AUTO_TEST_CASE(time_bounds_are_read_from_the_condition) {
  auto bounds = time_bounds_of(range_condition(), "lts", "rts");
  BOOST_CHECK(bounds.lower == std::optional<int64_t>(0));
  BOOST_CHECK(bounds.upper == std::optional<int64_t>(kBound));
  bounds = time_bounds_of(col("lts") > col("rts") - interval("1 hour") && col("k") == lit(int64_t{3}), "lts", "rts");
  BOOST_CHECK(!bounds.lower);
  BOOST_CHECK(bounds.upper == std::optional<int64_t>(3600 * kSecond));
}

BOOST_AUTO_TEST_CASE(bad_joins_are_refused_with_the_reason) {
  StreamJoinOptions options;
  options.left_keys = {2};
  options.right_keys = {0};
  auto op = make_stream_join(left_schema(), right_schema(), options);
  BOOST_REQUIRE(!op.ok());
  BOOST_CHECK_NE(op.status().message().find("STRING"), std::string::npos);
  options.left_keys = {0};
  options.condition = col("rts") + lit(int64_t{1});
  op = make_stream_join(left_schema(), right_schema(), options);
  BOOST_REQUIRE(!op.ok());
  BOOST_CHECK_NE(op.status().to_string().find("condition"), std::string::npos);
}

}  // namespace sluice::testing
