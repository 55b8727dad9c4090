#define BOOST_TEST_MODULE flat_map_groups_with_state
#include <boost/test/unit_test.hpp>

#include "operators/flat_map_groups_with_state.hpp"
#include "tests/operators/stateful_fixture.hpp"
#include "tests/support/group_state_functions.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr int64_t kSecond = 1'000'000;

SchemaPtr events_schema() {
  return session_events_schema();
}

std::shared_ptr<const StatefulOperator> sessions_operator(int64_t gap, int time_column = 1,
                                                          int64_t cache_bytes = GroupsWithStateOptions{}.cache_bytes) {
  auto spec = std::make_shared<GroupStateSpec>();
  spec->output = sessions_schema();
  spec->mode = OutputMode::Append;
  spec->timeout = GroupStateTimeout::event_time;
  spec->state_type = "SessionTotals";
  spec->function = make_group_function<SessionTotals, false>(session_function(gap));
  GroupsWithStateOptions options;
  options.event_time_column = time_column;
  options.cache_bytes = cache_bytes;
  return make_flat_map_groups_with_state(events_schema(), {0}, spec, options).value();
}

// Counts each user's events forever (no timeout): (user, count) per call, Update mode.
std::shared_ptr<const StatefulOperator> running_counts_operator(int64_t cache_bytes) {
  auto spec = std::make_shared<GroupStateSpec>();
  spec->output = Schema::make({{"user", Type::String}, {"count", Type::Int64}}).value();
  spec->mode = OutputMode::Update;
  spec->is_map = true;
  spec->state_type = "int64_t";
  spec->function = make_group_function<int64_t, true>(
      [](const std::vector<Value>& key, const RecordBatchPtr& rows, GroupState<int64_t>& state) -> OutputRow {
        const int64_t count = state.get_option().value_or(0) + rows->num_rows();
        state.update(count);
        return {key[0], count};
      });
  GroupsWithStateOptions options;
  options.cache_bytes = cache_bytes;
  return make_flat_map_groups_with_state(events_schema(), {0}, spec, options).value();
}

}  // namespace

BOOST_AUTO_TEST_CASE(event_time_sessions_match_a_reference_across_partitions_and_restarts) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  const int64_t gap = 10 * kSecond;
  auto op = sessions_operator(gap);
  StatefulRunner runner(op, 3);
  // Bursts of events within 5 s, 60 s apart, one epoch each; the watermark trails the burst
  // by 30 s, so no row is late and a user's session expires in a later epoch.
  Rows events;
  Rows output;
  int64_t epoch = 0;
  const char* users[] = {"ann", "bob", "cy", "dee", "eve"};
  for (int burst = 0; burst < 8; ++burst) {
    const int64_t base = burst * 60 * kSecond;
    Rows rows;
    const int n = 1 + static_cast<int>(random() % 20);
    for (int i = 0; i < n; ++i) {
      rows.push_back({users[random() % 5],
                      Timestamp{base + static_cast<int64_t>(random() % (5 * kSecond))},
                      static_cast<int64_t>(random() % 100)});
    }
    events.insert(events.end(), rows.begin(), rows.end());
    const int64_t watermark = burst == 0 ? EpochContext::kNoWatermark : base - 30 * kSecond;
    Rows out = runner.run_epoch({RecordBatch::from_rows(events_schema(), rows).value()},
                                epoch_context(epoch++, watermark, OutputMode::Append));
    output.insert(output.end(), out.begin(), out.end());
    if (burst == 3) runner.restart(2);  // another partition count, from the committed state
    if (burst == 5) runner.restart(4);
  }
  // A last epoch without rows whose watermark passes everything closes the open sessions.
  Rows out = runner.run_epoch({}, epoch_context(epoch++, 1000 * 60 * kSecond, OutputMode::Append));
  output.insert(output.end(), out.begin(), out.end());
  check_same_rows(output, reference_sessions(events, gap), "sessions");
  BOOST_TEST(runner.store()->entries.empty());
  BOOST_TEST(runner.metrics().num_rows_total == 0);
}

