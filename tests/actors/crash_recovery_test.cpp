#define BOOST_TEST_MODULE crash_recovery
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/fault_injection.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temporary_directory.hpp"

using sluice::testing::TemporaryDirectory;


namespace {

pid_t spawn_child(const std::string& checkpoint, const std::string& output, int max_epochs,
                  const std::string& crash_at = "", const std::string& mode = "stateless") {
  return sluice::testing::spawn_child(CRASH_CHILD_PATH, {checkpoint, output, std::to_string(max_epochs), mode},
                                      crash_at);
}

int wait_exit(pid_t pid) { return sluice::testing::wait_child(pid); }

// Reads every committed output file and checks exactly-once: no value twice across epochs,
// and within each rate partition (value parity) no gap below the largest value seen.
void check_exactly_once(const std::string& output, size_t& epochs, size_t& rows) {
  std::map<int64_t, int> seen;
  epochs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(output)) {
    if (entry.path().extension() != ".txt") continue;
    ++epochs;
    std::ifstream file(entry.path());
    int64_t value = 0, doubled = 0;
    while (file >> value >> doubled) {
      BOOST_TEST(doubled == value * 2);
      ++seen[value];
    }
  }
  rows = seen.size();
  BOOST_REQUIRE(!seen.empty());
  int64_t max_by_parity[2] = {-1, -1};
  for (const auto& [value, count] : seen) {
    BOOST_TEST(count == 1, "value " << value << " delivered " << count << " times");
    BOOST_TEST(value % 3 != 0);
    max_by_parity[value % 2] = std::max(max_by_parity[value % 2], value);
  }
  for (int parity = 0; parity < 2; ++parity) {
    for (int64_t v = parity; v <= max_by_parity[parity]; v += 2) {
      if (v % 3 == 0) continue;
      BOOST_TEST(seen.count(v) == 1u, "value " << v << " was lost");
      if (!seen.count(v)) return;
    }
  }
}

// Runs the child in `mode` and SIGKILLs it at random moments, SLUICE_CHAOS_KILLS times (or
// `default_kills`), then once more to a clean stop after 3 epochs. The kill moment is the random
// input of these tests, so a sleep is the point here. Returns the number of kills.
int kill_repeatedly(const std::string& checkpoint, const std::string& output,
                    const std::string& mode, int default_kills) {
  const uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE(mode << " seed " << seed);
  std::mt19937_64 random(seed);
  const char* chaos = std::getenv("SLUICE_CHAOS_KILLS");
  const int kills = chaos ? std::atoi(chaos) : default_kills;
  for (int kill = 0; kill < kills; ++kill) {
    pid_t pid = spawn_child(checkpoint, output, 1'000'000, "", mode);
    std::this_thread::sleep_for(std::chrono::milliseconds(40 + random() % 300));
    ::kill(pid, SIGKILL);
    wait_exit(pid);
  }
  BOOST_REQUIRE(wait_exit(spawn_child(checkpoint, output, 3, "", mode)) == 0);
  return kills;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sigkill_at_random_moments_loses_nothing_and_doubles_nothing) {
  TemporaryDirectory checkpoint;
  TemporaryDirectory output;
  const int kills = kill_repeatedly(checkpoint.path(), output.path(), "stateless", 20);
  size_t epochs = 0, rows = 0;
  check_exactly_once(output.path(), epochs, rows);
  BOOST_TEST_MESSAGE(kills << " kills, " << epochs << " epochs, " << rows << " rows");
  BOOST_TEST(epochs >= 3u);
}

// Checks the last epoch's complete result of the stateful child: per key k = value % 10, the
// count, sum and max of exactly the values 0 .. N-1, where N is the total count.
void check_stateful_result(const std::string& output) {
  int64_t last_epoch = -1;
  for (const auto& entry : std::filesystem::directory_iterator(output)) {
    if (entry.path().extension() != ".txt") continue;
    last_epoch = std::max<int64_t>(last_epoch, std::stoll(entry.path().stem().string().substr(6)));
  }
  BOOST_REQUIRE(last_epoch >= 0);
  std::ifstream file(output + "/epoch-" + std::to_string(last_epoch) + ".txt");
  std::map<int64_t, std::array<int64_t, 3>> groups;
  int64_t k = 0, n = 0, s = 0, m = 0, total = 0;
  while (file >> k >> n >> s >> m) {
    groups[k] = {n, s, m};
    total += n;
  }
  BOOST_REQUIRE(total > 0);
  for (const auto& [key, agg] : groups) {
    int64_t count = 0, sum = 0, max = -1;
    for (int64_t v = key; v < total; v += 10)
      ++count, sum += v, max = v;
    BOOST_TEST(agg[0] == count, "key " << key << " count");
    BOOST_TEST(agg[1] == sum, "key " << key << " sum");
    BOOST_TEST(agg[2] == max, "key " << key << " max");
  }
  BOOST_TEST(groups.size() == static_cast<size_t>(std::min<int64_t>(total, 10)));
}

BOOST_AUTO_TEST_CASE(stateful_aggregation_survives_sigkill_exactly) {
  TemporaryDirectory checkpoint;
  TemporaryDirectory output;
  kill_repeatedly(checkpoint.path(), output.path(), "stateful", 10);
  check_stateful_result(output.path());
}

