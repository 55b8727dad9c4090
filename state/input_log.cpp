#include "state/input_log.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "state/directory_lock.hpp"
#include "state/lmdb_environment.hpp"
#include "state/value_envelope.hpp"

namespace sluice {
namespace {

constexpr std::string_view kHeaderKey = "header";
constexpr std::string_view kBeginKey = "begin";

std::string position_key(int64_t position) {
  std::string key(8, '\0');
  auto bits = static_cast<uint64_t>(position);
  for (int i = 0; i < 8; ++i)
    key[i] = static_cast<char>((bits >> (56 - 8 * i)) & 0xFF);
  return key;
}

int64_t decode_position_key(std::string_view key) {
  uint64_t bits = 0;
  for (char c : key)
    bits = (bits << 8) | static_cast<uint8_t>(c);
  return static_cast<int64_t>(bits);
}

std::string encode_int64(int64_t value) {
  std::string out(8, '\0');
  auto bits = static_cast<uint64_t>(value);
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((bits >> (8 * i)) & 0xFF);
  return out;
}

Result<int64_t> decode_int64(std::string_view bytes, std::string_view what) {
  if (bytes.size() < 8) return Status::corrupt(std::string(what) + " is shorter than 8 bytes");
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i)
    bits |= uint64_t{static_cast<uint8_t>(bytes[i])} << (8 * i);
  return static_cast<int64_t>(bits);
}

}  // namespace

InputLog::InputLog(std::string directory) : directory_(std::move(directory)) {}

InputLog::~InputLog() = default;

Result<std::unique_ptr<InputLog>> InputLog::open(
    const std::string& directory, std::string_view header, const InputLogOptions& options,
    const std::function<std::string(std::string_view header)>& describe_header) {
  const std::string context = "cannot open input log '" + directory + "'";
  if (directory.empty())
    return Status::invalid_argument("cannot open input log: the path is empty");
  std::error_code error;
  if (std::filesystem::exists(directory, error) &&
      !std::filesystem::is_directory(directory, error)) {
    return Status::invalid_argument(context + ": it exists and is not a directory");
  }
  std::filesystem::create_directories(directory, error);
  if (error) return Status::io_error(context + ": cannot create the directory: " + error.message());

  std::unique_ptr<InputLog> log(new InputLog(directory));
  auto lock = DirectoryLock::acquire(directory);
  if (!lock.ok()) return lock.status().with_context(context);
  log->lock_ = std::move(lock).value();
  LmdbEnvironment::Options env_options;
  env_options.map_size_bytes = (options.map_size_bytes + 4095) / 4096 * 4096;
  env_options.sync = options.sync;
  auto env = LmdbEnvironment::open(directory, env_options);
  if (!env.ok()) return env.status().with_context(context);
  log->env_ = std::move(env).value();
  Status status = log->initialize(header, describe_header);
  if (!status.is_ok()) return status.with_context(context);
  return log;
}

Status InputLog::initialize(
    std::string_view header,
    const std::function<std::string(std::string_view header)>& describe_header) {
  SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env_->begin_write());
  SLUICE_ASSIGN_OR_RETURN(meta_, env_->open_database(txn, "meta"));
  SLUICE_ASSIGN_OR_RETURN(entries_, env_->open_database(txn, "entries"));
  MDB_val stored;
  SLUICE_ASSIGN_OR_RETURN(bool found, txn.get(meta_, kHeaderKey, &stored));
  if (found) {
    auto existing = unseal_value(EnvelopeTag::input_log, kHeaderKey, lmdb_view(stored));
    if (!existing.ok()) return existing.status().with_context("meta entry 'header'");
    if (*existing != header) {
      return Status::invalid_argument("it holds entries of " + describe_header(*existing) +
                                      ", not of " + describe_header(header));
    }
  } else {
    // A fresh log: anything already in the environment means it is something else (a checkpoint).
    for (auto [dbi, name] : {std::pair{meta_, "meta"}, std::pair{entries_, "entries"}}) {
      MDB_stat stat;
      SLUICE_RETURN_NOT_OK(lmdb_status(mdb_stat(txn.get(), dbi, &stat), "mdb_stat"));
      if (stat.ms_entries != 0) {
        return Status::corrupt(
            std::string("database '") + name + "' holds " + std::to_string(stat.ms_entries) +
            " entries but no input log header: not an input log (a checkpoint?)");
      }
    }
    SLUICE_RETURN_NOT_OK(
        txn.put(meta_, kHeaderKey, seal_value(EnvelopeTag::input_log, kHeaderKey, header)));
  }
  SLUICE_ASSIGN_OR_RETURN(found, txn.get(meta_, kBeginKey, &stored));
  if (found) {
    auto payload = unseal_value(EnvelopeTag::input_log, kBeginKey, lmdb_view(stored));
    if (!payload.ok()) return payload.status().with_context("meta entry 'begin'");
    SLUICE_ASSIGN_OR_RETURN(begin_, decode_int64(*payload, "meta entry 'begin'"));
  }
  end_ = begin_;
  {
    SLUICE_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::open(txn, entries_));
    MDB_val key, value;
    SLUICE_ASSIGN_OR_RETURN(bool any, cursor.move(&key, &value, MDB_LAST));
    if (any) end_ = std::max(end_, decode_position_key(lmdb_view(key)) + 1);
  }
  return txn.commit();
}

