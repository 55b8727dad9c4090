#define BOOST_TEST_MODULE checkpoint_store
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "state/checkpoint_store.hpp"

// Lets Boost.Test print the std types compared below.
namespace boost::test_tools::tt_detail {
template <typename T>
struct print_log_value<std::optional<T>> {
  void operator()(std::ostream& out, const std::optional<T>& value) {
    if (value) {
      out << "optional(" << *value << ")";
    } else {
      out << "nullopt";
    }
  }
};
template <typename First, typename Second>
struct print_log_value<std::pair<First, Second>> {
  void operator()(std::ostream& out, const std::pair<First, Second>& value) {
    out << "(" << value.first << ", " << value.second << ")";
  }
};
}  // namespace boost::test_tools::tt_detail

using namespace sluice;
namespace fs = std::filesystem;

namespace {

// Creates a fresh directory under the system temporary directory; removes it with its content.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::string pattern = (fs::temp_directory_path() / "sluice-state-XXXXXX").string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    BOOST_REQUIRE(::mkdtemp(buffer.data()) != nullptr);
    path_ = buffer.data();
  }
  ~TemporaryDirectory() {
    std::error_code error;
    fs::remove_all(path_, error);
  }
  const std::string& path() const { return path_; }
  // Returns a checkpoint directory inside, not yet created (open must create it).
  std::string checkpoint() const { return path_ + "/checkpoint"; }

 private:
  std::string path_;
};

std::unique_ptr<CheckpointStore> open_store(const std::string& path,
                                            const CheckpointOptions& options = {}) {
  auto store = CheckpointStore::open(path, options);
  BOOST_REQUIRE_MESSAGE(store.ok(), store.status().to_string());
  return std::move(store).value();
}

CheckpointOptions unsynced() {
  CheckpointOptions options;
  options.sync = false;
  return options;
}

void require_ok(const Status& status) {
  BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
}

void commit(CheckpointStore& store, int64_t epoch, std::vector<StateChange> changes = {},
            std::string offsets = "") {
  if (offsets.empty()) offsets = "offsets of " + std::to_string(epoch);
  require_ok(store.write_offsets(epoch, offsets));
  require_ok(store.commit_epoch({epoch, "commit of " + std::to_string(epoch), std::move(changes)}));
}

bool contains(const Status& status, const std::string& text) {
  return status.message().find(text) != std::string::npos;
}

// Runs `body` in a child process made by fork(); returns its exit code (128 + signal if
// killed). The child leaves with _exit, so it runs no destructor and no test framework code.
template <typename Body>
int run_in_child(Body body) {
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(body());
  int status = 0;
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  BOOST_REQUIRE(out.good());
}

// Flips one byte inside every occurrence of `marker` in `file`; returns the occurrences.
int flip_byte_in_marker(const std::string& file, const std::string& marker) {
  std::string bytes = read_file(file);
  int occurrences = 0;
  for (size_t at = bytes.find(marker); at != std::string::npos;
       at = bytes.find(marker, at + marker.size())) {
    bytes[at + marker.size() / 2] = static_cast<char>(bytes[at + marker.size() / 2] ^ 0x20);
    ++occurrences;
  }
  write_file(file, bytes);
  return occurrences;
}

std::vector<std::pair<std::string, std::string>> scan(const CheckpointStore& store,
                                                      const std::string& table,
                                                      const std::string& prefix = "") {
  std::vector<std::pair<std::string, std::string>> out;
  require_ok(
      store.scan_state_prefix(table, prefix, [&](std::string_view key, std::string_view value) {
        out.emplace_back(key, value);
        return true;
      }));
  return out;
}

uint32_t test_seed() {
  const char* fixed = std::getenv("SLUICE_TEST_SEED");
  uint32_t seed =
      fixed ? static_cast<uint32_t>(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed << " (rerun with SLUICE_TEST_SEED=" << seed << ")");
  return seed;
}

}  // namespace

BOOST_AUTO_TEST_CASE(fresh_checkpoint_has_no_metadata_and_no_epochs) {
  TemporaryDirectory dir;
  auto store = open_store(dir.checkpoint());
  BOOST_TEST(fs::is_directory(dir.checkpoint()));
  BOOST_TEST(store->path() == dir.checkpoint());
  BOOST_TEST(!store->read_metadata().value().has_value());
  BOOST_TEST(!store->latest_offsets_epoch().value().has_value());
  BOOST_TEST(!store->latest_committed_epoch().value().has_value());
  BOOST_TEST(!store->read_offsets(0).value().has_value());
  BOOST_TEST(!store->read_commit(0).value().has_value());
  BOOST_TEST(!store->get_state("t", "k").value().has_value());
  auto stats = store->stats().value();
  BOOST_TEST(stats.epochs_retained == 0);
  BOOST_TEST(stats.offsets_entries == 0);
  BOOST_TEST(stats.state_entries == 0);
  BOOST_TEST(stats.meta_entries == 1);  // the store's own layout version
}

