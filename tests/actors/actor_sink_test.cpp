#define BOOST_TEST_MODULE actor_sink
#include <boost/test/unit_test.hpp>

#include <sluice/embedding.hpp>
#include <sluice/sluice.hpp>

#include "core/fault_injection.hpp"
#include "tests/actors/embed_child_support.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using sluice::testing::TemporaryDirectory;

// The host process dies after it acknowledged epoch 3 but before the checkpoint committed it
// (crash point after_sink_write:3). The restart delivers epoch 3 again, with the same number and
// the same rows, and then the rest; one delivery per epoch holds every row exactly once.
BOOST_AUTO_TEST_CASE(a_replayed_epoch_reaches_the_host_with_the_same_number_and_rows) {
  TemporaryDirectory log_dir, checkpoint, output;
  auto args = [&](int run) {
    return std::vector<std::string>{log_dir.path(), checkpoint.path(), output.path(),
                                    std::to_string(run), "replay"};
  };
  BOOST_REQUIRE(testing::wait_child(testing::spawn_embed_child(
                    args(0), "after_sink_write:3")) == kFaultCrashExitCode);
  BOOST_REQUIRE(testing::wait_child(testing::spawn_embed_child(args(1))) == 0);

  auto deliveries = testing::read_deliveries(output.path());
  BOOST_REQUIRE(deliveries.count(3));
  BOOST_TEST(deliveries[3].count(0) == 1u);  // acknowledged by the host in run 0 ...
  BOOST_TEST(deliveries[3].count(1) == 1u);  // ... and delivered again in run 1
  for (int64_t epoch = 0; epoch < 3; ++epoch)
    BOOST_TEST(deliveries[epoch].count(1) == 0u, "epoch " << epoch);
  std::vector<int64_t> all;
  for (const auto& [epoch, runs] : deliveries) {
    for (const auto& [run, rows] : runs)
      BOOST_TEST(rows == runs.begin()->second, "epoch " << epoch << " run " << run);
    all.insert(all.end(), runs.begin()->second.begin(), runs.begin()->second.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(100);
  for (int64_t i = 0; i < 100; ++i)
    expected[static_cast<size_t>(i)] = i;
  BOOST_TEST(all == expected, boost::test_tools::per_element());
}

namespace {

struct SilentState {
  std::vector<caf::typed_response_promise<actors::EpochAck>> pending;
};

// A host receiver that takes every epoch and never acknowledges it.
actors::epoch_receiver::behavior_type silent_receiver(
    actors::epoch_receiver::stateful_pointer<SilentState> self) {
  return {
      [](const actors::EpochBatch&) {},
      [self](const actors::EpochEnd&) {
        auto promise = self->make_response_promise<actors::EpochAck>();
        self->state.pending.push_back(promise);
        return promise;
      },
      [](const actors::EpochAbort&) {},
  };
}

Status run_until_failure(Session& session, std::shared_ptr<Sink> sink) {
  MemoryStream input(session, Schema::make({{"v", Type::Int64}}).value());
  auto query = input.to_df().write_stream().sink(std::move(sink)).start();
  if (!query.ok()) return query.status();
  if (!input.add_data({{int64_t{1}}}).is_ok()) return Status::internal("add_data failed");
  (void)query->process_all_available();
  if (!query->await_termination(20s)) return Status::internal("the query did not end");
  return query->exception().value_or(Status::ok());
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_host_that_does_not_acknowledge_fails_the_query_naming_the_epoch) {
  caf::actor_system_config config;
  caf::actor_system system{config};
  Session session(system);
  auto receiver = system.spawn(silent_receiver);
  Status status = run_until_failure(
      session, std::make_shared<actors::ActorSink>(system, receiver,
                                                   actors::ActorSinkOptions{.ack_timeout = 300ms}));
  BOOST_TEST(!status.is_ok());
  BOOST_TEST(status.message().find("did not acknowledge epoch 0") != std::string::npos,
             status.to_string());
  BOOST_TEST(status.message().find("after 300 ms") != std::string::npos, status.to_string());
  caf::anon_send_exit(receiver, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_receiver_that_is_gone_fails_the_query) {
  caf::actor_system_config config;
  caf::actor_system system{config};
  Session session(system);
  auto receiver = system.spawn(silent_receiver);
  {
    caf::scoped_actor self{system};
    self->send_exit(receiver, caf::exit_reason::user_shutdown);
    self->wait_for(receiver);
  }
  Status status = run_until_failure(session, std::make_shared<actors::ActorSink>(system, receiver));
  BOOST_TEST(!status.is_ok());
  BOOST_TEST(status.message().find("did not acknowledge epoch 0") != std::string::npos,
             status.to_string());
}

BOOST_AUTO_TEST_CASE(a_query_with_an_actor_sink_warns_that_its_receiver_deduplicates) {
  caf::actor_system_config config;
  caf::actor_system system{config};
  Session session(system);
  auto receiver = system.spawn(silent_receiver);
  MemoryStream input(session, Schema::make({{"v", Type::Int64}}).value());
  auto query = input.to_df()
                   .write_stream()
                   .sink(std::make_shared<actors::ActorSink>(system, receiver))
                   .start();
  BOOST_REQUIRE(query.ok());
  auto warnings = query->warnings();
  BOOST_REQUIRE(warnings.size() == 1u);
  BOOST_TEST(warnings[0].find("receiver must skip epochs it already applied") != std::string::npos);
  BOOST_REQUIRE(query->stop().is_ok());
  caf::anon_send_exit(receiver, caf::exit_reason::user_shutdown);
}
