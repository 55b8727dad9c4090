#include "io/kafka_partition_discovery.hpp"

#include <simdjson.h>

#include <algorithm>
#include <regex>

#include "operators/record_parsing.hpp"

namespace sluice::kafka {

Result<DiscoveredPartitions> discover_partitions(const std::vector<TopicPartition>& known,
                                                 const std::map<std::string, int>& listing,
                                                 const Subscription& subscription) {
  std::regex pattern;
  try {
    pattern = std::regex(subscription.pattern.empty() ? std::string(".*") : subscription.pattern);
  } catch (const std::regex_error& error) {
    return Status::invalid_argument("subscribePattern '" + subscription.pattern +
                                    "' is not a regular expression (" + error.what() + ")");
  }
  const std::set<TopicPartition> have(known.begin(), known.end());
  DiscoveredPartitions discovered;
  for (const auto& tp : known) {
    if (!listing.count(tp.topic)) discovered.deleted.insert(tp.topic);
  }
  for (const auto& [name, count] : listing) {
    const bool subscribed = subscription.pattern.empty()
                                ? std::find(subscription.topics.begin(), subscription.topics.end(),
                                            name) != subscription.topics.end()
                                : std::regex_match(name, pattern);
    if (!subscribed) continue;
    for (int32_t p = 0; p < count; ++p) {
      if (!have.count({name, p})) discovered.found.push_back({name, p});
    }
  }
  return discovered;
}

SourceOffset next_epoch_start(const SourceOffset& previous_end, const SourceOffset& initial) {
  SourceOffset start = previous_end;
  for (size_t p = start.size(); p < initial.size(); ++p)
    start.push_back(initial[p]);
  return start;
}

std::vector<TopicPartition> merge_partition_order(const std::vector<TopicPartition>& logged,
                                                  const std::vector<TopicPartition>& current) {
  std::vector<TopicPartition> order = logged;
  const std::set<TopicPartition> known(logged.begin(), logged.end());
  for (const auto& tp : current) {
    if (!known.count(tp)) order.push_back(tp);
  }
  return order;
}

std::string encode_partition_list(const std::vector<TopicPartition>& partitions) {
  std::string text = "[";
  for (size_t p = 0; p < partitions.size(); ++p) {
    if (p > 0) text += ',';
    text += '[';
    append_json_string(partitions[p].topic, text);
    text += ',' + std::to_string(partitions[p].partition) + ']';
  }
  return text + "]";
}

Result<std::vector<TopicPartition>> decode_partition_list(std::string_view saved) {
  auto bad = [&](const std::string& why) {
    return Status::corrupt("the kafka source's partitions in the checkpoint are not readable (" +
                           why + "): " + std::string(saved.substr(0, 200)));
  };
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::padded_string padded(saved);
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) return bad("not JSON");
  simdjson::dom::array list;
  if (root.get_array().get(list) != simdjson::SUCCESS) return bad("not a list");
  std::vector<TopicPartition> partitions;
  for (auto entry : list) {
    simdjson::dom::array pair;
    std::string_view topic;
    int64_t partition = 0;
    if (entry.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
        pair.at(0).get_string().get(topic) != simdjson::SUCCESS ||
        pair.at(1).get_int64().get(partition) != simdjson::SUCCESS || partition < 0 ||
        partition > INT32_MAX) {
      return bad("an entry is not [topic, partition]");
    }
    partitions.push_back({std::string(topic), static_cast<int32_t>(partition)});
  }
  return partitions;
}

}  // namespace sluice::kafka
