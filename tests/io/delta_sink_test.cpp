#define BOOST_TEST_MODULE delta_sink
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <simdjson.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "io/delta_batch_read.hpp"
#include "io/delta_log.hpp"
#include "io/delta_sink.hpp"
#include "parquet/reader.hpp"
#include "tests/parquet/duckdb_process.hpp"
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
                       {"at", Type::Timestamp}})
      .value();
}

// Rows of every type, with nulls in every column but id.
Rows make_rows(int64_t first, int64_t count) {
  Rows rows;
  for (int64_t i = first; i < first + count; ++i) {
    rows.push_back(
        {Value(i), i % 5 == 0 ? Value() : Value("name \"" + std::to_string(i % 13) + "\""),
         i % 7 == 0 ? Value() : Value(static_cast<double>(i) / 4.0),
         i % 3 == 0 ? Value() : Value(i % 2 == 0),
         i % 11 == 0 ? Value() : Value(Timestamp{1'700'000'000'000'000 + i * 1'234'567})});
  }
  return rows;
}

RecordBatchPtr make_batch(int64_t first, int64_t count) {
  return RecordBatch::from_rows(schema(), make_rows(first, count)).value();
}

Rows sorted(Rows rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One commit file, decoded with simdjson independently of the sink's own log reader.
struct Commit {
  std::optional<std::pair<int64_t, int64_t>> protocol;
  std::optional<std::string> schema_string;
  std::vector<std::string> partition_columns;
  std::optional<std::pair<std::string, int64_t>> txn;
  std::optional<std::string> operation;
  struct Add {
    std::string path;
    std::string stats;
    std::map<std::string, std::optional<std::string>> partition_values;
  };
  std::vector<Add> adds;
  std::vector<std::string> removes;
};

Commit parse_commit(const std::string& table, int64_t version) {
  Commit commit;
  std::istringstream lines(read_text(delta_commit_file(table, version)));
  std::string line;
  simdjson::dom::parser parser;
  while (std::getline(lines, line)) {
    simdjson::dom::element element;
    BOOST_REQUIRE_MESSAGE(parser.parse(line).get(element) == simdjson::SUCCESS, line);
    simdjson::dom::object object;
    if (element["protocol"].get_object().get(object) == simdjson::SUCCESS) {
      commit.protocol = {object["minReaderVersion"].get_int64().value(),
                         object["minWriterVersion"].get_int64().value()};
    } else if (element["metaData"].get_object().get(object) == simdjson::SUCCESS) {
      commit.schema_string = std::string(object["schemaString"].get_string().value());
      BOOST_TEST(object["format"]["provider"].get_string().value() == "parquet");
      BOOST_TEST(!object["id"].get_string().value().empty());
      BOOST_TEST(object["createdTime"].get_int64().value() > 0);
      simdjson::dom::array columns;
      BOOST_REQUIRE(object["partitionColumns"].get_array().get(columns) == simdjson::SUCCESS);
      for (simdjson::dom::element column : columns) {
        std::string_view name;
        BOOST_REQUIRE(column.get_string().get(name) == simdjson::SUCCESS);
        commit.partition_columns.emplace_back(name);
      }
    } else if (element["txn"].get_object().get(object) == simdjson::SUCCESS) {
      commit.txn = {std::string(object["appId"].get_string().value()),
                    object["version"].get_int64().value()};
      BOOST_TEST(object["lastUpdated"].get_int64().value() > 0);
    } else if (element["commitInfo"].get_object().get(object) == simdjson::SUCCESS) {
      commit.operation = std::string(object["operation"].get_string().value());
    } else if (element["add"].get_object().get(object) == simdjson::SUCCESS) {
      Commit::Add add;
      add.path = delta_decode_path(object["path"].get_string().value());
      add.stats = std::string(object["stats"].get_string().value());
      BOOST_TEST(object["size"].get_int64().value() ==
                 static_cast<int64_t>(fs::file_size(table + "/" + add.path)));
      BOOST_TEST(object["dataChange"].get_bool().value());
      BOOST_TEST(object["modificationTime"].get_int64().value() > 0);
      simdjson::dom::object values;
      BOOST_REQUIRE(object["partitionValues"].get_object().get(values) == simdjson::SUCCESS);
      for (simdjson::dom::key_value_pair pair : values) {
        std::string_view text;
        if (pair.value.get_string().get(text) == simdjson::SUCCESS) {
          add.partition_values[std::string(pair.key)] = std::string(text);
        } else {
          add.partition_values[std::string(pair.key)] = std::nullopt;
        }
      }
      commit.adds.push_back(std::move(add));
    } else if (element["remove"].get_object().get(object) == simdjson::SUCCESS) {
      commit.removes.emplace_back(delta_decode_path(object["path"].get_string().value()));
      BOOST_TEST(object["deletionTimestamp"].get_int64().value() > 0);
    } else {
      BOOST_FAIL("unexpected action: " + line);
    }
  }
  return commit;
}

Rows read_file(const std::string& path) {
  auto reader = parquet::Reader::open(path);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  Rows rows;
  auto batches = (*reader)->read_all();
  BOOST_REQUIRE_MESSAGE(batches.ok(), batches.status().to_string());
  for (const auto& batch : *batches) {
    auto batch_rows = batch->to_rows();
    rows.insert(rows.end(), batch_rows.begin(), batch_rows.end());
  }
  return rows;
}

// Reads the live files of the table's latest snapshot.
Rows read_table(const std::string& table) {
  auto snapshot = read_delta_snapshot(table);
  BOOST_REQUIRE_MESSAGE(snapshot.ok(), snapshot.status().to_string());
  Rows rows;
  for (const auto& [path, file] : snapshot->files) {
    Rows file_rows = read_file(table + "/" + path);
    rows.insert(rows.end(), file_rows.begin(), file_rows.end());
  }
  return sorted(rows);
}

DeltaSinkOptions sink_options(const std::string& path) {
  auto options = DeltaSinkOptions::parse({{"path", path}}).value();
  options.sync = false;
  return options;
}

std::shared_ptr<DeltaSink> attached_sink(const DeltaSinkOptions& options, SchemaPtr sink_schema,
                                         OutputMode mode, const std::string& query_id) {
  auto sink = DeltaSink::make(options, std::move(sink_schema), mode);
  BOOST_REQUIRE_MESSAGE(sink.ok(), sink.status().to_string());
  const Status attached = (*sink)->attach({query_id, ""});
  BOOST_REQUIRE_MESSAGE(attached.is_ok(), attached.to_string());
  return *sink;
}

size_t parquet_files_on_disk(const std::string& table) {
  size_t count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(table))
    count += entry.path().extension() == ".parquet";
  return count;
}

// Runs one epoch through a sink as the sink actor would.
void run_epoch(DeltaSink& sink, int64_t epoch, const RecordBatchPtr& batch) {
  BOOST_REQUIRE(sink.write(epoch, batch).is_ok());
  const Status finished = sink.finish_epoch(epoch);
  BOOST_REQUIRE_MESSAGE(finished.is_ok(), finished.to_string());
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_streaming_query_commits_each_epoch_with_its_txn_and_the_rows_read_back) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  Session session;
  MemoryStream input(session, schema());
  auto query = input.to_df().write_stream().format("delta").option("path", table).start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  Rows all;
  for (int round = 0; round < 4; ++round) {
    Rows rows = make_rows(round * 100, 60 + round);
    all.insert(all.end(), rows.begin(), rows.end());
    BOOST_REQUIRE(input.add_data(rows).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  const std::string query_id = query->id();
  BOOST_REQUIRE(query->stop().is_ok());

  const auto versions = list_delta_versions(table).value();
  BOOST_REQUIRE(versions.size() == 5u);  // the table's creation, then one commit per epoch
  for (size_t i = 0; i < versions.size(); ++i)
    BOOST_TEST(versions[i] == static_cast<int64_t>(i));

  const Commit created = parse_commit(table, 0);
  BOOST_REQUIRE(created.protocol.has_value());
  BOOST_TEST(created.protocol->first == 1);
  BOOST_TEST(created.protocol->second == 2);
  BOOST_REQUIRE(created.schema_string.has_value());
  BOOST_TEST(
      *created.schema_string ==
      R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},)"
      R"({"name":"name","type":"string","nullable":true,"metadata":{}},)"
      R"({"name":"score","type":"double","nullable":true,"metadata":{}},)"
      R"({"name":"flag","type":"boolean","nullable":true,"metadata":{}},)"
      R"({"name":"at","type":"timestamp","nullable":true,"metadata":{}}]})");
  BOOST_TEST(created.partition_columns.empty());
  BOOST_TEST(created.adds.empty());

  int64_t previous_epoch = -1;
  simdjson::dom::parser parser;
  for (int64_t version = 1; version <= 4; ++version) {
    const Commit commit = parse_commit(table, version);
    BOOST_REQUIRE(commit.txn.has_value());
    BOOST_TEST(commit.txn->first == query_id);
    BOOST_TEST(commit.txn->second > previous_epoch);
    previous_epoch = commit.txn->second;
    BOOST_TEST(commit.operation.value_or("") == "STREAMING UPDATE");
    BOOST_TEST(commit.removes.empty());
    BOOST_REQUIRE(!commit.adds.empty());
    for (const auto& add : commit.adds) {
      // The stats describe exactly the rows of the file.
      const Rows rows = read_file(table + "/" + add.path);
      simdjson::dom::element stats;
      BOOST_REQUIRE(parser.parse(add.stats).get(stats) == simdjson::SUCCESS);
      BOOST_TEST(stats["numRecords"].get_int64().value() == static_cast<int64_t>(rows.size()));
      const auto fields = schema()->fields();
      for (size_t column = 0; column < fields.size(); ++column) {
        int64_t nulls = 0;
        for (const auto& row : rows)
          nulls += row[column].is_null();
        BOOST_TEST(stats["nullCount"][fields[column].name].get_int64().value() == nulls,
                   fields[column].name);
      }
      int64_t min_id = rows.front()[0].as_int64(), max_id = min_id;
      for (const auto& row : rows) {
        min_id = std::min(min_id, row[0].as_int64());
        max_id = std::max(max_id, row[0].as_int64());
      }
      BOOST_TEST(stats["minValues"]["id"].get_int64().value() == min_id);
      BOOST_TEST(stats["maxValues"]["id"].get_int64().value() == max_id);
    }
  }
  BOOST_TEST(read_table(table) == sorted(all));
}

BOOST_AUTO_TEST_CASE(duckdb_reads_the_live_files_the_log_lists_and_agrees) {
  if (const std::string missing = sluice::testing::duckdb_missing_reason(); !missing.empty()) {
    BOOST_TEST_MESSAGE("skipped: " << missing);
    return;
  }
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  auto options = sink_options(table);
  options.target_file_rows = 70;  // several files per epoch
  auto sink = attached_sink(options, schema(), OutputMode::Append, "duckdb-query");
  Rows all;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    Rows rows = make_rows(epoch * 1000, 150);
    all.insert(all.end(), rows.begin(), rows.end());
    run_epoch(*sink, epoch, RecordBatch::from_rows(schema(), rows).value());
  }
  auto snapshot = read_delta_snapshot(table).value();
  BOOST_TEST(snapshot.files.size() == 9u);
  std::string list;
  for (const auto& [path, file] : snapshot.files)
    list += (list.empty() ? "'" : ", '") + table + "/" + path + "'";
  auto output = sluice::testing::run_duckdb(
      {"SELECT count(*), sum(id), count(*) - count(name), count(*) - count(score), sum(score), "
       "count(*) - count(flag), count(*) - count(\"at\"), sum(CASE WHEN flag THEN 1 ELSE 0 END), "
       "max(epoch_us(\"at\")) FROM read_parquet([" +
       list + "])"},
      dir.path());
  BOOST_REQUIRE_MESSAGE(output.ok(), output.status().to_string());
  const auto& row = output->results.at(0).at(0);
  auto number = [](std::string text) {
    if (!text.empty() && text.front() == '"') text = text.substr(1, text.size() - 2);
    return std::stod(text);
  };
  // The reference: the same figures computed from the input rows.
  double sum_id = 0, sum_score = 0, trues = 0, max_at = 0;
  int64_t null_names = 0, null_scores = 0, null_flags = 0, null_ats = 0;
  for (const auto& input : all) {
    sum_id += static_cast<double>(input[0].as_int64());
    null_names += input[1].is_null();
    if (input[2].is_null())
      ++null_scores;
    else
      sum_score += input[2].as_double();
    if (input[3].is_null())
      ++null_flags;
    else
      trues += input[3].as_bool();
    if (input[4].is_null())
      ++null_ats;
    else
      max_at = std::max(max_at, static_cast<double>(input[4].as_timestamp().micros));
  }
  BOOST_TEST(number(row[0]) == static_cast<double>(all.size()));
  BOOST_TEST(number(row[1]) == sum_id);
  BOOST_TEST(number(row[2]) == null_names);
  BOOST_TEST(number(row[3]) == null_scores);
  BOOST_TEST(std::abs(number(row[4]) - sum_score) < 1e-6);
  BOOST_TEST(number(row[5]) == null_flags);
  BOOST_TEST(number(row[6]) == null_ats);
  BOOST_TEST(number(row[7]) == trues);
  BOOST_TEST(number(row[8]) == max_at);
  BOOST_TEST(read_table(table) == sorted(all));  // and Sluice's reader agrees with the input
}

BOOST_AUTO_TEST_CASE(an_epoch_replayed_after_its_delta_commit_adds_no_version_and_no_rows) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  {
    auto sink = attached_sink(sink_options(table), schema(), OutputMode::Append, "query-1");
    for (int64_t epoch = 0; epoch <= 3; ++epoch)
      run_epoch(*sink, epoch, make_batch(epoch * 10, 10));
    // The process dies here: epoch 3 is in the Delta log but not in the checkpoint.
  }
  const int64_t version = list_delta_versions(table).value().back();
  auto restarted = attached_sink(sink_options(table), schema(), OutputMode::Append, "query-1");
  run_epoch(*restarted, 3, make_batch(30, 10));
  BOOST_TEST(restarted->skipped_epochs() == 1);
  BOOST_TEST(list_delta_versions(table).value().back() == version);
  BOOST_TEST(read_table(table).size() == 40u);
  BOOST_TEST(parquet_files_on_disk(table) == 4u);  // the replay left no file behind
  run_epoch(*restarted, 4, make_batch(40, 10));
  BOOST_TEST(list_delta_versions(table).value().back() == version + 1);
  BOOST_TEST(read_table(table) == sorted(make_rows(0, 50)));
  // Another query's epoch 3 is its own.
  auto other = attached_sink(sink_options(table), schema(), OutputMode::Append, "query-2");
  run_epoch(*other, 3, make_batch(100, 5));
  BOOST_TEST(read_table(table).size() == 55u);
}

namespace {

// Fails finish_epoch of one epoch after the Delta commit succeeded: a crash between the Delta
// commit and the checkpoint commit.
class CrashAfterCommit final : public Sink {
 public:
  CrashAfterCommit(std::shared_ptr<DeltaSink> inner, int64_t crash_epoch)
      : inner_(std::move(inner)), crash_epoch_(crash_epoch) {}
  std::string description() const override { return "CrashAfterCommit"; }
  Status attach(const ConnectorContext& context) override { return inner_->attach(context); }
  Status write(int64_t epoch, const RecordBatchPtr& batch) override {
    return inner_->write(epoch, batch);
  }
  Status finish_epoch(int64_t epoch) override {
    SLUICE_RETURN_NOT_OK(inner_->finish_epoch(epoch));
    if (epoch == crash_epoch_) return Status::aborted("simulated crash after the Delta commit");
    return Status::ok();
  }
  void abort_epoch(int64_t epoch) override { inner_->abort_epoch(epoch); }

 private:
  std::shared_ptr<DeltaSink> inner_;
  int64_t crash_epoch_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(
    a_query_restarted_after_a_crash_between_delta_and_checkpoint_commits_writes_once) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  const std::string checkpoint = dir.file("checkpoint");
  Session session;
  MemoryStream input(session, schema());
  auto start = [&](int64_t crash_epoch) {
    auto inner = DeltaSink::make(sink_options(table), schema(), OutputMode::Append).value();
    auto query = input.to_df()
                     .write_stream()
                     .sink(std::make_shared<CrashAfterCommit>(inner, crash_epoch))
                     .option("checkpointLocation", checkpoint)
                     .start();
    BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
    return std::make_pair(*query, inner);
  };
  auto [first, first_sink] = start(1);
  BOOST_REQUIRE(input.add_data(make_rows(0, 20)).is_ok());
  BOOST_REQUIRE(first.process_all_available().is_ok());
  BOOST_REQUIRE(input.add_data(make_rows(20, 20)).is_ok());
  (void)first.process_all_available();  // fails: the sink "crashed" in epoch 1
  BOOST_REQUIRE(first.await_termination(std::chrono::seconds(30)));
  BOOST_REQUIRE(first.exception().has_value());
  BOOST_TEST(read_table(table).size() == 40u);  // epoch 1 reached the table
  const int64_t version = list_delta_versions(table).value().back();

  auto [second, second_sink] = start(-1);
  BOOST_REQUIRE(input.add_data(make_rows(40, 20)).is_ok());
  BOOST_REQUIRE(second.process_all_available().is_ok());
  BOOST_REQUIRE(second.stop().is_ok());
  BOOST_TEST(second_sink->skipped_epochs() == 1);  // epoch 1 was replayed and skipped
  BOOST_TEST(list_delta_versions(table).value().back() == version + 1);
  BOOST_TEST(read_table(table) == sorted(make_rows(0, 60)));
}

BOOST_AUTO_TEST_CASE(two_writers_racing_on_one_table_publish_every_commit_whole_and_lose_no_row) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  constexpr int64_t kEpochs = 25;
  constexpr int64_t kRows = 8;
  auto first = DeltaSink::make(sink_options(table), schema(), OutputMode::Append).value();
  auto second = DeltaSink::make(sink_options(table), schema(), OutputMode::Append).value();
  std::atomic<bool> failed{false};
  std::barrier start(2);
  auto run = [&](DeltaSink& sink, const std::string& id, int64_t first_row) {
    start.arrive_and_wait();  // both create the table at once
    if (!sink.attach({id, ""}).is_ok()) failed = true;
    for (int64_t epoch = 0; epoch < kEpochs && !failed; ++epoch) {
      if (!sink.write(epoch, make_batch(first_row + epoch * kRows, kRows)).is_ok()) failed = true;
      if (Status finished = sink.finish_epoch(epoch); !finished.is_ok()) {
        BOOST_TEST_MESSAGE(finished.to_string());
        failed = true;
      }
    }
  };
  std::thread a([&] { run(*first, "writer-a", 0); });
  std::thread b([&] { run(*second, "writer-b", 100'000); });
  a.join();
  b.join();
  BOOST_REQUIRE(!failed);
  BOOST_TEST_MESSAGE("retries: " << first->commit_retries() + second->commit_retries());

  const auto versions = list_delta_versions(table).value();
  BOOST_REQUIRE(versions.size() == static_cast<size_t>(1 + 2 * kEpochs));
  std::map<std::string, std::vector<int64_t>> epochs_by_writer;
  for (size_t i = 0; i < versions.size(); ++i) {
    BOOST_TEST(versions[i] == static_cast<int64_t>(i));
    const Commit commit = parse_commit(table, versions[i]);
    if (i == 0) {
      BOOST_TEST(commit.protocol.has_value());
      continue;
    }
    BOOST_REQUIRE(commit.txn.has_value());
    BOOST_TEST(commit.adds.size() == 1u);
    epochs_by_writer[commit.txn->first].push_back(commit.txn->second);
  }
  for (const char* writer : {"writer-a", "writer-b"}) {
    const auto& epochs = epochs_by_writer[writer];
    BOOST_REQUIRE(epochs.size() == static_cast<size_t>(kEpochs));
    for (int64_t epoch = 0; epoch < kEpochs; ++epoch)
      BOOST_TEST(epochs[static_cast<size_t>(epoch)] == epoch);
  }
  Rows expected = make_rows(0, kEpochs * kRows);
  Rows more = make_rows(100'000, kEpochs * kRows);
  expected.insert(expected.end(), more.begin(), more.end());
  BOOST_TEST(read_table(table) == sorted(expected));
  // No leftover temporary files: commits, log checkpoints and _last_checkpoint only.
  for (const auto& entry : fs::directory_iterator(delta_log_directory(table))) {
    const std::string name = entry.path().filename().string();
    BOOST_TEST((name.ends_with(".json") || name.ends_with(".checkpoint.parquet") ||
                name == "_last_checkpoint"),
               entry.path().string());
  }
}

BOOST_AUTO_TEST_CASE(a_writer_that_lost_a_version_retries_or_stops_as_the_winner_demands) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  auto a = attached_sink(sink_options(table), schema(), OutputMode::Append, "a");
  auto b = attached_sink(sink_options(table), schema(), OutputMode::Append, "b");
  // Alternating commits: each finds its version taken by the other and retries at the next.
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    run_epoch(*a, epoch, make_batch(epoch * 10, 10));
    run_epoch(*b, epoch, make_batch(1000 + epoch * 10, 10));
  }
  BOOST_TEST(a->commit_retries() + b->commit_retries() >= 5);
  BOOST_TEST(list_delta_versions(table).value().back() == 6);
  BOOST_TEST(read_table(table).size() == 60u);

  // A zombie of query "a" attached before epoch 3 was committed: losing the race to a commit
  // carrying its own epoch, it drops its files instead of committing twice.
  auto zombie = attached_sink(sink_options(table), schema(), OutputMode::Append, "a");
  BOOST_REQUIRE(zombie->write(3, make_batch(30, 10)).is_ok());
  run_epoch(*a, 3, make_batch(30, 10));
  BOOST_REQUIRE(zombie->finish_epoch(3).is_ok());
  BOOST_TEST(zombie->skipped_epochs() == 1);
  BOOST_TEST(read_table(table).size() == 70u);
  BOOST_TEST(parquet_files_on_disk(table) == 7u);

  // Complete mode replaces what it read: a concurrent append is a conflict, reported clearly.
  auto complete = attached_sink(sink_options(table), schema(), OutputMode::Complete, "c");
  run_epoch(*b, 3, make_batch(1030, 10));
  BOOST_REQUIRE(complete->write(0, make_batch(0, 1)).is_ok());
  const Status conflict = complete->finish_epoch(0);
  BOOST_REQUIRE(!conflict.is_ok());
  BOOST_TEST(conflict.message().find("complete mode") != std::string::npos, conflict.message());
  BOOST_TEST(read_table(table).size() == 80u);
}

BOOST_AUTO_TEST_CASE(complete_mode_replaces_the_content_of_the_table) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  auto sink = attached_sink(sink_options(table), schema(), OutputMode::Complete, "complete");
  run_epoch(*sink, 0, make_batch(0, 5));
  const Commit first = parse_commit(table, 1);
  run_epoch(*sink, 1, make_batch(100, 3));
  const Commit second = parse_commit(table, 2);
  BOOST_REQUIRE(second.removes.size() == 1u);
  BOOST_TEST(second.removes[0] == first.adds.at(0).path);
  BOOST_TEST(read_table(table) == sorted(make_rows(100, 3)));
  // An empty result empties the table.
  run_epoch(*sink, 2, RecordBatch::make_empty(schema()));
  BOOST_TEST(read_table(table).empty());
  BOOST_TEST(list_delta_versions(table).value().back() == 3);
}

BOOST_AUTO_TEST_CASE(partition_by_writes_value_directories_and_partition_values) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  auto partitioned =
      Schema::make({{"id", Type::Int64}, {"group", Type::String}, {"day", Type::Int64}}).value();
  Rows rows;
  for (int64_t i = 0; i < 30; ++i)
    rows.push_back(
        {Value(i), i % 3 == 0 ? Value() : Value(i % 3 == 1 ? "a/b" : "c"), Value(i % 2)});
  auto options = sink_options(table);
  options.partition_by = {"group", "day"};
  auto sink = attached_sink(options, partitioned, OutputMode::Append, "partitions");
  run_epoch(*sink, 0, RecordBatch::from_rows(partitioned, rows).value());

  BOOST_TEST(parse_commit(table, 0).partition_columns ==
             (std::vector<std::string>{"group", "day"}));
  BOOST_TEST(fs::is_directory(table + "/group=c/day=0"));
  BOOST_TEST(fs::is_directory(table + "/group=a%2Fb/day=1"));
  BOOST_TEST(fs::is_directory(table + "/group=__HIVE_DEFAULT_PARTITION__/day=1"));
  const Commit commit = parse_commit(table, 1);
  BOOST_TEST(commit.adds.size() == 6u);
  Rows read;
  for (const auto& add : commit.adds) {
    BOOST_TEST(add.stats.find("\"group\"") == std::string::npos);  // no stats for partition columns
    for (auto row : read_file(table + "/" + add.path)) {
      BOOST_REQUIRE(row.size() == 1u);  // the data file holds only the id
      const auto& group = add.partition_values.at("group");
      row.push_back(group ? Value(*group) : Value());
      row.push_back(
          Value(static_cast<int64_t>(std::stoll(add.partition_values.at("day").value()))));
      read.push_back(std::move(row));
    }
  }
  BOOST_TEST(sorted(read) == sorted(rows));
  // A later writer without partition_by(...) keeps the table's partitioning; a different one is
  // refused.
  auto again = DeltaSink::make(sink_options(table), partitioned, OutputMode::Append);
  BOOST_TEST(again.ok());
  auto other = sink_options(table);
  other.partition_by = {"day"};
  auto refused = DeltaSink::make(other, partitioned, OutputMode::Append);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.status().message().find("partition columns") != std::string::npos,
             refused.status().message());
}