BOOST_AUTO_TEST_CASE(an_epoch_replayed_after_a_lost_commit_gives_the_same_output_and_delta) {
  auto op = sessions_operator(10 * kSecond);
  StatefulRunner runner(op, 2);
  auto batch = RecordBatch::from_rows(events_schema(),
                                      {{"ann", Timestamp{0}, 1}, {"bob", Timestamp{kSecond}, 2}})
                   .value();
  runner.run_epoch({batch}, epoch_context(0, EpochContext::kNoWatermark, OutputMode::Append));
  auto later =
      RecordBatch::from_rows(events_schema(), {{"cy", Timestamp{40 * kSecond}, 3}}).value();
  Rows first = runner.run_epoch({later}, epoch_context(1, 20 * kSecond, OutputMode::Append), false);
  const auto deltas = runner.last_deltas;
  runner.restart(2);
  Rows second = runner.run_epoch({later}, epoch_context(1, 20 * kSecond, OutputMode::Append));
  check_same_rows(second, first, "replayed epoch");
  check_same_rows(second,
                  {{"ann", Timestamp{0}, Timestamp{0}, 1, 1},
                   {"bob", Timestamp{kSecond}, Timestamp{kSecond}, 1, 2}},
                  "timed out sessions");
  for (size_t p = 0; p < deltas.size(); ++p) {
    BOOST_TEST_REQUIRE(deltas[p].changes.size() == runner.last_deltas[p].changes.size());
    for (size_t i = 0; i < deltas[p].changes.size(); ++i) {
      BOOST_TEST(deltas[p].changes[i].key == runner.last_deltas[p].changes[i].key);
      BOOST_TEST((deltas[p].changes[i].value == runner.last_deltas[p].changes[i].value));
    }
  }
}

BOOST_AUTO_TEST_CASE(late_rows_are_dropped_and_counted) {
  auto op = sessions_operator(10 * kSecond);
  StatefulRunner runner(op, 1);
  auto batch = RecordBatch::from_rows(events_schema(), {{"ann", Timestamp{100 * kSecond}, 1},
                                                        {"ann", Timestamp{5 * kSecond}, 2}})
                   .value();
  runner.run_epoch({batch}, epoch_context(0, 50 * kSecond, OutputMode::Append));
  BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark == 1);
  Rows out = runner.run_epoch({}, epoch_context(1, 200 * kSecond, OutputMode::Append));
  check_same_rows(out, {{"ann", Timestamp{100 * kSecond}, Timestamp{100 * kSecond}, 1, 1}},
                  "session");
}

BOOST_AUTO_TEST_CASE(processing_time_timeouts_fire_once_the_clock_passes_the_deadline) {
  auto spec = std::make_shared<GroupStateSpec>();
  spec->output = expiring_counts_schema();
  spec->is_map = true;
  spec->timeout = GroupStateTimeout::processing_time;
  spec->state_type = "int64";
  spec->function = make_group_function<int64_t, true>(expiring_count_function());
  auto op = make_flat_map_groups_with_state(events_schema(), {0}, spec).value();
  StatefulRunner runner(op, 2);
  auto at = [](int64_t epoch, int64_t seconds) {
    EpochContext context = epoch_context(epoch, EpochContext::kNoWatermark, OutputMode::Update);
    context.processing_time = seconds * kSecond;
    return context;
  };
  auto rows = [](std::vector<std::string> users) {
    Rows out;
    for (auto& user : users)
      out.push_back({user, Timestamp{0}, 1});
    return RecordBatch::from_rows(events_schema(), out).value();
  };
  check_same_rows(runner.run_epoch({rows({"ann", "ann", "bob"})}, at(0, 0)),
                  {{"ann", 2, false}, {"bob", 1, false}}, "epoch 0");
  BOOST_TEST(runner.state(0).metrics().next_processing_timeout <= 10 * kSecond);
  check_same_rows(runner.run_epoch({rows({"ann"})}, at(1, 5)), {{"ann", 3, false}}, "epoch 1");
  check_same_rows(runner.run_epoch({}, at(2, 10)), {}, "at the deadline nothing expires");
  check_same_rows(runner.run_epoch({}, at(3, 11)), {{"bob", 1, true}}, "bob expires");
  runner.restart(3);
  check_same_rows(runner.run_epoch({}, at(4, 14)), {}, "ann's deadline was moved to 15 s");
  check_same_rows(runner.run_epoch({}, at(5, 16)), {{"ann", 3, true}}, "ann expires");
  BOOST_TEST(runner.store()->entries.empty());
}

