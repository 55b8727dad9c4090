#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

/// Thin RAII over librdkafka shared by the Kafka source, sink and development broker.
namespace sluice::kafka {

struct ClientDeleter {
  void operator()(rd_kafka_t* client) const { rd_kafka_destroy(client); }
};
/// An owned librdkafka client (producer or consumer).
using Client = std::unique_ptr<rd_kafka_t, ClientDeleter>;

struct TopicPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const { rd_kafka_topic_partition_list_destroy(list); }
};
using TopicPartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, TopicPartitionListDeleter>;

/// Returns true for errors that go away by themselves (a leader moving, a broker restarting,
/// a timeout): worth asking again until a deadline.
bool is_transient(rd_kafka_resp_err_t error);

/// Returns librdkafka's text for an error code, with its name: "Broker: Unknown topic (UNKNOWN_TOPIC_OR_PART)".
std::string error_text(rd_kafka_resp_err_t error);

/// Returns the librdkafka properties among Spark-style options: every `kafka.<name>` option
/// becomes `<name>` (`kafka.bootstrap.servers` -> `bootstrap.servers`).
std::map<std::string, std::string> passthrough_properties(const std::map<std::string, std::string>& options);

/// Creates a client of `type` from librdkafka properties. A property librdkafka does not
/// know or a bad value fails naming the property (as the user wrote it, with `kafka.`).
Result<Client> make_client(rd_kafka_type_t type, const std::map<std::string, std::string>& properties,
                           void* opaque = nullptr,
                           void (*delivery_report)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr);

/// A topic and one of its partitions.
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  bool operator==(const TopicPartition&) const = default;
  auto operator<=>(const TopicPartition&) const = default;
};

/// Reads the cluster's topics with their partition counts (internal topics left out).
Result<std::map<std::string, int>> list_topics(rd_kafka_t* client, int timeout_ms);

/// Asks the partition's leader for its low and high offsets, asking again on transient errors
/// until timeout_ms has passed. For a consumer configured with
/// `isolation.level=read_committed` the high offset is the last stable offset.
Result<std::pair<int64_t, int64_t>> query_watermarks(rd_kafka_t* client, const TopicPartition& tp, int timeout_ms);

/// Asks the leaders for the earliest (`latest` false) or latest (true; the last stable offset
/// for a read_committed client) offset of many partitions at once: one request per leader
/// broker, asking again on transient errors until timeout_ms has passed.
Result<std::vector<int64_t>> query_offsets(rd_kafka_t* client, const std::vector<TopicPartition>& partitions,
                                           bool latest, int timeout_ms);

}  // namespace sluice::kafka