BOOST_AUTO_TEST_CASE(metadata_round_trip_survives_reopen) {
  TemporaryDirectory dir;
  CheckpointMetadata metadata{"3f0c9a52-1d3b-4c5e-9f8a-2b7d6e1c0a94",
                              std::string("source kafka:t1\0schema(a INT64)", 31), 7};
  {
    auto store = open_store(dir.checkpoint());
    require_ok(store->write_metadata(metadata));
    BOOST_TEST((store->read_metadata().value() == metadata));
  }
  auto store = open_store(dir.checkpoint());
  auto read = store->read_metadata().value();
  BOOST_REQUIRE(read.has_value());
  BOOST_TEST(read->query_id == metadata.query_id);
  BOOST_TEST(read->plan_fingerprint == metadata.plan_fingerprint);
  BOOST_TEST(read->format_version == 7);
}

BOOST_AUTO_TEST_CASE(metadata_without_query_id_is_refused) {
  TemporaryDirectory dir;
  auto store = open_store(dir.checkpoint());
  Status status = store->write_metadata({"", "plan", 1});
  BOOST_TEST(status.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(status, "query_id"));
}

BOOST_AUTO_TEST_CASE(offsets_then_commit_then_reopen_reports_latest_epochs) {
  TemporaryDirectory dir;
  {
    auto store = open_store(dir.checkpoint());
    for (int64_t epoch = 0; epoch < 5; ++epoch) {
      require_ok(store->write_offsets(epoch, "kafka t1 p0 [" + std::to_string(epoch * 10) + ", " +
                                                 std::to_string(epoch * 10 + 10) + ")"));
      BOOST_TEST(store->latest_offsets_epoch().value() == std::optional<int64_t>(epoch));
      require_ok(store->commit_epoch({epoch, "watermark " + std::to_string(epoch), {}}));
      BOOST_TEST(store->latest_committed_epoch().value() == std::optional<int64_t>(epoch));
    }
  }
  auto store = open_store(dir.checkpoint());
  BOOST_TEST(store->latest_offsets_epoch().value() == std::optional<int64_t>(4));
  BOOST_TEST(store->latest_committed_epoch().value() == std::optional<int64_t>(4));
  BOOST_TEST(store->read_offsets(3).value() == std::optional<std::string>("kafka t1 p0 [30, 40)"));
  BOOST_TEST(store->read_commit(2).value() == std::optional<std::string>("watermark 2"));
  BOOST_TEST(!store->read_commit(5).value().has_value());
}

BOOST_AUTO_TEST_CASE(offsets_without_commit_survive_reopen_as_the_next_epoch) {
  TemporaryDirectory dir;
  const std::string logged("file part-0007 [0, 1000)\0\xff", 26);
  {
    auto store = open_store(dir.checkpoint());
    commit(*store, 0);
    commit(*store, 1);
    require_ok(store->write_offsets(2, logged));
  }  // closed between write-ahead and commit, as a crash would leave it
  auto store = open_store(dir.checkpoint());
  auto committed = store->latest_committed_epoch().value();
  auto logged_epoch = store->latest_offsets_epoch().value();
  BOOST_REQUIRE(committed.has_value());
  BOOST_REQUIRE(logged_epoch.has_value());
  BOOST_TEST(*committed == 1);
  BOOST_TEST(*logged_epoch == *committed + 1);
  BOOST_TEST(store->read_offsets(2).value() == std::optional<std::string>(logged));
  // Recovery re-runs the logged range and commits it.
  require_ok(store->write_offsets(2, logged));
  require_ok(store->commit_epoch({2, "", {}}));
  BOOST_TEST(store->latest_committed_epoch().value() == std::optional<int64_t>(2));
}

BOOST_AUTO_TEST_CASE(commit_without_offsets_is_refused) {
  TemporaryDirectory dir;
  auto store = open_store(dir.checkpoint());
  Status status = store->commit_epoch({0, "", {{"t", "k", "v"}}});
  BOOST_TEST(status.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(status, "epoch 0"));
  BOOST_TEST(contains(status, "no offsets"));
  BOOST_TEST(!store->get_state("t", "k").value().has_value());
  BOOST_TEST(!store->latest_committed_epoch().value().has_value());

  commit(*store, 0);
  status = store->commit_epoch({1, "", {}});
  BOOST_TEST(status.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(status, "epoch 1"));
}

BOOST_AUTO_TEST_CASE(commit_out_of_order_is_refused) {
  TemporaryDirectory dir;
  auto store = open_store(dir.checkpoint());
  require_ok(store->write_offsets(0, "a"));
  require_ok(store->write_offsets(1, "b"));
  require_ok(store->write_offsets(2, "c"));

  Status skip_first = store->commit_epoch({1, "", {{"t", "k", "1"}}});
  BOOST_TEST(skip_first.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(skip_first, "cannot commit epoch 1"));
  BOOST_TEST(contains(skip_first, "epoch 0 is the oldest"));

  require_ok(store->commit_epoch({0, "", {{"t", "k", "0"}}}));
  Status gap = store->commit_epoch({2, "", {{"t", "k", "2"}}});
  BOOST_TEST(gap.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(gap, "latest committed epoch is 0"));
  BOOST_TEST(contains(gap, "next is 1"));

  Status again = store->commit_epoch({0, "", {{"t", "k", "again"}}});
  BOOST_TEST(again.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(again, "already committed"));

  BOOST_TEST(store->get_state("t", "k").value() == std::optional<std::string>("0"));
  BOOST_TEST(store->latest_committed_epoch().value() == std::optional<int64_t>(0));
}

