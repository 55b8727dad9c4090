#pragma once

// Internal to state/: logged state tables. An epoch's changes of one partition of a table are
// one delta record (sorted, encoded, checksummed) in the `deltas` database, written in the
// epoch's commit transaction; the table's B-tree base in the `state` database catches up in
// compaction rounds that merge the pending records a slice of the key space per epoch (the
// model: Spark's HDFSBackedStateStore delta + snapshot files, RocksDB's changelog
// checkpointing). A read sees the base plus the pending records newer than it.

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/key_change.hpp"
#include "core/status.hpp"

namespace sluice {

class LmdbTransaction;

/// Returns the key of `key` of `table` in the `state` database: the table, a zero byte, the key.
std::string state_table_key(std::string_view table, std::string_view key);

/// Renders a possibly binary key for a message: printable bytes as is, others as \xNN.
std::string printable_bytes(std::string_view bytes);

/// Encodes changes sorted by key with distinct keys as a delta record payload: a count, an
/// offset per entry, then per entry a kind byte (0 delete, 1 put), the key size, key and value.
std::string encode_delta_record(const std::vector<KeyChange>& changes);

/// Views an encoded delta record in place; the bytes must outlive the view. Thread-safe.
class DeltaRecordView {
 public:
  /// Views `payload`; with `check`, first verifies its structure (offsets in bounds and
  /// increasing, keys strictly increasing) and fails with corrupt saying what is wrong.
  static Result<DeltaRecordView> parse(std::string_view payload, bool check);

  DeltaRecordView() = default;

  size_t size() const { return count_; }
  std::string_view key(size_t index) const;
  /// Returns the value the entry puts, or nullopt for a delete.
  std::optional<std::string_view> value(size_t index) const;
  /// Returns the index of the first entry whose key is >= key (size() if none).
  size_t lower_bound(std::string_view key) const;

 private:
  DeltaRecordView(const char* offsets, const char* data, size_t count)
      : offsets_(offsets), data_(data), count_(count) {}
  uint32_t offset(size_t index) const;

  const char* offsets_ = nullptr;
  const char* data_ = nullptr;
  size_t count_ = 0;
};

/// Where a table's base stands: every record of an epoch <= base_epoch is merged into it;
/// during a round (target_epoch >= 0), the keys below `hand` also hold the records up to
/// target_epoch.
struct DeltaProgress {
  int64_t base_epoch = -1;
  int64_t target_epoch = -1;
  /// Counts the record entries one compaction step merges in the current round.
  int64_t step_budget = 0;
  std::string hand;

  /// Returns the epoch up to which the base holds `key`.
  int64_t base_epoch_of(std::string_view key) const {
    return target_epoch >= 0 && key < hand ? target_epoch : base_epoch;
  }
};

/// Reads and writes the logged tables of one LMDB environment (databases `state`, `deltas`,
/// `delta_progress`). Threading: reads (get, scan) may run on any thread beside each other and
/// beside one writer (append, compact) inside the caller's transactions.
class StateDeltaLog {
 public:
  struct Databases {
    unsigned int state = 0;
    unsigned int deltas = 0;
    unsigned int progress = 0;
  };

  /// Uses `databases`; a round starts once `round_epochs` epochs have records pending and
  /// merges them in round_epochs steps (more for a large base, up to 64), one per commit.
  StateDeltaLog(Databases databases, int64_t round_epochs)
      : databases_(databases), round_epochs_(round_epochs) {}

  /// Writes `changes` (any order; a later change of a key wins) as the delta record of
  /// (table, partition, epoch) inside `txn`.
  Status append(LmdbTransaction& txn, std::string_view table, int32_t partition, int64_t epoch,
                const std::vector<KeyChange>& changes);

  /// Runs one compaction step of every logged table inside an epoch's commit transaction,
  /// before the epoch's own records are appended (so every record it views is on a committed,
  /// unchanging page): starts a round when round_epochs epochs are pending, merges the next
  /// step_budget entries into the base, and ends the round by deleting the merged records.
  Status compact(LmdbTransaction& txn);

  /// Returns the committed value of `key` in `table` as of the snapshot of read transaction
  /// `txn`.
  Result<std::optional<std::string>> get(const LmdbTransaction& txn, std::string_view table,
                                         std::string_view key) const;

  /// Visits the committed (key, value) of `table` whose keys start with `prefix`, in key order,
  /// until fn returns false: base entries merged with the pending records (newest wins).
  Status scan(const LmdbTransaction& txn, std::string_view table, std::string_view prefix,
              const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  /// Counts the delta records of every table.
  Result<int64_t> num_records(const LmdbTransaction& txn) const;

 private:
  /// A Bloom filter of a record's keys (10 bits a key, 3 probes: about 2% false positives),
  /// so that a read skips the records that do not hold its key without searching them.
  class KeyFilter {
   public:
    explicit KeyFilter(const DeltaRecordView& view);
    static uint64_t hash(std::string_view key);
    bool may_contain(uint64_t hash) const;

   private:
    std::vector<uint64_t> words_;
  };

  struct Record {
    int64_t epoch = 0;
    int32_t partition = 0;
    DeltaRecordView view;
    std::shared_ptr<const KeyFilter> filter;
  };

  /// What get needs of one table in one snapshot: its progress and records. Shared by the
  /// gets of that snapshot (a snapshot is named by its transaction id and the map's address,
  /// as a committed record's bytes stay where they are while a snapshot sees them).
  struct Snapshot {
    uint64_t txn_id = 0;
    const void* map_address = nullptr;
    std::optional<DeltaProgress> progress;
    std::vector<Record> records;
  };
  Result<std::shared_ptr<const Snapshot>> snapshot_of(const LmdbTransaction& txn,
                                                      std::string_view table) const;

  Result<std::optional<DeltaProgress>> read_progress(const LmdbTransaction& txn,
                                                     std::string_view table) const;
  Status write_progress(LmdbTransaction& txn, std::string_view table,
                        const DeltaProgress& progress);
  /// Lists the records of `table` with an epoch above `above`, oldest first.
  Status records_of(const LmdbTransaction& txn, std::string_view table, int64_t above,
                    std::vector<Record>& out) const;
  Status compact_table(LmdbTransaction& txn, std::string_view table);
  /// Views a stored record, verifying its checksum and structure (and building its key filter)
  /// the first time.
  Result<Record> view_record(std::string_view name, std::string_view stored) const;
  Result<std::optional<std::string>> get_base(const LmdbTransaction& txn, std::string_view table,
                                              std::string_view key) const;

  Databases databases_;
  int64_t round_epochs_;
  // The key filters of records whose checksum and structure were verified once: a committed
  // record never changes, so later reads view it without hashing it again.
  mutable std::mutex verified_mutex_;
  mutable std::unordered_map<std::string, std::shared_ptr<const KeyFilter>> verified_;
  mutable std::mutex snapshots_mutex_;
  mutable std::unordered_map<std::string, std::shared_ptr<const Snapshot>> snapshots_;
};

}  // namespace sluice
