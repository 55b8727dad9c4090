// Delta sink commit latency: the time finish_epoch takes to close an epoch's Parquet files and
// publish its Delta commit (fsync on), median over epochs, with the file sink's JSON manifest
// commit of the same rows as the baseline measured in the same run. Then the time to open a
// table of 10,000 commits (one file added each) from its log checkpoint, against replaying the
// whole JSON log of the same commits (the baseline), and the time to write that checkpoint.
#include <sluice/sluice.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "io/delta_checkpoint.hpp"
#include "io/delta_log.hpp"
#include "io/delta_sink.hpp"
#include "io/file_sink.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;

namespace {

SchemaPtr bench_schema() {
  return Schema::make({{"id", Type::Int64}, {"name", Type::String}, {"score", Type::Double}})
      .value();
}

RecordBatchPtr bench_batch(int64_t first, int64_t count) {
  RecordBatchBuilder builder(bench_schema());
  for (int64_t i = first; i < first + count; ++i) {
    (void)builder.append_row({Value(i), Value("device-" + std::to_string(i % 977)),
                              Value(static_cast<double>(i % 1000) + 0.25)});
  }
  return builder.finish().value();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

// Runs the epochs through the sink and returns finish_epoch's latency per epoch, in ms.
std::vector<double> run(Sink& sink, const std::vector<RecordBatchPtr>& batches) {
  std::vector<double> latencies;
  for (size_t epoch = 0; epoch < batches.size(); ++epoch) {
    const auto e = static_cast<int64_t>(epoch);
    if (Status written = sink.write(e, batches[epoch]); !written.is_ok()) {
      std::fprintf(stderr, "%s\n", written.to_string().c_str());
      return {};
    }
    const auto start = std::chrono::steady_clock::now();
    if (Status finished = sink.finish_epoch(e); !finished.is_ok()) {
      std::fprintf(stderr, "%s\n", finished.to_string().c_str());
      return {};
    }
    latencies.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  return latencies;
}

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Writes a table's log of `commits` versions straight (no data files: opening reads only the
// log): version 0 creates the table, every later one adds a file and records a txn.
Status write_long_log(const std::string& table, int64_t commits) {
  std::filesystem::create_directories(delta_log_directory(table));
  DeltaMetadata metadata;
  metadata.id = random_uuid();
  metadata.fields = bench_schema()->fields();
  metadata.schema_string = delta_schema_string(metadata.fields);
  std::string content = delta_protocol_action(DeltaProtocol{}) + "\n" +
                        delta_metadata_action(metadata) + "\n";
  for (int64_t version = 0; version < commits; ++version) {
    if (version > 0) {
      DeltaFile file;
      file.path = "part-" + std::to_string(version) + "-" + random_uuid() + ".c000.snappy.parquet";
      file.size = 1000 + version;
      file.modification_time = delta_now_millis();
      file.stats = R"({"numRecords":100,"minValues":{"id":0},"maxValues":{"id":99},"nullCount":{"id":0}})";
      content = delta_commit_info_action(file.modification_time, "STREAMING UPDATE", {}, true) +
                "\n" + delta_txn_action("bench", version, file.modification_time) + "\n" +
                delta_add_action(file, true) + "\n";
    }
    SLUICE_ASSIGN_OR_RETURN(bool published, publish_delta_commit(table, version, content, false));
    if (!published) return Status::aborted("version " + std::to_string(version) + " exists");
  }
  return Status::ok();
}

// Returns the median time to open the table (read its latest snapshot), in ms.
Result<double> open_ms(const std::string& table, int runs, int64_t expected_files) {
  std::vector<double> times;
  for (int run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    SLUICE_ASSIGN_OR_RETURN(DeltaSnapshot snapshot, read_delta_snapshot(table));
    times.push_back(elapsed_ms(start));
    if (static_cast<int64_t>(snapshot.files.size()) != expected_files) {
      return Status::internal("opened " + std::to_string(snapshot.files.size()) + " files, not " +
                              std::to_string(expected_files));
    }
  }
  return median(times);
}

int bench_open(bool quick) {
  constexpr int64_t kCommits = 10'000;
  sluice::testing::TemporaryDirectory dir;
  const std::string plain = dir.file("plain");
  const std::string checkpointed = dir.file("checkpointed");
  for (const std::string& table : {plain, checkpointed}) {
    if (Status written = write_long_log(table, kCommits + 5); !written.is_ok()) {
      std::fprintf(stderr, "%s\n", written.to_string().c_str());
      return 1;
    }
  }
  // The checkpoint a writer leaves at version 10,000; the five commits after it stay JSON.
  auto state = read_delta_snapshot_at(checkpointed, kCommits);
  if (!state.ok()) {
    std::fprintf(stderr, "%s\n", state.status().to_string().c_str());
    return 1;
  }
  const auto write_start = std::chrono::steady_clock::now();
  if (Status written = write_delta_checkpoint(checkpointed, *state, true); !written.is_ok()) {
    std::fprintf(stderr, "%s\n", written.to_string().c_str());
    return 1;
  }
  const double write_ms = elapsed_ms(write_start);
  const int runs = quick ? 1 : 5;
  auto with_checkpoint = open_ms(checkpointed, runs, kCommits + 4);
  auto without = open_ms(plain, runs, kCommits + 4);
  if (!with_checkpoint.ok() || !without.ok()) {
    std::fprintf(stderr, "%s %s\n", with_checkpoint.status().to_string().c_str(),
                 without.status().to_string().c_str());
    return 1;
  }
  std::printf("bench delta_open_10000_commits_checkpointed %.1f ms\n", *with_checkpoint);
  std::printf("bench delta_open_10000_commits_json_only_baseline %.1f ms\n", *without);
  std::printf("bench delta_open_checkpoint_speedup %.1f x\n",
              *with_checkpoint > 0 ? *without / *with_checkpoint : 0.0);
  std::printf("bench delta_checkpoint_write_10000_files %.1f ms\n", write_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const int epochs = quick ? 10 : 50;
  const int64_t rows = quick ? 10'000 : 100'000;
  std::vector<RecordBatchPtr> batches;
  for (int epoch = 0; epoch < epochs; ++epoch)
    batches.push_back(bench_batch(epoch * rows, rows));

  sluice::testing::TemporaryDirectory dir;
  auto delta_options = DeltaSinkOptions::parse({{"path", dir.file("delta")}}).value();
  auto delta = DeltaSink::make(delta_options, bench_schema(), OutputMode::Append);
  if (!delta.ok() || !(*delta)->attach({"bench", ""}).is_ok()) {
    std::fprintf(stderr, "cannot open the delta sink\n");
    return 1;
  }
  const std::vector<double> delta_latencies = run(**delta, batches);

  auto file_options =
      FileSinkOptions::parse(FileFormat::json, {{"path", dir.file("json")}}).value();
  auto file = FileSink::make(file_options, bench_schema(), OutputMode::Append);
  if (!file.ok()) {
    std::fprintf(stderr, "%s\n", file.status().to_string().c_str());
    return 1;
  }
  const std::vector<double> file_latencies = run(**file, batches);
  if (delta_latencies.empty() || file_latencies.empty()) return 1;

  const double delta_ms = median(delta_latencies);
  const double file_ms = median(file_latencies);
  std::printf("bench delta_commit_latency %.3f ms\n", delta_ms);
  std::printf("bench delta_commit_latency_baseline_file_sink %.3f ms\n", file_ms);
  std::printf("bench delta_commit_latency_ratio %.2f x\n", file_ms > 0 ? delta_ms / file_ms : 0.0);
  std::printf("bench delta_commit_latency_max %.3f ms\n",
              *std::max_element(delta_latencies.begin(), delta_latencies.end()));
  return bench_open(quick);
}