BOOST_AUTO_TEST_CASE(rewriting_logged_offsets_with_different_bytes_is_refused) {
  TemporaryDirectory dir;
  auto store = open_store(dir.checkpoint());
  require_ok(store->write_offsets(0, "kafka t1 p0 [0, 100)"));
  require_ok(store->write_offsets(0, "kafka t1 p0 [0, 100)"));  // identical: idempotent
  Status changed = store->write_offsets(0, "kafka t1 p0 [0, 101)");
  BOOST_TEST(changed.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(changed, "epoch 0"));
  BOOST_TEST(contains(changed, "different contents"));
  BOOST_TEST(store->read_offsets(0).value() == std::optional<std::string>("kafka t1 p0 [0, 100)"));
}

BOOST_AUTO_TEST_CASE(offsets_of_committed_skipped_or_too_distant_epochs_are_refused) {
  TemporaryDirectory dir;
  CheckpointOptions options;
  options.max_uncommitted_epochs = 3;
  auto store = open_store(dir.checkpoint(), options);
  require_ok(store->write_offsets(5, "first epoch may be any"));
  require_ok(store->commit_epoch({5, "", {}}));

  Status committed = store->write_offsets(5, "first epoch may be any");
  BOOST_TEST(committed.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(committed, "already committed"));
  BOOST_TEST(store->write_offsets(4, "x").code() == StatusCode::invalid_argument);

  Status gap = store->write_offsets(7, "x");
  BOOST_TEST(gap.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(gap, "next epoch to log is 6"));

  // Overlapping epochs: 6, 7 and 8 may be logged before 6 commits, 9 may not.
  require_ok(store->write_offsets(6, "x"));
  require_ok(store->write_offsets(7, "x"));
  require_ok(store->write_offsets(8, "x"));
  Status too_far = store->write_offsets(9, "x");
  BOOST_TEST(too_far.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(too_far, "max_uncommitted_epochs = 3"));
  require_ok(store->commit_epoch({6, "", {}}));
  require_ok(store->write_offsets(9, "x"));

  Status negative = store->write_offsets(-1, "x");
  BOOST_TEST(negative.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(negative, "negative"));
}

BOOST_AUTO_TEST_CASE(state_changes_and_deletes_apply_with_the_commit) {
  TemporaryDirectory dir;
  {
    auto store = open_store(dir.checkpoint());
    require_ok(store->write_offsets(0, "o"));
    BOOST_TEST(!store->get_state("counts", "a").value().has_value());  // not before commit
    require_ok(store->commit_epoch(
        {0, "", {{"counts", "a", "1"}, {"counts", "b", "2"}, {"counts", "c", "3"}}}));
    commit(*store, 1,
           {{"counts", "a", std::nullopt},
            {"counts", "b", "20"},
            {"counts", "b", "21"},  // a later change of the same key wins
            {"counts", "missing", std::nullopt}});
  }
  auto store = open_store(dir.checkpoint());
  BOOST_TEST(!store->get_state("counts", "a").value().has_value());
  BOOST_TEST(store->get_state("counts", "b").value() == std::optional<std::string>("21"));
  BOOST_TEST(store->get_state("counts", "c").value() == std::optional<std::string>("3"));
  BOOST_TEST(store->stats().value().state_entries == 2);
}

BOOST_AUTO_TEST_CASE(empty_value_is_distinct_from_a_deleted_key) {
  TemporaryDirectory dir;
  auto store = open_store(dir.checkpoint());
  commit(*store, 0, {{"t", "empty", ""}});
  BOOST_TEST(store->get_state("t", "empty").value() == std::optional<std::string>(""));
}

BOOST_AUTO_TEST_CASE(bad_state_keys_are_refused_and_nothing_is_written) {
  TemporaryDirectory dir;
  auto store = open_store(dir.checkpoint());
  require_ok(store->write_offsets(0, "o"));
  Status empty_table = store->commit_epoch({0, "", {{"t", "ok", "1"}, {"", "k", "v"}}});
  BOOST_TEST(empty_table.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(empty_table, "state change 1"));
  Status zero_byte = store->commit_epoch({0, "", {{std::string("a\0b", 3), "k", "v"}}});
  BOOST_TEST(zero_byte.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(zero_byte, "zero byte"));
  Status long_key = store->commit_epoch({0, "", {{"t", std::string(600, 'k'), "v"}}});
  BOOST_TEST(long_key.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(long_key, "too long"));
  BOOST_TEST(!store->get_state("t", "ok").value().has_value());
  BOOST_TEST(!store->latest_committed_epoch().value().has_value());
  // The longest key that fits is accepted.
  std::string longest(511 - 2, 'k');
  require_ok(store->commit_epoch({0, "", {{"t", longest, "v"}}}));
  BOOST_TEST(store->get_state("t", longest).value() == std::optional<std::string>("v"));
}

