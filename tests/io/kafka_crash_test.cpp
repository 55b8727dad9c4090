#define BOOST_TEST_MODULE kafka_crash
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "io/kafka_dev_broker.hpp"
#include "tests/support/kafka_test_support.hpp"
#include "tests/support/temporary_directory.hpp"

// A Kafka -> files query killed with SIGKILL at random moments while records keep arriving,
// restarted each time from its checkpoint: every record of the topic ends up in the output
// exactly once. The broker lives in this process, so it outlives every kill.

using sluice::testing::TemporaryDirectory;

extern char** environ;

namespace {

pid_t spawn_child(const std::vector<std::string>& arguments) {
  std::vector<std::string> args = arguments;
  args.insert(args.begin(), KAFKA_CRASH_CHILD_PATH);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  BOOST_REQUIRE(posix_spawn(&pid, KAFKA_CRASH_CHILD_PATH, nullptr, nullptr, argv.data(), environ) == 0);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  BOOST_REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Returns the values of the records the epoch files in `output` hold, each once.
std::set<std::string> values_written(const std::string& output) {
  std::set<std::string> values;
  for (const auto& entry : std::filesystem::directory_iterator(output)) {
    if (entry.path().extension() != ".txt") continue;
    std::ifstream file(entry.path());
    std::string topic;
    std::string partition;
    std::string offset;
    std::string value;
    while (file >> topic >> partition >> offset >> value)
      values.insert(value);
  }
  return values;
}

// Checks that the epoch files in `output` hold every one of `produced` records (their values
// unique) exactly once, each at its own topic, partition and offset.
void check_each_record_once(const std::string& output, const std::set<std::string>& produced) {
  std::map<std::string, int> seen;  // value -> times
  std::map<std::tuple<std::string, int64_t, int64_t>, int> positions;
  for (const auto& entry : std::filesystem::directory_iterator(output)) {
    if (entry.path().extension() != ".txt") continue;
    std::ifstream file(entry.path());
    std::string topic;
    int64_t partition = 0;
    int64_t offset = 0;
    std::string value;
    while (file >> topic >> partition >> offset >> value) {
      ++seen[value];
      ++positions[{topic, partition, offset}];
    }
  }
  int doubled = 0;
  int unknown = 0;
  for (const auto& [value, times] : seen) {
    doubled += times > 1;
    unknown += produced.count(value) == 0;
  }
  BOOST_TEST(doubled == 0);
  BOOST_TEST(unknown == 0);
  BOOST_TEST(seen.size() == produced.size());
  BOOST_TEST(positions.size() == produced.size());
}

unsigned seed_and_kills(int& kills) {
  kills = std::getenv("SLUICE_CHAOS_KILLS") ? std::atoi(std::getenv("SLUICE_CHAOS_KILLS")) : 8;
  const unsigned seed = std::getenv("SLUICE_TEST_SEED")
                            ? static_cast<unsigned>(std::atol(std::getenv("SLUICE_TEST_SEED")))
                            : std::random_device()();
  BOOST_TEST_MESSAGE("seed " << seed << " (SLUICE_TEST_SEED), " << kills << " kills");
  return seed;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sigkill_while_consuming_reads_each_record_once) {
  auto broker = sluice::kafka::DevBroker::start(1);
  BOOST_REQUIRE(broker.ok());
  const std::string bootstrap = (*broker)->bootstrap_servers();
  BOOST_REQUIRE((*broker)->create_topic("in", 3).is_ok());
  TemporaryDirectory checkpoint;
  TemporaryDirectory output;

  int kills = 0;
  std::mt19937 random(seed_and_kills(kills));
  int produced = 0;
  std::set<std::string> values;
  auto produce = [&](int count) {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = 0; i < count; ++i, ++produced) records.emplace_back("k" + std::to_string(produced % 17), "v" + std::to_string(produced));
    for (const auto& record : records)
      values.insert(record.second);
    sluice::testing::produce_records(bootstrap, "in", records);
  };
  produce(3000);
  for (int kill = 0; kill < kills; ++kill) {
    pid_t child = spawn_child({bootstrap, checkpoint.path(), output.path(), "run"});
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + random() % 400));  // a random moment to kill at
    produce(500);
    ::kill(child, SIGKILL);
    BOOST_REQUIRE_EQUAL(wait_exit(child), 128 + SIGKILL);
  }
  pid_t last = spawn_child({bootstrap, checkpoint.path(), output.path(), "finish"});
  BOOST_REQUIRE_EQUAL(wait_exit(last), 0);
  check_each_record_once(output.path(), values);
}

