#pragma once

// Internal to state/: the only header that includes LMDB. Thin owning wrappers that turn LMDB
// return codes into Status values and release handles on every path.

#include <lmdb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace sluice {

/// Translates an LMDB (or errno) return code into a Status naming the failed operation.
/// Format and corruption codes become corrupt, everything else io_error.
Status lmdb_status(int rc, std::string_view operation);

/// Wraps a key or value as an MDB_val pointing into `bytes` (which must outlive the call).
inline MDB_val lmdb_value(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

/// Views the bytes an MDB_val points to (valid until its transaction ends).
inline std::string_view lmdb_view(const MDB_val& value) {
  return std::string_view(static_cast<const char*>(value.mv_data), value.mv_size);
}

/// Owns one LMDB transaction: aborted on destruction unless committed. Remembers whether an
/// operation ran out of map space so the caller can grow the map and retry. Not thread-safe:
/// one thread uses a transaction at a time (MDB_NOTLS lets a read transaction change threads).
class LmdbTransaction {
 public:
  explicit LmdbTransaction(MDB_txn* txn) : txn_(txn) {}
  LmdbTransaction(LmdbTransaction&& other) noexcept : txn_(other.txn_), map_full_(other.map_full_) {
    other.txn_ = nullptr;
  }
  LmdbTransaction& operator=(LmdbTransaction&&) = delete;
  LmdbTransaction(const LmdbTransaction&) = delete;
  ~LmdbTransaction() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }

  MDB_txn* get() const { return txn_; }
  bool map_full() const { return map_full_; }

  /// Reads `key`; returns false when absent. `value` stays valid until the transaction ends.
  Result<bool> get(MDB_dbi dbi, std::string_view key, MDB_val* value) const;
  /// Stores `value` under `key`, replacing any previous value.
  Status put(MDB_dbi dbi, std::string_view key, std::string_view value);
  /// Deletes `key`; deleting an absent key is not an error.
  Status erase(MDB_dbi dbi, std::string_view key);
  /// Commits; the transaction is finished afterwards whatever the outcome.
  Status commit();

 private:
  Status check_write(int rc, std::string_view operation);

  MDB_txn* txn_;
  bool map_full_ = false;
};

/// Owns a cursor; must be destroyed before its transaction ends (declare it after the
/// transaction, or inside the scope that uses the transaction).
class LmdbCursor {
 public:
  static Result<LmdbCursor> open(const LmdbTransaction& txn, MDB_dbi dbi);
  LmdbCursor(LmdbCursor&& other) noexcept : cursor_(other.cursor_) { other.cursor_ = nullptr; }
  LmdbCursor& operator=(LmdbCursor&&) = delete;
  LmdbCursor(const LmdbCursor&) = delete;
  ~LmdbCursor() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }

  /// Moves the cursor; returns false at the end (MDB_NOTFOUND). `key` and `value` may be
  /// inputs (MDB_SET_RANGE) and outputs.
  Result<bool> move(MDB_val* key, MDB_val* value, MDB_cursor_op op);
  /// Deletes the entry under the cursor.
  Status erase();

 private:
  explicit LmdbCursor(MDB_cursor* cursor) : cursor_(cursor) {}
  MDB_cursor* cursor_;
};

/// Owns an LMDB environment opened on a directory (files data.mdb and lock.mdb inside).
///
/// Threading: transactions may be begun from any thread (MDB_NOTLS); LMDB serializes write
/// transactions itself and lets readers run beside the writer. set_map_size requires that no
/// transaction of this process is active; the caller enforces that.
class LmdbEnvironment {
 public:
  struct Options {
    int64_t map_size_bytes = 1LL << 30;
    bool sync = true;
    unsigned max_databases = 8;
    unsigned max_readers = 256;
  };

  /// Names the LMDB data file inside the directory.
  static constexpr const char* kDataFileName = "data.mdb";

  /// Opens or creates the environment in `directory` (which must exist). Refuses an empty,
  /// foreign, truncated or version-mismatched data file with corrupt, before any page beyond
  /// the two meta pages is touched. Clears reader slots left by dead processes.
  static Result<std::unique_ptr<LmdbEnvironment>> open(const std::string& directory,
                                                       const Options& options);
  ~LmdbEnvironment();

  LmdbEnvironment(const LmdbEnvironment&) = delete;
  LmdbEnvironment& operator=(const LmdbEnvironment&) = delete;

  Result<LmdbTransaction> begin_read() const;
  Result<LmdbTransaction> begin_write();

  /// Opens (creating) a named database inside a write transaction.
  Result<MDB_dbi> open_database(LmdbTransaction& txn, const char* name);

  /// Changes the map size; no transaction of this process may be active.
  Status set_map_size(int64_t bytes);
  int64_t map_size() const;
  /// Returns the bytes in use: (last used page + 1) * page size.
  int64_t used_bytes() const;
  /// Returns the largest key LMDB accepts (511 bytes for Debian's build).
  int64_t max_key_size() const;
  /// Returns the size of data.mdb on disk.
  Result<int64_t> data_file_bytes() const;

 private:
  LmdbEnvironment(MDB_env* env, std::string directory)
      : env_(env), directory_(std::move(directory)) {}

  Status check_not_truncated() const;

  MDB_env* env_;
  std::string directory_;
};

}  // namespace sluice
