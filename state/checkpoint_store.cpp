#include "state/checkpoint_store.hpp"

#include "core/fault_injection.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "state/directory_lock.hpp"
#include "state/lmdb_environment.hpp"
#include "state/state_delta_log.hpp"
#include "state/value_envelope.hpp"

namespace sluice {
namespace {

// Versions the layout of the databases and their encodings; bumped on incompatible change.
// Version 2 added logged state tables (databases deltas and delta_progress): a version 1
// checkpoint has none, so it is read as is and marked version 2 on open.
constexpr uint32_t kLayoutVersion = 2;
constexpr uint32_t kOldestReadableLayoutVersion = 1;
constexpr std::string_view kLayoutVersionKey = "layout_version";
constexpr std::string_view kMetadataKey = "metadata";
constexpr char kTableSeparator = '\0';

std::string epoch_key(int64_t epoch) {
  std::string key(8, '\0');
  auto bits = static_cast<uint64_t>(epoch);
  for (int i = 0; i < 8; ++i)
    key[i] = static_cast<char>((bits >> (56 - 8 * i)) & 0xFF);
  return key;
}

Result<int64_t> decode_epoch_key(std::string_view key, const char* database) {
  if (key.size() != 8) {
    return Status::corrupt(std::string(database) + " holds a key of " + std::to_string(key.size()) +
                           " bytes; epoch keys are 8 bytes");
  }
  uint64_t bits = 0;
  for (char c : key)
    bits = (bits << 8) | static_cast<uint8_t>(c);
  auto epoch = static_cast<int64_t>(bits);
  if (epoch < 0) {
    return Status::corrupt(std::string(database) + " holds negative epoch " +
                           std::to_string(epoch));
  }
  return epoch;
}

void append_u32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

bool read_u32(std::string_view& in, uint32_t& value) {
  if (in.size() < 4) return false;
  value = 0;
  for (int i = 0; i < 4; ++i)
    value |= uint32_t{static_cast<uint8_t>(in[i])} << (8 * i);
  in.remove_prefix(4);
  return true;
}

bool read_string(std::string_view& in, std::string& value) {
  uint32_t size = 0;
  if (!read_u32(in, size) || in.size() < size) return false;
  value.assign(in.substr(0, size));
  in.remove_prefix(size);
  return true;
}

std::string encode_metadata(const CheckpointMetadata& metadata) {
  std::string out;
  append_u32(out, static_cast<uint32_t>(metadata.query_id.size()));
  out += metadata.query_id;
  append_u32(out, static_cast<uint32_t>(metadata.plan_fingerprint.size()));
  out += metadata.plan_fingerprint;
  append_u32(out, static_cast<uint32_t>(metadata.format_version));
  return out;
}

Result<CheckpointMetadata> decode_metadata(std::string_view in) {
  CheckpointMetadata metadata;
  uint32_t format_version = 0;
  if (!read_string(in, metadata.query_id) || !read_string(in, metadata.plan_fingerprint) ||
      !read_u32(in, format_version) || !in.empty()) {
    return Status::corrupt("meta entry 'metadata' is malformed");
  }
  metadata.format_version = static_cast<int32_t>(format_version);
  return metadata;
}

Status check_epoch(int64_t epoch) {
  if (epoch < 0) {
    return Status::invalid_argument("epoch " + std::to_string(epoch) +
                                    " is negative; epochs start at 0");
  }
  return Status::ok();
}

template <typename T>
Result<T> in_checkpoint(Result<T> result, const std::string& path) {
  if (result.ok()) return result;
  return result.status().with_context("checkpoint '" + path + "'");
}

Status in_checkpoint(const Status& status, const std::string& path) {
  return status.with_context("checkpoint '" + path + "'");
}

int64_t round_up(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

}  // namespace

std::string sink_log_table(std::string_view sink_name) {
  return "sink/" + std::string(sink_name);
}

CheckpointStore::CheckpointStore(std::string path, const CheckpointOptions& options)
    : path_(std::move(path)), options_(options) {}

CheckpointStore::~CheckpointStore() = default;

Result<std::unique_ptr<CheckpointStore>> CheckpointStore::open(const std::string& path,
                                                               const CheckpointOptions& options) {
  const std::string context = "cannot open checkpoint '" + path + "'";
  if (path.empty()) return Status::invalid_argument("cannot open checkpoint: the path is empty");
  if (options.map_size_bytes < (64 << 10)) {
    return Status::invalid_argument(context +
                                    ": map_size_bytes = " + std::to_string(options.map_size_bytes) +
                                    " is below the minimum of 65536");
  }
  if (options.max_map_size_bytes < options.map_size_bytes) {
    return Status::invalid_argument(
        context + ": max_map_size_bytes = " + std::to_string(options.max_map_size_bytes) +
        " is below map_size_bytes = " + std::to_string(options.map_size_bytes));
  }
  if (options.min_batches_to_retain < 1) {
    return Status::invalid_argument(
        context + ": min_batches_to_retain = " + std::to_string(options.min_batches_to_retain) +
        " must be at least 1");
  }
  if (options.compaction_round_epochs < 1) {
    return Status::invalid_argument(
        context + ": compaction_round_epochs = " + std::to_string(options.compaction_round_epochs) +
        " must be at least 1");
  }
  if (options.max_uncommitted_epochs < 1) {
    return Status::invalid_argument(
        context + ": max_uncommitted_epochs = " + std::to_string(options.max_uncommitted_epochs) +
        " must be at least 1");
  }

  std::error_code error;
  if (std::filesystem::exists(path, error) && !std::filesystem::is_directory(path, error)) {
    return Status::invalid_argument(context + ": it exists and is not a directory");
  }
  std::filesystem::create_directories(path, error);
  if (error) {
    return Status::io_error(context + ": cannot create the directory: " + error.message());
  }

  std::unique_ptr<CheckpointStore> store(new CheckpointStore(path, options));
  auto lock = DirectoryLock::acquire(path);
  if (!lock.ok()) return lock.status().with_context(context);
  store->lock_ = std::move(lock).value();

  LmdbEnvironment::Options env_options;
  env_options.map_size_bytes = round_up(options.map_size_bytes, 4096);
  env_options.sync = options.sync;
  auto env = LmdbEnvironment::open(path, env_options);
  if (!env.ok()) return env.status().with_context(context);
  store->env_ = std::move(env).value();

  Status status = store->initialize();
  if (!status.is_ok()) return status.with_context(context);
  return store;
}

Status CheckpointStore::initialize() {
  return write(0, [&](LmdbTransaction& txn) -> Status {
    SLUICE_ASSIGN_OR_RETURN(databases_.meta, env_->open_database(txn, "meta"));
    SLUICE_ASSIGN_OR_RETURN(databases_.offsets, env_->open_database(txn, "offsets"));
    SLUICE_ASSIGN_OR_RETURN(databases_.commits, env_->open_database(txn, "commits"));
    SLUICE_ASSIGN_OR_RETURN(databases_.state, env_->open_database(txn, "state"));
    SLUICE_ASSIGN_OR_RETURN(databases_.deltas, env_->open_database(txn, "deltas"));
    SLUICE_ASSIGN_OR_RETURN(databases_.delta_progress, env_->open_database(txn, "delta_progress"));
    delta_log_ = std::make_unique<StateDeltaLog>(
        StateDeltaLog::Databases{databases_.state, databases_.deltas, databases_.delta_progress},
        options_.compaction_round_epochs);
    std::string current_version;
    append_u32(current_version, kLayoutVersion);

    MDB_val stored;
    SLUICE_ASSIGN_OR_RETURN(bool found, txn.get(databases_.meta, kLayoutVersionKey, &stored));
    if (found) {
      auto payload = unseal_value(EnvelopeTag::meta, kLayoutVersionKey, lmdb_view(stored));
      if (!payload.ok()) return payload.status().with_context("meta entry 'layout_version'");
      std::string_view bytes = *payload;
      uint32_t version = 0;
      if (!read_u32(bytes, version) || !bytes.empty()) {
        return Status::corrupt("meta entry 'layout_version' is malformed");
      }
      if (version < kOldestReadableLayoutVersion || version > kLayoutVersion) {
        return Status::corrupt("checkpoint layout version " + std::to_string(version) +
                               " is not supported (this build reads versions " +
                               std::to_string(kOldestReadableLayoutVersion) + " to " +
                               std::to_string(kLayoutVersion) + ")");
      }
      if (version == kLayoutVersion) return Status::ok();
      return txn.put(databases_.meta, kLayoutVersionKey,
                     seal_value(EnvelopeTag::meta, kLayoutVersionKey, current_version));
    }
    // A fresh environment: it must be empty, or it was written by something else.
    for (auto [dbi, name] :
         {std::pair{databases_.meta, "meta"}, std::pair{databases_.offsets, "offsets"},
          std::pair{databases_.commits, "commits"}, std::pair{databases_.state, "state"},
          std::pair{databases_.deltas, "deltas"},
          std::pair{databases_.delta_progress, "delta_progress"}}) {
      MDB_stat stat;
      SLUICE_RETURN_NOT_OK(lmdb_status(mdb_stat(txn.get(), dbi, &stat), "mdb_stat"));
      if (stat.ms_entries != 0) {
        return Status::corrupt(std::string("database '") + name + "' holds " +
                               std::to_string(stat.ms_entries) +
                               " entries but meta has no layout version: not a Sluice "
                               "checkpoint, or a damaged one");
      }
    }
    return txn.put(databases_.meta, kLayoutVersionKey,
                   seal_value(EnvelopeTag::meta, kLayoutVersionKey, current_version));
  });
}

Status CheckpointStore::read(const std::function<Status(const LmdbTransaction&)>& body) const {
  std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
  SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env_->begin_read());
  return body(txn);
}

Status CheckpointStore::write(int64_t size_hint,
                              const std::function<Status(LmdbTransaction&)>& body) {
  std::lock_guard<std::mutex> writer(write_mutex_);
  for (int attempt = 0;; ++attempt) {
    Status status;
    bool map_full = false;
    {
      std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
      SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env_->begin_write());
      status = body(txn);
      if (status.is_ok()) status = txn.commit();
      if (status.is_ok()) return status;
      map_full = txn.map_full();
    }  // aborts the transaction (if not committed) before the map may be resized
    if (!map_full) return status;
    if (attempt > 0) break;
    SLUICE_RETURN_NOT_OK(grow_map(size_hint));
  }
  return Status::io_error("checkpoint full: a transaction of about " + std::to_string(size_hint) +
                          " bytes does not fit in the map of " + std::to_string(env_->map_size()) +
                          " bytes even after growing it (max_map_size_bytes = " +
                          std::to_string(options_.max_map_size_bytes) + ")");
}

