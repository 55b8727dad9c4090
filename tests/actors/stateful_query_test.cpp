#define BOOST_TEST_MODULE stateful_query
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>
#include <sluice/testing.hpp>

#include <atomic>
#include <future>
#include <map>
#include <random>
#include <set>

#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace sluice::testing;
using namespace std::chrono_literals;
using sluice::testing::TemporaryDirectory;

namespace {

SchemaPtr events() {
  return Schema::make({{"k", Type::String}, {"v", Type::Int64}, {"ts", Type::Timestamp}}).value();
}

Value ts(int64_t seconds) { return Value(Timestamp{seconds * 1'000'000}); }

// Starts group_by(k).agg(count, sum) over `input` in update mode into memory table `name`,
// checkpointed in `checkpoint`.
StreamingQuery start_keyed_sums(MemoryStream& input, const std::string& checkpoint, const std::string& name) {
  auto query = input.to_df()
                   .group_by(col("k"))
                   .agg(count().alias("n"), sum(col("v")).alias("s"))
                   .write_stream()
                   .format("memory")
                   .query_name(name)
                   .output_mode(OutputMode::Update)
                   .option("checkpointLocation", checkpoint)
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  return *query;
}

// Returns `count` rows (k, v) with k below `keys`, adding each to the reference count and sum.
std::vector<std::vector<Value>> random_keyed_rows(std::mt19937_64& random, int count, int64_t keys,
                                                  std::map<int64_t, std::pair<int64_t, int64_t>>& expected) {
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < count; ++i) {
    const int64_t k = static_cast<int64_t>(random() % static_cast<uint64_t>(keys));
    const int64_t v = static_cast<int64_t>(random() % 100);
    rows.push_back({Value(k), Value(v)});
    expected[k].first += 1;
    expected[k].second += v;
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(complete_mode_emits_the_whole_result_every_epoch) {
  Session session;
  MemoryStream input(session, events());
  auto df = input.to_df().group_by(col("k")).agg(count().alias("n"), sum(col("v")).alias("total"));
  Status result = test_stream(session, df, OutputMode::Complete,
                              {add_data(input, {{"a", 1, ts(1)}, {"b", 2, ts(1)}, {"a", 3, ts(2)}}),
                               check_answer({{"a", 2, 4}, {"b", 1, 2}}),
                               add_data(input, {{"b", 5, ts(3)}, {"c", nullptr, ts(3)}}),
                               check_answer({{"a", 2, 4}, {"b", 2, 7}, {"c", 1, nullptr}})});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(update_mode_emits_only_changed_groups) {
  Session session;
  MemoryStream input(session, events());
  auto df = input.to_df().group_by(col("k")).agg(max(col("v")).alias("top"));
  Status result = test_stream(session, df, OutputMode::Update,
                              {add_data(input, {{"a", 1, ts(1)}, {"b", 2, ts(1)}}),
                               check_last_batch({{"a", 1}, {"b", 2}}),
                               add_data(input, {{"b", 7, ts(2)}}),
                               check_last_batch({{"b", 7}})});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(append_mode_emits_each_window_once_when_the_watermark_passes_it) {
  Session session;
  MemoryStream input(session, events());
  auto df = input.to_df()
                .with_watermark("ts", "10 seconds")
                .group_by(window(col("ts"), "10 seconds"), col("k"))
                .agg(count().alias("n"));
  const Value w0s = ts(0), w0e = ts(10), w1s = ts(10), w1e = ts(20);
  Status result = test_stream(
      session, df, OutputMode::Append,
      {add_data(input, {{"a", 1, ts(1)}, {"a", 1, ts(5)}, {"b", 1, ts(12)}}),
       // Max event time 12 s: the watermark becomes 2 s, no window is final yet.
       check_answer({}),
       // Max 25 s: the watermark becomes 15 s, and an epoch without new data emits [0, 10).
       add_data(input, {{"a", 1, ts(25)}}),
       check_answer({{w0s, w0e, "a", 2}}),
       add_data(input, {{"a", 1, ts(26)}, {"a", 1, ts(3)}}),  // ts 3 is behind the watermark
       check_answer({{w0s, w0e, "a", 2}}),
       assert_on_query([](StreamingQuery& q) {
         int64_t dropped = 0;
         for (const auto& p : q.recent_progress()) {
           if (!p.state_operators.empty()) dropped += p.state_operators[0].num_rows_dropped_by_watermark;
         }
         auto last = q.last_progress();
         return dropped == 1 && last && last->event_time.count("watermark") == 1;
       }, "the late row is counted and the watermark reported"),
       add_data(input, {{"a", 1, ts(40)}}),
       check_answer({{w0s, w0e, "a", 2}, {w1s, w1e, "b", 1}, {ts(20), ts(30), "a", 2}})});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(sliding_windows_count_each_row_in_every_window_it_falls_in) {
  Session session;
  MemoryStream input(session, events());
  auto df = input.to_df()
                .group_by(window(col("ts"), "10 seconds", "5 seconds"))
                .agg(count().alias("n"));
  Status result = test_stream(session, df, OutputMode::Complete,
                              {add_data(input, {{"a", 1, ts(7)}, {"a", 1, ts(12)}}),
                               check_answer({{ts(0), ts(10), 1}, {ts(5), ts(15), 2}, {ts(10), ts(20), 1}})});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(state_survives_a_restart_from_the_checkpoint) {
  Session session;
  MemoryStream input(session, events());
  auto df = input.to_df().group_by(col("k")).agg(count().alias("n"));
  Status result = test_stream(session, df, OutputMode::Complete,
                              {add_data(input, {{"a", 1, ts(1)}}),
                               check_answer({{"a", 1}}),
                               stop_stream(),
                               add_data(input, {{"a", 1, ts(2)}, {"b", 1, ts(2)}}),
                               start_stream(),
                               check_answer({{"a", 2}, {"b", 1}})});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(results_do_not_depend_on_shuffle_partitions) {
  std::mt19937_64 random(11);
  std::vector<std::vector<Value>> rows;
  std::map<std::string, std::pair<int64_t, int64_t>> expected;
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "k" + std::to_string(random() % 37);
    const int64_t value = static_cast<int64_t>(random() % 100);
    rows.push_back({key, value, ts(i)});
    expected[key].first += 1;
    expected[key].second += value;
  }
  std::vector<std::vector<Value>> answer;
  for (const auto& [key, agg] : expected) answer.push_back({key, agg.first, agg.second});
  for (int partitions : {1, 2, 7}) {
    BOOST_TEST_CONTEXT("shuffle_partitions " << partitions) {
      Session session;
      BOOST_REQUIRE(session.set_conf("shuffle_partitions", std::to_string(partitions)).is_ok());
      MemoryStream input(session, events());
      auto df = input.to_df().group_by(col("k")).agg(count().alias("n"), sum(col("v")).alias("s"));
      std::vector<StreamAction> actions;
      for (size_t start = 0; start < rows.size(); start += 300) {
        actions.push_back(add_data(input, {rows.begin() + static_cast<std::ptrdiff_t>(start),
                                           rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), start + 300))}));
        actions.push_back(process_all_available());
      }
      actions.push_back(check_answer(answer));
      Status result = test_stream(session, df, OutputMode::Complete, actions);
      BOOST_TEST(result.is_ok(), result.to_string());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_restart_with_other_shuffle_partitions_redistributes_the_state) {
  TemporaryDirectory dir;
  Session session;
  MemoryStream input(session, events());
  auto start = [&] {
    return input.to_df().group_by(col("k")).agg(count().alias("n"))
        .write_stream().format("memory").query_name("counts").output_mode(OutputMode::Complete)
        .option("checkpointLocation", dir.path()).start();
  };
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "3").is_ok());
  auto first = start();
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().to_string());
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < 50; ++i) rows.push_back({"k" + std::to_string(i % 10), i, ts(i)});
  BOOST_REQUIRE(input.add_data(rows).is_ok());
  BOOST_REQUIRE(first->process_all_available().is_ok());
  BOOST_REQUIRE(first->stop().is_ok());
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "5").is_ok());
  auto second = start();
  BOOST_REQUIRE_MESSAGE(second.ok(), second.status().to_string());
  BOOST_REQUIRE(input.add_data(rows).is_ok());
  BOOST_REQUIRE(second->process_all_available().is_ok());
  auto sink = session.memory_table("counts");
  auto epochs = sink->epochs();
  auto last = sink->epoch_rows(epochs.back());
  std::sort(last.begin(), last.end());
  BOOST_REQUIRE(last.size() == 10u);
  for (const auto& row : last) BOOST_TEST(row[1].as_int64() == 10);
  (void)second->stop();
}

