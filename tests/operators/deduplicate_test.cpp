#define BOOST_TEST_MODULE deduplicate
#include <boost/test/unit_test.hpp>

#include <map>
#include <random>

#include "operators/deduplicate.hpp"
#include "tests/operators/stateful_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr int64_t kNone = EpochContext::kNoWatermark;
constexpr int kK = 0;
constexpr int kT = 1;

SchemaPtr events_schema() {
  return schema_of({{"k", Type::Int64}, {"t", Type::Timestamp}, {"id", Type::String}});
}

Row event(Value k, Value t, std::string id) {
  return {k, t, Value(std::move(id))};
}
Value ts(int64_t t) {
  return Value(Timestamp{t});
}

std::shared_ptr<const StatefulOperator> dedup(std::vector<int> keys,
                                              DeduplicateOptions options = {}) {
  auto op = make_deduplicate(events_schema(), std::move(keys), options);
  BOOST_REQUIRE_MESSAGE(op.ok(), op.status().to_string());
  return *op;
}

// Describes one way of deduplicating, for the reference.
struct Mode {
  std::vector<int> keys;
  DeduplicateOptions options;
  std::string name;
};

// Deduplicates epoch by epoch with a std::map: the independent reference.
std::vector<Rows> reference(const std::vector<Rows>& epochs, const std::vector<int64_t>& watermarks,
                            const Mode& mode) {
  std::map<Row, int64_t> seen;  // key values -> expiry (max: never)
  std::vector<Rows> out;
  const int time = mode.options.event_time_column;
  const int64_t delay = mode.options.within_watermark_delay_micros;
  const bool time_is_key = std::find(mode.keys.begin(), mode.keys.end(), time) != mode.keys.end();
  for (size_t e = 0; e < epochs.size(); ++e) {
    const int64_t w = watermarks[e];
    Rows emitted;
    for (const Row& row : epochs[e]) {
      const bool has_time = time >= 0 && !row[static_cast<size_t>(time)].is_null();
      const int64_t t = has_time ? row[static_cast<size_t>(time)].as_timestamp().micros : 0;
      if (w != kNone && has_time && t < w) continue;
      Row key;
      for (int c : mode.keys) {
        key.push_back(row[static_cast<size_t>(c)]);
      }
      if (seen.count(key)) continue;
      int64_t expiry = std::numeric_limits<int64_t>::max();
      if (delay >= 0 && has_time) expiry = t + delay;
      if (delay < 0 && time_is_key && has_time) expiry = t;
      seen[key] = expiry;
      emitted.push_back(row);
    }
    if (w != kNone && (delay >= 0 || time_is_key)) {
      for (auto it = seen.begin(); it != seen.end();) {
        it = it->second < w ? seen.erase(it) : std::next(it);
      }
    }
    out.push_back(std::move(emitted));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_first_row_of_each_key_is_emitted_in_arrival_order) {
  auto op = dedup({kK});
  BOOST_TEST((*op->output_schema() == *events_schema()));
  StatefulRunner runner(op, 1);
  Rows out = runner.run_epoch(
      {batch_of(events_schema(),
                {event(1, ts(0), "a"), event(2, ts(0), "b"), event(1, ts(0), "c")}),
       batch_of(events_schema(),
                {event(Value(), ts(0), "d"), event(Value(), ts(0), "e"), event(3, ts(0), "f")})},
      epoch_context(0, kNone, OutputMode::Append));
  const Rows expected = {event(1, ts(0), "a"), event(2, ts(0), "b"), event(Value(), ts(0), "d"),
                         event(3, ts(0), "f")};
  BOOST_TEST((out == expected));
  out = runner.run_epoch({batch_of(events_schema(), {event(2, ts(1), "g"), event(4, ts(1), "h")})},
                         epoch_context(1, kNone, OutputMode::Append));
  BOOST_TEST((out == Rows{event(4, ts(1), "h")}));
  BOOST_TEST(runner.metrics().num_rows_total == 5);
  BOOST_TEST(runner.metrics().num_rows_updated == 1);
}

BOOST_AUTO_TEST_CASE(an_event_time_key_is_evicted_once_the_watermark_passes_it) {
  DeduplicateOptions options;
  options.event_time_column = kT;
  StatefulRunner runner(dedup({kK, kT}, options), 2);
  Rows out =
      runner.run_epoch({batch_of(events_schema(), {event(1, ts(10), "a"), event(1, ts(10), "b"),
                                                   event(1, ts(20), "c"), event(2, Value(), "d")})},
                       epoch_context(0, kNone, OutputMode::Append));
  check_same_rows(out, {event(1, ts(10), "a"), event(1, ts(20), "c"), event(2, Value(), "d")},
                  "epoch 0");
  BOOST_TEST(runner.metrics().num_rows_total == 3);
  out = runner.run_epoch({batch_of(events_schema(), {event(1, ts(10), "e"), event(1, ts(20), "f"),
                                                     event(2, Value(), "g")})},
                         epoch_context(1, 15, OutputMode::Append));
  BOOST_TEST(out.empty());
  BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark == 1);
  BOOST_TEST(runner.metrics().num_rows_removed == 1);
  BOOST_TEST(runner.metrics().num_rows_total == 2);
  out = runner.run_epoch({}, epoch_context(2, 21, OutputMode::Append));
  BOOST_TEST(runner.metrics().num_rows_removed == 1);
  BOOST_TEST(runner.metrics().num_rows_total == 1);  // the null event time never expires
  BOOST_TEST(runner.store()->entries.size() == 1u);
}