Status CheckpointStore::grow_map(int64_t size_hint) {
  std::unique_lock<std::shared_mutex> map_lock(map_mutex_);
  int64_t current = env_->map_size();
  if (current >= options_.max_map_size_bytes) {
    return Status::io_error(
        "checkpoint full: the map of " + std::to_string(current) +
        " bytes is at max_map_size_bytes = " + std::to_string(options_.max_map_size_bytes));
  }
  // Doubling keeps growth rare; the hint covers one transaction much larger than the map.
  int64_t wanted = std::max(current * 2, current + 4 * size_hint + int64_t{16 << 20});
  wanted = std::min(round_up(wanted, 4096), options_.max_map_size_bytes);
  return env_->set_map_size(wanted);
}

Status CheckpointStore::check_state_key(std::string_view table, std::string_view key) const {
  if (table.empty()) return Status::invalid_argument("state table name is empty");
  if (table.find(kTableSeparator) != std::string_view::npos) {
    return Status::invalid_argument("state table name '" + printable_bytes(table) +
                                    "' contains a zero byte");
  }
  auto size = static_cast<int64_t>(table.size() + 1 + key.size());
  if (size > env_->max_key_size()) {
    return Status::invalid_argument(
        "state key '" + printable_bytes(key) + "' of table '" + printable_bytes(table) +
        "' is too long: table name + 1 + key = " + std::to_string(size) +
        " bytes, LMDB keys hold at most " + std::to_string(env_->max_key_size()));
  }
  return Status::ok();
}

