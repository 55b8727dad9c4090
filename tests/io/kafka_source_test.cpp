#define BOOST_TEST_MODULE kafka_source
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>
#include <sluice/testing.hpp>

#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <random>

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

namespace {

// Starts a query that copies value, topic and partition of every record into memory table
// `name`; with `restarts`, it restarts itself from its checkpoint when an epoch fails.
StreamingQuery start_copy(Session& session, const std::map<std::string, std::string>& options,
                          const std::string& checkpoint, const std::string& name,
                          bool restarts = true) {
  auto query = session.read_stream()
                   .format("kafka")
                   .options(options)
                   .load()
                   .select(col("value"), col("topic"), col("partition"))
                   .write_stream()
                   .format("memory")
                   .query_name(name)
                   .option("checkpointLocation", checkpoint)
                   .option("restart.strategy", restarts ? "fixed-delay" : "none")
                   .option("restart.attempts", "2")
                   .option("restart.delay", "10 ms")
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  return std::move(*query);
}

std::vector<std::string> values_in(Session& session, const std::string& name) {
  std::vector<std::string> values;
  for (const auto& row : session.memory_table(name)->rows())
    values.push_back(row[0].as_string());
  return values;
}

// Options of a source reading every topic matching `pattern`, resolved again at every trigger.
std::map<std::string, std::string> pattern_options(const kafka::DevBroker& broker,
                                                   const std::string& pattern,
                                                   const std::string& starting_offsets) {
  return {{"kafka.bootstrap.servers", broker.bootstrap_servers()},
          {"subscribePattern", pattern},
          {"startingOffsets", starting_offsets},
          {"partitionDiscoveryInterval", "0 seconds"}};
}

void produce(const kafka::DevBroker& broker, const std::string& topic, const std::string& prefix,
             int count, std::vector<std::string>& expected) {
  auto records = numbered(prefix, 0, count);
  testing::produce_records(broker.bootstrap_servers(), topic, records);
  for (const auto& record : records)
    expected.push_back(record.second);
}

}  // namespace

// librdkafka 2.0.2's mock cluster cannot add partitions to a topic (it answers no
// CreatePartitions request), so new topics matching the pattern stand for new partitions here:
// both are partitions the subscription gains while the query runs. A real broker
// (SLUICE_TEST_KAFKA) shows partitions added to a topic in the next test.
BOOST_AUTO_TEST_CASE(
    topics_created_while_running_are_read_from_their_start_once_across_a_failed_epoch_and_a_restart) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("events-a", 2).is_ok());
  std::vector<std::string> skipped;
  produce(*broker, "events-a", "before-start-", 10, skipped);  // startingOffsets=latest skips these
  TemporaryDirectory checkpoint;
  const auto options = pattern_options(*broker, "events-.*", "latest");
  std::vector<std::string> expected;
  std::vector<std::string> seen;
  {
    Session session;
    StreamingQuery query = start_copy(session, options, checkpoint.path(), "events");
    produce(*broker, "events-a", "a", 20, expected);
    BOOST_REQUIRE(query.process_all_available().is_ok());
    BOOST_REQUIRE(broker->create_topic("events-b", 3).is_ok());
    BOOST_REQUIRE(broker->create_topic("other", 1).is_ok());  // does not match: never read
    std::vector<std::string> ignored;
    produce(*broker, "other", "other", 5, ignored);
    produce(*broker, "events-b", "b", 30, expected);
    BOOST_REQUIRE(query.process_all_available().is_ok());
    BOOST_TEST(values_in(session, "events").size() == 50u);
    {
      // The epoch that first reads events-c logs its ranges, fails before its commit and is
      // replayed from the offsets log after the restart: the same records, once.
      ScopedFault fault(
          FaultRule{FaultPoint::before_commit, FaultTrigger::nth_hit(1), FaultAction::fail(), 1});
      BOOST_REQUIRE(broker->create_topic("events-c", 2).is_ok());
      produce(*broker, "events-c", "c", 12, expected);
      Status done = query.process_all_available();
      BOOST_REQUIRE_MESSAGE(done.is_ok(), done.to_string());
      BOOST_TEST(fault.fired() == 1);
    }
    BOOST_TEST(query.last_progress()->num_restarts == 1);
    // Seven partitions now: events-a's two, events-b's three, events-c's two.
    const std::string end = query.last_progress()->sources[0].end_offset;
    BOOST_TEST(std::count(end.begin(), end.end(), ',') == 6, end);
    BOOST_TEST(query.stop().is_ok());
    seen = values_in(session, "events");
  }
  // A topic created while the query is stopped, and more records in one found while running.
  BOOST_REQUIRE(broker->create_topic("events-d", 1).is_ok());
  produce(*broker, "events-d", "d", 7, expected);
  produce(*broker, "events-b", "b-again-", 9, expected);
  {
    Session session;
    StreamingQuery query = start_copy(session, options, checkpoint.path(), "events");
    BOOST_REQUIRE(query.process_all_available().is_ok());
    BOOST_TEST(query.stop().is_ok());
    auto second = values_in(session, "events");
    BOOST_TEST(second.size() == 16u);
    seen.insert(seen.end(), second.begin(), second.end());
  }
  std::sort(seen.begin(), seen.end());
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(seen == expected);
}

