#define BOOST_TEST_MODULE over_sql
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <cmath>
#include <fstream>
#include <mutex>
#include <random>

#include "sql/sql_context.hpp"
#include "tests/operators/stateful_fixture.hpp"
#include "tests/parquet/duckdb_process.hpp"
#include "tests/support/canonical_rows.hpp"
#include "tests/support/over_frames.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using Strings = std::vector<std::vector<std::string>>;

namespace {

constexpr int64_t kSecond = 1'000'000;

// Runs `select` (over the view `events`, a watermarked memory stream) on random rows in random
// epochs, and the same window in DuckDB over a CSV of the rows (`duckdb_select` over `events`
// with ts in µs); both results must be equal.
void check_against_duckdb(const std::string& select, const std::string& duckdb_select) {
  const std::string missing = sluice::testing::duckdb_missing_reason();
  BOOST_REQUIRE_MESSAGE(missing.empty(), missing);
  const uint64_t seed = sluice::testing::test_seed();
  std::mt19937_64 random(seed);
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  MemoryStream events(session, sluice::testing::over_events_schema());
  SqlContext context(session);
  BOOST_REQUIRE(
      context.register_view("events", events.to_df().with_watermark("ts", "5 seconds")).is_ok());
  auto frame = context.sql(select);
  BOOST_REQUIRE_MESSAGE(frame.ok(), frame.status().to_string());
  std::mutex mutex;
  Strings actual;
  auto query = frame->write_stream()
                   .output_mode(OutputMode::Append)
                   .foreach_batch([&](const RecordBatchPtr& batch, int64_t) {
                     std::lock_guard lock(mutex);
                     sluice::testing::append_canonical_rows(*batch, actual);
                   })
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  sluice::testing::TemporaryDirectory dir;
  std::ofstream csv(dir.path() + "/events.csv");
  int64_t max_time = 0;
  int64_t id = 0;
  const int num_epochs = 5 + static_cast<int>(random() % 10);
  for (int epoch = 0; epoch < num_epochs; ++epoch) {
    std::vector<std::vector<Value>> rows;
    const int num_rows = 1 + static_cast<int>(random() % 200);
    for (int r = 0; r < num_rows; ++r) {
      // Out of order by less than the watermark delay: no row is late.
      const int64_t time =
          std::max<int64_t>(0, max_time - static_cast<int64_t>(random() % (4 * kSecond)));
      const int64_t k = static_cast<int64_t>(random() % 7);
      const bool null_v = random() % 8 == 0;
      const int64_t v = static_cast<int64_t>(random() % 10'000) - 2'000;
      const double d = static_cast<double>(random() % 100'000) / 16.0;
      rows.push_back(
          {Value(k), Value(Timestamp{time}), Value(id), null_v ? Value() : Value(v), Value(d)});
      csv << k << ',' << time << ',' << id << ',' << (null_v ? "" : std::to_string(v)) << ','
          << std::to_string(d) << '\n';
      ++id;
    }
    max_time += static_cast<int64_t>(random() % (3 * kSecond));
    BOOST_REQUIRE(events.add_data(rows).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  csv.close();
  // A far-future row of another key moves the watermark past every row above.
  BOOST_REQUIRE(events
                    .add_data({{Value(int64_t{-1}), Value(Timestamp{1'000'000 * kSecond}),
                                Value(id), Value(), Value(0.0)}})
                    .is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->stop().is_ok());

  auto output =
      sluice::testing::run_duckdb({"CREATE VIEW events AS SELECT * FROM read_csv('" + dir.path() +
                                       "/events.csv', header = false, columns = {'k': 'BIGINT', "
                                       "'ts': 'BIGINT', 'id': 'BIGINT', 'v': "
                                       "'BIGINT', 'd': 'DOUBLE'})",
                                   duckdb_select},
                                  dir.path());
  BOOST_REQUIRE_MESSAGE(output.ok(), output.status().to_string());
  Strings expected;
  for (auto row : output->results.at(1)) {
    // The helper prints values as JSON: BIGINTs as quoted strings.
    for (auto& value : row) {
      if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
    }
    expected.push_back(std::move(row));
  }
  std::sort(actual.begin(), actual.end());
  std::sort(expected.begin(), expected.end());
  BOOST_TEST_REQUIRE(actual.size() == expected.size(), "seed " << seed);
  for (size_t i = 0; i < actual.size(); ++i) {
    std::string actual_text, expected_text;
    for (const auto& value : actual[i])
      actual_text += value + " ";
    for (const auto& value : expected[i])
      expected_text += value + " ";
    BOOST_TEST_REQUIRE(actual_text == expected_text, "seed " << seed << ", row " << i << ": "
                                                             << actual_text << " vs DuckDB "
                                                             << expected_text);
  }
}

// Returns the error of translating and starting `select` over the watermarked `events`.
std::string error_of(const std::string& select) {
  Session session;
  MemoryStream events(session, sluice::testing::over_events_schema());
  SqlContext context(session);
  BOOST_REQUIRE(
      context.register_view("events", events.to_df().with_watermark("ts", "5 seconds")).is_ok());
  BOOST_REQUIRE(context.register_stream("raw", events).is_ok());
  auto frame = context.sql(select);
  if (!frame.ok()) return frame.status().to_string();
  auto query = frame->write_stream().output_mode(OutputMode::Append).format("noop").start();
  if (!query.ok()) return query.status().to_string();
  BOOST_REQUIRE(query->stop().is_ok());
  return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(rows_preceding_equals_duckdb_window_functions) {
  const std::string window =
      "(PARTITION BY k ORDER BY ts, id ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)";
  check_against_duckdb(
      "SELECT k, ts, id, v, count(*) OVER " + window + " AS n, count(v) OVER " + window +
          " AS nv, sum(v) OVER " + window + " AS s, avg(v) OVER " + window + " AS a, min(v) OVER " +
          window + " AS lo, max(d) OVER " + window + " AS hi FROM events",
      "SELECT k, ts, id, v, count(*) OVER w, count(v) OVER w, sum(v) OVER w, CAST(round(avg(v) "
      "OVER w * 1000) "
      "AS BIGINT), min(v) OVER w, CAST(round(max(d) OVER w * 1000) AS BIGINT) FROM events "
      "WINDOW w AS (PARTITION BY k ORDER BY ts, id ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)");
}

BOOST_AUTO_TEST_CASE(rows_unbounded_preceding_equals_duckdb_window_functions) {
  check_against_duckdb(
      "SELECT id, sum(d) OVER (PARTITION BY k ORDER BY ts, id ROWS UNBOUNDED PRECEDING) AS running "
      "FROM events "
      "WHERE k <> 3",
      "SELECT id, CAST(round(sum(d) OVER (PARTITION BY k ORDER BY ts, id ROWS UNBOUNDED PRECEDING) "
      "* 1000) AS "
      "BIGINT) FROM events WHERE k <> 3");
}

BOOST_AUTO_TEST_CASE(refused_over_clauses_are_named) {
  auto refused = [](const std::string& select, const std::string& expected) {
    const std::string message = error_of(select);
    BOOST_TEST(message.find(expected) != std::string::npos, select << " -> " << message);
  };
  refused(
      "SELECT avg(v) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '1' SECOND PRECEDING "
      "AND "
      "CURRENT ROW) FROM events",
      "RANGE frames are not supported");
  refused(
      "SELECT avg(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) "
      "FROM events",
      "FOLLOWING is not supported");
  refused("SELECT avg(v) OVER (PARTITION BY k ORDER BY ts) FROM events",
          "without a frame the window is RANGE");
  refused("SELECT avg(v) OVER (PARTITION BY k ORDER BY ts DESC ROWS 2 PRECEDING) FROM events",
          "ORDER BY ... DESC is not supported");
  refused("SELECT row_number() OVER (PARTITION BY k ORDER BY ts ROWS 2 PRECEDING) FROM events",
          "only count, sum, avg, min and max");
  refused(
      "SELECT avg(v) OVER (PARTITION BY k ORDER BY ts ROWS 2 PRECEDING), sum(v) OVER (PARTITION BY "
      "k "
      "ORDER BY ts ROWS 3 PRECEDING) FROM events",
      "several different windows are not supported");
  refused(
      "SELECT k, avg(v) OVER (PARTITION BY k ORDER BY ts ROWS 2 PRECEDING) FROM events GROUP BY k",
      "with GROUP BY or aggregates is not supported");
  refused("SELECT avg(v) OVER (PARTITION BY k ORDER BY id ROWS 2 PRECEDING) FROM events",
          "ORDER BY id is BIGINT");
  refused("SELECT avg(v) OVER (PARTITION BY k ORDER BY ts ROWS 2 PRECEDING) FROM raw",
          "ORDER BY ts has no watermark");
  refused(
      "SELECT 1 + avg(v) OVER (PARTITION BY k ORDER BY ts ROWS 2 PRECEDING) AS x FROM events WHERE "
      "avg(v) OVER (PARTITION BY k ORDER BY ts ROWS 2 PRECEDING) > 0",
      "OVER (...) is supported only in the SELECT list");
}