BOOST_AUTO_TEST_CASE(a_different_schema_is_refused_naming_the_column_unless_merge_schema_adds_it) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  auto narrow = Schema::make({{"id", Type::Int64}, {"name", Type::String}}).value();
  auto sink = attached_sink(sink_options(table), narrow, OutputMode::Append, "schema");
  run_epoch(*sink, 0, RecordBatch::from_rows(narrow, {{1, "a"}}).value());

  auto retyped = Schema::make({{"id", Type::Int64}, {"name", Type::Int64}}).value();
  auto mismatch = DeltaSink::make(sink_options(table), retyped, OutputMode::Append);
  BOOST_REQUIRE(!mismatch.ok());
  BOOST_TEST(mismatch.status().message().find("column 'name' is BIGINT in the query but STRING") !=
                 std::string::npos,
             mismatch.status().message());

  auto wider =
      Schema::make({{"id", Type::Int64}, {"name", Type::String}, {"extra", Type::Double}}).value();
  auto unmerged = DeltaSink::make(sink_options(table), wider, OutputMode::Append);
  BOOST_REQUIRE(!unmerged.ok());
  BOOST_TEST(unmerged.status().message().find("column 'extra' is not in") != std::string::npos,
             unmerged.status().message());
  BOOST_TEST(unmerged.status().message().find("mergeSchema") != std::string::npos);

  auto merge_options = DeltaSinkOptions::parse({{"path", table}, {"mergeSchema", "true"}}).value();
  merge_options.sync = false;
  auto merging = attached_sink(merge_options, wider, OutputMode::Append, "schema");
  const Commit changed = parse_commit(table, 2);
  BOOST_REQUIRE(changed.schema_string.has_value());
  BOOST_TEST(!changed.protocol.has_value());
  auto fields = parse_delta_schema_string(*changed.schema_string).value();
  BOOST_REQUIRE(fields.size() == 3u);
  BOOST_TEST(fields[2].name == "extra");
  BOOST_TEST(fields[2].nullable);
  run_epoch(*merging, 1, RecordBatch::from_rows(wider, {{2, "b", 2.5}}).value());
  BOOST_TEST(read_delta_snapshot(table).value().metadata->fields.size() == 3u);
  // The narrow writer still fits: Delta reads the missing nullable column as null.
  BOOST_TEST(DeltaSink::make(sink_options(table), narrow, OutputMode::Append).ok());
}

