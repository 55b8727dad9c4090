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
#include <thread>

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

}  // namespace

BOOST_AUTO_TEST_CASE(sigkill_while_consuming_reads_each_record_once) {
  auto broker = sluice::kafka::DevBroker::start(1);
  BOOST_REQUIRE(broker.ok());
  const std::string bootstrap = (*broker)->bootstrap_servers();
  BOOST_REQUIRE((*broker)->create_topic("in", 3).is_ok());
  TemporaryDirectory checkpoint;
  TemporaryDirectory output;

  const int kills = std::getenv("SLUICE_CHAOS_KILLS") ? std::atoi(std::getenv("SLUICE_CHAOS_KILLS")) : 8;
  const unsigned seed = std::random_device()();
  BOOST_TEST_MESSAGE("seed " << seed << ", " << kills << " kills");
  std::mt19937 random(seed);
  int produced = 0;
  auto produce = [&](int count) {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = 0; i < count; ++i, ++produced) records.emplace_back("k" + std::to_string(produced % 17), "v" + std::to_string(produced));
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

  std::map<std::string, int> seen;  // value -> times
  std::map<std::pair<int64_t, int64_t>, int> positions;
  for (const auto& entry : std::filesystem::directory_iterator(output.path())) {
    if (entry.path().extension() != ".txt") continue;
    std::ifstream file(entry.path());
    int64_t partition = 0;
    int64_t offset = 0;
    std::string value;
    while (file >> partition >> offset >> value) {
      ++seen[value];
      ++positions[{partition, offset}];
    }
  }
  int doubled = 0;
  for (const auto& [value, times] : seen) doubled += times > 1;
  BOOST_TEST(doubled == 0);
  BOOST_TEST(seen.size() == static_cast<size_t>(produced));
  BOOST_TEST(positions.size() == static_cast<size_t>(produced));
}