BOOST_AUTO_TEST_CASE(scans_visit_keys_of_one_table_in_byte_order) {
  std::mt19937 random(test_seed());
  TemporaryDirectory dir;
  auto store = open_store(dir.checkpoint(), unsynced());
  // Tables that are prefixes of each other must not leak into each other's scans.
  const std::vector<std::string> tables = {"a", "ab", "a/b", "b"};
  std::map<std::string, std::map<std::string, std::string>> reference;
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 6);
  std::uniform_int_distribution<size_t> table_index(0, tables.size() - 1);
  for (int64_t epoch = 0; epoch < 20; ++epoch) {
    std::vector<StateChange> changes;
    for (int i = 0; i < 100; ++i) {
      std::string key;
      int size = length(random);
      // Keys from a small alphabet including 0x00 and 0xff, to exercise byte order.
      for (int j = 0; j < size; ++j)
        key.push_back(
            static_cast<char>("\x00\x01"
                              "a\x7f\x80\xff"[byte(random) % 6]));
      const std::string& table = tables[table_index(random)];
      if (byte(random) < 40) {
        changes.push_back({table, key, std::nullopt});
        reference[table].erase(key);
      } else {
        std::string value = "v" + std::to_string(epoch) + "." + std::to_string(i);
        changes.push_back({table, key, value});
        reference[table][key] = value;
      }
    }
    commit(*store, epoch, std::move(changes));
  }
  for (const std::string& table : tables) {
    std::vector<std::pair<std::string, std::string>> expected(reference[table].begin(),
                                                              reference[table].end());
    BOOST_TEST_CONTEXT("table " << table) {
      BOOST_TEST(scan(*store, table) == expected);
      for (std::string prefix : {std::string(), std::string("a"), std::string(1, '\0'),
                                 std::string("\xff"), std::string("\x80\x80")}) {
        std::vector<std::pair<std::string, std::string>> expected_prefix;
        for (const auto& entry : reference[table]) {
          if (entry.first.starts_with(prefix)) expected_prefix.push_back(entry);
        }
        BOOST_TEST(scan(*store, table, prefix) == expected_prefix);
      }
    }
  }
  BOOST_TEST(scan(*store, "absent").empty());
}

BOOST_AUTO_TEST_CASE(scan_stops_when_the_visitor_returns_false) {
  TemporaryDirectory dir;
  auto store = open_store(dir.checkpoint());
  commit(*store, 0,
         {{"t", "user/1", "a"}, {"t", "user/2", "b"}, {"t", "user/3", "c"}, {"t", "v", "d"}});
  std::vector<std::string> seen;
  require_ok(store->scan_state_prefix("t", "user/", [&](std::string_view key, std::string_view) {
    seen.emplace_back(key);
    return seen.size() < 2;
  }));
  BOOST_TEST(seen == (std::vector<std::string>{"user/1", "user/2"}));
  seen.clear();
  require_ok(store->scan_state("t", [&](std::string_view key, std::string_view) {
    seen.emplace_back(key);
    return true;
  }));
  BOOST_TEST(seen == (std::vector<std::string>{"user/1", "user/2", "user/3", "v"}));
}

BOOST_AUTO_TEST_CASE(sink_logs_are_state_tables_written_with_the_commit) {
  TemporaryDirectory dir;
  auto store = open_store(dir.checkpoint());
  BOOST_TEST(sink_log_table("parquet_out") == "sink/parquet_out");
  commit(*store, 0, {{sink_log_table("parquet_out"), "0", "part-0000.parquet"}});
  BOOST_TEST(store->get_state(sink_log_table("parquet_out"), "0").value() ==
             std::optional<std::string>("part-0000.parquet"));
}

BOOST_AUTO_TEST_CASE(crash_after_write_ahead_leaves_state_of_the_last_commit) {
  TemporaryDirectory dir;
  const std::string path = dir.checkpoint();
  int code = run_in_child([&] {
    auto store = CheckpointStore::open(path);
    if (!store.ok()) return 10;
    if (!(*store)->write_offsets(0, "range 0").is_ok()) return 11;
    if (!(*store)->commit_epoch({0, "", {{"t", "k", "committed"}}}).is_ok()) return 12;
    if (!(*store)->write_offsets(1, "range 1").is_ok()) return 13;
    // Epoch 1 runs: its state delta lives only in memory when the process dies.
    EpochCommit running{1, "", {{"t", "k", "uncommitted"}, {"t", "new", "uncommitted"}}};
    if (running.state_changes.size() != 2) return 14;
    ::_exit(0);
  });
  BOOST_REQUIRE(code == 0);
  auto store = open_store(path);
  BOOST_TEST(store->get_state("t", "k").value() == std::optional<std::string>("committed"));
  BOOST_TEST(!store->get_state("t", "new").value().has_value());
  BOOST_TEST(store->latest_committed_epoch().value() == std::optional<int64_t>(0));
  BOOST_TEST(store->latest_offsets_epoch().value() == std::optional<int64_t>(1));
  BOOST_TEST(store->read_offsets(1).value() == std::optional<std::string>("range 1"));
}

