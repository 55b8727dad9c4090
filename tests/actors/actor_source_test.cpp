#define BOOST_TEST_MODULE actor_source
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <set>

#include <sluice/sluice.hpp>

#include "actors/actor_source.hpp"
#include "tests/support/epoch_collector.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using sluice::testing::EpochCollector;
using sluice::testing::TemporaryDirectory;

namespace {

SchemaPtr reading_schema() {
  return Schema::make({{"device", Type::Int64}, {"value", Type::Double}}).value();
}

actors::PushAck push_and_wait(caf::actor_system& system, const actors::actor_source& source,
                              actors::PushRows rows) {
  caf::scoped_actor self{system};
  actors::PushAck result;
  self->request(source, caf::infinite, std::move(rows))
      .receive(
          [&](const actors::PushAck& ack) { result = ack; },
          [&](const caf::error& error) { result.status = Status::internal(system.render(error)); });
  return result;
}

}  // namespace

// The host owns the actor system; Sluice's actors run on its scheduler beside the host's own.
// Rows pushed to the actor source come back through the actor sink, filtered and projected as
// the query says (checked against a row-by-row reference).
BOOST_AUTO_TEST_CASE(
    a_session_on_the_host_actor_system_runs_a_query_from_actor_source_to_actor_sink) {
  const uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  caf::actor_system_config config;
  actors::configure(config);
  caf::actor_system system{config};
  TemporaryDirectory log_dir, checkpoint;
  auto collector = std::make_shared<EpochCollector>();
  std::vector<std::vector<Value>> expected;
  {
    Session session(system);
    BOOST_TEST(&session.system() == &system);
    auto source = PushSource::open(reading_schema(), log_dir.path(), {.sync = false}).value();
    auto handle = actors::spawn_actor_source(system, source);
    auto sink =
        std::make_shared<actors::ActorSink>(system, testing::spawn_collector(system, collector));
    auto query = session.read_stream()
                     .source(source)
                     .load()
                     .filter(col("value") > 0.5)
                     .select(col("device"), (col("value") * 10).alias("scaled"))
                     .write_stream()
                     .sink(sink)
                     .option("checkpointLocation", checkpoint.path())
                     .start();
    BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
    int64_t last_offset = -1;
    for (int push = 0; push < 20; ++push) {
      std::vector<std::vector<Value>> rows;
      for (int i = 0; i < 1 + static_cast<int>(random() % 10); ++i) {
        const auto device = static_cast<int64_t>(random() % 5);
        const double value = static_cast<double>(random() % 1000) / 1000.0;
        rows.push_back({device, value});
        if (value > 0.5) expected.push_back({device, value * 10});
      }
      actors::PushAck ack = push_and_wait(system, handle, actors::PushRows{rows});
      BOOST_REQUIRE_MESSAGE(ack.status.is_ok(), ack.status.to_string());
      BOOST_TEST(ack.offset == last_offset + 1);  // offsets are log positions, one per push
      last_offset = ack.offset;
    }
    BOOST_REQUIRE(query->process_all_available().is_ok());
    BOOST_REQUIRE(query->stop().is_ok());
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
  }
  auto got = collector->rows();
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  BOOST_TEST((got == expected), got.size()
                                    << " rows delivered, " << expected.size() << " expected");
  BOOST_TEST(collector->replays_skipped == 0);
}

