#define BOOST_TEST_MODULE kafka_source
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include "io/kafka_dev_broker.hpp"
#include "io/kafka_source.hpp"
#include "tests/support/kafka_test_support.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using sluice::testing::TemporaryDirectory;

namespace {

std::unique_ptr<kafka::DevBroker> start_broker(int brokers = 1) {
  auto broker = kafka::DevBroker::start(brokers);
  BOOST_REQUIRE_MESSAGE(broker.ok(), broker.status().to_string());
  return std::move(*broker);
}

std::vector<std::pair<std::string, std::string>> numbered(const std::string& prefix, int first, int count) {
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = first; i < first + count; ++i) records.emplace_back("k" + std::to_string(i), prefix + std::to_string(i));
  return records;
}

std::map<std::string, std::string> source_options(const kafka::DevBroker& broker, const std::string& topic) {
  return {{"kafka.bootstrap.servers", broker.bootstrap_servers()}, {"subscribe", topic}, {"startingOffsets", "earliest"}};
}

// Reads partition p's range [start, end) through the source's reader, as values.
std::vector<std::string> read_range(KafkaSource& source, int partition, int64_t start, int64_t end) {
  auto reader = source.open_reader(partition, start, end);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  std::vector<std::string> values;
  const int value = source.schema()->find("value");
  const int offset = source.schema()->find("offset");
  for (;;) {
    RecordBatchPtr batch;
    auto flow = (*reader)->next(batch);
    BOOST_REQUIRE_MESSAGE(flow.ok(), flow.status().to_string());
    if (*flow == ReadFlow::finished) break;
    for (int64_t row = 0; row < batch->num_rows(); ++row) {
      BOOST_TEST(batch->column(offset)->values<int64_t>()[row] == start + static_cast<int64_t>(values.size()));
      values.emplace_back(batch->column(value)->string_at(row));
    }
  }
  BOOST_TEST(*(*reader)->position() == end);
  return values;
}

std::vector<std::string> values_of(const std::vector<std::pair<std::string, std::string>>& records) {
  std::vector<std::string> values;
  for (const auto& record : records) values.push_back(record.second);
  return values;
}

}  // namespace

BOOST_AUTO_TEST_CASE(reads_exactly_the_planned_offset_ranges_and_replays_them_identically) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("events", 2).is_ok());
  auto first = numbered("a", 0, 50);
  auto second = numbered("b", 0, 30);
  testing::produce_records(broker->bootstrap_servers(), "events", first, 0);
  testing::produce_records(broker->bootstrap_servers(), "events", second, 1);

  auto options = KafkaSourceOptions::parse(source_options(*broker, "events"));
  BOOST_REQUIRE_MESSAGE(options.ok(), options.status().to_string());
  auto source = KafkaSource::make(*options);
  BOOST_REQUIRE_MESSAGE(source.ok(), source.status().to_string());
  KafkaSource& kafka = **source;
  BOOST_TEST(kafka.num_partitions() == 2);
  BOOST_TEST((kafka.initial_offset() == SourceOffset{0, 0}));
  BOOST_TEST(kafka.description() == "KafkaV2[Subscribe[events]]");

  auto latest = kafka.latest_offset(kafka.initial_offset(), ReadLimit{});
  BOOST_REQUIRE(latest.ok());
  BOOST_TEST((*latest == SourceOffset{50, 30}));

  // Two epochs over partition 0, then the first one again (a replay after a crash).
  const std::vector<std::string> all = values_of(first);
  const std::vector<std::string> head(all.begin(), all.begin() + 20);
  const std::vector<std::string> tail(all.begin() + 20, all.end());
  BOOST_TEST(read_range(kafka, 0, 0, 20) == head);
  BOOST_TEST(read_range(kafka, 0, 20, 50) == tail);
  BOOST_TEST(read_range(kafka, 0, 0, 20) == head);
  BOOST_TEST(read_range(kafka, 1, 0, 30) == values_of(second));
  BOOST_TEST(read_range(kafka, 1, 30, 30).empty());
}

BOOST_AUTO_TEST_CASE(max_offsets_per_trigger_spreads_over_partitions_in_proportion) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("events", 2).is_ok());
  testing::produce_records(broker->bootstrap_servers(), "events", numbered("a", 0, 75), 0);
  testing::produce_records(broker->bootstrap_servers(), "events", numbered("b", 0, 25), 1);
  auto raw = source_options(*broker, "events");
  raw["maxOffsetsPerTrigger"] = "40";
  auto source = KafkaSource::make(KafkaSourceOptions::parse(raw).value());
  BOOST_REQUIRE(source.ok());
  auto latest = (*source)->latest_offset({0, 0}, ReadLimit{});
  BOOST_REQUIRE(latest.ok());
  BOOST_TEST((*latest == SourceOffset{30, 10}));
  auto everything = (*source)->latest_offset({0, 0}, ReadLimit{-1, true});
  BOOST_TEST((everything.value() == SourceOffset{75, 25}));
}

