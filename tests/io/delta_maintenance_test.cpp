#define BOOST_TEST_MODULE delta_maintenance
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "io/delta_batch_read.hpp"
#include "io/delta_log.hpp"
#include "io/delta_maintenance.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/versioned_delta_writer.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using sluice::testing::random_delta_rows;
using sluice::testing::Rows;
using sluice::testing::sorted;
using sluice::testing::TemporaryDirectory;
using sluice::testing::VersionedDeltaWriter;
namespace fs = std::filesystem;

namespace {

Result<Rows> read_version(const std::string& table, std::optional<int64_t> version = std::nullopt) {
  DeltaReadOptions options;
  options.path = table;
  options.version_as_of = version;
  SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr rows, read_delta_table(options));
  return sorted(rows->to_rows());
}

std::set<std::string> data_files(const std::string& table) {
  std::set<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(table)) {
    if (entry.path().extension() == ".parquet" &&
        entry.path().string().find("_delta_log") == std::string::npos) {
      files.insert(fs::relative(entry.path(), table).string());
    }
  }
  return files;
}

std::set<std::string> live_files(const std::string& table) {
  std::set<std::string> files;
  const DeltaSnapshot snapshot = read_delta_snapshot(table).value();
  for (const auto& [path, file] : snapshot.files) files.insert(path);
  return files;
}

}  // namespace

BOOST_AUTO_TEST_CASE(vacuum_deletes_only_files_no_kept_version_references) {
  const uint64_t seed = std::random_device{}();
  std::cout << "seed " << seed << std::endl;
  std::mt19937_64 random(seed);
  TemporaryDirectory dir;
  const std::string table = dir.file("t");
  VersionedDeltaWriter writer(table, OutputMode::Complete, {"day"});
  int64_t next_id = 0;
  for (int epoch = 0; epoch < 6; ++epoch)
    writer.write_epoch(random_delta_rows(random, next_id));
  // A file a failed write left behind, older than any retention below, and a young one.
  const std::string orphan = "day=0/part-orphan.c000.snappy.parquet";
  const std::string young = "day=0/part-young.c000.snappy.parquet";
  fs::create_directories(fs::path(table) / "day=0");
  std::ofstream(fs::path(table) / orphan) << "left over";
  std::ofstream(fs::path(table) / young) << "in flight";
  fs::last_write_time(fs::path(table) / orphan, fs::file_time_type::clock::now() - 3h);

  // A retention reaching before the first commit keeps every version readable.
  const std::set<std::string> before = data_files(table);
  auto kept = delta_vacuum(table, 2h);
  BOOST_REQUIRE_MESSAGE(kept.ok(), kept.status().to_string());
  BOOST_TEST(kept->deleted == std::vector<std::string>{orphan});
  BOOST_TEST(kept->oldest_kept_version == 0);
  for (const auto& [version, rows] : writer.expected())
    BOOST_TEST(read_version(table, version).value() == rows);

  // No retention: only the latest version's files (and the young unreferenced one) stay.
  const std::set<std::string> live = live_files(table);
  std::this_thread::sleep_for(5ms);  // the young file must be older than "now" to go
  auto vacuumed = delta_vacuum(table, 0ms);
  BOOST_REQUIRE_MESSAGE(vacuumed.ok(), vacuumed.status().to_string());
  std::set<std::string> expected_left = live;
  BOOST_TEST(data_files(table) == expected_left);
  BOOST_TEST(vacuumed->oldest_kept_version == writer.expected().rbegin()->first);
  BOOST_TEST(read_version(table).value() == writer.expected().rbegin()->second);
  // An older version whose files are gone is a clear error.
  for (const auto& [version, rows] : writer.expected()) {
    if (version == 0 || version == writer.expected().rbegin()->first) continue;
    bool shares_all = true;
    const DeltaSnapshot old_snapshot = read_delta_snapshot_at(table, version).value();
    for (const auto& [path, file] : old_snapshot.files)
      shares_all &= live.count(path) > 0;
    if (shares_all) continue;
    auto old = read_version(table, version);
    BOOST_REQUIRE(!old.ok());
    BOOST_TEST(old.status().message().find("gone") != std::string::npos, old.status().message());
  }
  BOOST_TEST(!delta_vacuum(dir.file("none"), 0ms).ok());
}

BOOST_AUTO_TEST_CASE(optimize_compacts_small_files_in_a_commit_the_delta_source_skips) {
  TemporaryDirectory dir;
  const std::string table = dir.file("t");
  std::mt19937_64 random(3);
  int64_t next_id = 0;
  VersionedDeltaWriter writer(table, OutputMode::Append, {"day"});
  for (int epoch = 0; epoch < 8; ++epoch)
    writer.write_epoch(random_delta_rows(random, next_id));
  const Rows expected = writer.expected().rbegin()->second;
  std::set<std::string> partitions;
  for (const auto& path : live_files(table))
    partitions.insert(fs::path(path).parent_path().string());
  const size_t small_files = live_files(table).size();

  auto optimized = delta_optimize(table, 1000);
  BOOST_REQUIRE_MESSAGE(optimized.ok(), optimized.status().to_string());
  BOOST_TEST(optimized->files_removed == static_cast<int64_t>(small_files));
  BOOST_TEST(optimized->files_added == static_cast<int64_t>(partitions.size()));
  BOOST_TEST(optimized->rows == static_cast<int64_t>(expected.size()));
  BOOST_TEST(live_files(table).size() == partitions.size());
  BOOST_TEST(read_version(table).value() == expected);
  // Every action of the commit says dataChange=false.
  const std::string commit = read_delta_commit(table, optimized->version).value().value();
  BOOST_TEST(commit.find("\"dataChange\":true") == std::string::npos, commit);
  BOOST_TEST(commit.find("\"dataChange\":false") != std::string::npos, commit);
  // Nothing left to compact: no commit.
  BOOST_TEST(delta_optimize(table, 1000).value().version == -1);

  // A stream over the table reads every row once: the compaction adds no data.
  Session session;
  auto query = session.read_stream()
                   .format("delta")
                   .load(table)
                   .write_stream()
                   .format("memory")
                   .query_name("rows")
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_TEST(!query->exception().has_value());
  BOOST_REQUIRE(query->stop().is_ok());
  BOOST_TEST(sorted(session.memory_table("rows")->rows()) == expected);
}
