#define BOOST_TEST_MODULE fault_injection
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>
#include <sluice/testing.hpp>

#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using sluice::testing::TemporaryDirectory;

namespace {

SchemaPtr events_schema() {
  return Schema::make({{"k", Type::String}, {"v", Type::Int64}}).value();
}

std::vector<std::vector<Value>> sorted(std::vector<std::vector<Value>> rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<std::vector<Value>> random_rows(std::mt19937_64& random, int count) {
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < count; ++i) {
    rows.push_back(
        {Value("k" + std::to_string(random() % 5)), Value(static_cast<int64_t>(random() % 100))});
  }
  return rows;
}

// The reference of the stateless query: filter(v >= 20).select(k, v * 3).
std::vector<std::vector<Value>> expected_stateless(const std::vector<std::vector<Value>>& input) {
  std::vector<std::vector<Value>> rows;
  for (const auto& row : input) {
    if (row[1].as_int64() >= 20) rows.push_back({row[0], Value(row[1].as_int64() * 3)});
  }
  return rows;
}

// The reference of the stateful query: group_by(k).agg(count, sum(v)), complete mode.
std::vector<std::vector<Value>> expected_stateful(const std::vector<std::vector<Value>>& input) {
  std::map<std::string, std::pair<int64_t, int64_t>> groups;
  for (const auto& row : input) {
    auto& group = groups[row[0].as_string()];
    ++group.first;
    group.second += row[1].as_int64();
  }
  std::vector<std::vector<Value>> rows;
  for (const auto& [key, group] : groups)
    rows.push_back({Value(key), Value(group.first), Value(group.second)});
  return rows;
}

// Adds `rounds` batches of random rows, each processed before the next; returns every row added.
std::vector<std::vector<Value>> feed(MemoryStream& input, StreamingQuery& query,
                                     std::mt19937_64& random, int rounds, int rows_per_round) {
  std::vector<std::vector<Value>> all;
  for (int round = 0; round < rounds; ++round) {
    auto rows = random_rows(random, rows_per_round);
    all.insert(all.end(), rows.begin(), rows.end());
    BOOST_REQUIRE(input.add_data(rows).is_ok());
    Status status = query.process_all_available();
    BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
  }
  return all;
}

// Awaits a condition a listener makes true: listeners run on the runtime's thread, right after
// the query's state changed.
template <typename Condition>
bool eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

struct RestartCounter final : StreamingQueryListener {
  std::atomic<int> restarting{0};
  std::atomic<int> started{0};
  std::atomic<int> terminated{0};
  void on_started(const std::string&, const std::string&, const std::string&) override {
    ++started;
  }
  void on_restarting(const std::string&, const std::string&, int64_t, const Status&) override {
    ++restarting;
  }
  void on_terminated(const std::string&, const std::string&,
                     const std::optional<Status>&) override {
    ++terminated;
  }
};

Result<StreamingQuery> start_query(MemoryStream& input, bool stateful, const std::string& name,
                                   const std::string& strategy = "fixed-delay",
                                   const std::string& attempts = "3") {
  DataFrame df = stateful ? input.to_df().group_by(col("k")).agg(count().alias("n"),
                                                                 sum(col("v")).alias("total"))
                          : input.to_df()
                                .filter(col("v") >= int64_t{20})
                                .select(col("k"), (col("v") * int64_t{3}).alias("v3"));
  return df.write_stream()
      .format("memory")
      .query_name(name)
      .output_mode(stateful ? OutputMode::Complete : OutputMode::Append)
      .option("restart.strategy", strategy)
      .option("restart.attempts", attempts)
      .option("restart.delay", "10 ms")
      .start();
}

// The in-process protocol points (the connector ones are proven in tests/tools/chaos_test).
const std::vector<FaultPoint> kEnginePoints = {
    FaultPoint::after_offsets_logged, FaultPoint::during_source_read, FaultPoint::before_sink_write,
    FaultPoint::after_sink_write,     FaultPoint::before_commit,      FaultPoint::during_commit,
    FaultPoint::after_commit};

}  // namespace

