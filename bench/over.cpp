// Measures the OVER aggregation avg(v), count(*) OVER (PARTITION BY k ORDER BY ts, id ROWS
// BETWEEN 10 PRECEDING AND CURRENT ROW) over 2 million events (--quick: 500,000) with 10,000
// keys: event times rise 100,000 events per second with up to 1 s of disorder, the watermark
// trails the latest event time by 2 s, epochs hold 100,000 events in batches of 10,000 (made
// before the clock starts). The measured path is what a stateful partition runs: add_input, finish_epoch and the commit of
// every epoch's delta to an in-memory committed state (a std::map). The baseline is a
// hand-written loop over the same events: per key a vector of waiting (ts, id, v) sorted when
// the watermark passes them and a ring of the last 10 values. Prints events per second for
// both and their ratio (best of three runs each); exits non-zero when they disagree.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/record_batch.hpp"
#include "operators/over_aggregate.hpp"

using namespace sluice;

namespace {

constexpr int64_t kKeys = 10'000;
constexpr int64_t kEventsPerSecond = 100'000;
constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kDelay = 2 * kSecond;
constexpr int64_t kEpochEvents = 100'000;
constexpr int64_t kBatchEvents = 10'000;
constexpr int64_t kPreceding = 10;

// The events, the batches the operator reads and each epoch's watermark, all made before the
// clock starts.
struct Events {
  std::vector<int64_t> key, time, id, value;
  std::vector<RecordBatchPtr> batches;
  std::vector<int64_t> watermarks;  // per epoch of kEpochEvents, and one more that closes all
};

SchemaPtr input_schema() {
  return Schema::make(
             {{"k", Type::Int64}, {"ts", Type::Timestamp}, {"id", Type::Int64}, {"v", Type::Int64}})
      .value();
}

Events make_events(int64_t n) {
  Events events;
  std::mt19937_64 random(42);
  for (int64_t i = 0; i < n; ++i) {
    events.key.push_back(static_cast<int64_t>(random() % kKeys));
    events.time.push_back(i * kSecond / kEventsPerSecond +
                          static_cast<int64_t>(random() % kSecond));
    events.id.push_back(i);
    events.value.push_back(static_cast<int64_t>(random() % 1'000'000));
  }
  for (int64_t begin = 0; begin < n; begin += kBatchEvents) {
    const int64_t rows = std::min(kBatchEvents, n - begin);
    std::vector<ColumnPtr> columns;
    for (const auto* source : {&events.key, &events.time, &events.id, &events.value}) {
      ColumnBuilder builder(source == &events.time ? Type::Timestamp : Type::Int64);
      for (int64_t r = begin; r < begin + rows; ++r)
        builder.append_int64((*source)[static_cast<size_t>(r)]);
      columns.push_back(builder.finish());
    }
    events.batches.push_back(RecordBatch::make_unchecked(input_schema(), std::move(columns), rows));
  }
  int64_t latest = std::numeric_limits<int64_t>::min();
  for (int64_t begin = 0; begin < n; begin += kEpochEvents) {
    events.watermarks.push_back(begin == 0 ? EpochContext::kNoWatermark : latest - kDelay);
    for (int64_t i = begin; i < std::min(n, begin + kEpochEvents); ++i)
      latest = std::max(latest, events.time[static_cast<size_t>(i)]);
  }
  events.watermarks.push_back(std::numeric_limits<int64_t>::max());
  return events;
}

// What both sides emitted: rows, and sums of the averages and counts.
struct Totals {
  int64_t rows = 0;
  double average_sum = 0;
  int64_t count_sum = 0;
};

Totals run_operator(const Events& events) {
  const SchemaPtr schema = input_schema();
  OverAggregateOptions options;
  options.partition_columns = {0};
  options.order_columns = {1, 2};
  options.event_time_column = 1;
  options.preceding = kPreceding;
  options.calls = {{AggregateKind::avg, 3, "average"}, {AggregateKind::count_all, -1, "n"}};
  auto op = make_over_aggregate(schema, options).value();
  auto state = op->make_state(0, 1, nullptr).value();
  std::map<std::string, std::string> committed;
  Totals totals;
  const int64_t n = static_cast<int64_t>(events.key.size());
  for (int64_t epoch_begin = 0, epoch = 0; epoch_begin <= n; epoch_begin += kEpochEvents, ++epoch) {
    EpochContext context;
    context.epoch = epoch;
    context.watermark = events.watermarks[static_cast<size_t>(epoch)];
    for (int64_t begin = epoch_begin; begin < std::min(n, epoch_begin + kEpochEvents);
         begin += kBatchEvents) {
      if (!state->add_input(events.batches[static_cast<size_t>(begin / kBatchEvents)], context)
               .is_ok()) {
        std::fprintf(stderr, "add_input failed\n");
        std::exit(1);
      }
    }
    std::vector<RecordBatchPtr> out;
    StateDelta delta;
    if (!state->finish_epoch(context, out, delta).is_ok()) {
      std::fprintf(stderr, "finish_epoch failed\n");
      std::exit(1);
    }
    for (auto& change : delta.changes) {
      if (change.value) committed[change.key] = *change.value;
    }
    state->epoch_committed(epoch);
    for (const auto& batch : out) {
      const double* averages = batch->column(4)->values<double>();
      const int64_t* counts = batch->column(5)->values<int64_t>();
      for (int64_t r = 0; r < batch->num_rows(); ++r) {
        ++totals.rows;
        totals.average_sum += averages[r];
        totals.count_sum += counts[r];
      }
    }
  }
  return totals;
}

Totals run_loop(const Events& events) {
  struct Waiting {
    int64_t time, id, value;
    bool operator<(const Waiting& other) const {
      return std::tie(time, id) < std::tie(other.time, other.id);
    }
  };
  struct Key {
    std::vector<Waiting> waiting;
    std::deque<int64_t> last;
  };
  std::unordered_map<int64_t, Key> keys;
  Totals totals;
  const int64_t n = static_cast<int64_t>(events.key.size());
  for (int64_t epoch_begin = 0, epoch = 0; epoch_begin <= n; epoch_begin += kEpochEvents, ++epoch) {
    const int64_t watermark = events.watermarks[static_cast<size_t>(epoch)];
    for (int64_t i = epoch_begin; i < std::min(n, epoch_begin + kEpochEvents); ++i) {
      const auto s = static_cast<size_t>(i);
      if (watermark != EpochContext::kNoWatermark && events.time[s] < watermark) continue;
      keys[events.key[s]].waiting.push_back({events.time[s], events.id[s], events.value[s]});
    }
    if (watermark == EpochContext::kNoWatermark) continue;
    for (auto& [key, state] : keys) {
      std::sort(state.waiting.begin(), state.waiting.end());
      size_t released = 0;
      for (; released < state.waiting.size() && state.waiting[released].time < watermark;
           ++released) {
        int64_t sum = state.waiting[released].value;
        for (int64_t value : state.last)
          sum += value;
        const int64_t count = static_cast<int64_t>(state.last.size()) + 1;
        ++totals.rows;
        totals.average_sum += static_cast<double>(sum) / static_cast<double>(count);
        totals.count_sum += count;
        state.last.push_back(state.waiting[released].value);
        if (static_cast<int64_t>(state.last.size()) > kPreceding) state.last.pop_front();
      }
      state.waiting.erase(state.waiting.begin(),
                          state.waiting.begin() + static_cast<std::ptrdiff_t>(released));
    }
  }
  return totals;
}

template <typename F>
double best_seconds(F&& run, Totals& totals) {
  double best = 1e300;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    totals = run();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int64_t n = quick ? 500'000 : 2'000'000;
  const Events events = make_events(n);
  Totals over, loop;
  const double over_seconds = best_seconds([&] { return run_operator(events); }, over);
  const double loop_seconds = best_seconds([&] { return run_loop(events); }, loop);
  if (over.rows != loop.rows || over.count_sum != loop.count_sum ||
      std::abs(over.average_sum - loop.average_sum) > 1e-6 * std::abs(loop.average_sum)) {
    std::fprintf(stderr, "the operator and the loop disagree: %lld vs %lld rows\n",
                 static_cast<long long>(over.rows), static_cast<long long>(loop.rows));
    return 1;
  }
  std::printf("bench over_events_per_second %.0f events/s\n",
              static_cast<double>(n) / over_seconds);
  std::printf("bench over_loop_events_per_second %.0f events/s\n",
              static_cast<double>(n) / loop_seconds);
  std::printf("bench over_ratio_to_loop %.2f ratio\n", loop_seconds / over_seconds);
  return 0;
}
