#define BOOST_TEST_MODULE groups_with_state_query
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>
#include <sluice/testing.hpp>

#include <iostream>
#include <map>
#include <random>
#include <set>

#include "actors/query_runtime.hpp"
#include "tests/support/group_state_functions.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace sluice::testing;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kSecond = 1'000'000;

uint64_t seed_for(const char* test) {
  const char* forced = std::getenv("SLUICE_TEST_SEED");
  const uint64_t seed = forced ? std::strtoull(forced, nullptr, 10) : std::random_device{}();
  std::cout << test << ": seed " << seed << " (set SLUICE_TEST_SEED to replay)\n";
  return seed;
}

DataFrame sessionize(MemoryStream& events, int64_t gap) {
  return events.to_df()
      .with_watermark("ts", "5 seconds")
      .group_by_key({"user"})
      .flat_map_groups_with_state<SessionTotals>(session_function(gap), sessions_schema(),
                                                 OutputMode::Append, GroupStateTimeout::event_time);
}

// Random bursts of events (each within 5 s, bursts 20..80 s apart, split over two epochs so
// rows arrive out of order within the watermark delay).
std::vector<Rows> random_bursts(std::mt19937_64& random, int bursts) {
  const char* users[] = {"ann", "bob", "cy", "dee", "eve", "fay"};
  std::vector<Rows> epochs;
  int64_t base = 0;
  for (int b = 0; b < bursts; ++b) {
    base += (20 + static_cast<int64_t>(random() % 61)) * kSecond;
    Rows burst;
    const int n = 1 + static_cast<int>(random() % 12);
    for (int i = 0; i < n; ++i) {
      burst.push_back({users[random() % 6],
                       Timestamp{base + static_cast<int64_t>(random() % (5 * kSecond))},
                       static_cast<int64_t>(random() % 100)});
    }
    const size_t half = burst.size() / 2;
    epochs.emplace_back(burst.begin(), burst.begin() + static_cast<std::ptrdiff_t>(half));
    epochs.emplace_back(burst.begin() + static_cast<std::ptrdiff_t>(half), burst.end());
  }
  return epochs;
}

// Returns the actions that add each epoch's rows (appending them to `all`) and process them,
// with a restart after the middle epoch when `restart`.
std::vector<StreamAction> epoch_actions(MemoryStream& events, const std::vector<Rows>& epochs, Rows& all,
                                        bool restart) {
  std::vector<StreamAction> actions;
  for (size_t e = 0; e < epochs.size(); ++e) {
    if (epochs[e].empty()) continue;
    all.insert(all.end(), epochs[e].begin(), epochs[e].end());
    actions.push_back(add_data(events, epochs[e]));
    actions.push_back(process_all_available());
    if (restart && e == epochs.size() / 2) {
      actions.push_back(stop_stream());
      actions.push_back(start_stream());
    }
  }
  return actions;
}

}  // namespace

