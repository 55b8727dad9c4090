#include "state/state_delta_log.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include <xxhash.h>

#include "state/checkpoint_store.hpp"
#include "state/lmdb_environment.hpp"
#include "state/value_envelope.hpp"

namespace sluice {
namespace {

constexpr char kTableSeparator = '\0';
constexpr uint8_t kDelete = 0;
constexpr uint8_t kPut = 1;
// An entry: kind (1), key size (4), key, value.
constexpr size_t kEntryHeader = 5;
// The base entries one compaction step should rewrite (about 1,300 LMDB pages), and the most
// steps a round may take (reads check the records of up to two rounds).
constexpr int64_t kStepBaseEntries = 65536;
constexpr int64_t kMaxRoundEpochs = 64;

void append_u32(std::string& out, uint32_t value) {
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  out.append(bytes, 4);
}

uint32_t load_u32(const char* at) {
  uint32_t value;
  std::memcpy(&value, at, 4);
  return value;
}

void append_u64(std::string& out, uint64_t value) {
  char bytes[8];
  std::memcpy(bytes, &value, 8);
  out.append(bytes, 8);
}

bool read_u64(std::string_view& in, uint64_t& value) {
  if (in.size() < 8) return false;
  std::memcpy(&value, in.data(), 8);
  in.remove_prefix(8);
  return true;
}

// The key of a record in `deltas`: the table, a zero byte, the epoch and the partition
// big-endian (so a table's records sort by epoch, then partition).
std::string record_key(std::string_view table, int64_t epoch, int32_t partition) {
  std::string key(table);
  key.push_back(kTableSeparator);
  const auto epoch_bits = static_cast<uint64_t>(epoch);
  for (int i = 0; i < 8; ++i) key.push_back(static_cast<char>((epoch_bits >> (56 - 8 * i)) & 0xFF));
  const auto partition_bits = static_cast<uint32_t>(partition);
  for (int i = 0; i < 4; ++i) key.push_back(static_cast<char>((partition_bits >> (24 - 8 * i)) & 0xFF));
  return key;
}

std::string describe_record(std::string_view table, int64_t epoch, int32_t partition) {
  return "state delta record of table '" + printable_bytes(table) + "' partition " +
         std::to_string(partition) + " epoch " + std::to_string(epoch);
}

std::string encode_progress(const DeltaProgress& progress) {
  std::string out;
  append_u64(out, static_cast<uint64_t>(progress.base_epoch));
  append_u64(out, static_cast<uint64_t>(progress.target_epoch));
  append_u64(out, static_cast<uint64_t>(progress.step_budget));
  out.append(progress.hand);
  return out;
}

Result<DeltaProgress> decode_progress(std::string_view in) {
  DeltaProgress progress;
  uint64_t base = 0;
  uint64_t target = 0;
  uint64_t budget = 0;
  if (!read_u64(in, base) || !read_u64(in, target) || !read_u64(in, budget)) {
    return Status::corrupt("compaction progress is truncated");
  }
  progress.base_epoch = static_cast<int64_t>(base);
  progress.target_epoch = static_cast<int64_t>(target);
  progress.step_budget = static_cast<int64_t>(budget);
  progress.hand.assign(in);
  return progress;
}

}  // namespace

std::string state_table_key(std::string_view table, std::string_view key) {
  std::string out;
  out.reserve(table.size() + 1 + key.size());
  out.append(table);
  out.push_back(kTableSeparator);
  out.append(key);
  return out;
}

std::string printable_bytes(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  constexpr size_t kLimit = 64;
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < kLimit; ++i) {
    auto c = static_cast<uint8_t>(bytes[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xF]);
    }
  }
  if (bytes.size() > kLimit) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

