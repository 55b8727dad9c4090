#include "state/keyed_table_store.hpp"

#include <filesystem>
#include <map>

#include "state/lmdb_environment.hpp"
#include "state/value_envelope.hpp"

namespace sluice {
namespace {

constexpr std::string_view kVersionKey = "sluice.table.version";
constexpr std::string_view kVersion = "1";
constexpr int64_t kMaxMapSize = 1LL << 40;

std::string encode_epoch(int64_t epoch) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((epoch >> (8 * i)) & 0xff);
  return bytes;
}

Result<int64_t> decode_epoch(std::string_view bytes) {
  if (bytes.size() != 8) return Status::corrupt("an epoch entry holds " + std::to_string(bytes.size()) + " bytes, not 8");
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= uint64_t{static_cast<unsigned char>(bytes[static_cast<size_t>(i)])} << (8 * i);
  return static_cast<int64_t>(value);
}

template <typename T>
Result<T> in_context(Result<T> result, const std::string& context) {
  if (result.ok()) return result;
  return result.status().with_context(context);
}

// One store per directory in this process (LMDB forbids opening an environment twice).
std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<KeyedTableStore>>& registry() {
  static std::map<std::string, std::weak_ptr<KeyedTableStore>> stores;
  return stores;
}

}  // namespace

KeyedTableStore::KeyedTableStore(std::string directory, std::unique_ptr<LmdbEnvironment> env,
                                 unsigned rows, unsigned meta, unsigned epochs)
    : directory_(std::move(directory)), env_(std::move(env)), rows_(rows), meta_(meta), epochs_(epochs) {}

KeyedTableStore::~KeyedTableStore() = default;

Result<std::shared_ptr<KeyedTableStore>> KeyedTableStore::open(const std::string& directory, bool create) {
  namespace fs = std::filesystem;
  std::error_code error;
  const bool exists = fs::exists(fs::path(directory) / LmdbEnvironment::kDataFileName, error);
  if (!exists && !create) return Status::not_found("no table at " + directory + " (no " + LmdbEnvironment::kDataFileName + ")");
  if (create) {
    fs::create_directories(directory, error);
    if (error) return Status::io_error("cannot create the table directory " + directory + ": " + error.message());
  }
  const std::string canonical = fs::weakly_canonical(directory, error).string();
  std::lock_guard<std::mutex> guard(registry_mutex);
  if (auto shared = registry()[canonical].lock()) return shared;

  const std::string where = "table " + directory;
  LmdbEnvironment::Options options;
  options.max_databases = 4;
  SLUICE_ASSIGN_OR_RETURN(auto env, in_context(LmdbEnvironment::open(directory, options), where));
  SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env->begin_write());
  SLUICE_ASSIGN_OR_RETURN(MDB_dbi meta, env->open_database(txn, "meta"));
  SLUICE_ASSIGN_OR_RETURN(MDB_dbi rows, env->open_database(txn, "rows"));
  SLUICE_ASSIGN_OR_RETURN(MDB_dbi epochs, env->open_database(txn, "epochs"));
  MDB_val stored;
  SLUICE_ASSIGN_OR_RETURN(bool has_version, txn.get(meta, kVersionKey, &stored));
  if (has_version) {
    SLUICE_ASSIGN_OR_RETURN(std::string_view version,
                            in_context(unseal_value(EnvelopeTag::meta, kVersionKey, lmdb_view(stored)), where));
    if (version != kVersion) {
      return Status::corrupt(where + " has format version '" + std::string(version) + "', this Sluice reads version " + std::string(kVersion));
    }
  } else {
    MDB_stat stat;
    mdb_stat(txn.get(), rows, &stat);
    if (stat.ms_entries != 0) return Status::corrupt(where + " holds rows but no format version: not a Sluice table, or a damaged one");
    SLUICE_RETURN_NOT_OK(txn.put(meta, kVersionKey, seal_value(EnvelopeTag::meta, kVersionKey, kVersion)));
  }
  SLUICE_RETURN_NOT_OK(txn.commit().with_context(where));
  auto store = std::shared_ptr<KeyedTableStore>(new KeyedTableStore(directory, std::move(env), rows, meta, epochs));
  registry()[canonical] = store;
  return store;
}

