#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <vector>

#include "io/kafka_client.hpp"

namespace sluice::kafka {

/// A Kafka cluster inside this process, for development and tests: librdkafka's mock cluster,
/// which speaks the Kafka protocol on loopback sockets (ports picked by the system). Anything
/// that works against it works against a real cluster by changing `kafka.bootstrap.servers`.
///
/// Known limits of librdkafka 2.0.2's mock, measured: it accepts transactions but shows records
/// of aborted transactions to read_committed consumers, and it does not store the offsets a
/// transaction commits with send_offsets_to_transaction.
class DevBroker {
 public:
  /// Starts `brokers` brokers (ids 1..brokers).
  static Result<std::unique_ptr<DevBroker>> start(int brokers = 1);
  ~DevBroker();
  DevBroker(const DevBroker&) = delete;
  DevBroker& operator=(const DevBroker&) = delete;

  /// "127.0.0.1:port,..." for `kafka.bootstrap.servers`.
  const std::string& bootstrap_servers() const { return bootstrap_; }
  int num_brokers() const { return brokers_; }

  Status create_topic(const std::string& name, int partitions, int replication_factor = 1);

  // Fault injection (see rdkafka_mock.h).
  Status set_broker_down(int32_t broker_id);
  Status set_broker_up(int32_t broker_id);
  /// Adds `rtt_ms` of latency to every response of a broker (0 removes it).
  Status set_broker_rtt(int32_t broker_id, int rtt_ms);
  Status set_partition_leader(const std::string& topic, int32_t partition, int32_t broker_id);
  /// The next requests of `api_key` (RD_KAFKAP_*, e.g. 0 = Produce, 1 = Fetch) fail with these errors.
  void push_request_errors(int16_t api_key, const std::vector<rd_kafka_resp_err_t>& errors);

  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }

 private:
  DevBroker() = default;

  Client handle_;  ///< owns the cluster's thread
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
  int brokers_ = 0;
};

}  // namespace sluice::kafka