namespace {

// What a continuous copy query delivered, by epoch: a replayed epoch replaces its rows, so the
// union over epochs holds each record once exactly when the query is exactly-once.
struct EpochRows {
  std::mutex mutex;
  std::map<int64_t, std::vector<std::string>> by_epoch;
  // The first epoch that reads a record of topic `fail_on_topic` fails once, its rows kept here.
  std::string fail_on_topic;
  std::optional<std::pair<int64_t, std::vector<std::string>>> failed;

  std::vector<std::string> all() {
    std::lock_guard lock(mutex);
    std::vector<std::string> values;
    for (const auto& [epoch, rows] : by_epoch)
      values.insert(values.end(), rows.begin(), rows.end());
    return values;
  }
};

StreamingQuery start_continuous_copy(Session& session,
                                     const std::map<std::string, std::string>& options,
                                     const std::string& checkpoint, EpochRows& delivered) {
  auto query =
      session.read_stream()
          .format("kafka")
          .options(options)
          .load()
          .select(col("value"), col("topic"))
          .write_stream()
          .foreach_batch([&delivered](const RecordBatchPtr& batch, int64_t epoch) -> Status {
            std::vector<std::string> values;
            bool fail = false;
            for (const auto& row : batch->to_rows()) {
              values.push_back(row[0].as_string());
              fail = fail || row[1].as_string() == delivered.fail_on_topic;
            }
            std::lock_guard lock(delivered.mutex);
            if (fail && !delivered.failed) {
              delivered.failed.emplace(epoch, std::move(values));
              return Status::io_error("the test fails the first epoch reading " +
                                      delivered.fail_on_topic);
            }
            delivered.by_epoch[epoch] = std::move(values);
            return Status::ok();
          })
          .option("checkpointLocation", checkpoint)
          .option("restart.strategy", "fixed-delay")
          .option("restart.attempts", "2")
          .option("restart.delay", "10 ms")
          .trigger(Trigger::Continuous(std::chrono::milliseconds(10)))
          .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  return std::move(*query);
}

std::vector<std::string> sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace

// The continuous trigger streams partitions found while running (new topics matching the
// pattern; the mock cannot grow a topic) with the source actors it has, from their earliest
// offset, their ranges in the offsets log: an epoch that fails replays exactly what it read,
// and a restart goes on where the log ends.
BOOST_AUTO_TEST_CASE(
    a_continuous_query_reads_topics_created_while_running_once_across_a_failed_epoch_and_a_restart) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("live-a", 2).is_ok());
  TemporaryDirectory checkpoint;
  const auto options = pattern_options(*broker, "live-.*", "earliest");
  std::vector<std::string> expected;
  EpochRows delivered;
  delivered.fail_on_topic = "live-c";
  produce(*broker, "live-a", "a", 20, expected);
  {
    Session session;
    StreamingQuery query = start_continuous_copy(session, options, checkpoint.path(), delivered);
    BOOST_REQUIRE(query.process_all_available().is_ok());
    BOOST_TEST(sorted(delivered.all()) == sorted(expected));
    BOOST_REQUIRE(broker->create_topic("live-b", 3).is_ok());
    BOOST_REQUIRE(broker->create_topic("other", 1).is_ok());  // does not match: never read
    std::vector<std::string> ignored;
    produce(*broker, "other", "other", 5, ignored);
    produce(*broker, "live-b", "b", 30, expected);
    produce(*broker, "live-a", "a-more-", 6, expected);
    Status done = query.process_all_available();
    BOOST_REQUIRE_MESSAGE(done.is_ok(), done.to_string());
    BOOST_TEST(sorted(delivered.all()) == sorted(expected));
    // The first epoch reading live-c fails after its range is logged; the query restarts and
    // replays that epoch from the log.
    BOOST_REQUIRE(broker->create_topic("live-c", 2).is_ok());
    produce(*broker, "live-c", "c", 12, expected);
    done = query.process_all_available();
    BOOST_REQUIRE_MESSAGE(done.is_ok(), done.to_string());
    BOOST_REQUIRE(delivered.failed.has_value());
    BOOST_TEST(query.last_progress()->num_restarts == 1);
    {
      std::lock_guard lock(delivered.mutex);
      const auto& [epoch, rows] = *delivered.failed;
      BOOST_REQUIRE(delivered.by_epoch.count(epoch) == 1u);
      BOOST_TEST(sorted(delivered.by_epoch[epoch]) == sorted(rows),
                 "epoch " << epoch << " replayed");
    }
    BOOST_TEST(sorted(delivered.all()) == sorted(expected));
    BOOST_TEST(query.stop().is_ok());
  }
  // A topic created while the query is stopped, more records in found ones, and a topic created
  // while the restarted query runs.
  BOOST_REQUIRE(broker->create_topic("live-d", 1).is_ok());
  produce(*broker, "live-d", "d", 7, expected);
  produce(*broker, "live-b", "b-again-", 9, expected);
  {
    Session session;
    StreamingQuery query = start_continuous_copy(session, options, checkpoint.path(), delivered);
    Status done = query.process_all_available();
    BOOST_REQUIRE_MESSAGE(done.is_ok(), done.to_string());
    BOOST_REQUIRE(broker->create_topic("live-e", 2).is_ok());
    produce(*broker, "live-e", "e", 11, expected);
    produce(*broker, "live-c", "c-again-", 4, expected);
    done = query.process_all_available();
    BOOST_REQUIRE_MESSAGE(done.is_ok(), done.to_string());
    BOOST_TEST(query.stop().is_ok());
  }
  BOOST_TEST(sorted(delivered.all()) == sorted(expected));
}

