#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace sluice {

class LmdbEnvironment;

/// A keyed table of bytes in its own LMDB environment (a directory), written one epoch at a
/// time by streaming queries and read by anyone at the same moment: the store behind the table
/// sink. Each writer (a query id) records the last epoch it applied in the same transaction as
/// the epoch's rows, so a replayed epoch is recognized and skipped: exactly-once by
/// construction. Readers see the table as of the last applied epoch and never block the writer
/// (LMDB snapshots). Every stored value carries a checksum bound to its key.
///
/// LMDB must not open one environment twice in a process, so open() hands out one shared store
/// per directory; one writer at a time (in any process) is the caller's to ensure with
/// DirectoryLock.
class KeyedTableStore {
 public:
  /// What one epoch changes.
  struct EpochWrite {
    std::string writer;  ///< identifies the query (its id), stable across restarts
    int64_t epoch = 0;
    /// Removes every row before the upserts (complete mode: each epoch is the whole table).
    bool replace_all = false;
    std::vector<std::pair<std::string, std::string>> upserts;  ///< (key, row), later wins
    /// Table-level entries (schema, key columns) stored with the epoch.
    std::vector<std::pair<std::string, std::string>> metadata;
  };

  /// Opens the table in `directory` (the same store for every caller in this process),
  /// creating the directory and the table when `create`. Fails with not_found when the table
  /// does not exist and `create` is false, and with corrupt when the directory holds something
  /// that is not a Sluice table. Thread-safe.
  static Result<std::shared_ptr<KeyedTableStore>> open(const std::string& directory, bool create);

  ~KeyedTableStore();
  KeyedTableStore(const KeyedTableStore&) = delete;
  KeyedTableStore& operator=(const KeyedTableStore&) = delete;

  /// Applies one epoch in one transaction, unless `write.writer` already applied this epoch or
  /// a later one: returns true when applied, false when skipped as a replay. Thread-safe.
  Result<bool> apply(const EpochWrite& write);
  /// Returns the last epoch `writer` applied, if any. Thread-safe.
  Result<std::optional<int64_t>> last_epoch(std::string_view writer) const;
  /// Returns a table-level entry written with apply. Thread-safe.
  Result<std::optional<std::string>> metadata(std::string_view name) const;
  /// Visits every row in key order within one snapshot; stops early when fn returns false.
  /// A value whose checksum does not match is a corrupt Status naming the key. Thread-safe.
  Status scan(const std::function<bool(std::string_view key, std::string_view row)>& fn) const;
  /// Returns the largest key LMDB accepts.
  int64_t max_key_size() const;

  const std::string& directory() const { return directory_; }

 private:
  KeyedTableStore(std::string directory, std::unique_ptr<LmdbEnvironment> env, unsigned rows,
                  unsigned meta, unsigned epochs);

  std::string directory_;
  std::unique_ptr<LmdbEnvironment> env_;
  unsigned rows_;
  unsigned meta_;
  unsigned epochs_;
  std::mutex write_mutex_;
  // Held shared by every transaction, exclusively to grow the map (LMDB needs no transaction
  // of this process active then).
  mutable std::shared_mutex map_mutex_;
};

}  // namespace sluice