std::string encode_delta_record(const std::vector<KeyChange>& changes) {
  // Keeps the last change of each key, in key order (stable: equal keys stay in given order).
  std::vector<uint32_t> order(changes.size());
  std::iota(order.begin(), order.end(), 0u);
  const bool strictly_sorted =
      std::adjacent_find(changes.begin(), changes.end(),
                         [](const KeyChange& a, const KeyChange& b) {
                           return a.key >= b.key;
                         }) == changes.end();
  if (!strictly_sorted) {
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return changes[a].key < changes[b].key; });
  }
  std::vector<uint32_t> kept;
  kept.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (i + 1 < order.size() && changes[order[i + 1]].key == changes[order[i]].key) continue;
    kept.push_back(order[i]);
  }
  size_t data_bytes = 0;
  for (uint32_t index : kept) {
    const KeyChange& change = changes[index];
    data_bytes += kEntryHeader + change.key.size() + (change.value ? change.value->size() : 0);
  }
  std::string out;
  out.reserve(4 + 4 * (kept.size() + 1) + data_bytes);
  append_u32(out, static_cast<uint32_t>(kept.size()));
  uint32_t offset = 0;
  for (uint32_t index : kept) {
    append_u32(out, offset);
    const KeyChange& change = changes[index];
    offset += static_cast<uint32_t>(kEntryHeader + change.key.size() +
                                    (change.value ? change.value->size() : 0));
  }
  append_u32(out, offset);
  for (uint32_t index : kept) {
    const KeyChange& change = changes[index];
    out.push_back(static_cast<char>(change.value ? kPut : kDelete));
    append_u32(out, static_cast<uint32_t>(change.key.size()));
    out.append(change.key);
    if (change.value) out.append(*change.value);
  }
  return out;
}

Result<DeltaRecordView> DeltaRecordView::parse(std::string_view payload, bool check) {
  if (payload.size() < 8) {
    return Status::corrupt("delta record of " + std::to_string(payload.size()) +
                           " bytes is shorter than its header");
  }
  const uint32_t count = load_u32(payload.data());
  const size_t header = 4 + 4 * (size_t{count} + 1);
  if (header > payload.size()) {
    return Status::corrupt("delta record claims " + std::to_string(count) +
                           " entries, more than its " + std::to_string(payload.size()) +
                           " bytes hold");
  }
  DeltaRecordView view(payload.data() + 4, payload.data() + header, count);
  if (!check) return view;
  const size_t data_size = payload.size() - header;
  if (view.offset(0) != 0 || view.offset(count) != data_size) {
    return Status::corrupt("delta record offsets do not span its " + std::to_string(data_size) +
                           " data bytes");
  }
  for (size_t i = 0; i < count; ++i) {
    const uint32_t begin = view.offset(i);
    const uint32_t end = view.offset(i + 1);
    if (end < begin || end - begin < kEntryHeader) {
      return Status::corrupt("delta record entry " + std::to_string(i) + " has a bad extent");
    }
    const auto kind = static_cast<uint8_t>(view.data_[begin]);
    const uint32_t key_size = load_u32(view.data_ + begin + 1);
    if (kind > kPut || key_size > end - begin - kEntryHeader ||
        (kind == kDelete && key_size != end - begin - kEntryHeader)) {
      return Status::corrupt("delta record entry " + std::to_string(i) + " is malformed");
    }
    if (i > 0 && !(view.key(i - 1) < view.key(i))) {
      return Status::corrupt("delta record entry " + std::to_string(i) +
                             " is out of key order");
    }
  }
  return view;
}

uint32_t DeltaRecordView::offset(size_t index) const {
  return load_u32(offsets_ + 4 * index);
}

std::string_view DeltaRecordView::key(size_t index) const {
  const char* entry = data_ + offset(index);
  return {entry + kEntryHeader, load_u32(entry + 1)};
}

std::optional<std::string_view> DeltaRecordView::value(size_t index) const {
  const uint32_t begin = offset(index);
  const char* entry = data_ + begin;
  if (static_cast<uint8_t>(entry[0]) == kDelete) return std::nullopt;
  const uint32_t key_size = load_u32(entry + 1);
  const size_t start = kEntryHeader + key_size;
  return std::string_view(entry + start, offset(index + 1) - begin - start);
}