// An epoch logged but not committed when the query stopped re-runs after the restart with the
// entry it logged, though a topic matching the pattern appeared meanwhile (the source lists
// more partitions now): the new topic is read from the next epoch on.
BOOST_AUTO_TEST_CASE(an_epoch_logged_before_a_topic_appeared_replays_after_the_restart) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("late-a", 2).is_ok());
  TemporaryDirectory checkpoint;
  std::vector<std::string> expected;
  produce(*broker, "late-a", "a", 10, expected);
  {
    Session session;
    ScopedFault fault(FaultRule{FaultPoint::after_offsets_logged, FaultTrigger::nth_hit(1),
                                FaultAction::fail(), 1});
    StreamingQuery query = start_copy(session, pattern_options(*broker, "late-.*", "earliest"),
                                      checkpoint.path(), "late", false);
    BOOST_REQUIRE(query.await_termination(std::chrono::seconds(30)));
    BOOST_REQUIRE(query.exception().has_value());
    BOOST_TEST(fault.fired() == 1);
  }
  BOOST_REQUIRE(broker->create_topic("late-b", 3).is_ok());
  produce(*broker, "late-b", "b", 9, expected);
  Session session;
  StreamingQuery query = start_copy(session, pattern_options(*broker, "late-.*", "earliest"),
                                    checkpoint.path(), "late");
  Status done = query.process_all_available();
  BOOST_REQUIRE_MESSAGE(done.is_ok(), done.to_string());
  BOOST_TEST(query.stop().is_ok());
  auto seen = values_in(session, "late");
  BOOST_TEST(sorted(seen) == sorted(expected));
}

