// Shows that credits bound memory: a fast rate source feeds a deliberately slow sink, and the
// process's resident memory is sampled at the start and the end of the run.
#include <sluice/sluice.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

// Reads the resident set size from /proc/self/status, in MB.
double resident_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const auto duration = quick ? 5s : 60s;
  Session session;
  // Takes 5 ms per batch of at most 8192 rows in write(), as a slow database would.
  struct SlowSink final : Sink {
    std::atomic<int64_t> rows{0};
    std::string description() const override { return "SlowSink"; }
    Status write(int64_t, const RecordBatchPtr& batch) override {
      rows += batch->num_rows();
      std::this_thread::sleep_for(5ms * ((batch->num_rows() + 8191) / 8192));
      return Status::ok();
    }
    Status finish_epoch(int64_t) override { return Status::ok(); }
  };
  auto sink = std::make_shared<SlowSink>();
  auto& rows = sink->rows;
  // 2 million rows/s offered; the sink takes 5 ms per batch of at most 8192 rows (~1.6M rows/s
  // at best), so the source is held back by credits rather than queuing batches in memory.
  auto query = session.read_stream()
                   .format("rate")
                   .option("rowsPerSecond", "2000000")
                   .option("rowsPerBatch", "8192")
                   .load()
                   .select(col("value"), (col("value") * 2).alias("twice"))
                   .write_stream()
                   .sink(sink)
                   .start();
  if (!query.ok()) {
    std::fprintf(stderr, "%s\n", query.status().to_string().c_str());
    return 1;
  }
  std::this_thread::sleep_for(2s);
  const double start_mb = resident_mb();
  std::this_thread::sleep_for(duration);
  const double end_mb = resident_mb();
  (void)query->stop();
  std::printf("bench slow_sink_rss_start %.1f MB\n", start_mb);
  std::printf("bench slow_sink_rss_end %.1f MB\n", end_mb);
  std::printf("bench slow_sink_rss_growth %.3f ratio\n", end_mb / start_mb);
  std::printf("bench slow_sink_rows_per_second %.0f rows/s\n",
              static_cast<double>(rows.load()) / std::chrono::duration<double>(duration + 2s).count());
  return 0;
}
