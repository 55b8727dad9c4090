#define BOOST_TEST_MODULE nexmark_kafka_events
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <set>

#include "bench/nexmark/kafka_events.hpp"
#include "io/kafka_dev_broker.hpp"

using namespace sluice;
using namespace sluice::nexmark;

BOOST_AUTO_TEST_CASE(json_records_in_kafka_parse_back_into_the_generated_bids) {
  auto broker = kafka::DevBroker::start();
  BOOST_REQUIRE_MESSAGE(broker.ok(), broker.status().to_string());
  BOOST_REQUIRE((*broker)->create_topic("nexmark", 2).is_ok());
  GeneratorConfig config;
  config.seed = 3;
  auto generator = Generator::make(config).value();
  const int64_t events = 5000;
  const Status produced =
      produce_events(*generator, (*broker)->bootstrap_servers(), "nexmark", 0, events);
  BOOST_REQUIRE_MESSAGE(produced.is_ok(), produced.to_string());

  Session session;
  auto bids = session.read_stream()
                  .format("kafka")
                  .option("kafka.bootstrap.servers", (*broker)->bootstrap_servers())
                  .option("subscribe", "nexmark")
                  .option("startingOffsets", "earliest")
                  .load()
                  .select(from_json(col("value"), json_record_schema()).alias("e"))
                  .filter(col("e.event_type") == 2)
                  .select(col("e.auction"), col("e.bidder"), col("e.price"), col("e.channel"),
                          col("e.url"), col("e.date_time"), col("e.extra"));
  auto query = bids.write_stream().format("memory").query_name("bids").start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->stop().is_ok());

  auto row_text = [](const std::vector<Value>& row) {
    std::string text;
    for (const auto& value : row)
      text += value.to_string() + "|";
    return text;
  };
  std::multiset<std::string> read, expected;
  for (const auto& row : session.memory_table("bids")->rows())
    read.insert(row_text(row));
  auto batch = generator->make_batch(EventKind::bid, 0, events);
  for (int64_t r = 0; r < batch->num_rows(); ++r) {
    std::vector<Value> row;
    for (int c = 0; c < batch->num_columns(); ++c)
      row.push_back(batch->column(c)->value_at(r));
    expected.insert(row_text(row));
  }
  BOOST_TEST(read.size() == 4600u);
  BOOST_TEST((read == expected));
}