BOOST_AUTO_TEST_CASE(crash_after_commit_without_close_keeps_the_committed_state) {
  TemporaryDirectory dir;
  const std::string path = dir.checkpoint();
  int code = run_in_child([&] {
    auto store = CheckpointStore::open(path);
    if (!store.ok()) return 10;
    if (!(*store)->write_offsets(0, "range 0").is_ok()) return 11;
    if (!(*store)->commit_epoch({0, "wm 0", {{"t", "k", "v0"}, {"t", "gone", "x"}}}).is_ok()) {
      return 12;
    }
    if (!(*store)->write_offsets(1, "range 1").is_ok()) return 13;
    if (!(*store)
             ->commit_epoch({1, "wm 1", {{"t", "k", "v1"}, {"t", "gone", std::nullopt}}})
             .is_ok()) {
      return 14;
    }
    ::_exit(0);  // no destructor: the lock and the environment are never closed
  });
  BOOST_REQUIRE(code == 0);
  auto store = open_store(path);  // the dead process's lock is gone with it
  BOOST_TEST(store->latest_committed_epoch().value() == std::optional<int64_t>(1));
  BOOST_TEST(store->read_commit(1).value() == std::optional<std::string>("wm 1"));
  BOOST_TEST(store->get_state("t", "k").value() == std::optional<std::string>("v1"));
  BOOST_TEST(!store->get_state("t", "gone").value().has_value());
}

BOOST_AUTO_TEST_CASE(crash_at_a_random_point_of_a_commit_leaves_all_or_nothing) {
  std::mt19937 random(test_seed());
  constexpr int kKeys = 20000;
  int committed_rounds = 0;
  int lost_rounds = 0;
  for (int round = 0; round < 6; ++round) {
    TemporaryDirectory dir;
    const std::string path = dir.checkpoint();
    {
      auto store = open_store(path);
      std::vector<StateChange> initial;
      for (int i = 0; i < kKeys; ++i)
        initial.push_back({"t", "key" + std::to_string(i), "old"});
      commit(*store, 0, std::move(initial));
      require_ok(store->write_offsets(1, "range 1"));
    }
    const int delay_us = std::uniform_int_distribution<int>(0, 40000)(random);
    int code = run_in_child([&] {
      auto store = CheckpointStore::open(path);
      if (!store.ok()) return 10;
      std::vector<StateChange> changes;
      for (int i = 0; i < kKeys; ++i) {
        if (i % 10 == 0) {
          changes.push_back({"t", "key" + std::to_string(i), std::nullopt});
        } else {
          changes.push_back({"t", "key" + std::to_string(i), "new"});
        }
      }
      CheckpointStore* raw = store->get();
      std::thread committer([raw, &changes] {
        (void)raw->commit_epoch({1, "", std::move(changes)});
      });
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
      ::_exit(0);
    });
    BOOST_REQUIRE(code == 0);
    auto store = open_store(path);
    auto committed = store->latest_committed_epoch().value();
    BOOST_REQUIRE(committed.has_value());
    BOOST_TEST_CONTEXT("round " << round << ", crash after " << delay_us << " us") {
      BOOST_TEST((*committed == 0 || *committed == 1));
      int64_t old_values = 0, new_values = 0;
      require_ok(store->scan_state("t", [&](std::string_view, std::string_view value) {
        (value == "old" ? old_values : new_values) += 1;
        return true;
      }));
      if (*committed == 1) {
        ++committed_rounds;
        BOOST_TEST(old_values == 0);
        BOOST_TEST(new_values == kKeys - kKeys / 10);
      } else {
        ++lost_rounds;
        BOOST_TEST(old_values == kKeys);
        BOOST_TEST(new_values == 0);
        BOOST_TEST(store->read_offsets(1).value() == std::optional<std::string>("range 1"));
      }
    }
  }
  BOOST_TEST_MESSAGE("crash rounds: " << committed_rounds << " committed, " << lost_rounds
                                      << " lost before commit");
}

BOOST_AUTO_TEST_CASE(second_open_in_the_same_process_is_refused) {
  TemporaryDirectory dir;
  auto first = open_store(dir.checkpoint());
  auto second = CheckpointStore::open(dir.checkpoint());
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.status().code() == StatusCode::io_error);
  BOOST_TEST(contains(second.status(), "in use"));
  BOOST_TEST(contains(second.status(), "this process (pid " + std::to_string(::getpid())));
  // The refused open must not disturb the first one.
  commit(*first, 0, {{"t", "k", "v"}});
  BOOST_TEST(first->get_state("t", "k").value() == std::optional<std::string>("v"));
  first.reset();
  auto third = open_store(dir.checkpoint());
  BOOST_TEST(third->get_state("t", "k").value() == std::optional<std::string>("v"));
}

