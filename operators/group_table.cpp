#include "operators/group_table.hpp"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sluice {

namespace {

// Bytes a group costs besides its key, row and heap: metadata and two slots (load <= 1/2).
constexpr int64_t kGroupOverhead = 32 + 16;
constexpr uint64_t kInitialSlots = 64;

// Rounds small records up to a power of two words, so no record straddles a cache line.
int record_words_for(int key_width, int row_words) {
  int words = row_words + (key_width > 0 ? (key_width + 7) / 8 : 0);
  if (words == 0) return 1;
  if (words <= 8) return static_cast<int>(std::bit_ceil(static_cast<unsigned>(words)));
  return words;
}

// Compares two keys of equal size a word at a time (keys are short: a libc call costs more).
inline bool same_bytes(const char* a, const char* b, size_t size) {
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t x;
    uint64_t y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    if (x != y) return false;
  }
  for (; i < size; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// A slot keeps 32 bits of the hash: the probe start (low bits) and a tag compared before keys.
inline uint64_t slot_hash(uint64_t hash) {
  return (hash ^ (hash >> 32)) & 0xFFFFFFFFu;
}

}  // namespace

GroupTable::GroupTable(int key_width, int row_words)
    : key_width_(key_width),
      row_words_(row_words),
      record_words_(record_words_for(key_width, row_words)) {
  slots_.assign(kInitialSlots, 0);
  mask_ = kInitialSlots - 1;
}

GroupTable::~GroupTable() {
  std::free(records_);
}

uint64_t GroupTable::hash_key(std::string_view key) {
  return slot_hash(XXH3_64bits(key.data(), key.size()));
}

uint32_t GroupTable::find(std::string_view key, uint64_t hash) const {
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    const uint64_t slot = slots_[i];
    if (slot == 0) return kNone;
    if ((slot >> 32) != hash) continue;
    const auto group = static_cast<uint32_t>(slot & 0xFFFFFFFFu) - 1;
    const std::string_view candidate = this->key(group);
    if (candidate.size() == key.size() && same_bytes(candidate.data(), key.data(), key.size())) {
      return group;
    }
  }
}

int64_t GroupTable::group_bytes(uint32_t group) const {
  int64_t bytes = kGroupOverhead + int64_t{record_words_} * 8 + meta_[group].heap_bytes;
  if (key_width_ < 0) {
    const size_t size = variable_keys_[group].size();
    bytes += static_cast<int64_t>(sizeof(std::string) + (size > 15 ? size : 0));
  }
  return bytes;
}

void GroupTable::grow_records() {
  const size_t capacity = std::max<size_t>(64, record_capacity_ * 2);
  const size_t bytes = capacity * static_cast<size_t>(record_words_) * 8;
  auto* records = static_cast<uint64_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
  if (records_ != nullptr) {
    std::memcpy(records, records_, record_capacity_ * static_cast<size_t>(record_words_) * 8);
    std::free(records_);
  }
  records_ = records;
  record_capacity_ = capacity;
}

uint32_t GroupTable::insert(std::string_view key, uint64_t hash) {
  if (static_cast<uint64_t>(num_groups_ + 1) * 2 > slots_.size()) grow_slots();
  uint32_t group;
  if (!free_.empty()) {
    group = free_.back();
    free_.pop_back();
  } else {
    group = static_cast<uint32_t>(meta_.size());
    if (meta_.size() == record_capacity_) grow_records();
    meta_.emplace_back();
    if (key_width_ < 0) variable_keys_.emplace_back();
  }
  uint64_t* record = this->record(group);
  std::memset(record, 0, static_cast<size_t>(record_words_) * 8);
  if (key_width_ > 0) {
    std::memcpy(record + row_words_, key.data(), static_cast<size_t>(key_width_));
  } else if (key_width_ == 0) {
    // A global aggregate: no key bytes (and key.data() may be null).
  } else {
    variable_keys_[group].assign(key);
  }
  Meta& meta = meta_[group];
  meta.event_time = kNoEventTime;
  meta.pending_epoch = std::numeric_limits<int64_t>::min();
  meta.heap_bytes = 0;
  meta.flags = kAlive;
  uint64_t i = hash & mask_;
  while (slots_[i] != 0) {
    i = (i + 1) & mask_;
  }
  slots_[i] = (hash << 32) | (uint64_t{group} + 1);
  ++num_groups_;
  memory_bytes_ += group_bytes(group);
  return group;
}

size_t GroupTable::slot_of(uint32_t group) const {
  const uint64_t hash = hash_key(key(group));
  const uint64_t wanted = (hash << 32) | (uint64_t{group} + 1);
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    if (slots_[i] == wanted) return static_cast<size_t>(i);
  }
}

