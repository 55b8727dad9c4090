#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "io/kafka_client.hpp"
#include "io/source.hpp"

/// The rules by which a Kafka source's partitions grow while it runs, apart from the broker:
/// the source asks the broker (a metadata listing, earliest offsets) and hands the answers to
/// these functions, so each rule is tested without a broker (librdkafka 2.0.2's mock cannot add
/// partitions to a topic). Sluice partition p of the source is the p-th topic partition of its
/// list; offsets, logged per epoch, are in that order. All functions are pure and thread-safe.
namespace sluice::kafka {

/// Which topics a source reads: a list (option subscribe) or a regular expression over topic
/// names (subscribePattern, when not empty).
struct Subscription {
  std::vector<std::string> topics;
  std::string pattern;
};

/// What a metadata listing changes in a source's partitions.
struct DiscoveredPartitions {
  /// Partitions of subscribed topics not in the list yet, by topic then partition: appended to
  /// the list, read from their earliest offset.
  std::vector<TopicPartition> found;
  /// Topics the list holds that the listing no longer has (deleted), by name.
  std::set<std::string> deleted;
};

/// Compares a metadata `listing` (topic -> partition count) with the partitions `known` so
/// far: a topic that grew contributes its new partitions, a topic that newly matches the
/// subscription all of its partitions. Fails on a pattern that is not a regular expression.
Result<DiscoveredPartitions> discover_partitions(const std::vector<TopicPartition>& known,
                                                 const std::map<std::string, int>& listing,
                                                 const Subscription& subscription);

/// Returns where each of the list's partitions starts the next epoch: where the previous
/// epoch ended (`previous_end`, in list order, shorter when partitions were found since), and
/// partitions it does not cover at `initial` (their earliest offset when found).
SourceOffset next_epoch_start(const SourceOffset& previous_end, const SourceOffset& initial);

/// Orders the partitions after a restart: the `logged` list first (the checkpoint's offsets
/// are in its order), then those of `current` (as the broker lists them now) it lacks.
std::vector<TopicPartition> merge_partition_order(const std::vector<TopicPartition>& logged,
                                                  const std::vector<TopicPartition>& current);

/// Encodes a partition list as saved with each offsets-log entry: [["topic",0],...].
std::string encode_partition_list(const std::vector<TopicPartition>& partitions);

/// Decodes encode_partition_list's text; fails as corrupt, quoting it, on anything else.
Result<std::vector<TopicPartition>> decode_partition_list(std::string_view saved);

}  // namespace sluice::kafka