Result<int64_t> InputLog::append(std::string_view payload, int64_t rows) {
  return append_all({{payload, rows}});
}

Result<int64_t> InputLog::append_all(
    const std::vector<std::pair<std::string_view, int64_t>>& entries) {
  std::lock_guard lock(mutex_);
  const int64_t first = end_;
  SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env_->begin_write());
  Status status;
  for (size_t i = 0; i < entries.size() && status.is_ok(); ++i) {
    std::string value = encode_int64(entries[i].second);
    value.append(entries[i].first);
    const std::string key = position_key(first + static_cast<int64_t>(i));
    status = txn.put(entries_, key, seal_value(EnvelopeTag::input_log, key, value));
  }
  if (status.is_ok()) status = txn.commit();
  if (!status.is_ok()) {
    if (txn.map_full()) {
      return Status::io_error("input log '" + directory_ + "' full: entries [" +
                              std::to_string(begin_) + ", " + std::to_string(end_) + ") fill its " +
                              std::to_string(env_->map_size()) +
                              " bytes; they are trimmed once the query commits past them");
    }
    return status.with_context("appending to input log '" + directory_ + "'");
  }
  end_ += static_cast<int64_t>(entries.size());
  return first;
}

int64_t InputLog::begin() const {
  std::lock_guard lock(mutex_);
  return begin_;
}

int64_t InputLog::end() const {
  std::lock_guard lock(mutex_);
  return end_;
}

Result<int64_t> InputLog::end_within_rows(int64_t start, int64_t max_rows) const {
  const int64_t last = end();
  if (max_rows < 0 || start >= last) return std::max(start, last);
  SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env_->begin_read());
  SLUICE_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::open(txn, entries_));
  const std::string first = position_key(start);
  MDB_val key = lmdb_value(first), value;
  int64_t rows = 0;
  int64_t position = start;
  SLUICE_ASSIGN_OR_RETURN(bool found, cursor.move(&key, &value, MDB_SET_RANGE));
  while (found && position < last) {
    std::string_view stored = lmdb_view(value);
    // The row count sits right after the envelope header; read() verifies the whole value.
    if (stored.size() < kEnvelopeHeaderSize + 8) {
      return Status::corrupt("input log '" + directory_ + "' entry " + std::to_string(position) +
                             " is too short");
    }
    SLUICE_ASSIGN_OR_RETURN(int64_t entry_rows,
                            decode_int64(stored.substr(kEnvelopeHeaderSize), "an input log entry"));
    if (position > start && rows + entry_rows > max_rows) break;
    rows += entry_rows;
    position = decode_position_key(lmdb_view(key)) + 1;
    SLUICE_ASSIGN_OR_RETURN(found, cursor.move(&key, &value, MDB_NEXT));
  }
  return position;
}

Result<std::string> InputLog::read(int64_t position) const {
  const std::string where = "input log '" + directory_ + "' entry " + std::to_string(position);
  {
    std::lock_guard lock(mutex_);
    if (position < begin_ || position >= end_) {
      return Status::out_of_range(where + " is not held: the log holds [" + std::to_string(begin_) +
                                  ", " + std::to_string(end_) + ")");
    }
  }
  SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env_->begin_read());
  const std::string key = position_key(position);
  MDB_val stored;
  SLUICE_ASSIGN_OR_RETURN(bool found, txn.get(entries_, key, &stored));
  if (!found) return Status::out_of_range(where + " was trimmed");
  auto payload = unseal_value(EnvelopeTag::input_log, key, lmdb_view(stored));
  if (!payload.ok()) return payload.status().with_context(where);
  if (payload->size() < 8) return Status::corrupt(where + " is too short");
  return std::string(payload->substr(8));
}

Status InputLog::trim(int64_t position) {
  std::lock_guard lock(mutex_);
  position = std::min(position, end_);
  if (position <= begin_) return Status::ok();
  SLUICE_ASSIGN_OR_RETURN(LmdbTransaction txn, env_->begin_write());
  {
    SLUICE_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::open(txn, entries_));
    while (true) {
      MDB_val key, value;
      SLUICE_ASSIGN_OR_RETURN(bool found, cursor.move(&key, &value, MDB_FIRST));
      if (!found || decode_position_key(lmdb_view(key)) >= position) break;
      SLUICE_RETURN_NOT_OK(cursor.erase());
    }
  }
  SLUICE_RETURN_NOT_OK(txn.put(
      meta_, kBeginKey, seal_value(EnvelopeTag::input_log, kBeginKey, encode_int64(position))));
  SLUICE_RETURN_NOT_OK(txn.commit().with_context("trimming input log '" + directory_ + "'"));
  begin_ = position;
  return Status::ok();
}

}  // namespace sluice
