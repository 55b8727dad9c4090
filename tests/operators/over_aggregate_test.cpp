#define BOOST_TEST_MODULE over_aggregate
#include <boost/test/unit_test.hpp>

#include "operators/over_aggregate.hpp"
#include "tests/operators/stateful_fixture.hpp"
#include "tests/support/over_frames.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

SchemaPtr input_schema() {
  return over_events_schema();
}

OverAggregateOptions options(int64_t preceding) {
  OverAggregateOptions options;
  options.partition_columns = {0};
  options.order_columns = {1, 2};
  options.event_time_column = 1;
  options.preceding = preceding;
  options.calls = {{AggregateKind::count_all, -1, "n"}, {AggregateKind::count, 3, "nv"},
                   {AggregateKind::sum, 3, "sv"},       {AggregateKind::avg, 3, "av"},
                   {AggregateKind::min, 3, "minv"},     {AggregateKind::max, 4, "maxd"},
                   {AggregateKind::sum, 4, "sd"}};
  return options;
}

// The reference: each accepted row with the aggregates over its frame.
Rows reference(const Rows& accepted, int64_t preceding) {
  Rows out;
  for (const auto& [current, frame] : over_frames(accepted, preceding)) {
    int64_t nv = 0, sv = 0, minv = 0;
    double maxd = 0, sd = 0;
    for (size_t j = 0; j < frame.size(); ++j) {
      if (!frame[j][3].is_null()) {
        const int64_t v = frame[j][3].as_int64();
        minv = nv == 0 ? v : std::min(minv, v);
        sv += v;
        ++nv;
      }
      const double d = frame[j][4].as_double();
      maxd = j == 0 ? d : std::max(maxd, d);
      sd = j == 0 ? d : sd + d;
    }
    Row row = current;
    row.push_back(Value(static_cast<int64_t>(frame.size())));
    row.push_back(Value(nv));
    row.push_back(nv == 0 ? Value() : Value(sv));
    row.push_back(nv == 0 ? Value() : Value(static_cast<double>(sv) / static_cast<double>(nv)));
    row.push_back(nv == 0 ? Value() : Value(minv));
    row.push_back(Value(maxd));
    row.push_back(Value(sd));
    out.push_back(std::move(row));
  }
  return out;
}

RecordBatchPtr batch_of(const Rows& rows) {
  auto batch = RecordBatch::from_rows(input_schema(), rows);
  BOOST_REQUIRE_MESSAGE(batch.ok(), batch.status().to_string());
  return *batch;
}

