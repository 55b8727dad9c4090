#define BOOST_TEST_MODULE stateful_chain_query
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <iostream>
#include <map>
#include <mutex>
#include <random>

#include "tests/operators/stateful_fixture.hpp"
#include "tests/support/join_reference.hpp"

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
    JoinRows rows[2];
    for (size_t i = next; i < std::min(events.size(), next + 20); ++i) rows[events[i].side].push_back(events[i].row);
    if (!rows[0].empty()) BOOST_REQUIRE(left.add_data(rows[0]).is_ok());
    if (!rows[1].empty()) BOOST_REQUIRE(right.add_data(rows[1]).is_ok());
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