// Checks the join child's output: every value read by both streams is joined once, no value
// twice, none missing below the largest.
void check_join_exactly_once(const std::string& output) {
  std::map<int64_t, int> seen;
  for (const auto& entry : std::filesystem::directory_iterator(output)) {
    if (entry.path().extension() != ".txt") continue;
    std::ifstream file(entry.path());
    int64_t k = 0, a = 0, b = 0;
    while (file >> k >> a >> b) {
      BOOST_TEST(a == 2 * k);
      BOOST_TEST(b == 3 * k);
      ++seen[k];
    }
  }
  BOOST_REQUIRE(!seen.empty());
  for (int64_t k = 0; k <= seen.rbegin()->first; ++k) {
    BOOST_TEST(seen[k] == 1, "value " << k << " joined " << seen[k] << " times");
    if (seen[k] != 1) break;
  }
}

BOOST_AUTO_TEST_CASE(stream_join_survives_sigkill_exactly_once) {
  TemporaryDirectory checkpoint;
  TemporaryDirectory output;
  kill_repeatedly(checkpoint.path(), output.path(), "join", 10);
  check_join_exactly_once(output.path());
}

BOOST_AUTO_TEST_CASE(stream_join_with_a_one_byte_state_cache_survives_sigkill_exactly_once) {
  TemporaryDirectory checkpoint;
  TemporaryDirectory output;
  kill_repeatedly(checkpoint.path(), output.path(), "join_small_cache", 10);
  check_join_exactly_once(output.path());
}

BOOST_AUTO_TEST_CASE(continuous_trigger_survives_sigkill_exactly_once) {
  TemporaryDirectory checkpoint;
  TemporaryDirectory output;
  kill_repeatedly(checkpoint.path(), output.path(), "continuous", 10);
  size_t epochs = 0, rows = 0;
  check_exactly_once(output.path(), epochs, rows);
  BOOST_TEST(epochs >= 3u);
}

BOOST_AUTO_TEST_CASE(a_crash_at_each_protocol_step_recovers_exactly_once) {
  for (const char* point :
       {"after_offsets_logged", "after_sink_write", "before_commit", "after_commit"}) {
    BOOST_TEST_CONTEXT("crash point " << point) {
      TemporaryDirectory checkpoint;
      TemporaryDirectory output;
      pid_t crashed =
          spawn_child(checkpoint.path(), output.path(), 1'000'000, std::string(point) + ":2");
      BOOST_TEST(wait_exit(crashed) == sluice::kFaultCrashExitCode);
      pid_t resumed = spawn_child(checkpoint.path(), output.path(), 3);
      BOOST_TEST(wait_exit(resumed) == 0);
      size_t epochs = 0, rows = 0;
      check_exactly_once(output.path(), epochs, rows);
      // Epoch 2 was reached, so epoch 0 committed (at most two epochs are in flight); the
      // resumed run's three epochs may include replays of 1 and 2: files 0..3 at least.
      BOOST_TEST(epochs >= 4u);
    }
    BOOST_TEST_CONTEXT("stateful, crash point " << point) {
      TemporaryDirectory checkpoint;
      TemporaryDirectory output;
      pid_t crashed = spawn_child(checkpoint.path(), output.path(), 1'000'000,
                                  std::string(point) + ":2", "stateful");
      BOOST_TEST(wait_exit(crashed) == sluice::kFaultCrashExitCode);
      BOOST_TEST(wait_exit(spawn_child(checkpoint.path(), output.path(), 3, "", "stateful")) == 0);
      check_stateful_result(output.path());
    }
  }
}

// Checks the sessions the sessions child emitted over all its epochs: each run of 50 values
// (user (value / 50) % 4) is one session, emitted once, and the runs emitted have no gap.
void check_sessions(const std::string& output) {
  std::map<int64_t, int> runs;  // first value of the run -> times emitted
  for (const auto& entry : std::filesystem::directory_iterator(output)) {
    if (entry.path().extension() != ".txt") continue;
    std::ifstream file(entry.path());
    std::string user, start_date, start_time, last_date, last_time;
    int64_t count = 0, sum = 0;
    while (file >> user >> start_date >> start_time >> last_date >> last_time >> count >> sum) {
      // sum of the run start .. start + 49 = 50 * start + 1225
      const int64_t start = (sum - 1225) / 50;
      BOOST_TEST(count == 50,
                 "session of " << user << " at " << start << " has " << count << " events");
      BOOST_TEST(start % 50 == 0);
      BOOST_TEST(user == "u" + std::to_string((start / 50) % 4));
      ++runs[start];
    }
  }
  BOOST_REQUIRE(!runs.empty());
  for (const auto& [start, times] : runs)
    BOOST_TEST(times == 1, "session at " << start << " emitted " << times << " times");
  const int64_t last = runs.rbegin()->first;
  for (int64_t start = 0; start <= last; start += 50)
    BOOST_TEST(runs.count(start) == 1u, "session at " << start << " lost");
  BOOST_TEST_MESSAGE(runs.size() << " sessions");
}

BOOST_AUTO_TEST_CASE(sessions_with_event_time_timeouts_survive_sigkill_exactly) {
  TemporaryDirectory checkpoint;
  TemporaryDirectory output;
  kill_repeatedly(checkpoint.path(), output.path(), "sessions", 10);
  check_sessions(output.path());
  for (const char* point : {"after_sink_write", "before_commit", "after_commit"}) {
    BOOST_TEST_CONTEXT("crash point " << point) {
      TemporaryDirectory crash_checkpoint;
      TemporaryDirectory crash_output;
      pid_t crashed = spawn_child(crash_checkpoint.path(), crash_output.path(), 1'000'000,
                                  std::string(point) + ":4", "sessions");
      BOOST_TEST(wait_exit(crashed) == sluice::kFaultCrashExitCode);
      BOOST_TEST(wait_exit(spawn_child(crash_checkpoint.path(), crash_output.path(), 4, "",
                                       "sessions")) == 0);
      check_sessions(crash_output.path());
    }
  }
}
