// Measures a tumbling 10 s window count(*) + sum(v) per key over 10 million events (--quick: 1
// million) with 100,000 keys: event times rise 100,000 events per second with up to 1 s of
// disorder, the watermark trails the latest event time by 10 s, epochs hold 100,000 events, and
// windows are emitted in append mode. The measured path is what a stage runs: assign_windows,
// the hash aggregate's state (add_input, finish_epoch) and the commit of every epoch's delta to
// an in-memory committed state (a std::map). The baseline is a hand-written loop over the same
// events with a std::unordered_map<(window, key), (count, sum)> that emits windows once the
// watermark passes them. Prints events per second for both and their ratio; exits non-zero
// when the two disagree on the emitted windows. The operator runs three ways: fed raw rows,
// fed by a sender that pre-aggregates each batch adaptively (partial aggregation, the
// default), and by one that always does. With --quick each side runs three times and keeps
// its fastest run. --keys N sets the number of keys (default 100,000).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/record_batch.hpp"
#include "operators/hash_aggregate.hpp"
#include "operators/window_assigner.hpp"

using namespace sluice;

namespace {

int64_t num_keys = 100'000;  // --keys N changes it (fewer keys: batches repeat keys more)
constexpr int64_t kEventsPerSecond = 100'000;
constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kWindow = 10 * kSecond;
constexpr int64_t kDelay = 10 * kSecond;
constexpr int64_t kDisorder = kSecond;
constexpr int64_t kEpochEvents = 100'000;

// Sums describing the emitted windows, compared between the two implementations: the number of
// windows, the total count, the wrapping total of sums and an order-independent mix of every
// (window, key, count, sum).
struct Totals {
  int64_t windows = 0;
  int64_t count = 0;
  uint64_t sum = 0;
  uint64_t mix = 0;
  bool operator==(const Totals&) const = default;

  void add(int64_t window_start, int64_t key, int64_t window_count, int64_t window_sum) {
    ++windows;
    count += window_count;
    sum += static_cast<uint64_t>(window_sum);
    uint64_t h = static_cast<uint64_t>(window_start) * 0x9E3779B97F4A7C15ull;
    h ^= static_cast<uint64_t>(key) + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(window_count) * 0xC2B2AE3D27D4EB4Full + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(window_sum) + 0x165667B19E3779F9ull + (h << 6) + (h >> 2);
    mix += h * 0xFF51AFD7ED558CCDull;
  }
};

struct Events {
  std::vector<int64_t> key, time, value;
};

Events generate(int64_t count, uint64_t seed) {
  std::mt19937_64 random(seed);
  Events events;
  events.key.resize(static_cast<size_t>(count));
  events.time.resize(static_cast<size_t>(count));
  events.value.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    events.key[static_cast<size_t>(i)] = static_cast<int64_t>(random() % static_cast<uint64_t>(num_keys));
    events.time[static_cast<size_t>(i)] =
        i * (kSecond / kEventsPerSecond) - static_cast<int64_t>(random() % kDisorder);
    events.value[static_cast<size_t>(i)] = static_cast<int64_t>(random() % 1000);
  }
  return events;
}

// Returns the watermark of each epoch (max event time of the earlier epochs - delay) plus one
// final epoch whose watermark passes every window.
std::vector<int64_t> watermarks(const Events& events, int64_t num_epochs) {
  std::vector<int64_t> out;
  int64_t max_time = EpochContext::kNoWatermark;
  for (int64_t e = 0; e < num_epochs; ++e) {
    out.push_back(max_time == EpochContext::kNoWatermark ? max_time : max_time - kDelay);
    const int64_t end =
        std::min<int64_t>(static_cast<int64_t>(events.time.size()), (e + 1) * kEpochEvents);
    for (int64_t i = e * kEpochEvents; i < end; ++i) {
      max_time = std::max(max_time, events.time[static_cast<size_t>(i)]);
    }
  }
  out.push_back(max_time + 2 * kWindow);
  return out;
}