// Runs random rows (out of order within a bound, some late) through random epochs with
// watermarks following the largest event time, crashing once before a commit and restarting
// from the committed state with another partition count, then flushing with a final watermark.
void check_random_run(int64_t preceding) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  auto operator_or = make_over_aggregate(input_schema(), options(preceding));
  BOOST_REQUIRE_MESSAGE(operator_or.ok(), operator_or.status().to_string());
  StatefulRunner runner(*operator_or, 2);
  const int num_epochs = 8 + static_cast<int>(random() % 8);
  const int crash_epoch = static_cast<int>(random() % static_cast<uint64_t>(num_epochs));
  const int64_t delay = 5'000;
  int64_t max_time = 0;
  int64_t id = 0;
  int64_t watermark = EpochContext::kNoWatermark;
  Rows accepted;
  Rows output;
  int64_t dropped = 0;
  for (int epoch = 0; epoch <= num_epochs; ++epoch) {
    const bool last = epoch == num_epochs;
    Rows rows;
    const int num_rows = last ? 0 : static_cast<int>(random() % 60);
    for (int r = 0; r < num_rows; ++r) {
      // Times run forward with jitter: some rows fall behind the watermark (late).
      const int64_t time =
          std::max<int64_t>(0, max_time + static_cast<int64_t>(random() % 4'000) - 3'000);
      Row row{Value(static_cast<int64_t>(random() % 5)), Value(Timestamp{time}), Value(id++),
              random() % 5 == 0 ? Value() : Value(static_cast<int64_t>(random() % 100) - 20),
              Value(static_cast<double>(random() % 1000) / 8.0)};
      rows.push_back(row);
      if (watermark != EpochContext::kNoWatermark && time < watermark) {
        ++dropped;
      } else {
        accepted.push_back(row);
      }
      max_time = std::max(max_time, time + static_cast<int64_t>(random() % 2'000));
    }
    const int64_t epoch_watermark = last ? std::numeric_limits<int64_t>::max() : watermark;
    std::vector<RecordBatchPtr> batches;
    for (size_t begin = 0; begin < rows.size();) {
      const size_t size = 1 + static_cast<size_t>(random() % 20);
      const size_t end = std::min(rows.size(), begin + size);
      batches.push_back(batch_of(Rows(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                                      rows.begin() + static_cast<std::ptrdiff_t>(end))));
      begin = end;
    }
    const EpochContext context = epoch_context(epoch, epoch_watermark, OutputMode::Append);
    if (epoch == crash_epoch) {
      runner.run_epoch(batches, context, false);  // dies before the commit
      runner.restart(1 + static_cast<int>(random() % 3));
    }
    for (auto& row : runner.run_epoch(batches, context))
      output.push_back(std::move(row));
    if (!last) {
      BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark >= 0);
      watermark = max_time - delay;
    }
  }
  check_same_rows(output, reference(accepted, preceding),
                  "OVER rows, seed " + std::to_string(seed));
  (void)dropped;
}

}  // namespace

BOOST_AUTO_TEST_CASE(bounded_rows_over_random_epochs_with_a_crash_equal_the_reference) {
  for (int run = 0; run < 20; ++run)
    check_random_run(3);
}

BOOST_AUTO_TEST_CASE(unbounded_preceding_over_random_epochs_with_a_crash_equals_the_reference) {
  for (int run = 0; run < 10; ++run)
    check_random_run(OverAggregateOptions::kUnboundedPreceding);
}

BOOST_AUTO_TEST_CASE(current_row_only_frame_equals_the_reference) {
  for (int run = 0; run < 5; ++run)
    check_random_run(0);
}

BOOST_AUTO_TEST_CASE(rows_wait_for_the_watermark_and_late_rows_are_dropped_and_counted) {
  auto op = make_over_aggregate(input_schema(), options(1));
  BOOST_REQUIRE(op.ok());
  StatefulRunner runner(*op, 1);
  const auto row = [](int64_t k, int64_t ts, int64_t id, int64_t v) {
    return Row{Value(k), Value(Timestamp{ts}), Value(id), Value(v), Value(1.0)};
  };
  // Nothing is final before a watermark passes the rows.
  Rows out = runner.run_epoch({batch_of({row(1, 100, 1, 10), row(1, 50, 2, 20)})},
                              epoch_context(0, EpochContext::kNoWatermark, OutputMode::Append));
  BOOST_TEST(out.empty());
  // Watermark 60: the row at 50 is final; a row at 40 is late now.
  out = runner.run_epoch({batch_of({row(1, 40, 3, 99)})}, epoch_context(1, 60, OutputMode::Append));
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0][2].as_int64() == 2);
  BOOST_TEST(out[0][5].as_int64() == 1);  // n
  BOOST_TEST(runner.metrics().num_rows_dropped_by_watermark == 1);
  // A row at exactly the watermark is not late; the row at 100 comes out after it.
  out = runner.run_epoch({batch_of({row(1, 60, 4, 30)})}, epoch_context(2, 60, OutputMode::Append));
  BOOST_TEST(out.empty());
  out = runner.run_epoch({}, epoch_context(3, 101, OutputMode::Append));
  BOOST_TEST_REQUIRE(out.size() == 2u);
  out = sorted(out);
  BOOST_TEST(out[0][2].as_int64() == 4);   // ts 60, frame {50, 60}
  BOOST_TEST(out[0][7].as_int64() == 50);  // sum
  BOOST_TEST(out[1][2].as_int64() == 1);   // ts 100, frame {60, 100}
  BOOST_TEST(out[1][7].as_int64() == 40);
}

