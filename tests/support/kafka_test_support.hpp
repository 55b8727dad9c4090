#pragma once

// Test helpers around a real Kafka client: produce records into a topic, read a topic back.
// They use plain librdkafka calls, independent of the Sluice code under test.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sluice::testing {

struct KafkaRecord {
  std::string key;
  std::string value;
  int32_t partition = 0;
  int64_t offset = 0;
  bool operator==(const KafkaRecord&) const = default;
  auto operator<=>(const KafkaRecord&) const = default;
};

inline rd_kafka_t* make_test_client(rd_kafka_type_t type, const std::map<std::string, std::string>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      throw std::runtime_error(key + ": " + error);
    }
  }
  rd_kafka_t* client = rd_kafka_new(type, conf, error, sizeof error);
  if (client == nullptr) throw std::runtime_error(error);
  return client;
}

/// Produces (key, value) records; partition -1 lets the partitioner choose. Waits for delivery.
inline void produce_records(const std::string& bootstrap, const std::string& topic,
                            const std::vector<std::pair<std::string, std::string>>& records, int32_t partition = -1) {
  rd_kafka_t* producer = make_test_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}, {"linger.ms", "1"}});
  for (const auto& [key, value] : records) {
    rd_kafka_resp_err_t error = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_destroy(producer);
      throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(error));
    }
  }
  const rd_kafka_resp_err_t flushed = rd_kafka_flush(producer, 30'000);
  rd_kafka_destroy(producer);
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR) throw std::runtime_error("flush timed out");
}

/// Reads every record of every partition of `topic` up to its end (read_committed).
inline std::vector<KafkaRecord> read_topic(const std::string& bootstrap, const std::string& topic) {
  rd_kafka_t* consumer = make_test_client(
      RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}, {"enable.partition.eof", "true"}, {"isolation.level", "read_committed"}});
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_topic_t* handle = rd_kafka_topic_new(consumer, topic.c_str(), nullptr);
  if (rd_kafka_metadata(consumer, 0, handle, &metadata, 10'000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("metadata of " + topic);
  }
  const int partitions = metadata->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(metadata);
  std::vector<KafkaRecord> records;
  for (int p = 0; p < partitions; ++p) {
    int64_t low = 0;
    int64_t high = 0;
    rd_kafka_query_watermark_offsets(consumer, topic.c_str(), p, &low, &high, 10'000);
    if (high <= low) continue;
    rd_kafka_consume_start(handle, p, low);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    bool done = false;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* message = rd_kafka_consume(handle, p, 100);
      if (message == nullptr) continue;
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        done = message->offset >= high;
      } else if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        KafkaRecord record;
        if (message->key) record.key.assign(static_cast<const char*>(message->key), message->key_len);
        if (message->payload) record.value.assign(static_cast<const char*>(message->payload), message->len);
        record.partition = p;
        record.offset = message->offset;
        records.push_back(std::move(record));
        done = message->offset + 1 >= high;
      }
      rd_kafka_message_destroy(message);
    }
    rd_kafka_consume_stop(handle, p);
    if (!done) throw std::runtime_error("timed out reading " + topic);
  }
  rd_kafka_topic_destroy(handle);
  rd_kafka_destroy(consumer);
  return records;
}

}  // namespace sluice::testing