BOOST_AUTO_TEST_CASE(event_time_sessions_equal_a_reference_across_a_restart) {
  std::mt19937_64 random(seed_for("event_time_sessions_equal_a_reference_across_a_restart"));
  const int64_t gap = 10 * kSecond;
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "3").is_ok());
  MemoryStream events(session, session_events_schema());
  const std::vector<Rows> epochs = random_bursts(random, 12);
  Rows all;
  std::vector<StreamAction> actions = epoch_actions(events, epochs, all, true);
  // A late sentinel event moves the watermark past every session; its own stays open.
  actions.push_back(add_data(events, {{"~end", Timestamp{1'000'000 * kSecond}, 0}}));
  actions.push_back(check_answer(reference_sessions(all, gap)));
  actions.push_back(assert_on_query(
      [](StreamingQuery& q) {
        auto last = q.last_progress();
        return last && last->state_operators.size() == 1 &&
               last->state_operators[0].num_rows_total == 1;
      },
      "only the sentinel's session is left in the state"));
  Status result =
      test_stream(session, sessionize(events, gap), OutputMode::Append, std::move(actions));
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(processing_time_timeouts_follow_the_manual_clock_and_equal_a_reference) {
  std::mt19937_64 random(
      seed_for("processing_time_timeouts_follow_the_manual_clock_and_equal_a_reference"));
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  auto clock = std::make_shared<ManualClock>(1'000 * kSecond);
  MemoryStream events(session, session_events_schema());
  // Counts each user's events; a user silent for 10 s of processing time is expired.
  auto counts = events.to_df().group_by_key({"user"}).map_groups_with_state<int64_t>(
      expiring_count_function(), expiring_counts_schema(), OutputMode::Update,
      GroupStateTimeout::processing_time);

  // The reference: the same rules, step by step, in plain maps.
  const char* users[] = {"ann", "bob", "cy", "dee"};
  int64_t now = 1'000 * kSecond;
  std::map<std::string, std::pair<int64_t, int64_t>> open;  // user -> count, deadline
  Rows expected;
  std::vector<StreamAction> actions{start_stream(Trigger::ProcessingTime(0ms), clock)};
  auto expire = [&](const std::set<std::string>& called) {
    for (auto it = open.begin(); it != open.end();) {
      if (!called.count(it->first) && it->second.second < now) {
        expected.push_back({it->first, it->second.first, true});
        it = open.erase(it);
      } else {
        ++it;
      }
    }
  };
  for (int step = 0; step < 40; ++step) {
    if (step == 20) {
      actions.push_back(stop_stream());
      actions.push_back(start_stream(Trigger::ProcessingTime(0ms), clock));
    }
    if (random() % 2 == 0) {
      Rows rows;
      std::map<std::string, int64_t> added;
      const int n = 1 + static_cast<int>(random() % 4);
      for (int i = 0; i < n; ++i) {
        const std::string user = users[random() % 4];
        rows.push_back({user, Timestamp{now}, 1});
        ++added[user];
      }
      std::set<std::string> called;
      for (const auto& [user, count] : added) {
        auto& entry = open[user];
        entry = {entry.first + count, now + 10 * kSecond};
        expected.push_back({user, entry.first, false});
        called.insert(user);
      }
      expire(called);
      actions.push_back(add_data(events, rows));
      actions.push_back(process_all_available());
    } else {
      const int64_t seconds = 1 + static_cast<int64_t>(random() % 8);
      now += seconds * kSecond;
      expire({});
      actions.push_back(advance_manual_clock(seconds * 1000));
    }
  }
  actions.push_back(check_answer(expected));
  Status result = test_stream(session, counts, OutputMode::Update, std::move(actions));
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(output_modes_spark_forbids_are_refused_naming_the_rule) {
  Session session;
  MemoryStream events(session, session_events_schema());
  auto keyed = events.to_df().group_by_key({"user"});
  auto count = [](const std::vector<Value>& key, const RecordBatchPtr&,
                  GroupState<int64_t>&) -> OutputRow { return {key[0]}; };
  auto one_column = Schema::make({{"user", Type::String}}).value();
  auto start = [](const DataFrame& df, OutputMode mode) {
    return df.write_stream()
        .format("memory")
        .query_name("refused")
        .output_mode(mode)
        .start()
        .status();
  };
  Status map_append =
      start(keyed.map_groups_with_state<int64_t>(count, one_column), OutputMode::Append);
  BOOST_TEST(
      map_append.message().find("mapGroupsWithState runs only in Update mode") != std::string::npos,
      map_append.to_string());
  auto flat = keyed.flat_map_groups_with_state<int64_t>(
      [](const std::vector<Value>&, const RecordBatchPtr&, GroupState<int64_t>&) {
        return std::vector<OutputRow>{};
      },
      one_column, OutputMode::Append);
  Status flat_update = start(flat, OutputMode::Update);
  BOOST_TEST(flat_update.message().find("output mode must be the query's") != std::string::npos,
             flat_update.to_string());
  Status complete = start(flat, OutputMode::Complete);
  BOOST_TEST(!complete.is_ok());
  auto event_time = keyed.flat_map_groups_with_state<int64_t>(
      [](const std::vector<Value>&, const RecordBatchPtr&, GroupState<int64_t>&) {
        return std::vector<OutputRow>{};
      },
      one_column, OutputMode::Append, GroupStateTimeout::event_time);
  Status no_watermark = start(event_time, OutputMode::Append);
  BOOST_TEST(no_watermark.message().find("EventTimeTimeout needs a watermark") != std::string::npos,
             no_watermark.to_string());
  BOOST_TEST(events.to_df()
                 .group_by_key({"nope"})
                 .map_groups_with_state<int64_t>(count, one_column)
                 .status()
                 .message()
                 .find("nope") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_wrong_output_type_fails_the_query_naming_the_column_and_key) {
  Session session;
  MemoryStream events(session, session_events_schema());
  auto df = events.to_df().group_by_key({"user"}).map_groups_with_state<int64_t>(
      [](const std::vector<Value>& key, const RecordBatchPtr&, GroupState<int64_t>&) -> OutputRow {
        return {key[0], "many"};
      },
      Schema::make({{"user", Type::String}, {"n", Type::Int64}}).value());
  Status result = test_stream(session, df, OutputMode::Update,
                              {add_data(events, {{"ann", Timestamp{0}, 1}}),
                               expect_failure(StatusCode::type_error, "column 'n'")});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(state_is_inspected_and_reported_in_progress) {
  TemporaryDirectory checkpoint;
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  MemoryStream events(session, session_events_schema());
  auto query = sessionize(events, 10 * kSecond)
                   .write_stream()
                   .format("memory")
                   .query_name("sessions")
                   .output_mode(OutputMode::Append)
                   .option("checkpointLocation", checkpoint.path())
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(
      events.add_data({{"ann", Timestamp{0}, 1}, {"bob", Timestamp{kSecond}, 2}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  auto progress = query->last_progress();
  BOOST_REQUIRE(progress.has_value());
  BOOST_REQUIRE(progress->state_operators.size() == 1u);
  BOOST_TEST(progress->state_operators[0].operator_name == "flat_map_groups_with_state");
  BOOST_TEST(progress->state_operators[0].num_rows_total == 2);
  BOOST_REQUIRE(query->stop().is_ok());
  auto state = inspect_state(checkpoint.path(), {.num_partitions = 2});
  BOOST_REQUIRE_MESSAGE(state.ok(), state.status().to_string());
  BOOST_TEST((*state)->num_rows() == 2);
  BOOST_REQUIRE((*state)->schema()->find("user") >= 0);
  std::set<std::string> users;
  for (const auto& row : (*state)->to_rows())
    users.insert(row[static_cast<size_t>((*state)->schema()->find("user"))].to_string());
  BOOST_TEST((users == std::set<std::string>{"ann", "bob"}));
}

// A replayed epoch must expire the same processing-time timeouts as the first run, so the
// write-ahead entry carries the epoch's clock reading; entries written before it still read.
BOOST_AUTO_TEST_CASE(the_offsets_log_keeps_each_epochs_processing_time) {
  actors::OffsetsEntry entry{{{0, 5}}, {{3, 9}}, {"meta"}, 42, 1'234'567};
  auto decoded = actors::decode_offsets_entry(actors::encode_offsets_entry(entry));
  BOOST_REQUIRE_MESSAGE(decoded.ok(), decoded.status().to_string());
  BOOST_TEST(decoded->processing_time.value_or(-1) == 1'234'567);
  BOOST_TEST(decoded->watermark.value_or(-1) == 42);
  BOOST_TEST((decoded->end == entry.end));
  entry.processing_time.reset();
  const std::string older = actors::encode_offsets_entry(entry);
  BOOST_TEST(older.find("processing_time") == std::string::npos);
  auto read = actors::decode_offsets_entry(older);
  BOOST_REQUIRE(read.ok());
  BOOST_TEST(!read->processing_time.has_value());
  BOOST_TEST(!actors::decode_offsets_entry("v2\nwatermark none\nprocessing_time x\n").ok());
}

namespace {

// Sessions as (user, ts, count, sum) with ts = the session's close time, last event + gap: not
// below the watermark of the epoch before when it comes out (a timeout fires only once the
// watermark passes it), so ts carries event time on to the next operator.
DataFrame closed_sessions(MemoryStream& events, int64_t gap) {
  auto schema = Schema::make({{"user", Type::String}, {"ts", Type::Timestamp}, {"count", Type::Int64},
                              {"sum", Type::Int64}})
                    .value();
  auto sessions = session_function(gap);
  return events.to_df()
      .with_watermark("ts", "5 seconds")
      .group_by_key({"user"})
      .flat_map_groups_with_state<SessionTotals>(
          [sessions, gap](const std::vector<Value>& key, const RecordBatchPtr& rows, GroupState<SessionTotals>& state) {
            std::vector<OutputRow> out;
            for (auto& row : sessions(key, rows, state)) {
              out.push_back({row[0], Timestamp{row[2].as_timestamp().micros + gap}, row[3], row[4]});
            }
            return out;
          },
          schema, OutputMode::Append, GroupStateTimeout::event_time);
}

// Counts the reference sessions per minute of their close time: (window start, window end,
// sessions, events).
Rows sessions_per_minute(const Rows& events, int64_t gap) {
  std::map<int64_t, std::pair<int64_t, int64_t>> minutes;
  for (const auto& session : reference_sessions(events, gap)) {
    const int64_t close = session[2].as_timestamp().micros + gap;
    const int64_t start = close - close % (60 * kSecond);
    ++minutes[start].first;
    minutes[start].second += session[3].as_int64();
  }
  Rows out;
  for (const auto& [start, counts] : minutes) {
    out.push_back({Timestamp{start}, Timestamp{start + 60 * kSecond}, counts.first, counts.second});
  }
  return out;
}

// Runs random bursts of events through per_minute (restarting midway when `restart`) and
// checks it equals sessions_per_minute of the same events.
void check_sessions_per_minute(Session& session, MemoryStream& events, const DataFrame& per_minute,
                               std::mt19937_64& random, int64_t gap, bool restart) {
  const std::vector<Rows> epochs = random_bursts(random, 14);
  Rows all;
  std::vector<StreamAction> actions = epoch_actions(events, epochs, all, restart);
  // A sentinel far ahead closes every session and every minute but its own.
  actions.push_back(add_data(events, {{"~end", Timestamp{1'000'000 * kSecond}, 0}}));
  actions.push_back(process_all_available());
  actions.push_back(add_data(events, {{"~end", Timestamp{1'000'001 * kSecond}, 0}}));
  actions.push_back(check_answer(sessions_per_minute(all, gap)));
  Status result = test_stream(session, per_minute, OutputMode::Append, std::move(actions));
  BOOST_TEST(result.is_ok(), result.to_string());
}

}  // namespace

BOOST_AUTO_TEST_CASE(custom_state_feeds_a_windowed_aggregation_in_append_mode_equal_to_a_reference) {
  std::mt19937_64 random(seed_for("custom_state_feeds_a_windowed_aggregation_in_append_mode_equal_to_a_reference"));
  const int64_t gap = 10 * kSecond;
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  MemoryStream events(session, session_events_schema());
  auto per_minute = closed_sessions(events, gap)
                        .group_by(window(col("ts"), "1 minute"))
                        .agg(count().alias("sessions"), sum(col("count")).alias("events"));
  BOOST_REQUIRE_MESSAGE(per_minute.status().is_ok(), per_minute.status().to_string());
  check_sessions_per_minute(session, events, per_minute, random, gap, true);
}

BOOST_AUTO_TEST_CASE(session_windows_feed_a_windowed_aggregation_in_append_mode_equal_to_a_reference) {
  std::mt19937_64 random(seed_for("session_windows_feed_a_windowed_aggregation_in_append_mode_equal_to_a_reference"));
  const int64_t gap = 10 * kSecond;
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  MemoryStream events(session, session_events_schema());
  auto per_minute = events.to_df()
                        .with_watermark("ts", "5 seconds")
                        .group_by(session_window(col("ts"), "10 seconds"), col("user"))
                        .agg(count().alias("n"))
                        .group_by(window(col("session_window.end"), "1 minute"))
                        .agg(count().alias("sessions"), sum(col("n")).alias("events"));
  BOOST_REQUIRE_MESSAGE(per_minute.status().is_ok(), per_minute.status().to_string());
  // A session window ends a gap after its last event: the close time of the same sessions.
  check_sessions_per_minute(session, events, per_minute, random, gap, false);
}