// Topics matching the child's subscribePattern appear while it runs and while it is dead
// (librdkafka 2.0.2's mock cannot add partitions to a topic; new topics are new partitions to
// the query alike): each record of every topic still reaches the results exactly once, with the
// micro-batch and with the continuous trigger.
BOOST_AUTO_TEST_CASE(sigkill_while_topics_appear_reads_each_record_once) {
  for (const std::string mode : {"pattern", "pattern-continuous"}) {
    BOOST_TEST_CONTEXT("mode " << mode) {
      auto broker = sluice::kafka::DevBroker::start(1);
      BOOST_REQUIRE(broker.ok());
      const std::string bootstrap = (*broker)->bootstrap_servers();
      TemporaryDirectory checkpoint;
      TemporaryDirectory output;
      int kills = 0;
      std::mt19937 random(seed_and_kills(kills));
      std::vector<std::string> topics;
      auto create_topic = [&] {
        const std::string topic = "grow-" + std::to_string(topics.size());
        BOOST_REQUIRE((*broker)->create_topic(topic, 1 + static_cast<int>(random() % 3)).is_ok());
        topics.push_back(topic);
      };
      int produced = 0;
      std::set<std::string> values;
      auto produce = [&](int count) {
        // Into every topic, the newest getting as many as all the others.
        std::map<std::string, std::vector<std::pair<std::string, std::string>>> records;
        for (int i = 0; i < count; ++i, ++produced) {
          const std::string& topic = i % 2 == 0 ? topics.back() : topics[random() % topics.size()];
          records[topic].emplace_back("k" + std::to_string(produced % 17),
                                      topic + ":" + std::to_string(produced));
        }
        for (const auto& [topic, list] : records) {
          for (const auto& record : list)
            values.insert(record.second);
          sluice::testing::produce_records(bootstrap, topic, list);
        }
      };
      create_topic();
      produce(1000);
      for (int kill = 0; kill < kills; ++kill) {
        pid_t child = spawn_child({bootstrap, checkpoint.path(), output.path(), "run", mode});
        std::this_thread::sleep_for(
            std::chrono::milliseconds(50 + random() % 400));  // a random moment
        if (kill % 2 == 0) create_topic();                    // while the child runs
        produce(300);
        ::kill(child, SIGKILL);
        BOOST_REQUIRE_EQUAL(wait_exit(child), 128 + SIGKILL);
        if (kill % 2 == 1) {
          create_topic();  // while no child runs
          produce(100);
        }
      }
      // The killed children read topics that appeared while they ran, not only the last one.
      std::set<std::string> found_topics;
      for (const auto& value : values_written(output.path()))
        found_topics.insert(value.substr(0, value.find(':')));
      BOOST_TEST_MESSAGE(mode << ": the killed children read " << found_topics.size() << " of "
                              << topics.size() << " topics");
      BOOST_TEST(found_topics.size() > 1u);
      pid_t last = spawn_child({bootstrap, checkpoint.path(), output.path(), "finish", mode});
      BOOST_REQUIRE_EQUAL(wait_exit(last), 0);
      BOOST_TEST_MESSAGE(mode << ": " << topics.size() << " topics, " << produced << " records");
      check_each_record_once(output.path(), values);
    }
  }
}
