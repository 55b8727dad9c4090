#define BOOST_TEST_MODULE kafka_partition_discovery
#include <boost/test/unit_test.hpp>

#include <map>
#include <random>

#include "io/kafka_partition_discovery.hpp"

// The rules that turn a broker's metadata listing into the next epoch's offset ranges, without
// a broker (librdkafka 2.0.2's mock cannot add partitions to a topic): a topic grows from 2 to 5
// partitions between epochs; known partitions go on where they ended, new ones start at their
// earliest offset; the list saved with the offsets log maps a replay and a restart to the same
// topic partitions, so they read the same ranges.

using namespace sluice;
using sluice::kafka::TopicPartition;

namespace {

// One epoch as the offsets log records it: the partition list (source metadata) and, in its
// order, each partition's start and end.
struct LoggedEpoch {
  std::string partitions;
  SourceOffset start;
  SourceOffset end;
};

// A broker as the test imagines it: partition counts, and per partition its earliest and
// latest offsets.
struct Cluster {
  std::map<std::string, int> listing;
  std::map<TopicPartition, std::pair<int64_t, int64_t>> marks;
};

// The source's side, as KafkaSource does it: its partition list and their initial offsets.
struct SourcePartitions {
  std::vector<TopicPartition> partitions;
  SourceOffset initial;

  void discover(const Cluster& cluster, const kafka::Subscription& subscription) {
    auto discovered = kafka::discover_partitions(partitions, cluster.listing, subscription);
    BOOST_REQUIRE_MESSAGE(discovered.ok(), discovered.status().to_string());
    for (const auto& tp : discovered->found) {
      partitions.push_back(tp);
      initial.push_back(cluster.marks.at(tp).first);  // read from earliest
    }
  }

  // Plans the next epoch after `previous_end` up to the latest offsets, and logs it.
  LoggedEpoch plan(const Cluster& cluster, const SourceOffset& previous_end) const {
    LoggedEpoch epoch;
    epoch.partitions = kafka::encode_partition_list(partitions);
    epoch.start = kafka::next_epoch_start(previous_end, initial);
    for (const auto& tp : partitions)
      epoch.end.push_back(cluster.marks.at(tp).second);
    return epoch;
  }
};

// The records of an epoch, named by topic partition and offset, as a replay would read them.
std::vector<std::string> records_of(const LoggedEpoch& epoch,
                                    const std::vector<TopicPartition>& partitions) {
  std::vector<std::string> records;
  for (size_t p = 0; p < epoch.end.size(); ++p) {
    const int64_t from = p < epoch.start.size() ? epoch.start[p] : epoch.end[p];
    for (int64_t offset = from; offset < epoch.end[p]; ++offset) {
      records.push_back(partitions[p].topic + "/" + std::to_string(partitions[p].partition) + "@" +
                        std::to_string(offset));
    }
  }
  return records;
}

std::vector<TopicPartition> decoded(const std::string& saved) {
  auto list = kafka::decode_partition_list(saved);
  BOOST_REQUIRE_MESSAGE(list.ok(), list.status().to_string());
  return *list;
}

}  // namespace

