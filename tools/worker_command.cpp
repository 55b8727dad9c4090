#include "tools/worker_command.hpp"

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
  return actors::serve_worker(
      *address,
      [](const std::string& definition, const std::string& fingerprint) {
        return plan_script_query(definition, fingerprint);
      },
      "sluice");
}

}  // namespace sluice::tools
