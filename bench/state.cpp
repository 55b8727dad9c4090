// Measures keyed state through the whole engine (group_by(k).agg(count, sum), update mode,
// LMDB checkpoint, noop sink, 2 shuffle partitions, stateCacheSize 64m per partition):
//  - the commit time of epochs that each change 1% of the keys of a large state (mean and
//    worst over 48 epochs, so whole compaction rounds are in, and the mean of the last 16, once
//    the first round built the B-tree base), against the commit of the epoch
//    that creates 1M keys (the proportionality check: the ratio should be near 1/100);
//  - the time from restarting the query on its checkpoint to its first completed epoch
//    (which changes 1% of the keys);
//  - peak memory (max RSS) while building and changing the state, and during the restart.
// Keys: 1 million (--quick: 200,000), created in epochs of at most 1 million; --keys N for
// another size (the second figure: --keys 10000000).
#include <sluice/sluice.hpp>

#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <atomic>
#include <thread>

using namespace sluice;
using BenchClock = std::chrono::steady_clock;

namespace {

double ms_since(BenchClock::time_point start) {
  return std::chrono::duration<double, std::milli>(BenchClock::now() - start).count();
}

std::vector<RecordBatchPtr> batches(const SchemaPtr& schema, int64_t first_key, int64_t count, int64_t stride) {
  std::vector<RecordBatchPtr> out;
  for (int64_t done = 0; done < count;) {
    RecordBatchBuilder builder(schema);
    const int64_t n = std::min<int64_t>(65536, count - done);
    for (int64_t i = 0; i < n; ++i, ++done) {
      builder.column(0).append_int64(first_key + done * stride);
      builder.column(1).append_int64(done % 100);
    }
    out.push_back(builder.finish().value());
  }
  return out;
}

Result<StreamingQuery> start(MemoryStream& input, const std::string& checkpoint) {
  return input.to_df()
      .group_by(col("k"))
      .agg(count().alias("n"), sum(col("v")).alias("s"))
      .write_stream()
      .format("noop")
      .output_mode(OutputMode::Update)
      .option("checkpointLocation", checkpoint)
      .start();
}

double commit_ms(const StreamingQuery& query) {
  const auto last = query.last_progress();
  double commit = 0;
  for (const auto& op : last->state_operators) commit = std::max<double>(commit, static_cast<double>(op.commit_time_ms));
  return commit;
}

// Samples the process's anonymous resident memory (heap: the cache, batches, deltas; not the
// pages of the LMDB file mapped in, which the kernel can drop) every few milliseconds and keeps
// its maximum.
class AnonymousMemorySampler {
 public:
  AnonymousMemorySampler() : thread_([this] { run(); }) {}
  ~AnonymousMemorySampler() {
    stop_ = true;
    thread_.join();
  }
  double peak_mb() const { return static_cast<double>(peak_kb_.load()) / 1024.0; }
  void reset() { peak_kb_ = 0; }