BOOST_AUTO_TEST_CASE(misuse_and_wrong_output_types_are_errors_naming_the_group) {
  auto make = [](auto fn, GroupStateTimeout timeout) {
    auto spec = std::make_shared<GroupStateSpec>();
    spec->output = Schema::make({{"user", Type::String}, {"n", Type::Int64}}).value();
    spec->timeout = timeout;
    spec->state_type = "int64";
    spec->function = make_group_function<int64_t, false>(fn);
    return make_flat_map_groups_with_state(events_schema(), {0}, spec).value();
  };
  auto fail = [](const std::shared_ptr<const StatefulOperator>& op) {
    auto state = op->make_state(0, 1, std::make_shared<MapStateReader>()).value();
    EpochContext context = epoch_context(0, EpochContext::kNoWatermark, OutputMode::Update);
    auto batch = RecordBatch::from_rows(events_schema(), {{"ann", Timestamp{0}, 1}}).value();
    BOOST_REQUIRE(state->add_input(batch, context).is_ok());
    std::vector<RecordBatchPtr> out;
    StateDelta delta;
    Status status = state->finish_epoch(context, out, delta);
    BOOST_TEST(!status.is_ok());
    return status.to_string();
  };
  using Rows = std::vector<OutputRow>;
  std::string wrong_type = fail(make(
      [](const auto& key, const auto&, GroupState<int64_t>&) {
        return Rows{{key[0], "not a number"}};
      },
      GroupStateTimeout::none));
  BOOST_TEST(wrong_type.find("column 'n'") != std::string::npos, wrong_type);
  BOOST_TEST(wrong_type.find("[ann]") != std::string::npos, wrong_type);
  std::string no_state = fail(make(
      [](const auto&, const auto&, GroupState<int64_t>& state) {
        return Rows{{"x", state.get()}};
      },
      GroupStateTimeout::none));
  BOOST_TEST(no_state.find("without state") != std::string::npos, no_state);
  std::string wrong_timeout = fail(make(
      [](const auto&, const auto&, GroupState<int64_t>& state) {
        state.set_timeout_duration(std::chrono::seconds(1));
        return Rows{};
      },
      GroupStateTimeout::event_time));
  BOOST_TEST(wrong_timeout.find("set_timeout_duration needs GroupStateTimeout::processing_time") !=
                 std::string::npos,
             wrong_timeout);
}

BOOST_AUTO_TEST_CASE(bad_definitions_are_refused) {
  auto spec = std::make_shared<GroupStateSpec>();
  spec->output = Schema::make({{"n", Type::Int64}}).value();
  spec->function = make_group_function<int64_t, false>(
      [](const auto&, const auto&, GroupState<int64_t>&) { return std::vector<OutputRow>{}; });
  BOOST_TEST(!make_flat_map_groups_with_state(events_schema(), {}, spec).ok());
  BOOST_TEST(!make_flat_map_groups_with_state(events_schema(), {7}, spec).ok());
  GroupsWithStateOptions options;
  options.event_time_column = 2;
  auto result = make_flat_map_groups_with_state(events_schema(), {0}, spec, options);
  BOOST_TEST(result.status().message().find("TIMESTAMP") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_tiny_state_cache_gives_the_same_output_and_deltas_reading_groups_back) {
  std::mt19937_64 random(test_seed());
  const int64_t gap = 10 * kSecond;
  for (bool with_timers : {true, false}) {
    auto make = [&](int64_t cache_bytes) {
      return with_timers ? sessions_operator(gap, 1, cache_bytes) : running_counts_operator(cache_bytes);
    };
    StatefulRunner roomy(make(GroupsWithStateOptions{}.cache_bytes), 2);
    StatefulRunner tiny(make(1), 2);
    const OutputMode mode = with_timers ? OutputMode::Append : OutputMode::Update;
    for (int64_t epoch = 0; epoch < 12; ++epoch) {
      Rows rows;
      for (int i = 0; i < 6; ++i) {
        rows.push_back({"user" + std::to_string(random() % 9),
                        Timestamp{epoch * 20 * kSecond + static_cast<int64_t>(random() % (5 * kSecond))},
                        static_cast<int64_t>(random() % 100)});
      }
      const auto context = epoch_context(epoch, epoch == 0 ? EpochContext::kNoWatermark : (epoch * 20 - 15) * kSecond, mode);
      const auto batch = RecordBatch::from_rows(events_schema(), rows).value();
      check_same_rows(tiny.run_epoch({batch}, context), roomy.run_epoch({batch}, context),
                      "epoch " + std::to_string(epoch) + (with_timers ? " with timers" : " without timers"));
      BOOST_TEST(tiny.last_delta_size == roomy.last_delta_size);
      BOOST_TEST(tiny.metrics().num_rows_total == roomy.metrics().num_rows_total);
      if (epoch == 6) {
        tiny.restart(3);
        roomy.restart(3);
      }
    }
    BOOST_TEST(tiny.store()->entries == roomy.store()->entries);
    BOOST_TEST(tiny.store()->gets > 0, "evicted groups are read back");
    BOOST_TEST(tiny.metrics().memory_used_bytes < roomy.metrics().memory_used_bytes);
  }
}