BOOST_AUTO_TEST_CASE(
    a_topic_growing_from_two_to_five_partitions_is_read_once_across_a_replay_and_a_restart) {
  const unsigned seed = std::random_device()();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937 random(seed);
  auto records = [&](int64_t low) {
    return std::make_pair(low, low + 1 + static_cast<int64_t>(random() % 20));
  };
  const kafka::Subscription subscription{{"clicks"}, ""};
  Cluster cluster;
  cluster.listing = {{"clicks", 2}, {"other", 3}};
  cluster.marks = {{{"clicks", 0}, records(0)}, {{"clicks", 1}, records(0)}};
  SourcePartitions source;
  source.discover(cluster, subscription);
  BOOST_TEST(source.partitions.size() == 2u);  // "other" is not subscribed

  const LoggedEpoch first = source.plan(cluster, {});
  std::vector<std::string> read = records_of(first, source.partitions);

  // The topic grows to five partitions; the third lost its first records to retention already.
  cluster.listing["clicks"] = 5;
  for (int32_t p : {2, 3, 4})
    cluster.marks[{"clicks", p}] = records(p == 3 ? 7 : 0);
  for (int32_t p : {0, 1})
    cluster.marks[{"clicks", p}].second += 5;
  source.discover(cluster, subscription);
  const std::vector<TopicPartition> five = {
      {"clicks", 0}, {"clicks", 1}, {"clicks", 2}, {"clicks", 3}, {"clicks", 4}};
  BOOST_TEST((source.partitions == five));
  const LoggedEpoch second = source.plan(cluster, first.end);
  BOOST_TEST(second.start[0] == first.end[0]);  // known partitions go on where they ended
  BOOST_TEST(second.start[1] == first.end[1]);
  BOOST_TEST(second.start[2] == 0);  // new ones from their earliest offset
  BOOST_TEST(second.start[3] == 7);
  BOOST_TEST(second.start[4] == 0);
  const std::vector<std::string> second_records = records_of(second, source.partitions);
  read.insert(read.end(), second_records.begin(), second_records.end());

  // The second epoch failed before its commit: after a restart, a new source lists the
  // partitions as the broker does now (one more topic matching nothing, the same five), and
  // takes the logged order; the replay reads the logged ranges, the same records.
  cluster.listing["later"] = 1;
  SourcePartitions restarted;
  restarted.discover(cluster, subscription);
  restarted.partitions =
      kafka::merge_partition_order(decoded(second.partitions), restarted.partitions);
  BOOST_TEST((restarted.partitions == five));
  BOOST_TEST(records_of(second, restarted.partitions) == second_records);

  // A restart after a topic grew again while the query was stopped: the logged partitions keep
  // their places (their offsets are in that order) and the new ones follow, from earliest.
  cluster.listing["clicks"] = 7;
  for (int32_t p : {5, 6})
    cluster.marks[{"clicks", p}] = records(0);
  SourcePartitions again;
  again.discover(cluster, subscription);
  std::reverse(again.partitions.begin(), again.partitions.end());  // any order the broker gives
  std::reverse(again.initial.begin(), again.initial.end());
  const auto order = kafka::merge_partition_order(decoded(second.partitions), again.partitions);
  BOOST_TEST(std::vector<TopicPartition>(order.begin(), order.begin() + 5) == five);
  BOOST_TEST((order[5] == TopicPartition{"clicks", 6}));
  BOOST_TEST((order[6] == TopicPartition{"clicks", 5}));
  SourcePartitions resumed;
  resumed.partitions = order;
  for (const auto& tp : order)
    resumed.initial.push_back(cluster.marks.at(tp).first);
  const LoggedEpoch third = resumed.plan(cluster, second.end);
  BOOST_TEST(std::vector<int64_t>(third.start.begin(), third.start.begin() + 5) == second.end);
  const std::vector<std::string> third_records = records_of(third, resumed.partitions);
  read.insert(read.end(), third_records.begin(), third_records.end());

  // Every record of the topic, read once.
  std::vector<std::string> expected;
  for (const auto& [tp, marks] : cluster.marks) {
    for (int64_t offset = marks.first; offset < marks.second; ++offset) {
      expected.push_back(tp.topic + "/" + std::to_string(tp.partition) + "@" +
                         std::to_string(offset));
    }
  }
  std::sort(read.begin(), read.end());
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(read == expected);
}

BOOST_AUTO_TEST_CASE(
    a_pattern_finds_new_topics_and_a_listing_without_a_known_topic_reports_it_deleted) {
  const std::vector<TopicPartition> known = {{"events-a", 0}, {"events-a", 1}, {"events-b", 0}};
  auto discovered = kafka::discover_partitions(
      known, {{"events-a", 2}, {"events-c", 2}, {"audit", 1}}, {{}, "events-.*"});
  BOOST_REQUIRE(discovered.ok());
  const std::vector<TopicPartition> found = {{"events-c", 0}, {"events-c", 1}};
  BOOST_TEST((discovered->found == found));
  BOOST_TEST((discovered->deleted == std::set<std::string>{"events-b"}));
  auto bad = kafka::discover_partitions(known, {}, {{}, "events-("});
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.status().message().find("subscribePattern 'events-('") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_saved_partition_list_round_trips_and_bad_text_is_named_corrupt) {
  const std::vector<TopicPartition> partitions = {{"a \"quoted\" topic", 3}, {"b", 0}};
  BOOST_TEST((decoded(kafka::encode_partition_list(partitions)) == partitions));
  BOOST_TEST(decoded("[]").empty());
  for (const std::string bad : {"", "{}", "[[\"a\"]]", "[[\"a\",-1]]", "[[1,2]]", "[[\"a\",0]"}) {
    auto list = kafka::decode_partition_list(bad);
    BOOST_REQUIRE_MESSAGE(!list.ok(), bad);
    BOOST_TEST(list.status().message().find("partitions in the checkpoint are not readable") !=
               std::string::npos);
  }
}
