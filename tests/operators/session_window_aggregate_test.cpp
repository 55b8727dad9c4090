#define BOOST_TEST_MODULE session_window_aggregate
#include <boost/test/unit_test.hpp>

#include <map>
#include <random>

#include "operators/session_window_aggregate.hpp"
#include "tests/operators/stateful_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr int64_t kNone = EpochContext::kNoWatermark;
constexpr int kK = 0;
constexpr int kT = 1;
constexpr int kV = 2;
constexpr int kGap = 3;

SchemaPtr events_schema() {
  return schema_of(
      {{"k", Type::Int64}, {"t", Type::Timestamp}, {"v", Type::Int64}, {"gap", Type::Int64}});
}

std::vector<AggregateSpec> session_aggregates() {
  return {{AggregateKind::count_all, -1, "n"}, {AggregateKind::sum, kV, "sum"},
          {AggregateKind::max, kV, "max"},     {AggregateKind::first, kV, "first"},
          {AggregateKind::last, kV, "last"},   {AggregateKind::count_distinct, kV, "distinct"}};
}

std::shared_ptr<const StatefulOperator> sessions(
    int64_t gap, bool dynamic = false, int64_t cache_bytes = 256LL << 20,
    std::vector<AggregateSpec> aggregates = session_aggregates()) {
  SessionWindowOptions options;
  options.gap_micros = gap;
  options.gap_column = dynamic ? kGap : -1;
  options.cache_bytes = cache_bytes;
  auto op =
      make_session_window_aggregate(events_schema(), {kK}, kT, std::move(aggregates), options);
  BOOST_REQUIRE_MESSAGE(op.ok(), op.status().to_string());
  return *op;
}

Row event(Value k, int64_t t, Value v = Value(int64_t{0}), Value gap = Value()) {
  return {k, Value(Timestamp{t}), v, gap};
}

Value ts(int64_t t) {
  return Value(Timestamp{t});
}

// Computes sessions of all events at once: per key, the intervals [t, t + gap) sorted by start,
// merged while the next starts at or before the current end (Spark's rule); aggregates over
// each session's rows in arrival order.
Rows batch_reference(const Rows& events, int64_t gap, bool dynamic,
                     const std::vector<AggregateSpec>& aggregates) {
  struct Item {
    int64_t start;
    int64_t end;
    size_t arrival;
  };
  std::map<Value, std::vector<Item>> by_key;
  for (size_t i = 0; i < events.size(); ++i) {
    const Row& e = events[i];
    if (e[kT].is_null()) continue;
    int64_t g = gap;
    if (dynamic) {
      if (e[kGap].is_null() || e[kGap].as_int64() <= 0) continue;
      g = e[kGap].as_int64();
    }
    const int64_t t = e[kT].as_timestamp().micros;
    by_key[e[kK]].push_back({t, t + g, i});
  }
  const SchemaPtr schema = events_schema();
  Rows out;
  for (auto& [key, items] : by_key) {
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.start < b.start; });
    size_t i = 0;
    while (i < items.size()) {
      int64_t start = items[i].start;
      int64_t end = items[i].end;
      std::vector<size_t> arrivals;
      while (i < items.size() && items[i].start <= end) {
        end = std::max(end, items[i].end);
        arrivals.push_back(items[i].arrival);
        ++i;
      }
      std::sort(arrivals.begin(), arrivals.end());
      Row row = {key, ts(start), ts(end)};
      for (const AggregateSpec& spec : aggregates) {
        std::vector<Value> values;
        for (size_t a : arrivals) {
          values.push_back(
              spec.input_column < 0 ? Value(1) : events[a][static_cast<size_t>(spec.input_column)]);
        }
        std::optional<Type> type;
        if (spec.input_column >= 0) type = schema->field(spec.input_column).type;
        row.push_back(reference_aggregate(spec.kind, values, type));
      }
      out.push_back(std::move(row));
    }
  }
  return out;
}

