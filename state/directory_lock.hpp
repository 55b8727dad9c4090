#pragma once

#include <memory>
#include <string>

#include "core/status.hpp"

namespace sluice {

/// Holds an exclusive advisory lock (flock) on a lock file inside a directory, so that only one
/// owner in any process uses the directory at a time. The lock file records the owner's pid.
///
/// flock locks belong to an open file description: a second acquire in the same process is
/// refused just like one from another process. A child made by fork() inherits the descriptor
/// and keeps the lock alive until it exits or execs (the descriptor is close-on-exec).
class DirectoryLock {
 public:
  /// Names the lock file created inside the directory.
  static constexpr const char* kFileName = "sluice.lock";

  /// Takes the lock without waiting. Fails with io_error saying the directory is in use (and by
  /// which pid, when recorded) if another owner holds it. Thread-safe.
  static Result<std::unique_ptr<DirectoryLock>> acquire(const std::string& directory);

  /// Clears the recorded pid and releases the lock.
  ~DirectoryLock();

  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  DirectoryLock(int fd, std::string file) : fd_(fd), file_(std::move(file)) {}

  int fd_;
  std::string file_;
};

}  // namespace sluice