size_t DeltaRecordView::lower_bound(std::string_view key) const {
  size_t low = 0;
  size_t high = count_;
  while (low < high) {
    const size_t middle = low + (high - low) / 2;
    if (this->key(middle) < key) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

Status StateDeltaLog::append(LmdbTransaction& txn, std::string_view table, int32_t partition,
                             int64_t epoch, const std::vector<KeyChange>& changes) {
  if (changes.empty()) return Status::ok();
  SLUICE_ASSIGN_OR_RETURN(auto progress, read_progress(txn, table));
  if (!progress) SLUICE_RETURN_NOT_OK(write_progress(txn, table, DeltaProgress{}));
  const std::string key = record_key(table, epoch, partition);
  return txn.put(databases_.deltas, key,
                 seal_value(EnvelopeTag::state_delta, key, encode_delta_record(changes)));
}

Result<std::optional<DeltaProgress>> StateDeltaLog::read_progress(const LmdbTransaction& txn,
                                                                  std::string_view table) const {
  MDB_val stored;
  SLUICE_ASSIGN_OR_RETURN(bool found, txn.get(databases_.progress, table, &stored));
  if (!found) return std::optional<DeltaProgress>();
  auto payload = unseal_value(EnvelopeTag::delta_progress, table, lmdb_view(stored));
  Result<DeltaProgress> progress =
      payload.ok() ? decode_progress(*payload) : Result<DeltaProgress>(payload.status());
  if (!progress.ok()) {
    return progress.status().with_context("compaction progress of state table '" +
                                          printable_bytes(table) + "'");
  }
  return std::optional<DeltaProgress>(std::move(*progress));
}

Status StateDeltaLog::write_progress(LmdbTransaction& txn, std::string_view table,
                                     const DeltaProgress& progress) {
  return txn.put(databases_.progress, table,
                 seal_value(EnvelopeTag::delta_progress, table, encode_progress(progress)));
}

Status StateDeltaLog::records_of(const LmdbTransaction& txn, std::string_view table, int64_t above,
                                 std::vector<Record>& out) const {
  std::string start(table);
  start.push_back(kTableSeparator);
  SLUICE_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::open(txn, databases_.deltas));
  MDB_val key = lmdb_value(start);
  MDB_val value;
  SLUICE_ASSIGN_OR_RETURN(bool found, cursor.move(&key, &value, MDB_SET_RANGE));
  for (; found; ) {
    const std::string_view name = lmdb_view(key);
    if (!name.starts_with(start)) break;
    if (name.size() != start.size() + 12) {
      return Status::corrupt("state delta record key of table '" + printable_bytes(table) +
                             "' has " + std::to_string(name.size() - start.size()) +
                             " bytes after the table name, not 12");
    }
    uint64_t epoch_bits = 0;
    uint32_t partition_bits = 0;
    for (size_t i = 0; i < 8; ++i) epoch_bits = (epoch_bits << 8) | static_cast<uint8_t>(name[start.size() + i]);
    for (size_t i = 8; i < 12; ++i) partition_bits = (partition_bits << 8) | static_cast<uint8_t>(name[start.size() + i]);
    const auto epoch = static_cast<int64_t>(epoch_bits);
    const auto partition = static_cast<int32_t>(partition_bits);
    if (epoch > above) {
      auto record = view_record(name, lmdb_view(value));
      if (!record.ok()) return record.status().with_context(describe_record(table, epoch, partition));
      record->epoch = epoch;
      record->partition = partition;
      out.push_back(std::move(*record));
    }
    SLUICE_ASSIGN_OR_RETURN(found, cursor.move(&key, &value, MDB_NEXT));
  }
  return Status::ok();
}

StateDeltaLog::KeyFilter::KeyFilter(const DeltaRecordView& view)
    : words_(std::max<size_t>(1, (view.size() * 10 + 63) / 64), 0) {
  const uint64_t bits = words_.size() * 64;
  for (size_t i = 0; i < view.size(); ++i) {
    const uint64_t hash = KeyFilter::hash(view.key(i));
    for (uint64_t probe = 0, h = hash; probe < 3; ++probe, h = (h >> 21) | (h << 43)) {
      const uint64_t bit = h % bits;
      words_[bit / 64] |= uint64_t{1} << (bit % 64);
    }
  }
}

uint64_t StateDeltaLog::KeyFilter::hash(std::string_view key) {
  return XXH3_64bits(key.data(), key.size());
}

bool StateDeltaLog::KeyFilter::may_contain(uint64_t hash) const {
  const uint64_t bits = words_.size() * 64;
  for (uint64_t probe = 0, h = hash; probe < 3; ++probe, h = (h >> 21) | (h << 43)) {
    const uint64_t bit = h % bits;
    if ((words_[bit / 64] & (uint64_t{1} << (bit % 64))) == 0) return false;
  }
  return true;
}

Result<StateDeltaLog::Record> StateDeltaLog::view_record(std::string_view name,
                                                         std::string_view stored) const {
  Record record;
  {
    std::lock_guard<std::mutex> lock(verified_mutex_);
    auto known = verified_.find(std::string(name));
    if (known != verified_.end()) record.filter = known->second;
  }
  if (record.filter) {
    SLUICE_ASSIGN_OR_RETURN(record.view,
                            DeltaRecordView::parse(stored.substr(kEnvelopeHeaderSize), false));
    return record;
  }
  SLUICE_ASSIGN_OR_RETURN(std::string_view payload,
                          unseal_value(EnvelopeTag::state_delta, name, stored));
  SLUICE_ASSIGN_OR_RETURN(record.view, DeltaRecordView::parse(payload, true));
  record.filter = std::make_shared<const KeyFilter>(record.view);
  std::lock_guard<std::mutex> lock(verified_mutex_);
  verified_.emplace(name, record.filter);
  return record;
}

Result<std::optional<std::string>> StateDeltaLog::get_base(const LmdbTransaction& txn,
                                                           std::string_view table,
                                                           std::string_view key) const {
  const std::string composite = state_table_key(table, key);
  MDB_val stored;
  SLUICE_ASSIGN_OR_RETURN(bool found, txn.get(databases_.state, composite, &stored));
  if (!found) return std::optional<std::string>();
  auto payload = unseal_value(EnvelopeTag::state, composite, lmdb_view(stored));
  if (!payload.ok()) {
    return payload.status().with_context("state entry of table '" + printable_bytes(table) +
                                         "' key '" + printable_bytes(key) + "'");
  }
  return std::optional<std::string>(std::string(*payload));
}

Result<std::shared_ptr<const StateDeltaLog::Snapshot>> StateDeltaLog::snapshot_of(
    const LmdbTransaction& txn, std::string_view table) const {
  const uint64_t txn_id = mdb_txn_id(txn.get());
  MDB_envinfo info;
  SLUICE_RETURN_NOT_OK(lmdb_status(mdb_env_info(mdb_txn_env(txn.get()), &info), "mdb_env_info"));
  const std::string name(table);
  {
    std::lock_guard<std::mutex> lock(snapshots_mutex_);
    auto cached = snapshots_.find(name);
    if (cached != snapshots_.end() && cached->second->txn_id == txn_id &&
        cached->second->map_address == info.me_mapaddr) {
      return cached->second;
    }
  }
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->txn_id = txn_id;
  snapshot->map_address = info.me_mapaddr;
  SLUICE_ASSIGN_OR_RETURN(snapshot->progress, read_progress(txn, table));
  if (snapshot->progress) {
    SLUICE_RETURN_NOT_OK(records_of(txn, table, snapshot->progress->base_epoch, snapshot->records));
  }
  std::lock_guard<std::mutex> lock(snapshots_mutex_);
  auto& slot = snapshots_[name];
  if (!slot || slot->txn_id <= txn_id) slot = snapshot;
  return std::shared_ptr<const Snapshot>(std::move(snapshot));
}

Result<std::optional<std::string>> StateDeltaLog::get(const LmdbTransaction& txn,
                                                      std::string_view table,
                                                      std::string_view key) const {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<const Snapshot> snapshot, snapshot_of(txn, table));
  if (snapshot->progress) {
    const int64_t base_epoch = snapshot->progress->base_epoch_of(key);
    const uint64_t hash = KeyFilter::hash(key);
    for (auto record = snapshot->records.rbegin(); record != snapshot->records.rend(); ++record) {
      if (record->epoch <= base_epoch) break;
      if (!record->filter->may_contain(hash)) continue;
      const size_t index = record->view.lower_bound(key);
      if (index == record->view.size() || record->view.key(index) != key) continue;
      auto value = record->view.value(index);
      if (!value) return std::optional<std::string>();
      return std::optional<std::string>(std::string(*value));
    }
  }
  return get_base(txn, table, key);
}

