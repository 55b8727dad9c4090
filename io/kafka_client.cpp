#include "io/kafka_client.hpp"

namespace sluice::kafka {

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
  rd_kafka_resp_err_t error =
      rd_kafka_query_watermark_offsets(client, tp.topic.c_str(), tp.partition, &low, &high, timeout_ms);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::io_error("cannot read the offsets of Kafka topic " + tp.topic + " partition " +
                            std::to_string(tp.partition) + ": " + error_text(error));
  }
  return std::make_pair(low, high);
}

}  // namespace sluice::kafka
