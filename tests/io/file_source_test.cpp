#define BOOST_TEST_MODULE file_source
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "io/file_source.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using sluice::testing::TemporaryDirectory;
namespace fs = std::filesystem;

namespace {

// Writes a file and gives it a distinct modification time (seconds after a fixed base), so the
// order files are picked up in is known.
void write_file(const std::string& path, const std::string& content, int order) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
  fs::last_write_time(
      path, fs::file_time_type::clock::now() - std::chrono::hours(1) + std::chrono::seconds(order));
}

SchemaPtr people_schema(bool corrupt_column) {
  std::vector<Field> fields = {
      {"id", Type::Int64}, {"score", Type::Double}, {"name", Type::String}};
  if (corrupt_column) fields.push_back({"_corrupt_record", Type::String});
  return Schema::make(fields).value();
}

struct Run {
  Status status;
  std::vector<std::vector<Value>> rows;
};

Run run_all(Session& session, const DataFrame& frame, const std::string& name) {
  Run run;
  auto query = frame.write_stream().format("memory").query_name(name).start();
  if (!query.ok()) return {query.status(), {}};
  run.status = query->process_all_available();
  if (auto failure = query->exception()) run.status = *failure;
  (void)query->stop();
  if (auto table = session.memory_table(name)) run.rows = table->rows();
  std::sort(run.rows.begin(), run.rows.end());
  return run;
}

std::vector<int64_t> ids(const std::vector<std::vector<Value>>& rows) {
  std::vector<int64_t> result;
  for (const auto& row : rows)
    result.push_back(row[0].as_int64());
  std::sort(result.begin(), result.end());
  return result;
}

const char* kBadCsv =
    "1,1.5,a\n"
    "2,2.5\n"               // wrong column count
    "3,abc,c\n"             // bad number
    "4,\"unterminated,d\n"  // unterminated quote
    "5,5.5,e\n";

const char* kBadJson =
    "{\"id\":1,\"score\":1.5,\"name\":\"a\"}\n"
    "{\"id\":2,\"score\":\n"                         // truncated
    "{\"id\":\"x\",\"score\":3.5,\"name\":\"c\"}\n"  // wrong type
    "[4,4.5,\"d\"]\n"                                // not an object
    "{\"id\":5,\"score\":5.5,\"name\":\"e\",\"unused\":[1,{\"a\":2}]}\n";

}  // namespace