BOOST_AUTO_TEST_CASE(within_watermark_keys_expire_after_the_delay_and_are_new_again) {
  DeduplicateOptions options;
  options.event_time_column = kT;
  options.within_watermark_delay_micros = 10;
  StatefulRunner runner(dedup({kK}, options), 1);
  Rows out = runner.run_epoch({batch_of(events_schema(), {event(1, ts(5), "a")})},
                              epoch_context(0, kNone, OutputMode::Append));
  BOOST_TEST((out == Rows{event(1, ts(5), "a")}));
  out = runner.run_epoch({batch_of(events_schema(), {event(1, ts(12), "b"), event(1, ts(8), "c")})},
                         epoch_context(1, 10, OutputMode::Append));
  BOOST_TEST(out.empty());
  BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark == 1);
  // Watermark 15 is not past the expiry 15 yet.
  out = runner.run_epoch({batch_of(events_schema(), {event(1, ts(18), "d")})},
                         epoch_context(2, 15, OutputMode::Append));
  BOOST_TEST(out.empty());
  BOOST_TEST(runner.metrics().num_rows_removed == 0);
  out = runner.run_epoch({}, epoch_context(3, 16, OutputMode::Append));
  BOOST_TEST(runner.metrics().num_rows_removed == 1);
  out = runner.run_epoch({batch_of(events_schema(), {event(1, ts(25), "e")})},
                         epoch_context(4, 16, OutputMode::Append));
  BOOST_TEST((out == Rows{event(1, ts(25), "e")}));
}

BOOST_AUTO_TEST_CASE(random_streams_match_the_reference_for_partitions_restarts_and_caches) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  std::vector<Mode> modes;
  modes.push_back({{kK}, {}, "plain"});
  modes.push_back({{kK, kT}, {kT, -1, 256LL << 20}, "event time key"});
  modes.push_back({{kK}, {kT, 30, 256LL << 20}, "within watermark"});
  modes.push_back({{kK}, {kT, -1, 256LL << 20}, "event time not a key"});
  // Events: times rising with disorder up to 40 (some late under a delay of 25), few keys so
  // duplicates are common, a few null times.
  Rows events;
  for (int i = 0; i < 4000; ++i) {
    Value t = ts(i / 2 - static_cast<int64_t>(random() % 41));
    if (random() % 31 == 0) t = Value();
    Value k = random() % 23 == 0 ? Value() : Value(static_cast<int64_t>(random() % 40));
    events.push_back(event(k, t, std::to_string(i)));
  }
  std::vector<Rows> epochs;
  std::vector<int64_t> watermarks;
  int64_t max_time = kNone;
  for (size_t i = 0; i < events.size();) {
    watermarks.push_back(max_time == kNone ? kNone : max_time - 25);
    const size_t end = std::min(events.size(), i + 1 + random() % 300);
    Rows epoch(events.begin() + static_cast<int64_t>(i),
               events.begin() + static_cast<int64_t>(end));
    for (; i < end; ++i) {
      if (!events[i][kT].is_null()) {
        max_time = std::max(max_time, events[i][kT].as_timestamp().micros);
      }
    }
    epochs.push_back(std::move(epoch));
  }
  for (const Mode& mode : modes) {
    const auto expected = reference(epochs, watermarks, mode);
    for (auto [partitions, restart_partitions, cache] :
         {std::tuple{1, 1, int64_t{256} << 20}, std::tuple{2, 7, int64_t{256} << 20},
          std::tuple{7, 3, int64_t{4096}}, std::tuple{1, 2, int64_t{1024}}}) {
      DeduplicateOptions options = mode.options;
      options.cache_bytes = cache;
      StatefulRunner runner(dedup(mode.keys, options), partitions);
      for (size_t e = 0; e < epochs.size(); ++e) {
        if (e % 4 == 3) runner.restart(e % 8 == 3 ? restart_partitions : partitions);
        std::vector<RecordBatchPtr> batches;
        for (size_t i = 0; i < epochs[e].size();) {
          const size_t end = std::min(epochs[e].size(), i + 1 + random() % 100);
          batches.push_back(
              batch_of(events_schema(), Rows(epochs[e].begin() + static_cast<int64_t>(i),
                                             epochs[e].begin() + static_cast<int64_t>(end))));
          i = end;
        }
        const Rows out = runner.run_epoch(
            batches, epoch_context(static_cast<int64_t>(e), watermarks[e], OutputMode::Append));
        check_same_rows(out, expected[e],
                        "seed " + std::to_string(seed) + " " + mode.name + " partitions " +
                            std::to_string(partitions) + " cache " + std::to_string(cache) +
                            " epoch " + std::to_string(e));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_definitions_are_rejected) {
  DeduplicateOptions options;
  options.within_watermark_delay_micros = 5;
  BOOST_TEST(make_deduplicate(events_schema(), {kK}, options).status().code() ==
             StatusCode::invalid_argument);
  options.event_time_column = 2;
  BOOST_TEST(make_deduplicate(events_schema(), {kK}, options).status().code() ==
             StatusCode::type_error);
  BOOST_TEST(!make_deduplicate(events_schema(), {4}).ok());
  auto op = make_deduplicate(events_schema(), {kK, 2});
  BOOST_REQUIRE(op.ok());
  BOOST_TEST((*op)->name() == "deduplicate");
  BOOST_TEST(contains((*op)->state_fingerprint(), "id STRING"));
}