const char* CheckpointStore::name_of(EpochLog log) {
  return log == EpochLog::offsets ? "offsets" : "commits";
}

unsigned int CheckpointStore::database_of(EpochLog log) const {
  return log == EpochLog::offsets ? databases_.offsets : databases_.commits;
}

Result<std::optional<std::string>> CheckpointStore::verified_entry(const LmdbTransaction& txn,
                                                                   EpochLog log,
                                                                   int64_t epoch) const {
  const std::string key = epoch_key(epoch);
  MDB_val stored;
  SLUICE_ASSIGN_OR_RETURN(bool found, txn.get(database_of(log), key, &stored));
  if (!found) return std::optional<std::string>();
  auto tag = log == EpochLog::offsets ? EnvelopeTag::offsets : EnvelopeTag::commits;
  auto payload = unseal_value(tag, key, lmdb_view(stored));
  if (!payload.ok()) {
    return payload.status().with_context(std::string(name_of(log)) + " entry of epoch " +
                                         std::to_string(epoch));
  }
  return std::optional<std::string>(std::string(*payload));
}

Result<std::optional<int64_t>> CheckpointStore::edge_epoch(const LmdbTransaction& txn, EpochLog log,
                                                           bool last) const {
  SLUICE_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::open(txn, database_of(log)));
  MDB_val key;
  MDB_val value;
  SLUICE_ASSIGN_OR_RETURN(bool found, cursor.move(&key, &value, last ? MDB_LAST : MDB_FIRST));
  if (!found) return std::optional<int64_t>();
  SLUICE_ASSIGN_OR_RETURN(int64_t epoch, decode_epoch_key(lmdb_view(key), name_of(log)));
  return std::optional<int64_t>(epoch);
}

