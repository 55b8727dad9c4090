#define BOOST_TEST_MODULE delta_read
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <random>

#include "io/delta_batch_read.hpp"
#include "io/delta_log.hpp"
#include "io/delta_sink.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/versioned_delta_writer.hpp"

using namespace sluice;
using sluice::testing::TemporaryDirectory;
namespace fs = std::filesystem;

namespace {

using sluice::testing::delta_test_schema;
using sluice::testing::random_delta_rows;
using sluice::testing::Rows;
using sluice::testing::sorted;
using sluice::testing::VersionedDeltaWriter;

Rows read_version(const std::string& table, std::optional<int64_t> version) {
  DeltaReadOptions options;
  options.path = table;
  options.version_as_of = version;
  options.rows_per_batch = 7;  // several batches per file
  auto rows = read_delta_table(options);
  BOOST_REQUIRE_MESSAGE(rows.ok(), rows.status().to_string());
  return sorted((*rows)->to_rows());
}

void expect_contains(const std::string& text, const std::string& part) {
  BOOST_TEST(text.find(part) != std::string::npos, "'" << part << "' not in: " << text);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_version_reads_the_rows_written_up_to_it) {
  for (OutputMode mode : {OutputMode::Append, OutputMode::Complete}) {
    const uint64_t seed = std::random_device{}();
    std::cout << "seed " << seed << " mode " << output_mode_name(mode) << std::endl;
    std::mt19937_64 random(seed);
    TemporaryDirectory dir;
    const std::string table = dir.file("t");
    VersionedDeltaWriter writer(table, mode, {"day"});
    int64_t next_id = 0;
    for (int epoch = 0; epoch < 8; ++epoch)
      writer.write_epoch(random_delta_rows(random, next_id));
    for (const auto& [version, rows] : writer.expected()) {
      BOOST_TEST_CONTEXT("version " << version) {
        BOOST_TEST(read_version(table, version) == rows);
      }
    }
    BOOST_TEST(read_version(table, std::nullopt) == writer.expected().rbegin()->second);
  }
}

BOOST_AUTO_TEST_CASE(timestamp_as_of_reads_the_last_version_committed_by_then) {
  TemporaryDirectory dir;
  const std::string table = dir.file("t");
  VersionedDeltaWriter writer(table, OutputMode::Append);
  int64_t next_id = 0;
  std::mt19937_64 random(7);
  for (int epoch = 0; epoch < 5; ++epoch)
    writer.write_epoch(random_delta_rows(random, next_id));
  std::vector<int64_t> times;
  for (const auto& [version, rows] : writer.expected())
    times.push_back(delta_commit_timestamp(table, version).value());
  for (size_t asked = 0; asked < times.size(); ++asked) {
    // The reference: the last version whose commit time is at or before the time asked for.
    int64_t expected = 0;
    for (size_t v = 0; v < times.size(); ++v)
      if (times[v] <= times[asked]) expected = static_cast<int64_t>(v);
    auto options =
        DeltaReadOptions::parse(table, {{"timestampAsOf", format_timestamp(times[asked] * 1000)}});
    BOOST_REQUIRE_MESSAGE(options.ok(), options.status().to_string());
    auto snapshot = resolve_delta_read(*options);
    BOOST_REQUIRE_MESSAGE(snapshot.ok(), snapshot.status().to_string());
    BOOST_TEST(snapshot->version == expected);
  }
  auto early = DeltaReadOptions::parse(table, {{"timestampAsOf", "2001-01-01 00:00:00"}});
  BOOST_REQUIRE(early.ok());
  expect_contains(resolve_delta_read(*early).status().message(),
                  "before the first available commit");
}

BOOST_AUTO_TEST_CASE(session_read_with_version_as_of_is_a_static_table_for_joins) {
  TemporaryDirectory dir;
  const std::string table = dir.file("t");
  VersionedDeltaWriter writer(table, OutputMode::Complete);
  writer.write_epoch({{1, "one", 0}, {2, "two", 0}});
  writer.write_epoch({{1, "uno", 0}, {3, "tres", 0}});
  Session session;
  auto old =
      session.read().format("delta").option("versionAsOf", "1").load(table).select("id", "name");
  BOOST_REQUIRE_MESSAGE(old.status().is_ok(), old.status().to_string());
  BOOST_TEST(!old.is_streaming());
  MemoryStream stream(session, Schema::make({{"id", Type::Int64}}).value());
  auto query = stream.to_df()
                   .join(old, {"id"}, "left_outer")
                   .write_stream()
                   .format("memory")
                   .query_name("j")
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(stream.add_data({{1}, {2}, {3}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->stop().is_ok());
  BOOST_TEST((sorted(session.memory_table("j")->rows()) ==
              Rows{{int64_t{1}, "one"}, {int64_t{2}, "two"}, {int64_t{3}, Value()}}));
}

BOOST_AUTO_TEST_CASE(versions_that_do_not_exist_or_lost_their_files_are_clear_errors) {
  TemporaryDirectory dir;
  const std::string table = dir.file("t");
  VersionedDeltaWriter writer(table, OutputMode::Complete);
  writer.write_epoch({{1, "one", 0}});
  writer.write_epoch({{2, "two", 0}});
  Session session;
  auto missing = session.read().format("delta").option("versionAsOf", "9").load(table);
  expect_contains(missing.status().message(),
                  "version 9 of the Delta table at " + table + " does not exist");
  expect_contains(missing.status().message(), "versions 0 to 2");
  auto both = session.read()
                  .format("delta")
                  .option("versionAsOf", "1")
                  .option("timestampAsOf", "2020-01-01")
                  .load(table);
  expect_contains(both.status().message(), "not both");
  auto typo = session.read().format("delta").option("versionAsof", "1").load(table);
  expect_contains(typo.status().message(), "versionAsOf");
  auto negative = session.read().format("delta").option("versionAsOf", "-1").load(table);
  expect_contains(negative.status().message(), "versionAsOf");
  auto no_table = session.read().format("delta").load(dir.file("none"));
  expect_contains(no_table.status().message(), "no Delta table");
  // Remove the file only version 1 holds, as vacuum would.
  const DeltaSnapshot first = read_delta_snapshot_at(table, 1).value();
  BOOST_REQUIRE(first.files.size() == 1u);
  fs::remove(fs::path(table) / first.files.begin()->first);
  DeltaReadOptions options;
  options.path = table;
  options.version_as_of = 1;
  const Status gone = read_delta_table(options).status();
  expect_contains(gone.message(), "needs data file " + first.files.begin()->first);
  expect_contains(gone.message(), "gone");
  BOOST_TEST(read_version(table, 2) == writer.expected().at(2));
}
