#define BOOST_TEST_MODULE hash_aggregate
#include <boost/test/unit_test.hpp>

#include <map>
#include <random>

#include "operators/hash_aggregate.hpp"
#include "operators/key_encoder.hpp"
#include "operators/window_assigner.hpp"
#include "tests/operators/stateful_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr int64_t kNone = EpochContext::kNoWatermark;

// Input of every test: key, event time, a number and a string.
SchemaPtr events_schema() {
  return schema_of(
      {{"k", Type::Int64}, {"t", Type::Timestamp}, {"v", Type::Int64}, {"s", Type::String}});
}

SchemaPtr windowed() {
  return *windowed_schema(*events_schema());
}

// Columns of the windowed schema.
constexpr int kK = 0;
constexpr int kT = 1;
constexpr int kV = 2;
constexpr int kS = 3;
constexpr int kStart = 4;
constexpr int kEnd = 5;

std::vector<AggregateSpec> window_aggregates() {
  return {{AggregateKind::count_all, -1, "n"},
          {AggregateKind::count, kV, "nv"},
          {AggregateKind::sum, kV, "sum"},
          {AggregateKind::max, kV, "max"},
          {AggregateKind::avg, kV, "avg"},
          {AggregateKind::min, kS, "min_s"},
          {AggregateKind::first, kV, "first"},
          {AggregateKind::last, kS, "last_s"},
          {AggregateKind::count_distinct, kV, "distinct"}};
}

