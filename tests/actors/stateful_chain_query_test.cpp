#define BOOST_TEST_MODULE stateful_chain_query
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <iostream>
#include <map>
#include <mutex>
#include <random>

#include "tests/operators/stateful_fixture.hpp"
#include "tests/support/join_reference.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

// Collects every row a query emits, in order, as (first column, last column) pairs.
struct Collected {
  std::mutex mutex;
  std::vector<std::pair<Value, Value>> rows;

  std::function<void(const RecordBatchPtr&, int64_t)> writer() {
    return [this](const RecordBatchPtr& batch, int64_t) {
      std::lock_guard lock(mutex);
      for (int64_t r = 0; r < batch->num_rows(); ++r) {
        rows.emplace_back(batch->column(0)->value_at(r), batch->column(batch->num_columns() - 1)->value_at(r));
      }
    };
  }
};

}  // namespace

// The right row of every pair is at most 10 s before the left one, so a pair carries the left
// time, never below the watermark: the windowed count above it loses no pair.
BOOST_AUTO_TEST_CASE(an_inner_range_join_whose_output_time_is_the_later_side_feeds_an_aggregation) {
  std::mt19937_64 random(test_seed());
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "3").is_ok());
  MemoryStream left(session, join_left_schema());
  MemoryStream right(session, join_right_schema());
  const Expr earlier = col("rts") <= col("lts") && col("rts") >= col("lts") - interval("10 seconds");
  auto df = left.to_df()
                .with_watermark("lts", "5 seconds")
                .join(right.to_df().with_watermark("rts", "5 seconds"), {"k"}, "inner", earlier)
                .group_by(window(col("lts"), "10 seconds"))
                .agg(count().alias("pairs"));
  Collected collected;
  auto query = df.write_stream().output_mode(OutputMode::Append).foreach_batch(collected.writer()).start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  const auto events = random_join_events(random, 120, 60, 6, 0, 5 * kJoinSecond);
  for (size_t next = 0; next < events.size(); next += 20) {
    BOOST_REQUIRE(add_in_arrival_order(left, right, events, next, std::min(events.size(), next + 20)).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  // Far-future rows on both sides (keys that match nothing) close every window.
  const Value far(Timestamp{1000 * kJoinSecond});
  BOOST_REQUIRE(left.add_data({{Value(int64_t{98}), far, Value("end")}}).is_ok());
  BOOST_REQUIRE(right.add_data({{Value(int64_t{99}), far, Value(int64_t{0})}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());

  std::map<int64_t, int64_t> want;  // window start -> pairs
  for (const auto& l : events) {
    if (l.side != 0) continue;
    for (const auto& r : events) {
      if (r.side != 1 || !(l.row[0] == r.row[0])) continue;
      const int64_t lts = join_time_of(l.row), rts = join_time_of(r.row);
      if (rts <= lts && rts >= lts - 10 * kJoinSecond) ++want[lts - lts % (10 * kJoinSecond)];
    }
  }
  std::map<int64_t, int64_t> actual;
  for (const auto& [window, pairs] : collected.rows) {
    BOOST_TEST(actual.count(window.as_timestamp().micros) == 0u);  // each window once
    actual[window.as_timestamp().micros] = pairs.as_int64();
  }
  BOOST_TEST(want.size() >= 5u);
  BOOST_TEST(actual == want);
  BOOST_REQUIRE(query->stop().is_ok());
}

// A windowed count feeds a running sum per key in Update mode: the count must pass on only
// final windows (an updated window counted twice would inflate the sums).
BOOST_AUTO_TEST_CASE(the_last_aggregation_of_a_chain_runs_in_update_mode_over_final_rows) {
  std::mt19937_64 random(test_seed());
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  MemoryStream events(session, join_left_schema());  // k, lts, lv
  auto df = events.to_df()
                .with_watermark("lts", "2 seconds")
                .group_by(col("k"), window(col("lts"), "10 seconds"))
                .agg(count().alias("n"))
                .group_by(col("k"))
                .agg(sum(col("n")).alias("total"));
  Collected collected;
  auto query = df.write_stream().output_mode(OutputMode::Update).foreach_batch(collected.writer()).start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  std::map<int64_t, int64_t> want;
  for (int64_t second = 0; second < 60; second += 1) {
    std::vector<std::vector<Value>> rows;
    for (int i = 0; i < 3; ++i) {
      const int64_t k = static_cast<int64_t>(random() % 4);
      rows.push_back({Value(k), Value(Timestamp{second * kJoinSecond}), Value("row")});
      ++want[k];
    }
    BOOST_REQUIRE(events.add_data(rows).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  BOOST_REQUIRE(events.add_data({{Value(int64_t{9}), Value(Timestamp{1000 * kJoinSecond}), Value("end")}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  std::map<int64_t, int64_t> last;
  for (const auto& [k, total] : collected.rows) last[k.as_int64()] = total.as_int64();
  BOOST_TEST(last == want);
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(update_mode_is_refused_when_the_last_operator_of_a_chain_is_a_join) {
  Session session;
  MemoryStream left(session, join_left_schema());
  MemoryStream right(session, join_right_schema());
  auto counts = left.to_df().with_watermark("lts", "5 seconds")
                    .group_by(window(col("lts"), "10 seconds"), col("k")).agg(count().alias("n"));
  auto df = counts.join(right.to_df().with_watermark("rts", "5 seconds"), {"k"});
  auto query = df.write_stream().output_mode(OutputMode::Update).foreach_batch([](const RecordBatchPtr&, int64_t) {}).start();
  BOOST_REQUIRE(!query.ok());
  BOOST_TEST(query.status().to_string().find("only a last aggregation or flat_map_groups_with_state") !=
             std::string::npos, query.status().to_string());
}

// Nexmark q5's shape and one more stage: per-key counts in 10 s windows (depth 0), each
// window's maximum (depth 1), the counts joined with their window's maximum on the window's
// end (depth 2), and the hot keys counted per 30 s (depth 3). Each depth runs with a watermark
// one more epoch behind, so none of its input is late; a restart midway reads those
// watermarks back. Random epochs, rows out of order within the watermark delay.
BOOST_AUTO_TEST_CASE(
    a_four_deep_chain_equals_a_batch_computation_over_random_epochs_and_a_restart) {
  std::mt19937_64 random(test_seed());
  for (int partitions : {1, 3}) {
    Session session;
    BOOST_REQUIRE(session.set_conf("shuffle_partitions", std::to_string(partitions)).is_ok());
    auto schema = Schema::make({{"k", Type::Int64}, {"ts", Type::Timestamp}}).value();
    MemoryStream events(session, schema);
    const DataFrame counts = events.to_df()
                                 .with_watermark("ts", "2 seconds")
                                 .group_by(window(col("ts"), "10 seconds"), col("k"))
                                 .agg(count().alias("n"))
                                 .select(col("k"), col("n"), col("window.end").alias("wend"));
    const DataFrame maxima = counts.group_by(col("wend")).agg(max(col("n")).alias("most"));
    const DataFrame hot = counts.join(maxima, {"wend"}, "inner", col("n") >= col("most"));
    const DataFrame df = hot.group_by(window(col("wend"), "30 seconds"))
                             .agg(count().alias("hot_keys"), sum(col("n")).alias("hot_rows"));
    TemporaryDirectory checkpoint;
    const std::string name = "four_deep" + std::to_string(partitions);
    auto start = [&] {
      return df.write_stream()
          .format("memory")
          .query_name(name)
          .output_mode(OutputMode::Append)
          .option("checkpointLocation", checkpoint.path())
          .start();
    };
    auto query = start();
    BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());

    // Whole-second event times, arriving up to 1 s late: never behind the 2 s watermark delay.
    struct Event {
      int64_t k, ts, arrival;
    };
    std::vector<Event> arriving;
    std::uniform_int_distribution<int64_t> second(0, 150), key(0, 3), jitter(0, kJoinSecond);
    for (int i = 0; i < 600; ++i) {
      const int64_t ts = second(random) * kJoinSecond;
      arriving.push_back({key(random), ts, ts + jitter(random)});
    }
    std::sort(arriving.begin(), arriving.end(),
              [](const Event& a, const Event& b) { return a.arrival < b.arrival; });
    std::uniform_int_distribution<size_t> cut(1, 40);
    bool restarted = false;
    for (size_t next = 0; next < arriving.size();) {
      const size_t end = std::min(arriving.size(), next + cut(random));
      std::vector<std::vector<Value>> rows;
      for (size_t i = next; i < end; ++i)
        rows.push_back({Value(arriving[i].k), Value(Timestamp{arriving[i].ts})});
      BOOST_REQUIRE(events.add_data(rows).is_ok());
      const Status processed = query->process_all_available();
      BOOST_REQUIRE_MESSAGE(processed.is_ok(), processed.to_string());
      next = end;
      if (!restarted && next > arriving.size() / 2) {
        restarted = true;
        BOOST_REQUIRE(query->stop().is_ok());
        query = start();
        BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
      }
    }
    BOOST_REQUIRE(
        events.add_data({{Value(int64_t{9}), Value(Timestamp{1000 * kJoinSecond})}}).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());

    // The same stages as a batch over every row.
    std::map<std::pair<int64_t, int64_t>, int64_t> per_key;  // (window end, k) -> rows
    for (const Event& e : arriving)
      ++per_key[{e.ts - e.ts % (10 * kJoinSecond) + 10 * kJoinSecond, e.k}];
    std::map<int64_t, int64_t> most;  // window end -> the largest count
    for (const auto& [window_key, n] : per_key)
      most[window_key.first] = std::max(most[window_key.first], n);
    std::map<int64_t, std::pair<int64_t, int64_t>>
        outer;  // 30 s window start -> (hot keys, their rows)
    for (const auto& [window_key, n] : per_key) {
      if (n < most[window_key.first]) continue;
      auto& [keys, rows] = outer[window_key.first - window_key.first % (30 * kJoinSecond)];
      ++keys;
      rows += n;
    }
    Rows want;
    for (const auto& [start_us, totals] : outer) {
      want.push_back({Value(Timestamp{start_us}), Value(Timestamp{start_us + 30 * kJoinSecond}),
                      Value(totals.first), Value(totals.second)});
    }
    Rows actual = session.memory_table(name)->rows();
    std::sort(actual.begin(), actual.end());
    BOOST_TEST(want.size() >= 5u);
    BOOST_CHECK_MESSAGE(actual == want, partitions << " partitions: " << actual.size()
                                                   << " windows, expected " << want.size());
    auto progress = query->last_progress();
    BOOST_REQUIRE(progress);
    BOOST_TEST(progress->state_operators.size() == 5u);  // the counts twice: the plan is a tree
    BOOST_REQUIRE(query->stop().is_ok());
  }
}
