#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "operators/stateful_operator.hpp"

namespace sluice {

/// Keeps the in-memory groups of one partition of a stateful operator (hash aggregate,
/// session windows, deduplication): each group's encoded key, a row of 8-byte words the
/// operator owns, and what the checkpoint protocol needs to know of it:
/// - dirty: changed in the current epoch (its new value goes into the epoch's delta);
/// - stored: present in the committed state, or written by a delta not yet committed (so
///   removing it needs a delete);
/// - pending: written by the delta of an epoch not yet committed (must stay in memory: the
///   committed reader does not have it yet);
/// - tombstone: deleted by a delta not yet committed (the key must not be read back from the
///   committed reader, which still has the old value);
/// - an event time (when the group becomes final), indexed in time order for eviction.
/// Clean groups (neither dirty nor pending) may be dropped to keep memory under a bound; the
/// operator then reads them back from the committed state on demand.
///
/// Groups are numbered (ids reused after erase, with a generation counter to recognize stale
/// references). With fixed-width keys a group's row and key share one 64-byte-aligned record,
/// so probing a key brings its row into the cache. Rows move when the table grows: take row
/// pointers after inserting. Not thread-safe (one partition, one thread).
class GroupTable {
 public:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  /// Marks a group without an event time: never final, never indexed.
  static constexpr int64_t kNoEventTime = std::numeric_limits<int64_t>::max();

  /// Builds a table for keys of key_width bytes (-1: any length) and rows of row_words words.
  GroupTable(int key_width, int row_words);
  ~GroupTable();
  GroupTable(const GroupTable&) = delete;
  GroupTable& operator=(const GroupTable&) = delete;

  /// Returns the hash the table uses for a key (XXH3, not the partitioning hash).
  static uint64_t hash_key(std::string_view key);

  /// Returns the group with this key (live or tombstone) or kNone; hash is hash_key(key).
  uint32_t find(std::string_view key, uint64_t hash) const;
  /// Brings the slots a probe for hash starts at into the cache.
  void prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }
  /// Brings the record and metadata of the group a probe for hash most likely finds into the
  /// cache (after prefetch(hash) had time to load its slot).
  void prefetch_group(uint64_t hash) const {
    const uint64_t slot = slots_[hash & mask_];
    if (slot == 0 || (slot >> 32) != hash) return;
    const auto group = static_cast<uint32_t>(slot & 0xFFFFFFFFu) - 1;
    __builtin_prefetch(record(group));
    __builtin_prefetch(&meta_[group]);
  }
  /// Inserts an absent key with a zero-filled row and no flags; returns its id.
  uint32_t insert(std::string_view key, uint64_t hash);
  /// Removes a group (its row must already be released by the operator).
  void erase(uint32_t group);

  std::string_view key(uint32_t group) const {
    if (key_width_ >= 0) {
      return {reinterpret_cast<const char*>(record(group) + row_words_),
              static_cast<size_t>(key_width_)};
    }
    return variable_keys_[group];
  }
  uint64_t* row(uint32_t group) { return record(group); }
  const uint64_t* row(uint32_t group) const { return record(group); }
  int row_words() const { return row_words_; }

  /// Returns one past the highest group id in use (iterate and test is_live).
  uint32_t end_id() const { return static_cast<uint32_t>(meta_.size()); }
  /// Returns the number of groups held, tombstones included.
  int64_t size() const { return num_groups_; }
  /// Returns the number of live groups (not tombstones).
  int64_t num_live() const { return num_groups_ - num_tombstones_; }

  bool is_live(uint32_t group) const {
    return (meta_[group].flags & (kAlive | kTombstone)) == kAlive;
  }
  bool is_tombstone(uint32_t group) const { return (meta_[group].flags & kTombstone) != 0; }
  bool is_dirty(uint32_t group) const { return (meta_[group].flags & kDirty) != 0; }
  bool is_stored(uint32_t group) const { return (meta_[group].flags & kStored) != 0; }
  bool is_pending(uint32_t group) const { return meta_[group].pending_epoch > committed_epoch_; }
  /// Returns true when the (group, generation) reference still names the same live group.
  bool is_current(uint32_t group, uint32_t generation) const {
    return group < meta_.size() && meta_[group].generation == generation && is_live(group);
  }