void GroupTable::erase(uint32_t group) {
  Meta& meta = meta_[group];
  memory_bytes_ -= group_bytes(group);
  // Backward-shift deletion keeps every probe sequence unbroken without tombstone slots.
  uint64_t hole = slot_of(group);
  for (uint64_t j = (hole + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
    const uint64_t home = (slots_[j] >> 32) & mask_;
    // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!stays) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = 0;
  if (meta.flags & kTombstone) --num_tombstones_;
  --num_groups_;
  meta.flags = 0;
  meta.pending_epoch = std::numeric_limits<int64_t>::min();
  meta.heap_bytes = 0;
  meta.event_time = kNoEventTime;
  ++meta.generation;
  if (key_width_ < 0) std::string().swap(variable_keys_[group]);
  free_.push_back(group);
}

void GroupTable::grow_slots() {
  std::vector<uint64_t> old;
  old.swap(slots_);
  const size_t size = old.size() * 2;
  slots_.assign(size, 0);
  mask_ = size - 1;
  for (uint64_t slot : old) {
    if (slot == 0) continue;
    uint64_t i = (slot >> 32) & mask_;
    while (slots_[i] != 0) {
      i = (i + 1) & mask_;
    }
    slots_[i] = slot;
  }
}

void GroupTable::revive(uint32_t group) {
  Meta& meta = meta_[group];
  meta.flags &= static_cast<uint8_t>(~kTombstone);
  --num_tombstones_;
  std::memset(row(group), 0, static_cast<size_t>(row_words_) * 8);
}

void GroupTable::remove(uint32_t group, int64_t epoch) {
  Meta& meta = meta_[group];
  meta.flags &= static_cast<uint8_t>(~kDirty);
  if (!(meta.flags & kStored)) {
    erase(group);
    return;
  }
  memory_bytes_ -= meta.heap_bytes;
  meta.heap_bytes = 0;
  meta.flags |= kTombstone;
  ++num_tombstones_;
  meta.pending_epoch = epoch;
  meta.event_time = kNoEventTime;
  tombstones_.push_back({epoch, group, meta.generation});
}

void GroupTable::commit(int64_t epoch) {
  if (epoch > committed_epoch_) committed_epoch_ = epoch;
  size_t kept = 0;
  for (const Tombstone& entry : tombstones_) {
    const Meta& meta = meta_[entry.group];
    if (meta.generation != entry.generation || !(meta.flags & kTombstone)) continue;
    if (meta.pending_epoch > committed_epoch_) {
      tombstones_[kept++] = entry;
      continue;
    }
    erase(entry.group);
  }
  tombstones_.resize(kept);
}

void GroupTable::set_event_time(uint32_t group, int64_t event_time) {
  meta_[group].event_time = event_time;
  if (event_time == kNoEventTime) return;
  if (last_bucket_ == nullptr || last_bucket_time_ != event_time) {
    last_bucket_ = &index_[event_time];
    last_bucket_time_ = event_time;
  }
  last_bucket_->emplace_back(group, meta_[group].generation);
}

void GroupTable::pop_due(int64_t bound, std::vector<uint32_t>& groups) {
  const size_t first = groups.size();
  while (!index_.empty() && index_.begin()->first <= bound) {
    auto bucket = index_.begin();
    for (const auto& [group, generation] : bucket->second) {
      Meta& meta = meta_[group];
      if (is_current(group, generation) && meta.event_time == bucket->first &&
          !(meta.flags & kPopped)) {
        meta.flags |= kPopped;
        groups.push_back(group);
      }
    }
    if (&bucket->second == last_bucket_) last_bucket_ = nullptr;
    index_.erase(bucket);
  }
  for (size_t i = first; i < groups.size(); ++i) {
    meta_[groups[i]].flags &= static_cast<uint8_t>(~kPopped);
  }
}

void GroupTable::set_heap_bytes(uint32_t group, int64_t bytes) {
  Meta& meta = meta_[group];
  memory_bytes_ += bytes - meta.heap_bytes;
  meta.heap_bytes = bytes;
}

namespace {

// Reads the 8 bytes of key at offset as a big-endian number, zero-padded past the end.
inline uint64_t digit(std::string_view key, size_t offset) {
  if (offset + 8 <= key.size()) {
    uint64_t v;
    std::memcpy(&v, key.data() + offset, 8);
    return __builtin_bswap64(v);
  }
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    v <<= 8;
    if (offset + i < key.size()) v |= static_cast<uint8_t>(key[offset + i]);
  }
  return v;
}

// Returns how many bytes a and b share from offset on (at most limit).
inline size_t common_prefix(std::string_view a, std::string_view b, size_t offset, size_t limit) {
  size_t i = 0;
  while (i + 8 <= limit) {
    uint64_t x;
    uint64_t y;
    std::memcpy(&x, a.data() + offset + i, 8);
    std::memcpy(&y, b.data() + offset + i, 8);
    if (x != y) return i + static_cast<size_t>(std::countr_zero(x ^ y) / 8);
    i += 8;
  }
  while (i < limit && a[offset + i] == b[offset + i]) {
    ++i;
  }
  return i;
}

// Sorts items by digit: a least-significant-byte radix sort over the bytes that vary, using
// scratch (as many items) as the second buffer.
void sort_by_digit(SortItem* items, size_t count, SortItem* scratch) {
  uint64_t varying = 0;
  for (size_t i = 1; i < count; ++i) {
    varying |= items[i].digit ^ items[0].digit;
  }
  SortItem* from = items;
  SortItem* to = scratch;
  for (int shift = 0; shift < 64; shift += 8) {
    if (((varying >> shift) & 0xFF) == 0) continue;
    size_t starts[257] = {};
    for (size_t i = 0; i < count; ++i) {
      ++starts[((from[i].digit >> shift) & 0xFF) + 1];
    }
    for (int b = 0; b < 256; ++b) {
      starts[b + 1] += starts[b];
    }
    for (size_t i = 0; i < count; ++i) {
      to[starts[(from[i].digit >> shift) & 0xFF]++] = from[i];
    }
    std::swap(from, to);
  }
  if (from != items) std::copy(from, from + count, items);
}

void sort_range(SortItem* items, size_t count, size_t depth, SortItem* scratch) {
  if (count < 2) return;
  if (count <= 32) {
    std::sort(items, items + count, [](const SortItem& a, const SortItem& b) {
      return std::string_view(a.key, a.size) < std::string_view(b.key, b.size);
    });
    return;
  }
  // Skip the bytes every key of the range shares.
  const std::string_view first(items[0].key, items[0].size);
  size_t common = first.size() > depth ? first.size() - depth : 0;
  for (size_t i = 1; i < count && common > 0; ++i) {
    const std::string_view key(items[i].key, items[i].size);
    common = common_prefix(first, key, depth,
                           std::min(common, key.size() > depth ? key.size() - depth : 0));
  }
  depth += common;
  for (size_t i = 0; i < count; ++i) {
    items[i].digit = digit(std::string_view(items[i].key, items[i].size), depth);
  }
  sort_by_digit(items, count, scratch);
  for (size_t i = 0; i < count;) {
    size_t j = i + 1;
    while (j < count && items[j].digit == items[i].digit) {
      ++j;
    }
    // Distinct prefix-free keys differ before the end of the shorter one, so a tie on this
    // digit leaves bytes to compare.
    if (j - i > 1) sort_range(items + i, j - i, depth + 8, scratch + i);
    i = j;
  }
}

}  // namespace

void sort_by_key(std::vector<SortItem>& items, std::vector<SortItem>& scratch) {
  scratch.resize(items.size());
  sort_range(items.data(), items.size(), 0, scratch.data());
}

void DeltaBuilder::clear() {
  data_.clear();
  changes_.clear();
  num_removed_ = 0;
  num_changes_ = 0;
}

void DeltaBuilder::add_removed(std::string_view key) {
  changes_.push_back({data_.size(), static_cast<uint32_t>(key.size()), kRemoved});
  data_.append(key);
  ++num_removed_;
  ++num_changes_;
}

std::string& DeltaBuilder::begin_written(std::string_view key) {
  ++num_changes_;
  changes_.push_back({data_.size(), static_cast<uint32_t>(key.size()), 0});
  data_.append(key);
  return data_;
}

void DeltaBuilder::end_written() {
  Change& change = changes_.back();
  change.value_size = static_cast<uint32_t>(data_.size() - change.begin - change.key_size);
}

void DeltaBuilder::write(StateDelta& delta) {
  items_.resize(changes_.size());
  for (size_t i = 0; i < changes_.size(); ++i) {
    const Change& change = changes_[i];
    items_[i] = {0, data_.data() + change.begin, change.key_size, change.value_size};
  }
  sort_by_key(items_, scratch_);
  delta.changes.reserve(delta.changes.size() + items_.size());
  for (const SortItem& item : items_) {
    if (item.tag == kRemoved) {
      delta.changes.push_back({std::string(item.key, item.size), std::nullopt});
    } else {
      delta.changes.push_back(
          {std::string(item.key, item.size), std::string(item.key + item.size, item.tag)});
    }
  }
  clear_scratch(items_);
  clear_scratch(scratch_);
  clear_scratch(changes_);
  if (data_.capacity() > (size_t{1} << 20)) {
    std::string().swap(data_);
  } else {
    data_.clear();
  }
}

}  // namespace sluice
