#define BOOST_TEST_MODULE delta_source
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "io/delta_log.hpp"
#include "io/delta_sink.hpp"
#include "io/delta_source.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using sluice::testing::TemporaryDirectory;
namespace fs = std::filesystem;

namespace {

using Rows = std::vector<std::vector<Value>>;

SchemaPtr schema() {
  return Schema::make({{"id", Type::Int64},
                       {"name", Type::String},
                       {"score", Type::Double},
                       {"flag", Type::Bool},
                       {"at", Type::Timestamp},
                       {"day", Type::Int64}})
      .value();
}

// Rows of every type, with nulls in every column but id and day.
Rows make_rows(int64_t first, int64_t count) {
  Rows rows;
  for (int64_t i = first; i < first + count; ++i) {
    rows.push_back({Value(i),
                    i % 5 == 0 ? Value() : Value("name \"" + std::to_string(i % 13) + "\""),
                    i % 7 == 0 ? Value() : Value(static_cast<double>(i) / 4.0),
                    i % 3 == 0 ? Value() : Value(i % 2 == 0),
                    i % 11 == 0 ? Value() : Value(Timestamp{1'700'000'000'000'000 + i * 1'234'567}),
                    Value(i % 4)});
  }
  return rows;
}

Rows sorted(Rows rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

// Writes a Delta table with the delta sink, one epoch (one table version) per add().
class TableWriter {
 public:
  TableWriter(std::string table, std::vector<std::string> partition_by)
      : input_(session_, schema()) {
    auto query = input_.to_df()
                     .write_stream()
                     .format("delta")
                     .option("path", table)
                     .partition_by(std::move(partition_by))
                     .start();
    BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
    query_.emplace(std::move(query).value());
  }
  ~TableWriter() { (void)query_->stop(); }

  void add(const Rows& rows) {
    BOOST_REQUIRE(input_.add_data(rows).is_ok());
    const Status processed = query_->process_all_available();
    BOOST_REQUIRE_MESSAGE(processed.is_ok(), processed.to_string());
    written_.insert(written_.end(), rows.begin(), rows.end());
  }
  const Rows& written() const { return written_; }

 private:
  Session session_;
  MemoryStream input_;
  std::optional<StreamingQuery> query_;
  Rows written_;
};

// Runs what is available through a running query; returns its failure, if any.
Status drain(StreamingQuery& query) {
  Status status = query.process_all_available();
  if (auto failure = query.exception()) status = *failure;
  return status;
}

Rows memory_rows(Session& session, const std::string& name) {
  auto table = session.memory_table(name);
  BOOST_REQUIRE(table);
  return sorted(table->rows());
}

StreamingQuery start_reader(Session& session, const std::string& table, const std::string& name,
                            const std::map<std::string, std::string>& options = {},
                            const std::string& checkpoint = "") {
  auto frame = session.read_stream().format("delta").options(options).load(table);
  BOOST_REQUIRE_MESSAGE(frame.status().is_ok(), frame.status().to_string());
  auto writer = frame.write_stream().format("memory").query_name(name);
  if (!checkpoint.empty()) writer.option("checkpointLocation", checkpoint);
  auto query = writer.start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  return std::move(query).value();
}

Rows concat(const Rows& a, const Rows& b) {
  Rows out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

void expect_contains(const std::string& text, const std::string& part) {
  BOOST_TEST(text.find(part) != std::string::npos, "'" << part << "' not in: " << text);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_added_row_streams_with_all_types_nulls_and_partition_columns) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  TableWriter writer(table, {"flag", "day"});
  for (int round = 0; round < 3; ++round)
    writer.add(make_rows(round * 100, 30 + round));

  Session session;
  auto frame = session.read_stream().format("delta").load(table);
  BOOST_REQUIRE(frame.status().is_ok());
  BOOST_TEST((*frame.schema() == *schema()));  // partition columns keep their place
  StreamingQuery reader = start_reader(session, table, "read");
  BOOST_REQUIRE(drain(reader).is_ok());
  BOOST_TEST(memory_rows(session, "read") == sorted(writer.written()));

  // Later commits arrive: only they are read.
  writer.add(make_rows(1000, 17));
  writer.add(make_rows(2000, 5));
  const Status second = drain(reader);
  BOOST_REQUIRE_MESSAGE(second.is_ok(), second.to_string());
  BOOST_TEST(memory_rows(session, "read") == sorted(writer.written()));
  BOOST_REQUIRE(reader.stop().is_ok());
}

BOOST_AUTO_TEST_CASE(partition_values_of_every_type_come_back_typed) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  TableWriter writer(table, {"name", "score", "at", "flag"});
  writer.add(make_rows(0, 12));
  Session session;
  StreamingQuery reader = start_reader(session, table, "typed");
  BOOST_REQUIRE(drain(reader).is_ok());
  BOOST_TEST(memory_rows(session, "typed") == sorted(writer.written()));
  BOOST_REQUIRE(reader.stop().is_ok());
}

BOOST_AUTO_TEST_CASE(a_restarted_query_reads_only_the_commits_made_since) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  const std::string checkpoint = dir.file("checkpoint");
  TableWriter writer(table, {});
  writer.add(make_rows(0, 20));
  writer.add(make_rows(100, 20));
  Session session;
  {
    StreamingQuery first = start_reader(session, table, "first", {}, checkpoint);
    BOOST_REQUIRE(drain(first).is_ok());
    BOOST_TEST(memory_rows(session, "first") == sorted(writer.written()));
    BOOST_REQUIRE(first.stop().is_ok());
  }
  writer.add(make_rows(200, 7));
  writer.add(make_rows(300, 9));
  StreamingQuery second = start_reader(session, table, "second", {}, checkpoint);
  BOOST_REQUIRE(drain(second).is_ok());
  BOOST_TEST(memory_rows(session, "second") ==
             sorted(concat(make_rows(200, 7), make_rows(300, 9))));
  BOOST_REQUIRE(second.stop().is_ok());
}

BOOST_AUTO_TEST_CASE(max_files_per_trigger_splits_the_files_into_epochs) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  TableWriter writer(table, {});
  for (int round = 0; round < 5; ++round)
    writer.add(make_rows(round * 100, 10));

  Session session;
  StreamingQuery reader = start_reader(session, table, "limited", {{"maxFilesPerTrigger", "2"}});
  for (int round = 0; round < 10 && memory_rows(session, "limited").size() < 50u; ++round)
    BOOST_REQUIRE(drain(reader).is_ok());
  BOOST_TEST(memory_rows(session, "limited") == sorted(writer.written()));
  int epochs_with_rows = 0;
  for (const auto& progress : reader.recent_progress()) {
    BOOST_TEST(progress.num_input_rows <= 20);
    epochs_with_rows += progress.num_input_rows > 0;
  }
  BOOST_TEST(epochs_with_rows >= 3);
  BOOST_REQUIRE(reader.stop().is_ok());

  // The planning of one source directly: file and byte caps, and everything on demand.
  auto limited =
      DeltaSource::make(DeltaSourceOptions::parse(table, {{"maxFilesPerTrigger", "2"}}).value());
  BOOST_REQUIRE(limited.ok());
  BOOST_TEST((*limited)->latest_offset({0}, {}).value() == SourceOffset{2});
  BOOST_TEST((*limited)->latest_offset({4}, {}).value() == SourceOffset{5});
  ReadLimit everything;
  everything.everything = true;
  BOOST_TEST((*limited)->latest_offset({0}, everything).value() == SourceOffset{5});
  BOOST_TEST((*limited)->last_available().value() == SourceOffset{5});
  auto by_bytes =
      DeltaSource::make(DeltaSourceOptions::parse(table, {{"maxBytesPerTrigger", "1"}}).value());
  BOOST_REQUIRE(by_bytes.ok());
  BOOST_TEST((*by_bytes)->latest_offset({0}, {}).value() == SourceOffset{1});  // one file at least
  // Replaying a range reads the same file: the rows of the third commit.
  auto reader_of_range = (*limited)->open_reader(0, 2, 3);
  BOOST_REQUIRE(reader_of_range.ok());
  Rows replayed;
  RecordBatchPtr batch;
  while ((*reader_of_range)->next(batch).value() == ReadFlow::have_batch) {
    for (auto& row : batch->to_rows())
      replayed.push_back(row);
  }
  BOOST_TEST(sorted(replayed) == sorted(make_rows(200, 10)));
  BOOST_TEST(!(*limited)->open_reader(0, 3, 9).ok());
}

BOOST_AUTO_TEST_CASE(starting_version_skips_the_earlier_versions) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  TableWriter writer(table, {"day"});
  // Version 0 creates the table; version v holds the rows of round v - 1.
  for (int round = 0; round < 3; ++round)
    writer.add(make_rows(round * 100, 10));