BOOST_AUTO_TEST_CASE(a_corrupt_log_entry_and_an_unknown_reader_version_give_clear_errors) {
  TemporaryDirectory dir;
  const std::string table = dir.file("table");
  auto sink = attached_sink(sink_options(table), schema(), OutputMode::Append, "corrupt");
  run_epoch(*sink, 0, make_batch(0, 3));
  {
    std::ofstream out(delta_commit_file(table, 2));
    out << R"({"commitInfo":{"timestamp":1}})"
        << "\n"
        << R"({"add":{"path": "x.parquet",)"
        << "\n";
  }
  auto corrupt = read_delta_snapshot(table);
  BOOST_REQUIRE(!corrupt.ok());
  BOOST_TEST(corrupt.status().code() == StatusCode::corrupt);
  BOOST_TEST(corrupt.status().message().find("00000000000000000002.json:2") != std::string::npos,
             corrupt.status().message());
  BOOST_TEST(!DeltaSink::make(sink_options(table), schema(), OutputMode::Append).ok());

  const std::string future = dir.file("future");
  fs::create_directories(delta_log_directory(future));
  {
    std::ofstream out(delta_commit_file(future, 0));
    out << R"({"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors"],"writerFeatures":["deletionVectors"]}})"
        << "\n";
  }
  auto unsupported = DeltaSink::make(sink_options(future), schema(), OutputMode::Append);
  BOOST_REQUIRE(!unsupported.ok());
  BOOST_TEST(unsupported.status().message().find("reader version 3") != std::string::npos,
             unsupported.status().message());
}