BOOST_AUTO_TEST_CASE(order_time_trailing_the_event_time_is_released_after_the_lag) {
  auto with_lag = options(2);
  with_lag.order_columns = {1, 2};
  with_lag.event_time_column = -1;  // ts stands for a column trailing an event time by <= 10
  with_lag.order_lag_micros = 10;
  auto op = make_over_aggregate(input_schema(), with_lag);
  BOOST_REQUIRE(op.ok());
  StatefulRunner runner(*op, 1);
  Rows out = runner.run_epoch({batch_of({Row{Value(int64_t{1}), Value(Timestamp{100}),
                                             Value(int64_t{1}), Value(int64_t{1}), Value(1.0)}})},
                              epoch_context(0, 105, OutputMode::Append));
  BOOST_TEST(out.empty());  // 100 >= 105 - 10
  out = runner.run_epoch({}, epoch_context(1, 111, OutputMode::Append));
  BOOST_TEST(out.size() == 1u);
}

BOOST_AUTO_TEST_CASE(unsupported_functions_and_types_are_refused_naming_them) {
  auto bad = options(1);
  bad.calls = {{AggregateKind::avg, 1, "a"}};
  auto op = make_over_aggregate(input_schema(), bad);
  BOOST_REQUIRE(!op.ok());
  BOOST_TEST(op.status().to_string().find("avg OVER a window does not take TIMESTAMP") !=
                 std::string::npos,
             op.status().to_string());
  bad.calls = {{AggregateKind::first, 3, "f"}};
  op = make_over_aggregate(input_schema(), bad);
  BOOST_REQUIRE(!op.ok());
  BOOST_TEST(
      op.status().to_string().find("first is not supported OVER a window") != std::string::npos,
      op.status().to_string());
  bad = options(1);
  bad.order_columns = {2};
  op = make_over_aggregate(input_schema(), bad);
  BOOST_REQUIRE(!op.ok());
  BOOST_TEST(op.status().to_string().find("ORDER BY id") != std::string::npos,
             op.status().to_string());
}

