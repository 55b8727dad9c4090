#define BOOST_TEST_MODULE nexmark_queries
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <mutex>

#include "bench/nexmark/generator.hpp"
#include "bench/nexmark/queries.hpp"
#include "parquet/writer.hpp"
#include "tests/parquet/duckdb_process.hpp"
#include "tests/support/canonical_rows.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace sluice::nexmark;
using namespace std::chrono_literals;
using Rows = std::vector<std::vector<std::string>>;

namespace {

// A small run: 1 000 000 events, 10 000 per second of event time (100 s, so that windows and
// sessions close), paced on a manual clock for the processing-time query.
constexpr int64_t kEvents = 1'000'000;
constexpr int64_t kRate = 10'000;
constexpr int64_t kRoundSeconds = 10;
constexpr int64_t kClockStart = 1'800'000'000'000'000;  // µs, a multiple of 10 s
constexpr int64_t kWatermarkDelayMicros = 4'000'000;

uint64_t test_seed() {
  static const uint64_t seed = [] {
    const uint64_t s =
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) % 100000;
    std::cout << "nexmark queries test seed: " << s << std::endl;
    return s;
  }();
  return seed;
}

GeneratorConfig generator_config() {
  GeneratorConfig config;
  config.seed = test_seed();
  config.first_event_rate = kRate;
  return config;
}

std::map<std::string, std::string> source_options(bool paced) {
  std::map<std::string, std::string> options{{"seed", std::to_string(test_seed())},
                                             {"firstEventRate", std::to_string(kRate)},
                                             {"maxEvents", std::to_string(kEvents)},
                                             {"numPartitions", "2"},
                                             {"maxEventsPerTrigger", "200000"}};
  if (paced) options["eventsPerSecond"] = std::to_string(kRate);
  return options;
}

std::string unquote(const std::string& json) {
  if (json.size() >= 2 && json.front() == '"') return json.substr(1, json.size() - 2);
  return json;
}