  /// Marks a group changed in this epoch (listed once in dirty_groups) and recently used.
  void mark_dirty(uint32_t group) {
    Meta& meta = meta_[group];
    meta.flags |= kTouched;
    if (meta.flags & kDirty) return;
    meta.flags |= kDirty;
    dirty_.push_back(group);
  }
  /// Marks a group recently used (it survives the next shrink pass).
  void touch(uint32_t group) { meta_[group].flags |= kTouched; }
  /// Marks a group present in the committed state (loaded from it).
  void mark_stored(uint32_t group) { meta_[group].flags |= kStored; }
  /// Turns a tombstone back into a live group with a zero-filled row (still stored).
  void revive(uint32_t group);
  /// Lists the groups marked dirty since the last clear_dirty_groups (some may since have been
  /// erased, become tombstones or been written: check is_dirty and is_live).
  const std::vector<uint32_t>& dirty_groups() const { return dirty_; }
  /// Calls f(group) for every live dirty group, in increasing id (memory) order: by sorting
  /// the dirty list, or by scanning every id when most groups are dirty.
  template <typename F>
  void for_each_dirty(F&& f) {
    if (dirty_.size() * 4 >= meta_.size()) {
      for (uint32_t group = 0; group < end_id(); ++group) {
        if ((meta_[group].flags & (kAlive | kTombstone | kDirty)) == (kAlive | kDirty)) f(group);
      }
      return;
    }
    std::sort(dirty_.begin(), dirty_.end());
    for (uint32_t group : dirty_) {
      if (is_dirty(group) && is_live(group)) f(group);
    }
  }
  /// Records that the delta of epoch writes the group: clean, stored and pending until epoch
  /// commits.
  void mark_written(uint32_t group, int64_t epoch) {
    Meta& meta = meta_[group];
    meta.flags = static_cast<uint8_t>((meta.flags & ~kDirty) | kStored);
    meta.pending_epoch = epoch;
  }
  /// Empties the dirty list; every live dirty group must have been written (mark_written).
  void clear_dirty_groups() { dirty_.clear(); }
  /// Replaces a stored group by a tombstone pending in epoch's delta (the operator released
  /// the row; the key stays readable), or erases an unstored group outright.
  void remove(uint32_t group, int64_t epoch);
  /// Tells the table the deltas of epochs <= epoch are committed: their groups are no longer
  /// pending and their tombstones are erased.
  void commit(int64_t epoch);

  /// Sets the group's event time and indexes it (kNoEventTime: not indexed).
  void set_event_time(uint32_t group, int64_t event_time);
  int64_t event_time(uint32_t group) const { return meta_[group].event_time; }
  /// Removes from the index and returns (appended to groups) every live group whose event time
  /// is <= bound, in time order, once each; an entry whose group changed its event time since
  /// is skipped.
  void pop_due(int64_t bound, std::vector<uint32_t>& groups);

  /// Sets the bytes a group's row holds outside the table (strings, sets, sketches).
  void set_heap_bytes(uint32_t group, int64_t bytes);
  /// Returns the approximate bytes held by the table and its groups.
  int64_t memory_bytes() const { return memory_bytes_; }

  /// Chooses clean groups (neither dirty nor pending nor recently used: a second-chance clock)
  /// to drop until memory_bytes() <= target or none is left; calls on_drop(group) for each,
  /// which must release the row, then erases it.
  template <typename OnDrop>
  void shrink(int64_t target, OnDrop&& on_drop) {
    const uint32_t end = end_id();
    if (end == 0) return;
    // Two sweeps: the first clears recently-used marks, the second may take those groups.
    for (uint64_t step = 0; step < 2ull * end && memory_bytes_ > target; ++step) {
      if (clock_hand_ >= end) clock_hand_ = 0;
      const uint32_t group = clock_hand_++;
      Meta& meta = meta_[group];
      if (!is_live(group) || (meta.flags & kDirty) || is_pending(group)) continue;
      if (meta.flags & kTouched) {
        meta.flags &= static_cast<uint8_t>(~kTouched);
        continue;
      }
      on_drop(group);
      erase(group);
    }
  }

  /// Counts the owned groups present in the committed state but not in memory (dropped by
  /// shrink or not loaded at start), and a lower bound of their event times; a table with
  /// none is complete: a key it does not hold does not exist.
  int64_t num_unloaded() const { return num_unloaded_; }
  int64_t unloaded_min_event_time() const { return unloaded_min_event_time_; }
  bool complete() const { return num_unloaded_ == 0; }
  void note_unloaded(int64_t event_time) {
    ++num_unloaded_;
    if (event_time < unloaded_min_event_time_) unloaded_min_event_time_ = event_time;
  }
  /// Counts `count` unloaded groups whose event times are not known (the state was not
  /// scanned): the first due-group scan then starts from the earliest time.
  void note_unloaded_unscanned(int64_t count) {
    if (count <= 0) return;
    num_unloaded_ += count;
    unloaded_min_event_time_ = std::numeric_limits<int64_t>::min();
  }
  void note_loaded() {
    if (num_unloaded_ > 0) --num_unloaded_;
    if (num_unloaded_ == 0) unloaded_min_event_time_ = kNoEventTime;
  }
  /// Sets the lower bound of unloaded event times after the operator dealt with every unloaded
  /// group below it.
  void set_unloaded_min_event_time(int64_t event_time) {
    unloaded_min_event_time_ = num_unloaded_ == 0 ? kNoEventTime : event_time;
  }