std::shared_ptr<const StatefulOperator> windowed_aggregate(
    int64_t cache_bytes = 256LL << 20,
    std::vector<AggregateSpec> aggregates = window_aggregates()) {
  HashAggregateOptions options;
  options.event_time_key = 1;  // window.end
  options.cache_bytes = cache_bytes;
  auto op = make_hash_aggregate(windowed(), {kStart, kEnd, kK}, std::move(aggregates), options);
  BOOST_REQUIRE_MESSAGE(op.ok(), op.status().to_string());
  return *op;
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Computes the windowed aggregation over all events at once, row by row.
Rows batch_reference(const Rows& events, const WindowDefinition& window,
                     const std::vector<AggregateSpec>& aggregates) {
  std::map<Row, std::vector<Row>> groups;
  for (const Row& event : events) {
    if (event[kT].is_null()) continue;
    const int64_t t = event[kT].as_timestamp().micros;
    for (int64_t m = floor_div(t - window.start_offset_micros, window.slide_micros);; --m) {
      const int64_t start = window.start_offset_micros + m * window.slide_micros;
      if (start + window.size_micros <= t) break;
      Row windowed_event = event;
      windowed_event.push_back(Value(Timestamp{start}));
      windowed_event.push_back(Value(Timestamp{start + window.size_micros}));
      groups[{Value(Timestamp{start}), Value(Timestamp{start + window.size_micros}), event[kK]}]
          .push_back(std::move(windowed_event));
    }
  }
  const SchemaPtr schema = windowed();
  Rows out;
  for (const auto& [key, rows] : groups) {
    Row row = key;
    for (const AggregateSpec& spec : aggregates) {
      std::vector<Value> values;
      for (const Row& r : rows) {
        values.push_back(spec.input_column < 0 ? Value(1)
                                               : r[static_cast<size_t>(spec.input_column)]);
      }
      std::optional<Type> type;
      if (spec.input_column >= 0) type = schema->field(spec.input_column).type;
      row.push_back(reference_aggregate(spec.kind, values, type));
    }
    out.push_back(std::move(row));
  }
  return out;
}

// A stream of events in arrival order: event times rise by `step` per event with a disorder of
// up to `disorder` behind, keys from [0, num_keys) and sometimes null.
Rows random_events(std::mt19937_64& random, int count, int num_keys, int64_t step,
                   int64_t disorder) {
  Rows events;
  for (int i = 0; i < count; ++i) {
    const int64_t t =
        i * step - static_cast<int64_t>(random() % static_cast<uint64_t>(disorder + 1));
    Value k = random() % 17 == 0 ? Value() : Value(static_cast<int64_t>(random() % num_keys));
    Value v = random() % 9 == 0 ? Value() : Value(static_cast<int64_t>(random() % 101) - 50);
    Value s = random() % 11 == 0
                  ? Value()
                  : Value(std::string(1 + random() % 3, static_cast<char>('a' + random() % 4)));
    events.push_back({k, Value(Timestamp{t}), v, s});
  }
  return events;
}

// The events cut into epochs (random sizes) of batches (random sizes up to max_batch), the
// watermark of each epoch (max event time of earlier epochs - delay) and a final epoch with a
// watermark past every window.
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

// Splits every epoch's rows into batches of another size.
Scenario rebatch(const Scenario& scenario, std::mt19937_64& random, int max_batch) {
  Scenario out;
  out.watermarks = scenario.watermarks;
  for (const auto& epoch : scenario.epochs) {
    Rows rows;
    for (const auto& batch : epoch) {
      rows.insert(rows.end(), batch.begin(), batch.end());
    }
    std::vector<Rows> batches;
    for (size_t i = 0; i < rows.size();) {
      const size_t end = std::min(rows.size(), i + 1 + random() % static_cast<uint64_t>(max_batch));
      batches.emplace_back(rows.begin() + static_cast<int64_t>(i),
                           rows.begin() + static_cast<int64_t>(end));
      i = end;
    }
    out.epochs.push_back(std::move(batches));
  }
  return out;
}

std::vector<RecordBatchPtr> windowed_batches(const std::vector<Rows>& batches,
                                             const WindowDefinition& window) {
  std::vector<RecordBatchPtr> out;
  for (const Rows& rows : batches) {
    auto result = assign_windows(*batch_of(events_schema(), rows), kT, window);
    BOOST_REQUIRE_MESSAGE(result.ok(), result.status().to_string());
    out.push_back(*result);
  }
  return out;
}

// Runs a scenario; restarts every partition from the committed state before epoch
// restart_epoch with restart_partitions partitions. Returns each epoch's output.
std::vector<Rows> run(const std::shared_ptr<const StatefulOperator>& op, const Scenario& scenario,
                      const WindowDefinition& window, OutputMode mode, int partitions,
                      int restart_epoch = -1, int restart_partitions = 1) {
  StatefulRunner runner(op, partitions);
  std::vector<Rows> outputs;
  for (size_t e = 0; e < scenario.epochs.size(); ++e) {
    if (static_cast<int>(e) == restart_epoch) runner.restart(restart_partitions);
    outputs.push_back(
        runner.run_epoch(windowed_batches(scenario.epochs[e], window),
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

// Keeps the last row emitted for each group (the first key_count values).
Rows last_per_group(const std::vector<Rows>& outputs, size_t key_count) {
  std::map<Row, Row> last;
  for (const auto& rows : outputs) {
    for (const auto& row : rows) {
      last[Row(row.begin(), row.begin() + static_cast<int64_t>(key_count))] = row;
    }
  }
  Rows out;
  for (auto& [key, row] : last) {
    out.push_back(row);
  }
  return out;
}

Row event(Value k, int64_t t, Value v, Value s = Value()) {
  return {k, Value(Timestamp{t}), v, s};
}

RecordBatchPtr windowed_batch(const Rows& rows, const WindowDefinition& window) {
  return windowed_batches({rows}, window)[0];
}

}  // namespace

BOOST_AUTO_TEST_CASE(append_mode_emits_each_final_window_once_and_drops_late_rows) {
  const WindowDefinition window{10, 10, 0};
  auto op = windowed_aggregate(
      256LL << 20, {{AggregateKind::count_all, -1, "n"}, {AggregateKind::sum, kV, "sum"}});
  StatefulRunner runner(op, 1);
  auto w = [](int64_t t) { return Value(Timestamp{t}); };
  Rows out = runner.run_epoch(
      {windowed_batch({event(1, 1, 10), event(1, 5, 20), event(2, 12, 1)}, window)},
      epoch_context(0, kNone, OutputMode::Append));
  BOOST_TEST(out.empty());
  BOOST_TEST(runner.metrics().num_rows_total == 2);
  // Watermark 10 finalizes [0, 10): the row at t = 3 is late.
  out = runner.run_epoch({windowed_batch({event(1, 3, 100), event(2, 15, 2)}, window)},
                         epoch_context(1, 10, OutputMode::Append));
  check_same_rows(out, {{w(0), w(10), 1, int64_t{2}, int64_t{30}}}, "epoch 1");
  BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark == 1);
  BOOST_TEST(runner.metrics().num_rows_removed == 1);
  BOOST_TEST(runner.metrics().num_rows_total == 1);
  out = runner.run_epoch({}, epoch_context(2, 19, OutputMode::Append));
  BOOST_TEST(out.empty());
  out = runner.run_epoch({}, epoch_context(3, 20, OutputMode::Append));
  check_same_rows(out, {{w(10), w(20), 2, int64_t{2}, int64_t{3}}}, "epoch 3");
  BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark == 0);
  out = runner.run_epoch({}, epoch_context(4, 100, OutputMode::Append));
  BOOST_TEST(out.empty());
  BOOST_TEST(runner.metrics().num_rows_total == 0);
  BOOST_TEST(runner.store()->entries.empty());
}

BOOST_AUTO_TEST_CASE(update_mode_emits_changed_groups_then_evicts_final_ones) {
  const WindowDefinition window{10, 10, 0};
  auto op = windowed_aggregate(256LL << 20, {{AggregateKind::count_all, -1, "n"}});
  StatefulRunner runner(op, 1);
  auto w = [](int64_t t) { return Value(Timestamp{t}); };
  Rows out =
      runner.run_epoch({windowed_batch({event(1, 1, 0), event(2, 2, 0), event(1, 12, 0)}, window)},
                       epoch_context(0, kNone, OutputMode::Update));
  check_same_rows(
      out,
      {{w(0), w(10), 1, int64_t{1}}, {w(0), w(10), 2, int64_t{1}}, {w(10), w(20), 1, int64_t{1}}},
      "epoch 0");
  out = runner.run_epoch({windowed_batch({event(1, 3, 0), event(1, 14, 0)}, window)},
                         epoch_context(1, 5, OutputMode::Update));
  check_same_rows(out, {{w(0), w(10), 1, int64_t{2}}, {w(10), w(20), 1, int64_t{2}}}, "epoch 1");
  // Watermark 10: [0, 10) is final, evicted without output; its late row is dropped.
  out = runner.run_epoch({windowed_batch({event(2, 4, 0), event(3, 11, 0)}, window)},
                         epoch_context(2, 10, OutputMode::Update));
  check_same_rows(out, {{w(10), w(20), 3, int64_t{1}}}, "epoch 2");
  BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark == 1);
  BOOST_TEST(runner.metrics().num_rows_removed == 2);
  BOOST_TEST(runner.metrics().num_rows_total == 2);
  BOOST_TEST(runner.store()->entries.size() == 2u);
}

BOOST_AUTO_TEST_CASE(complete_mode_emits_every_group_each_epoch_and_keeps_late_rows) {
  const WindowDefinition window{10, 10, 0};
  auto op = windowed_aggregate(256LL << 20, {{AggregateKind::count_all, -1, "n"}});
  StatefulRunner runner(op, 2);
  auto w = [](int64_t t) { return Value(Timestamp{t}); };
  Rows out = runner.run_epoch({windowed_batch({event(1, 1, 0), event(2, 12, 0)}, window)},
                              epoch_context(0, kNone, OutputMode::Complete));
  check_same_rows(out, {{w(0), w(10), 1, int64_t{1}}, {w(10), w(20), 2, int64_t{1}}}, "epoch 0");
  out = runner.run_epoch({windowed_batch({event(1, 2, 0)}, window)},
                         epoch_context(1, 50, OutputMode::Complete));
  check_same_rows(out, {{w(0), w(10), 1, int64_t{2}}, {w(10), w(20), 2, int64_t{1}}}, "epoch 1");
  out = runner.run_epoch({}, epoch_context(2, 60, OutputMode::Complete));
  check_same_rows(out, {{w(0), w(10), 1, int64_t{2}}, {w(10), w(20), 2, int64_t{1}}}, "epoch 2");
  BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark == 0);
}