BOOST_AUTO_TEST_CASE(a_changed_aggregation_is_refused_on_restart) {
  TemporaryDirectory dir;
  Session session;
  MemoryStream input(session, events());
  auto first = input.to_df().group_by(col("k")).agg(count().alias("n")).write_stream().format("noop")
                   .output_mode(OutputMode::Update).option("checkpointLocation", dir.path()).start();
  BOOST_REQUIRE(first.ok());
  (void)first->stop();
  auto second = input.to_df().group_by(col("k")).agg(sum(col("v")).alias("n")).write_stream().format("noop")
                    .output_mode(OutputMode::Update).option("checkpointLocation", dir.path()).start();
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.status().message().find("incompatible") != std::string::npos, second.status().message());
  BOOST_TEST(second.status().message().find("stateful operator") != std::string::npos, second.status().message());
}

BOOST_AUTO_TEST_CASE(unsupported_output_modes_are_refused_naming_the_rule) {
  Session session;
  MemoryStream input(session, events());
  auto counts = input.to_df().group_by(col("k")).agg(count());
  auto append = counts.write_stream().format("noop").output_mode(OutputMode::Append).start();
  BOOST_REQUIRE(!append.ok());
  BOOST_TEST(append.status().message().find("watermark") != std::string::npos, append.status().message());
  auto sorted = input.to_df().order_by({asc(col("k"))}).write_stream().format("noop").start();
  BOOST_REQUIRE(!sorted.ok());
  BOOST_TEST(sorted.status().message().find("rule") != std::string::npos);
  auto dedup_complete = input.to_df().drop_duplicates({"k"}).write_stream().format("noop")
                            .output_mode(OutputMode::Complete).start();
  BOOST_TEST(!dedup_complete.ok());
  auto within = input.to_df().drop_duplicates_within_watermark({"k"}).write_stream().format("noop").start();
  BOOST_REQUIRE(!within.ok());
  BOOST_TEST(within.status().message().find("with_watermark") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(complete_mode_sorts_and_limits_the_result) {
  Session session;
  MemoryStream input(session, events());
  auto df = input.to_df().group_by(col("k")).agg(count().alias("n")).order_by({desc(col("n"))}).limit(2);
  Status result = test_stream(session, df, OutputMode::Complete,
                              {add_data(input, {{"a", 1, ts(1)}, {"b", 1, ts(1)}, {"b", 1, ts(1)},
                                                {"c", 1, ts(1)}, {"c", 1, ts(1)}, {"c", 1, ts(1)}}),
                               check_answer({{"c", 3}, {"b", 2}}),
                               assert_on_query([](StreamingQuery& q) {
                                 return q.last_progress()->sink.num_output_rows == 2;
                               }, "two rows written")});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(drop_duplicates_keeps_the_first_row_of_each_key_across_epochs) {
  Session session;
  MemoryStream input(session, events());
  auto df = input.to_df().drop_duplicates({"k"});
  Status result = test_stream(session, df, OutputMode::Append,
                              {add_data(input, {{"a", 1, ts(1)}, {"a", 2, ts(2)}}),
                               check_answer({{"a", 1, ts(1)}}),
                               add_data(input, {{"a", 3, ts(3)}, {"b", 4, ts(4)}}),
                               check_answer({{"a", 1, ts(1)}, {"b", 4, ts(4)}})});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(aggregations_run_under_the_continuous_trigger) {
  Session session;
  MemoryStream input(session, events());
  auto df = input.to_df().group_by(col("k")).agg(count().alias("n"), sum(col("v")).alias("s"));
  Status result = test_stream(session, df, OutputMode::Complete,
                              {start_stream(Trigger::Continuous(10ms)),
                               add_data(input, {{"a", 1, ts(1)}, {"b", 2, ts(1)}}),
                               add_data(input, {{"a", 3, ts(2)}}),
                               check_answer({{"a", 2, 4}, {"b", 1, 2}}),
                               stop_stream(),
                               add_data(input, {{"b", 5, ts(3)}}),
                               start_stream(Trigger::Continuous(10ms)),
                               check_answer({{"a", 2, 4}, {"b", 2, 7}})});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(session_windows_close_after_the_gap_in_append_mode) {
  Session session;
  MemoryStream input(session, events());
  auto df = input.to_df()
                .with_watermark("ts", "5 seconds")
                .group_by(col("k"), session_window(col("ts"), "10 seconds"))
                .agg(count().alias("n"), sum(col("v")).alias("s"));
  Status result = test_stream(
      session, df, OutputMode::Append,
      {add_data(input, {{"a", 1, ts(0)}, {"a", 2, ts(4)}, {"b", 5, ts(3)}}),
       check_answer({}),
       // Event time 40 s: the watermark moves to 35 s, past both sessions' ends.
       add_data(input, {{"a", 7, ts(40)}}),
       check_answer({{"a", ts(0), ts(14), 2, 3}, {"b", ts(3), ts(13), 1, 5}})});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(drop_duplicates_within_watermark_forgets_keys_once_the_watermark_passes) {
  Session session;
  MemoryStream input(session, events());
  auto df = input.to_df().with_watermark("ts", "10 seconds").drop_duplicates_within_watermark({"k"});
  Status result = test_stream(session, df, OutputMode::Append,
                              {add_data(input, {{"a", 1, ts(1)}, {"a", 2, ts(2)}}),
                               check_answer({{"a", 1, ts(1)}}),
                               // The watermark passes 1 s + 10 s: key "a" expires.
                               add_data(input, {{"z", 3, ts(30)}}),
                               process_all_available(),
                               add_data(input, {{"a", 4, ts(31)}}),
                               check_answer({{"a", 1, ts(1)}, {"z", 3, ts(30)}, {"a", 4, ts(31)}})});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(the_watermark_is_the_minimum_over_inputs_unless_the_policy_says_max) {
  for (const std::string policy : {"min", "max"}) {
    BOOST_TEST_CONTEXT("multipleWatermarkPolicy " << policy) {
      Session session;
      BOOST_REQUIRE(session.set_conf("multipleWatermarkPolicy", policy).is_ok());
      MemoryStream fast(session, events());
      MemoryStream slow(session, events());
      auto df = fast.to_df().union_all(slow.to_df()).with_watermark("ts", "0 seconds")
                    .group_by(window(col("ts"), "10 seconds")).agg(count().alias("n"));
      // Both inputs hold their rows before the query starts, so that its first epoch reads
      // both: a trigger between two add_data calls would see only the fast input's time.
      BOOST_REQUIRE(fast.add_data({{"a", 1, ts(100)}}).is_ok());
      BOOST_REQUIRE(slow.add_data({{"a", 1, ts(5)}}).is_ok());
      auto query = df.write_stream().format("memory").query_name("wm_" + policy)
                       .output_mode(OutputMode::Append).start();
      BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
      BOOST_REQUIRE(query->process_all_available().is_ok());
      auto progress = query->last_progress();
      BOOST_REQUIRE(progress);
      const std::string expected = policy == "min" ? "1970-01-01T00:00:05.000Z" : "1970-01-01T00:01:40.000Z";
      BOOST_TEST(progress->event_time.count("watermark") == 1u);
      BOOST_TEST(progress->event_time["watermark"] == expected);
      (void)query->stop();
    }
  }
}

// The epoch that only moves the watermark (and closes the windows it passes) waits for the
// trigger; process_all_available called while it waits returns only after it, as it does when
// called before the data's epoch committed.
BOOST_AUTO_TEST_CASE(process_all_available_waits_for_the_epoch_the_watermark_still_owes) {
  Session session;
  MemoryStream input(session, events());
  struct DataCommitted final : StreamingQueryListener {
    std::promise<void> committed;
    std::atomic<bool> done{false};
    void on_progress(const StreamingQueryProgress& progress) override {
      if (progress.num_input_rows > 0 && !done.exchange(true)) committed.set_value();
    }
  };
  auto listener = std::make_shared<DataCommitted>();
  auto data_committed = listener->committed.get_future();
  session.streams().add_listener(listener);
  auto df = input.to_df().with_watermark("ts", "0 seconds")
                .group_by(window(col("ts"), "10 seconds")).agg(count().alias("n"));
  auto query = df.write_stream().format("memory").query_name("owed")
                   .output_mode(OutputMode::Append).trigger(Trigger::ProcessingTime(1s)).start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  // The row at 15 s moves the watermark past the window [0 s, 10 s) of the row at 1 s.
  BOOST_REQUIRE(input.add_data({{"a", 1, ts(1)}, {"a", 1, ts(15)}}).is_ok());
  BOOST_REQUIRE(data_committed.wait_for(60s) == std::future_status::ready);
  BOOST_REQUIRE(query->process_all_available().is_ok());
  const auto rows = session.memory_table("owed")->rows();
  BOOST_TEST_REQUIRE(rows.size() == 1u, "the window closed by the watermark is missing");
  BOOST_TEST(rows[0][0] == ts(0));
  BOOST_TEST(rows[0][2].as_int64() == 1);
  session.streams().remove_listener(listener);
  (void)query->stop();
}

BOOST_AUTO_TEST_CASE(an_idle_input_stops_holding_the_watermark_back_after_the_timeout) {
  Session session;
  auto clock = std::make_shared<ManualClock>(1'000'000'000'000);
  session.state()->set_clock(clock);
  BOOST_REQUIRE(session.set_conf("watermarkIdleTimeout", "30 seconds").is_ok());
  MemoryStream busy(session, events());
  MemoryStream idle(session, events());
  auto df = busy.to_df().union_all(idle.to_df()).with_watermark("ts", "0 seconds")
                .group_by(window(col("ts"), "10 seconds")).agg(count().alias("n"));
  auto query = df.write_stream().format("memory").query_name("idle_wm")
                   .output_mode(OutputMode::Append).start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(idle.add_data({{"a", 1, ts(5)}}).is_ok());
  BOOST_REQUIRE(busy.add_data({{"a", 1, ts(50)}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_TEST(query->last_progress()->event_time["watermark"] == "1970-01-01T00:00:05.000Z");
  // The idle input sends nothing for a minute; the busy one goes on.
  clock->advance_micros(60'000'000);
  BOOST_REQUIRE(busy.add_data({{"a", 1, ts(60)}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_TEST(query->last_progress()->event_time["watermark"] == "1970-01-01T00:01:00.000Z");
  (void)query->stop();
}

// A state far larger than its cache (session option stateCacheSize) gives the same results,
// across epochs and a restart that reloads only part of the state into memory.
BOOST_AUTO_TEST_CASE(a_state_cache_far_smaller_than_the_state_gives_the_same_results) {
  auto run = [](const std::string& cache) {
    Session session;
    if (!cache.empty()) BOOST_REQUIRE(session.set_conf("stateCacheSize", cache).is_ok());
    BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
    TemporaryDirectory checkpoint;
    auto schema = Schema::make({{"k", Type::Int64}, {"v", Type::Int64}}).value();
    MemoryStream input(session, schema);
    std::map<int64_t, std::pair<int64_t, int64_t>> expected;  // key -> count, sum
    std::mt19937_64 random(7);
    auto start = [&] { return start_keyed_sums(input, checkpoint.path(), "groups"); };
    auto feed = [&](StreamingQuery& query) {
      BOOST_REQUIRE(input.add_data(random_keyed_rows(random, 4000, 20000, expected)).is_ok());
      BOOST_REQUIRE(query.process_all_available().is_ok());
    };
    auto first = start();
    for (int epoch = 0; epoch < 3; ++epoch) feed(first);
    BOOST_REQUIRE(first.stop().is_ok());
    auto second = start();
    for (int epoch = 0; epoch < 3; ++epoch) feed(second);
    BOOST_REQUIRE(second.stop().is_ok());
    // Update mode: the last row of each key is its final value.
    std::map<int64_t, std::pair<int64_t, int64_t>> latest;
    for (const auto& row : session.memory_table("groups")->rows()) {
      latest[row[0].as_int64()] = {row[1].as_int64(), row[2].as_int64()};
    }
    BOOST_TEST(latest.size() == expected.size());
    BOOST_TEST((latest == expected));
    return latest;
  };
  BOOST_TEST((run("8k") == run("")));
  Session session;
  Status bad = session.set_conf("stateCacheSize", "lots");
  BOOST_TEST(bad.message().find("'lots' is not a size (write 65536, 64k, 64m or 1g)") != std::string::npos);
}

// Many epochs (so compaction rounds merge the delta records into the base while they run), a
// tiny cache, and restarts at random epochs (each restart starts lazily, reading groups back
// through the cache): the last update of every key equals a reference count and sum.
BOOST_AUTO_TEST_CASE(restarts_at_random_epochs_across_compactions_with_a_tiny_cache_keep_every_count) {
  const char* fixed = std::getenv("SLUICE_TEST_SEED");
  const uint32_t seed = fixed ? static_cast<uint32_t>(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed << " (rerun with SLUICE_TEST_SEED=" << seed << ")");
  std::mt19937_64 random(seed);
  Session session;
  BOOST_REQUIRE(session.set_conf("stateCacheSize", "4k").is_ok());
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  TemporaryDirectory checkpoint;
  auto schema = Schema::make({{"k", Type::Int64}, {"v", Type::Int64}}).value();
  MemoryStream input(session, schema);
  auto start = [&] { return start_keyed_sums(input, checkpoint.path(), "restarted"); };
  std::map<int64_t, std::pair<int64_t, int64_t>> expected;  // key -> count, sum
  auto query = start();
  int restarts = 0;
  for (int epoch = 0; epoch < 40; ++epoch) {
    const int num_rows = 1 + static_cast<int>(random() % 300);
    BOOST_REQUIRE(input.add_data(random_keyed_rows(random, num_rows, 2000, expected)).is_ok());
    BOOST_REQUIRE(query.process_all_available().is_ok());
    if (random() % 5 == 0) {
      BOOST_REQUIRE(query.stop().is_ok());
      query = start();
      ++restarts;
    }
  }
  BOOST_REQUIRE(query.stop().is_ok());
  std::map<int64_t, std::pair<int64_t, int64_t>> latest;
  for (const auto& row : session.memory_table("restarted")->rows()) {
    latest[row[0].as_int64()] = {row[1].as_int64(), row[2].as_int64()};
  }
  BOOST_TEST_MESSAGE(restarts << " restarts");
  BOOST_TEST(latest.size() == expected.size());
  BOOST_TEST((latest == expected));
}

// Partial aggregation before the shuffle (session option partialAggregation) changes how rows
// travel, never the result: a windowed aggregation with every kind of aggregate state, over a
// random stream cut into random epochs, gives the same final value of every group with
// partials always, never and adaptively, for shuffle_partitions 1, 2 and 7, equal to a
// reference computed row by row (approx_count_distinct equal across the runs).
BOOST_AUTO_TEST_CASE(partial_aggregation_on_and_off_give_the_same_results_over_random_epochs) {
  const char* fixed = std::getenv("SLUICE_TEST_SEED");
  const uint32_t seed = fixed ? static_cast<uint32_t>(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed << " (rerun with SLUICE_TEST_SEED=" << seed << ")");
  std::mt19937_64 random(seed);
  // Event times rise 1 s per row with up to 20 s of disorder, under a 30 s watermark delay:
  // no row is late, so every row counts.
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < 1500; ++i) {
    const int64_t t = std::max<int64_t>(0, i - static_cast<int64_t>(random() % 20));
    Value v = random() % 7 == 0 ? Value() : Value(static_cast<int64_t>(random() % 40));
    rows.push_back({"k" + std::to_string(random() % 9), v, ts(t)});
  }
  std::vector<size_t> cuts;  // epoch boundaries, shared by every run
  for (size_t at = 0; at < rows.size();) {
    at = std::min(rows.size(), at + 1 + random() % 250);
    cuts.push_back(at);
  }
  // Reference: (window start, k) -> count, sum, min, max, first, last, distinct values.
  struct Group {
    int64_t n = 0, sum = 0, values = 0;
    Value min, max, first, last;
    bool seen = false;
    std::set<int64_t> distinct;
  };
  std::map<std::pair<int64_t, std::string>, Group> reference;
  for (const auto& row : rows) {
    const int64_t t = row[2].as_timestamp().micros;
    for (int64_t start = (t / 5'000'000) * 5'000'000; start > t - 10'000'000; start -= 5'000'000) {
      Group& g = reference[{start, row[0].as_string()}];
      ++g.n;
      if (!g.seen) g.first = row[1];
      g.seen = true;
      g.last = row[1];
      if (row[1].is_null()) continue;
      const int64_t v = row[1].as_int64();
      g.sum += v;
      ++g.values;
      g.distinct.insert(v);
      if (g.min.is_null() || v < g.min.as_int64()) g.min = row[1];
      if (g.max.is_null() || v > g.max.as_int64()) g.max = row[1];
    }
  }
  using Groups = std::map<std::pair<int64_t, std::string>, std::vector<Value>>;
  auto run = [&](const std::string& mode, int partitions) {
    Session session;
    BOOST_REQUIRE(session.set_conf("partialAggregation", mode).is_ok());
    BOOST_REQUIRE(session.set_conf("shuffle_partitions", std::to_string(partitions)).is_ok());
    TemporaryDirectory checkpoint;
    MemoryStream input(session, events());
    auto query = input.to_df()
                     .with_watermark("ts", "30 seconds")
                     .group_by(window(col("ts"), "10 seconds", "5 seconds"), col("k"))
                     .agg(count().alias("n"), sum(col("v")).alias("s"), min(col("v")).alias("lo"),
                          max(col("v")).alias("hi"), avg(col("v")).alias("mean"), first(col("v")).alias("f"),
                          last(col("v")).alias("l"), count_distinct(col("v")).alias("d"),
                          approx_count_distinct(col("v")).alias("ad"))
                     .write_stream()
                     .format("memory")
                     .query_name("partials")
                     .output_mode(OutputMode::Update)
                     .option("checkpointLocation", checkpoint.path())
                     .start();
    BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
    size_t begin = 0;
    for (size_t end : cuts) {
      BOOST_REQUIRE(input.add_data({rows.begin() + static_cast<std::ptrdiff_t>(begin),
                                    rows.begin() + static_cast<std::ptrdiff_t>(end)}).is_ok());
      BOOST_REQUIRE(query->process_all_available().is_ok());
      begin = end;
    }
    BOOST_REQUIRE(query->stop().is_ok());
    Groups latest;  // update mode: a group's last row holds its final values
    for (const auto& row : session.memory_table("partials")->rows()) {
      latest[{row[0].as_timestamp().micros, row[2].as_string()}] = {row.begin() + 3, row.end()};
    }
    return latest;
  };
  const Groups expected = run("off", 1);
  BOOST_REQUIRE(expected.size() == reference.size());
  for (const auto& [key, values] : expected) {
    BOOST_TEST_CONTEXT("window " << key.first << " key " << key.second) {
      const Group& g = reference.at(key);
      BOOST_TEST(values[0] == Value(g.n));
      BOOST_TEST(values[1] == (g.values ? Value(g.sum) : Value()));
      BOOST_TEST(values[2] == g.min);
      BOOST_TEST(values[3] == g.max);
      BOOST_TEST(values[5] == g.first);
      BOOST_TEST(values[6] == g.last);
      BOOST_TEST(values[7] == Value(static_cast<int64_t>(g.distinct.size())));
    }
  }
  for (const std::string mode : {"always", "auto", "off"}) {
    for (int partitions : {1, 2, 7}) {
      if (mode == "off" && partitions == 1) continue;
      BOOST_TEST_CONTEXT("partialAggregation " << mode << ", shuffle_partitions " << partitions) {
        BOOST_TEST((run(mode, partitions) == expected));
      }
    }
  }
  Session session;
  Status bad = session.set_conf("partialAggregation", "maybe");
  BOOST_TEST(bad.message().find("partialAggregation must be auto, always or off, got 'maybe'") != std::string::npos);
}