// Events in arrival order: times rise by `step` with up to `disorder` behind; gaps in [1, 25]
// with some null or non-positive ones.
Rows random_events(std::mt19937_64& random, int count, int num_keys, int64_t step,
                   int64_t disorder) {
  Rows events;
  for (int i = 0; i < count; ++i) {
    const int64_t t =
        i * step - static_cast<int64_t>(random() % static_cast<uint64_t>(disorder + 1));
    Value k = random() % 19 == 0 ? Value() : Value(static_cast<int64_t>(random() % num_keys));
    Value v = random() % 9 == 0 ? Value() : Value(static_cast<int64_t>(random() % 21) - 10);
    Value gap = Value(static_cast<int64_t>(1 + random() % 25));
    if (random() % 23 == 0) gap = Value();
    if (random() % 29 == 0) gap = Value(-static_cast<int64_t>(random() % 3));
    events.push_back({k, Value(Timestamp{t}), v, gap});
  }
  return events;
}

struct Scenario {
  std::vector<std::vector<Rows>> epochs;
  std::vector<int64_t> watermarks;
};

Scenario cut(const Rows& events, std::mt19937_64& random, int max_epoch, int max_batch,
             int64_t delay) {
  Scenario scenario;
  int64_t max_time = kNone;
  size_t i = 0;
  while (i < events.size()) {
    scenario.watermarks.push_back(max_time == kNone ? kNone : max_time - delay);
    const size_t epoch_end =
        std::min(events.size(), i + 1 + random() % static_cast<uint64_t>(max_epoch));
    std::vector<Rows> batches;
    while (i < epoch_end) {
      const size_t batch_end =
          std::min(epoch_end, i + 1 + random() % static_cast<uint64_t>(max_batch));
      batches.emplace_back(events.begin() + static_cast<int64_t>(i),
                           events.begin() + static_cast<int64_t>(batch_end));
      for (; i < batch_end; ++i) {
        max_time = std::max(max_time, events[i][kT].as_timestamp().micros);
      }
    }
    scenario.epochs.push_back(std::move(batches));
  }
  scenario.epochs.emplace_back();
  scenario.watermarks.push_back(max_time + 1'000'000);
  return scenario;
}

std::vector<RecordBatchPtr> batches_of(const std::vector<Rows>& batches) {
  std::vector<RecordBatchPtr> out;
  for (const Rows& rows : batches) {
    out.push_back(batch_of(events_schema(), rows));
  }
  return out;
}

std::vector<Rows> run(const std::shared_ptr<const StatefulOperator>& op, const Scenario& scenario,
                      OutputMode mode, int partitions, int restart_every = 0,
                      int restart_partitions = 1) {
  StatefulRunner runner(op, partitions);
  std::vector<Rows> outputs;
  for (size_t e = 0; e < scenario.epochs.size(); ++e) {
    if (restart_every > 0 && e > 0 && e % static_cast<size_t>(restart_every) == 0) {
      runner.restart((e / static_cast<size_t>(restart_every)) % 2 ? restart_partitions
                                                                  : partitions);
    }
    outputs.push_back(
        runner.run_epoch(batches_of(scenario.epochs[e]),
                         epoch_context(static_cast<int64_t>(e), scenario.watermarks[e], mode)));
  }
  return outputs;
}

