#pragma once

// Runs a test's child process (a crash child), with or without a crash point.

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

extern char** environ;

namespace sluice::testing {

/// Returns pointers to `strings` followed by nullptr, as exec and posix_spawn take them.
inline std::vector<char*> null_terminated(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& text : strings)
    pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

/// Starts `program` with `args` and this process's environment, SLUICE_CRASH_AT set to
/// `crash_at` (unset when empty).
inline pid_t spawn_child(const std::string& program, const std::vector<std::string>& args,
                         const std::string& crash_at = "") {
  std::vector<std::string> all = {program};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv = null_terminated(all);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) {
    if (std::string(*e).rfind("SLUICE_CRASH_AT=", 0) != 0) env_storage.emplace_back(*e);
  }
  if (!crash_at.empty()) env_storage.push_back("SLUICE_CRASH_AT=" + crash_at);
  std::vector<char*> envp = null_terminated(env_storage);
  pid_t pid = 0;
  BOOST_REQUIRE(posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(), envp.data()) ==
                0);
  return pid;
}

/// Starts `program` with `args` and its stdout connected to a pipe, whose reading end it
/// returns in `stdout_fd` (the caller closes it). stderr stays this process's.
inline pid_t spawn_child_with_stdout(const std::string& program, const std::vector<std::string>& args,
                                     int& stdout_fd) {
  std::vector<std::string> all = {program};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv = null_terminated(all);
  int pipe_fds[2];
  BOOST_REQUIRE(::pipe(pipe_fds) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  BOOST_REQUIRE(spawned == 0);
  stdout_fd = pipe_fds[0];
  return pid;
}

/// Reads one line (without its newline) from `fd`, waiting at most `timeout`; returns what
/// came so far when the time is up or the writer closed the pipe.
inline std::string read_line(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return line;
    pollfd poll_fd{fd, POLLIN, 0};
    if (::poll(&poll_fd, 1, static_cast<int>(left.count())) <= 0) return line;
    char c = 0;
    if (::read(fd, &c, 1) != 1 || c == '\n') return line;
    line += c;
  }
}

/// Waits for the child; returns its exit code, or 128 + the signal that ended it.
inline int wait_child(pid_t pid) {
  int status = 0;
  BOOST_REQUIRE(waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace sluice::testing
