#pragma once

// Runs embed_crash_child and reads what it wrote, for the actor source and sink tests.

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"

namespace sluice::testing {

/// Starts embed_crash_child with `args`, SLUICE_CRASH_AT set to `crash_at` (unset when empty).
inline pid_t spawn_embed_child(const std::vector<std::string>& args,
                               const std::string& crash_at = "") {
  return spawn_child(EMBED_CHILD_PATH, args, crash_at);
}

/// Reads the ids of a file, one per line.
inline std::vector<int64_t> read_ids(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<int64_t> ids;
  int64_t id = 0;
  while (in >> id)
    ids.push_back(id);
  return ids;
}

/// What the children delivered: per epoch, per run, the rows of that delivery.
inline std::map<int64_t, std::map<int64_t, std::vector<int64_t>>> read_deliveries(
    const std::string& output) {
  std::map<int64_t, std::map<int64_t, std::vector<int64_t>>> deliveries;
  for (const auto& entry : std::filesystem::directory_iterator(output)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("run", 0) != 0 || entry.path().extension() != ".txt") continue;
    const size_t dash = name.find("-epoch-");
    const int64_t run = std::stoll(name.substr(3, dash - 3));
    const int64_t epoch = std::stoll(name.substr(dash + 7));
    deliveries[epoch][run] = read_ids(entry.path());
  }
  return deliveries;
}

}  // namespace sluice::testing