BOOST_AUTO_TEST_CASE(null_keys_form_a_group_like_any_other) {
  auto schema = events_schema();
  auto op = make_hash_aggregate(schema, {0, 3},
                                {{AggregateKind::count_all, -1, ""}, {AggregateKind::sum, 2, ""}});
  BOOST_REQUIRE(op.ok());
  BOOST_TEST((*op)->output_schema()->to_string() == Schema::make({{"k", Type::Int64},
                                                                  {"s", Type::String},
                                                                  {"count(1)", Type::Int64, false},
                                                                  {"sum(v)", Type::Int64}})
                                                        .value()
                                                        ->to_string());
  StatefulRunner runner(*op, 3);
  Rows out =
      runner.run_epoch({batch_of(schema, {event(Value(), 1, 5, "a"),
                                          event(Value(), 2, Value(), "a"), event(1, 3, 1, Value()),
                                          event(Value(), 4, 7, Value()), event(1, 5, 2, Value())})},
                       epoch_context(0, kNone, OutputMode::Complete));
  check_same_rows(out,
                  {{Value(), "a", int64_t{2}, int64_t{5}},
                   {1, Value(), int64_t{2}, int64_t{3}},
                   {Value(), Value(), int64_t{1}, int64_t{7}}},
                  "groups");
}

