#pragma once

// Runs a test's child process (a crash child), with or without a crash point.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

extern char** environ;

namespace sluice::testing {

/// Starts `program` with `args` and this process's environment, SLUICE_CRASH_AT set to
/// `crash_at` (unset when empty).
inline pid_t spawn_child(const std::string& program, const std::vector<std::string>& args,
                         const std::string& crash_at = "") {
  std::vector<std::string> all = {program};
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
  BOOST_REQUIRE(posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(), envp.data()) ==
                0);
  return pid;
}

/// Waits for the child; returns its exit code, or 128 + the signal that ended it.
inline int wait_child(pid_t pid) {
  int status = 0;
  BOOST_REQUIRE(waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace sluice::testing