void export_events(const std::string& dir) {
  auto generator = Generator::make(generator_config()).value();
  for (EventKind kind : {EventKind::person, EventKind::auction, EventKind::bid}) {
    auto writer = parquet::Writer::open(dir + "/" + std::string(event_kind_name(kind)) + ".parquet",
                                        schema_of(kind));
    BOOST_REQUIRE_MESSAGE(writer.ok(), writer.status().to_string());
    for (int64_t start = 0; start < kEvents; start += 200'000) {
      auto status =
          (*writer)->write(*generator->make_batch(kind, start, std::min(kEvents, start + 200'000)));
      BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
    }
    BOOST_REQUIRE((*writer)->close().ok());
  }
}

// The last event time of the bids minus the watermark delay: what Sluice's watermark reaches.
int64_t final_event_watermark() {
  auto generator = Generator::make(generator_config()).value();
  int64_t last = kEvents - 1;
  while (generator->kind(last) != EventKind::bid)
    --last;
  return generator->timestamp_ms(generator->event_id(last)) * 1000 - kWatermarkDelayMicros;
}

// Runs every query's DuckDB form in one DuckDB over the exported events, once per test run.
const std::map<std::string, Rows>& duckdb_references(const std::string& dir) {
  static const std::map<std::string, Rows> references = [&dir] {
    std::vector<std::string> statements;
    const std::string base_ms = std::to_string(generator_config().base_time_ms);
    for (const char* table : {"person", "auction"}) {
      statements.push_back(std::string("CREATE VIEW ") + table +
                           " AS SELECT * FROM read_parquet('" + dir + "/" + table + ".parquet')");
    }
    // q12's processing time: events are read in rounds of 10 s of event time, each stamped
    // with the manual clock after the round's advance (see run_sluice).
    statements.push_back("CREATE VIEW bid AS SELECT *, make_timestamp(" +
                         std::to_string(kClockStart) + " + ((epoch_ms(date_time) - " + base_ms +
                         ") // " + std::to_string(kRoundSeconds * 1000) + " + 1) * " +
                         std::to_string(kRoundSeconds * 1'000'000) +
                         ") AS p_time FROM read_parquet('" + dir + "/bid.parquet')");
    // Each query's DuckDB form under its name, and the form of what its SQL emits, when that
    // differs, under name + "/sql".
    std::vector<std::string> names;
    for (const Query& query : queries()) {
      names.push_back(query.name);
      statements.push_back(query.duckdb_sql);
      if (!query.sql_duckdb_sql.empty()) {
        names.push_back(query.name + "/sql");
        statements.push_back(query.sql_duckdb_sql);
      }
    }
    const size_t first_query = statements.size() - names.size();
    auto output = sluice::testing::run_duckdb(statements, dir);
    if (!output.ok()) throw std::runtime_error(output.status().to_string());
    std::map<std::string, Rows> rows;
    for (size_t i = 0; i < names.size(); ++i) {
      Rows& result = rows[names[i]];
      for (const auto& row : output->results.at(first_query + i)) {
        std::vector<std::string> values;
        for (const auto& value : row)
          values.push_back(unquote(value));
        result.push_back(std::move(values));
      }
    }
    return rows;
  }();
  return references;
}

Rows duckdb_rows(const Query& query, const std::string& dir, int64_t closed_before,
                 bool of_sql = false) {
  Rows rows;
  const bool own = of_sql && !query.sql_duckdb_sql.empty();
  for (const auto& row : duckdb_references(dir).at(own ? query.name + "/sql" : query.name)) {
    // Windowed queries emit a window once the watermark passes its end (column 4).
    if (closed_before > 0 && std::stoll(row.at(3)) > closed_before) continue;
    rows.push_back(row);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

Rows run_sluice(const Query& query, bool use_sql) {
  Session session;
  std::shared_ptr<ManualClock> clock;
  if (query.processing_time) {
    clock = std::make_shared<ManualClock>(kClockStart);
    session.state()->set_clock(clock);
  }
  Streams streams =
      read_streams(session, source_options(query.processing_time), query.processing_time);
  DataFrame frame = use_sql ? sql_frame(session, query, streams).value() : query.dataframe(streams);
  BOOST_REQUIRE_MESSAGE(frame.status().is_ok(), frame.status().to_string());
  std::mutex mutex;
  Rows rows;
  auto started = frame.write_stream()
                     .output_mode(use_sql && query.sql_mode ? *query.sql_mode : query.mode)
                     .foreach_batch([&](const RecordBatchPtr& batch, int64_t) {
                       std::lock_guard lock(mutex);
                       sluice::testing::append_canonical_rows(*batch, rows);
                     })
                     .start();
  BOOST_REQUIRE_MESSAGE(started.ok(), started.status().to_string());
  if (query.processing_time) {
    for (int64_t round = 0; round < kEvents / (kRate * kRoundSeconds); ++round) {
      clock->advance_micros(kRoundSeconds * 1'000'000);
      BOOST_REQUIRE(started->process_all_available().is_ok());
    }
  }
  const Status processed = started->process_all_available();
  BOOST_REQUIRE_MESSAGE(processed.is_ok(), processed.to_string());
  BOOST_REQUIRE(started->stop().is_ok());
  std::lock_guard lock(mutex);
  if (query.mode == OutputMode::Update) {
    // An updating result: the last row of each key is its final value. q6's SQL form runs in
    // append mode, emitting every win once with its seller's average over the frame ending
    // there; a seller's rows come from one partition in frame order (win time, then auction),
    // so its last row is the average over its 11 latest wins: the row DuckDB's QUALIFY picks,
    // and the one the DataFrame form's updates end with.
    std::map<std::vector<std::string>, std::vector<std::string>> last;
    for (auto& row : rows) {
      last[std::vector<std::string>(row.begin(), row.begin() + query.key_columns)] = std::move(row);
    }
    rows.clear();
    for (auto& [key, row] : last)
      rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

void check_query(const std::string& name) {
  const Query& query = *find_query(name).value();
  const std::string missing = sluice::testing::duckdb_missing_reason();
  BOOST_REQUIRE_MESSAGE(missing.empty(), missing);
  // One export serves every query of the run.
  static sluice::testing::TemporaryDirectory dir;
  static const bool exported = (export_events(dir.path()), true);
  (void)exported;
  int64_t closed_before = 0;
  if (name == "q11") closed_before = final_event_watermark();
  if (name == "q12")
    closed_before = kClockStart + (kEvents / (kRate * kRoundSeconds)) * kRoundSeconds * 1'000'000;
  const Rows reference = duckdb_rows(query, dir.path(), closed_before);
  BOOST_TEST_MESSAGE(name << ": DuckDB gives " << reference.size() << " rows");
  BOOST_TEST(!reference.empty());
  if (!query.pending.empty()) return;
  for (bool use_sql : {false, true}) {
    if (use_sql && query.sql.empty()) {
      BOOST_TEST_MESSAGE(name << " has no SQL form: " << query.description);
      continue;
    }
    const Rows actual = run_sluice(query, use_sql);
    const Rows expected = duckdb_rows(query, dir.path(), closed_before, use_sql);
    if (use_sql && !query.sql_duckdb_sql.empty()) {
      BOOST_TEST_MESSAGE(name << ": DuckDB gives " << expected.size()
                              << " rows for what the SQL form emits");
    }
    BOOST_TEST_CONTEXT(name << (use_sql ? " (SQL)" : " (DataFrame)")) {
      BOOST_TEST(actual.size() == expected.size());
      Rows missing_rows, extra_rows;
      std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                          std::back_inserter(missing_rows));
      std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                          std::back_inserter(extra_rows));
      BOOST_TEST(missing_rows.empty());
      BOOST_TEST(extra_rows.empty());
      auto show = [](const char* what, const Rows& some) {
        for (size_t i = 0; i < std::min<size_t>(3, some.size()); ++i) {
          std::string text;
          for (const auto& v : some[i])
            text += v.substr(0, 40) + " | ";
          BOOST_TEST_MESSAGE(what << text);
        }
      };
      show("missing from Sluice: ", missing_rows);
      show("only in Sluice: ", extra_rows);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(q0_pass_through_equals_duckdb) {
  check_query("q0");
}
BOOST_AUTO_TEST_CASE(q1_currency_conversion_equals_duckdb) {
  check_query("q1");
}
BOOST_AUTO_TEST_CASE(q2_selection_equals_duckdb) {
  check_query("q2");
}
BOOST_AUTO_TEST_CASE(q11_sessions_equal_duckdb) {
  check_query("q11");
}
BOOST_AUTO_TEST_CASE(q12_processing_time_windows_equal_duckdb) {
  check_query("q12");
}
BOOST_AUTO_TEST_CASE(q17_auction_statistics_per_day_equal_duckdb) {
  check_query("q17");
}

BOOST_AUTO_TEST_CASE(q3_local_item_suggestion_equals_duckdb) {
  check_query("q3");
}
BOOST_AUTO_TEST_CASE(q4_average_winning_price_per_category_equals_duckdb) {
  check_query("q4");
}
BOOST_AUTO_TEST_CASE(q5_hot_items_equal_duckdb) {
  check_query("q5");
}
BOOST_AUTO_TEST_CASE(q6_average_selling_price_per_seller_equals_duckdb) {
  check_query("q6");
}
BOOST_AUTO_TEST_CASE(q7_highest_bid_equals_duckdb) {
  check_query("q7");
}
BOOST_AUTO_TEST_CASE(q8_new_users_equal_duckdb) {
  check_query("q8");
}