Result<std::optional<std::string>> CheckpointStore::read_epoch_entry(EpochLog log,
                                                                     int64_t epoch) const {
  SLUICE_RETURN_NOT_OK(check_epoch(epoch));
  std::optional<std::string> entry;
  SLUICE_RETURN_NOT_OK(read([&](const LmdbTransaction& txn) -> Status {
    SLUICE_ASSIGN_OR_RETURN(entry, verified_entry(txn, log, epoch));
    return Status::ok();
  }));
  return entry;
}

Status CheckpointStore::purge_before(LmdbTransaction& txn, EpochLog log, int64_t epoch) {
  SLUICE_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::open(txn, database_of(log)));
  while (true) {
    MDB_val key;
    MDB_val value;
    SLUICE_ASSIGN_OR_RETURN(bool found, cursor.move(&key, &value, MDB_FIRST));
    if (!found) return Status::ok();
    SLUICE_ASSIGN_OR_RETURN(int64_t oldest, decode_epoch_key(lmdb_view(key), name_of(log)));
    if (oldest >= epoch) return Status::ok();
    SLUICE_RETURN_NOT_OK(cursor.erase());
  }
}

Result<std::optional<CheckpointMetadata>> CheckpointStore::read_metadata() const {
  std::optional<CheckpointMetadata> metadata;
  Status status = read([&](const LmdbTransaction& txn) -> Status {
    MDB_val stored;
    SLUICE_ASSIGN_OR_RETURN(bool found, txn.get(databases_.meta, kMetadataKey, &stored));
    if (!found) return Status::ok();
    auto payload = unseal_value(EnvelopeTag::meta, kMetadataKey, lmdb_view(stored));
    if (!payload.ok()) return payload.status().with_context("meta entry 'metadata'");
    SLUICE_ASSIGN_OR_RETURN(metadata, decode_metadata(*payload));
    return Status::ok();
  });
  if (!status.is_ok()) return in_checkpoint(status, path_);
  return metadata;
}

