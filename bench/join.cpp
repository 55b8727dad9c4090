// Measures a stream-stream inner join of two streams of 5 million rows each (--quick: 500,000)
// through the real runtime: two MemoryStreams (key, event time, value) with a 2 s watermark
// delay, joined on the key with `rts BETWEEN lts AND lts + 10 seconds`, 250,000 rows per
// stream per epoch, 2 shuffle partitions, state evicted by the watermark and committed to the
// LMDB checkpoint every epoch, results counted by a foreach_batch sink. Event times rise
// 10,000 rows per second per stream with up to 1 s of disorder; 100,000 keys, so a left row
// meets about one right row. The baseline is a hand-written loop over the same rows, epoch by
// epoch, with one std::unordered_map<key, rows> per side, probing, inserting and evicting by
// the same watermark. Prints rows per second (both streams' rows) for both and their ratio;
// exits non-zero when the two disagree on the matches. Also prints both per CPU-second of the
// process (the engine's threads included), the ratio that survives a machine shared with other work.
// Then the probe of a stream-static join: StaticHashJoin::join over the left stream's rows in
// 50,000-row batches against a 100,000-row table (one row per key), next to a hand-written
// std::unordered_map<int64_t, row> probe gathering the same columns (best of five runs each).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <random>
#include <sys/resource.h>
#include <string>
#include <unordered_map>
#include <vector>

#include <sluice/sluice.hpp>

#include "operators/static_join.hpp"

#include "tests/support/temporary_directory.hpp"

using namespace sluice;

namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kKeys = 100'000;
constexpr int64_t kRowsPerSecond = 10'000;
constexpr int64_t kBound = 10 * kSecond;
constexpr int64_t kDelay = 2 * kSecond;
constexpr int64_t kEpochRows = 250'000;
constexpr int64_t kBatchRows = 50'000;

struct Side {
  std::vector<int64_t> key, time, value;
};

Side generate(int64_t count, uint64_t seed) {
  std::mt19937_64 random(seed);
  Side side;
  for (int64_t i = 0; i < count; ++i) {
    side.key.push_back(static_cast<int64_t>(random() % kKeys));
    side.time.push_back(i * (kSecond / kRowsPerSecond) - static_cast<int64_t>(random() % kSecond));
    side.value.push_back(static_cast<int64_t>(random() % 1000));
  }
  return side;
}

// Returns the CPU time (user + system) the process used so far, in seconds: the figure that
// survives a machine shared with other work.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Totals {
  int64_t matches = 0;
  int64_t sum = 0;  // of left value * 1000 + right value
  bool operator==(const Totals&) const = default;
};

// The hand-written join: epochs of kEpochRows per side, left rows first then right rows, each
// probing the other side's table and joining it; after an epoch rows that can no longer match
// are evicted by the watermark (max event time of the earlier epochs - delay).
Totals baseline(const Side& left, const Side& right) {
  struct Row {
    int64_t time;
    int64_t value;
  };
  std::unordered_map<int64_t, std::vector<Row>> tables[2];
  Totals totals;
  int64_t max_time[2] = {INT64_MIN, INT64_MIN};
  int64_t watermark = INT64_MIN;
  const int64_t n = static_cast<int64_t>(left.key.size());
  for (int64_t begin = 0; begin < n; begin += kEpochRows) {
    const int64_t end = std::min(n, begin + kEpochRows);
    for (int side = 0; side < 2; ++side) {
      const Side& rows = side == 0 ? left : right;
      auto& own = tables[side];
      auto& other = tables[1 - side];
      for (int64_t i = begin; i < end; ++i) {
        const int64_t t = rows.time[static_cast<size_t>(i)];
        if (t < watermark) continue;
        const int64_t k = rows.key[static_cast<size_t>(i)];
        const int64_t v = rows.value[static_cast<size_t>(i)];
        auto found = other.find(k);
        if (found != other.end()) {
          for (const Row& o : found->second) {
            const int64_t lt = side == 0 ? t : o.time;
            const int64_t rt = side == 0 ? o.time : t;
            if (rt >= lt && rt <= lt + kBound) {
              ++totals.matches;
              totals.sum += side == 0 ? v * 1000 + o.value : o.value * 1000 + v;
            }
          }
        }
        own[k].push_back({t, v});
        max_time[side] = std::max(max_time[side], t);
      }
    }
    // Evict with the epoch's watermark (as the operator does at the end of the epoch).
    if (watermark != INT64_MIN) {
      for (int side = 0; side < 2; ++side) {
        for (auto it = tables[side].begin(); it != tables[side].end();) {
          auto& list = it->second;
          list.erase(std::remove_if(list.begin(), list.end(),
                                    [&](const Row& r) {
                                      return side == 0 ? r.time + kBound < watermark : r.time < watermark;
                                    }),
                     list.end());
          it = list.empty() ? tables[side].erase(it) : std::next(it);
        }
      }
    }
    // The watermark is the minimum over the inputs, as the engine's default policy.
    watermark = std::min(max_time[0], max_time[1]) - kDelay;
  }
  return totals;
}