 private:
  void run() {
    while (!stop_) {
      std::ifstream status("/proc/self/status");
      std::string line;
      while (std::getline(status, line)) {
        if (line.rfind("RssAnon:", 0) == 0) {
          const int64_t kb = std::atoll(line.c_str() + 8);
          if (kb > peak_kb_) peak_kb_ = kb;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_kb_{0};
  std::thread thread_;
};

// Returns the peak resident set size (VmHWM) in MB.
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// Resets the peak resident set size to the current one (Linux: clear_refs 5).
void reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  int64_t keys = quick ? 200'000 : 1'000'000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--keys") == 0) keys = std::atoll(argv[i + 1]);
  }
  std::string checkpoint = (std::filesystem::temp_directory_path() / "sluice-bench-state-XXXXXX").string();
  if (::mkdtemp(checkpoint.data()) == nullptr) return 1;
  auto schema = Schema::make({{"k", Type::Int64}, {"v", Type::Int64}}).value();
  const std::string label = std::to_string(keys / 1000) + "k";
  constexpr int64_t kEpochKeys = 1'000'000;  // keys created per epoch while building
  constexpr int kChangeEpochs = 48;
  AnonymousMemorySampler anonymous;
  {
    Session session;
    (void)session.set_conf("stateCacheSize", "64m");
    (void)session.set_conf("shuffle_partitions", "2");
    MemoryStream input(session, schema);
    auto query = start(input, checkpoint);
    if (!query.ok()) {
      std::fprintf(stderr, "%s\n", query.status().to_string().c_str());
      return 1;
    }
    auto begin = BenchClock::now();
    double create_commit = 0;
    for (int64_t first = 0; first < keys; first += kEpochKeys) {
      for (auto& batch : batches(schema, first, std::min(kEpochKeys, keys - first), 1)) (void)input.add_data(batch);
      if (Status s = query->process_all_available(); !s.is_ok()) {
        std::fprintf(stderr, "%s\n", s.to_string().c_str());
        return 1;
      }
      if (first == 0) create_commit = commit_ms(*query);
    }
    std::printf("bench state_%s_build %.0f ms\n", label.c_str(), ms_since(begin));
    std::printf("bench state_%s_create_first_epoch_commit %.1f ms\n", label.c_str(), create_commit);
    // 1% of the keys change per epoch, spread over the whole key space, other keys each epoch.
    double total = 0;
    double worst = 0;
    double last_third = 0;
    for (int e = 0; e < kChangeEpochs; ++e) {
      for (auto& batch : batches(schema, e, keys / 100, 100)) (void)input.add_data(batch);
      if (Status s = query->process_all_available(); !s.is_ok()) {
        std::fprintf(stderr, "%s\n", s.to_string().c_str());
        return 1;
      }
      total += commit_ms(*query);
      worst = std::max(worst, commit_ms(*query));
      if (e >= kChangeEpochs * 2 / 3) last_third += commit_ms(*query);
    }
    std::printf("bench state_%s_commit_1pct_ms %.1f ms\n", label.c_str(), total / kChangeEpochs);
    std::printf("bench state_%s_commit_1pct_last16_ms %.1f ms\n", label.c_str(), last_third / (kChangeEpochs - kChangeEpochs * 2 / 3));
    std::printf("bench state_%s_commit_1pct_worst_ms %.1f ms\n", label.c_str(), worst);
    std::printf("bench state_%s_commit_1pct_vs_create_ratio %.3f ratio\n", label.c_str(),
                create_commit > 0 ? total / kChangeEpochs / create_commit * (static_cast<double>(std::min(kEpochKeys, keys)) / 1e6) : 0.0);
    std::printf("bench state_%s_peak_rss_run %.0f MB\n", label.c_str(), peak_rss_mb());
    std::printf("bench state_%s_peak_anonymous_run %.0f MB\n", label.c_str(), anonymous.peak_mb());
    // The memory stream keeps every row added (16 bytes a row): part of the figures above.
    std::printf("bench state_%s_input_rows_held %.0f MB\n", label.c_str(),
                static_cast<double>(keys + kChangeEpochs * (keys / 100)) * 16 / 1048576.0);
    (void)query->stop();
  }
  // A restart is a new process: hand the first run's freed heap back before measuring it.
  malloc_trim(0);
  reset_peak_rss();
  anonymous.reset();
  {
    Session session;
    (void)session.set_conf("stateCacheSize", "64m");
    (void)session.set_conf("shuffle_partitions", "2");
    MemoryStream input(session, schema);
    // The stream's offsets are row numbers: rows up to the committed offset are never read
    // again, so one shared batch stands for them, then the next 1% change.
    int64_t committed_rows = keys + kChangeEpochs * (keys / 100);
    const RecordBatchPtr filler = batches(schema, 0, std::min<int64_t>(committed_rows, 65536), 1).front();
    for (; committed_rows >= filler->num_rows(); committed_rows -= filler->num_rows()) (void)input.add_data(filler);
    if (committed_rows > 0) (void)input.add_data(batches(schema, 0, committed_rows, 1).front());
    for (auto& batch : batches(schema, kChangeEpochs, keys / 100, 100)) (void)input.add_data(batch);
    auto begin = BenchClock::now();
    auto query = start(input, checkpoint);
    if (!query.ok() || !query->process_all_available().is_ok()) return 1;
    std::printf("bench state_%s_restart_to_first_epoch %.0f ms\n", label.c_str(), ms_since(begin));
    std::printf("bench state_%s_restart_epoch_rows %lld rows\n", label.c_str(),
                static_cast<long long>(query->last_progress() ? query->last_progress()->num_input_rows : -1));
    (void)query->stop();
  }
  std::printf("bench state_%s_peak_rss_restart %.0f MB\n", label.c_str(), peak_rss_mb());
  std::printf("bench state_%s_peak_anonymous_restart %.0f MB\n", label.c_str(), anonymous.peak_mb());
  std::filesystem::remove_all(checkpoint);
  return 0;
}
