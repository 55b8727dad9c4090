#define BOOST_TEST_MODULE file_crash
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <sluice/sluice.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "io/file_sink.hpp"
#include "tests/support/temporary_directory.hpp"

using sluice::testing::TemporaryDirectory;
namespace fs = std::filesystem;

extern char** environ;

namespace {

pid_t spawn_child(const std::string& input, const std::string& output,
                  const std::string& checkpoint, int max_epochs) {
  std::vector<std::string> args = {FILE_CRASH_CHILD_PATH, input, output, checkpoint,
                                   std::to_string(max_epochs)};
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  BOOST_REQUIRE(posix_spawn(&pid, FILE_CRASH_CHILD_PATH, nullptr, nullptr, argv.data(), environ) ==
                0);
  return pid;
}

// Reads what a reader of the sink may see: the files its manifest committed, each id counted.
std::map<int64_t, int> committed_ids(const std::string& output) {
  std::map<int64_t, int> seen;
  auto manifest = sluice::read_manifest(output);
  BOOST_REQUIRE_MESSAGE(manifest.ok(), manifest.status().to_string());
  for (const auto& file : manifest->files) {
    std::ifstream in(output + "/" + file);
    BOOST_REQUIRE_MESSAGE(in, "committed file " << file << " is missing");
    for (std::string line; std::getline(in, line);) {
      const size_t at = line.find("\"id\":");
      BOOST_REQUIRE_MESSAGE(at != std::string::npos, "partial record in " << file << ": " << line);
      ++seen[std::stoll(line.substr(at + 5))];
    }
  }
  return seen;
}

}  // namespace

BOOST_AUTO_TEST_CASE(landing_zone_rows_arrive_exactly_once_across_sigkills) {
  TemporaryDirectory dir;
  const std::string input = dir.file("landing"), output = dir.file("out"),
                    checkpoint = dir.file("cp");
  fs::create_directories(input);
  const unsigned seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937 random(seed);
  constexpr int kFiles = 60, kRowsPerFile = 20;
  // The writer drops files in while the query runs; every third is written slowly under a
  // hidden name and renamed in when complete.
  std::thread writer([&] {
    std::mt19937 pace(seed + 1);
    for (int f = 0; f < kFiles; ++f) {
      const std::string name = "f" + std::to_string(f) + ".json";
      const bool slow = f % 3 == 0;
      const std::string target = input + "/" + (slow ? "." + name + ".tmp" : name);
      {
        std::ofstream out(target);
        for (int r = 0; r < kRowsPerFile; ++r) {
          out << "{\"id\":" << f * kRowsPerFile + r << ",\"group\":\"g" << r % 3 << "\"}\n";
          if (slow && r == kRowsPerFile / 2) {
            out.flush();
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
        }
      }
      if (slow) fs::rename(target, input + "/" + name);
      std::this_thread::sleep_for(std::chrono::milliseconds(pace() % 8));
    }
  });
  for (int kill = 0; kill < 8; ++kill) {
    pid_t pid = spawn_child(input, output, checkpoint, 1 << 30);
    // The kill moment is the random input of this test, so here a sleep is the point.
    std::this_thread::sleep_for(std::chrono::milliseconds(40 + random() % 120));
    ::kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    // Between crashes a reader sees only whole epochs and no row twice.
    for (const auto& [id, count] : committed_ids(output))
      BOOST_REQUIRE_MESSAGE(count == 1, "id " << id << " seen " << count << " times");
  }
  writer.join();
  // A final run drains what is left.
  for (int attempt = 0;
       attempt < 100 && committed_ids(output).size() < size_t{kFiles * kRowsPerFile}; ++attempt) {
    pid_t pid = spawn_child(input, output, checkpoint, 1);
    int status = 0;
    waitpid(pid, &status, 0);
    BOOST_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto seen = committed_ids(output);
  BOOST_TEST(seen.size() == size_t{kFiles * kRowsPerFile});
  for (const auto& [id, count] : seen)
    BOOST_REQUIRE_MESSAGE(count == 1, "id " << id << " seen " << count << " times");
  BOOST_TEST(seen.begin()->first == 0);
  BOOST_TEST(seen.rbegin()->first == kFiles * kRowsPerFile - 1);
}