class MapStateReader final : public StateReader {
 public:
  Result<std::optional<std::string>> get(std::string_view key) const override {
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status scan(std::string_view begin, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    for (auto it = entries_.lower_bound(begin); it != entries_.end(); ++it) {
      if (!end.empty() && it->first >= end) break;
      if (!fn(it->first, it->second)) break;
    }
    return Status::ok();
  }
  // Applies a delta whose keys are sorted: each key is found by walking forward from the
  // previous one (a few steps when the changes are dense), else by a lookup.
  void apply(StateDelta& delta) {
    auto hint = entries_.begin();
    for (auto& change : delta.changes) {
      int steps = 0;
      while (hint != entries_.end() && hint->first < change.key && steps < 8) {
        ++hint;
        ++steps;
      }
      if (hint != entries_.end() && hint->first < change.key) {
        hint = entries_.lower_bound(change.key);
      }
      const bool found = hint != entries_.end() && hint->first == change.key;
      if (change.value) {
        if (found) {
          hint->second = std::move(*change.value);
        } else {
          hint = entries_.emplace_hint(hint, std::move(change.key), std::move(*change.value));
        }
        ++hint;
      } else if (found) {
        hint = entries_.erase(hint);
      }
    }
  }
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> entries_;
};

int64_t window_start(int64_t t) {
  int64_t remainder = t % kWindow;
  if (remainder < 0) remainder += kWindow;
  return t - remainder;
}

// Runs the operator over the batches; with `partial` other than off, each windowed batch first
// goes through a sender's combiner and the state merges what it sends (partial aggregates, or
// the rows when the adaptive rule skips the batch).
Result<Totals> run_operator(const std::vector<RecordBatchPtr>& batches,
                            const std::vector<int64_t>& marks,
                            PartialAggregationMode partial = PartialAggregationMode::off) {
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr schema, windowed_schema(*batches[0]->schema()));
  HashAggregateOptions options;
  options.event_time_key = 1;
  options.partial_aggregation = partial;
  // Group by (window.start, window.end, key); count(*) and sum(v).
  SLUICE_ASSIGN_OR_RETURN(auto op, make_hash_aggregate(schema, {3, 4, 0},
                                                       {{AggregateKind::count_all, -1, "count"},
                                                        {AggregateKind::sum, 2, "sum"}},
                                                       options));
  auto committed = std::make_shared<MapStateReader>();
  SLUICE_ASSIGN_OR_RETURN(auto state, op->make_state(0, 1, committed));
  std::unique_ptr<PartialCombiner> combiner;
  if (auto definition = op->partial_aggregation(0)) {
    combiner = std::make_unique<PartialCombiner>(definition);
  }
  double combine_seconds = 0;
  Totals totals;
  const WindowDefinition window{kWindow, kWindow, 0};
  // Seconds spent in each step, reported on stderr to show where the time goes.
  double assign_seconds = 0;
  double add_seconds = 0;
  double finish_seconds = 0;
  double commit_seconds = 0;
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto since = [](std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  for (size_t e = 0; e < marks.size(); ++e) {
    EpochContext context;
    context.epoch = static_cast<int64_t>(e);
    context.watermark = marks[e];
    context.mode = OutputMode::Append;
    if (e < batches.size()) {
      auto start = now();
      SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr windowed, assign_windows(*batches[e], 1, window));
      assign_seconds += since(start);
      if (combiner) {
        start = now();
        SLUICE_ASSIGN_OR_RETURN(windowed, combiner->combine(windowed));
        combine_seconds += since(start);
      }
      start = now();
      SLUICE_RETURN_NOT_OK(state->add_input(windowed, context));
      add_seconds += since(start);
    }
    std::vector<RecordBatchPtr> out;
    StateDelta delta;
    auto start = now();
    SLUICE_RETURN_NOT_OK(state->finish_epoch(context, out, delta));
    finish_seconds += since(start);
    start = now();
    for (const auto& batch : out) {
      const int64_t* starts = batch->column(0)->values<int64_t>();
      const int64_t* keys = batch->column(2)->values<int64_t>();
      const int64_t* counts = batch->column(3)->values<int64_t>();
      const int64_t* sums = batch->column(4)->values<int64_t>();
      for (int64_t r = 0; r < batch->num_rows(); ++r) {
        totals.add(starts[r], keys[r], counts[r], sums[r]);
      }
    }
    committed->apply(delta);
    state->epoch_committed(context.epoch);
    commit_seconds += since(start);
  }
  std::fprintf(stderr,
               "window time (partial aggregation %s): assign_windows %.3f s, combine %.3f s, "
               "add_input %.3f s, finish_epoch %.3f s, emitted rows and delta commit %.3f s",
               partial == PartialAggregationMode::off      ? "off"
               : partial == PartialAggregationMode::always ? "always"
                                                           : "auto",
               assign_seconds, combine_seconds, add_seconds, finish_seconds, commit_seconds);
  if (combiner) {
    const auto& stats = combiner->stats();
    std::fprintf(stderr, "; %lld batches combined (%lld rows into %lld partials), %lld passed",
                 static_cast<long long>(stats.batches_combined), static_cast<long long>(stats.rows_in),
                 static_cast<long long>(stats.groups_out), static_cast<long long>(stats.batches_passed));
  }
  std::fprintf(stderr, "\n");
  if (committed->size() != 0) return Status::internal("state left after the final watermark");
  return totals;
}

struct PairHash {
  size_t operator()(const std::pair<int64_t, int64_t>& p) const {
    uint64_t h =
        static_cast<uint64_t>(p.first) * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(p.second);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return static_cast<size_t>(h ^ (h >> 32));
  }
};

