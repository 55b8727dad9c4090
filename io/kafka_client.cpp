#include "io/kafka_client.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace sluice::kafka {

bool is_transient(rd_kafka_resp_err_t error) {
  switch (error) {
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
      return true;
    default:
      return false;
  }
}

std::string error_text(rd_kafka_resp_err_t error) {
  return std::string(rd_kafka_err2str(error)) + " (" + rd_kafka_err2name(error) + ")";
}

std::map<std::string, std::string> passthrough_properties(const std::map<std::string, std::string>& options) {
  std::map<std::string, std::string> properties;
  for (const auto& [key, value] : options) {
    if (key.starts_with("kafka.")) properties[key.substr(6)] = value;
  }
  return properties;
}

Result<Client> make_client(rd_kafka_type_t type, const std::map<std::string, std::string>& properties,
                           void* opaque,
                           void (*delivery_report)(rd_kafka_t*, const rd_kafka_message_t*, void*)) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::invalid_argument("option kafka." + key + ": " + error);
    }
  }
  if (opaque != nullptr) rd_kafka_conf_set_opaque(conf, opaque);
  if (delivery_report != nullptr) rd_kafka_conf_set_dr_msg_cb(conf, delivery_report);
  rd_kafka_t* client = rd_kafka_new(type, conf, error, sizeof error);
  if (client == nullptr) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new takes the configuration only on success
    return Status::invalid_argument(std::string("cannot create the Kafka client: ") + error);
  }
  return Client(client);
}

Result<std::map<std::string, int>> list_topics(rd_kafka_t* client, int timeout_ms) {
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t error = rd_kafka_metadata(client, 1, nullptr, &metadata, timeout_ms);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::io_error("cannot read the Kafka cluster's topics: " + error_text(error));
  }
  std::map<std::string, int> topics;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const rd_kafka_metadata_topic_t& topic = metadata->topics[t];
    if (topic.err != RD_KAFKA_RESP_ERR_NO_ERROR || std::string_view(topic.topic).starts_with("__")) continue;
    topics[topic.topic] = topic.partition_cnt;
  }
  rd_kafka_metadata_destroy(metadata);
  return topics;
}

Result<std::pair<int64_t, int64_t>> query_watermarks(rd_kafka_t* client, const TopicPartition& tp, int timeout_ms) {
  int64_t low = 0;
  int64_t high = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int attempt = 0;; ++attempt) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    error = rd_kafka_query_watermark_offsets(client, tp.topic.c_str(), tp.partition, &low, &high,
                                             static_cast<int>(std::max<int64_t>(1, left.count())));
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR || !is_transient(error) || std::chrono::steady_clock::now() >= deadline) break;
    // A leader moved or a broker is briefly away: librdkafka refreshes its metadata meanwhile.
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(10 << std::min(attempt, 5), 200)));
  }
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::io_error("cannot read the offsets of Kafka topic " + tp.topic + " partition " +
                            std::to_string(tp.partition) + ": " + error_text(error));
  }
  return std::make_pair(low, high);
}

Result<std::vector<int64_t>> query_offsets(rd_kafka_t* client, const std::vector<TopicPartition>& partitions,
                                           bool latest, int timeout_ms) {
  if (partitions.empty()) return std::vector<int64_t>();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (int attempt = 0;; ++attempt) {
    // ListOffsets with the special timestamps -1 (latest) and -2 (earliest).
    TopicPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
    for (const auto& tp : partitions) {
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
          latest ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    rd_kafka_resp_err_t error =
        rd_kafka_offsets_for_times(client, list.get(), static_cast<int>(std::max<int64_t>(1, left.count())));
    size_t failed = partitions.size();
    for (int i = 0; error == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; ++i) {
      if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        error = list->elems[i].err;
        failed = static_cast<size_t>(i);
      }
    }
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::vector<int64_t> offsets;
      for (int i = 0; i < list->cnt; ++i) offsets.push_back(list->elems[i].offset);
      return offsets;
    }
    if (!is_transient(error) || std::chrono::steady_clock::now() >= deadline) {
      std::string where = failed < partitions.size()
                              ? "Kafka topic " + partitions[failed].topic + " partition " +
                                    std::to_string(partitions[failed].partition)
                              : std::to_string(partitions.size()) + " Kafka partitions";
      return Status::io_error("cannot read the " + std::string(latest ? "latest" : "earliest") + " offsets of " +
                              where + ": " + error_text(error));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(10 << std::min(attempt, 5), 200)));
  }
}

}  // namespace sluice::kafka