Result<bool> KeyedTableStore::apply(const EpochWrite& write) {
  std::lock_guard<std::mutex> writer(write_mutex_);
  int64_t size_hint = 0;
  for (const auto& [key, row] : write.upserts) {
    if (static_cast<int64_t>(key.size()) > env_->max_key_size()) {
      return Status::invalid_argument("a key of " + std::to_string(key.size()) + " bytes is too long for table " +
                                      directory_ + " (LMDB keys hold at most " + std::to_string(env_->max_key_size()) + ")");
    }
    size_hint += static_cast<int64_t>(key.size() + row.size() + kEnvelopeHeaderSize);
  }
  for (int attempt = 0;; ++attempt) {
    bool applied = false;
    Status status;
    bool map_full = false;
    {
      std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
      SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env_->begin_write());
      status = [&]() -> Status {
        MDB_val stored;
        SLUICE_ASSIGN_OR_RETURN(bool has_epoch, txn.get(epochs_, write.writer, &stored));
        if (has_epoch) {
          SLUICE_ASSIGN_OR_RETURN(std::string_view bytes, unseal_value(EnvelopeTag::meta, write.writer, lmdb_view(stored)));
          SLUICE_ASSIGN_OR_RETURN(int64_t last, decode_epoch(bytes));
          if (write.epoch <= last) return Status::ok();
        }
        if (write.replace_all) {
          if (int rc = mdb_drop(txn.get(), rows_, 0); rc != 0) return lmdb_status(rc, "clearing the rows");
        }
        for (const auto& [key, row] : write.upserts) {
          SLUICE_RETURN_NOT_OK(txn.put(rows_, key, seal_value(EnvelopeTag::state, key, row)));
        }
        for (const auto& [name, value] : write.metadata) {
          SLUICE_RETURN_NOT_OK(txn.put(meta_, name, seal_value(EnvelopeTag::meta, name, value)));
        }
        SLUICE_RETURN_NOT_OK(txn.put(epochs_, write.writer,
                                     seal_value(EnvelopeTag::meta, write.writer, encode_epoch(write.epoch))));
        applied = true;
        return Status::ok();
      }();
      if (status.is_ok()) status = txn.commit();
      if (status.is_ok()) return applied;
      map_full = txn.map_full();
    }
    if (!map_full || attempt > 0 || env_->map_size() >= kMaxMapSize) {
      return status.with_context("writing epoch " + std::to_string(write.epoch) + " to table " + directory_);
    }
    std::unique_lock<std::shared_mutex> map_lock(map_mutex_);
    const int64_t wanted = std::min(kMaxMapSize, std::max(env_->map_size() * 2, env_->map_size() + 4 * size_hint));
    SLUICE_RETURN_NOT_OK(env_->set_map_size((wanted + 4095) / 4096 * 4096));
  }
}

Result<std::optional<int64_t>> KeyedTableStore::last_epoch(std::string_view writer) const {
  std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
  SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env_->begin_read());
  MDB_val stored;
  SLUICE_ASSIGN_OR_RETURN(bool found, txn.get(epochs_, writer, &stored));
  if (!found) return std::optional<int64_t>();
  SLUICE_ASSIGN_OR_RETURN(std::string_view bytes, unseal_value(EnvelopeTag::meta, writer, lmdb_view(stored)));
  SLUICE_ASSIGN_OR_RETURN(int64_t epoch, decode_epoch(bytes));
  return std::optional<int64_t>(epoch);
}

Result<std::optional<std::string>> KeyedTableStore::metadata(std::string_view name) const {
  std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
  SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env_->begin_read());
  MDB_val stored;
  SLUICE_ASSIGN_OR_RETURN(bool found, txn.get(meta_, name, &stored));
  if (!found) return std::optional<std::string>();
  SLUICE_ASSIGN_OR_RETURN(std::string_view value,
                          in_context(unseal_value(EnvelopeTag::meta, name, lmdb_view(stored)),
                                     "table " + directory_ + ", entry '" + std::string(name) + "'"));
  return std::optional<std::string>(std::string(value));
}

Status KeyedTableStore::scan(const std::function<bool(std::string_view key, std::string_view row)>& fn) const {
  std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
  SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env_->begin_read());
  SLUICE_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::open(txn, rows_));
  MDB_val key;
  MDB_val value;
  for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
    SLUICE_ASSIGN_OR_RETURN(bool more, cursor.move(&key, &value, op));
    if (!more) return Status::ok();
    SLUICE_ASSIGN_OR_RETURN(std::string_view row,
                            in_context(unseal_value(EnvelopeTag::state, lmdb_view(key), lmdb_view(value)),
                                       "a row of table " + directory_));
    if (!fn(lmdb_view(key), row)) return Status::ok();
  }
}

int64_t KeyedTableStore::max_key_size() const { return env_->max_key_size(); }

}  // namespace sluice
