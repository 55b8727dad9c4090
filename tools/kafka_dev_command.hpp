#pragma once

#include <string>
#include <vector>

namespace sluice::tools {

/// Runs a development Kafka cluster (librdkafka's mock, in this process) until SIGINT or
/// SIGTERM: creates the topics given as "name" or "name:partitions", prints
/// "bootstrap.servers=<address>" on stdout, and waits. Returns the process exit code.
int run_kafka_dev(int brokers, const std::vector<std::string>& topics);

}  // namespace sluice::tools
