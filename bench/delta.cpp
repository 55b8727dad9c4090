// Delta sink commit latency: the time finish_epoch takes to close an epoch's Parquet files and
// publish its Delta commit (fsync on), median over epochs, with the file sink's JSON manifest
// commit of the same rows as the baseline measured in the same run.
#include <sluice/sluice.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

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
  return 0;
}
