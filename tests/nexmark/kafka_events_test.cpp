#define BOOST_TEST_MODULE nexmark_kafka_events
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <map>
#include <set>

#include "bench/nexmark/kafka_events.hpp"
#include "bench/nexmark/queries.hpp"
#include "io/kafka_dev_broker.hpp"

using namespace sluice;
using namespace sluice::nexmark;

namespace {

// A development broker with a two-partition topic "nexmark", and a generator of that seed.
struct BrokerAndGenerator {
  std::unique_ptr<kafka::DevBroker> broker;
  std::shared_ptr<const Generator> generator;
};

BrokerAndGenerator start_broker(GeneratorConfig config) {
  auto broker = kafka::DevBroker::start();
  BOOST_REQUIRE_MESSAGE(broker.ok(), broker.status().to_string());
  BOOST_REQUIRE((*broker)->create_topic("nexmark", 2).is_ok());
  return {std::move(*broker), Generator::make(config).value()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(json_records_in_kafka_parse_back_into_the_generated_bids) {
  auto [broker, generator] = start_broker(GeneratorConfig{.seed = 3});
  const int64_t events = 5000;
  const Status produced =
      produce_events(*generator, broker->bootstrap_servers(), "nexmark", 0, events);
  BOOST_REQUIRE_MESSAGE(produced.is_ok(), produced.to_string());

  Session session;
  auto bids = session.read_stream()
                  .format("kafka")
                  .option("kafka.bootstrap.servers", broker->bootstrap_servers())
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

// The Kafka variant of the benchmark: a query over the streams read from JSON records gives
// the rows it gives over the in-process generator (q3 joins two of the streams; q7 reads the
// bids twice).
BOOST_AUTO_TEST_CASE(queries_over_the_kafka_streams_equal_those_over_the_generator) {
  auto broker = kafka::DevBroker::start();
  BOOST_REQUIRE_MESSAGE(broker.ok(), broker.status().to_string());
  BOOST_REQUIRE((*broker)->create_topic("nexmark", 2).is_ok());
  GeneratorConfig config;
  config.seed = 5;
  config.first_event_rate = 1000;  // 30 s of event time: q7's windows close
  auto generator = Generator::make(config).value();
  const int64_t events = 30'000;
  const Status produced =
      produce_events(*generator, (*broker)->bootstrap_servers(), "nexmark", 0, events);
  BOOST_REQUIRE_MESSAGE(produced.is_ok(), produced.to_string());

  for (const char* name : {"q3", "q7"}) {
    const Query& query = *find_query(name).value();
    auto rows_of = [&](bool from_kafka) {
      Session session;
      Streams streams =
          from_kafka ? read_kafka_streams(session, (*broker)->bootstrap_servers(), "nexmark")
                     : read_streams(session, {{"seed", "5"},
                                              {"firstEventRate", "1000"},
                                              {"maxEvents", std::to_string(events)}});
      auto started = query.dataframe(streams).write_stream().format("memory").query_name(name)
                         .output_mode(query.mode).start();
      BOOST_REQUIRE_MESSAGE(started.ok(), started.status().to_string());
      BOOST_REQUIRE(started->process_all_available().is_ok());
      BOOST_REQUIRE(started->stop().is_ok());
      std::multiset<std::string> rows;
      for (const auto& row : session.memory_table(name)->rows()) {
        std::string text;
        for (const auto& value : row) text += value.to_string() + "|";
        rows.insert(text);
      }
      return rows;
    };
    const auto from_kafka = rows_of(true);
    const auto from_generator = rows_of(false);
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(!from_generator.empty());
      BOOST_TEST(from_kafka.size() == from_generator.size());
      BOOST_TEST((from_kafka == from_generator));
    }
  }
}

// q12 from Kafka windows the bids by the time the query read them (the session's manual clock
// here): the bids produced before the clock moves fill one window, closed once bids read in
// the next window move the watermark; their counts per bidder are the generator's.
BOOST_AUTO_TEST_CASE(q12_from_kafka_counts_bids_per_bidder_by_the_time_they_were_read) {
  auto [broker, generator] = start_broker(GeneratorConfig{.seed = 7});
  const int64_t first_round = 4000, events = 5000;
  BOOST_REQUIRE(
      produce_events(*generator, broker->bootstrap_servers(), "nexmark", 0, first_round).is_ok());

  Session session;
  constexpr int64_t kStart = 1'800'000'000'000'000;  // µs, a multiple of 10 s
  auto clock = std::make_shared<ManualClock>(kStart);
  session.state()->set_clock(clock);
  const Query& query = *find_query("q12").value();
  Streams streams = read_kafka_streams(session, broker->bootstrap_servers(), "nexmark", 0, true);
  auto started = query.dataframe(streams)
                     .write_stream()
                     .format("memory")
                     .query_name("q12")
                     .output_mode(query.mode)
                     .start();
  BOOST_REQUIRE_MESSAGE(started.ok(), started.status().to_string());
  BOOST_REQUIRE(started->process_all_available().is_ok());
  clock->advance_micros(10'000'000);
  BOOST_REQUIRE(
      produce_events(*generator, broker->bootstrap_servers(), "nexmark", first_round, events)
          .is_ok());
  BOOST_REQUIRE(started->process_all_available().is_ok());
  BOOST_REQUIRE(started->process_all_available().is_ok());
  BOOST_REQUIRE(started->stop().is_ok());

  std::map<int64_t, int64_t> want;  // bidder -> bids of the first round
  const RecordBatchPtr bids = generator->make_batch(EventKind::bid, 0, first_round);
  const int bidder = bids->schema()->find("bidder");
  for (int64_t r = 0; r < bids->num_rows(); ++r)
    ++want[bids->column(bidder)->values<int64_t>()[r]];
  std::map<int64_t, int64_t> actual;
  for (const auto& row : session.memory_table("q12")->rows()) {
    BOOST_TEST(row[2].as_timestamp().micros == kStart);  // the first window only
    actual[row[0].as_int64()] += row[1].as_int64();
  }
  BOOST_TEST(!want.empty());
  BOOST_TEST((actual == want));
}
