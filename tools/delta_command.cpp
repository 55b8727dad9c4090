#include "tools/delta_command.hpp"

#include <cmath>
#include <iostream>

#include "io/delta_maintenance.hpp"

namespace sluice::tools {

int vacuum_delta_table(const std::string& path, double retention_hours) {
  if (!(retention_hours >= 0) || !std::isfinite(retention_hours)) {
    std::cerr << "sluice: error: --retention-hours must be 0 or more" << std::endl;
    return 1;
  }
  const auto retention =
      std::chrono::milliseconds(static_cast<int64_t>(retention_hours * 3'600'000));
  auto result = delta_vacuum(path, retention);
  if (!result.ok()) {
    std::cerr << "sluice: error: " << result.status().message() << std::endl;
    return 1;
  }
  std::cout << "vacuumed " << path << ": deleted " << result->deleted.size() << " files ("
            << result->deleted_bytes << " bytes); versions from " << result->oldest_kept_version
            << " on stay readable" << std::endl;
  return 0;
}

int optimize_delta_table(const std::string& path, int64_t target_file_rows) {
  auto result = delta_optimize(path, target_file_rows);
  if (!result.ok()) {
    std::cerr << "sluice: error: " << result.status().message() << std::endl;
    return 1;
  }
  if (result->version < 0) {
    std::cout << "optimized " << path << ": no partition has two small files, nothing to do"
              << std::endl;
    return 0;
  }
  std::cout << "optimized " << path << ": version " << result->version << " replaced "
            << result->files_removed << " small files with " << result->files_added << " ("
            << result->rows << " rows)" << std::endl;
  return 0;
}

}  // namespace sluice::tools