 private:
  static constexpr uint8_t kAlive = 1;
  static constexpr uint8_t kTombstone = 2;
  static constexpr uint8_t kDirty = 4;
  static constexpr uint8_t kStored = 8;
  static constexpr uint8_t kTouched = 16;
  static constexpr uint8_t kPopped = 32;  // set while pop_due collects, to skip duplicates

  struct Meta {
    int64_t event_time = kNoEventTime;
    int64_t pending_epoch = std::numeric_limits<int64_t>::min();
    int64_t heap_bytes = 0;
    uint32_t generation = 0;
    uint8_t flags = 0;
  };
  struct Tombstone {
    int64_t epoch;
    uint32_t group;
    uint32_t generation;
  };

  uint64_t* record(uint32_t group) const {
    return records_ + static_cast<size_t>(group) * static_cast<size_t>(record_words_);
  }
  int64_t group_bytes(uint32_t group) const;
  void grow_slots();
  void grow_records();
  size_t slot_of(uint32_t group) const;

  int key_width_;
  int row_words_;
  int record_words_;
  // Records of record_words_ words (row, then the key for fixed widths), 64-byte aligned.
  uint64_t* records_ = nullptr;
  size_t record_capacity_ = 0;
  std::vector<std::string> variable_keys_;
  std::vector<Meta> meta_;
  std::vector<uint32_t> free_;
  // Open addressing with linear probing: (high 32 bits of the hash) << 32 | (group + 1), 0 empty.
  std::vector<uint64_t> slots_;
  uint64_t mask_ = 0;
  int64_t num_groups_ = 0;
  int64_t num_tombstones_ = 0;
  int64_t memory_bytes_ = 0;
  int64_t committed_epoch_ = std::numeric_limits<int64_t>::min();
  std::vector<uint32_t> dirty_;
  std::vector<Tombstone> tombstones_;
  std::map<int64_t, std::vector<std::pair<uint32_t, uint32_t>>> index_;
  // The bucket the last set_event_time used, so a run of groups with one time skips the map.
  int64_t last_bucket_time_ = kNoEventTime;
  std::vector<std::pair<uint32_t, uint32_t>>* last_bucket_ = nullptr;
  uint32_t clock_hand_ = 0;
  int64_t num_unloaded_ = 0;
  int64_t unloaded_min_event_time_ = kNoEventTime;
};

/// Names a key to sort: where its bytes are, and a tag for the caller (an index, a size).
struct SortItem {
  uint64_t digit = 0;  // scratch of the sort
  const char* key = nullptr;
  uint32_t size = 0;
  uint32_t tag = 0;
};

/// Sorts items by their distinct keys of one encoder (none a prefix of another) into memcmp
/// order: an MSD radix sort on 8-byte digits that skips the prefix all keys of a range share,
/// so keys with a long common prefix (one window, one time) sort as integers and each key is
/// read about once per level. Moves the items themselves; scratch is resized to hold as many
/// (kept by the caller to reuse its memory). Thread-safe.
void sort_by_key(std::vector<SortItem>& items, std::vector<SortItem>& scratch);

/// Collects the changes of one epoch (keys removed, keys written with their values), copying
/// each key and value side by side into one buffer while the group is in the cache, then
/// writes them to a StateDelta once each, in key order (so a replayed epoch yields the same
/// delta, and a B-tree store inserts it sequentially). Keeps its buffers from epoch to epoch.
/// Not thread-safe.
class DeltaBuilder {
 public:
  /// Starts a new epoch's changes.
  void clear();
  /// Records that key is deleted.
  void add_removed(std::string_view key);
  /// Starts a written key: copies the key; append its value to the returned buffer, then call
  /// end_written.
  std::string& begin_written(std::string_view key);
  /// Ends the written key begun last.
  void end_written();
  /// Appends the changes to delta in key order, then gives back the memory of a large epoch's
  /// changes (the counts stay until clear).
  void write(StateDelta& delta);

  int64_t num_removed() const { return num_removed_; }
  int64_t num_written() const { return num_changes_ - num_removed_; }

 private:
  static constexpr uint32_t kRemoved = std::numeric_limits<uint32_t>::max();
  struct Change {
    size_t begin;  // the key, then the value, in data_
    uint32_t key_size;
    uint32_t value_size;  // kRemoved for a delete
  };
  std::string data_;
  std::vector<Change> changes_;
  std::vector<SortItem> items_;
  std::vector<SortItem> scratch_;
  int64_t num_removed_ = 0;
  int64_t num_changes_ = 0;
};

/// Empties a scratch vector, and frees its memory when it holds more than `keep_bytes`: an
/// epoch that changed millions of keys must not leave its buffers behind for the whole run.
template <typename T>
void clear_scratch(std::vector<T>& scratch, size_t keep_bytes = size_t{1} << 20) {
  if (scratch.capacity() * sizeof(T) > keep_bytes) {
    std::vector<T>().swap(scratch);
  } else {
    scratch.clear();
  }
}

}  // namespace sluice
