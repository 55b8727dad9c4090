#define BOOST_TEST_MODULE kafka_sink
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <cstdlib>
#include <random>

#include "io/kafka_dev_broker.hpp"
#include "io/kafka_sink.hpp"
#include "tests/support/kafka_test_support.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using sluice::testing::TemporaryDirectory;

namespace {

std::unique_ptr<kafka::DevBroker> start_broker() {
  auto broker = kafka::DevBroker::start(1);
  BOOST_REQUIRE_MESSAGE(broker.ok(), broker.status().to_string());
  return std::move(*broker);
}

SchemaPtr input_schema() {
  return Schema::make({{"id", Type::Int64}, {"name", Type::String}, {"dest", Type::String}}).value();
}

std::vector<std::string> values(const std::vector<testing::KafkaRecord>& records) {
  std::vector<std::string> out;
  for (const auto& record : records) out.push_back(record.value);
  std::sort(out.begin(), out.end());
  return out;
}

// Writes epochs of rows through a query into topic "out", in the given sink mode.
std::vector<testing::KafkaRecord> run_query(const kafka::DevBroker& broker, bool exactly_once) {
  Session session;
  MemoryStream input(session, input_schema());
  auto query = input.to_df()
                   .select(col("id").cast(Type::String).alias("key"), concat({lit("name="), col("name")}).alias("value"))
                   .write_stream()
                   .format("kafka")
                   .option("kafka.bootstrap.servers", broker.bootstrap_servers())
                   .option("topic", "out")
                   .option("exactlyOnce", exactly_once ? "true" : "false")
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::vector<Value>> rows;
    for (int i = 0; i < 4; ++i) rows.push_back({Value(int64_t{epoch * 10 + i}), Value("n" + std::to_string(epoch * 10 + i)), Value()});
    BOOST_REQUIRE(input.add_data(rows).is_ok());
    auto processed = query->process_all_available();
    BOOST_REQUIRE_MESSAGE(processed.is_ok(), processed.to_string());
  }
  BOOST_REQUIRE(query->stop().is_ok());
  return testing::read_topic(broker.bootstrap_servers(), "out");
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_epoch_marker_round_trips_and_decides_replays) {
  BOOST_TEST(kafka_epoch_marker_metadata(7) == "sluice-epoch:7");
  BOOST_TEST(parse_kafka_epoch_marker(8, "sluice-epoch:7").value() == 7);
  // No committed offset (librdkafka reports -1001), someone else's metadata, a mismatch.
  BOOST_TEST(!parse_kafka_epoch_marker(-1001, "").has_value());
  BOOST_TEST(!parse_kafka_epoch_marker(8, "other").has_value());
  BOOST_TEST(!parse_kafka_epoch_marker(9, "sluice-epoch:7").has_value());
  BOOST_TEST(!parse_kafka_epoch_marker(8, "sluice-epoch:7x").has_value());
  // Recovery: an epoch at or before the marker reached Kafka; later ones did not.
  BOOST_TEST(kafka_epoch_already_written(7, int64_t{7}));
  BOOST_TEST(kafka_epoch_already_written(3, int64_t{7}));
  BOOST_TEST(!kafka_epoch_already_written(8, int64_t{7}));
  BOOST_TEST(!kafka_epoch_already_written(0, std::nullopt));
}

BOOST_AUTO_TEST_CASE(each_epoch_is_one_transaction_and_every_row_arrives_once) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("out", 2).is_ok());
  auto records = run_query(*broker, true);
  std::vector<std::string> expected;
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (int i = 0; i < 4; ++i) expected.push_back("name=n" + std::to_string(epoch * 10 + i));
  }
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(values(records) == expected);
  for (const auto& record : records) BOOST_TEST(record.value == "name=n" + record.key);
}

BOOST_AUTO_TEST_CASE(the_idempotent_mode_writes_the_same_rows) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("out", 1).is_ok());
  auto records = run_query(*broker, false);
  BOOST_TEST(records.size() == 12u);
  // One partition: the order of the rows is kept.
  for (size_t i = 1; i < records.size(); ++i) BOOST_TEST(records[i].offset > records[i - 1].offset);
}

