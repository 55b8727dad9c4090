#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/key_change.hpp"
#include "core/status.hpp"

namespace sluice {

class DirectoryLock;
class LmdbEnvironment;
class LmdbTransaction;
class StateDeltaLog;

/// Tunes a checkpoint store; the defaults suit a production query.
struct CheckpointOptions {
  /// Sets the initial LMDB map size. On MDB_MAP_FULL the map grows (at least doubling) and the
  /// transaction is retried once, up to max_map_size_bytes.
  int64_t map_size_bytes = 1LL << 30;
  /// Keeps offsets and commits entries of this many latest epochs (Spark's minBatchesToRetain).
  int64_t min_batches_to_retain = 100;
  /// Makes every commit durable (fsync). False only for benchmarks and tests that say so: a
  /// process crash then still loses nothing, an operating-system crash may lose recent epochs.
  bool sync = true;
  /// Bounds how far offsets may run ahead of the latest commit (overlapping epochs): offsets of
  /// epoch e need e - latest_committed <= max_uncommitted_epochs.
  int64_t max_uncommitted_epochs = 64;
  /// Caps map growth; a transaction that does not fit even then fails with "checkpoint full".
  int64_t max_map_size_bytes = 1LL << 40;
  /// Merges the delta records of a logged state table into its B-tree base in rounds of this
  /// many epochs: a round starts once this many epochs have records pending and merges them a
  /// slice of the key space per commit, so each commit rewrites about 1/this of the base pages
  /// it would touch merging at once, and at most about twice this many epochs stay pending.
  int64_t compaction_round_epochs = 16;
};

/// Describes the query a checkpoint belongs to; compared by the caller on restart.
struct CheckpointMetadata {
  /// Identifies the query, stable across restarts (a UUID chosen by the caller at first start).
  std::string query_id;
  /// Describes sources, stateful operators and schemas, in a form the caller defines.
  std::string plan_fingerprint;
  /// Versions the caller's own encodings (offsets, state, commit metadata). The store's layout
  /// has a separate version, checked by open().
  int32_t format_version = 1;

  bool operator==(const CheckpointMetadata&) const = default;
};

/// Sets (value) or deletes (nullopt) one key of a state table.
struct StateChange {
  std::string table;
  std::string key;
  std::optional<std::string> value;
};

/// Sets (value) or deletes (nullopt) one key of a logged state table.
using LoggedChange = KeyChange;

/// Carries the changes of one partition of a logged state table for one epoch: committed as
/// one delta record (so the commit costs what changed, not the B-tree pages the changes are
/// spread over), merged into the table's base later by compaction. A table is either logged
/// (written only through table deltas) or plain (only through state changes), never both.
struct TableDelta {
  std::string table;
  int32_t partition = 0;
  /// Applies in order (a later change of the same key wins); sorted input is cheapest.
  std::vector<LoggedChange> changes;
};

/// Carries everything epoch `epoch` commits in one LMDB write transaction.
struct EpochCommit {
  int64_t epoch = 0;
  /// Holds what the caller records with the commit (watermark, ...), read back by read_commit.
  std::string commit_metadata;
  /// Applies in order (a later change of the same key wins). Sink logs are state tables too,
  /// named with sink_log_table().
  std::vector<StateChange> state_changes;
  /// Writes one delta record each, in the same transaction.
  std::vector<TableDelta> table_deltas = {};
};

/// Reports the size and content of a checkpoint.
struct CheckpointStats {
  /// Counts the epochs whose commit entry is retained.
  int64_t epochs_retained = 0;
  std::optional<int64_t> oldest_committed_epoch;
  std::optional<int64_t> latest_committed_epoch;
  std::optional<int64_t> oldest_offsets_epoch;
  std::optional<int64_t> latest_offsets_epoch;
  /// Counts entries per database.
  int64_t meta_entries = 0;
  int64_t offsets_entries = 0;
  int64_t commits_entries = 0;
  int64_t state_entries = 0;
  /// Counts the delta records not yet merged into the base of their logged tables.
  int64_t delta_records = 0;
  /// Gives the size of data.mdb on disk, the part of it LMDB uses, and the current map size.
  int64_t data_file_bytes = 0;
  int64_t used_bytes = 0;
  int64_t map_size_bytes = 0;
};

/// Returns the state table holding the log of sink `sink_name` ("sink/<name>"). A sink log is
/// an ordinary state table: written through EpochCommit::state_changes in the commit
/// transaction, read with get_state/scan_state, never purged by retention.
std::string sink_log_table(std::string_view sink_name);

/// Stores a query's checkpoint in one LMDB environment in a directory: databases `meta`,
/// `offsets` and `commits` (keys: epochs as big-endian int64, so key order is epoch order) and
/// `state` (key: table name, a zero byte, the key). Every stored value carries a header and an
/// xxHash64 checksum, verified on every read; a mismatch is reported as corrupt, naming the
/// database and the epoch or key.
///
/// Threading: every method may be called from any thread, concurrently. Writes (write_metadata,
/// write_offsets, commit_epoch) are serialized by an internal mutex; reads run beside each
/// other and beside a write and see committed data only (each read is one LMDB snapshot).
/// The store must outlive the calls in flight; the destructor must not race with them. At most
/// 256 reads may be in flight at once (LMDB reader slots); more fail with io_error.
///
/// Limits: epochs are >= 0. A state key (table name + 1 + key) is at most 511 bytes (LMDB's
/// key limit); table names are non-empty and contain no zero byte.
///
/// Corruption: values are checksummed, the data file is checked against truncation on open and
/// a foreign or garbage file is refused. LMDB trusts its own page structure, so arbitrary
/// damage inside B-tree pages (as opposed to values) may still go undetected or crash.
class CheckpointStore {
 public:
  /// Opens or creates the checkpoint in directory `path` (created with its parents if missing).
  /// Takes an exclusive lock (flock on `path`/sluice.lock, recording the pid): a second open of
  /// the same checkpoint, in this or another process, fails with io_error "... is in use by
  /// ... process <pid>" until the first store is destroyed. Refuses a data file that is not an
  /// LMDB environment, is truncated, or has an unknown store layout version with corrupt.
  static Result<std::unique_ptr<CheckpointStore>> open(const std::string& path,
                                                       const CheckpointOptions& options = {});

