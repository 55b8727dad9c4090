#define BOOST_TEST_MODULE stream_join_query
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>
#include <sluice/testing.hpp>

#include <algorithm>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "tests/support/join_reference.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using sluice::testing::join_left_schema;
using sluice::testing::join_range_condition;
using sluice::testing::join_right_schema;
using sluice::testing::add_in_arrival_order;
using sluice::testing::JoinRow;
using sluice::testing::JoinRows;
using sluice::testing::kJoinSecond;
using sluice::testing::random_join_events;
using sluice::testing::reference_join;
using sluice::testing::TemporaryDirectory;

namespace {

using Row = JoinRow;
using Rows = JoinRows;

constexpr int64_t kSecond = kJoinSecond;

SchemaPtr left_schema() { return join_left_schema(); }
SchemaPtr right_schema() { return join_right_schema(); }

DataFrame joined(MemoryStream& left, MemoryStream& right, const std::string& how) {
  return left.to_df()
      .with_watermark("lts", "5 seconds")
      .join(right.to_df().with_watermark("rts", "5 seconds"), {"k"}, how, join_range_condition());
}

uint64_t test_seed() {
  const char* forced = std::getenv("SLUICE_TEST_SEED");
  const uint64_t seed = forced ? std::strtoull(forced, nullptr, 10) : std::random_device{}();
  std::cout << boost::unit_test::framework::current_test_case().p_name << ": seed " << seed
            << " (set SLUICE_TEST_SEED to replay)\n";
  return seed;
}

Result<StreamingQuery> start(const DataFrame& df, const std::string& name, const std::string& checkpoint) {
  return df.write_stream().format("memory").query_name(name).output_mode(OutputMode::Append)
      .option("checkpointLocation", checkpoint).start();
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_join_kind_through_the_runtime_equals_a_batch_join_across_a_restart) {
  std::mt19937_64 random(test_seed());
  for (const std::string how : {"inner", "left_outer", "right_outer", "full_outer", "left_semi"}) {
    for (int partitions : {1, 3}) {
      Session session;
      BOOST_REQUIRE(session.set_conf("shuffle_partitions", std::to_string(partitions)).is_ok());
      MemoryStream left(session, left_schema());
      MemoryStream right(session, right_schema());
      TemporaryDirectory checkpoint;
      const std::string name = "joined_" + how + std::to_string(partitions);
      const auto df = joined(left, right, how);
      auto query = start(df, name, checkpoint.path());
      BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
      const auto events = random_join_events(random, 80, 60, 5, 0, 5 * kSecond);
      std::uniform_int_distribution<size_t> cut(1, 30);
      size_t next = 0;
      bool restarted = false;
      while (next < events.size()) {
        const size_t end = std::min(events.size(), next + cut(random));
        BOOST_REQUIRE(add_in_arrival_order(left, right, events, next, end).is_ok());
        Status processed = query->process_all_available();
        BOOST_REQUIRE_MESSAGE(processed.is_ok(), processed.to_string());
        next = end;
        if (!restarted && next > events.size() / 2) {
          restarted = true;
          BOOST_REQUIRE(query->stop().is_ok());
          query = start(df, name, checkpoint.path());
          BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
        }
      }
      // Rows far ahead on both sides (keys that never match) move the watermark past everything.
      BOOST_REQUIRE(left.add_data({{Value(int64_t{1000}), Value(Timestamp{1000 * kSecond}), Value("flush")}}).is_ok());
      BOOST_REQUIRE(right.add_data({{Value(int64_t{1001}), Value(Timestamp{1000 * kSecond}), Value(int64_t{-1})}}).is_ok());
      BOOST_REQUIRE(query->process_all_available().is_ok());
      Rows actual = session.memory_table(name)->rows();
      std::sort(actual.begin(), actual.end());
      const Rows expected = reference_join(parse_join_type(how).value(), events);
      BOOST_CHECK_MESSAGE(actual == expected, how << " with " << partitions << " partitions: " << actual.size()
                                                  << " rows, expected " << expected.size());
      auto progress = query->last_progress();
      BOOST_REQUIRE(progress && progress->state_operators.size() == 1u);
      BOOST_CHECK_EQUAL(progress->state_operators[0].custom_metrics.count("leftRowsTotal"), 1u);
      BOOST_REQUIRE(query->stop().is_ok());
    }
  }
}

BOOST_AUTO_TEST_CASE(outer_joins_without_a_time_bound_are_refused_naming_the_rule) {
  Session session;
  MemoryStream left(session, left_schema());
  MemoryStream right(session, right_schema());
  auto df = left.to_df().join(right.to_df(), {"k"}, "left_outer");
  auto query = df.write_stream().format("memory").query_name("refused").start();
  BOOST_REQUIRE(!query.ok());
  BOOST_CHECK_NE(query.status().to_string().find("rule: an outer join"), std::string::npos);
  auto update = joined(left, right, "inner").write_stream().format("memory").query_name("update")
                    .output_mode(OutputMode::Update).start();
  BOOST_REQUIRE(!update.ok());
  BOOST_CHECK_NE(update.status().to_string().find("append mode only"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(inner_joins_without_a_time_bound_run_and_warn) {
  Session session;
  MemoryStream left(session, left_schema());
  MemoryStream right(session, right_schema());
  auto df = left.to_df().join(right.to_df(), {"k"});
  TemporaryDirectory checkpoint;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  auto query = start(df, "unbounded", checkpoint.path());
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  const auto warnings = query->warnings();
  BOOST_CHECK(std::any_of(warnings.begin(), warnings.end(),
                          [](const std::string& w) { return w.find("in state forever") != std::string::npos; }));
  BOOST_REQUIRE(left.add_data({{Value(int64_t{1}), Value(Timestamp{0}), Value("a")}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(right.add_data({{Value(int64_t{1}), Value(Timestamp{99 * kSecond}), Value(int64_t{5})}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  const Rows rows = session.memory_table("unbounded")->rows();
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_CHECK(rows[0] == (Row{Value(int64_t{1}), Value(Timestamp{0}), Value("a"), Value(Timestamp{99 * kSecond}), Value(int64_t{5})}));
  BOOST_REQUIRE(query->stop().is_ok());
  // Both buffered rows are in the committed state, one per side, with their key decoded.
  auto state = inspect_state(checkpoint.path(), {.num_partitions = 2});
  BOOST_REQUIRE_MESSAGE(state.ok(), state.status().to_string());
  const Rows entries = (*state)->to_rows();
  BOOST_REQUIRE_EQUAL(entries.size(), 2u);
  BOOST_CHECK_EQUAL(entries[0][0].as_string(), "stream-stream inner join (left)");
  BOOST_CHECK_EQUAL(entries[1][0].as_string(), "stream-stream inner join (right)");
  BOOST_CHECK((*state)->schema()->field(2).name == "k");
  BOOST_CHECK(entries[0][2] == Value(int64_t{1}));
}

BOOST_AUTO_TEST_CASE(a_join_on_equal_windows_feeds_an_aggregation_in_append_mode) {
  std::mt19937_64 random(test_seed());
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  auto clicks_schema = Schema::make({{"k", Type::Int64}, {"w", Type::Timestamp}, {"page", Type::String}}).value();
  auto views_schema = Schema::make({{"k", Type::Int64}, {"w", Type::Timestamp}, {"ms", Type::Int64}}).value();
  MemoryStream clicks(session, clicks_schema);
  MemoryStream views(session, views_schema);
  // Both sides carry their window start in w; joining on it bounds the state by the watermark,
  // and the counts per 10 s of w come out once the watermark passes.
  auto df = clicks.to_df()
                .with_watermark("w", "5 seconds")
                .join(views.to_df().with_watermark("w", "5 seconds"), {"k", "w"})
                .group_by(window(col("w"), "10 seconds"))
                .agg(count().alias("pairs"));
  TemporaryDirectory checkpoint;
  auto query = start(df, "chained", checkpoint.path());
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_CHECK(query->warnings().empty());
  std::map<int64_t, int64_t> expected;  // window start -> pairs
  std::map<std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>> seen;  // (k, w) -> rows per side
  std::uniform_int_distribution<int64_t> key(0, 3);
  std::uniform_int_distribution<int64_t> slot(0, 2);
  for (int64_t step = 0; step < 12; ++step) {
    Rows rows[2];
    for (int side = 0; side < 2; ++side) {
      for (int i = 0; i < 6; ++i) {
        // Window starts every 2 s, arriving up to 4 s out of order.
        const int64_t w = std::max<int64_t>(0, step * 2 - slot(random) * 2) * kSecond;
        const int64_t k = key(random);
        auto& counts = seen[{k, w}];
        expected[w - w % (10 * kSecond)] += side == 0 ? counts.second : counts.first;
        (side == 0 ? counts.first : counts.second) += 1;
        rows[side].push_back(side == 0 ? Row{Value(k), Value(Timestamp{w}), Value("p")}
                                       : Row{Value(k), Value(Timestamp{w}), Value(int64_t{i})});
      }
    }
    BOOST_REQUIRE(clicks.add_data(rows[0]).is_ok());
    BOOST_REQUIRE(views.add_data(rows[1]).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  BOOST_REQUIRE(clicks.add_data({{Value(int64_t{100}), Value(Timestamp{1000 * kSecond}), Value("flush")}}).is_ok());
  BOOST_REQUIRE(views.add_data({{Value(int64_t{101}), Value(Timestamp{1000 * kSecond}), Value(int64_t{0})}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  Rows want;
  for (const auto& [start_us, pairs] : expected) {
    if (pairs > 0) want.push_back({Value(Timestamp{start_us}), Value(Timestamp{start_us + 10 * kSecond}), Value(pairs)});
  }
  Rows actual = session.memory_table("chained")->rows();
  std::sort(actual.begin(), actual.end());
  BOOST_CHECK_MESSAGE(actual == want, actual.size() << " windows, expected " << want.size());
  auto progress = query->last_progress();
  BOOST_REQUIRE(progress);
  BOOST_CHECK_EQUAL(progress->state_operators.size(), 2u);
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(an_aggregation_feeds_another_aggregation_in_append_mode) {
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "3").is_ok());
  auto schema = Schema::make({{"k", Type::Int64}, {"ts", Type::Timestamp}}).value();
  MemoryStream events(session, schema);
  auto df = events.to_df()
                .with_watermark("ts", "2 seconds")
                .group_by(window(col("ts"), "10 seconds"), col("k"))
                .agg(count().alias("n"))
                .group_by(window(col("window.end"), "30 seconds"))
                .agg(sum(col("n")).alias("total"), count().alias("groups"));
  TemporaryDirectory checkpoint;
  auto query = start(df, "twice", checkpoint.path());
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  std::mt19937_64 random(test_seed());
  std::map<int64_t, std::set<std::pair<int64_t, int64_t>>> groups;  // 30 s window -> (10 s window, k)
  std::map<int64_t, int64_t> totals;
  for (int64_t second = 0; second < 95; second += 5) {
    Rows rows;
    for (int i = 0; i < 4; ++i) {
      const int64_t ts = second + static_cast<int64_t>(random() % 2);
      const int64_t k = static_cast<int64_t>(random() % 3);
      rows.push_back({Value(k), Value(Timestamp{ts * kSecond})});
      const int64_t end = (ts - ts % 10 + 10) * kSecond;
      const int64_t outer = end - end % (30 * kSecond);
      groups[outer].insert({end, k});
      totals[outer] += 1;
    }
    BOOST_REQUIRE(events.add_data(rows).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  BOOST_REQUIRE(events.add_data({{Value(int64_t{9}), Value(Timestamp{1000 * kSecond})}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  Rows want;
  for (const auto& [start_us, total] : totals) {
    want.push_back({Value(Timestamp{start_us}), Value(Timestamp{start_us + 30 * kSecond}), Value(total),
                    Value(static_cast<int64_t>(groups[start_us].size()))});
  }
  Rows actual = session.memory_table("twice")->rows();
  std::sort(actual.begin(), actual.end());
  BOOST_CHECK_MESSAGE(actual == want, actual.size() << " windows, expected " << want.size());
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(a_time_range_join_under_an_aggregation_is_refused_naming_the_rule) {
  Session session;
  MemoryStream left(session, left_schema());
  MemoryStream right(session, right_schema());
  auto df = joined(left, right, "inner").group_by(window(col("lts"), "10 seconds")).agg(count().alias("n"));
  auto query = df.write_stream().format("memory").query_name("range_then_agg").start();
  BOOST_REQUIRE(!query.ok());
  BOOST_CHECK_NE(query.status().to_string().find("rule: a time-range join"), std::string::npos);
}
