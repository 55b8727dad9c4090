#include "state/lmdb_environment.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace sluice {

Status lmdb_status(int rc, std::string_view operation) {
  if (rc == MDB_SUCCESS) return Status::ok();
  std::string message = std::string(operation) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INCOMPATIBLE:
    case MDB_BAD_VALSIZE:
      return Status::corrupt(std::move(message));
    default:
      return Status::io_error(std::move(message));
  }
}

Result<bool> LmdbTransaction::get(MDB_dbi dbi, std::string_view key, MDB_val* value) const {
  MDB_val key_value = lmdb_value(key);
  int rc = mdb_get(txn_, dbi, &key_value, value);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != MDB_SUCCESS) return lmdb_status(rc, "mdb_get");
  return true;
}

Status LmdbTransaction::check_write(int rc, std::string_view operation) {
  if (rc == MDB_MAP_FULL) map_full_ = true;
  return lmdb_status(rc, operation);
}

Status LmdbTransaction::put(MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val key_value = lmdb_value(key);
  MDB_val data_value = lmdb_value(value);
  return check_write(mdb_put(txn_, dbi, &key_value, &data_value, 0), "mdb_put");
}

Status LmdbTransaction::erase(MDB_dbi dbi, std::string_view key) {
  MDB_val key_value = lmdb_value(key);
  int rc = mdb_del(txn_, dbi, &key_value, nullptr);
  if (rc == MDB_NOTFOUND) return Status::ok();
  return check_write(rc, "mdb_del");
}

Status LmdbTransaction::commit() {
  MDB_txn* txn = txn_;
  txn_ = nullptr;  // mdb_txn_commit frees the transaction even when it fails
  return check_write(mdb_txn_commit(txn), "mdb_txn_commit");
}

Result<LmdbCursor> LmdbCursor::open(const LmdbTransaction& txn, MDB_dbi dbi) {
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn.get(), dbi, &cursor);
  if (rc != MDB_SUCCESS) return lmdb_status(rc, "mdb_cursor_open");
  return LmdbCursor(cursor);
}

Result<bool> LmdbCursor::move(MDB_val* key, MDB_val* value, MDB_cursor_op op) {
  int rc = mdb_cursor_get(cursor_, key, value, op);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != MDB_SUCCESS) return lmdb_status(rc, "mdb_cursor_get");
  return true;
}

Status LmdbCursor::erase() {
  return lmdb_status(mdb_cursor_del(cursor_, 0), "mdb_cursor_del");
}

Result<std::unique_ptr<LmdbEnvironment>> LmdbEnvironment::open(const std::string& directory,
                                                               const Options& options) {
  std::string data_file = directory + "/" + kDataFileName;
  struct stat data_stat;
  bool exists = false;
  if (::stat(data_file.c_str(), &data_stat) == 0) {
    exists = true;
    if (!S_ISREG(data_stat.st_mode)) {
      return Status::corrupt("'" + data_file + "' is not a regular file");
    }
    // LMDB would silently initialize an empty file as a new environment, losing the checkpoint
    // that a truncation to zero destroyed; a fresh checkpoint has no data file at all.
    if (data_stat.st_size == 0) {
      return Status::corrupt("'" + data_file +
                             "' is empty (truncated?); a new checkpoint has no data file, so an "
                             "empty one means the checkpoint was damaged");
    }
  } else if (errno != ENOENT) {
    return Status::io_error("cannot stat '" + data_file + "': " + std::strerror(errno));
  }

  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != MDB_SUCCESS) return lmdb_status(rc, "mdb_env_create");
  // The owner closes the handle on every path, including a failed mdb_env_open.
  std::unique_ptr<LmdbEnvironment> owner(new LmdbEnvironment(env, directory));

  SLUICE_RETURN_NOT_OK(
      lmdb_status(mdb_env_set_maxdbs(env, options.max_databases), "mdb_env_set_maxdbs"));
  SLUICE_RETURN_NOT_OK(
      lmdb_status(mdb_env_set_maxreaders(env, options.max_readers), "mdb_env_set_maxreaders"));
  // For an existing file the map size is left unset, so that LMDB adopts the size recorded in
  // it (a map grown by an earlier run stays grown); it is raised to the request after opening.
  if (!exists) {
    SLUICE_RETURN_NOT_OK(
        lmdb_status(mdb_env_set_mapsize(env, static_cast<size_t>(options.map_size_bytes)),
                    "mdb_env_set_mapsize"));
  }
  unsigned flags = MDB_NOTLS | (options.sync ? 0u : MDB_NOSYNC);
  rc = mdb_env_open(env, directory.c_str(), flags, 0644);
  if (rc == MDB_INVALID) {
    return Status::corrupt("'" + data_file +
                           "' is not an LMDB environment (no valid meta page: garbage or a "
                           "truncated header)");
  }
  if (rc == MDB_VERSION_MISMATCH) {
    return Status::corrupt("'" + data_file + "' was written by an incompatible LMDB version");
  }
  if (rc != MDB_SUCCESS) {
    return lmdb_status(rc, "mdb_env_open('" + directory + "')");
  }
  SLUICE_RETURN_NOT_OK(owner->check_not_truncated());

  int dead_readers = 0;
  SLUICE_RETURN_NOT_OK(lmdb_status(mdb_reader_check(env, &dead_readers), "mdb_reader_check"));

  MDB_envinfo info;
  SLUICE_RETURN_NOT_OK(lmdb_status(mdb_env_info(env, &info), "mdb_env_info"));
  if (static_cast<int64_t>(info.me_mapsize) < options.map_size_bytes) {
    SLUICE_RETURN_NOT_OK(owner->set_map_size(options.map_size_bytes));
  }
  return owner;
}

