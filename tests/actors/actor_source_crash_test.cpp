#define BOOST_TEST_MODULE actor_source_crash
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "tests/actors/embed_child_support.hpp"
#include "tests/support/temporary_directory.hpp"

using sluice::testing::TemporaryDirectory;
using namespace sluice::testing;

// A host process pushes ids through the actor source and records each acknowledged push; it is
// SIGKILLed at random moments (the random input; the seed is printed), restarted each time, and
// finally left to finish. Every acknowledged id is in the output exactly once, and an epoch
// delivered in several runs carries the same rows each time.
BOOST_AUTO_TEST_CASE(sigkilled_host_loses_no_acknowledged_push_and_doubles_none) {
  const uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  TemporaryDirectory log_dir, checkpoint, output;
  const char* chaos = std::getenv("SLUICE_CHAOS_KILLS");
  const int kills = chaos ? std::atoi(chaos) : 8;
  int run = 0;
  for (; run < kills; ++run) {
    pid_t pid = spawn_embed_child(
        {log_dir.path(), checkpoint.path(), output.path(), std::to_string(run), "push-forever"});
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + random() % 400));
    ::kill(pid, SIGKILL);
    wait_child(pid);
  }
  BOOST_REQUIRE(
      wait_child(spawn_embed_child({log_dir.path(), checkpoint.path(), output.path(),
                                          std::to_string(run), "push-then-stop"})) == 0);

  std::set<int64_t> acknowledged;
  for (int r = 0; r <= run; ++r) {
    for (int64_t id : read_ids(output.path() + "/acks-" + std::to_string(r) + ".txt"))
      acknowledged.insert(id);
  }
  std::map<int64_t, int> delivered;
  size_t replayed_epochs = 0;
  for (const auto& [epoch, runs] : read_deliveries(output.path())) {
    const auto& first = runs.begin()->second;
    for (const auto& [r, rows] : runs)
      BOOST_TEST(rows == first, "epoch " << epoch << " differs in run " << r);
    replayed_epochs += runs.size() > 1;
    for (int64_t id : first)
      ++delivered[id];
  }
  for (const auto& [id, count] : delivered)
    BOOST_TEST(count == 1, "id " << id << " delivered " << count << " times");
  for (int64_t id : acknowledged)
    BOOST_TEST(delivered.count(id) == 1u, "acknowledged id " << id << " was lost");
  BOOST_TEST_MESSAGE(kills << " kills, " << acknowledged.size() << " acknowledged ids, "
                           << delivered.size() << " delivered, " << replayed_epochs
                           << " epochs delivered again after a kill");
  BOOST_TEST(acknowledged.size() >= 200u);
}