Status StateDeltaLog::scan(
    const LmdbTransaction& txn, std::string_view table, std::string_view prefix,
    const std::function<bool(std::string_view key, std::string_view value)>& fn) const {
  struct Change {
    std::string_view key;
    int64_t epoch;
    int32_t partition;
    std::optional<std::string_view> value;
  };
  std::vector<Change> pending;
  SLUICE_ASSIGN_OR_RETURN(auto progress, read_progress(txn, table));
  if (progress) {
    std::vector<Record> records;
    SLUICE_RETURN_NOT_OK(records_of(txn, table, progress->base_epoch, records));
    for (const Record& record : records) {
      for (size_t i = record.view.lower_bound(prefix); i < record.view.size(); ++i) {
        const std::string_view key = record.view.key(i);
        if (!key.starts_with(prefix)) break;
        if (record.epoch <= progress->base_epoch_of(key)) continue;
        pending.push_back({key, record.epoch, record.partition, record.view.value(i)});
      }
    }
    // Newest change of each key first, then keep only it.
    std::sort(pending.begin(), pending.end(), [](const Change& a, const Change& b) {
      if (a.key != b.key) return a.key < b.key;
      if (a.epoch != b.epoch) return a.epoch > b.epoch;
      return a.partition > b.partition;
    });
    pending.erase(std::unique(pending.begin(), pending.end(),
                              [](const Change& a, const Change& b) { return a.key == b.key; }),
                  pending.end());
  }

  const std::string start = state_table_key(table, prefix);
  const size_t table_bytes = table.size() + 1;
  SLUICE_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::open(txn, databases_.state));
  MDB_val key = lmdb_value(start);
  MDB_val value;
  SLUICE_ASSIGN_OR_RETURN(bool found, cursor.move(&key, &value, MDB_SET_RANGE));
  if (found && !lmdb_view(key).starts_with(start)) found = false;
  size_t next = 0;
  while (found || next < pending.size()) {
    std::string_view base_key;
    if (found) base_key = lmdb_view(key).substr(table_bytes);
    if (next < pending.size() && (!found || pending[next].key <= base_key)) {
      const Change& change = pending[next++];
      const bool replaces_base = found && change.key == base_key;
      if (change.value && !fn(change.key, *change.value)) return Status::ok();
      if (!replaces_base) continue;
    } else {
      const std::string_view composite = lmdb_view(key);
      auto payload = unseal_value(EnvelopeTag::state, composite, lmdb_view(value));
      if (!payload.ok()) {
        return payload.status().with_context("state entry of table '" + printable_bytes(table) +
                                             "' key '" + printable_bytes(base_key) + "'");
      }
      if (!fn(base_key, *payload)) return Status::ok();
    }
    SLUICE_ASSIGN_OR_RETURN(found, cursor.move(&key, &value, MDB_NEXT));
    if (found && !lmdb_view(key).starts_with(start)) found = false;
  }
  return Status::ok();
}

