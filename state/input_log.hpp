#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace sluice {

class DirectoryLock;
class LmdbEnvironment;

/// Tunes an input log; the defaults suit production.
struct InputLogOptions {
  /// Sets the LMDB map size: the most the log holds before the query commits past it (an append
  /// that does not fit fails with "input log full").
  int64_t map_size_bytes = 4LL << 30;
  /// Makes every append durable (fsync) before it returns. False only for tests and benchmarks
  /// that say so: a process crash then still loses nothing, an operating-system crash may.
  bool sync = true;
};

/// Stores a durable, append-only log of entries at positions 0, 1, 2, ... in its own LMDB
/// environment in a directory: the input of a source that others push into (the actor source),
/// replayed exactly after a crash. Each entry carries a row count, so that a reader can honour a
/// row limit without decoding entries. Entries below a position are trimmed once no epoch will
/// read them again; positions are never reused. Every value is checksummed and verified on read.
///
/// The log has its own environment rather than living in the query's checkpoint because the
/// host must be able to push (and be acknowledged) while no query runs — before its start and
/// between a crash and the restart — whereas the checkpoint is opened and locked by the running
/// query only, and because appends are many small durable transactions from host threads that
/// must not queue behind the epoch committer's write transaction.
///
/// Threading: every method may be called from any thread, concurrently; appends are serialized.
/// The directory is locked (flock) while the log is open: a second open fails naming the owner.
class InputLog {
 public:
  /// Opens or creates the log in `directory` (created with its parents if missing). `header` is
  /// what the log's creator recorded about its entries (the schema, say): a new log stores it,
  /// an existing one must hold the same bytes, else the open fails with invalid_argument using
  /// `describe_header` to name both.
  static Result<std::unique_ptr<InputLog>> open(
      const std::string& directory, std::string_view header, const InputLogOptions& options,
      const std::function<std::string(std::string_view header)>& describe_header);
  ~InputLog();
  InputLog(const InputLog&) = delete;
  InputLog& operator=(const InputLog&) = delete;

  /// Appends an entry of `rows` rows durably and returns its position.
  Result<int64_t> append(std::string_view payload, int64_t rows);
  /// Appends entries (payload, rows) durably in one transaction (one fsync: a group commit),
  /// all or none, at consecutive positions; returns the position of the first.
  Result<int64_t> append_all(const std::vector<std::pair<std::string_view, int64_t>>& entries);
  /// Returns the first position still held (everything below was trimmed).
  int64_t begin() const;
  /// Returns the position the next append gets.
  int64_t end() const;
  /// Returns the end of the longest range [start, result) with at most `max_rows` rows, but at
  /// least one entry when start < end(); max_rows < 0 means end().
  Result<int64_t> end_within_rows(int64_t start, int64_t max_rows) const;
  /// Reads entry `position`; fails with out_of_range when it was trimmed or not yet appended,
  /// and with corrupt when its checksum fails.
  Result<std::string> read(int64_t position) const;
  /// Drops every entry below `position` (no-op when already trimmed that far).
  Status trim(int64_t position);
  const std::string& directory() const { return directory_; }

 private:
  explicit InputLog(std::string directory);
  Status initialize(std::string_view header,
                    const std::function<std::string(std::string_view header)>& describe_header);

  std::string directory_;
  std::unique_ptr<DirectoryLock> lock_;
  std::unique_ptr<LmdbEnvironment> env_;
  unsigned int entries_ = 0;
  unsigned int meta_ = 0;
  mutable std::mutex mutex_;  // guards begin_, end_ and serializes writes
  int64_t begin_ = 0;
  int64_t end_ = 0;
};

}  // namespace sluice