Status CheckpointStore::write_metadata(const CheckpointMetadata& metadata) {
  if (metadata.query_id.empty()) {
    return in_checkpoint(Status::invalid_argument("metadata query_id is empty"), path_);
  }
  std::string sealed = seal_value(EnvelopeTag::meta, kMetadataKey, encode_metadata(metadata));
  Status status = write(static_cast<int64_t>(sealed.size()), [&](LmdbTransaction& txn) {
    return txn.put(databases_.meta, kMetadataKey, sealed);
  });
  return in_checkpoint(status, path_);
}

Status CheckpointStore::write_offsets(int64_t epoch, std::string_view offsets) {
  Status status = check_epoch(epoch);
  if (!status.is_ok()) return in_checkpoint(status, path_);
  const std::string key = epoch_key(epoch);
  const std::string sealed = seal_value(EnvelopeTag::offsets, key, offsets);
  const std::string refusal = "cannot log offsets for epoch " + std::to_string(epoch) + ": ";
  status = write(static_cast<int64_t>(sealed.size()), [&](LmdbTransaction& txn) -> Status {
    SLUICE_ASSIGN_OR_RETURN(auto committed, edge_epoch(txn, EpochLog::commits, /*last=*/true));
    if (committed && epoch <= *committed) {
      return Status::invalid_argument(refusal + "epoch " + std::to_string(*committed) +
                                      " is already committed, only later epochs can be logged");
    }
    SLUICE_ASSIGN_OR_RETURN(auto existing, verified_entry(txn, EpochLog::offsets, epoch));
    if (existing) {
      if (*existing == offsets) return Status::ok();  // an idempotent rewrite writes nothing
      return Status::invalid_argument(
          refusal + "they are already logged with different contents (" +
          std::to_string(existing->size()) + " bytes logged, " + std::to_string(offsets.size()) +
          " bytes given); a logged range must never change");
    }
    SLUICE_ASSIGN_OR_RETURN(auto latest, edge_epoch(txn, EpochLog::offsets, /*last=*/true));
    std::optional<int64_t> expected;
    if (latest) {
      expected = *latest + 1;
    } else if (committed) {
      expected = *committed + 1;
    }
    if (expected && epoch != *expected) {
      return Status::invalid_argument(
          refusal + "the next epoch to log is " + std::to_string(*expected) + " (latest logged " +
          (latest ? std::to_string(*latest) : std::string("none")) + ", latest committed " +
          (committed ? std::to_string(*committed) : std::string("none")) +
          "); epochs are logged in order without gaps");
    }
    int64_t uncommitted = 1;
    if (committed) {
      uncommitted = epoch - *committed;
    } else if (latest) {
      SLUICE_ASSIGN_OR_RETURN(auto oldest, edge_epoch(txn, EpochLog::offsets, /*last=*/false));
      uncommitted = epoch - *oldest + 1;
    }
    if (uncommitted > options_.max_uncommitted_epochs) {
      return Status::invalid_argument(
          refusal + "it would make " + std::to_string(uncommitted) +
          " epochs uncommitted (latest committed " +
          (committed ? std::to_string(*committed) : std::string("none")) +
          "), more than max_uncommitted_epochs = " +
          std::to_string(options_.max_uncommitted_epochs));
    }
    return txn.put(databases_.offsets, key, sealed);
  });
  return in_checkpoint(status, path_);
}

Result<std::optional<std::string>> CheckpointStore::read_offsets(int64_t epoch) const {
  return in_checkpoint(read_epoch_entry(EpochLog::offsets, epoch), path_);
}

Result<std::optional<std::string>> CheckpointStore::read_commit(int64_t epoch) const {
  return in_checkpoint(read_epoch_entry(EpochLog::commits, epoch), path_);
}

Result<std::optional<int64_t>> CheckpointStore::latest_offsets_epoch() const {
  std::optional<int64_t> epoch;
  Status status = read([&](const LmdbTransaction& txn) -> Status {
    SLUICE_ASSIGN_OR_RETURN(epoch, edge_epoch(txn, EpochLog::offsets, true));
    return Status::ok();
  });
  if (!status.is_ok()) return in_checkpoint(status, path_);
  return epoch;
}