  /// Closes the environment and releases the lock. No call may be in flight.
  ~CheckpointStore();

  CheckpointStore(const CheckpointStore&) = delete;
  CheckpointStore& operator=(const CheckpointStore&) = delete;

  /// Returns the metadata, or nullopt for a fresh checkpoint. Concurrent with everything.
  Result<std::optional<CheckpointMetadata>> read_metadata() const;

  /// Stores (replaces) the metadata durably. Serialized with other writes.
  Status write_metadata(const CheckpointMetadata& metadata);

  /// Records the source ranges of `epoch` durably (write-ahead, before any record is read).
  /// Rewriting a logged epoch with identical bytes is a no-op; with different bytes it fails
  /// with invalid_argument (a logged range never changes). A new epoch must follow the latest
  /// logged one without a gap (any epoch >= 0 for the very first), must be above the latest
  /// committed epoch, and at most max_uncommitted_epochs above it. Serialized with other
  /// writes.
  Status write_offsets(int64_t epoch, std::string_view offsets);

  /// Returns the offsets logged for `epoch`, or nullopt (never logged, or purged by retention).
  /// Concurrent with everything.
  Result<std::optional<std::string>> read_offsets(int64_t epoch) const;

  /// Returns the latest epoch with an offsets entry, or nullopt. Concurrent with everything.
  Result<std::optional<int64_t>> latest_offsets_epoch() const;

  /// Returns the latest committed epoch, or nullopt. Concurrent with everything.
  Result<std::optional<int64_t>> latest_committed_epoch() const;

  /// Commits an epoch in one durable LMDB write transaction: its state changes, its table
  /// deltas (one record each) with one compaction step of every logged table, its commit
  /// entry, and the retention purge (offsets and commits entries of epochs below
  /// epoch - min_batches_to_retain + 1; state is never purged). Requires offsets for the epoch
  /// and epoch == latest committed + 1 (for the first commit: the oldest logged epoch);
  /// otherwise fails with invalid_argument naming the epochs, and nothing is written.
  /// Serialized with other writes.
  Status commit_epoch(const EpochCommit& commit);

  /// Returns the commit metadata of `epoch`, or nullopt (not committed, or purged).
  /// Concurrent with everything.
  Result<std::optional<std::string>> read_commit(int64_t epoch) const;

  /// Returns the committed value of `key` in `table`, or nullopt (for a logged table: the base
  /// with the pending delta records applied). Concurrent with everything.
  Result<std::optional<std::string>> get_state(std::string_view table, std::string_view key) const;

  /// Calls `fn` for every (key, value) of `table` in byte order of the key, until it returns
  /// false (for a logged table: the base merged with the pending delta records). The views are valid only during the call. All calls see one committed snapshot.
  /// `fn` must not call back into this store. Concurrent with everything (a long scan pins its
  /// snapshot: pages it sees are not reused until it ends).
  Status scan_state(
      std::string_view table,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  /// Like scan_state, for the keys of `table` that start with `prefix`.
  Status scan_state_prefix(
      std::string_view table, std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  /// Reports retained epochs, entries per database and sizes. Concurrent with everything.
  Result<CheckpointStats> stats() const;

  /// Returns the directory given to open. Thread-safe.
  const std::string& path() const { return path_; }

 private:
  enum class EpochLog { offsets, commits };

  struct Databases {
    unsigned int meta = 0;
    unsigned int offsets = 0;
    unsigned int commits = 0;
    unsigned int state = 0;
    unsigned int deltas = 0;
    unsigned int delta_progress = 0;
  };

  CheckpointStore(std::string path, const CheckpointOptions& options);

  Status initialize();
  Status read(const std::function<Status(const LmdbTransaction&)>& body) const;
  Status write(int64_t size_hint, const std::function<Status(LmdbTransaction&)>& body);
  Status grow_map(int64_t size_hint);
  Status check_state_key(std::string_view table, std::string_view key) const;
  static const char* name_of(EpochLog log);
  unsigned int database_of(EpochLog log) const;
  Result<std::optional<std::string>> read_epoch_entry(EpochLog log, int64_t epoch) const;
  Result<std::optional<int64_t>> edge_epoch(const LmdbTransaction& txn, EpochLog log,
                                            bool last) const;
  Result<std::optional<std::string>> verified_entry(const LmdbTransaction& txn, EpochLog log,
                                                    int64_t epoch) const;
  Status purge_before(LmdbTransaction& txn, EpochLog log, int64_t epoch);

  std::string path_;
  CheckpointOptions options_;
  // Declared before env_ so the environment closes before the lock is released.
  std::unique_ptr<DirectoryLock> lock_;
  std::unique_ptr<LmdbEnvironment> env_;
  Databases databases_;
  std::unique_ptr<StateDeltaLog> delta_log_;
  // Serializes writers (LMDB would too, but the map-growth retry needs one writer at a time).
  std::mutex write_mutex_;
  // Held shared by every transaction, exclusively while the map is resized: LMDB forbids
  // mdb_env_set_mapsize while any transaction of the process is active.
  mutable std::shared_mutex map_mutex_;
};

}  // namespace sluice