BOOST_AUTO_TEST_CASE(an_unarmed_point_costs_nothing_and_a_bad_specification_names_its_part) {
  BOOST_TEST(fault_point(FaultPoint::before_commit, 0).is_ok());
  auto bad_point = arm_faults("before_comit@epoch=1:crash");
  BOOST_REQUIRE(!bad_point.ok());
  BOOST_TEST(bad_point.status().message().find("unknown fault point 'before_comit'") !=
             std::string::npos);
  BOOST_TEST(bad_point.status().message().find("during_commit") != std::string::npos);
  auto bad_action = arm_faults("after_commit@hit=2:explode");
  BOOST_REQUIRE(!bad_action.ok());
  BOOST_TEST(bad_action.status().message().find("unknown action 'explode'") != std::string::npos);
  auto bad_trigger = arm_faults("after_commit@p=1.5:fail");
  BOOST_REQUIRE(!bad_trigger.ok());
  BOOST_TEST(bad_trigger.status().message().find("probability") != std::string::npos);
  BOOST_TEST(fault_point(FaultPoint::after_commit, 0).is_ok());  // nothing was armed
}

BOOST_AUTO_TEST_CASE(triggers_fire_at_their_epoch_their_hit_and_reproducibly_from_a_seed) {
  {
    ScopedFault at_epoch(
        FaultRule{FaultPoint::before_commit, FaultTrigger::at(3), FaultAction::fail(), 1});
    for (int64_t epoch = 0; epoch < 6; ++epoch) {
      Status status = fault_point(FaultPoint::before_commit, epoch);
      BOOST_TEST(status.is_ok() == (epoch != 3), "epoch " << epoch);
      if (!status.is_ok())
        BOOST_TEST(status.message() == "injected fault at before_commit (epoch 3)");
    }
    BOOST_TEST(fault_point(FaultPoint::before_commit, 3).is_ok());  // fired once, as asked
    BOOST_TEST(at_epoch.fired() == 1);
  }
  {
    ScopedFault nth(
        FaultRule{FaultPoint::after_commit, FaultTrigger::nth_hit(4), FaultAction::fail(), 1});
    int first_failure = -1;
    for (int hit = 1; hit <= 6; ++hit) {
      if (!fault_point(FaultPoint::after_commit, 0).is_ok() && first_failure < 0)
        first_failure = hit;
    }
    BOOST_TEST(first_failure == 4);
  }
  // The same seed gives the same hits; the fraction that fires is near the probability.
  auto pattern = [](uint64_t seed) {
    ScopedFault random(FaultRule{FaultPoint::during_source_read, FaultTrigger::random(0.25, seed),
                                 FaultAction::fail(), 0});
    std::vector<bool> fired;
    for (int hit = 0; hit < 2000; ++hit)
      fired.push_back(!fault_point(FaultPoint::during_source_read, hit).is_ok());
    return fired;
  };
  const auto first = pattern(17);
  BOOST_TEST((first == pattern(17)));
  BOOST_TEST((first != pattern(18)));
  const auto fired = std::count(first.begin(), first.end(), true);
  BOOST_TEST(fired > 400);
  BOOST_TEST(fired < 600);
}

BOOST_AUTO_TEST_CASE(a_stall_delays_the_query_and_it_goes_on) {
  Session session;
  MemoryStream input(session, events_schema());
  ScopedFault stall(FaultRule{FaultPoint::before_commit, FaultTrigger::nth_hit(1),
                              FaultAction::stall_for(200ms), 1});
  auto query = start_query(input, false, "stalled", "none");
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data({{"a", int64_t{50}}}).is_ok());
  const auto start = std::chrono::steady_clock::now();
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_TEST((std::chrono::steady_clock::now() - start >= 200ms));
  BOOST_TEST(stall.fired() == 1);
  BOOST_TEST(session.memory_table("stalled")->rows().size() == 1u);
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(
    without_a_restart_policy_an_injected_failure_fails_the_query_naming_the_point) {
  Session session;
  MemoryStream input(session, events_schema());
  ScopedFault fault(
      FaultRule{FaultPoint::during_commit, FaultTrigger::at(0), FaultAction::fail(), 1});
  auto query = start_query(input, true, "plain", "none");
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data({{"a", int64_t{1}}}).is_ok());
  Status status = query->process_all_available();
  BOOST_TEST(!status.is_ok());
  BOOST_TEST(
      status.to_string().find("injected fault at during_commit (epoch 0)") != std::string::npos,
      status.to_string());
  BOOST_TEST(query->await_termination(10s));
  BOOST_REQUIRE(query->exception());
}