BOOST_AUTO_TEST_CASE(
    a_topic_deleted_while_running_stops_the_query_naming_it_or_is_skipped_without_fail_on_data_loss) {
  auto broker = start_broker();
  BOOST_REQUIRE(broker->create_topic("keep", 1).is_ok());
  BOOST_REQUIRE(broker->create_topic("gone", 2).is_ok());
  for (const bool fail_on_data_loss : {true, false}) {
    BOOST_TEST_CONTEXT("failOnDataLoss=" << fail_on_data_loss) {
      TemporaryDirectory checkpoint;
      Session session;
      StreamingQuery query = start_copy(session,
                                        {{"kafka.bootstrap.servers", broker->bootstrap_servers()},
                                         {"subscribe", "keep,gone"},
                                         {"startingOffsets", "latest"},
                                         {"partitionDiscoveryInterval", "0 seconds"},
                                         {"failOnDataLoss", fail_on_data_loss ? "true" : "false"}},
                                        checkpoint.path(), "copy", false);
      std::vector<std::string> expected;
      produce(*broker, "keep", "k", 5, expected);
      produce(*broker, "gone", "g", 6, expected);
      BOOST_REQUIRE(query.process_all_available().is_ok());
      BOOST_TEST(values_in(session, "copy").size() == 11u);
      // The mock cannot delete a topic; an error on it in every metadata answer is how a
      // deleted topic looks to a client (it is no longer listed).
      rd_kafka_mock_topic_set_error(broker->cluster(), "gone",
                                    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
      if (fail_on_data_loss) {
        BOOST_REQUIRE(query.await_termination(std::chrono::seconds(30)));
        BOOST_REQUIRE(query.exception().has_value());
        BOOST_TEST(query.exception()->message().find(
                       "Kafka topic gone was deleted while the query read it") != std::string::npos,
                   query.exception()->to_string());
        BOOST_TEST(query.exception()->message().find("failOnDataLoss=false") != std::string::npos);
      } else {
        produce(*broker, "keep", "k-after-", 4, expected);
        BOOST_REQUIRE(query.process_all_available().is_ok());
        auto seen = values_in(session, "copy");
        std::sort(seen.begin(), seen.end());
        std::sort(expected.begin(), expected.end());
        BOOST_TEST(seen == expected);
        const auto& metrics = query.last_progress()->sources[0].metrics;
        BOOST_TEST((std::find(metrics.begin(), metrics.end(),
                              std::pair<std::string, std::string>{"deletedTopics", "gone"}) !=
                    metrics.end()));
        BOOST_TEST(query.stop().is_ok());
      }
      rd_kafka_mock_topic_set_error(broker->cluster(), "gone", RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
}

namespace {

// Grows `topic` to `total` partitions with the Admin API (CreatePartitions).
void add_partitions(const std::string& bootstrap, const std::string& topic, int total) {
  rd_kafka_t* admin =
      testing::make_test_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}});
  char error[512];
  rd_kafka_NewPartitions_t* request =
      rd_kafka_NewPartitions_new(topic.c_str(), static_cast<size_t>(total), error, sizeof error);
  BOOST_REQUIRE_MESSAGE(request != nullptr, error);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin);
  rd_kafka_CreatePartitions(admin, &request, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30'000);
  BOOST_REQUIRE_MESSAGE(event != nullptr, "no answer to CreatePartitions");
  BOOST_TEST(rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR_NO_ERROR,
             rd_kafka_event_error_string(event));
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreatePartitions_result_topics(
      rd_kafka_event_CreatePartitions_result(event), &count);
  BOOST_REQUIRE(count == 1u);
  BOOST_TEST(rd_kafka_topic_result_error(results[0]) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_event_destroy(event);
  rd_kafka_NewPartitions_destroy(request);
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(admin);
}

}  // namespace

// Partitions added to a topic while the query runs are read from their start, once. Runs
// against a real broker named by SLUICE_TEST_KAFKA (the mock cannot add partitions).
BOOST_AUTO_TEST_CASE(partitions_added_to_a_topic_while_running_are_read_once) {
  const char* bootstrap = std::getenv("SLUICE_TEST_KAFKA");
  if (bootstrap == nullptr) {
    BOOST_TEST_MESSAGE(
        "skipped: set SLUICE_TEST_KAFKA=host:port of a real Kafka broker to run this test");
    return;
  }
  const std::string topic = "sluice-grow-" + std::to_string(std::random_device()());
  std::vector<std::string> expected;
  auto records = numbered("first", 0, 10);
  testing::produce_records(bootstrap, topic, records, 0);  // auto-created, one partition here
  for (const auto& record : records)
    expected.push_back(record.second);
  TemporaryDirectory checkpoint;
  Session session;
  StreamingQuery query = start_copy(session,
                                    {{"kafka.bootstrap.servers", bootstrap},
                                     {"subscribe", topic},
                                     {"startingOffsets", "earliest"},
                                     {"partitionDiscoveryInterval", "0 seconds"}},
                                    checkpoint.path(), "grow");
  BOOST_REQUIRE(query.process_all_available().is_ok());
  add_partitions(bootstrap, topic, 3);
  for (int32_t partition : {1, 2}) {
    auto more = numbered("p" + std::to_string(partition) + "-", 0, 8);
    testing::produce_records(bootstrap, topic, more, partition);
    for (const auto& record : more)
      expected.push_back(record.second);
  }
  BOOST_REQUIRE(query.process_all_available().is_ok());
  BOOST_TEST(query.stop().is_ok());
  auto seen = values_in(session, "grow");
  std::sort(seen.begin(), seen.end());
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(seen == expected);
}