RecordBatchPtr make_batch(const SchemaPtr& schema, const Side& side, int64_t begin, int64_t end) {
  RecordBatchBuilder builder(schema);
  for (int64_t i = begin; i < end; ++i) {
    builder.column(0).append_int64(side.key[static_cast<size_t>(i)]);
    builder.column(1).append_timestamp(side.time[static_cast<size_t>(i)]);
    builder.column(2).append_int64(side.value[static_cast<size_t>(i)]);
  }
  return builder.finish().value();
}

Result<Totals> run_engine(const Side& left, const Side& right, double& seconds) {
  Session session;
  SLUICE_RETURN_NOT_OK(session.set_conf("shuffle_partitions", "2"));
  auto left_schema = Schema::make({{"k", Type::Int64}, {"lts", Type::Timestamp}, {"lv", Type::Int64}}).value();
  auto right_schema = Schema::make({{"k", Type::Int64}, {"rts", Type::Timestamp}, {"rv", Type::Int64}}).value();
  MemoryStream left_stream(session, left_schema);
  MemoryStream right_stream(session, right_schema);
  left_stream.set_max_rows_per_trigger(kEpochRows);
  right_stream.set_max_rows_per_trigger(kEpochRows);
  const int64_t n = static_cast<int64_t>(left.key.size());
  for (int64_t begin = 0; begin < n; begin += kBatchRows) {
    const int64_t end = std::min(n, begin + kBatchRows);
    SLUICE_RETURN_NOT_OK(left_stream.add_data(make_batch(left_schema, left, begin, end)));
    SLUICE_RETURN_NOT_OK(right_stream.add_data(make_batch(right_schema, right, begin, end)));
  }
  auto joined = left_stream.to_df()
                    .with_watermark("lts", "2 seconds")
                    .join(right_stream.to_df().with_watermark("rts", "2 seconds"), {"k"}, "inner",
                          col("rts") >= col("lts") && col("rts") <= col("lts") + interval("10 seconds"));
  std::atomic<int64_t> matches{0};
  std::atomic<int64_t> sum{0};
  sluice::testing::TemporaryDirectory checkpoint;
  const auto start = std::chrono::steady_clock::now();
  auto query = joined.write_stream()
                   .foreach_batch([&](const RecordBatchPtr& batch, int64_t) {
                     const int64_t* lv = batch->column(2)->values<int64_t>();
                     const int64_t* rv = batch->column(4)->values<int64_t>();
                     int64_t local = 0;
                     for (int64_t i = 0; i < batch->num_rows(); ++i) local += lv[i] * 1000 + rv[i];
                     matches += batch->num_rows();
                     sum += local;
                   })
                   .option("checkpointLocation", checkpoint.path())
                   .start();
  if (!query.ok()) return query.status();
  SLUICE_RETURN_NOT_OK(query->process_all_available());
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  SLUICE_RETURN_NOT_OK(query->stop());
  return Totals{matches.load(), sum.load()};
}

// Probes a 100,000-row table with the left stream's rows through StaticHashJoin; returns the
// matches (every row matches: the table has every key), and sets seconds.
Result<int64_t> run_static_probe(const Side& left, double& seconds) {
  auto stream_schema = Schema::make({{"k", Type::Int64}, {"lts", Type::Timestamp}, {"lv", Type::Int64}}).value();
  auto table_schema = Schema::make({{"k", Type::Int64}, {"site", Type::Int64}}).value();
  RecordBatchBuilder table_builder(table_schema);
  for (int64_t k = 0; k < kKeys; ++k) {
    table_builder.column(0).append_int64(k);
    table_builder.column(1).append_int64(k * 7);
  }
  SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr table_rows, table_builder.finish());
  auto table = std::make_shared<const StaticTable>(table_schema, "the sites table",
                                                   [table_rows]() -> Result<RecordBatchPtr> { return table_rows; });
  SLUICE_ASSIGN_OR_RETURN(auto join, StaticHashJoin::make(stream_schema, table, {"k"}, JoinType::inner, std::nullopt));
  std::vector<RecordBatchPtr> batches;
  const int64_t n = static_cast<int64_t>(left.key.size());
  for (int64_t begin = 0; begin < n; begin += kBatchRows) {
    batches.push_back(make_batch(stream_schema, left, begin, std::min(n, begin + kBatchRows)));
  }
  int64_t matches = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& batch : batches) {
    SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr joined, join->join(*batch));
    matches += joined->num_rows();
  }
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return matches;
}