BOOST_AUTO_TEST_CASE(a_topic_column_routes_rows) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("red", 1).is_ok());
  BOOST_REQUIRE(broker->create_topic("blue", 1).is_ok());
  Session session;
  MemoryStream input(session, input_schema());
  auto query = input.to_df()
                   .select(col("dest").alias("topic"), col("name").alias("value"))
                   .write_stream()
                   .format("kafka")
                   .option("kafka.bootstrap.servers", broker->bootstrap_servers())
                   .option("epochMarkerTopic", "red")
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data({{Value(int64_t{1}), Value("a"), Value("red")},
                                {Value(int64_t{2}), Value("b"), Value("blue")},
                                {Value(int64_t{3}), Value("c"), Value("red")}})
                    .is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->stop().is_ok());
  BOOST_TEST((values(testing::read_topic(broker->bootstrap_servers(), "red")) == std::vector<std::string>{"a", "c"}));
  BOOST_TEST((values(testing::read_topic(broker->bootstrap_servers(), "blue")) == std::vector<std::string>{"b"}));
}

BOOST_AUTO_TEST_CASE(wrong_columns_and_options_are_refused_at_start) {
  auto broker = start_broker();
  Session session;
  MemoryStream input(session, input_schema());
  auto start = [&](DataFrame frame, std::map<std::string, std::string> options) {
    auto query = frame.write_stream().format("kafka").options(options).start();
    BOOST_REQUIRE(!query.ok());
    return query.status().message();
  };
  const std::map<std::string, std::string> good = {{"kafka.bootstrap.servers", broker->bootstrap_servers()}, {"topic", "out"}};
  BOOST_TEST(start(input.to_df(), good).find("needs a 'value' column of type STRING; the query produces: id, name, dest") !=
             std::string::npos);
  BOOST_TEST(start(input.to_df().select(col("id").alias("value")), good).find("'value' column must be STRING, it is BIGINT") !=
             std::string::npos);
  auto options = good;
  options["kafka.transactional.id"] = "mine";
  BOOST_TEST(start(input.to_df().select(col("name").alias("value")), options).find("set by the kafka sink itself") != std::string::npos);
  BOOST_TEST(start(input.to_df().select(col("name").alias("value")), {{"kafka.bootstrap.servers", "x:1"}})
                 .find("needs option epochMarkerTopic") != std::string::npos);
  options = good;
  options["exactlyonce"] = "true";
  BOOST_TEST(start(input.to_df().select(col("name").alias("value")), options).find("did you mean 'exactlyOnce'") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_permanent_delivery_error_stops_the_query_naming_topic_and_cause) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("out", 1).is_ok());
  Session session;
  MemoryStream input(session, input_schema());
  TemporaryDirectory checkpoint;
  auto query = input.to_df()
                   .select(col("name").alias("value"))
                   .write_stream()
                   .format("kafka")
                   .option("kafka.bootstrap.servers", broker->bootstrap_servers())
                   .option("kafka.message.max.bytes", "1000")
                   .option("topic", "out")
                   .option("checkpointLocation", checkpoint.path())
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data({{Value(int64_t{1}), Value(std::string(5000, 'x')), Value()}}).is_ok());
  auto processed = query->process_all_available();
  BOOST_REQUIRE(!processed.is_ok());
  BOOST_TEST(processed.message().find("topic out") != std::string::npos);
  BOOST_TEST(processed.message().find("too large") != std::string::npos);
  BOOST_TEST(testing::read_topic(broker->bootstrap_servers(), "out").empty());
  BOOST_TEST(!query->last_progress().has_value());  // no epoch committed
}