Totals run_baseline(const Events& events, const std::vector<int64_t>& marks) {
  std::unordered_map<std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>, PairHash> groups;
  Totals totals;
  const auto n = static_cast<int64_t>(events.time.size());
  for (size_t e = 0; e < marks.size(); ++e) {
    const int64_t watermark = marks[e];
    const int64_t begin = static_cast<int64_t>(e) * kEpochEvents;
    const int64_t end = std::min(n, begin + kEpochEvents);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t start = window_start(events.time[static_cast<size_t>(i)]);
      const bool late = watermark != EpochContext::kNoWatermark && start + kWindow <= watermark;
      if (late) continue;
      auto& group = groups[{start, events.key[static_cast<size_t>(i)]}];
      ++group.first;
      group.second += events.value[static_cast<size_t>(i)];
    }
    if (watermark == EpochContext::kNoWatermark) continue;
    for (auto it = groups.begin(); it != groups.end();) {
      if (it->first.first + kWindow <= watermark) {
        totals.add(it->first.first, it->first.second, it->second.first, it->second.second);
        it = groups.erase(it);
      } else {
        ++it;
      }
    }
  }
  return totals;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--keys") == 0) num_keys = std::max<int64_t>(1, std::atoll(argv[i + 1]));
  }
  const int64_t num_events = quick ? 1'000'000 : 10'000'000;
  const Events events = generate(num_events, 42);
  const int64_t num_epochs = (num_events + kEpochEvents - 1) / kEpochEvents;
  const std::vector<int64_t> marks = watermarks(events, num_epochs);

  // Input batches are built before timing: they are the source's work, not the operator's.
  auto schema =
      Schema::make(
          {{"k", Type::Int64, false}, {"t", Type::Timestamp, false}, {"v", Type::Int64, false}})
          .value();
  std::vector<RecordBatchPtr> batches;
  for (int64_t e = 0; e < num_epochs; ++e) {
    const int64_t begin = e * kEpochEvents;
    const int64_t rows = std::min(kEpochEvents, num_events - begin);
    std::vector<ColumnPtr> columns;
    for (const auto* source : {&events.key, &events.time, &events.value}) {
      auto buffer = Buffer::allocate(rows * 8);
      std::memcpy(buffer->mutable_data(), source->data() + begin, static_cast<size_t>(rows) * 8);
      columns.push_back(
          Column::make_unchecked(source == &events.time ? Type::Timestamp : Type::Int64, rows,
                                 std::move(buffer), nullptr));
    }
    batches.push_back(RecordBatch::make_unchecked(schema, std::move(columns), rows));
  }

  // Each side runs `repeats` times, alternating, and keeps its fastest run: a short run on a
  // shared machine is easily slowed by a neighbour. The operator runs as a stage partition fed
  // raw rows (partial aggregation off: the figure measured before partial aggregation), fed by
  // a sender that combines adaptively (the default), and by one that always combines.
  const int repeats = quick ? 3 : 1;
  const PartialAggregationMode modes[] = {PartialAggregationMode::off, PartialAggregationMode::adaptive,
                                          PartialAggregationMode::always};
  double operator_seconds[3] = {0, 0, 0};
  double baseline_seconds = 0;
  for (int repeat = 0; repeat < repeats; ++repeat) {
    auto start = std::chrono::steady_clock::now();
    const Totals baseline = run_baseline(events, marks);
    const double baseline_run_seconds = seconds_since(start);
    if (repeat == 0 || baseline_run_seconds < baseline_seconds) {
      baseline_seconds = baseline_run_seconds;
    }
    for (int m = 0; m < 3; ++m) {
      start = std::chrono::steady_clock::now();
      auto totals = run_operator(batches, marks, modes[m]);
      const double seconds = seconds_since(start);
      if (!totals.ok()) {
        std::fprintf(stderr, "operator failed: %s\n", totals.status().to_string().c_str());
        return 1;
      }
      if (!(*totals == baseline)) {
        std::fprintf(stderr,
                     "results differ: operator %lld windows, count %lld, sum %llu; baseline %lld "
                     "windows, count %lld, sum %llu\n",
                     static_cast<long long>(totals->windows), static_cast<long long>(totals->count),
                     static_cast<unsigned long long>(totals->sum),
                     static_cast<long long>(baseline.windows), static_cast<long long>(baseline.count),
                     static_cast<unsigned long long>(baseline.sum));
        return 1;
      }
      if (totals->count != num_events) {
        std::fprintf(stderr, "%lld of %lld events counted\n", static_cast<long long>(totals->count),
                     static_cast<long long>(num_events));
        return 1;
      }
      if (repeat == 0 || seconds < operator_seconds[m]) operator_seconds[m] = seconds;
    }
  }
  const double baseline_per_second = static_cast<double>(num_events) / baseline_seconds;
  const char* names[] = {"window", "window_partial_auto", "window_partial_always"};
  for (int m = 0; m < 3; ++m) {
    const double events_per_second = static_cast<double>(num_events) / operator_seconds[m];
    std::printf("bench %s_events_per_second %.0f events/s\n", names[m], events_per_second);
    if (m == 0) std::printf("bench window_baseline_events_per_second %.0f events/s\n", baseline_per_second);
    std::printf("bench %s_ratio %.3f ratio\n", names[m], events_per_second / baseline_per_second);
  }
  return 0;
}