Result<std::optional<int64_t>> CheckpointStore::latest_committed_epoch() const {
  std::optional<int64_t> epoch;
  Status status = read([&](const LmdbTransaction& txn) -> Status {
    SLUICE_ASSIGN_OR_RETURN(epoch, edge_epoch(txn, EpochLog::commits, true));
    return Status::ok();
  });
  if (!status.is_ok()) return in_checkpoint(status, path_);
  return epoch;
}

Status CheckpointStore::commit_epoch(const EpochCommit& commit) {
  const int64_t epoch = commit.epoch;
  const std::string refusal = "cannot commit epoch " + std::to_string(epoch) + ": ";
  Status status = check_epoch(epoch);
  if (!status.is_ok()) return in_checkpoint(status, path_);
  int64_t size_hint = static_cast<int64_t>(commit.commit_metadata.size());
  for (size_t i = 0; i < commit.state_changes.size(); ++i) {
    const StateChange& change = commit.state_changes[i];
    status = check_state_key(change.table, change.key);
    if (!status.is_ok()) {
      return in_checkpoint(status.with_context(refusal + "state change " + std::to_string(i)),
                           path_);
    }
    size_hint += static_cast<int64_t>(change.table.size() + change.key.size() +
                                      (change.value ? change.value->size() : 0) + 32);
  }
  for (const TableDelta& delta : commit.table_deltas) {
    for (const LoggedChange& change : delta.changes) {
      status = check_state_key(delta.table, change.key);
      if (!status.is_ok()) {
        return in_checkpoint(status.with_context(refusal + "delta of table '" +
                                                 printable_bytes(delta.table) + "' partition " +
                                                 std::to_string(delta.partition)),
                             path_);
      }
      size_hint += static_cast<int64_t>(change.key.size() +
                                        (change.value ? change.value->size() : 0) + 16);
    }
  }
  const std::string key = epoch_key(epoch);
  const std::string sealed_commit = seal_value(EnvelopeTag::commits, key, commit.commit_metadata);

  status = write(size_hint, [&](LmdbTransaction& txn) -> Status {
    SLUICE_ASSIGN_OR_RETURN(auto committed, edge_epoch(txn, EpochLog::commits, /*last=*/true));
    if (committed && epoch <= *committed) {
      return Status::invalid_argument(refusal + "it is already committed (latest committed " +
                                      std::to_string(*committed) + ")");
    }
    if (committed && epoch != *committed + 1) {
      return Status::invalid_argument(
          refusal + "the latest committed epoch is " + std::to_string(*committed) +
          ", and epochs commit in order, so the next is " + std::to_string(*committed + 1));
    }
    SLUICE_ASSIGN_OR_RETURN(auto offsets, verified_entry(txn, EpochLog::offsets, epoch));
    if (!offsets) {
      return Status::invalid_argument(
          refusal + "no offsets are logged for it (write_offsets must come first)");
    }
    if (!committed) {
      SLUICE_ASSIGN_OR_RETURN(auto oldest, edge_epoch(txn, EpochLog::offsets, /*last=*/false));
      if (oldest && epoch != *oldest) {
        return Status::invalid_argument(refusal + "nothing is committed yet and epoch " +
                                        std::to_string(*oldest) +
                                        " is the oldest logged one; epochs commit in order");
      }
    }
    for (const StateChange& change : commit.state_changes) {
      const std::string composite = state_table_key(change.table, change.key);
      if (change.value) {
        SLUICE_RETURN_NOT_OK(txn.put(databases_.state, composite,
                                     seal_value(EnvelopeTag::state, composite, *change.value)));
      } else {
        SLUICE_RETURN_NOT_OK(txn.erase(databases_.state, composite));
      }
    }
    // Compaction first: it views only records of committed epochs, on pages that do not move.
    SLUICE_RETURN_NOT_OK(delta_log_->compact(txn));
    for (const TableDelta& delta : commit.table_deltas) {
      SLUICE_RETURN_NOT_OK(
          delta_log_->append(txn, delta.table, delta.partition, epoch, delta.changes));
    }
    SLUICE_RETURN_NOT_OK(txn.put(databases_.commits, key, sealed_commit));
    const int64_t keep_from = epoch - options_.min_batches_to_retain + 1;
    if (keep_from > 0) {
      SLUICE_RETURN_NOT_OK(purge_before(txn, EpochLog::offsets, keep_from));
      SLUICE_RETURN_NOT_OK(purge_before(txn, EpochLog::commits, keep_from));
    }
    // Everything of the epoch is in the open transaction: a crash here must leave none of it.
    return fault_point(FaultPoint::during_commit, epoch);
  });
  return in_checkpoint(status, path_);
}