BOOST_AUTO_TEST_CASE(options_are_checked_and_update_mode_without_key_is_refused) {
  auto typo = DeltaSinkOptions::parse({{"path", "/tmp/x"}, {"mergeSchem", "true"}});
  BOOST_REQUIRE(!typo.ok());
  BOOST_TEST(typo.status().message().find("did you mean 'mergeSchema'") != std::string::npos,
             typo.status().message());
  BOOST_TEST(!DeltaSinkOptions::parse({}).ok());
  BOOST_TEST(!DeltaSinkOptions::parse({{"path", "/tmp/x"}, {"targetFileRows", "0"}}).ok());
  TemporaryDirectory dir;
  auto update = DeltaSink::make(sink_options(dir.file("t")), schema(), OutputMode::Update);
  BOOST_REQUIRE(!update.ok());
  BOOST_TEST(update.status().message().find("option(\"key\"") != std::string::npos,
             update.status().message());
}

namespace {

SchemaPtr keyed_schema() {
  return Schema::make({{"k", Type::Int64}, {"day", Type::Int64}, {"v", Type::String}}).value();
}

Rows read_batch_rows(const std::string& table, const DeltaSnapshot& snapshot) {
  auto rows = read_delta_snapshot_rows(table, snapshot);
  BOOST_REQUIRE_MESSAGE(rows.ok(), rows.status().to_string());
  return sorted((*rows)->to_rows());
}

}  // namespace

