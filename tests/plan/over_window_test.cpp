#define BOOST_TEST_MODULE over_window
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <map>
#include <mutex>
#include <random>

#include "tests/operators/stateful_fixture.hpp"
#include "tests/support/over_frames.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr int64_t kSecond = 1'000'000;

SchemaPtr events_schema() {
  return Schema::make(
             {{"k", Type::Int64}, {"ts", Type::Timestamp}, {"id", Type::Int64}, {"v", Type::Int64}})
      .value();
}

// Keeps the rows of each epoch a foreach_batch sink receives (a replayed epoch replaces them).
struct Collected {
  std::mutex mutex;
  std::map<int64_t, Rows> by_epoch;

  std::function<void(const RecordBatchPtr&, int64_t)> writer() {
    return [this](const RecordBatchPtr& batch, int64_t epoch) {
      std::lock_guard lock(mutex);
      by_epoch[epoch] = batch->to_rows();
    };
  }
  Rows rows() {
    std::lock_guard lock(mutex);
    Rows all;
    for (auto& [epoch, rows] : by_epoch)
      all.insert(all.end(), rows.begin(), rows.end());
    return all;
  }
};

// Computes k, ts, id, v, avg(v), count(*) over each row's frame.
Rows reference(const Rows& input, int64_t preceding) {
  Rows out;
  for (const auto& [current, frame] : over_frames(input, preceding)) {
    int64_t sum = 0, valid = 0;
    for (const auto& row : frame) {
      if (row[3].is_null()) continue;
      sum += row[3].as_int64();
      ++valid;
    }
    Row row = current;
    row.push_back(valid == 0 ? Value()
                             : Value(static_cast<double>(sum) / static_cast<double>(valid)));
    row.push_back(Value(static_cast<int64_t>(frame.size())));
    out.push_back(std::move(row));
  }
  return out;
}

DataFrame over_query(MemoryStream& events) {
  const WindowSpec w =
      Window::partition_by("k").order_by("ts", "id").rows_between(-3, Window::current_row);
  return events.to_df()
      .with_watermark("ts", "5 seconds")
      .select(col("k"), col("ts"), col("id"), col("v"), avg(col("v")).over(w).alias("a"),
              count().over(w).alias("n"));
}

}  // namespace

// Random rows (out of order within the watermark delay, so none is late) in random epochs,
// the query stopped and restarted from its checkpoint halfway: every row comes out once, with
// the aggregates of the reference.
BOOST_AUTO_TEST_CASE(over_rows_through_the_runtime_with_a_restart_equal_the_reference) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "3").is_ok());
  MemoryStream events(session, events_schema());
  TemporaryDirectory checkpoint;
  Collected collected;
  auto start = [&] {
    auto query = over_query(events)
                     .write_stream()
                     .output_mode(OutputMode::Append)
                     .option("checkpointLocation", checkpoint.path())
                     .foreach_batch(collected.writer())
                     .start();
    BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
    return std::move(*query);
  };
  auto query = start();
  Rows input;
  int64_t max_time = 0;
  int64_t id = 0;
  const int num_epochs = 10 + static_cast<int>(random() % 10);
  for (int epoch = 0; epoch < num_epochs; ++epoch) {
    Rows rows;
    const int num_rows = 1 + static_cast<int>(random() % 40);
    for (int r = 0; r < num_rows; ++r) {
      const int64_t time =
          std::max<int64_t>(0, max_time - static_cast<int64_t>(random() % (4 * kSecond)));
      rows.push_back({Value(static_cast<int64_t>(random() % 4)), Value(Timestamp{time}),
                      Value(id++),
                      random() % 6 == 0 ? Value() : Value(static_cast<int64_t>(random() % 1000))});
    }
    max_time += static_cast<int64_t>(random() % (2 * kSecond));
    input.insert(input.end(), rows.begin(), rows.end());
    BOOST_REQUIRE(events.add_data(rows).is_ok());
    BOOST_REQUIRE(query.process_all_available().is_ok());
    if (epoch == num_epochs / 2) {
      BOOST_REQUIRE(query.stop().is_ok());
      query = start();
    }
  }
  // A far-future row of another key moves the watermark past every row above.
  BOOST_REQUIRE(events
                    .add_data({{Value(int64_t{99}), Value(Timestamp{1000 * kSecond}), Value(id++),
                                Value(int64_t{0})}})
                    .is_ok());
  BOOST_REQUIRE(query.process_all_available().is_ok());
  BOOST_REQUIRE(query.process_all_available().is_ok());
  check_same_rows(collected.rows(), reference(input, 3),
                  "OVER through the runtime, seed " + std::to_string(seed));
  BOOST_REQUIRE(query.stop().is_ok());
}

