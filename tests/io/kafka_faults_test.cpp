#define BOOST_TEST_MODULE kafka_faults
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include "io/kafka_dev_broker.hpp"
#include "tests/support/kafka_test_support.hpp"
#include "tests/support/temporary_directory.hpp"

// Broker faults injected through the mock cluster while a query consumes (and produces): the
// query keeps going or recovers, and every record arrives exactly once.

using namespace sluice;
using namespace std::chrono_literals;
using sluice::testing::TemporaryDirectory;

namespace {

// Kafka protocol API keys (Kafka's own numbering).
constexpr int16_t kProduce = 0;
constexpr int16_t kFetch = 1;
constexpr int16_t kListOffsets = 2;

class Feed {
 public:
  explicit Feed(const kafka::DevBroker& broker) : broker_(broker) {}
  void produce(int count) {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = 0; i < count; ++i, ++next_) {
      records.emplace_back("k" + std::to_string(next_ % 13), "v" + std::to_string(next_));
      expected_.push_back("v" + std::to_string(next_));
    }
    testing::produce_records(broker_.bootstrap_servers(), "in", records);
  }
  std::vector<std::string> expected() const {
    auto sorted = expected_;
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  }

 private:
  const kafka::DevBroker& broker_;
  int next_ = 0;
  std::vector<std::string> expected_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(slow_brokers_request_errors_and_leader_changes_lose_and_double_nothing) {
  auto started = kafka::DevBroker::start(3);
  BOOST_REQUIRE(started.ok());
  kafka::DevBroker& broker = **started;
  BOOST_REQUIRE(broker.create_topic("in", 4, 3).is_ok());
  BOOST_REQUIRE(broker.create_topic("out", 2, 3).is_ok());
  TemporaryDirectory checkpoint;
  Session session;
  auto query = session.read_stream()
                   .format("kafka")
                   .option("kafka.bootstrap.servers", broker.bootstrap_servers())
                   .option("subscribe", "in")
                   .option("startingOffsets", "earliest")
                   .load()
                   .select(col("value"), col("key"))
                   .write_stream()
                   .format("kafka")
                   .option("kafka.bootstrap.servers", broker.bootstrap_servers())
                   .option("topic", "out")
                   .option("checkpointLocation", checkpoint.path())
                   .trigger(Trigger::ProcessingTime(10ms))
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  Feed feed(broker);
  auto round = [&](const std::string& fault) {
    feed.produce(150);
    Status processed = query->process_all_available();
    BOOST_REQUIRE_MESSAGE(processed.is_ok(), fault + ": " + processed.to_string());
  };

  round("no fault");
  BOOST_REQUIRE(broker.set_broker_rtt(1, 80).is_ok());
  BOOST_REQUIRE(broker.set_broker_rtt(2, 80).is_ok());
  round("slow brokers");
  BOOST_REQUIRE(broker.set_broker_rtt(1, 0).is_ok());
  BOOST_REQUIRE(broker.set_broker_rtt(2, 0).is_ok());

  broker.push_request_errors(kFetch, {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION});
  broker.push_request_errors(kListOffsets, {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT});
  broker.push_request_errors(kProduce, {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT});
  round("request errors");

  for (int32_t partition = 0; partition < 4; ++partition) {
    BOOST_REQUIRE(broker.set_partition_leader("in", partition, 1 + (partition + 1) % 3).is_ok());
  }
  BOOST_REQUIRE(broker.set_partition_leader("out", 0, 3).is_ok());
  round("leader change");


  BOOST_REQUIRE(query->stop().is_ok());
  BOOST_TEST(!query->exception().has_value());
  // Every record read once into the results: the sink wrote each input record once (the mock
  // would show an aborted transaction's records too, so a doubled record here would be seen).
  std::vector<std::string> written;
  for (const auto& record : testing::read_topic(broker.bootstrap_servers(), "out")) written.push_back(record.value);
  std::sort(written.begin(), written.end());
  BOOST_TEST(written == feed.expected());
}

BOOST_AUTO_TEST_CASE(a_broker_down_and_back_loses_and_doubles_nothing) {
  auto started = kafka::DevBroker::start(3);
  BOOST_REQUIRE(started.ok());
  kafka::DevBroker& broker = **started;
  BOOST_REQUIRE(broker.create_topic("in", 4, 3).is_ok());
  TemporaryDirectory checkpoint;
  Session session;
  auto query = session.read_stream()
                   .format("kafka")
                   .option("kafka.bootstrap.servers", broker.bootstrap_servers())
                   .option("kafka.reconnect.backoff.max.ms", "200")
                   .option("subscribe", "in")
                   .option("startingOffsets", "earliest")
                   .load()
                   .select(col("value"))
                   .write_stream()
                   .format("memory")
                   .query_name("down")
                   .option("checkpointLocation", checkpoint.path())
                   .trigger(Trigger::ProcessingTime(10ms))
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  Feed feed(broker);
  feed.produce(100);
  BOOST_REQUIRE(query->process_all_available().is_ok());
  // The broker goes away while the query runs, and comes back.
  BOOST_REQUIRE(broker.set_broker_down(2).is_ok());
  BOOST_REQUIRE(query->await_termination(300ms) == false);  // still running meanwhile
  BOOST_REQUIRE(broker.set_broker_up(2).is_ok());
  feed.produce(100);
  Status processed = query->process_all_available();
  BOOST_REQUIRE_MESSAGE(processed.is_ok(), processed.to_string());
  BOOST_REQUIRE(query->stop().is_ok());
  std::vector<std::string> values;
  for (const auto& row : session.memory_table("down")->rows()) values.push_back(row[0].as_string());
  std::sort(values.begin(), values.end());
  BOOST_TEST(values == feed.expected());
}
