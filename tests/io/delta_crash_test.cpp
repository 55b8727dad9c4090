#define BOOST_TEST_MODULE delta_crash
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "io/delta_batch_read.hpp"
#include "io/delta_log.hpp"
#include "io/kafka_dev_broker.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/kafka_test_support.hpp"
#include "tests/support/temporary_directory.hpp"

// A Kafka -> aggregation -> Delta (update mode) query killed with SIGKILL at random moments
// while records keep arriving, restarted each time from its checkpoint: the table at its last
// version holds exactly the counts of an uninterrupted run, and every version of the log is
// whole (it parses, and every file it names exists). The broker lives in this process, so it
// outlives every kill.

using namespace sluice;
using sluice::testing::TemporaryDirectory;

BOOST_AUTO_TEST_CASE(sigkill_at_random_moments_leaves_exact_counts_and_whole_versions) {
  auto broker = kafka::DevBroker::start(1);
  BOOST_REQUIRE(broker.ok());
  const std::string bootstrap = (*broker)->bootstrap_servers();
  BOOST_REQUIRE((*broker)->create_topic("in", 3).is_ok());
  TemporaryDirectory dir;
  const std::string checkpoint = dir.file("checkpoint");
  const std::string table = dir.file("table");

  const int kills =
      std::getenv("SLUICE_CHAOS_KILLS") ? std::atoi(std::getenv("SLUICE_CHAOS_KILLS")) : 6;
  const unsigned seed = std::random_device()();
  BOOST_TEST_MESSAGE("seed " << seed << ", " << kills << " kills");
  std::cout << "seed " << seed << std::endl;
  std::mt19937 random(seed);
  int produced = 0;
  std::map<std::string, int64_t> produced_per_key;  // the reference: an uninterrupted run's counts
  auto produce = [&](int count) {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = 0; i < count; ++i, ++produced) {
      const std::string key = "k" + std::to_string(produced % 23);
      records.emplace_back(key, "v" + std::to_string(produced));
      ++produced_per_key[key];
    }
    sluice::testing::produce_records(bootstrap, "in", records);
  };
  produce(1500);
  for (int kill = 0; kill < kills; ++kill) {
    const pid_t child =
        sluice::testing::spawn_child(DELTA_CRASH_CHILD_PATH, {bootstrap, checkpoint, table, "run"});
    std::this_thread::sleep_for(
        std::chrono::milliseconds(100 + random() % 600));  // a random moment
    produce(300);
    ::kill(child, SIGKILL);
    BOOST_REQUIRE_EQUAL(sluice::testing::wait_child(child), 128 + SIGKILL);
  }
  const pid_t last = sluice::testing::spawn_child(DELTA_CRASH_CHILD_PATH,
                                                  {bootstrap, checkpoint, table, "finish"});
  BOOST_REQUIRE_EQUAL(sluice::testing::wait_child(last), 0);

  // The latest version: one row per key with the count of every record produced.
  DeltaReadOptions latest;
  latest.path = table;
  auto rows = read_delta_table(latest);
  BOOST_REQUIRE_MESSAGE(rows.ok(), rows.status().to_string());
  std::map<std::string, int64_t> counted;
  for (const auto& row : (*rows)->to_rows()) {
    BOOST_TEST(counted.count(row[0].as_string()) == 0u, "key " << row[0].to_string() << " twice");
    counted[row[0].as_string()] = row[1].as_int64();
  }
  BOOST_TEST((counted == produced_per_key));

  // Every version is whole: it parses, and every file it holds is there to read.
  const DeltaVersionRange range = delta_version_range(table).value();
  BOOST_TEST(range.latest > kills);
  for (int64_t version = range.earliest; version <= range.latest; ++version) {
    DeltaReadOptions at;
    at.path = table;
    at.version_as_of = version;
    auto read = read_delta_table(at);
    BOOST_TEST(read.ok(), "version " << version << ": " << read.status().to_string());
  }
}