BOOST_AUTO_TEST_CASE(open_from_another_process_is_refused_while_held_and_accepted_after_close) {
  TemporaryDirectory dir;
  const std::string path = dir.checkpoint();
  const std::string parent_pid = std::to_string(::getpid());
  auto store = open_store(path);
  int refused = run_in_child([&] {
    auto other = CheckpointStore::open(path);
    if (other.ok()) return 1;
    if (other.status().code() != StatusCode::io_error) return 2;
    if (!contains(other.status(), "in use")) return 3;
    if (!contains(other.status(), "process " + parent_pid)) return 4;
    return 0;
  });
  BOOST_TEST(refused == 0);
  store.reset();
  int accepted = run_in_child([&] {
    auto other = CheckpointStore::open(path);
    if (!other.ok()) return 1;
    if (!(*other)->write_offsets(0, "from the child").is_ok()) return 2;
    return 0;  // the destructor is skipped by _exit; the kernel releases the lock
  });
  BOOST_TEST(accepted == 0);
  store = open_store(path);
  BOOST_TEST(store->read_offsets(0).value() == std::optional<std::string>("from the child"));
}

BOOST_AUTO_TEST_CASE(flipped_byte_in_an_offsets_value_is_reported_as_corrupt) {
  TemporaryDirectory dir;
  const std::string marker = "OFFSETS-MARKER-5f2c9e1d";
  {
    auto store = open_store(dir.checkpoint());
    commit(*store, 0, {}, "kafka t1 " + marker + " [0, 100)");
  }
  BOOST_REQUIRE(flip_byte_in_marker(dir.checkpoint() + "/data.mdb", marker) >= 1);
  auto store = open_store(dir.checkpoint());
  auto offsets = store->read_offsets(0);
  BOOST_REQUIRE(!offsets.ok());
  BOOST_TEST(offsets.status().code() == StatusCode::corrupt);
  BOOST_TEST(contains(offsets.status(), "offsets entry of epoch 0"));
  BOOST_TEST(contains(offsets.status(), "checksum"));
  BOOST_TEST(contains(offsets.status(), dir.checkpoint()));
  // Keys are intact: the epoch is still known, its bytes are not trusted.
  BOOST_TEST(store->latest_offsets_epoch().value() == std::optional<int64_t>(0));
}

BOOST_AUTO_TEST_CASE(flipped_byte_in_a_state_value_is_reported_as_corrupt) {
  TemporaryDirectory dir;
  const std::string marker = "STATE-MARKER-a81b77c0";
  {
    auto store = open_store(dir.checkpoint());
    commit(*store, 0, {{"counts", "alpha", "1"}, {"counts", "beta", marker}});
  }
  BOOST_REQUIRE(flip_byte_in_marker(dir.checkpoint() + "/data.mdb", marker) >= 1);
  auto store = open_store(dir.checkpoint());
  BOOST_TEST(store->get_state("counts", "alpha").value() == std::optional<std::string>("1"));
  auto value = store->get_state("counts", "beta");
  BOOST_REQUIRE(!value.ok());
  BOOST_TEST(value.status().code() == StatusCode::corrupt);
  BOOST_TEST(contains(value.status(), "table 'counts' key 'beta'"));
  Status scanned =
      store->scan_state("counts", [](std::string_view, std::string_view) { return true; });
  BOOST_TEST(scanned.code() == StatusCode::corrupt);
}

BOOST_AUTO_TEST_CASE(truncated_data_file_is_refused) {
  TemporaryDirectory dir;
  const std::string data_file = dir.checkpoint() + "/data.mdb";
  int64_t used = 0;
  {
    auto store = open_store(dir.checkpoint());
    std::vector<StateChange> changes;
    for (int i = 0; i < 3000; ++i) {
      changes.push_back({"t", "key" + std::to_string(i), std::string(100, 'v')});
    }
    commit(*store, 0, std::move(changes));
    used = store->stats().value().used_bytes;
  }
  BOOST_REQUIRE(used > 50 * 4096);
  const std::string original = read_file(data_file);

  fs::resize_file(data_file, static_cast<uintmax_t>(used / 2));
  auto half = CheckpointStore::open(dir.checkpoint());
  BOOST_REQUIRE(!half.ok());
  BOOST_TEST(half.status().code() == StatusCode::corrupt);
  BOOST_TEST(contains(half.status(), "truncated"));

  fs::resize_file(data_file, 100);
  auto header_only = CheckpointStore::open(dir.checkpoint());
  BOOST_REQUIRE(!header_only.ok());
  BOOST_TEST(header_only.status().code() == StatusCode::corrupt);
  BOOST_TEST(contains(header_only.status(), "data.mdb"));

  fs::resize_file(data_file, 0);
  auto empty = CheckpointStore::open(dir.checkpoint());
  BOOST_REQUIRE(!empty.ok());
  BOOST_TEST(empty.status().code() == StatusCode::corrupt);
  BOOST_TEST(contains(empty.status(), "empty"));

  // The refusals changed nothing: the original bytes open again.
  write_file(data_file, original);
  auto restored = open_store(dir.checkpoint());
  BOOST_TEST(restored->get_state("t", "key2999").value() ==
             std::optional<std::string>(std::string(100, 'v')));
}