Rows concat(const std::vector<Rows>& outputs) {
  Rows all;
  for (const auto& rows : outputs) {
    all.insert(all.end(), rows.begin(), rows.end());
  }
  return all;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sessions_merge_across_epochs_and_out_of_order_rows) {
  auto op = sessions(10, false, 256LL << 20,
                     {{AggregateKind::count_all, -1, "n"}, {AggregateKind::first, kV, "first"}});
  BOOST_TEST(op->output_schema()->field(1).name == "session_window.start");
  BOOST_TEST(op->output_schema()->field(2).name == "session_window.end");
  StatefulRunner runner(op, 1);
  Rows out = runner.run_epoch(
      {batch_of(events_schema(), {event(1, 0, 1), event(1, 30, 2), event(2, 5, 3)})},
      epoch_context(0, kNone, OutputMode::Complete));
  check_same_rows(out,
                  {{1, ts(0), ts(10), int64_t{1}, int64_t{1}},
                   {1, ts(30), ts(40), int64_t{1}, int64_t{2}},
                   {2, ts(5), ts(15), int64_t{1}, int64_t{3}}},
                  "epoch 0");
  // [15, 25) stands alone; [20, 30) joins it and touches [30, 40): one session [15, 40).
  out = runner.run_epoch({batch_of(events_schema(), {event(1, 15, 4)})},
                         epoch_context(1, kNone, OutputMode::Complete));
  BOOST_TEST(out.size() == 4u);
  out = runner.run_epoch({batch_of(events_schema(), {event(1, 20, 5)})},
                         epoch_context(2, kNone, OutputMode::Complete));
  check_same_rows(out,
                  {{1, ts(0), ts(10), int64_t{1}, int64_t{1}},
                   {1, ts(15), ts(40), int64_t{3}, int64_t{2}},
                   {2, ts(5), ts(15), int64_t{1}, int64_t{3}}},
                  "epoch 2");
  // A late-arriving early row bridges [0, 10) and [15, 40); first stays the earliest arrival.
  out = runner.run_epoch({batch_of(events_schema(), {event(1, 8, 6)})},
                         epoch_context(3, kNone, OutputMode::Complete));
  check_same_rows(
      out, {{1, ts(0), ts(40), int64_t{5}, int64_t{1}}, {2, ts(5), ts(15), int64_t{1}, int64_t{3}}},
      "epoch 3");
}

BOOST_AUTO_TEST_CASE(append_mode_emits_each_session_once_its_end_passes_and_drops_late_rows) {
  auto op = sessions(10, false, 256LL << 20, {{AggregateKind::count_all, -1, "n"}});
  StatefulRunner runner(op, 2);
  Rows out = runner.run_epoch(
      {batch_of(events_schema(), {event(1, 0), event(1, 5), event(2, 3), event(1, 40)})},
      epoch_context(0, kNone, OutputMode::Append));
  BOOST_TEST(out.empty());
  // Watermark 14: [0, 15) of key 1 is not final (end 15 > 14); key 2's [3, 13) is.
  out = runner.run_epoch({batch_of(events_schema(), {event(2, 2), event(1, 6)})},
                         epoch_context(1, 14, OutputMode::Append));
  check_same_rows(out, {{2, ts(3), ts(13), int64_t{1}}}, "epoch 1");
  BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark == 1);  // key 2 at t=2: [2, 12)
  BOOST_TEST(runner.metrics().num_rows_removed == 1);
  out = runner.run_epoch({}, epoch_context(2, 16, OutputMode::Append));
  check_same_rows(out, {{1, ts(0), ts(16), int64_t{3}}}, "epoch 2");
  out = runner.run_epoch({}, epoch_context(3, 60, OutputMode::Append));
  check_same_rows(out, {{1, ts(40), ts(50), int64_t{1}}}, "epoch 3");
  BOOST_TEST(runner.metrics().num_rows_total == 0);
  BOOST_TEST(runner.store()->entries.empty());
}

BOOST_AUTO_TEST_CASE(update_mode_emits_the_sessions_changed_in_the_epoch) {
  auto op = sessions(10, false, 256LL << 20, {{AggregateKind::count_all, -1, "n"}});
  StatefulRunner runner(op, 1);
  Rows out = runner.run_epoch({batch_of(events_schema(), {event(1, 0), event(1, 30), event(2, 0)})},
                              epoch_context(0, kNone, OutputMode::Update));
  BOOST_TEST(out.size() == 3u);
  // Merging [0, 10) and [30, 40) through [9, 19), [19, 29) and [29, 39), each touching the
  // last: one wider session, emitted once; key 2 did not change.
  out = runner.run_epoch({batch_of(events_schema(), {event(1, 9), event(1, 19), event(1, 29)})},
                         epoch_context(1, kNone, OutputMode::Update));
  check_same_rows(out, {{1, ts(0), ts(40), int64_t{5}}}, "epoch 1");
  BOOST_TEST(runner.metrics().num_rows_total == 2);
  // Watermark 20 evicts key 2's [0, 10) without output; a new row of key 1 extends its session.
  out = runner.run_epoch({batch_of(events_schema(), {event(1, 35)})},
                         epoch_context(2, 20, OutputMode::Update));
  check_same_rows(out, {{1, ts(0), ts(45), int64_t{6}}}, "epoch 2");
  BOOST_TEST(runner.metrics().num_rows_removed == 1);
  BOOST_TEST(runner.metrics().num_rows_total == 1);
}