BOOST_AUTO_TEST_CASE(starting_offsets_latest_and_json_and_ending_offsets) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("events", 2).is_ok());
  testing::produce_records(broker->bootstrap_servers(), "events", numbered("a", 0, 10), 0);
  testing::produce_records(broker->bootstrap_servers(), "events", numbered("b", 0, 10), 1);
  auto raw = source_options(*broker, "events");
  raw["startingOffsets"] = "latest";
  BOOST_TEST((KafkaSource::make(KafkaSourceOptions::parse(raw).value()).value()->initial_offset() == SourceOffset{10, 10}));
  raw["startingOffsets"] = R"({"events":{"0":4,"1":-2}})";
  raw["endingOffsets"] = R"({"events":{"0":7,"1":-1}})";
  auto source = KafkaSource::make(KafkaSourceOptions::parse(raw).value());
  BOOST_REQUIRE_MESSAGE(source.ok(), source.status().to_string());
  BOOST_TEST(((*source)->initial_offset() == SourceOffset{4, 0}));
  testing::produce_records(broker->bootstrap_servers(), "events", numbered("c", 0, 5), 0);
  BOOST_TEST(((*source)->latest_offset({4, 0}, ReadLimit{}).value() == SourceOffset{7, 10}));
  raw["startingOffsets"] = R"({"events":{"0":99}})";
  auto beyond = KafkaSource::make(KafkaSourceOptions::parse(raw).value());
  BOOST_REQUIRE(!beyond.ok());
  BOOST_TEST(beyond.status().message().find("offset 99 for Kafka topic events partition 0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_options_are_named) {
  auto message = [](std::map<std::string, std::string> options) {
    auto parsed = KafkaSourceOptions::parse(options);
    BOOST_REQUIRE(!parsed.ok());
    return parsed.status().message();
  };
  BOOST_TEST(message({{"subscribe", "t"}}).find("kafka.bootstrap.servers") != std::string::npos);
  BOOST_TEST(message({{"kafka.bootstrap.servers", "x:1"}}).find("exactly one of the options subscribe") != std::string::npos);
  BOOST_TEST(message({{"kafka.bootstrap.servers", "x:1"}, {"subscribe", "t"}, {"maxOffsetPerTrigger", "5"}})
                 .find("did you mean 'maxOffsetsPerTrigger'") != std::string::npos);
  BOOST_TEST(message({{"kafka.bootstrap.servers", "x:1"}, {"subscribe", "t"}, {"startingOffsets", "{\"t\":{\"x\":1}}"}})
                 .find("partition 'x' is not a partition number") != std::string::npos);
  BOOST_TEST(message({{"kafka.bootstrap.servers", "x:1"}, {"assign", "[1]"}}).find("option assign") != std::string::npos);
  BOOST_TEST(message({{"kafka.bootstrap.servers", "x:1"}, {"subscribe", "t"}, {"failOnDataLoss", "maybe"}})
                 .find("expected true or false") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_missing_topic_or_a_bad_librdkafka_property_fails_clearly) {
  auto broker = start_broker();
  auto missing = KafkaSource::make(KafkaSourceOptions::parse(source_options(*broker, "nothere")).value());
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.status().message().find("Kafka topic nothere (option subscribe) does not exist") != std::string::npos);
  auto raw = source_options(*broker, "nothere");
  raw["kafka.no.such.property"] = "1";
  auto bad = KafkaSource::make(KafkaSourceOptions::parse(raw).value());
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.status().message().find("option kafka.no.such.property") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_streaming_query_reads_each_record_once_across_restarts) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("clicks", 3).is_ok());
  TemporaryDirectory checkpoint;
  std::vector<std::string> expected;
  auto run = [&](int first, int count) {
    auto records = numbered("v", first, count);
    testing::produce_records(broker->bootstrap_servers(), "clicks", records);
    for (const auto& record : records) expected.push_back(record.second);
    Session session;
    auto query = session.read_stream()
                     .format("kafka")
                     .options(source_options(*broker, "clicks"))
                     .load()
                     .select(col("value"), col("partition"), col("offset"))
                     .write_stream()
                     .format("memory")
                     .query_name("clicks")
                     .option("checkpointLocation", checkpoint.path())
                     .trigger(Trigger::AvailableNow())
                     .start();
    BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
    query->await_termination();
    BOOST_REQUIRE_MESSAGE(!query->exception(), query->exception()->to_string());
    std::vector<std::string> seen;
    for (const auto& row : session.memory_table("clicks")->rows()) seen.push_back(row[0].as_string());
    return seen;
  };
  auto first = run(0, 40);
  auto second = run(40, 25);
  std::vector<std::string> all = first;
  all.insert(all.end(), second.begin(), second.end());
  std::sort(all.begin(), all.end());
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(first.size() == 40u);
  BOOST_TEST(second.size() == 25u);
  BOOST_TEST(all == expected);
}

BOOST_AUTO_TEST_CASE(progress_reports_the_latest_offsets_and_how_far_each_partition_is_behind) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("events", 2).is_ok());
  testing::produce_records(broker->bootstrap_servers(), "events", numbered("a", 0, 75), 0);
  testing::produce_records(broker->bootstrap_servers(), "events", numbered("b", 0, 25), 1);
  auto options = source_options(*broker, "events");
  options["maxOffsetsPerTrigger"] = "40";
  Session session;
  auto query = session.read_stream()
                   .format("kafka")
                   .options(options)
                   .load()
                   .select(col("value"))
                   .write_stream()
                   .format("noop")
                   .trigger(Trigger::AvailableNow())
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  query->await_termination();
  BOOST_REQUIRE(!query->exception().has_value());
  const auto reports = query->recent_progress();
  BOOST_REQUIRE(reports.size() == 3u);  // 40 + 40 + 20 records
  const auto& first = reports[0].sources[0];
  BOOST_TEST(first.end_offset == "[30,10]");
  BOOST_TEST(first.latest_offset == "[75,25]");  // what the topic holds, not the capped end
  const std::vector<std::pair<std::string, std::string>> behind = {
      {"avgOffsetsBehindLatest", "30.0"}, {"maxOffsetsBehindLatest", "45"}, {"minOffsetsBehindLatest", "15"}};
  BOOST_TEST((first.metrics == behind));
  BOOST_TEST(reports[0].json().find("\"metrics\":{\"avgOffsetsBehindLatest\":\"30.0\"") != std::string::npos);
  BOOST_TEST(reports[2].sources[0].metrics[1].second == "0");  // caught up
}
