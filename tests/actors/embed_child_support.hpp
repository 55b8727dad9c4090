#pragma once

// Runs embed_crash_child and reads what it wrote, for the actor source and sink tests.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

extern char** environ;

namespace sluice::testing {

/// Starts the child with `args`, SLUICE_CRASH_AT set to `crash_at` (unset when empty).
inline pid_t spawn_embed_child(const std::vector<std::string>& args,
                               const std::string& crash_at = "") {
  std::vector<std::string> all = {EMBED_CHILD_PATH};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : all)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) {
    if (std::string(*e).rfind("SLUICE_CRASH_AT=", 0) != 0) env_storage.emplace_back(*e);
  }
  if (!crash_at.empty()) env_storage.push_back("SLUICE_CRASH_AT=" + crash_at);
  std::vector<char*> envp;
  for (auto& entry : env_storage)
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  BOOST_REQUIRE(posix_spawn(&pid, EMBED_CHILD_PATH, nullptr, nullptr, argv.data(), envp.data()) ==
                0);
  return pid;
}

/// Waits for the child; returns its exit code, or 128 + the signal that ended it.
inline int wait_embed_child(pid_t pid) {
  int status = 0;
  BOOST_REQUIRE(waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
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