BOOST_AUTO_TEST_CASE(each_new_file_becomes_rows_once_in_modification_order) {
  TemporaryDirectory dir;
  write_file(dir.file("in/b.csv"), "2,2.0,b\n", 1);
  write_file(dir.file("in/a.csv"), "1,1.0,a\n", 2);
  write_file(dir.file("in/.hidden.csv"), "9,9.0,x\n", 3);
  write_file(dir.file("in/_ignored.csv"), "8,8.0,x\n", 3);
  Session session;
  auto frame =
      session.read_stream().format("csv").schema(people_schema(false)).load(dir.file("in"));
  BOOST_REQUIRE_MESSAGE(frame.status().is_ok(), frame.status().to_string());
  auto query = frame.write_stream().format("memory").query_name("files").start();
  BOOST_REQUIRE(query.ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  auto table = session.memory_table("files");
  BOOST_TEST(table->epoch_rows(0).size() + table->epoch_rows(1).size() == 2u);
  BOOST_TEST(table->rows().front()[0].as_int64() == 2);  // older file first
  write_file(dir.file("in/c.csv"), "3,3.0,c\n", 4);
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_TEST(ids(table->rows()) == (std::vector<int64_t>{1, 2, 3}));
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(max_files_per_trigger_splits_files_into_epochs) {
  TemporaryDirectory dir;
  for (int i = 0; i < 5; ++i)
    write_file(dir.file("in/f" + std::to_string(i) + ".csv"), std::to_string(i) + ",1,x\n", i);
  Session session;
  auto frame = session.read_stream()
                   .format("csv")
                   .schema(people_schema(false))
                   .option("maxFilesPerTrigger", "2")
                   .load(dir.file("in"));
  auto query = frame.write_stream().format("memory").query_name("limited").start();
  BOOST_REQUIRE(query.ok());
  // Each call processes what the source offered when asked, at most two files.
  for (int round = 0; round < 5 && session.memory_table("limited")->rows().size() < 5u; ++round) {
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  for (const auto& progress : query->recent_progress())
    BOOST_TEST(progress.num_input_rows <= 2);
  BOOST_TEST(ids(session.memory_table("limited")->rows()) == (std::vector<int64_t>{0, 1, 2, 3, 4}));
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(csv_options_header_separator_quote_null_and_timestamp_format) {
  TemporaryDirectory dir;
  write_file(dir.file("in/a.csv"),
             "id;when;name\n1;25/11/2026 10:30;\"semi;colon\"\n2;NA;NA\n3;01/01/2027 00:00;\"say "
             "\"\"hi\"\"\"\n",
             1);
  auto schema =
      Schema::make({{"id", Type::Int64}, {"when", Type::Timestamp}, {"name", Type::String}})
          .value();
  Session session;
  auto frame = session.read_stream()
                   .format("csv")
                   .schema(schema)
                   .options({{"header", "true"},
                             {"sep", ";"},
                             {"nullValue", "NA"},
                             {"timestampFormat", "dd/MM/yyyy HH:mm"}})
                   .load(dir.file("in"));
  Run run = run_all(session, frame, "options");
  BOOST_REQUIRE_MESSAGE(run.status.is_ok(), run.status.to_string());
  BOOST_REQUIRE(run.rows.size() == 3u);
  BOOST_TEST(run.rows[0][2].as_string() == "semi;colon");
  BOOST_TEST(run.rows[0][1].to_string() == Value(Timestamp{1795602600000000}).to_string());
  BOOST_TEST(run.rows[1][1].is_null());
  BOOST_TEST(run.rows[1][2].is_null());
  BOOST_TEST(run.rows[2][2].as_string() == "say \"hi\"");
}

BOOST_AUTO_TEST_CASE(permissive_mode_nulls_bad_fields_and_keeps_the_raw_line) {
  TemporaryDirectory dir;
  write_file(dir.file("csv/a.csv"), kBadCsv, 1);
  write_file(dir.file("json/a.json"), kBadJson, 1);
  Session session;
  for (const char* format : {"csv", "json"}) {
    auto frame =
        session.read_stream().format(format).schema(people_schema(true)).load(dir.file(format));
    Run run = run_all(session, frame, std::string("permissive_") + format);
    BOOST_REQUIRE_MESSAGE(run.status.is_ok(), run.status.to_string());
    BOOST_TEST_CONTEXT(format) {
      BOOST_REQUIRE(run.rows.size() == 5u);
      int corrupt = 0;
      for (const auto& row : run.rows)
        corrupt += row[3].is_null() ? 0 : 1;
      BOOST_TEST(corrupt == 3);
      const auto& good = run.rows.back()[0].is_null() ? run.rows.front() : run.rows.back();
      BOOST_TEST(good[3].is_null());
    }
  }
  // Without a _corrupt_record column the bad fields are null and the rows stay.
  auto frame =
      session.read_stream().format("csv").schema(people_schema(false)).load(dir.file("csv"));
  Run run = run_all(session, frame, "permissive_plain");
  BOOST_TEST(run.rows.size() == 5u);
  BOOST_TEST(run.rows[2][1].is_null());  // id 3: "abc" is not a DOUBLE
}

BOOST_AUTO_TEST_CASE(dropmalformed_mode_drops_bad_records) {
  TemporaryDirectory dir;
  write_file(dir.file("csv/a.csv"), kBadCsv, 1);
  write_file(dir.file("json/a.json"), kBadJson, 1);
  Session session;
  for (const char* format : {"csv", "json"}) {
    auto frame = session.read_stream()
                     .format(format)
                     .schema(people_schema(false))
                     .option("mode", "DROPMALFORMED")
                     .load(dir.file(format));
    Run run = run_all(session, frame, std::string("drop_") + format);
    BOOST_REQUIRE_MESSAGE(run.status.is_ok(), run.status.to_string());
    BOOST_TEST(ids(run.rows) == (std::vector<int64_t>{1, 5}), format);
  }
}

BOOST_AUTO_TEST_CASE(failfast_mode_stops_the_query_naming_file_line_and_field) {
  TemporaryDirectory dir;
  write_file(dir.file("csv/a.csv"), "1,1.5,a\n3,abc,c\n", 1);
  write_file(dir.file("json/a.json"), "{\"id\":1}\n{\"id\":2,\"score\":\n", 1);
  Session session;
  auto csv = session.read_stream()
                 .format("csv")
                 .schema(people_schema(false))
                 .option("mode", "FAILFAST")
                 .load(dir.file("csv"));
  Run run = run_all(session, csv, "failfast_csv");
  BOOST_TEST(!run.status.is_ok());
  BOOST_TEST(run.status.message().find("a.csv:2") != std::string::npos, run.status.message());
  BOOST_TEST(run.status.message().find("field 'score'") != std::string::npos, run.status.message());
  auto json = session.read_stream()
                  .format("json")
                  .schema(people_schema(false))
                  .option("mode", "FAILFAST")
                  .load(dir.file("json"));
  run = run_all(session, json, "failfast_json");
  BOOST_TEST(run.status.message().find("a.json:2") != std::string::npos, run.status.message());
}

BOOST_AUTO_TEST_CASE(bad_records_path_receives_every_bad_record_with_file_line_and_reason) {
  TemporaryDirectory dir;
  write_file(dir.file("in/a.csv"), kBadCsv, 1);
  Session session;
  auto frame = session.read_stream()
                   .format("csv")
                   .schema(people_schema(false))
                   .option("badRecordsPath", dir.file("bad"))
                   .load(dir.file("in"));
  Run run = run_all(session, frame, "bad_path");
  BOOST_REQUIRE(run.status.is_ok());
  BOOST_TEST(ids(run.rows) == (std::vector<int64_t>{1, 5}));
  std::string all;
  int lines = 0;
  for (const auto& entry : fs::directory_iterator(dir.file("bad"))) {
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line); ++lines)
      all += line + "\n";
  }
  BOOST_TEST(lines == 3);
  BOOST_TEST(all.find("\"line\":2") != std::string::npos);
  BOOST_TEST(all.find("unterminated quote") != std::string::npos);
  BOOST_TEST(all.find("a.csv") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(binary_garbage_and_empty_files_never_crash) {
  TemporaryDirectory dir;
  std::string garbage;
  for (int i = 0; i < 4096; ++i)
    garbage.push_back(static_cast<char>((i * 7919) % 256));
  Session session;
  for (const char* format : {"csv", "json", "text"}) {
    write_file(dir.file(std::string(format) + "/garbage"), garbage, 1);
    write_file(dir.file(std::string(format) + "/empty"), "", 2);
    for (const char* mode : {"PERMISSIVE", "DROPMALFORMED", "FAILFAST"}) {
      auto reader = session.read_stream().format(format).option("mode", mode);
      if (std::string(format) != "text") reader.schema(people_schema(false));
      Run run = run_all(session, reader.load(dir.file(format)), std::string(format) + mode);
      if (std::string(mode) == "FAILFAST" && std::string(format) != "text") {
        BOOST_TEST(!run.status.is_ok(), format);
      } else {
        BOOST_TEST(run.status.is_ok(), format << " " << mode << ": " << run.status.to_string());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(text_and_partition_directories_become_columns) {
  TemporaryDirectory dir;
  write_file(dir.file("in/date=2026-11-25/a.txt"), "hello\nworld\n", 1);
  write_file(dir.file("in/date=2026-11-26/b.txt"), "again\n", 2);
  Session session;
  auto frame = session.read_stream().format("text").load(dir.file("in"));
  BOOST_REQUIRE_MESSAGE(frame.status().is_ok(), frame.status().to_string());
  BOOST_TEST(frame.schema()->to_string().find("date STRING") != std::string::npos,
             frame.schema()->to_string());
  Run run = run_all(session, frame.filter(col("date") == Value("2026-11-25")), "text");
  BOOST_REQUIRE_MESSAGE(run.status.is_ok(), run.status.to_string());
  BOOST_TEST(run.rows.size() == 2u);
  BOOST_TEST(run.rows[0][0].as_string() == "hello");
}

BOOST_AUTO_TEST_CASE(json_reads_only_the_used_columns_and_infers_a_schema) {
  TemporaryDirectory dir;
  write_file(dir.file("in/a.json"),
             "{\"id\":1,\"score\":2,\"tag\":\"x\",\"nested\":{\"deep\":[1,2]}}\n{\"id\":2,"
             "\"score\":2.5}\n",
             1);
  Session session;
  auto frame =
      session.read_stream().format("json").option("inferSchema", "true").load(dir.file("in"));
  BOOST_REQUIRE_MESSAGE(frame.status().is_ok(), frame.status().to_string());
  BOOST_TEST(frame.schema()->to_string().find("score DOUBLE") != std::string::npos,
             frame.schema()->to_string());
  Run run = run_all(session, frame.select(col("id"), col("score")), "infer");
  BOOST_REQUIRE(run.status.is_ok());
  BOOST_TEST(run.rows.size() == 2u);
  BOOST_TEST(run.rows[1][1].as_double() == 2.5);
}

BOOST_AUTO_TEST_CASE(unknown_options_and_missing_directories_are_clear_errors) {
  TemporaryDirectory dir;
  Session session;
  auto typo = session.read_stream()
                  .format("csv")
                  .schema(people_schema(false))
                  .option("maxFilesPerTriger", "1")
                  .load(dir.path());
  BOOST_TEST(typo.status().message().find("did you mean 'maxFilesPerTrigger'") != std::string::npos,
             typo.status().message());
  auto missing =
      session.read_stream().format("csv").schema(people_schema(false)).load(dir.file("nope"));
  BOOST_TEST(missing.status().message().find("does not exist") != std::string::npos);
  auto no_schema = session.read_stream().format("json").load(dir.path());
  BOOST_TEST(no_schema.status().message().find("inferSchema") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_file_deleted_before_it_is_read_fails_naming_it_unless_ignored) {
  TemporaryDirectory dir;
  write_file(dir.file("in/a.csv"), "1,1,a\n", 1);
  FileSourceOptions options = FileSourceOptions::parse(FileFormat::csv, dir.file("in"), {}).value();
  auto source = FileSource::make(options, people_schema(false)).value();
  BOOST_TEST((source->latest_offset({0}, {}).value() == SourceOffset{1}));
  (void)source->save_metadata();
  fs::remove(dir.file("in/a.csv"));
  auto reader = source->open_reader(0, 0, 1).value();
  RecordBatchPtr batch;
  auto flow = reader->next(batch);
  BOOST_TEST(!flow.ok());
  BOOST_TEST(flow.status().message().find("a.csv") != std::string::npos);
  options.ignore_missing_files = true;
  write_file(dir.file("in/b.csv"), "1,1,a\n", 1);
  auto lenient = FileSource::make(options, people_schema(false)).value();
  BOOST_TEST((lenient->latest_offset({0}, {}).value() == SourceOffset{1}));
  fs::remove(dir.file("in/b.csv"));
  auto second = lenient->open_reader(0, 0, 1).value();
  BOOST_TEST((second->next(batch).value() == ReadFlow::finished));
}

BOOST_AUTO_TEST_CASE(a_restarted_query_reads_no_file_twice) {
  TemporaryDirectory dir;
  write_file(dir.file("in/a.csv"), "1,1,a\n", 1);
  Session session;
  auto frame = session.read_stream()
                   .format("csv")
                   .schema(people_schema(false))
                   .option("cleanSource", "archive")
                   .option("sourceArchiveDir", dir.file("archive"))
                   .load(dir.file("in"));
  auto first = frame.write_stream()
                   .format("memory")
                   .query_name("restart")
                   .option("checkpointLocation", dir.file("cp"))
                   .start();
  BOOST_REQUIRE(first.ok());
  BOOST_REQUIRE(first->process_all_available().is_ok());
  BOOST_REQUIRE(first->stop().is_ok());
  BOOST_TEST(fs::exists(dir.file("archive/a.csv")));
  write_file(dir.file("in/a.csv"), "1,1,a\n", 2);  // the same name again is not new
  write_file(dir.file("in/b.csv"), "2,2,b\n", 3);
  auto second = frame.write_stream()
                    .format("memory")
                    .query_name("restart")
                    .option("checkpointLocation", dir.file("cp"))
                    .start();
  BOOST_REQUIRE(second.ok());
  BOOST_REQUIRE(second->process_all_available().is_ok());
  BOOST_TEST(ids(session.memory_table("restart")->rows()) == (std::vector<int64_t>{1, 2}));
  BOOST_REQUIRE(second->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(filters_on_partition_columns_prune_directories_unread) {
  TemporaryDirectory dir;
  auto schema = Schema::make({{"id", Type::Int64}, {"year", Type::Int64}, {"region", Type::String}}).value();
  write_file(dir.file("in/year=2025/region=eu/a.json"), "{\"id\":1}\n", 1);
  write_file(dir.file("in/year=2026/region=eu/b.json"), "{\"id\":2}\n", 2);
  write_file(dir.file("in/year=2026/region=us/c.json"), "{\"id\":3}\n", 3);
  // Were they read, these would stop the query (FAILFAST): pruned directories are never read.
  write_file(dir.file("in/year=2025/region=us/bad.json"), "{\"id\":\n", 4);
  write_file(dir.file("in/year=2026/region=ap/bad.json"), "not json\n", 5);
  Session session;
  auto frame = session.read_stream().format("json").schema(schema).option("mode", "FAILFAST").load(dir.file("in"));
  BOOST_REQUIRE_MESSAGE(frame.status().is_ok(), frame.status().to_string());
  Run run = run_all(session, frame.filter(col("year") >= lit(2026) && col("region") != lit("ap") && col("id") > lit(0)),
                    "pruned");
  BOOST_REQUIRE_MESSAGE(run.status.is_ok(), run.status.to_string());
  BOOST_TEST(ids(run.rows) == (std::vector<int64_t>{2, 3}));
  // The same filters offered to the source directly: the year=2025 directory is not entered.
  auto options = FileSourceOptions::parse(FileFormat::json, dir.file("in"), {}).value();
  auto source = FileSource::make(options, schema).value();
  source->push_filters({col("year") >= lit(2026), col("id") > lit(0)});
  BOOST_REQUIRE(source->latest_offset({0}, {}).ok());
  BOOST_TEST(source->num_pruned_directories() == 1);
  BOOST_TEST(source->latest_offset({0}, {.everything = true})->at(0) == 3);  // b, c and ap/bad
}

BOOST_AUTO_TEST_CASE(bad_records_are_counted_in_the_progress_report) {
  TemporaryDirectory dir;
  write_file(dir.file("json/a.json"), kBadJson, 1);
  Session session;
  auto query = session.read_stream()
                   .format("json")
                   .schema(people_schema(false))
                   .option("mode", "DROPMALFORMED")
                   .load(dir.file("json"))
                   .write_stream()
                   .format("noop")
                   .start();
  BOOST_REQUIRE(query.ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  auto progress = query->last_progress();
  BOOST_REQUIRE(progress.has_value());
  BOOST_REQUIRE(progress->sources.size() == 1u);
  bool found = false;
  for (const auto& [name, value] : progress->sources[0].metrics) {
    if (name == "numBadRecords") {
      found = true;
      BOOST_TEST(value == "3");
    }
  }
  BOOST_TEST(found);
  BOOST_TEST(progress->json().find("\"numBadRecords\"") != std::string::npos);
  (void)query->stop();
}

BOOST_AUTO_TEST_CASE(files_older_than_max_file_age_are_forgotten_by_the_state) {
  TemporaryDirectory dir;
  auto options = FileSourceOptions::parse(FileFormat::json, dir.file("in"), {{"maxFileAge", "1h"}}).value();
  write_file(dir.file("in/old.json"), "{\"id\":1}\n", 0);
  auto source = FileSource::make(options, people_schema(false)).value();
  BOOST_REQUIRE(*source->latest_offset({0}, {}) == SourceOffset{1});
  (void)source->save_metadata();
  auto first = source->state_changes({1});
  BOOST_TEST(first.size() == 2u);  // the file and the committed position
  // A file two hours newer makes the first one older than maxFileAge: it leaves the state.
  write_file(dir.file("in/new.json"), "{\"id\":2}\n", 2 * 3600);
  BOOST_REQUIRE(*source->latest_offset({1}, {}) == SourceOffset{2});
  (void)source->save_metadata();
  auto second = source->state_changes({2});
  bool forgot_old = false;
  for (const auto& [key, value] : second) {
    if (key.find("old.json") != std::string::npos) forgot_old = !value.has_value();
  }
  BOOST_TEST(forgot_old);
}

BOOST_AUTO_TEST_CASE(a_record_longer_than_max_record_length_is_a_bad_record_in_every_mode) {
  TemporaryDirectory dir;
  const std::string runaway = "{\"id\":2,\"score\":2.5,\"name\":\"" + std::string(5000, 'x') + "\"}\n";
  write_file(dir.file("json/a.json"), "{\"id\":1,\"score\":1.5,\"name\":\"a\"}\n" + runaway + "{\"id\":3}\n", 1);
  Session session;
  auto load = [&](bool corrupt_column, const char* mode) {
    return session.read_stream()
        .format("json")
        .schema(people_schema(corrupt_column))
        .option("mode", mode)
        .option("maxRecordLength", "1000")
        .load(dir.file("json"));
  };
  Run dropped = run_all(session, load(false, "DROPMALFORMED"), "long_drop");
  BOOST_REQUIRE_MESSAGE(dropped.status.is_ok(), dropped.status.to_string());
  BOOST_TEST(ids(dropped.rows) == (std::vector<int64_t>{1, 3}));

  Run failed = run_all(session, load(false, "FAILFAST"), "long_fail");
  BOOST_TEST(failed.status.message().find("a.json:2: a record of 5030 bytes is longer than maxRecordLength (1000)") !=
                 std::string::npos,
             failed.status.message());

  Run kept = run_all(session, load(true, "PERMISSIVE"), "long_keep");
  BOOST_REQUIRE_MESSAGE(kept.status.is_ok(), kept.status.to_string());
  BOOST_REQUIRE(kept.rows.size() == 3u);
  const auto& corrupt = kept.rows[0];  // nulls sort first
  BOOST_TEST(corrupt[0].is_null());
  BOOST_TEST(corrupt[3].as_string().size() == 1024u);

  auto bad = session.read_stream().format("json").schema(people_schema(false)).option("maxRecordLength", "0").load(
      dir.file("json"));
  BOOST_TEST(bad.status().message().find("maxRecordLength") != std::string::npos, bad.status().message());
}