BOOST_AUTO_TEST_CASE(random_streams_give_the_batch_result_for_any_partitioning_and_batch_size) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  const int64_t delay = 40;
  for (const WindowDefinition& window :
       {WindowDefinition{50, 50, 0}, WindowDefinition{60, 20, 7}, WindowDefinition{45, 20, 0}}) {
    const Rows events = random_events(random, 3000, 40, 1, delay - 1);
    const Scenario scenario = cut(events, random, 400, 150, delay);
    const Rows expected = batch_reference(events, window, window_aggregates());
    for (int partitions : {1, 2, 7}) {
      const Scenario rebatched = rebatch(scenario, random, partitions * 40);
      const auto outputs =
          run(windowed_aggregate(), rebatched, window, OutputMode::Append, partitions);
      check_same_rows(
          concat(outputs), expected,
          "seed " + std::to_string(seed) + " window " + std::to_string(window.size_micros) + "/" +
              std::to_string(window.slide_micros) + " partitions " + std::to_string(partitions));
    }
  }
}

BOOST_AUTO_TEST_CASE(update_mode_last_emission_of_each_group_is_the_batch_result) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  const WindowDefinition window{30, 10, 0};
  const Rows events = random_events(random, 2500, 25, 1, 20);
  const Scenario scenario = cut(events, random, 300, 100, 21);
  const Rows expected = batch_reference(events, window, window_aggregates());
  for (int partitions : {1, 3}) {
    const auto outputs =
        run(windowed_aggregate(), scenario, window, OutputMode::Update, partitions);
    check_same_rows(last_per_group(outputs, 3), expected,
                    "seed " + std::to_string(seed) + " partitions " + std::to_string(partitions));
  }
}