BOOST_AUTO_TEST_CASE(update_mode_upserts_by_key_rewriting_only_files_with_changed_keys) {
  const uint64_t seed = std::random_device{}();
  std::cout << "seed " << seed << std::endl;
  std::mt19937_64 random(seed);
  for (const bool partitioned : {false, true}) {
    TemporaryDirectory dir;
    const std::string table = dir.file("t");
    auto options = sink_options(table);
    options.key = {"k", "day"};
    options.target_file_rows = 4;  // many small files, so an epoch touches some, not all
    if (partitioned) options.partition_by = {"day"};
    auto sink = attached_sink(options, keyed_schema(), OutputMode::Update, "upsert");
    std::map<std::pair<int64_t, int64_t>, std::vector<Value>> reference;
    for (int64_t epoch = 0; epoch < 12; ++epoch) {
      Rows rows;
      std::set<std::vector<Value>> changed;
      for (int i = static_cast<int>(random() % 8); i >= 0; --i) {
        const auto k = static_cast<int64_t>(random() % 20);
        const auto day = static_cast<int64_t>(random() % 2);
        Value v = random() % 5 ? Value("e" + std::to_string(epoch) + "-" + std::to_string(i)) : Value();
        rows.push_back({k, day, v});
        reference[{k, day}] = rows.back();  // the last row of a key in an epoch wins
        changed.insert({Value(k), Value(day)});
      }
      const DeltaSnapshot before = read_delta_snapshot(table).value();
      BOOST_REQUIRE(sink->write(epoch, RecordBatch::from_rows(keyed_schema(), rows).value()).is_ok());
      const Status finished = sink->finish_epoch(epoch);
      BOOST_REQUIRE_MESSAGE(finished.is_ok(), finished.to_string());
      Rows expected;
      for (const auto& [key, row] : reference) expected.push_back(row);
      const Rows actual = read_batch_rows(table, read_delta_snapshot(table).value());
      BOOST_TEST(actual == sorted(expected), "epoch " << epoch << ": " << actual.size() << " rows, expected " << expected.size());
      // Copy on write: the commit removed exactly the files that held a changed key.
      const DeltaSnapshot after = read_delta_snapshot(table).value();
      for (const auto& [path, file] : before.files) {
        DeltaSnapshot one = before;
        one.files = {{path, file}};
        bool holds_changed = false;
        for (const auto& row : read_batch_rows(table, one))
          holds_changed |= changed.count({row[0], row[1]}) > 0;
        BOOST_TEST(after.files.count(path) == (holds_changed ? 0u : 1u), path << " epoch " << epoch);
      }
    }
    // A replayed epoch is skipped: its txn is in the log.
    BOOST_REQUIRE(sink->write(11, RecordBatch::from_rows(keyed_schema(), {{0, 0, "replayed"}}).value()).is_ok());
    BOOST_REQUIRE(sink->finish_epoch(11).is_ok());
    BOOST_TEST(sink->skipped_epochs() == 1);
  }
}

