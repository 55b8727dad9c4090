#include "state/directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice {
namespace {

std::string errno_text(int error) {
  return std::string(std::strerror(error));
}

// Reads the pid recorded by the current owner; 0 when none is recorded yet.
long read_owner_pid(int fd) {
  char buffer[32] = {};
  ssize_t read_bytes = pread(fd, buffer, sizeof(buffer) - 1, 0);
  if (read_bytes <= 0) return 0;
  char* end = nullptr;
  long pid = std::strtol(buffer, &end, 10);
  return end == buffer ? 0 : pid;
}

}  // namespace

Result<std::unique_ptr<DirectoryLock>> DirectoryLock::acquire(const std::string& directory) {
  std::string file = directory + "/" + kFileName;
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::io_error("cannot open lock file '" + file + "': " + errno_text(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    if (error == EWOULDBLOCK) {
      long pid = read_owner_pid(fd);
      ::close(fd);
      std::string owner;
      if (pid == 0) {
        owner = "another query (owner pid not recorded)";
      } else if (pid == static_cast<long>(::getpid())) {
        owner = "another query in this process (pid " + std::to_string(pid) + ")";
      } else {
        owner = "another query in process " + std::to_string(pid);
      }
      return Status::io_error("'" + directory + "' is in use by " + owner +
                              "; a checkpoint serves one query at a time (lock file '" + file +
                              "')");
    }
    ::close(fd);
    return Status::io_error("cannot lock '" + file + "': " + errno_text(error));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int error = errno;
    ::close(fd);
    return Status::io_error("cannot record the owner pid in '" + file + "': " + errno_text(error));
  }
  return std::unique_ptr<DirectoryLock>(new DirectoryLock(fd, std::move(file)));
}

DirectoryLock::~DirectoryLock() {
  // A stale pid would only mislead the next refusal message, so a failure here is harmless.
  [[maybe_unused]] int cleared = ::ftruncate(fd_, 0);
  ::close(fd_);  // releases the flock
}

}  // namespace sluice