BOOST_AUTO_TEST_CASE(garbage_in_place_of_the_data_file_is_refused) {
  std::mt19937 random(test_seed());
  for (size_t size : {size_t{10}, size_t{100}, size_t{4096}, size_t{1 << 16}}) {
    TemporaryDirectory dir;
    fs::create_directories(dir.checkpoint());
    std::string garbage(size, '\0');
    for (char& c : garbage)
      c = static_cast<char>(random());
    write_file(dir.checkpoint() + "/data.mdb", garbage);
    auto store = CheckpointStore::open(dir.checkpoint());
    BOOST_TEST_CONTEXT("garbage of " << size << " bytes") {
      BOOST_REQUIRE(!store.ok());
      BOOST_TEST(store.status().code() == StatusCode::corrupt);
      BOOST_TEST(contains(store.status(), "not an LMDB environment"));
    }
  }
  TemporaryDirectory dir;
  fs::create_directories(dir.checkpoint() + "/data.mdb");
  auto directory = CheckpointStore::open(dir.checkpoint());
  BOOST_REQUIRE(!directory.ok());
  BOOST_TEST(contains(directory.status(), "not a regular file"));
}

BOOST_AUTO_TEST_CASE(invalid_options_and_paths_are_refused) {
  TemporaryDirectory dir;
  CheckpointOptions no_retention;
  no_retention.min_batches_to_retain = 0;
  auto refused = CheckpointStore::open(dir.checkpoint(), no_retention);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.status().code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(refused.status(), "min_batches_to_retain"));

  write_file(dir.path() + "/a_file", "x");
  auto not_directory = CheckpointStore::open(dir.path() + "/a_file");
  BOOST_REQUIRE(!not_directory.ok());
  BOOST_TEST(not_directory.status().code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(not_directory.status(), "a_file': it exists and is not a directory"));
}

BOOST_AUTO_TEST_CASE(garbage_lmdb_lock_file_is_rebuilt_by_the_exclusive_owner) {
  TemporaryDirectory dir;
  {
    auto store = open_store(dir.checkpoint());
    commit(*store, 0, {{"t", "k", "v"}});
  }
  // lock.mdb only holds the reader table; the single owner (we hold the flock) rebuilds it.
  write_file(dir.checkpoint() + "/lock.mdb", std::string(8192, '\x5a'));
  auto store = open_store(dir.checkpoint());
  BOOST_TEST(store->get_state("t", "k").value() == std::optional<std::string>("v"));
  commit(*store, 1, {{"t", "k", "w"}});
  BOOST_TEST(store->get_state("t", "k").value() == std::optional<std::string>("w"));
}