BOOST_AUTO_TEST_CASE(an_aggregation_in_update_mode_keeps_the_latest_count_per_key) {
  TemporaryDirectory dir;
  const std::string table = dir.file("counts");
  Session session;
  MemoryStream input(session, Schema::make({{"k", Type::Int64}}).value());
  auto query = input.to_df()
                   .group_by("k")
                   .agg(count().alias("n"))
                   .write_stream()
                   .format("delta")
                   .output_mode(OutputMode::Update)
                   .option("path", table)
                   .option("key", "k")
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  std::map<int64_t, int64_t> reference;
  std::mt19937_64 random(5);
  for (int epoch = 0; epoch < 6; ++epoch) {
    Rows rows;
    for (int i = 0; i < 10; ++i) {
      const auto k = static_cast<int64_t>(random() % 7);
      rows.push_back({k});
      ++reference[k];
    }
    BOOST_REQUIRE(input.add_data(rows).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  BOOST_REQUIRE(query->stop().is_ok());
  Rows expected;
  for (const auto& [k, n] : reference) expected.push_back({k, n});
  BOOST_TEST(read_batch_rows(table, read_delta_snapshot(table).value()) == sorted(expected));

  // Update mode needs the key; the key is only for update mode.
  auto counts = input.to_df().group_by("k").agg(count().alias("n"));
  auto no_key = counts.write_stream().format("delta").output_mode(OutputMode::Update).option("path", dir.file("x")).start();
  BOOST_REQUIRE(!no_key.ok());
  BOOST_TEST(no_key.status().message().find("option(\"key\"") != std::string::npos, no_key.status().message());
  auto bad_key = counts.write_stream().format("delta").output_mode(OutputMode::Update).option("path", dir.file("x")).option("key", "kk").start();
  BOOST_REQUIRE(!bad_key.ok());
  BOOST_TEST(bad_key.status().message().find("kk") != std::string::npos, bad_key.status().message());
  auto key_in_complete = counts.write_stream().format("delta").output_mode(OutputMode::Complete).option("path", dir.file("x")).option("key", "k").start();
  BOOST_REQUIRE(!key_in_complete.ok());
  BOOST_TEST(key_in_complete.status().message().find("update mode") != std::string::npos, key_in_complete.status().message());
}