  Session session;
  StreamingQuery from_two = start_reader(session, table, "from_two", {{"startingVersion", "2"}});
  BOOST_REQUIRE(drain(from_two).is_ok());
  BOOST_TEST(memory_rows(session, "from_two") ==
             sorted(concat(make_rows(100, 10), make_rows(200, 10))));
  BOOST_REQUIRE(from_two.stop().is_ok());

  StreamingQuery latest = start_reader(session, table, "latest", {{"startingVersion", "latest"}});
  BOOST_REQUIRE(drain(latest).is_ok());
  BOOST_TEST(memory_rows(session, "latest").empty());
  writer.add(make_rows(500, 4));
  BOOST_REQUIRE(drain(latest).is_ok());
  BOOST_TEST(memory_rows(session, "latest") == sorted(make_rows(500, 4)));
  BOOST_REQUIRE(latest.stop().is_ok());

  auto past = session.read_stream().format("delta").option("startingVersion", "9").load(table);
  BOOST_REQUIRE(!past.status().is_ok());
  expect_contains(past.status().message(), "latest version 4");
  auto bad = session.read_stream().format("delta").option("startingVersion", "soon").load(table);
  BOOST_REQUIRE(!bad.status().is_ok());
  expect_contains(bad.status().message(), "startingVersion");
}

