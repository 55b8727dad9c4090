#include "tools/worker_command.hpp"

#include <signal.h>

#include <iostream>

#include "actors/worker.hpp"
#include "sql/script_plans.hpp"

namespace sluice::tools {

int run_worker(const std::string& listen) {
  auto address = parse_worker_address(listen, /*allow_port_zero=*/true);
  if (!address.ok()) {
    std::cerr << "sluice: error: --listen " << address.status().message() << std::endl;
    return 2;
  }
  // Block the stop signals before CAF starts its threads, so that only sigwait receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  auto worker = actors::Worker::start(
      *address, [](const std::string& definition, const std::string& fingerprint) {
        return plan_script_query(definition, fingerprint);
      });
  if (!worker.ok()) {
    std::cerr << "sluice: error: " << worker.status().message() << std::endl;
    return 1;
  }
  std::cout << (*worker)->address().to_string() << std::endl;
  std::cerr << "sluice worker listening on " << (*worker)->address().to_string()
            << "; queries reach it with option workers = '" << (*worker)->address().to_string()
            << "'; Ctrl-C stops it" << std::endl;
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  std::cerr << "stopping the worker" << std::endl;
  return 0;
}

}  // namespace sluice::tools
