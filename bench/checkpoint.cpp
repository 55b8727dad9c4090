// Measures epoch commits of the LMDB checkpoint store: a small commit with fsync (the floor
// of every trigger interval), the same without fsync, and a commit changing 1% of a large
// state. A raw write+fdatasync of 4 KiB in the same directory is measured as the baseline.
//
// Usage: bench_checkpoint [--quick]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "state/checkpoint_store.hpp"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

[[noreturn]] void fail(const Status& status) {
  std::fprintf(stderr, "bench_checkpoint: %s\n", status.to_string().c_str());
  std::exit(1);
}

void check(const Status& status) {
  if (!status.is_ok()) fail(status);
}

std::unique_ptr<CheckpointStore> open_store(const std::string& path, bool sync) {
  CheckpointOptions options;
  options.sync = sync;
  options.map_size_bytes = 4LL << 30;
  auto store = CheckpointStore::open(path, options);
  if (!store.ok()) fail(store.status());
  return std::move(store).value();
}

std::string offsets_of(int64_t epoch) {
  return "kafka orders p0 [" + std::to_string(epoch * 1000) + ", " +
         std::to_string(epoch * 1000 + 1000) + ") p1 [" + std::to_string(epoch * 990) + ", " +
         std::to_string(epoch * 990 + 990) + ")";
}

std::string state_key(int64_t index) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "group-%09lld", static_cast<long long>(index));
  return buffer;
}

// Times write+fdatasync of 4 KiB to a probe file: what one durable write costs on this disk.
class FsyncProbe {
 public:
  explicit FsyncProbe(const std::string& directory) : file_(directory + "/fsync_probe") {
    fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd_ < 0) fail(Status::io_error("cannot create " + file_));
  }
  ~FsyncProbe() {
    ::close(fd_);
    fs::remove(file_);
  }
  double measure_ms() {
    std::string page(4096, 'p');
    auto start = Clock::now();
    if (::pwrite(fd_, page.data(), page.size(), 0) != static_cast<ssize_t>(page.size()) ||
        ::fdatasync(fd_) != 0) {
      fail(Status::io_error("write+fdatasync of " + file_ + " failed"));
    }
    return elapsed_ms(start);
  }

 private:
  std::string file_;
  int fd_ = -1;
};

struct CommitTimes {
  double commit_ms = 0;
  double fsync_baseline_ms = 0;
};

// Times commit_epoch (not the write-ahead) with 100 state changes per epoch. With a probe, a
// raw fsync is timed between commits, so the baseline sees the same disk conditions.
CommitTimes small_commit_ms(const std::string& path, bool sync, int epochs, FsyncProbe* probe) {
  auto store = open_store(path, sync);
  std::vector<double> commits;
  std::vector<double> fsyncs;
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    check(store->write_offsets(epoch, offsets_of(epoch)));
    EpochCommit commit{epoch, "watermark " + std::to_string(epoch * 1000), {}};
    for (int64_t i = 0; i < 100; ++i) {
      commit.state_changes.push_back(
          {"agg/0", state_key((epoch * 37 + i * 101) % 5000), "count=" + std::to_string(epoch)});
    }
    auto start = Clock::now();
    check(store->commit_epoch(commit));
    commits.push_back(elapsed_ms(start));
    if (probe != nullptr) fsyncs.push_back(probe->measure_ms());
  }
  return {median(commits), fsyncs.empty() ? 0.0 : median(fsyncs)};
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  std::string pattern = (fs::temp_directory_path() / "sluice-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) fail(Status::io_error("mkdtemp failed"));
  const std::string root = pattern;

  CommitTimes synced;
  {
    FsyncProbe probe(root);
    synced = small_commit_ms(root + "/synced", true, quick ? 50 : 300, &probe);
  }
  std::printf("bench fsync_4k_baseline_ms %.3f ms\n", synced.fsync_baseline_ms);
  std::printf("bench checkpoint_commit_ms %.3f ms\n", synced.commit_ms);
  std::printf("bench checkpoint_commit_vs_fsync_ratio %.2f x\n",
              synced.commit_ms / synced.fsync_baseline_ms);
  const double unsynced =
      small_commit_ms(root + "/unsynced", false, quick ? 500 : 3000, nullptr).commit_ms;
  std::printf("bench checkpoint_commit_nosync_ms %.3f ms\n", unsynced);

  const int64_t keys = quick ? 100000 : 1000000;
  const int64_t changed = keys / 100;
  const std::string large = root + "/large";
  auto build_start = Clock::now();
  {
    auto store = open_store(large, false);
    const int64_t per_commit = keys / 10;
    for (int64_t epoch = 0; epoch < 10; ++epoch) {
      check(store->write_offsets(epoch, offsets_of(epoch)));
      EpochCommit commit{epoch, "", {}};
      commit.state_changes.reserve(per_commit);
      for (int64_t i = epoch * per_commit; i < (epoch + 1) * per_commit; ++i) {
        commit.state_changes.push_back({"agg/0", state_key(i), "count=0;sum=0.0"});
      }
      check(store->commit_epoch(commit));
    }
  }
  const std::string size_name = quick ? "100k" : "1m";
  std::printf("bench state_build_%s_s %.3f s\n", size_name.c_str(), elapsed_ms(build_start) / 1000);

  std::vector<double> times;
  std::mt19937_64 random(42);
  std::uniform_int_distribution<int64_t> pick(0, keys - 1);
  auto store = open_store(large, true);
  for (int64_t epoch = 10; epoch < (quick ? 15 : 30); ++epoch) {
    check(store->write_offsets(epoch, offsets_of(epoch)));
    EpochCommit commit{epoch, "", {}};
    commit.state_changes.reserve(changed);
    for (int64_t i = 0; i < changed; ++i) {
      commit.state_changes.push_back(
          {"agg/0", state_key(pick(random)), "count=" + std::to_string(epoch) + ";sum=1.5"});
    }
    auto start = Clock::now();
    check(store->commit_epoch(commit));
    times.push_back(elapsed_ms(start));
  }
  auto stats = store->stats();
  if (!stats.ok()) fail(stats.status());
  std::printf("bench state_commit_1pct_of_%s_ms %.3f ms\n", size_name.c_str(), median(times));
  std::printf("bench state_%s_data_file_mb %.1f MB\n", size_name.c_str(),
              static_cast<double>(stats->data_file_bytes) / (1 << 20));
  store.reset();

  std::error_code error;
  fs::remove_all(root, error);
  return 0;
}
