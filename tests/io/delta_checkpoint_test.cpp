#define BOOST_TEST_MODULE delta_checkpoint
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "io/delta_batch_read.hpp"
#include "io/delta_checkpoint.hpp"
#include "io/delta_log.hpp"
#include "io/delta_source.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/versioned_delta_writer.hpp"

using namespace sluice;
using sluice::testing::random_delta_rows;
using sluice::testing::Rows;
using sluice::testing::sorted;
using sluice::testing::TemporaryDirectory;
using sluice::testing::VersionedDeltaWriter;
namespace fs = std::filesystem;

namespace {

void expect_contains(const std::string& text, const std::string& part) {
  BOOST_TEST(text.find(part) != std::string::npos, "'" << part << "' not in: " << text);
}

Rows read_rows(const std::string& table, std::optional<int64_t> version = std::nullopt) {
  DeltaReadOptions options;
  options.path = table;
  options.version_as_of = version;
  auto rows = read_delta_table(options);
  BOOST_REQUIRE_MESSAGE(rows.ok(), rows.status().to_string());
  return sorted((*rows)->to_rows());
}

std::string random_text(std::mt19937_64& random) {
  static const std::vector<std::string> pieces = {"a", "z", "0",  "9",  " ",  "=",
                                                  "%", "/", "\"", "\\", "\n", "\xc3\xa9"};
  std::string text;
  const size_t length = random() % 12;
  for (size_t i = 0; i < length; ++i)
    text += pieces[random() % pieces.size()];
  return text;
}

void expect_same_state(const DeltaSnapshot& actual, const DeltaSnapshot& expected) {
  BOOST_TEST(actual.version == expected.version);
  BOOST_TEST(actual.protocol->min_reader_version == expected.protocol->min_reader_version);
  BOOST_TEST(actual.protocol->min_writer_version == expected.protocol->min_writer_version);
  BOOST_TEST(actual.metadata->id == expected.metadata->id);
  BOOST_TEST(actual.metadata->schema_string == expected.metadata->schema_string);
  BOOST_TEST(actual.metadata->partition_columns == expected.metadata->partition_columns);
  BOOST_TEST((actual.metadata->configuration == expected.metadata->configuration));
  BOOST_TEST(actual.metadata->created_time == expected.metadata->created_time);
  BOOST_TEST((actual.transactions == expected.transactions));
  BOOST_REQUIRE(actual.files.size() == expected.files.size());
  for (const auto& [path, file] : expected.files) {
    auto found = actual.files.find(path);
    BOOST_REQUIRE_MESSAGE(found != actual.files.end(), "missing " << path);
    BOOST_TEST((found->second.partition_values == file.partition_values));
    BOOST_TEST(found->second.size == file.size);
    BOOST_TEST(found->second.modification_time == file.modification_time);
    BOOST_TEST(found->second.stats == file.stats);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_checkpoint_round_trips_the_table_state) {
  const uint64_t seed = std::random_device{}();
  std::cout << "seed " << seed << std::endl;
  std::mt19937_64 random(seed);
  for (int round = 0; round < 20; ++round) {
    TemporaryDirectory dir;
    fs::create_directories(delta_log_directory(dir.path()));
    DeltaSnapshot state;
    state.version = static_cast<int64_t>(random() % 1000);
    state.protocol = DeltaProtocol{1, 2};
    DeltaMetadata metadata;
    metadata.id = random_uuid();
    metadata.fields = {{"a", Type::Int64}, {"p", Type::String}, {"q", Type::String}};
    metadata.schema_string = delta_schema_string(metadata.fields);
    if (random() % 2) metadata.partition_columns = {"p", "q"};
    for (size_t i = random() % 3; i > 0; --i)
      metadata.configuration[random_text(random) + std::to_string(i)] = random_text(random);
    metadata.created_time = static_cast<int64_t>(random() % 2'000'000'000'000);
    state.metadata = metadata;
    for (size_t i = random() % 4; i > 0; --i)
      state.transactions["query-" + random_text(random)] = static_cast<int64_t>(random() % 100);
    for (size_t i = random() % 50; i > 0; --i) {
      DeltaFile file;
      file.path = "p=" + random_text(random) + "/part-" + std::to_string(i) + ".parquet";
      if (!metadata.partition_columns.empty()) {
        file.partition_values["p"] =
            random() % 4 ? std::optional<std::string>(random_text(random)) : std::nullopt;
        file.partition_values["q"] =
            random() % 4 ? std::optional<std::string>(random_text(random)) : std::nullopt;
      }
      file.size = static_cast<int64_t>(random() % 100'000);
      file.modification_time = static_cast<int64_t>(random() % 2'000'000'000'000);
      if (random() % 3) file.stats = R"({"numRecords":)" + std::to_string(random() % 100) + "}";
      state.files[file.path] = file;
    }
    const Status written = write_delta_checkpoint(dir.path(), state, false);
    BOOST_REQUIRE_MESSAGE(written.is_ok(), written.to_string());
    BOOST_TEST(read_last_checkpoint(dir.path()).value_or(-1) == state.version);
    auto read = read_delta_checkpoint(dir.path(), state.version);
    BOOST_REQUIRE_MESSAGE(read.ok(), read.status().to_string());
    expect_same_state(*read, state);
  }
}

BOOST_AUTO_TEST_CASE(the_sink_checkpoints_every_ten_versions_and_opening_starts_there) {
  const uint64_t seed = std::random_device{}();
  std::cout << "seed " << seed << std::endl;
  std::mt19937_64 random(seed);
  TemporaryDirectory dir;
  const std::string table = dir.file("t");
  int64_t next_id = 0;
  auto writer = std::make_unique<VersionedDeltaWriter>(table, OutputMode::Append,
                                                       std::vector<std::string>{"day"});
  while (writer->expected().rbegin()->first < 25)
    writer->write_epoch(random_delta_rows(random, next_id));
  BOOST_TEST(writer->sink().checkpoint_failures() == 0);
  BOOST_TEST((list_delta_checkpoints(table).value() == std::vector<int64_t>{10, 20}));
  BOOST_TEST(read_last_checkpoint(table).value_or(-1) == 20);
  // The checkpoint holds exactly what replaying the JSON log gives.
  expect_same_state(read_delta_checkpoint(table, 20).value(),
                    read_delta_snapshot_at(table, 20).value());
  const std::map<int64_t, Rows> expected = writer->expected();
  const int64_t epochs = writer->epochs();
  writer.reset();

  // Clean up the log before the checkpoint: opening must start from it.
  for (int64_t version = 0; version < 20; ++version)
    fs::remove(delta_commit_file(table, version));
  fs::remove(delta_checkpoint_file(table, 10));
  BOOST_TEST(read_rows(table) == expected.rbegin()->second);
  for (int64_t version = 20; version <= expected.rbegin()->first; ++version)
    BOOST_TEST(read_rows(table, version) == expected.at(version));
  auto gone = read_delta_snapshot_at(table, 5);
  expect_contains(gone.status().message(),
                  "versions 20 to " + std::to_string(expected.rbegin()->first));

  // A sink reopening the table learns its epochs from the checkpoint's txn: a replay is skipped.
  DeltaSinkOptions options;
  options.path = table;
  options.sync = false;
  auto sink =
      DeltaSink::make(options, sluice::testing::delta_test_schema(), OutputMode::Append).value();
  BOOST_REQUIRE(sink->attach({"writer", ""}).is_ok());
  BOOST_REQUIRE(sink->write(epochs - 1, RecordBatch::from_rows(sluice::testing::delta_test_schema(),
                                                               {{-1, "again", 0}})
                                            .value())
                    .is_ok());
  BOOST_REQUIRE(sink->finish_epoch(epochs - 1).is_ok());
  BOOST_TEST(sink->skipped_epochs() == 1);
  BOOST_TEST(read_rows(table) == expected.rbegin()->second);

  // The stream may start at the checkpoint, not before it.
  DeltaSourceOptions from_start;
  from_start.path = table;
  expect_contains(DeltaSource::make(from_start).status().message(), "cleaned up before version 20");
  DeltaSourceOptions from_checkpoint = from_start;
  from_checkpoint.starting_version = 21;
  BOOST_TEST(DeltaSource::make(from_checkpoint).ok());
}

BOOST_AUTO_TEST_CASE(a_damaged_checkpoint_is_a_clear_error_or_is_passed_over) {
  TemporaryDirectory dir;
  const std::string table = dir.file("t");
  std::mt19937_64 random(11);
  int64_t next_id = 0;
  VersionedDeltaWriter writer(table, OutputMode::Append);
  while (writer.expected().rbegin()->first < 12)
    writer.write_epoch(random_delta_rows(random, next_id));
  const std::string checkpoint = delta_checkpoint_file(table, 10);
  fs::resize_file(checkpoint, fs::file_size(checkpoint) / 2);
  const Status damaged = read_delta_checkpoint(table, 10).status();
  expect_contains(damaged.message(), checkpoint);
  // With the whole JSON log present, opening passes over the damaged checkpoint.
  auto latest = read_delta_snapshot(table);
  BOOST_REQUIRE_MESSAGE(latest.ok(), latest.status().to_string());
  BOOST_TEST(latest->version == 12);
  BOOST_TEST(read_rows(table) == writer.expected().rbegin()->second);
}