Status LmdbEnvironment::check_not_truncated() const {
  // Pages past the end of the file would be mapped but unbacked: touching them raises SIGBUS.
  // The meta page names the last page in use, so a shorter file is detected before any access.
  MDB_envinfo info;
  SLUICE_RETURN_NOT_OK(lmdb_status(mdb_env_info(env_, &info), "mdb_env_info"));
  MDB_stat stat;
  SLUICE_RETURN_NOT_OK(lmdb_status(mdb_env_stat(env_, &stat), "mdb_env_stat"));
  int64_t needed = (static_cast<int64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
  SLUICE_ASSIGN_OR_RETURN(int64_t actual, data_file_bytes());
  if (actual < needed) {
    return Status::corrupt(
        "'" + directory_ + "/" + kDataFileName + "' is truncated: " + std::to_string(actual) +
        " bytes, but its meta page references " + std::to_string(info.me_last_pgno + 1) +
        " pages of " + std::to_string(stat.ms_psize) + " bytes (" + std::to_string(needed) +
        " bytes)");
  }
  return Status::ok();
}

LmdbEnvironment::~LmdbEnvironment() {
  mdb_env_close(env_);
}

Result<LmdbTransaction> LmdbEnvironment::begin_read() const {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != MDB_SUCCESS) return lmdb_status(rc, "mdb_txn_begin(read)");
  return LmdbTransaction(txn);
}

Result<LmdbTransaction> LmdbEnvironment::begin_write() {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != MDB_SUCCESS) return lmdb_status(rc, "mdb_txn_begin(write)");
  return LmdbTransaction(txn);
}

Result<MDB_dbi> LmdbEnvironment::open_database(LmdbTransaction& txn, const char* name) {
  MDB_dbi dbi = 0;
  int rc = mdb_dbi_open(txn.get(), name, MDB_CREATE, &dbi);
  if (rc == MDB_INCOMPATIBLE) {
    return Status::corrupt(std::string("database '") + name +
                           "' exists with other flags, or the name holds a plain key: this "
                           "is not a Sluice checkpoint");
  }
  if (rc != MDB_SUCCESS) return lmdb_status(rc, std::string("mdb_dbi_open('") + name + "')");
  return dbi;
}

Status LmdbEnvironment::set_map_size(int64_t bytes) {
  return lmdb_status(mdb_env_set_mapsize(env_, static_cast<size_t>(bytes)), "mdb_env_set_mapsize");
}

int64_t LmdbEnvironment::map_size() const {
  MDB_envinfo info;
  if (mdb_env_info(env_, &info) != MDB_SUCCESS) return 0;
  return static_cast<int64_t>(info.me_mapsize);
}

int64_t LmdbEnvironment::used_bytes() const {
  MDB_envinfo info;
  MDB_stat stat;
  if (mdb_env_info(env_, &info) != MDB_SUCCESS || mdb_env_stat(env_, &stat) != MDB_SUCCESS) {
    return 0;
  }
  return (static_cast<int64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
}

int64_t LmdbEnvironment::max_key_size() const {
  return mdb_env_get_maxkeysize(env_);
}

Result<int64_t> LmdbEnvironment::data_file_bytes() const {
  std::string data_file = directory_ + "/" + kDataFileName;
  struct stat data_stat;
  if (::stat(data_file.c_str(), &data_stat) != 0) {
    return Status::io_error("cannot stat '" + data_file + "': " + std::strerror(errno));
  }
  return static_cast<int64_t>(data_stat.st_size);
}

}  // namespace sluice
