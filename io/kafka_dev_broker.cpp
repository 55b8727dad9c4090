#include "io/kafka_dev_broker.hpp"

namespace sluice::kafka {
namespace {

Status mock_status(rd_kafka_resp_err_t error, const std::string& what) {
  if (error == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::ok();
  return Status::invalid_argument("development broker: " + what + ": " + error_text(error));
}

}  // namespace

Result<std::unique_ptr<DevBroker>> DevBroker::start(int brokers) {
  if (brokers < 1) return Status::invalid_argument("development broker: needs at least one broker, asked for " + std::to_string(brokers));
  std::unique_ptr<DevBroker> broker(new DevBroker());
  // The handle only hosts the cluster; it never connects anywhere.
  SLUICE_ASSIGN_OR_RETURN(broker->handle_, make_client(RD_KAFKA_PRODUCER, {{"log_level", "3"}}));
  broker->cluster_ = rd_kafka_mock_cluster_new(broker->handle_.get(), brokers);
  if (broker->cluster_ == nullptr) return Status::io_error("development broker: librdkafka could not start a mock cluster");
  broker->bootstrap_ = rd_kafka_mock_cluster_bootstraps(broker->cluster_);
  broker->brokers_ = brokers;
  return broker;
}

DevBroker::~DevBroker() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
}

Status DevBroker::create_topic(const std::string& name, int partitions, int replication_factor) {
  return mock_status(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication_factor),
                     "creating topic " + name);
}

Status DevBroker::set_broker_down(int32_t broker_id) {
  return mock_status(rd_kafka_mock_broker_set_down(cluster_, broker_id), "broker " + std::to_string(broker_id) + " down");
}

Status DevBroker::set_broker_up(int32_t broker_id) {
  return mock_status(rd_kafka_mock_broker_set_up(cluster_, broker_id), "broker " + std::to_string(broker_id) + " up");
}

Status DevBroker::set_broker_rtt(int32_t broker_id, int rtt_ms) {
  return mock_status(rd_kafka_mock_broker_set_rtt(cluster_, broker_id, rtt_ms), "broker " + std::to_string(broker_id) + " latency");
}

Status DevBroker::set_partition_leader(const std::string& topic, int32_t partition, int32_t broker_id) {
  return mock_status(rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker_id),
                     "leader of " + topic + " partition " + std::to_string(partition));
}

void DevBroker::push_request_errors(int16_t api_key, const std::vector<rd_kafka_resp_err_t>& errors) {
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, errors.size(), errors.data());
}

}  // namespace sluice::kafka