BOOST_AUTO_TEST_CASE(retention_keeps_the_last_100_of_100000_epochs_in_a_small_file) {
  TemporaryDirectory dir;
  CheckpointOptions options = unsynced();  // speed only: durability is not what is tested
  constexpr int64_t kEpochs = 100000;
  auto started = std::chrono::steady_clock::now();
  {
    auto store = open_store(dir.checkpoint(), options);
    for (int64_t epoch = 0; epoch < kEpochs; ++epoch) {
      std::string number = std::to_string(epoch);
      require_ok(store->write_offsets(epoch, "kafka t1 p0 [" + number + "00, " + number + "99]"));
      require_ok(store->commit_epoch({epoch, "watermark " + number, {{"t", "last", number}}}));
    }
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  BOOST_TEST_MESSAGE(kEpochs << " epochs in " << seconds << " s");

  auto store = open_store(dir.checkpoint(), options);
  auto stats = store->stats().value();
  BOOST_TEST_MESSAGE("data.mdb " << stats.data_file_bytes << " bytes, " << stats.used_bytes
                                 << " used");
  BOOST_TEST(stats.epochs_retained == 100);
  BOOST_TEST(stats.offsets_entries == 100);
  BOOST_TEST(stats.commits_entries == 100);
  BOOST_TEST(stats.oldest_committed_epoch == std::optional<int64_t>(kEpochs - 100));
  BOOST_TEST(stats.oldest_offsets_epoch == std::optional<int64_t>(kEpochs - 100));
  BOOST_TEST(stats.latest_committed_epoch == std::optional<int64_t>(kEpochs - 1));
  BOOST_TEST(stats.data_file_bytes < 5 * 1024 * 1024);
  BOOST_TEST(!store->read_offsets(kEpochs - 101).value().has_value());
  BOOST_TEST(!store->read_commit(kEpochs - 101).value().has_value());
  BOOST_TEST(store->read_offsets(kEpochs - 100).value() ==
             std::optional<std::string>("kafka t1 p0 [9990000, 9990099]"));
  BOOST_TEST(store->read_commit(kEpochs - 1).value() ==
             std::optional<std::string>("watermark 99999"));
  BOOST_TEST(store->get_state("t", "last").value() == std::optional<std::string>("99999"));
}

BOOST_AUTO_TEST_CASE(full_map_grows_and_the_commit_succeeds) {
  TemporaryDirectory dir;
  CheckpointOptions options;
  options.map_size_bytes = 256 << 10;
  auto store = open_store(dir.checkpoint(), options);
  std::vector<StateChange> changes;
  for (int i = 0; i < 3000; ++i) {
    changes.push_back(
        {"t", "key" + std::to_string(i), std::string(1000, static_cast<char>('a' + i % 26))});
  }
  commit(*store, 0, changes);
  auto stats = store->stats().value();
  BOOST_TEST(stats.map_size_bytes > (256 << 10));
  BOOST_TEST(stats.state_entries == 3000);
  BOOST_TEST(store->get_state("t", "key2999").value() == changes[2999].value);
  store.reset();
  // The grown map is kept on reopen even though the options ask for less.
  store = open_store(dir.checkpoint(), options);
  BOOST_TEST(store->stats().value().map_size_bytes == stats.map_size_bytes);
  commit(*store, 1, {{"t", "more", std::string(1000, 'm')}});
}

BOOST_AUTO_TEST_CASE(map_that_cannot_grow_enough_reports_checkpoint_full) {
  TemporaryDirectory dir;
  CheckpointOptions options;
  options.map_size_bytes = 256 << 10;
  options.max_map_size_bytes = 512 << 10;
  auto store = open_store(dir.checkpoint(), options);
  BOOST_TEST(store->stats().value().map_size_bytes == (256 << 10));
  require_ok(store->write_offsets(0, "o"));
  std::vector<StateChange> changes;
  for (int i = 0; i < 3000; ++i)
    changes.push_back({"t", "key" + std::to_string(i), std::string(1000, 'x')});
  Status full = store->commit_epoch({0, "", changes});
  BOOST_TEST(full.code() == StatusCode::io_error);
  BOOST_TEST(contains(full, "checkpoint full"));
  BOOST_TEST(store->stats().value().map_size_bytes == (512 << 10));
  BOOST_TEST(!store->latest_committed_epoch().value().has_value());
  BOOST_TEST(!store->get_state("t", "key0").value().has_value());
  // A commit that fits still succeeds afterwards.
  require_ok(store->commit_epoch({0, "", {{"t", "small", "v"}}}));
  BOOST_TEST(store->get_state("t", "small").value() == std::optional<std::string>("v"));
}

BOOST_AUTO_TEST_CASE(readers_on_other_threads_see_whole_commits_only) {
  TemporaryDirectory dir;
  auto store = open_store(dir.checkpoint(), unsynced());
  constexpr int kEpochs = 300;
  constexpr int kKeys = 16;
  std::atomic<bool> done = false;
  std::atomic<int> torn_reads = 0;
  std::atomic<int> scans = 0;
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      int64_t previous = -1;
      while (!done.load()) {
        std::vector<std::string> values;
        Status status = store->scan_state("t", [&](std::string_view, std::string_view value) {
          values.emplace_back(value);
          return true;
        });
        if (!status.is_ok()) ++torn_reads;
        if (values.empty()) continue;
        // Every commit writes its epoch into all keys: one snapshot shows one epoch.
        for (const std::string& value : values) {
          if (value != values.front() || values.size() != kKeys) ++torn_reads;
        }
        int64_t seen = std::stoll(values.front());
        if (seen < previous) ++torn_reads;
        previous = seen;
        ++scans;
      }
    });
  }
  for (int epoch = 0; epoch < kEpochs; ++epoch) {
    std::vector<StateChange> changes;
    for (int k = 0; k < kKeys; ++k)
      changes.push_back({"t", "k" + std::to_string(k), std::to_string(epoch)});
    commit(*store, epoch, std::move(changes));
  }
  done = true;
  for (auto& reader : readers)
    reader.join();
  BOOST_TEST(torn_reads.load() == 0);
  BOOST_TEST_MESSAGE(scans.load() << " concurrent scans");
  BOOST_TEST(store->get_state("t", "k0").value() ==
             std::optional<std::string>(std::to_string(kEpochs - 1)));
}

BOOST_AUTO_TEST_CASE(write_ahead_on_one_thread_and_commits_on_another_overlap_safely) {
  TemporaryDirectory dir;
  CheckpointOptions options = unsynced();
  options.max_uncommitted_epochs = 4;
  auto store = open_store(dir.checkpoint(), options);
  constexpr int64_t kEpochs = 500;
  std::atomic<int64_t> logged = -1;
  std::atomic<int> failures = 0;
  std::thread planner([&] {
    for (int64_t epoch = 0; epoch < kEpochs; ++epoch) {
      // Stay within the overlap bound: wait until epoch - committed <= 4.
      while (true) {
        auto committed = store->latest_committed_epoch();
        if (!committed.ok()) {
          ++failures;
          return;
        }
        if (epoch - committed->value_or(-1) <= options.max_uncommitted_epochs) break;
        std::this_thread::yield();
      }
      if (!store->write_offsets(epoch, "range " + std::to_string(epoch)).is_ok()) ++failures;
      logged = epoch;
    }
  });
  for (int64_t epoch = 0; epoch < kEpochs; ++epoch) {
    while (logged.load() < epoch)
      std::this_thread::yield();
    Status status = store->commit_epoch({epoch, "", {{"t", "epoch", std::to_string(epoch)}}});
    if (!status.is_ok()) {
      BOOST_TEST_MESSAGE(status.to_string());
      ++failures;
    }
  }
  planner.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(store->latest_committed_epoch().value() == std::optional<int64_t>(kEpochs - 1));
  BOOST_TEST(store->get_state("t", "epoch").value() == std::optional<std::string>("499"));
}