namespace {

// Rows of every type, with few distinct values, so that order times tie often and the other
// columns (strings, booleans, doubles with -0.0 and 0.0, nulls) decide the frame order.
SchemaPtr mixed_schema() {
  return Schema::make({{"k", Type::String},
                       {"ts", Type::Timestamp},
                       {"s", Type::String},
                       {"b", Type::Bool},
                       {"e", Type::Double},
                       {"d", Type::Double},
                       {"v", Type::Int64}})
      .value();
}

// The reference of mixed rows: each k's rows ordered by the bytes KeyEncoder gives (ts, then
// every column), the definition of the frame order; count(s), sum(v), max(d), min(v) over the
// row and the two before it.
Rows mixed_reference(const Rows& accepted) {
  std::map<std::string, std::vector<std::pair<std::string, Row>>> by_key;
  if (!accepted.empty()) {
    auto batch = RecordBatch::from_rows(mixed_schema(), accepted);
    BOOST_REQUIRE(batch.ok());
    auto encoder = KeyEncoder::make(*mixed_schema(), {1, 0, 1, 2, 3, 4, 5, 6});
    BOOST_REQUIRE(encoder.ok());
    std::vector<std::string> keys;
    encoder->encode(**batch, keys);
    for (size_t r = 0; r < accepted.size(); ++r)
      by_key[accepted[r][0].as_string()].emplace_back(keys[r], accepted[r]);
  }
  Rows out;
  for (auto& [key, rows] : by_key) {
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < rows.size(); ++i) {
      int64_t count_s = 0, sum_v = 0, min_v = 0, num_v = 0, num_d = 0;
      double max_d = 0;
      for (size_t j = i < 2 ? 0 : i - 2; j <= i; ++j) {
        const Row& row = rows[j].second;
        if (!row[2].is_null()) ++count_s;
        if (!row[5].is_null()) {
          max_d = num_d++ == 0 ? row[5].as_double() : std::max(max_d, row[5].as_double());
        }
        if (!row[6].is_null()) {
          const int64_t v = row[6].as_int64();
          min_v = num_v++ == 0 ? v : std::min(min_v, v);
          sum_v += v;
        }
      }
      Row row = rows[i].second;
      row.push_back(Value(count_s));
      row.push_back(num_v == 0 ? Value() : Value(sum_v));
      row.push_back(num_d == 0 ? Value() : Value(max_d));
      row.push_back(num_v == 0 ? Value() : Value(min_v));
      out.push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rows_of_equal_time_are_ordered_by_their_other_columns_of_every_type) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  OverAggregateOptions options;
  options.partition_columns = {0};
  options.order_columns = {1};
  options.event_time_column = 1;
  options.preceding = 2;
  options.calls = {{AggregateKind::count, 2, "count_s"},
                   {AggregateKind::sum, 6, "sum_v"},
                   {AggregateKind::max, 5, "max_d"},
                   {AggregateKind::min, 6, "min_v"}};
  auto op = make_over_aggregate(mixed_schema(), options);
  BOOST_REQUIRE_MESSAGE(op.ok(), op.status().to_string());
  for (int run = 0; run < 10; ++run) {
    StatefulRunner runner(*op, 1 + static_cast<int>(random() % 3));
    const std::vector<std::string> strings = {"", "a", std::string("a\0", 2), "ab", "b"};
    const std::vector<double> doubles = {-0.0, 0.0, -1.5, 2.25};
    auto pick = [&](auto values, bool nullable) {
      const size_t at = static_cast<size_t>(random() % (values.size() + (nullable ? 1 : 0)));
      return at == values.size() ? Value() : Value(values[at]);
    };
    Rows accepted, output;
    const int num_epochs = 6;
    const int crash_epoch = static_cast<int>(random() % num_epochs);
    for (int epoch = 0; epoch <= num_epochs; ++epoch) {
      Rows rows;
      for (int r = 0; epoch < num_epochs && r < 40; ++r) {
        rows.push_back({Value(std::string(1, static_cast<char>('p' + random() % 3))),
                        Value(Timestamp{epoch * 10 + static_cast<int64_t>(random() % 12)}),
                        pick(strings, true), pick(std::vector<bool>{false, true}, true),
                        pick(doubles, true), pick(doubles, true),
                        pick(std::vector<int64_t>{-3, 0, 7}, true)});
      }
      // The watermark trails by 12: every row of this epoch is on time.
      const int64_t watermark =
          epoch == num_epochs ? std::numeric_limits<int64_t>::max() : epoch * 10 - 2;
      accepted.insert(accepted.end(), rows.begin(), rows.end());
      std::vector<RecordBatchPtr> batches;
      if (!rows.empty()) {
        auto batch = RecordBatch::from_rows(mixed_schema(), rows);
        BOOST_REQUIRE_MESSAGE(batch.ok(), batch.status().to_string());
        batches.push_back(*batch);
      }
      const EpochContext context = epoch_context(epoch, watermark, OutputMode::Append);
      if (epoch == crash_epoch) {
        runner.run_epoch(batches, context, false);
        runner.restart(1 + static_cast<int>(random() % 3));
      }
      for (auto& row : runner.run_epoch(batches, context))
        output.push_back(std::move(row));
    }
    check_same_rows(output, mixed_reference(accepted),
                    "OVER rows of every type, seed " + std::to_string(seed));
  }
}