BOOST_AUTO_TEST_CASE(every_engine_point_fails_once_and_the_restarted_query_is_exactly_once) {
  const uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  for (const FaultPoint point : kEnginePoints) {
    for (const bool stateful : {false, true}) {
      const std::string what =
          std::string(fault_point_name(point)) + (stateful ? ", stateful" : ", stateless");
      BOOST_TEST_CONTEXT(what << ", seed " << seed) {
        Session session;
        BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
        auto listener = std::make_shared<RestartCounter>();
        session.streams().add_listener(listener);
        MemoryStream input(session, events_schema());
        const int64_t failing_epoch = static_cast<int64_t>(random() % 3);
        ScopedFault fault(
            FaultRule{point, FaultTrigger::at(failing_epoch), FaultAction::fail(), 1});
        auto query = start_query(input, stateful, "q");
        BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
        const auto all = feed(input, *query, random, 4, 20);
        BOOST_TEST(fault.fired() == 1);
        auto table = session.memory_table("q");
        BOOST_REQUIRE(table);
        BOOST_TEST(sorted(table->rows()) ==
                   sorted(stateful ? expected_stateful(all) : expected_stateless(all)));
        BOOST_REQUIRE(query->last_progress());
        BOOST_TEST(query->last_progress()->num_restarts == 1);
        BOOST_TEST(query->last_progress()->json().find("\"numRestarts\":1") != std::string::npos);
        BOOST_TEST(listener->restarting.load() == 1);
        BOOST_REQUIRE(query->stop().is_ok());
        BOOST_TEST(!query->exception());
        // on_started of a restarted run comes from the supervisor thread: await it.
        BOOST_TEST(eventually([&] { return listener->started.load() == 2; }));
        BOOST_TEST(eventually([&] { return listener->terminated.load() == 1; }));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(spent_attempts_fail_the_query_with_the_last_error) {
  Session session;
  auto listener = std::make_shared<RestartCounter>();
  session.streams().add_listener(listener);
  MemoryStream input(session, events_schema());
  // Fails every time it is reached: each run fails at its first commit.
  auto forever = arm_faults("before_commit@p=1:fail*0");
  BOOST_REQUIRE(forever.ok());
  auto query = start_query(input, false, "doomed", "exponential-backoff", "2");
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data({{"a", int64_t{50}}}).is_ok());
  Status status = query->process_all_available();
  for (FaultId id : *forever)
    disarm_fault(id);
  BOOST_TEST(!status.is_ok());
  BOOST_TEST(
      status.to_string().find("injected fault at before_commit (epoch 0)") != std::string::npos,
      status.to_string());
  BOOST_TEST(query->await_termination(10s));
  BOOST_REQUIRE(query->exception());
  BOOST_TEST(listener->restarting.load() == 2);
  // on_started of the last run comes from the supervisor thread, which may announce the run
  // after it already failed and the query terminated: await it.
  BOOST_TEST(eventually([&] { return listener->started.load() == 3; }));
  BOOST_TEST(eventually([&] { return listener->terminated.load() == 1; }));
  BOOST_TEST(!query->is_active());
}

BOOST_AUTO_TEST_CASE(restart_options_are_checked_on_the_query_and_the_session) {
  Session session;
  MemoryStream input(session, events_schema());
  auto bad = start_query(input, false, "bad", "sometimes");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(
      bad.status().message().find(
          "'restart.strategy' must be none, fixed-delay or exponential-backoff, got 'sometimes'") !=
          std::string::npos,
      bad.status().to_string());
  Status conf = session.set_conf("restart.delay", "soon");
  BOOST_TEST(!conf.is_ok());
  BOOST_TEST(conf.to_string().find("restart.delay") != std::string::npos);
  RestartPolicy policy;
  policy.strategy = RestartPolicy::Strategy::exponential_backoff;
  policy.delay = 100ms;
  policy.max_delay = 350ms;
  BOOST_TEST(policy.delay_before(1).count() == 100);
  BOOST_TEST(policy.delay_before(2).count() == 200);
  BOOST_TEST(policy.delay_before(3).count() == 350);
}

BOOST_AUTO_TEST_CASE(a_killed_source_or_sink_actor_is_noticed_and_the_policy_restarts_the_query) {
  for (const FaultPoint point : {FaultPoint::during_source_read, FaultPoint::before_sink_write}) {
    BOOST_TEST_CONTEXT(fault_point_name(point)) {
      {
        // Without a policy the query fails instead of waiting for the dead actor forever.
        Session session;
        MemoryStream input(session, events_schema());
        ScopedFault kill(FaultRule{point, FaultTrigger::at(0), FaultAction::kill_actor(), 1});
        auto query = start_query(input, false, "killed", "none");
        BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
        BOOST_REQUIRE(input.add_data({{"a", int64_t{50}}}).is_ok());
        Status status = query->process_all_available();
        BOOST_TEST(status.to_string().find("a query actor died") != std::string::npos,
                   status.to_string());
        BOOST_TEST(query->await_termination(10s));
      }
      Session session;
      MemoryStream input(session, events_schema());
      auto kill = arm_faults(std::string(fault_point_name(point)) + "@epoch=1:kill");
      BOOST_REQUIRE(kill.ok());
      auto query = start_query(input, true, "restarted");
      BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
      std::mt19937_64 random(7);
      const auto all = feed(input, *query, random, 3, 10);
      BOOST_TEST(fault_fired_count(kill->front()) == 1);
      BOOST_TEST(sorted(session.memory_table("restarted")->rows()) ==
                 sorted(expected_stateful(all)));
      BOOST_TEST(query->last_progress()->num_restarts == 1);
      BOOST_REQUIRE(query->stop().is_ok());
    }
  }
}

namespace {

// Returns a query over `input` whose graph has the edge `edge`: source→stage and →sink exist
// in every query; →stateful partition only in the stateful one.
bool needs_stateful(FaultPoint edge) {
  return edge == FaultPoint::edge_to_stateful;
}

std::string message_name(FaultMessage message) {
  return message == FaultMessage::batch ? "batch" : "barrier";
}

}  // namespace

BOOST_AUTO_TEST_CASE(edge_specifications_parse_and_wrong_pairs_are_refused_by_name) {
  auto good = arm_faults(
      "edge_to_sink.barrier@epoch=2:duplicate;edge_to_stateful@hit=3:drop;"
      "edge_source_to_stage.batch@p=0.5,seed=3:delay=20ms*0");
  BOOST_REQUIRE_MESSAGE(good.ok(), good.status().to_string());
  for (FaultId id : *good)
    disarm_fault(id);
  auto not_an_edge = arm_faults("before_commit@epoch=1:drop");
  BOOST_REQUIRE(!not_an_edge.ok());
  BOOST_TEST(
      not_an_edge.status().message().find("'before_commit' is not an edge") != std::string::npos,
      not_an_edge.status().to_string());
  auto fail_on_edge = arm_faults("edge_to_sink@epoch=1:fail");
  BOOST_REQUIRE(!fail_on_edge.ok());
  BOOST_TEST(
      fail_on_edge.status().message().find("'edge_to_sink' takes delay, drop") != std::string::npos,
      fail_on_edge.status().to_string());
  auto bad_message = arm_faults("edge_to_sink.row@epoch=1:drop");
  BOOST_REQUIRE(!bad_message.ok());
  BOOST_TEST(bad_message.status().message().find("unknown message kind 'row'") != std::string::npos,
             bad_message.status().to_string());
  BOOST_TEST((all_edge_points().size() == 3u));
  for (FaultPoint point : all_fault_points())
    BOOST_TEST(!is_edge_point(point));
}

BOOST_AUTO_TEST_CASE(a_duplicated_batch_or_barrier_is_refused_naming_the_edge_and_the_epoch) {
  for (const FaultPoint edge : all_edge_points()) {
    for (const FaultMessage message : {FaultMessage::batch, FaultMessage::barrier}) {
      BOOST_TEST_CONTEXT(fault_point_name(edge) << "." << message_name(message)) {
        Session session;
        BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
        MemoryStream input(session, events_schema());
        ScopedFault fault(
            FaultRule{edge, FaultTrigger::at(1), FaultAction::duplicate(), 1, message});
        auto query = start_query(input, needs_stateful(edge), "duplicated", "none");
        BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
        BOOST_REQUIRE(input.add_data({{"a", int64_t{50}}, {"b", int64_t{60}}}).is_ok());
        BOOST_REQUIRE(query->process_all_available().is_ok());
        BOOST_REQUIRE(input.add_data({{"a", int64_t{70}}, {"c", int64_t{80}}}).is_ok());
        // The copy may arrive after the epoch committed (a barrier behind the last batch): the
        // query fails then, never counting it.
        (void)query->process_all_available();
        BOOST_TEST(fault.fired() == 1);
        BOOST_REQUIRE(query->await_termination(10s));
        BOOST_REQUIRE(query->exception());
        const Status status = *query->exception();
        const std::string expected = "duplicate " + message_name(message) + " of epoch 1 on edge ";
        BOOST_TEST(status.to_string().find(expected) != std::string::npos, status.to_string());
        const std::string receiver = edge == FaultPoint::edge_to_sink       ? "-> sink "
                                     : edge == FaultPoint::edge_to_stateful ? "partition"
                                                                            : "-> stage 0";
        BOOST_TEST(status.to_string().find(receiver) != std::string::npos, status.to_string());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_lost_message_fails_the_epoch_and_never_hangs_the_query) {
  // A lost batch: the receiver sees the gap when the barrier after it arrives.
  {
    Session session;
    MemoryStream input(session, events_schema());
    ScopedFault fault(FaultRule{FaultPoint::edge_source_to_stage, FaultTrigger::at(0),
                                FaultAction::drop(), 1, FaultMessage::batch});
    auto query = start_query(input, false, "lost_batch", "none");
    BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
    BOOST_REQUIRE(input.add_data({{"a", int64_t{50}}}).is_ok());
    Status status = query->process_all_available();
    BOOST_TEST(
        status.to_string().find("1 message lost on edge source partition 0") != std::string::npos,
        status.to_string());
    BOOST_TEST(status.to_string().find("before a barrier of epoch 0") != std::string::npos,
               status.to_string());
    BOOST_TEST(query->await_termination(10s));
  }
  // The last barrier lost: nothing follows it on the edge, so the epoch timeout notices.
  Session session;
  BOOST_REQUIRE(session.set_conf("epochTimeout", "300 milliseconds").is_ok());
  MemoryStream input(session, events_schema());
  ScopedFault fault(FaultRule{FaultPoint::edge_to_sink, FaultTrigger::at(0), FaultAction::drop(), 1,
                              FaultMessage::barrier});
  auto query = start_query(input, false, "lost_barrier", "none");
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data({{"a", int64_t{50}}}).is_ok());
  const auto start = std::chrono::steady_clock::now();
  Status status = query->process_all_available();
  BOOST_TEST(fault.fired() == 1);
  BOOST_TEST(
      status.to_string().find("epoch 0 made no progress for 300 ms (epochTimeout), waiting for "
                              "the sink") != std::string::npos,
      status.to_string());
  BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
  BOOST_TEST(query->await_termination(10s));
}

BOOST_AUTO_TEST_CASE(after_a_duplicated_or_lost_message_the_restarted_query_is_exactly_once) {
  const uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  for (const FaultPoint edge : all_edge_points()) {
    for (const FaultMessage message : {FaultMessage::batch, FaultMessage::barrier}) {
      for (const bool drop : {false, true}) {
        for (const bool stateful : {false, true}) {
          if (needs_stateful(edge) && !stateful) continue;
          const int64_t epoch = static_cast<int64_t>(random() % 3);
          BOOST_TEST_CONTEXT(fault_point_name(edge)
                             << "." << message_name(message) << (drop ? " drop" : " duplicate")
                             << " at epoch " << epoch << (stateful ? ", stateful" : ", stateless")
                             << ", seed " << seed) {
            Session session;
            BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
            BOOST_REQUIRE(session.set_conf("epochTimeout", "300 milliseconds").is_ok());
            MemoryStream input(session, events_schema());
            ScopedFault fault(FaultRule{edge, FaultTrigger::at(epoch),
                                        drop ? FaultAction::drop() : FaultAction::duplicate(), 1,
                                        message});
            auto query = start_query(input, stateful, "q");
            BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
            const auto all = feed(input, *query, random, 4, 20);
            BOOST_TEST(fault.fired() == 1);
            BOOST_TEST(sorted(session.memory_table("q")->rows()) ==
                       sorted(stateful ? expected_stateful(all) : expected_stateless(all)));
            BOOST_REQUIRE(query->last_progress());
            BOOST_TEST(query->last_progress()->num_restarts == 1);
            BOOST_REQUIRE(query->stop().is_ok());
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_delay_on_an_edge_only_slows_the_query) {
  for (const FaultPoint edge : all_edge_points()) {
    BOOST_TEST_CONTEXT(fault_point_name(edge)) {
      Session session;
      BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
      MemoryStream input(session, events_schema());
      // Every batch of epoch 1 waits 100 ms, and whatever follows it on its edge with it.
      ScopedFault fault(FaultRule{edge, FaultTrigger::at(1), FaultAction::delay_for(100ms), 0,
                                  FaultMessage::batch});
      const bool stateful = needs_stateful(edge);
      auto query = start_query(input, stateful, "delayed", "none");
      BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
      std::mt19937_64 random(5);
      const auto start = std::chrono::steady_clock::now();
      const auto all = feed(input, *query, random, 3, 20);
      BOOST_TEST((std::chrono::steady_clock::now() - start >= 100ms));
      BOOST_TEST(fault.fired() >= 1);
      BOOST_TEST(sorted(session.memory_table("delayed")->rows()) ==
                 sorted(stateful ? expected_stateful(all) : expected_stateless(all)));
      BOOST_TEST(query->last_progress()->num_restarts == 0);
      BOOST_REQUIRE(query->stop().is_ok());
    }
  }
}

namespace {

// The stateful query of expected_stateful, checkpointed in `checkpoint` of at most `max_size`.
Result<StreamingQuery> start_totals(MemoryStream& input, const std::string& checkpoint,
                                    const std::string& max_size) {
  return input.to_df()
      .group_by(col("k"))
      .agg(count().alias("n"), sum(col("v")).alias("total"))
      .write_stream()
      .format("memory")
      .query_name("totals")
      .output_mode(OutputMode::Complete)
      .option("checkpointLocation", checkpoint)
      .option("checkpointMaxSize", max_size)
      .option("restart.strategy", "none")
      .start();
}

// Drops the capabilities that let root ignore permission bits (CAP_DAC_OVERRIDE and friends)
// from this thread's effective set, so that a read-only directory refuses root too; threads
// started afterwards (a Session's actor threads) inherit it. Restores them at destruction.
class WithoutPermissionOverride {
 public:
  WithoutPermissionOverride() {
    header_.version = _LINUX_CAPABILITY_VERSION_3;
    header_.pid = 0;
    if (::syscall(SYS_capget, &header_, saved_) != 0) return;
    __user_cap_data_struct reduced[2];
    std::memcpy(reduced, saved_, sizeof(reduced));
    for (int capability : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER})
      reduced[capability / 32].effective &= ~(1u << (capability % 32));
    dropped_ = ::syscall(SYS_capset, &header_, reduced) == 0;
  }
  ~WithoutPermissionOverride() {
    if (dropped_) ::syscall(SYS_capset, &header_, saved_);
  }
  WithoutPermissionOverride(const WithoutPermissionOverride&) = delete;
  WithoutPermissionOverride& operator=(const WithoutPermissionOverride&) = delete;

 private:
  __user_cap_header_struct header_{};
  __user_cap_data_struct saved_[2]{};
  bool dropped_ = false;
};

// Returns true when this process cannot create a file in `directory`.
bool refuses_writes(const std::string& directory) {
  const std::string probe = directory + "/.probe";
  std::ofstream file(probe);
  if (!file) return true;
  file.close();
  std::filesystem::remove(probe);
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_full_checkpoint_stops_the_query_naming_it_and_a_larger_one_resumes_exactly) {
  const uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  TemporaryDirectory dir;
  const std::string checkpoint = dir.file("checkpoint");
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  MemoryStream input(session, events_schema());
  auto query = start_totals(input, checkpoint, "256k");
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  // Every round brings new keys, so the state (and the checkpoint) grows until it is full.
  std::vector<std::vector<Value>> all;
  Status failure;
  int committed_rounds = 0;
  for (int round = 0; round < 100 && failure.is_ok(); ++round) {
    std::vector<std::vector<Value>> rows;
    for (int i = 0; i < 200; ++i) {
      rows.push_back({Value("key-" + std::to_string(random() % 100000) + std::string(60, 'x')),
                      Value(static_cast<int64_t>(random() % 1000))});
    }
    all.insert(all.end(), rows.begin(), rows.end());
    BOOST_REQUIRE(input.add_data(rows).is_ok());
    failure = query->process_all_available();
    if (failure.is_ok()) ++committed_rounds;
  }
  BOOST_REQUIRE_MESSAGE(!failure.is_ok(), "the checkpoint never filled up");
  BOOST_TEST_MESSAGE("stopped with: " << failure.to_string());
  BOOST_TEST(committed_rounds > 0);
  BOOST_TEST(failure.to_string().find("checkpoint '" + checkpoint + "': checkpoint full") !=
                 std::string::npos,
             failure.to_string());
  BOOST_TEST(query->await_termination(10s));

  // The checkpoint is still valid: restarted with room to grow, the query re-runs the epoch
  // that did not fit and the totals count every row once.
  auto resumed = start_totals(input, checkpoint, "64m");
  BOOST_REQUIRE_MESSAGE(resumed.ok(), resumed.status().to_string());
  Status status = resumed->process_all_available();
  BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
  BOOST_REQUIRE(resumed->last_progress());
  BOOST_TEST(resumed->last_progress()->batch_id == committed_rounds);
  BOOST_TEST(sorted(session.memory_table("totals")->rows()) == sorted(expected_stateful(all)));
  BOOST_REQUIRE(resumed->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(a_read_only_sink_directory_stops_the_query_and_it_resumes_once_writable) {
  TemporaryDirectory dir;
  const std::string output = dir.file("output");
  const std::string checkpoint = dir.file("checkpoint");
  std::filesystem::create_directories(output);
  // As root, permission bits bind only once the override capabilities are dropped; the
  // Session's threads, started below, inherit that.
  WithoutPermissionOverride without_override;
  ::chmod(output.c_str(), 0555);
  if (!refuses_writes(output)) {
    ::chmod(output.c_str(), 0755);
    BOOST_TEST_MESSAGE(
        "skipped: this process writes into a read-only directory (root whose "
        "CAP_DAC_OVERRIDE cannot be dropped here)");
    return;
  }
  ::chmod(output.c_str(), 0755);

  Session session;
  MemoryStream input(session, events_schema());
  auto start = [&] {
    return input.to_df()
        .select(col("k"), (col("v") * int64_t{2}).alias("v2"))
        .write_stream()
        .format("csv")
        .option("path", output)
        .option("checkpointLocation", checkpoint)
        .option("restart.strategy", "none")
        .start();
  };
  std::vector<std::vector<Value>> expected;
  auto add = [&](std::vector<std::vector<Value>> rows) {
    for (const auto& row : rows)
      expected.push_back({row[0], Value(row[1].as_int64() * 2)});
    return input.add_data(rows);
  };
  auto query = start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(add({{"a", int64_t{1}}, {"b", int64_t{2}}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());

  ::chmod(output.c_str(), 0555);
  BOOST_REQUIRE(add({{"c", int64_t{3}}, {"d", int64_t{4}}}).is_ok());
  Status failure = query->process_all_available();
  BOOST_TEST(!failure.is_ok());
  BOOST_TEST_MESSAGE("stopped with: " << failure.to_string());
  BOOST_TEST(failure.to_string().find("cannot create " + output) != std::string::npos,
             failure.to_string());
  BOOST_TEST(failure.to_string().find("Permission denied") != std::string::npos,
             failure.to_string());
  BOOST_TEST(query->await_termination(10s));

  ::chmod(output.c_str(), 0755);
  auto resumed = start();
  BOOST_REQUIRE_MESSAGE(resumed.ok(), resumed.status().to_string());
  BOOST_REQUIRE(add({{"e", int64_t{5}}}).is_ok());
  Status status = resumed->process_all_available();
  BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
  BOOST_REQUIRE(resumed->stop().is_ok());

  // What the sink committed, read back through its manifest: every row once.
  auto read = session.read_stream()
                  .format("csv")
                  .schema(Schema::make({{"k", Type::String}, {"v2", Type::Int64}}).value())
                  .load(output)
                  .write_stream()
                  .format("memory")
                  .query_name("committed")
                  .trigger(Trigger::AvailableNow())
                  .start();
  BOOST_REQUIRE_MESSAGE(read.ok(), read.status().to_string());
  read->await_termination();
  BOOST_REQUIRE(!read->exception());
  BOOST_TEST(sorted(session.memory_table("committed")->rows()) == sorted(expected));
}
