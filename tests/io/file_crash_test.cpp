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
#include "io/table_sink.hpp"
#include "tests/support/temporary_directory.hpp"

using sluice::testing::TemporaryDirectory;
namespace fs = std::filesystem;

extern char** environ;

namespace {

pid_t spawn_child(const std::string& input, const std::string& output,
                  const std::string& checkpoint, int max_epochs, const std::string& mode = "") {
  std::vector<std::string> args = {FILE_CRASH_CHILD_PATH, input, output, checkpoint,
                                   std::to_string(max_epochs)};
  if (!mode.empty()) args.push_back(mode);
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

// Writes `files` JSON files of `rows_per_file` rows into `input` at once: ids 0.. in groups g0..g2.
void write_landing_files(const std::string& input, int files, int rows_per_file) {
  fs::create_directories(input);
  for (int f = 0; f < files; ++f) {
    std::ofstream out(input + "/f" + std::to_string(f) + ".json");
    for (int r = 0; r < rows_per_file; ++r)
      out << "{\"id\":" << f * rows_per_file + r << ",\"group\":\"g" << r % 3 << "\"}\n";
  }
}

// Reads the table sink's rows as group -> (rows, id_sum).
std::map<std::string, std::pair<int64_t, int64_t>> table_counts(const std::string& path) {
  std::map<std::string, std::pair<int64_t, int64_t>> counts;
  auto table = sluice::read_table_sink(path);
  if (!table.ok() && table.status().code() == sluice::StatusCode::not_found) return counts;
  BOOST_REQUIRE_MESSAGE(table.ok(), table.status().to_string());
  for (const auto& row : table->rows->to_rows())
    counts[row[0].as_string()] = {row[1].as_int64(), row[2].as_int64()};
  return counts;
}

}  // namespace

BOOST_AUTO_TEST_CASE(table_sink_after_sigkills_equals_an_uninterrupted_run) {
  TemporaryDirectory dir;
  const std::string input = dir.file("landing");
  constexpr int kFiles = 45, kRowsPerFile = 20;
  write_landing_files(input, kFiles, kRowsPerFile);
  const unsigned seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937 random(seed);
  auto run_to_end = [&](const std::string& output, const std::string& checkpoint) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      int64_t total = 0;
      for (const auto& [group, figures] : table_counts(output)) total += figures.first;
      if (total >= kFiles * kRowsPerFile) return;
      pid_t pid = spawn_child(input, output, checkpoint, 1, "table");
      int status = 0;
      waitpid(pid, &status, 0);
      BOOST_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
  };
  // The uninterrupted run, then a run killed at random moments over the same input.
  run_to_end(dir.file("clean"), dir.file("clean-cp"));
  const std::string output = dir.file("table"), checkpoint = dir.file("cp");
  for (int kill = 0; kill < 6; ++kill) {
    pid_t pid = spawn_child(input, output, checkpoint, 1 << 30, "table");
    // The kill moment is the random input of this test, so here a sleep is the point.
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + random() % 100));
    ::kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
  }
  run_to_end(output, checkpoint);
  const auto expected = table_counts(dir.file("clean"));
  BOOST_TEST(expected.size() == 3u);
  int64_t expected_sum = 0;
  for (int64_t id = 0; id < kFiles * kRowsPerFile; ++id) expected_sum += id;
  int64_t sum = 0;
  for (const auto& [group, figures] : expected) sum += figures.second;
  BOOST_TEST(sum == expected_sum);
  BOOST_TEST((table_counts(output) == expected));
}

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