// The hand-written probe: one std::unordered_map lookup per row, gathering the key, the
// stream's columns and the table's column into vectors.
int64_t static_probe_baseline(const Side& left, double& seconds) {
  std::unordered_map<int64_t, int64_t> table;
  for (int64_t k = 0; k < kKeys; ++k) table[k] = k * 7;
  std::vector<int64_t> out_key, out_time, out_value, out_site;
  int64_t matches = 0;
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = static_cast<int64_t>(left.key.size());
  for (int64_t begin = 0; begin < n; begin += kBatchRows) {
    out_key.clear();
    out_time.clear();
    out_value.clear();
    out_site.clear();
    for (int64_t i = begin; i < std::min(n, begin + kBatchRows); ++i) {
      auto found = table.find(left.key[static_cast<size_t>(i)]);
      if (found == table.end()) continue;
      out_key.push_back(found->first);
      out_time.push_back(left.time[static_cast<size_t>(i)]);
      out_value.push_back(left.value[static_cast<size_t>(i)]);
      out_site.push_back(found->second);
    }
    matches += static_cast<int64_t>(out_key.size());
  }
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return matches;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int64_t rows = quick ? 500'000 : 5'000'000;
  const Side left = generate(rows, 1);
  const Side right = generate(rows, 2);

  auto baseline_start = std::chrono::steady_clock::now();
  const double baseline_cpu_start = cpu_seconds();
  const Totals expected = baseline(left, right);
  const double baseline_cpu = cpu_seconds() - baseline_cpu_start;
  const double baseline_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - baseline_start).count();

  double engine_seconds = 0;
  const double engine_cpu_start = cpu_seconds();
  auto actual = run_engine(left, right, engine_seconds);
  const double engine_cpu = cpu_seconds() - engine_cpu_start;
  if (!actual.ok()) {
    std::fprintf(stderr, "join failed: %s\n", actual.status().to_string().c_str());
    return 1;
  }
  // The baseline drops rows late by its own watermark too, so both must agree exactly.
  if (!(*actual == expected)) {
    std::fprintf(stderr, "mismatch: engine %lld matches (sum %lld), baseline %lld (sum %lld)\n",
                 static_cast<long long>(actual->matches), static_cast<long long>(actual->sum),
                 static_cast<long long>(expected.matches), static_cast<long long>(expected.sum));
    return 1;
  }
  const double total_rows = 2.0 * static_cast<double>(rows);
  const double engine_rate = total_rows / engine_seconds;
  const double baseline_rate = total_rows / baseline_seconds;
  std::printf("bench join_matches %lld rows\n", static_cast<long long>(actual->matches));
  std::printf("bench join_stream_stream_rows_per_second %.0f rows/s\n", engine_rate);
  std::printf("bench join_hand_written_rows_per_second %.0f rows/s\n", baseline_rate);
  std::printf("bench join_ratio_to_hand_written %.3f ratio\n", engine_rate / baseline_rate);
  // Per CPU-second (all threads of the engine, the rows added to the streams included).
  std::printf("bench join_stream_stream_rows_per_cpu_second %.0f rows/s\n", total_rows / engine_cpu);
  std::printf("bench join_hand_written_rows_per_cpu_second %.0f rows/s\n", total_rows / baseline_cpu);
  std::printf("bench join_cpu_ratio_to_hand_written %.3f ratio\n", baseline_cpu / engine_cpu);

  // The probes take milliseconds: the best of five alternating runs each.
  double probe_seconds = 1e9;
  double probe_baseline_seconds = 1e9;
  for (int round = 0; round < 5; ++round) {
    double seconds = 0;
    auto probed = run_static_probe(left, seconds);
    if (!probed.ok()) {
      std::fprintf(stderr, "static join failed: %s\n", probed.status().to_string().c_str());
      return 1;
    }
    probe_seconds = std::min(probe_seconds, seconds);
    const int64_t probe_expected = static_probe_baseline(left, seconds);
    probe_baseline_seconds = std::min(probe_baseline_seconds, seconds);
    if (*probed != probe_expected) {
      std::fprintf(stderr, "static join mismatch: %lld matches, baseline %lld\n", static_cast<long long>(*probed),
                   static_cast<long long>(probe_expected));
      return 1;
    }
  }
  const double probe_rate = static_cast<double>(rows) / probe_seconds;
  const double probe_baseline_rate = static_cast<double>(rows) / probe_baseline_seconds;
  std::printf("bench join_static_probe_rows_per_second %.0f rows/s\n", probe_rate);
  std::printf("bench join_static_hand_written_rows_per_second %.0f rows/s\n", probe_baseline_rate);
  std::printf("bench join_static_ratio_to_hand_written %.3f ratio\n", probe_rate / probe_baseline_rate);
  return 0;
}