BOOST_AUTO_TEST_CASE(late_rows_are_dropped_and_counted_in_progress) {
  Session session;
  MemoryStream events(session, events_schema());
  Collected collected;
  auto query = over_query(events)
                   .write_stream()
                   .output_mode(OutputMode::Append)
                   .foreach_batch(collected.writer())
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(events
                    .add_data({{Value(int64_t{1}), Value(Timestamp{100 * kSecond}),
                                Value(int64_t{1}), Value(int64_t{1})}})
                    .is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  // The watermark is now 95 s: a row at 10 s is late.
  BOOST_REQUIRE(events
                    .add_data({{Value(int64_t{1}), Value(Timestamp{10 * kSecond}),
                                Value(int64_t{2}), Value(int64_t{5})}})
                    .is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  const auto progress = query->last_progress();
  BOOST_REQUIRE(progress.has_value());
  BOOST_REQUIRE(!progress->state_operators.empty());
  BOOST_TEST(progress->state_operators[0].num_rows_dropped_by_watermark == 1);
  BOOST_TEST(collected.rows().empty());
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(refused_windows_name_their_clause) {
  Session session;
  MemoryStream events(session, events_schema());
  const DataFrame df = events.to_df().with_watermark("ts", "5 seconds");
  auto message = [](const DataFrame& frame) { return frame.status().to_string(); };
  const WindowSpec ordered = Window::partition_by("k").order_by("ts");
  BOOST_TEST(message(df.with_column("a", avg(col("v")).over(ordered))).find("needs a ROWS frame") !=
             std::string::npos);
  BOOST_TEST(message(df.with_column("a", avg(col("v")).over(ordered.rows_between(-2, 1))))
                 .find("must end at CURRENT ROW, not 1 FOLLOWING") != std::string::npos);
  BOOST_TEST(message(df.with_column("a", first(col("v")).over(ordered.rows_between(-2, 0))))
                 .find("only count, sum, avg, min and max") != std::string::npos);
  BOOST_TEST(message(df.with_column(
                         "a", avg(col("v")).over(Window::partition_by("k").rows_between(-2, 0))))
                 .find("needs ORDER BY") != std::string::npos);
  BOOST_TEST(message(df.select(col("k"), avg(col("v")).over(ordered.rows_between(-2, 0)),
                               avg(col("v")).over(ordered.rows_between(-3, 0))))
                 .find("several different windows") != std::string::npos);
  // ORDER BY a column without a watermark fails when the query starts.
  auto by_id =
      df.with_column(
            "a", avg(col("v")).over(Window::partition_by("k").order_by("ts").rows_between(-2, 0)))
          .with_column("t2", col("ts"))
          .with_column("b", avg(col("v")).over(
                                Window::partition_by("k").order_by("t2").rows_between(-2, 0)));
  auto query = by_id.write_stream().output_mode(OutputMode::Append).format("noop").start();
  BOOST_REQUIRE(!query.ok());
  BOOST_TEST(query.status().to_string().find(
                 "ORDER BY t2 is not the stream's event-time column 'ts'") != std::string::npos,
             query.status().to_string());
  auto unwatermarked =
      events.to_df().with_column("a", avg(col("v")).over(ordered.rows_between(-2, 0)));
  query = unwatermarked.write_stream().output_mode(OutputMode::Append).format("noop").start();
  BOOST_REQUIRE(!query.ok());
  BOOST_TEST(query.status().to_string().find("ORDER BY ts has no watermark") != std::string::npos,
             query.status().to_string());
  query = df.with_column("a", avg(col("v")).over(ordered.rows_between(-2, 0)))
              .write_stream()
              .output_mode(OutputMode::Update)
              .format("noop")
              .start();
  BOOST_REQUIRE(!query.ok());
  BOOST_TEST(
      query.status().to_string().find("emits each row once, in append mode") != std::string::npos,
      query.status().to_string());
}

BOOST_AUTO_TEST_CASE(only_filters_on_partition_columns_move_below_the_over) {
  Session session;
  MemoryStream events(session, events_schema());
  const WindowSpec w = Window::partition_by("k").order_by("ts").rows_between(-2, 0);
  const DataFrame df = events.to_df()
                           .with_watermark("ts", "5 seconds")
                           .with_column("a", avg(col("v")).over(w))
                           .filter(col("k") == lit(int64_t{1}) && col("v") > lit(int64_t{3}));
  const std::string plan = df.explain(true);
  const auto optimized = plan.find("== Optimized Logical Plan ==");
  BOOST_REQUIRE(optimized != std::string::npos);
  const std::string text = plan.substr(optimized);
  const auto window = text.find("Window [");
  const auto key_filter = text.find("Filter (k = 1)");
  const auto value_filter = text.find("Filter (v > 3)");
  BOOST_REQUIRE_MESSAGE(window != std::string::npos && key_filter != std::string::npos &&
                            value_filter != std::string::npos,
                        plan);
  BOOST_TEST(value_filter < window, plan);  // above the window
  BOOST_TEST(key_filter > window, plan);    // below it
}

// An order column that trails the event time by a bound a filter states is accepted: rows are
// released once the watermark less the bound passes them.
BOOST_AUTO_TEST_CASE(an_order_column_bounded_below_the_event_time_by_a_filter_is_accepted) {
  Session session;
  MemoryStream events(session, events_schema());
  Collected collected;
  const DataFrame df =
      events.to_df()
          .with_watermark("ts", "1 second")
          .with_column("earlier", col("ts") - interval("3 seconds"))
          .filter(col("earlier") >= col("ts") - interval("10 seconds"))
          .with_column(
              "n", count().over(Window::partition_by("k").order_by("earlier").rows_between(-1, 0)));
  auto query =
      df.write_stream().output_mode(OutputMode::Append).foreach_batch(collected.writer()).start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(events
                    .add_data({{Value(int64_t{1}), Value(Timestamp{100 * kSecond}),
                                Value(int64_t{1}), Value(int64_t{1})},
                               {Value(int64_t{1}), Value(Timestamp{101 * kSecond}),
                                Value(int64_t{2}), Value(int64_t{1})}})
                    .is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(events
                    .add_data({{Value(int64_t{2}), Value(Timestamp{200 * kSecond}),
                                Value(int64_t{3}), Value(int64_t{1})}})
                    .is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  const Rows rows = sorted(collected.rows());
  BOOST_REQUIRE_EQUAL(rows.size(), 2u);
  BOOST_TEST(rows[0].back().as_int64() == 1);
  BOOST_TEST(rows[1].back().as_int64() == 2);
  BOOST_REQUIRE(query->stop().is_ok());
}