BOOST_AUTO_TEST_CASE(a_missing_table_a_corrupt_log_and_unknown_options_give_clear_errors) {
  TemporaryDirectory dir;
  Session session;
  auto missing = session.read_stream().format("delta").load(dir.file("nowhere"));
  BOOST_REQUIRE(!missing.status().is_ok());
  expect_contains(missing.status().message(), "no Delta table at " + dir.file("nowhere"));

  const std::string table = dir.file("table");
  TableWriter writer(table, {});
  writer.add(make_rows(0, 5));
  auto misspelt =
      session.read_stream().format("delta").option("maxFilePerTrigger", "3").load(table);
  BOOST_REQUIRE(!misspelt.status().is_ok());
  expect_contains(misspelt.status().message(), "maxFilesPerTrigger");

  // A corrupt commit after the query started stops it naming the file and line.
  StreamingQuery reader = start_reader(session, table, "corrupt");
  BOOST_REQUIRE(drain(reader).is_ok());
  {
    // Written aside and renamed: the running reader must never see a half-written file.
    std::ofstream out(delta_commit_file(table, 2) + ".partial");
    out << "{\"commitInfo\":{}}\n{\"add\":{\"path\":\n";
  }
  fs::rename(delta_commit_file(table, 2) + ".partial", delta_commit_file(table, 2));
  const Status failed = drain(reader);
  BOOST_REQUIRE(!failed.is_ok());
  expect_contains(failed.message(), "00000000000000000002.json:2");
  (void)reader.stop();
  // And so does loading a table whose log is corrupt.
  auto corrupt = session.read_stream().format("delta").load(table);
  BOOST_REQUIRE(!corrupt.status().is_ok());
  expect_contains(corrupt.status().message(), "00000000000000000002.json:2");
}

BOOST_AUTO_TEST_CASE(a_commit_that_removes_data_stops_the_stream_unless_ignore_changes) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  {
    // Complete mode replaces the table's files in every commit.
    auto options = DeltaSinkOptions::parse({{"path", table}}).value();
    options.sync = false;
    auto sink = DeltaSink::make(options, schema(), OutputMode::Complete).value();
    BOOST_REQUIRE(sink->attach({"complete", ""}).is_ok());
    const Rows epochs[] = {make_rows(0, 6), make_rows(100, 4)};
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      BOOST_REQUIRE(
          sink->write(epoch, RecordBatch::from_rows(schema(), epochs[epoch]).value()).is_ok());
      BOOST_REQUIRE(sink->finish_epoch(epoch).is_ok());
    }
  }
  Session session;
  StreamingQuery strict = start_reader(session, table, "strict");
  // The epoch before the removing version commits; the next trigger stops the query.
  (void)strict.process_all_available();
  BOOST_REQUIRE(strict.await_termination(std::chrono::seconds(30)));
  BOOST_REQUIRE(strict.exception().has_value());
  const Status stopped = *strict.exception();
  expect_contains(stopped.message(), "version 2");
  expect_contains(stopped.message(), "ignoreChanges=true");
  // The appends before the removing version were streamed.
  BOOST_TEST(memory_rows(session, "strict") == sorted(make_rows(0, 6)));
  (void)strict.stop();

  StreamingQuery lenient = start_reader(session, table, "lenient", {{"ignoreChanges", "true"}});
  BOOST_REQUIRE(drain(lenient).is_ok());
  BOOST_TEST(memory_rows(session, "lenient") == sorted(concat(make_rows(0, 6), make_rows(100, 4))));
  BOOST_REQUIRE(lenient.stop().is_ok());
}