Status StateDeltaLog::compact(LmdbTransaction& txn) {
  std::vector<std::string> tables;
  {
    SLUICE_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::open(txn, databases_.progress));
    MDB_val key;
    MDB_val value;
    SLUICE_ASSIGN_OR_RETURN(bool found, cursor.move(&key, &value, MDB_FIRST));
    while (found) {
      tables.emplace_back(lmdb_view(key));
      SLUICE_ASSIGN_OR_RETURN(found, cursor.move(&key, &value, MDB_NEXT));
    }
  }
  for (const std::string& table : tables) {
    SLUICE_RETURN_NOT_OK(compact_table(txn, table));
  }
  return Status::ok();
}

Status StateDeltaLog::compact_table(LmdbTransaction& txn, std::string_view table) {
  SLUICE_ASSIGN_OR_RETURN(auto stored_progress, read_progress(txn, table));
  if (!stored_progress) return Status::ok();
  DeltaProgress progress = std::move(*stored_progress);
  std::vector<Record> records;
  SLUICE_RETURN_NOT_OK(records_of(txn, table, progress.base_epoch, records));
  if (records.empty()) return Status::ok();
  if (progress.target_epoch < 0) {
    int64_t epochs = 0;
    int64_t entries = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      if (i == 0 || records[i].epoch != records[i - 1].epoch) ++epochs;
      entries += static_cast<int64_t>(records[i].view.size());
    }
    if (epochs < round_epochs_) return Status::ok();
    // A step rewrites the base pages of its slice of the key space: a large base (or a large
    // first merge into an empty one) goes in more, thinner slices, so a step rewrites about
    // kStepBaseEntries entries' pages.
    MDB_stat stat;
    SLUICE_RETURN_NOT_OK(lmdb_status(mdb_stat(txn.get(), databases_.state, &stat), "mdb_stat"));
    const int64_t base_entries = std::max(static_cast<int64_t>(stat.ms_entries), entries);
    const int64_t steps = std::clamp<int64_t>(base_entries / kStepBaseEntries, round_epochs_,
                                              std::max(round_epochs_, kMaxRoundEpochs));
    progress.target_epoch = records.back().epoch;
    progress.step_budget = std::max<int64_t>(1, (entries + steps - 1) / steps);
    progress.hand.clear();
  }
  std::erase_if(records, [&](const Record& record) { return record.epoch > progress.target_epoch; });
  std::vector<size_t> positions(records.size());
  for (size_t r = 0; r < records.size(); ++r) {
    positions[r] = records[r].view.lower_bound(progress.hand);
  }
  // Merges entries in key order from the hand: the newest change of each key goes to the base.
  int64_t merged = 0;
  std::string composite;
  while (true) {
    std::optional<std::string_view> smallest;
    for (size_t r = 0; r < records.size(); ++r) {
      if (positions[r] == records[r].view.size()) continue;
      const std::string_view key = records[r].view.key(positions[r]);
      if (!smallest || key < *smallest) smallest = key;
    }
    if (!smallest) break;
    if (merged >= progress.step_budget) {
      progress.hand.assign(*smallest);
      return write_progress(txn, table, progress);
    }
    std::optional<std::string_view> newest;
    for (size_t r = 0; r < records.size(); ++r) {
      if (positions[r] == records[r].view.size()) continue;
      if (records[r].view.key(positions[r]) != *smallest) continue;
      newest = records[r].view.value(positions[r]);  // records are oldest first: the last wins
      ++positions[r];
      ++merged;
    }
    composite = state_table_key(table, *smallest);
    if (newest) {
      SLUICE_RETURN_NOT_OK(txn.put(databases_.state, composite,
                                   seal_value(EnvelopeTag::state, composite, *newest)));
    } else {
      SLUICE_RETURN_NOT_OK(txn.erase(databases_.state, composite));
    }
  }
  // The round is done: the base holds every record up to its target, which go (the records
  // left in the list are exactly those).
  std::vector<std::string> done;
  for (const Record& record : records) done.push_back(record_key(table, record.epoch, record.partition));
  for (const std::string& name : done) {
    SLUICE_RETURN_NOT_OK(txn.erase(databases_.deltas, name));
  }
  {
    std::lock_guard<std::mutex> lock(verified_mutex_);
    for (const std::string& name : done) verified_.erase(name);
  }
  progress.base_epoch = progress.target_epoch;
  progress.target_epoch = -1;
  progress.step_budget = 0;
  progress.hand.clear();
  return write_progress(txn, table, progress);
}

Result<int64_t> StateDeltaLog::num_records(const LmdbTransaction& txn) const {
  MDB_stat stat;
  SLUICE_RETURN_NOT_OK(lmdb_status(mdb_stat(txn.get(), databases_.deltas, &stat), "mdb_stat"));
  return static_cast<int64_t>(stat.ms_entries);
}

}  // namespace sluice
