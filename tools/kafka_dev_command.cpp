#include "tools/kafka_dev_command.hpp"

#include <signal.h>

#include <charconv>
#include <iostream>

#include "io/kafka_dev_broker.hpp"

namespace sluice::tools {

int run_kafka_dev(int brokers, const std::vector<std::string>& topics) {
  // Block the stop signals before librdkafka starts its threads, so that they all inherit the
  // mask and only sigwait below receives the signal.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto broker = kafka::DevBroker::start(brokers);
  if (!broker.ok()) {
    std::cerr << "sluice: error: " << broker.status().message() << std::endl;
    return 1;
  }
  for (const auto& topic : topics) {
    std::string name = topic;
    int partitions = 1;
    if (size_t colon = topic.rfind(':'); colon != std::string::npos) {
      name = topic.substr(0, colon);
      const std::string count = topic.substr(colon + 1);
      auto [end, error] = std::from_chars(count.data(), count.data() + count.size(), partitions);
      if (error != std::errc() || end != count.data() + count.size() || partitions < 1 || name.empty()) {
        std::cerr << "sluice: error: --topic " << topic << ": expected name or name:partitions (partitions >= 1)"
                  << std::endl;
        return 2;
      }
    }
    if (Status status = (*broker)->create_topic(name, partitions); !status.is_ok()) {
      std::cerr << "sluice: error: " << status.message() << std::endl;
      return 1;
    }
    std::cerr << "created topic " << name << " with " << partitions << " partition" << (partitions == 1 ? "" : "s")
              << std::endl;
  }
  std::cout << "bootstrap.servers=" << (*broker)->bootstrap_servers() << std::endl;
  std::cerr << "development Kafka cluster of " << brokers << " broker" << (brokers == 1 ? "" : "s")
            << " running; Ctrl-C stops it (its topics live in memory only)" << std::endl;
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  std::cerr << "stopping the development Kafka cluster" << std::endl;
  return 0;
}

}  // namespace sluice::tools