BOOST_AUTO_TEST_CASE(restarting_from_the_committed_state_gives_identical_results) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  const WindowDefinition window{40, 20, 0};
  auto aggregates = window_aggregates();
  aggregates.push_back({AggregateKind::approx_count_distinct, kS, "approx"});
  auto op = windowed_aggregate(256LL << 20, aggregates);
  const Rows events = random_events(random, 3000, 30, 1, 25);
  const Scenario scenario = cut(events, random, 300, 100, 30);
  for (OutputMode mode : {OutputMode::Append, OutputMode::Update, OutputMode::Complete}) {
    const auto uninterrupted = run(op, scenario, window, mode, 1);
    const int middle = static_cast<int>(scenario.epochs.size()) / 2;
    for (auto [before, after] : {std::pair{3, 5}, std::pair{4, 1}, std::pair{1, 2}}) {
      const auto restarted = run(op, scenario, window, mode, before, middle, after);
      for (size_t e = 0; e < uninterrupted.size(); ++e) {
        check_same_rows(restarted[e], uninterrupted[e],
                        "seed " + std::to_string(seed) + " mode " + std::to_string(int(mode)) +
                            " partitions " + std::to_string(before) + " then " +
                            std::to_string(after) + " epoch " + std::to_string(e));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(replaying_an_uncommitted_epoch_repeats_its_output_and_delta) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  const WindowDefinition window{20, 20, 0};
  const Rows events = random_events(random, 1500, 20, 1, 10);
  const Scenario scenario = cut(events, random, 200, 80, 15);
  for (OutputMode mode : {OutputMode::Append, OutputMode::Update, OutputMode::Complete}) {
    StatefulRunner runner(windowed_aggregate(), 2);
    for (size_t e = 0; e < scenario.epochs.size(); ++e) {
      const auto batches = windowed_batches(scenario.epochs[e], window);
      const auto context = epoch_context(static_cast<int64_t>(e), scenario.watermarks[e], mode);
      const Rows first = runner.run_epoch(batches, context, false);
      const auto first_deltas = runner.last_deltas;
      // The process dies before the commit: recreate from the committed state and replay.
      runner.restart(2);
      const Rows second = runner.run_epoch(batches, context);
      BOOST_REQUIRE(first == second);
      for (size_t p = 0; p < first_deltas.size(); ++p) {
        std::map<std::string, std::optional<std::string>> a;
        std::map<std::string, std::optional<std::string>> b;
        for (const auto& change : first_deltas[p].changes) {
          a[change.key] = change.value;
        }
        for (const auto& change : runner.last_deltas[p].changes) {
          b[change.key] = change.value;
        }
        BOOST_REQUIRE_MESSAGE(a == b, "seed " << seed << " epoch " << e << " partition " << p);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_tiny_cache_gives_the_same_results_as_a_big_one) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  const WindowDefinition window{40, 20, 0};
  const Rows events = random_events(random, 3000, 60, 1, 25);
  const Scenario scenario = cut(events, random, 250, 100, 30);
  for (OutputMode mode : {OutputMode::Append, OutputMode::Update, OutputMode::Complete}) {
    const auto big = run(windowed_aggregate(256LL << 20), scenario, window, mode, 2);
    StatefulRunner runner(windowed_aggregate(4096), 2);
    for (size_t e = 0; e < scenario.epochs.size(); ++e) {
      // Restart now and then: the state then starts from a store far larger than the cache.
      if (e % 5 == 4) runner.restart(e % 10 == 4 ? 3 : 2);
      const Rows out =
          runner.run_epoch(windowed_batches(scenario.epochs[e], window),
                           epoch_context(static_cast<int64_t>(e), scenario.watermarks[e], mode));
      check_same_rows(out, big[e],
                      "seed " + std::to_string(seed) + " mode " + std::to_string(int(mode)) +
                          " epoch " + std::to_string(e));
    }
    BOOST_TEST(runner.store()->gets + runner.store()->scanned > 0);
  }
}

BOOST_AUTO_TEST_CASE(a_delta_holds_only_the_groups_changed_in_its_epoch) {
  auto schema = events_schema();
  auto op = make_hash_aggregate(schema, {0}, {{AggregateKind::count_all, -1, ""}});
  BOOST_REQUIRE(op.ok());
  StatefulRunner runner(*op, 2);
  Rows many;
  for (int k = 0; k < 100; ++k) {
    many.push_back(event(k, 0, 0));
  }
  runner.run_epoch({batch_of(schema, many)}, epoch_context(0, kNone, OutputMode::Update));
  BOOST_TEST(runner.last_delta_size == 100);
  Rows out = runner.run_epoch(
      {batch_of(schema, {event(3, 0, 0), event(7, 0, 0), event(3, 0, 0), event(500, 0, 0)})},
      epoch_context(1, kNone, OutputMode::Update));
  BOOST_TEST(runner.last_delta_size == 3);
  check_same_rows(out, {{3, int64_t{3}}, {7, int64_t{2}}, {500, int64_t{1}}}, "updates");
  BOOST_TEST(runner.metrics().num_rows_updated == 3);
  BOOST_TEST(runner.metrics().num_rows_total == 101);
  runner.run_epoch({}, epoch_context(2, kNone, OutputMode::Update));
  BOOST_TEST(runner.last_delta_size == 0);
}

BOOST_AUTO_TEST_CASE(deltas_and_output_rows_come_in_key_order) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  const WindowDefinition window{20, 10, 0};
  // String keys sharing long prefixes, null keys, several windows per epoch.
  HashAggregateOptions options;
  options.event_time_key = 1;
  auto op = make_hash_aggregate(windowed(), {kStart, kEnd, kS, kK},
                                {{AggregateKind::count_all, -1, "n"}}, options);
  BOOST_REQUIRE(op.ok());
  auto output_encoder = KeyEncoder::make(*(*op)->output_schema(), {1, 0, 1, 2, 3});
  BOOST_REQUIRE(output_encoder.ok());
  StatefulRunner runner(*op, 1);
  int64_t watermark = kNone;
  for (int e = 0; e < 12; ++e) {
    Rows rows;
    for (int i = 0; i < 400; ++i) {
      std::string s(static_cast<size_t>(random() % 12), 'p');
      s += static_cast<char>('a' + random() % 3);
      if (random() % 5 == 0) s.push_back('\0');
      rows.push_back(event(random() % 9 == 0 ? Value() : Value(static_cast<int64_t>(random() % 7)),
                           e * 10 + static_cast<int64_t>(random() % 10), 0,
                           random() % 13 == 0 ? Value() : Value(s)));
    }
    const Rows out = runner.run_epoch({windowed_batch(rows, window)},
                                      epoch_context(e, watermark, OutputMode::Update));
    const auto& changes = runner.last_deltas[0].changes;
    BOOST_TEST(changes.size() > 32u);
    for (size_t i = 1; i < changes.size(); ++i) {
      BOOST_REQUIRE_MESSAGE(changes[i - 1].key < changes[i].key, "seed " << seed << " epoch " << e);
    }
    // Output rows follow the state keys: event time (window end), then the key columns.
    auto batch = batch_of((*op)->output_schema(), out);
    std::vector<std::string> keys;
    output_encoder->encode(*batch, keys);
    for (size_t i = 1; i < keys.size(); ++i) {
      BOOST_REQUIRE_MESSAGE(keys[i - 1] < keys[i],
                            "seed " << seed << " epoch " << e << " row " << i);
    }
    watermark = e * 10 - 15;
  }
}

BOOST_AUTO_TEST_CASE(an_event_time_grouping_column_is_final_once_the_watermark_passes_it) {
  auto schema = events_schema();
  HashAggregateOptions options;
  options.event_time_key = 0;
  options.event_time_is_window_end = false;
  auto op = make_hash_aggregate(schema, {1, 0}, {{AggregateKind::count_all, -1, "n"}}, options);
  BOOST_REQUIRE_MESSAGE(op.ok(), op.status().to_string());
  StatefulRunner runner(*op, 1);
  auto t = [](int64_t v) { return Value(Timestamp{v}); };
  runner.run_epoch({batch_of(schema, {event(1, 10, 0), event(1, 10, 0), event(2, 11, 0)})},
                   epoch_context(0, kNone, OutputMode::Append));
  // Watermark 10: the group at 10 is not final yet, and a row at 10 is still on time.
  Rows out = runner.run_epoch({batch_of(schema, {event(1, 10, 0), event(1, 9, 0)})},
                              epoch_context(1, 10, OutputMode::Append));
  BOOST_TEST(out.empty());
  BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark == 1);
  out = runner.run_epoch({}, epoch_context(2, 11, OutputMode::Append));
  check_same_rows(out, {{t(10), 1, int64_t{3}}}, "watermark 11");
}

BOOST_AUTO_TEST_CASE(invalid_definitions_and_append_without_event_time_are_errors) {
  auto schema = events_schema();
  HashAggregateOptions options;
  options.event_time_key = 1;  // v: not a TIMESTAMP
  auto wrong_type = make_hash_aggregate(schema, {0, 2}, {}, options);
  BOOST_REQUIRE(!wrong_type.ok());
  BOOST_TEST(wrong_type.status().code() == StatusCode::type_error);
  options.event_time_key = 5;
  BOOST_TEST(!make_hash_aggregate(schema, {0, 1}, {}, options).ok());
  BOOST_TEST(!make_hash_aggregate(schema, {0, 9}, {}).ok());
  auto bad_aggregate = make_hash_aggregate(schema, {0}, {{AggregateKind::sum, 3, ""}});
  BOOST_REQUIRE(!bad_aggregate.ok());
  BOOST_TEST(bad_aggregate.status().code() == StatusCode::type_error);
  auto duplicate = make_hash_aggregate(schema, {0}, {{AggregateKind::count_all, -1, "k"}});
  BOOST_TEST(!duplicate.ok());

  auto op = make_hash_aggregate(schema, {0}, {{AggregateKind::count_all, -1, ""}});
  BOOST_REQUIRE(op.ok());
  BOOST_TEST((*op)->name() == "stateful aggregate");
  BOOST_TEST(contains((*op)->state_fingerprint(), "k BIGINT"));
  BOOST_TEST(!(*op)->make_state(2, 2, nullptr).ok());
  auto state = (*op)->make_state(0, 1, nullptr);
  BOOST_REQUIRE(state.ok());
  BOOST_REQUIRE((*state)
                    ->add_input(batch_of(schema, {event(1, 1, 1)}),
                                epoch_context(0, kNone, OutputMode::Append))
                    .is_ok());
  std::vector<RecordBatchPtr> out;
  StateDelta delta;
  Status status = (*state)->finish_epoch(epoch_context(0, kNone, OutputMode::Append), out, delta);
  BOOST_TEST(status.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(status.message(), "append"));
}

BOOST_AUTO_TEST_CASE(corrupt_committed_state_is_reported_not_trusted) {
  auto schema = events_schema();
  auto op = make_hash_aggregate(schema, {0}, {{AggregateKind::sum, 2, ""}});
  BOOST_REQUIRE(op.ok());
  StatefulRunner runner(*op, 1);
  runner.run_epoch({batch_of(schema, {event(1, 1, 1)})},
                   epoch_context(0, kNone, OutputMode::Update));
  BOOST_REQUIRE(runner.store()->entries.size() == 1u);
  for (std::string bad : {std::string(), std::string("\x09\x01\x02", 3), std::string("\x01\x01", 2),
                          runner.store()->entries.begin()->second + "x"}) {
    runner.store()->entries.begin()->second = bad;
    auto state = (*op)->make_state(0, 1, runner.store());
    BOOST_REQUIRE(!state.ok());
    BOOST_TEST(state.status().code() == StatusCode::corrupt, state.status().to_string());
  }
}
