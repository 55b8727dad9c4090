#define BOOST_TEST_MODULE disk_full
#include <boost/test/unit_test.hpp>

#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sluice/sluice.hpp>
#include <sluice/testing.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using sluice::testing::TemporaryDirectory;

namespace {

SchemaPtr events_schema() {
  return Schema::make({{"k", Type::String}, {"v", Type::Int64}}).value();
}

std::vector<std::vector<Value>> sorted(std::vector<std::vector<Value>> rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

// The reference of group_by(k).agg(count, sum(v)) in complete mode.
std::vector<std::vector<Value>> expected_totals(const std::vector<std::vector<Value>>& input) {
  std::map<std::string, std::pair<int64_t, int64_t>> groups;
  for (const auto& row : input) {
    auto& group = groups[row[0].as_string()];
    ++group.first;
    group.second += row[1].as_int64();
  }
  std::vector<std::vector<Value>> rows;
  for (const auto& [key, group] : groups)
    rows.push_back({Value(key), Value(group.first), Value(group.second)});
  return rows;
}

Result<StreamingQuery> start_totals(MemoryStream& input, const std::string& checkpoint,
                                    const std::string& max_size) {
  return input.to_df()
      .group_by(col("k"))
      .agg(count().alias("n"), sum(col("v")).alias("total"))
      .write_stream()
      .format("memory")
      .query_name("totals")
      .output_mode(OutputMode::Complete)
      .option("checkpointLocation", checkpoint)
      .option("checkpointMaxSize", max_size)
      .option("restart.strategy", "none")
      .start();
}

// Drops the capabilities that let root ignore permission bits (CAP_DAC_OVERRIDE and friends)
// from this thread's effective set, so that a read-only directory refuses root too; threads
// started afterwards (a Session's actor threads) inherit it. Restores them at destruction.
class WithoutPermissionOverride {
 public:
  WithoutPermissionOverride() {
    header_.version = _LINUX_CAPABILITY_VERSION_3;
    header_.pid = 0;
    if (::syscall(SYS_capget, &header_, saved_) != 0) return;
    __user_cap_data_struct reduced[2];
    std::memcpy(reduced, saved_, sizeof(reduced));
    for (int capability : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER})
      reduced[capability / 32].effective &= ~(1u << (capability % 32));
    dropped_ = ::syscall(SYS_capset, &header_, reduced) == 0;
  }
  ~WithoutPermissionOverride() {
    if (dropped_) ::syscall(SYS_capset, &header_, saved_);
  }
  WithoutPermissionOverride(const WithoutPermissionOverride&) = delete;
  WithoutPermissionOverride& operator=(const WithoutPermissionOverride&) = delete;

 private:
  __user_cap_header_struct header_{};
  __user_cap_data_struct saved_[2]{};
  bool dropped_ = false;
};

// Returns true when this process cannot create a file in `directory`.
bool refuses_writes(const std::string& directory) {
  const std::string probe = directory + "/.probe";
  std::ofstream file(probe);
  if (!file) return true;
  file.close();
  std::filesystem::remove(probe);
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_full_checkpoint_stops_the_query_naming_it_and_a_larger_one_resumes_exactly) {
  const uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  TemporaryDirectory dir;
  const std::string checkpoint = dir.file("checkpoint");
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  MemoryStream input(session, events_schema());
  auto query = start_totals(input, checkpoint, "256k");
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  // Every round brings new keys, so the state (and the checkpoint) grows until it is full.
  std::vector<std::vector<Value>> all;
  Status failure;
  int committed_rounds = 0;
  for (int round = 0; round < 100 && failure.is_ok(); ++round) {
    std::vector<std::vector<Value>> rows;
    for (int i = 0; i < 200; ++i) {
      rows.push_back({Value("key-" + std::to_string(random() % 100000) + std::string(60, 'x')),
                      Value(static_cast<int64_t>(random() % 1000))});
    }
    all.insert(all.end(), rows.begin(), rows.end());
    BOOST_REQUIRE(input.add_data(rows).is_ok());
    failure = query->process_all_available();
    if (failure.is_ok()) ++committed_rounds;
  }
  BOOST_REQUIRE_MESSAGE(!failure.is_ok(), "the checkpoint never filled up");
  BOOST_TEST_MESSAGE("stopped with: " << failure.to_string());
  BOOST_TEST(committed_rounds > 0);
  BOOST_TEST(failure.to_string().find("checkpoint '" + checkpoint + "' full") != std::string::npos,
             failure.to_string());
  BOOST_TEST(query->await_termination(10s));

  // The checkpoint is still valid: restarted with room to grow, the query re-runs the epoch
  // that did not fit and the totals count every row once.
  auto resumed = start_totals(input, checkpoint, "64m");
  BOOST_REQUIRE_MESSAGE(resumed.ok(), resumed.status().to_string());
  Status status = resumed->process_all_available();
  BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
  BOOST_REQUIRE(resumed->last_progress());
  BOOST_TEST(resumed->last_progress()->batch_id == committed_rounds);
  BOOST_TEST(sorted(session.memory_table("totals")->rows()) == sorted(expected_totals(all)));
  BOOST_REQUIRE(resumed->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(a_read_only_sink_directory_stops_the_query_and_it_resumes_once_writable) {
  TemporaryDirectory dir;
  const std::string output = dir.file("output");
  const std::string checkpoint = dir.file("checkpoint");
  std::filesystem::create_directories(output);
  // As root, permission bits bind only once the override capabilities are dropped; the
  // Session's threads, started below, inherit that.
  WithoutPermissionOverride without_override;
  ::chmod(output.c_str(), 0555);
  if (!refuses_writes(output)) {
    ::chmod(output.c_str(), 0755);
    BOOST_TEST_MESSAGE(
        "skipped: this process writes into a read-only directory (root whose "
        "CAP_DAC_OVERRIDE cannot be dropped here)");
    return;
  }
  ::chmod(output.c_str(), 0755);

  Session session;
  MemoryStream input(session, events_schema());
  auto start = [&] {
    return input.to_df()
        .select(col("k"), (col("v") * int64_t{2}).alias("v2"))
        .write_stream()
        .format("csv")
        .option("path", output)
        .option("checkpointLocation", checkpoint)
        .option("restart.strategy", "none")
        .start();
  };
  std::vector<std::vector<Value>> expected;
  auto add = [&](std::vector<std::vector<Value>> rows) {
    for (const auto& row : rows)
      expected.push_back({row[0], Value(row[1].as_int64() * 2)});
    return input.add_data(rows);
  };
  auto query = start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(add({{"a", int64_t{1}}, {"b", int64_t{2}}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());

  ::chmod(output.c_str(), 0555);
  BOOST_REQUIRE(add({{"c", int64_t{3}}, {"d", int64_t{4}}}).is_ok());
  Status failure = query->process_all_available();
  BOOST_TEST(!failure.is_ok());
  BOOST_TEST_MESSAGE("stopped with: " << failure.to_string());
  BOOST_TEST(failure.to_string().find("cannot create " + output) != std::string::npos,
             failure.to_string());
  BOOST_TEST(failure.to_string().find("Permission denied") != std::string::npos,
             failure.to_string());
  BOOST_TEST(query->await_termination(10s));

  ::chmod(output.c_str(), 0755);
  auto resumed = start();
  BOOST_REQUIRE_MESSAGE(resumed.ok(), resumed.status().to_string());
  BOOST_REQUIRE(add({{"e", int64_t{5}}}).is_ok());
  Status status = resumed->process_all_available();
  BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
  BOOST_REQUIRE(resumed->stop().is_ok());

  // What the sink committed, read back through its manifest: every row once.
  auto read = session.read_stream()
                  .format("csv")
                  .schema(Schema::make({{"k", Type::String}, {"v2", Type::Int64}}).value())
                  .load(output)
                  .write_stream()
                  .format("memory")
                  .query_name("committed")
                  .trigger(Trigger::AvailableNow())
                  .start();
  BOOST_REQUIRE_MESSAGE(read.ok(), read.status().to_string());
  read->await_termination();
  BOOST_REQUIRE(!read->exception());
  BOOST_TEST(sorted(session.memory_table("committed")->rows()) == sorted(expected));
}
