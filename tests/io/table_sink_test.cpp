#define BOOST_TEST_MODULE table_sink
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "io/table_sink.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using sluice::testing::TemporaryDirectory;
namespace fs = std::filesystem;

namespace {

using Rows = std::vector<std::vector<Value>>;

SchemaPtr readings() { return Schema::make({{"sensor", Type::String}, {"v", Type::Int64}}).value(); }

Rows table_rows(const std::string& path) {
  auto table = read_table_sink(path);
  BOOST_REQUIRE_MESSAGE(table.ok(), table.status().to_string());
  return table->rows->to_rows();
}

std::string message_of(const Status& status) { return status.message(); }

}  // namespace

BOOST_AUTO_TEST_CASE(update_mode_keeps_the_latest_aggregate_of_every_key) {
  TemporaryDirectory dir;
  Session session;
  MemoryStream input(session, readings());
  auto query = input.to_df()
                   .group_by("sensor")
                   .agg(count().alias("readings"), sum(col("v")).alias("total"))
                   .write_stream()
                   .format("table")
                   .output_mode(OutputMode::Update)
                   .option("path", dir.file("latest"))
                   .option("key", "sensor")
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  const unsigned seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937 random(seed);
  std::map<std::string, std::pair<int64_t, int64_t>> expected;
  for (int epoch = 0; epoch < 4; ++epoch) {
    Rows rows;
    for (int i = 0; i < 50; ++i) {
      const std::string sensor = "s" + std::to_string(random() % (5 + epoch * 3));
      const int64_t v = static_cast<int64_t>(random() % 1000);
      rows.push_back({Value(sensor), Value(v)});
      expected[sensor].first += 1;
      expected[sensor].second += v;
    }
    BOOST_REQUIRE(input.add_data(rows).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
    // Read while the query runs: rows in key order, one per sensor, as of the last epoch.
    Rows want;
    for (const auto& [sensor, figures] : expected) want.push_back({Value(sensor), Value(figures.first), Value(figures.second)});
    BOOST_TEST((table_rows(dir.file("latest")) == want), "after epoch " << epoch);
  }
  BOOST_REQUIRE(query->stop().is_ok());
  auto table = read_table_sink(dir.file("latest"));
  BOOST_REQUIRE(table.ok());
  BOOST_TEST((table->key == std::vector<std::string>{"sensor"}));
}

BOOST_AUTO_TEST_CASE(complete_mode_replaces_the_table_every_epoch) {
  TemporaryDirectory dir;
  Session session;
  MemoryStream input(session, readings());
  auto query = input.to_df()
                   .group_by("sensor")
                   .count()
                   .write_stream()
                   .format("table")
                   .output_mode(OutputMode::Complete)
                   .option("path", dir.file("counts"))
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data({{"a", 1}, {"b", 2}, {"a", 3}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(input.add_data({{"c", 1}, {"a", 2}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  Rows rows = table_rows(dir.file("counts"));
  std::sort(rows.begin(), rows.end());
  BOOST_TEST((rows == Rows{{"a", int64_t{3}}, {"b", int64_t{1}}, {"c", int64_t{1}}}));
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(a_replayed_epoch_is_skipped_and_the_next_one_applied) {
  TemporaryDirectory dir;
  auto options = TableSinkOptions::parse({{"path", dir.file("t")}, {"key", "sensor"}}).value();
  auto batch = [](Rows rows) { return RecordBatch::from_rows(readings(), rows).value(); };
  {
    auto sink = TableSink::make(options, readings(), OutputMode::Update).value();
    BOOST_REQUIRE(sink->attach({"query-1", ""}).is_ok());
    BOOST_REQUIRE(sink->write(0, batch({{"a", 1}, {"b", 2}})).is_ok());
    BOOST_REQUIRE(sink->finish_epoch(0).is_ok());
  }  // the process "crashed" before the checkpoint committed epoch 0
  auto sink = TableSink::make(options, readings(), OutputMode::Update).value();
  BOOST_REQUIRE(sink->attach({"query-1", ""}).is_ok());
  // The replay carries the same rows; a sink that applied it again would not notice, so the
  // test sends different ones to see that it is skipped.
  BOOST_REQUIRE(sink->write(0, batch({{"a", 100}})).is_ok());
  BOOST_REQUIRE(sink->finish_epoch(0).is_ok());
  BOOST_TEST((table_rows(dir.file("t")) == Rows{{"a", int64_t{1}}, {"b", int64_t{2}}}));
  BOOST_REQUIRE(sink->write(1, batch({{"b", 5}, {"c", 7}})).is_ok());
  BOOST_REQUIRE(sink->finish_epoch(1).is_ok());
  BOOST_TEST((table_rows(dir.file("t")) == Rows{{"a", int64_t{1}}, {"b", int64_t{5}}, {"c", int64_t{7}}}));
  // Another query writing the same table counts its own epochs.
  BOOST_REQUIRE(sink->attach({"query-2", ""}).is_ok());
  BOOST_REQUIRE(sink->write(0, batch({{"d", 9}})).is_ok());
  BOOST_REQUIRE(sink->finish_epoch(0).is_ok());
  BOOST_TEST(table_rows(dir.file("t")).size() == 4u);
}

BOOST_AUTO_TEST_CASE(one_writer_at_a_time_and_readers_never_wait) {
  TemporaryDirectory dir;
  auto options = TableSinkOptions::parse({{"path", dir.file("t")}, {"key", "sensor"}}).value();
  auto first = TableSink::make(options, readings(), OutputMode::Update).value();
  BOOST_REQUIRE(first->attach({"q", ""}).is_ok());
  BOOST_REQUIRE(first->write(0, RecordBatch::from_rows(readings(), {{"a", 1}}).value()).is_ok());
  BOOST_REQUIRE(first->finish_epoch(0).is_ok());
  auto second = TableSink::make(options, readings(), OutputMode::Update).value();
  const Status refused = second->attach({"q", ""});
  BOOST_TEST(!refused.is_ok());
  BOOST_TEST(message_of(refused).find("in use") != std::string::npos, message_of(refused));
  BOOST_TEST(table_rows(dir.file("t")).size() == 1u);
}

BOOST_AUTO_TEST_CASE(bad_options_and_foreign_tables_are_refused_by_name) {
  TemporaryDirectory dir;
  auto no_key = TableSink::make(TableSinkOptions::parse({{"path", dir.file("t")}}).value(), readings(), OutputMode::Update);
  BOOST_REQUIRE(!no_key.ok());
  BOOST_TEST(message_of(no_key.status()).find("needs option(\"key\"") != std::string::npos);
  auto unknown = TableSink::make(TableSinkOptions::parse({{"path", dir.file("t")}, {"key", "sensr"}}).value(),
                                 readings(), OutputMode::Update);
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST(message_of(unknown.status()).find("sensr") != std::string::npos, message_of(unknown.status()));
  BOOST_TEST(message_of(unknown.status()).find("sensor") != std::string::npos);
  auto typo = TableSinkOptions::parse({{"path", dir.file("t")}, {"keys", "sensor"}});
  BOOST_REQUIRE(!typo.ok());
  BOOST_TEST(message_of(typo.status()).find("keys") != std::string::npos);
  BOOST_TEST(!TableSinkOptions::parse({{"key", "sensor"}}).ok());

  // A table written with other columns.
  {
    auto sink = TableSink::make(TableSinkOptions::parse({{"path", dir.file("t")}, {"key", "sensor"}}).value(), readings(),
                                OutputMode::Update)
                    .value();
    BOOST_REQUIRE(sink->attach({"q", ""}).is_ok());
    BOOST_REQUIRE(sink->write(0, RecordBatch::from_rows(readings(), {{"a", 1}}).value()).is_ok());
    BOOST_REQUIRE(sink->finish_epoch(0).is_ok());
  }
  auto other = Schema::make({{"sensor", Type::String}, {"v", Type::Double}}).value();
  auto sink = TableSink::make(TableSinkOptions::parse({{"path", dir.file("t")}, {"key", "sensor"}}).value(), other,
                              OutputMode::Update)
                  .value();
  const Status refused = sink->attach({"q", ""});
  BOOST_REQUIRE(!refused.is_ok());
  BOOST_TEST(message_of(refused).find("holds columns (sensor STRING, v BIGINT)") != std::string::npos,
             message_of(refused));
}

BOOST_AUTO_TEST_CASE(missing_and_damaged_tables_give_clear_errors) {
  TemporaryDirectory dir;
  auto missing = read_table_sink(dir.file("nothing"));
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST((missing.status().code() == StatusCode::not_found));
  BOOST_TEST(message_of(missing.status()).find(dir.file("nothing")) != std::string::npos);

  fs::create_directories(dir.file("garbage"));
  {
    std::ofstream out(dir.file("garbage") + "/data.mdb", std::ios::binary);
    for (int i = 0; i < 20000; ++i) out << static_cast<char>(i * 31 % 251);
  }
  auto garbage = read_table_sink(dir.file("garbage"));
  BOOST_REQUIRE(!garbage.ok());
  BOOST_TEST((garbage.status().code() == StatusCode::corrupt), garbage.status().to_string());
  BOOST_TEST(message_of(garbage.status()).find(dir.file("garbage")) != std::string::npos,
             garbage.status().to_string());
}