// What the mock cluster cannot show (it does not store transactional offset commits): a second
// run of the same query finds the marker of the epoch the first run committed to Kafka and does
// not write that epoch again. Runs against a real broker named by SLUICE_TEST_KAFKA.
BOOST_AUTO_TEST_CASE(a_replayed_epoch_that_reached_kafka_is_not_written_again) {
  const char* bootstrap = std::getenv("SLUICE_TEST_KAFKA");
  if (bootstrap == nullptr) {
    BOOST_TEST_MESSAGE("skipped: set SLUICE_TEST_KAFKA=host:port of a real Kafka broker to run this test");
    return;
  }
  const std::string topic = "sluice-replay-" + std::to_string(std::random_device()());
  auto options = KafkaSinkOptions::parse({{"kafka.bootstrap.servers", bootstrap}, {"topic", topic}}).value();
  auto schema = Schema::make({{"value", Type::String}}).value();
  auto batch = RecordBatch::from_rows(schema, {{Value("a")}, {Value("b")}}).value();
  const ConnectorContext context{"replay-test-" + topic, ""};
  {
    auto sink = KafkaSink::make(options, schema).value();
    BOOST_REQUIRE(sink->attach(context).is_ok());
    BOOST_REQUIRE(sink->write(0, batch).is_ok());
    BOOST_REQUIRE(sink->finish_epoch(0).is_ok());  // the crash comes before the checkpoint commit
  }
  auto restarted = KafkaSink::make(options, schema).value();
  BOOST_REQUIRE(restarted->attach(context).is_ok());
  BOOST_TEST(restarted->recovered_marker().value() == 0);
  BOOST_REQUIRE(restarted->write(0, batch).is_ok());
  BOOST_REQUIRE(restarted->finish_epoch(0).is_ok());
  BOOST_TEST(testing::read_topic(bootstrap, topic).size() == 2u);
}

// Epochs overlap upstream, so rows of later epochs reach the sink before earlier epochs
// finish, and an epoch may have no rows at all: each transaction still holds exactly its epoch.
BOOST_AUTO_TEST_CASE(overlapping_and_empty_epochs_each_get_their_own_transaction) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("out", 1).is_ok());
  auto options = KafkaSinkOptions::parse({{"kafka.bootstrap.servers", broker->bootstrap_servers()}, {"topic", "out"}});
  BOOST_REQUIRE(options.ok());
  auto schema = Schema::make({{"value", Type::String}}).value();
  auto rows = [&](std::vector<std::string> values) {
    std::vector<std::vector<Value>> table;
    for (auto& value : values) table.push_back({Value(value)});
    return RecordBatch::from_rows(schema, table).value();
  };
  auto sink = KafkaSink::make(*options, schema).value();
  BOOST_REQUIRE(sink->attach(ConnectorContext{"overlap-test", ""}).is_ok());
  BOOST_REQUIRE(sink->write(0, rows({"e0a"})).is_ok());
  BOOST_REQUIRE(sink->write(1, rows({"e1a"})).is_ok());  // epoch 1 reads while 0 finishes
  BOOST_REQUIRE(sink->write(0, rows({"e0b"})).is_ok());
  BOOST_REQUIRE(sink->finish_epoch(0).is_ok());
  BOOST_REQUIRE(sink->write(1, rows({"e1b"})).is_ok());
  BOOST_REQUIRE(sink->finish_epoch(1).is_ok());
  BOOST_REQUIRE(sink->write(3, rows({"e3a"})).is_ok());  // epoch 2 has no rows at all
  Status empty = sink->finish_epoch(2);
  BOOST_REQUIRE_MESSAGE(empty.is_ok(), empty.to_string());
  BOOST_REQUIRE(sink->finish_epoch(3).is_ok());
  auto records = testing::read_topic(broker->bootstrap_servers(), "out");
  std::vector<std::string> in_order;
  for (const auto& record : records) in_order.push_back(record.value);
  // One partition: the order of the rows is the order of the epochs.
  BOOST_TEST((in_order == std::vector<std::string>{"e0a", "e0b", "e1a", "e1b", "e3a"}));
}
