#define BOOST_TEST_MODULE file_sink
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "io/file_sink.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using sluice::testing::TemporaryDirectory;
namespace fs = std::filesystem;

namespace {

SchemaPtr schema() {
  return Schema::make({{"id", Type::Int64}, {"name", Type::String}, {"group", Type::String}})
      .value();
}

RecordBatchPtr batch(int64_t first, int64_t count) {
  std::vector<std::vector<Value>> rows;
  for (int64_t i = first; i < first + count; ++i) {
    rows.push_back(
        {Value(i), Value("n,\"" + std::to_string(i) + "\""), Value(i % 2 ? "odd" : "even")});
  }
  return RecordBatch::from_rows(schema(), rows).value();
}

// Reads the committed rows back through the file source, as a downstream query would.
std::vector<std::vector<Value>> read_back(const std::string& path, const char* format) {
  Session session;
  auto frame = session.read_stream().format(format).schema(schema()).load(path);
  BOOST_REQUIRE_MESSAGE(frame.status().is_ok(), frame.status().to_string());
  auto query = frame.write_stream().format("memory").query_name("back").start();
  BOOST_REQUIRE(query.ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  auto rows = session.memory_table("back")->rows();
  (void)query->stop();
  std::sort(rows.begin(), rows.end());
  return rows;
}

FileSinkOptions sink_options(const std::string& path, FileFormat format) {
  auto options = FileSinkOptions::parse(format, {{"path", path}}).value();
  options.sync = false;
  return options;
}

}  // namespace

BOOST_AUTO_TEST_CASE(committed_epochs_read_back_identically_in_csv_and_json) {
  for (FileFormat format : {FileFormat::csv, FileFormat::json}) {
    TemporaryDirectory dir;
    auto options = sink_options(dir.path(), format);
    options.partition_by = {"group"};
    auto sink = FileSink::make(options, schema(), OutputMode::Append).value();
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      BOOST_REQUIRE(sink->write(epoch, batch(epoch * 10, 10)).is_ok());
      BOOST_REQUIRE(sink->finish_epoch(epoch).is_ok());
    }
    BOOST_TEST(fs::exists(dir.file("group=odd")));
    auto rows = read_back(dir.path(), format == FileFormat::csv ? "csv" : "json");
    BOOST_REQUIRE(rows.size() == 30u);
    BOOST_TEST(rows[7][1].as_string() == "n,\"7\"");
    BOOST_TEST(rows[7][2].as_string() == "odd");
  }
}

BOOST_AUTO_TEST_CASE(a_replayed_epoch_with_a_manifest_entry_adds_no_rows) {
  TemporaryDirectory dir;
  {
    auto sink =
        FileSink::make(sink_options(dir.path(), FileFormat::json), schema(), OutputMode::Append)
            .value();
    BOOST_REQUIRE(sink->write(0, batch(0, 5)).is_ok());
    BOOST_REQUIRE(sink->finish_epoch(0).is_ok());
  }
  auto restarted =
      FileSink::make(sink_options(dir.path(), FileFormat::json), schema(), OutputMode::Append)
          .value();
  BOOST_REQUIRE(restarted->write(0, batch(0, 5)).is_ok());
  BOOST_REQUIRE(restarted->finish_epoch(0).is_ok());
  BOOST_TEST(restarted->skipped_epochs() == 1);
  BOOST_TEST(read_back(dir.path(), "json").size() == 5u);
}

BOOST_AUTO_TEST_CASE(files_of_an_uncommitted_epoch_are_invisible_and_cleaned_at_start) {
  TemporaryDirectory dir;
  {
    auto sink =
        FileSink::make(sink_options(dir.path(), FileFormat::csv), schema(), OutputMode::Append)
            .value();
    BOOST_REQUIRE(sink->write(0, batch(0, 5)).is_ok());
    BOOST_REQUIRE(sink->finish_epoch(0).is_ok());
    BOOST_REQUIRE(sink->write(1, batch(5, 5)).is_ok());  // the process dies before finish_epoch
    auto manifest = read_manifest(dir.path()).value();
    BOOST_TEST(manifest.files.size() == 1u);
    BOOST_TEST(read_back(dir.path(), "csv").size() == 5u);
  }
  size_t part_files = 0;
  auto restarted =
      FileSink::make(sink_options(dir.path(), FileFormat::csv), schema(), OutputMode::Append)
          .value();
  for (const auto& entry : fs::directory_iterator(dir.path()))
    part_files += entry.path().filename().string().starts_with("part-");
  BOOST_TEST(part_files == 1u);
}

BOOST_AUTO_TEST_CASE(the_manifest_compacts_so_listing_stays_small) {
  TemporaryDirectory dir;
  auto sink =
      FileSink::make(sink_options(dir.path(), FileFormat::json), schema(), OutputMode::Append)
          .value();
  for (int64_t epoch = 0; epoch < 1000; ++epoch) {
    if (epoch % 100 == 0) BOOST_REQUIRE(sink->write(epoch, batch(epoch, 1)).is_ok());
    BOOST_REQUIRE(sink->finish_epoch(epoch).is_ok());
  }
  size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(manifest_directory(dir.path())))
    entries += entry.path().filename().string().front() != '.';
  BOOST_TEST(entries <= 10u);
  auto manifest = read_manifest(dir.path()).value();
  BOOST_TEST(*manifest.latest_epoch == 999);
  BOOST_TEST(manifest.files.size() == 10u);
}

BOOST_AUTO_TEST_CASE(complete_mode_rewrites_the_output_each_epoch) {
  TemporaryDirectory dir;
  auto sink =
      FileSink::make(sink_options(dir.path(), FileFormat::json), schema(), OutputMode::Complete)
          .value();
  BOOST_REQUIRE(sink->write(0, batch(0, 3)).is_ok());
  BOOST_REQUIRE(sink->finish_epoch(0).is_ok());
  BOOST_REQUIRE(sink->write(1, batch(0, 4)).is_ok());
  BOOST_REQUIRE(sink->finish_epoch(1).is_ok());
  BOOST_TEST(read_back(dir.path(), "json").size() == 4u);
}

BOOST_AUTO_TEST_CASE(files_roll_over_past_max_file_size) {
  TemporaryDirectory dir;
  auto options = sink_options(dir.path(), FileFormat::json);
  options.max_file_bytes = 200;
  auto sink = FileSink::make(options, schema(), OutputMode::Append).value();
  BOOST_REQUIRE(sink->write(0, batch(0, 50)).is_ok());
  BOOST_REQUIRE(sink->finish_epoch(0).is_ok());
  BOOST_TEST(read_manifest(dir.path()).value().files.size() > 5u);
  BOOST_TEST(read_back(dir.path(), "json").size() == 50u);
}

BOOST_AUTO_TEST_CASE(a_query_writes_through_the_sink_and_unknown_options_are_named) {
  TemporaryDirectory dir;
  Session session;
  MemoryStream input(session, schema());
  auto typo = input.to_df()
                  .write_stream()
                  .format("json")
                  .option("path", dir.file("out"))
                  .option("maxFileSise", "9")
                  .start();
  BOOST_TEST(typo.status().message().find("did you mean 'maxFileSize'") != std::string::npos,
             typo.status().message());
  auto query = input.to_df()
                   .write_stream()
                   .format("csv")
                   .option("path", dir.file("out"))
                   .partition_by({"group"})
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data(batch(0, 10)).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->stop().is_ok());
  BOOST_TEST(read_back(dir.file("out"), "csv").size() == 10u);
}