Result<std::optional<std::string>> CheckpointStore::get_state(std::string_view table,
                                                              std::string_view key) const {
  Status status = check_state_key(table, key);
  if (!status.is_ok()) return in_checkpoint(status, path_);
  std::optional<std::string> value;
  status = read([&](const LmdbTransaction& txn) -> Status {
    SLUICE_ASSIGN_OR_RETURN(value, delta_log_->get(txn, table, key));
    return Status::ok();
  });
  if (!status.is_ok()) return in_checkpoint(status, path_);
  return value;
}

Status CheckpointStore::scan_state(
    std::string_view table,
    const std::function<bool(std::string_view key, std::string_view value)>& fn) const {
  return scan_state_prefix(table, {}, fn);
}

Status CheckpointStore::scan_state_prefix(
    std::string_view table, std::string_view prefix,
    const std::function<bool(std::string_view key, std::string_view value)>& fn) const {
  Status status = check_state_key(table, {});
  if (!status.is_ok()) return in_checkpoint(status, path_);
  const std::string start = state_table_key(table, prefix);
  // No stored key can be longer than LMDB's limit, so a longer prefix matches nothing.
  if (static_cast<int64_t>(start.size()) > env_->max_key_size()) return Status::ok();
  status = read([&](const LmdbTransaction& txn) { return delta_log_->scan(txn, table, prefix, fn); });
  return in_checkpoint(status, path_);
}

Result<CheckpointStats> CheckpointStore::stats() const {
  CheckpointStats stats;
  Status status = read([&](const LmdbTransaction& txn) -> Status {
    for (auto [dbi, entries] : {std::pair{databases_.meta, &stats.meta_entries},
                                std::pair{databases_.offsets, &stats.offsets_entries},
                                std::pair{databases_.commits, &stats.commits_entries},
                                std::pair{databases_.state, &stats.state_entries}}) {
      MDB_stat stat;
      SLUICE_RETURN_NOT_OK(lmdb_status(mdb_stat(txn.get(), dbi, &stat), "mdb_stat"));
      *entries = static_cast<int64_t>(stat.ms_entries);
    }
    SLUICE_ASSIGN_OR_RETURN(stats.oldest_committed_epoch,
                            edge_epoch(txn, EpochLog::commits, false));
    SLUICE_ASSIGN_OR_RETURN(stats.latest_committed_epoch, edge_epoch(txn, EpochLog::commits, true));
    SLUICE_ASSIGN_OR_RETURN(stats.oldest_offsets_epoch, edge_epoch(txn, EpochLog::offsets, false));
    SLUICE_ASSIGN_OR_RETURN(stats.latest_offsets_epoch, edge_epoch(txn, EpochLog::offsets, true));
    SLUICE_ASSIGN_OR_RETURN(stats.delta_records, delta_log_->num_records(txn));
    stats.used_bytes = env_->used_bytes();
    stats.map_size_bytes = env_->map_size();
    return Status::ok();
  });
  if (!status.is_ok()) return in_checkpoint(status, path_);
  stats.epochs_retained = stats.commits_entries;
  auto file_bytes = env_->data_file_bytes();
  if (!file_bytes.ok()) return in_checkpoint(file_bytes.status(), path_);
  stats.data_file_bytes = *file_bytes;
  return stats;
}

}  // namespace sluice