// A push is acknowledged only once it is in the log: after the ack, a new source over the same
// directory (as after a crash) holds it, even though no query ever read it.
BOOST_AUTO_TEST_CASE(an_acknowledged_push_is_in_the_log_and_a_bad_push_is_refused) {
  caf::actor_system_config config;
  caf::actor_system system{config};
  TemporaryDirectory log_dir;
  {
    auto source = PushSource::open(reading_schema(), log_dir.path()).value();
    auto handle = actors::spawn_actor_source(system, source);
    actors::PushAck good =
        push_and_wait(system, handle, actors::PushRows{{{int64_t{1}, 0.25}, {int64_t{2}, 0.75}}});
    BOOST_TEST(good.status.is_ok());
    BOOST_TEST(good.offset == 0);
    actors::PushAck bad = push_and_wait(system, handle, actors::PushRows{{{"one", 0.25}}});
    BOOST_TEST(!bad.status.is_ok());
    BOOST_TEST(bad.offset == -1);
    BOOST_TEST(bad.status.message().find("device") != std::string::npos, bad.status.to_string());
    auto batch = RecordBatch::from_rows(reading_schema(), {{int64_t{3}, 1.0}}).value();
    actors::PushAck second = [&] {
      caf::scoped_actor self{system};
      actors::PushAck result;
      self->request(handle, caf::infinite, actors::PushBatch{batch})
          .receive([&](const actors::PushAck& ack) { result = ack; }, [&](const caf::error&) {});
      return result;
    }();
    BOOST_TEST(second.offset == 1);
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    caf::scoped_actor self{system};
    self->wait_for(handle);
  }
  auto reopened = PushSource::open(reading_schema(), log_dir.path()).value();
  BOOST_TEST(reopened->end() == 2);
  auto reader = reopened->open_reader(0, 0, 2).value();
  RecordBatchPtr out;
  std::vector<std::vector<Value>> rows;
  while (reader->next(out).value() == ReadFlow::have_batch) {
    for (auto& row : out->to_rows())
      rows.push_back(std::move(row));
  }
  BOOST_TEST((rows == std::vector<std::vector<Value>>{
                          {int64_t{1}, 0.25}, {int64_t{2}, 0.75}, {int64_t{3}, 1.0}}));
}

BOOST_AUTO_TEST_CASE(configure_keeps_the_host_settings_and_leaves_two_scheduler_threads_at_least) {
  caf::actor_system_config single;
  single.set("scheduler.max-threads", size_t{1});
  actors::configure(single);
  BOOST_TEST(caf::get_or(single, "scheduler.max-threads", size_t{0}) == 2u);
  caf::actor_system_config wide;
  wide.set("scheduler.max-threads", size_t{8});
  actors::configure(wide);
  BOOST_TEST(caf::get_or(wide, "scheduler.max-threads", size_t{0}) == 8u);
}

// Pushes sent without waiting for their acks are logged in group commits; each ack still names
// the log position holding exactly that push.
BOOST_AUTO_TEST_CASE(pushes_sent_together_are_acknowledged_with_their_own_positions) {
  caf::actor_system_config config;
  caf::actor_system system{config};
  TemporaryDirectory log_dir;
  auto source = PushSource::open(reading_schema(), log_dir.path()).value();
  auto handle = actors::spawn_actor_source(system, source);
  caf::scoped_actor self{system};
  constexpr int kPushes = 300;
  std::vector<decltype(self->request(handle, caf::infinite, actors::PushRows{}))> replies;
  for (int i = 0; i < kPushes; ++i) {
    replies.push_back(self->request(handle, caf::infinite, actors::PushRows{{{int64_t{i}, 0.5}}}));
  }
  std::set<int64_t> positions;
  for (int i = 0; i < kPushes; ++i) {
    replies[static_cast<size_t>(i)].receive(
        [&](const actors::PushAck& ack) {
          BOOST_REQUIRE_MESSAGE(ack.status.is_ok(), ack.status.to_string());
          positions.insert(ack.offset);
          auto reader = source->open_reader(0, ack.offset, ack.offset + 1).value();
          RecordBatchPtr batch;
          BOOST_REQUIRE(reader->next(batch).value() == ReadFlow::have_batch);
          BOOST_TEST(batch->to_rows()[0][0].as_int64() == i);
        },
        [&](const caf::error& error) { BOOST_FAIL(system.render(error)); });
  }
  BOOST_TEST(positions.size() == static_cast<size_t>(kPushes));
  BOOST_TEST(source->end() == kPushes);
  self->send_exit(handle, caf::exit_reason::user_shutdown);
}
