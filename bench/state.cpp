// Measures keyed state through the whole engine (group_by(k).agg(count, sum), update mode,
// LMDB checkpoint, noop sink):
//  - the commit time of an epoch that changes 1% of the keys of a large state, and of the
//    first epoch that creates every key (the proportionality check);
//  - the time from restarting the query on its checkpoint to its first completed epoch;
//  - peak memory (max RSS) with the state cache at 64 MB (session option stateCacheSize).
// Keys: 1 million (--quick: 200,000). A second run with 10 million keys: pass --keys 10000000.
#include <sluice/sluice.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

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
    for (auto& batch : batches(schema, 0, keys, 1)) (void)input.add_data(batch);
    auto begin = BenchClock::now();
    if (Status s = query->process_all_available(); !s.is_ok()) {
      std::fprintf(stderr, "%s\n", s.to_string().c_str());
      return 1;
    }
    std::printf("bench state_%s_first_epoch %.0f ms\n", label.c_str(), ms_since(begin));
    std::printf("bench state_%s_create_all_commit %.1f ms\n", label.c_str(), commit_ms(*query));
    // 1% of the keys change, spread over the whole key space.
    for (auto& batch : batches(schema, 0, keys / 100, 100)) (void)input.add_data(batch);
    if (Status s = query->process_all_available(); !s.is_ok()) return 1;
    std::printf("bench state_%s_change_1pct_commit %.1f ms\n", label.c_str(), commit_ms(*query));
    (void)query->stop();
  }
  {
    Session session;
    (void)session.set_conf("stateCacheSize", "64m");
    (void)session.set_conf("shuffle_partitions", "2");
    MemoryStream input(session, schema);
    for (auto& batch : batches(schema, 0, keys / 100, 100)) (void)input.add_data(batch);
    auto begin = BenchClock::now();
    auto query = start(input, checkpoint);
    if (!query.ok() || !query->process_all_available().is_ok()) return 1;
    std::printf("bench state_%s_restart_to_first_epoch %.0f ms\n", label.c_str(), ms_since(begin));
    (void)query->stop();
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("bench state_%s_peak_rss_cache_64mb %.0f MB\n", label.c_str(), static_cast<double>(usage.ru_maxrss) / 1024.0);
  std::filesystem::remove_all(checkpoint);
  return 0;
}