BOOST_AUTO_TEST_CASE(random_streams_give_the_batch_sessions_for_any_partitioning) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  for (bool dynamic : {false, true}) {
    const int64_t gap = 12;
    const Rows events = random_events(random, 3000, 30, 1, 20);
    const Scenario scenario = cut(events, random, 300, 120, 21);
    const Rows expected = batch_reference(events, gap, dynamic, session_aggregates());
    for (int partitions : {1, 2, 7}) {
      const auto outputs = run(sessions(gap, dynamic), scenario, OutputMode::Append, partitions);
      check_same_rows(concat(outputs), expected,
                      "seed " + std::to_string(seed) + (dynamic ? " dynamic" : " static") +
                          " partitions " + std::to_string(partitions));
    }
    // Complete mode's last epoch holds every session.
    const auto complete = run(sessions(gap, dynamic), scenario, OutputMode::Complete, 3);
    check_same_rows(complete.back(), expected, "seed " + std::to_string(seed) + " complete");
  }
}

BOOST_AUTO_TEST_CASE(restarts_and_a_tiny_cache_give_identical_results) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  const Rows events = random_events(random, 2500, 50, 1, 15);
  const Scenario scenario = cut(events, random, 200, 80, 16);
  for (OutputMode mode : {OutputMode::Append, OutputMode::Update, OutputMode::Complete}) {
    const auto reference = run(sessions(8, true), scenario, mode, 1);
    const auto restarted = run(sessions(8, true), scenario, mode, 2, 4, 5);
    const auto tiny = run(sessions(8, true, 2048), scenario, mode, 3, 3, 2);
    for (size_t e = 0; e < reference.size(); ++e) {
      const std::string what = "seed " + std::to_string(seed) + " mode " +
                               std::to_string(int(mode)) + " epoch " + std::to_string(e);
      check_same_rows(restarted[e], reference[e], what + " restarted");
      check_same_rows(tiny[e], reference[e], what + " tiny cache");
    }
  }
}

BOOST_AUTO_TEST_CASE(rows_without_time_or_with_a_non_positive_gap_are_dropped) {
  auto op = sessions(0, true, 256LL << 20, {{AggregateKind::count_all, -1, "n"}});
  StatefulRunner runner(op, 1);
  Rows out =
      runner.run_epoch({batch_of(events_schema(), {event(1, 0, 0, int64_t{5}),
                                                   event(1, 100, 0, Value()),
                                                   event(1, 200, 0, int64_t{0}),
                                                   event(1, 300, 0, int64_t{-4}),
                                                   {Value(1), Value(), Value(0), Value(int64_t{5})},
                                                   event(1, 4, 0, int64_t{20})})},
                       epoch_context(0, kNone, OutputMode::Complete));
  check_same_rows(out, {{1, ts(0), ts(24), int64_t{2}}}, "dynamic gaps");
}

BOOST_AUTO_TEST_CASE(invalid_definitions_are_rejected) {
  auto schema = events_schema();
  BOOST_TEST(make_session_window_aggregate(schema, {kK}, kT, {}, {}).status().code() ==
             StatusCode::invalid_argument);
  SessionWindowOptions options;
  options.gap_micros = 10;
  BOOST_TEST(make_session_window_aggregate(schema, {kK}, kV, {}, options).status().code() ==
             StatusCode::type_error);
  options.gap_column = kT;
  BOOST_TEST(make_session_window_aggregate(schema, {kK}, kT, {}, options).status().code() ==
             StatusCode::type_error);
  options.gap_column = -1;
  BOOST_TEST(!make_session_window_aggregate(schema, {9}, kT, {}, options).ok());
  auto op = make_session_window_aggregate(schema, {kK}, kT, {{AggregateKind::count_all, -1, ""}},
                                          options);
  BOOST_REQUIRE(op.ok());
  BOOST_TEST((*op)->name() == "session window aggregate");
  BOOST_TEST((*op)->key_columns() == std::vector<int>{kK});
  BOOST_TEST(contains((*op)->state_fingerprint(), "session_window"));
}
