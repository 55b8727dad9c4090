#include "operators/stream_join.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <limits>
#include <map>
#include <queue>
#include <unordered_map>

#include "core/bitmap.hpp"
#include "core/column_builder.hpp"
#include "operators/join_segment.hpp"
#include "operators/key_encoder.hpp"
#include "operators/state_encoding.hpp"

namespace sluice {

namespace {

namespace se = state_encoding;

constexpr int kLeft = 0;
constexpr int kRight = 1;
constexpr uint32_t kNoRow = UINT32_MAX;
constexpr int64_t kKeyEntryBytes = 96;  // an index node, its bucket and two empty row lists

// What every partition of one join shares; immutable.
struct Config {
  SchemaPtr side_schema[2];
  SchemaPtr joined;
  SchemaPtr output;
  StreamJoinOptions options;
  std::vector<int> keys[2];
  int time[2] = {-1, -1};
  std::shared_ptr<const KeyEncoder> key_encoder[2];
  std::shared_ptr<const KeyEncoder> row_encoder[2];
  std::optional<BoundExpr> condition;
  // Per joined column: the side and column it comes from; key columns name the left column
  // and, in other_key, the right one (used when a row has no left side).
  struct Source {
    int side = kLeft;
    int column = 0;
    int other_key = -1;
  };
  std::vector<Source> joined_sources;
  bool outer[2] = {false, false};
  bool semi = false;
  std::string fingerprint;

  // Returns true when a row of `side` can be evicted by the watermark at all.
  bool evictable(int side) const {
    if (time[kLeft] < 0 || time[kRight] < 0) return false;
    return side == kLeft ? options.bounds.upper.has_value() : options.bounds.lower.has_value();
  }
  // Returns the watermark a row of `side` with event time t must pass to be evicted.
  int64_t eviction_time(int side, int64_t t) const {
    return side == kLeft ? t + *options.bounds.upper : t - *options.bounds.lower;
  }
};

// Appends row `row` of column to builder (a null when the column's value is null).
inline void append_cell(ColumnBuilder& builder, const Column& column, int64_t row) {
  if (column.is_null(row)) {
    builder.append_null();
    return;
  }
  switch (column.type()) {
    case Type::Bool: builder.append_bool(column.values<uint8_t>()[row] != 0); return;
    case Type::Int64: builder.append_int64(column.values<int64_t>()[row]); return;
    case Type::Timestamp: builder.append_timestamp(column.values<int64_t>()[row]); return;
    case Type::Double: builder.append_double(column.values<double>()[row]); return;
    case Type::String: builder.append_string(column.string_at(row)); return;
  }
}

// The buffered rows of both sides with one join key.
struct KeyRows {
  std::vector<uint32_t> rows[2];
};

// Hashes join keys so that a std::string_view finds them without a copy.
struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

using KeyIndex = std::unordered_map<std::string, KeyRows, KeyHash, std::equal_to<>>;

struct BufferedRow {
  uint32_t chunk = 0;
  uint32_t row = 0;
  KeyIndex::value_type* key = nullptr;  // the join key's entry in the index (nodes are stable)
  int64_t time = 0;
  bool has_time = false;
  bool matched = false;
  bool live = false;
};

// When the earliest row of a chunk may be evicted; stale once the chunk's slot is reused
// (generation) or its earliest eviction time moved (time).
struct Expiry {
  int64_t time;
  uint32_t chunk;
  uint64_t generation;
  bool operator>(const Expiry& other) const { return time > other.time; }
};

// The rows of one input batch (or one loaded segment) of one side: a segment of the state
// (see join_segment.hpp), stored whole at the end of its first epoch.
struct Chunk {
  RecordBatchPtr batch;             // null while the slot is free
  std::vector<uint32_t> row_index;  // per batch row: its BufferedRow, or kNoRow when not buffered
  int64_t live = 0;
  std::string key;                  // the rows part's state key once stored, else empty
  bool status_stored = false;
  bool changed = false;             // listed in Side::changed
  // The earliest watermark that evicts one of its rows (max: none); one expiry entry per chunk
  // rather than per row keeps the queue as small as the number of chunks.
  int64_t next_expiry = std::numeric_limits<int64_t>::max();
  uint64_t generation = 0;  // counts the slot's uses
  int64_t stored_epoch = -1;  // the epoch whose commit wrote the rows part
  bool evicted = false;       // the columns left memory (batch is null); read back on a match
  uint64_t last_used = 0;     // when the columns were last added or read back
};

// The buffered rows of one side of one partition.
struct Side {
  std::vector<Chunk> chunks;
  std::vector<uint32_t> free_chunks;
  std::vector<BufferedRow> rows;
  std::vector<uint32_t> free_rows;
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<Expiry>> expiries;  // of chunks
  std::vector<uint32_t> changed;  // chunks whose stored segment no longer matches memory
  int64_t live_rows = 0;
  int64_t memory_bytes = 0;
};

// A pair of rows (or a row and nothing) to emit: indices into each side's rows, kNoRow for
// none.
struct Pair {
  uint32_t left;
  uint32_t right;
};

// Returns a free slot of items (one listed in free_slots, else a new one at the end).
template <typename T>
uint32_t take_slot(std::vector<T>& items, std::vector<uint32_t>& free_slots) {
  if (!free_slots.empty()) {
    const uint32_t slot = free_slots.back();
    free_slots.pop_back();
    return slot;
  }
  items.emplace_back();
  return static_cast<uint32_t>(items.size() - 1);
}

std::string status_key_of(std::string rows_key) {
  rows_key.back() = static_cast<char>(JoinSegmentPart::status);
  return rows_key;
}

class StreamJoinState final : public StatefulOperatorState {
 public:
  StreamJoinState(std::shared_ptr<const Config> config, int partition, int num_partitions,
                  std::shared_ptr<const StateReader> committed)
      : config_(std::move(config)),
        partition_(partition),
        num_partitions_(num_partitions),
        committed_(std::move(committed)) {}

  Status load() {
    if (!committed_) return Status::ok();
    JoinSegmentCollector collector;
    Status status;
    auto collect = [&](const std::string& begin, const std::string& end) -> Status {
      SLUICE_RETURN_NOT_OK(committed_->scan(begin, end, [&](std::string_view key, std::string_view value) {
        status = collector.add(key, value);
        return status.is_ok();
      }));
      return status.with_context("loading join state");
    };
    // This partition's own segments, then those written with another partition count (each
    // partition takes the rows its keys route to). A sibling's segments are neither read nor
    // deleted here: deleting them lost their rows at the next restart.
    SLUICE_RETURN_NOT_OK(collect(join_segment_partition_prefix(num_partitions_, partition_),
                                 join_segment_partition_prefix(num_partitions_, partition_ + 1)));
    SLUICE_RETURN_NOT_OK(collect("", join_segment_partition_prefix(num_partitions_, 0)));
    SLUICE_RETURN_NOT_OK(collect(join_segment_partition_prefix(num_partitions_ + 1, 0), ""));
    std::vector<int32_t> partition_of_row;
    std::vector<int32_t> taken;
    for (JoinSegment& segment : collector.finish()) {
      const int side = segment.key.side;
      const std::string key = encode_join_segment_key(segment.key, JoinSegmentPart::rows);
      const Schema& schema = *config_->side_schema[side];
      bool same_types = segment.rows->num_columns() == schema.num_fields();
      for (int c = 0; same_types && c < schema.num_fields(); ++c) {
        same_types = segment.rows->column(c)->type() == schema.field(c).type;
      }
      if (!same_types) {
        return Status::corrupt("join state segment of the " + std::string(side == kLeft ? "left" : "right") +
                               " side has columns (" + segment.rows->schema()->to_string() + "), not (" +
                               schema.to_string() + ")");
      }
      SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr rows,
                              RecordBatch::make(config_->side_schema[side], segment.rows->columns()));
      if (segment.key.num_partitions == num_partitions_) {
        const uint32_t c = add_chunk(side, rows);
        sides_[side].chunks[c].key = key;
        sides_[side].chunks[c].stored_epoch = segment.key.epoch;
        committed_epoch_ = std::max(committed_epoch_, segment.key.epoch);
        sides_[side].chunks[c].status_stored = segment.has_status;
        config_->key_encoder[side]->encode_flat(*rows, keys_);
        for (int64_t r = 0; r < rows->num_rows(); ++r) {
          const uint8_t flags = segment.flags[static_cast<size_t>(r)];
          if ((flags & kJoinRowLive) == 0) continue;
          const uint32_t index = buffer_row(side, c, static_cast<uint32_t>(r), keys_.key(r));
          sides_[side].rows[index].matched = (flags & kJoinRowMatched) != 0;
        }
        schedule_expiry(side, c);
        // A segment without live rows is deleted by the next epoch.
        if (sides_[side].chunks[c].live == 0) mark_changed(side, c);
        continue;
      }
      // Written with another partitioning: take the rows routed here and store them anew;
      // partition 0 deletes the old segment in the same commit.
      if (partition_ == 0) {
        foreign_deletes_.push_back(key);
        if (segment.has_status) foreign_deletes_.push_back(status_key_of(key));
      }
      if (num_partitions_ > 1) partition_rows(*rows, config_->keys[side], num_partitions_, partition_of_row);
      taken.clear();
      for (int64_t r = 0; r < rows->num_rows(); ++r) {
        if ((segment.flags[static_cast<size_t>(r)] & kJoinRowLive) == 0) continue;
        if (num_partitions_ > 1 && partition_of_row[static_cast<size_t>(r)] != partition_) continue;
        taken.push_back(static_cast<int32_t>(r));
      }
      if (taken.empty()) continue;
      RecordBatchPtr mine = rows->take(taken.data(), static_cast<int64_t>(taken.size()));
      const uint32_t c = add_chunk(side, mine);
      config_->key_encoder[side]->encode_flat(*mine, keys_);
      for (size_t r = 0; r < taken.size(); ++r) {
        const uint32_t index = buffer_row(side, c, static_cast<uint32_t>(r), keys_.key(static_cast<int64_t>(r)));
        sides_[side].rows[index].matched = (segment.flags[static_cast<size_t>(taken[r])] & kJoinRowMatched) != 0;
      }
      schedule_expiry(side, c);
      mark_changed(side, c);
    }
    shrink();
    return Status::ok();
  }

  Status add_input(const RecordBatchPtr& batch, const EpochContext& context) override {
    return add_input(kLeft, batch, context);
  }

  Status add_input(int input, const RecordBatchPtr& batch, const EpochContext& context) override {
    if (input != kLeft && input != kRight) {
      return Status::internal("a join has inputs 0 and 1, not " + std::to_string(input));
    }
    if (batch->num_rows() == 0) return Status::ok();
    // The runtime gives an operator one epoch's input at a time (the next epoch's rows wait in
    // the partition actor until this one finished), so a batch joins as it arrives.
    return join_batch(input, batch, context);
  }

  Status finish_epoch(const EpochContext& context, std::vector<RecordBatchPtr>& out,
                      StateDelta& delta) override {
    return finish_joined_epoch(context, out, delta);
  }

  void epoch_committed(int64_t epoch) override {
    committed_epoch_ = std::max(committed_epoch_, epoch);
    shrink();
    metrics_.memory_used_bytes = sides_[kLeft].memory_bytes + sides_[kRight].memory_bytes + index_bytes_;
    metrics_.custom_metrics["segmentsEvicted"] = evicted_chunks_;
  }

  StateOperatorMetrics metrics() const override { return metrics_; }

 private:
  // Buffers a batch of one side and emits its matches with the other side's buffered rows;
  // rows below the epoch's watermark are late.
  Status join_batch(int side, const RecordBatchPtr& batch, const EpochContext& context) {
    const int other = 1 - side;
    const Config& config = *config_;
    const int64_t n = batch->num_rows();
    if (n == 0) return Status::ok();
    const Column* time = config.time[side] >= 0 ? batch->column(config.time[side]).get() : nullptr;
    const bool drop_late = time != nullptr && context.watermark != EpochContext::kNoWatermark;
    const bool needs_time = config.options.bounds.lower || config.options.bounds.upper;
    config.key_encoder[side]->encode_flat(*batch, keys_);
    const uint32_t chunk = add_chunk(side, batch);
    pairs_.clear();
    unmatched_now_.clear();
    for (int64_t r = 0; r < n; ++r) {
      const bool has_time = time != nullptr && time->is_valid(r);
      if (drop_late && has_time && time->values<int64_t>()[r] < context.watermark) {
        ++epoch_dropped_;
        continue;
      }
      bool null_key = false;
      for (int column : config.keys[side]) null_key |= batch->column(column)->is_null(r);
      if (null_key || (needs_time && !has_time)) {
        // Can never match: an outer side's row is final at once, others are dropped.
        if (config.outer[side]) unmatched_now_.push_back(static_cast<int32_t>(r));
        continue;
      }
      const uint32_t index = buffer_row(side, chunk, static_cast<uint32_t>(r), keys_.key(r));
      for (uint32_t match : sides_[side].rows[index].key->second.rows[other]) {
        pairs_.push_back(side == kLeft ? Pair{index, match} : Pair{match, index});
      }
    }
    if (sides_[side].chunks[chunk].live == 0) {
      free_chunk(side, chunk);
    } else {
      mark_changed(side, chunk);
      schedule_expiry(side, chunk);
    }
    if (!unmatched_now_.empty()) {
      RecordBatchPtr rows = batch->take(unmatched_now_.data(), static_cast<int64_t>(unmatched_now_.size()));
      SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr padded, pad_with_nulls(side, *rows));
      pending_.push_back(std::move(padded));
    }
    SLUICE_RETURN_NOT_OK(emit_matches());
    return Status::ok();
  }

  // Evicts, emits the epoch's output and writes its delta, once its rows are joined.
  Status finish_joined_epoch(const EpochContext& context, std::vector<RecordBatchPtr>& out,
                             StateDelta& delta) {
    metrics_.num_rows_removed = 0;
    if (context.watermark != EpochContext::kNoWatermark) {
      for (int side = 0; side < 2; ++side) SLUICE_RETURN_NOT_OK(evict(side, context.watermark));
    }
    for (auto& batch : pending_) out.push_back(std::move(batch));
    pending_.clear();
    int64_t written = 0;
    uint32_t sequence = 0;
    for (int side = 0; side < 2; ++side) {
      Side& s = sides_[side];
      for (uint32_t c : s.changed) {
        Chunk& chunk = s.chunks[c];
        chunk.changed = false;
        if (chunk.live == 0) {
          if (!chunk.key.empty()) {
            if (chunk.status_stored) delta.changes.push_back({status_key_of(chunk.key), std::nullopt});
            delta.changes.push_back({std::move(chunk.key), std::nullopt});
          }
          free_chunk(side, c);
          continue;
        }
        if (chunk.key.empty()) {
          chunk.key = encode_join_segment_key({side, context.epoch, num_partitions_, partition_, sequence++},
                                              JoinSegmentPart::rows);
          SLUICE_ASSIGN_OR_RETURN(std::string rows, encode_join_segment_rows(*chunk.batch));
          delta.changes.push_back({chunk.key, std::move(rows)});
          chunk.stored_epoch = context.epoch;
          written += chunk.live;
        }
        bool all_live_unmatched = chunk.live == static_cast<int64_t>(chunk.row_index.size());
        flags_.assign(chunk.row_index.size(), 0);
        for (size_t r = 0; r < chunk.row_index.size(); ++r) {
          const uint32_t index = chunk.row_index[r];
          if (index == kNoRow) continue;
          const bool matched = config_->outer[side] && s.rows[index].matched;
          flags_[r] = static_cast<uint8_t>(kJoinRowLive | (matched ? kJoinRowMatched : 0));
          all_live_unmatched &= !matched;
        }
        if (!all_live_unmatched) {
          delta.changes.push_back({status_key_of(chunk.key), encode_join_segment_status(flags_)});
          chunk.status_stored = true;
        } else if (chunk.status_stored) {
          delta.changes.push_back({status_key_of(chunk.key), std::nullopt});
          chunk.status_stored = false;
        }
      }
      s.changed.clear();
    }
    sweep_keys();
    for (auto& key : foreign_deletes_) delta.changes.push_back({std::move(key), std::nullopt});
    foreign_deletes_.clear();
    std::sort(delta.changes.begin(), delta.changes.end(),
              [](const StateDelta::Change& a, const StateDelta::Change& b) { return a.key < b.key; });
    metrics_.num_rows_updated = written;
    metrics_.num_rows_dropped_by_watermark = epoch_dropped_;
    epoch_dropped_ = 0;
    metrics_.num_rows_total = sides_[kLeft].live_rows + sides_[kRight].live_rows;
    metrics_.memory_used_bytes = sides_[kLeft].memory_bytes + sides_[kRight].memory_bytes + index_bytes_;
    metrics_.custom_metrics["leftRowsTotal"] = sides_[kLeft].live_rows;
    metrics_.custom_metrics["rightRowsTotal"] = sides_[kRight].live_rows;
    metrics_.custom_metrics["segmentsEvicted"] = evicted_chunks_;
    metrics_.custom_metrics["segmentsReadBack"] = metrics_reloads_;
    metrics_reloads_ = 0;
    return Status::ok();
  }

  // Drops the index entries of keys no buffered row has, once they are more than half of the
  // index (so the sweep's cost is shared by the removals that made them).
  void sweep_keys() {
    if (empty_keys_ < 1024 || empty_keys_ * 2 < static_cast<int64_t>(index_.size())) return;
    for (auto it = index_.begin(); it != index_.end();) {
      if (it->second.rows[kLeft].empty() && it->second.rows[kRight].empty()) {
        index_bytes_ -= static_cast<int64_t>(it->first.size() + kKeyEntryBytes);
        it = index_.erase(it);
      } else {
        ++it;
      }
    }
    empty_keys_ = 0;
  }

  uint32_t add_chunk(int side, RecordBatchPtr batch) {
    Side& s = sides_[side];
    const uint32_t c = take_slot(s.chunks, s.free_chunks);
    Chunk& chunk = s.chunks[c];
    chunk.row_index.assign(static_cast<size_t>(batch->num_rows()), kNoRow);
    chunk.live = 0;
    chunk.key.clear();
    chunk.status_stored = false;
    chunk.changed = false;
    chunk.next_expiry = std::numeric_limits<int64_t>::max();
    ++chunk.generation;
    chunk.stored_epoch = -1;
    chunk.evicted = false;
    chunk.last_used = ++uses_;
    s.memory_bytes += batch->memory_bytes() + batch->num_rows() * static_cast<int64_t>(sizeof(uint32_t));
    chunk.batch = std::move(batch);
    return c;
  }

  // Queues the chunk's earliest eviction time, once its rows are buffered.
  void schedule_expiry(int side, uint32_t c) {
    const Chunk& chunk = sides_[side].chunks[c];
    if (chunk.next_expiry == std::numeric_limits<int64_t>::max()) return;
    sides_[side].expiries.push({chunk.next_expiry, c, chunk.generation});
  }

  // Lists a chunk whose segment must be written (or deleted) at the end of the epoch.
  void mark_changed(int side, uint32_t c) {
    Chunk& chunk = sides_[side].chunks[c];
    if (chunk.changed) return;
    chunk.changed = true;
    sides_[side].changed.push_back(c);
  }

  // Frees a chunk that no row uses and whose segment is not (or no longer) in the state.
  void free_chunk(int side, uint32_t c) {
    Side& s = sides_[side];
    Chunk& chunk = s.chunks[c];
    if (chunk.batch) s.memory_bytes -= chunk.batch->memory_bytes();
    if (chunk.evicted) --evicted_chunks_;
    s.memory_bytes -= static_cast<int64_t>(chunk.row_index.size() * sizeof(uint32_t));
    chunk.batch.reset();
    chunk.evicted = false;
    chunk.next_expiry = std::numeric_limits<int64_t>::max();
    std::vector<uint32_t>().swap(chunk.row_index);
    chunk.key.clear();
    s.free_chunks.push_back(c);
  }

  // Drops the columns of committed segments, least recently used first, while the partition
  // holds more than the cache (stateCacheSize); their rows stay indexed and are read back by
  // ensure_loaded.
  void shrink() {
    const auto total = [&] { return sides_[kLeft].memory_bytes + sides_[kRight].memory_bytes + index_bytes_; };
    if (total() <= config_->options.cache_bytes) return;
    struct Candidate {
      uint64_t last_used;
      int side;
      uint32_t chunk;
    };
    std::vector<Candidate> candidates;
    for (int side = 0; side < 2; ++side) {
      for (uint32_t c = 0; c < sides_[side].chunks.size(); ++c) {
        const Chunk& chunk = sides_[side].chunks[c];
        if (chunk.batch && !chunk.key.empty() && chunk.stored_epoch <= committed_epoch_) {
          candidates.push_back({chunk.last_used, side, c});
        }
      }
    }
    std::sort(candidates.begin(), candidates.end(),
              [](const Candidate& a, const Candidate& b) { return a.last_used < b.last_used; });
    for (const Candidate& candidate : candidates) {
      if (total() <= config_->options.cache_bytes) break;
      Chunk& chunk = sides_[candidate.side].chunks[candidate.chunk];
      sides_[candidate.side].memory_bytes -= chunk.batch->memory_bytes();
      chunk.batch.reset();
      chunk.evicted = true;
      ++evicted_chunks_;
    }
  }

  // Reads back the columns of the evicted segments that rows of `pairs` lie in.
  Status ensure_loaded(const std::vector<Pair>& pairs) {
    if (evicted_chunks_ == 0) return Status::ok();
    for (const Pair& pair : pairs) {
      for (int side = 0; side < 2; ++side) {
        const uint32_t index = side == kLeft ? pair.left : pair.right;
        if (index == kNoRow) continue;
        const uint32_t c = sides_[side].rows[index].chunk;
        if (sides_[side].chunks[c].evicted) SLUICE_RETURN_NOT_OK(reload_chunk(side, c));
      }
    }
    return Status::ok();
  }

  Status reload_chunk(int side, uint32_t c) {
    Side& s = sides_[side];
    Chunk& chunk = s.chunks[c];
    const std::string where = "join state segment of the " + std::string(side == kLeft ? "left" : "right") +
                              " side stored in epoch " + std::to_string(chunk.stored_epoch);
    if (!committed_) return Status::internal(where + " left memory without a checkpoint to read it back from");
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> value, committed_->get(chunk.key));
    if (!value) return Status::corrupt(where + " is missing from the checkpoint");
    auto rows = decode_join_segment_rows(*value);
    if (!rows.ok()) return rows.status().with_context(where);
    if ((*rows)->num_rows() != static_cast<int64_t>(chunk.row_index.size()) ||
        (*rows)->num_columns() != config_->side_schema[side]->num_fields()) {
      return Status::corrupt(where + " has another shape in the checkpoint than in memory");
    }
    SLUICE_ASSIGN_OR_RETURN(chunk.batch, RecordBatch::make(config_->side_schema[side], (*rows)->columns()));
    s.memory_bytes += chunk.batch->memory_bytes();
    chunk.evicted = false;
    chunk.last_used = ++uses_;
    --evicted_chunks_;
    ++metrics_reloads_;
    return Status::ok();
  }

  uint32_t buffer_row(int side, uint32_t chunk, uint32_t row_in_chunk, std::string_view key) {
    Side& s = sides_[side];
    const uint32_t index = take_slot(s.rows, s.free_rows);
    auto entry = index_.find(key);
    if (entry == index_.end()) {
      entry = index_.emplace(std::string(key), KeyRows{}).first;
      index_bytes_ += static_cast<int64_t>(key.size() + kKeyEntryBytes);
    } else if (entry->second.rows[kLeft].empty() && entry->second.rows[kRight].empty()) {
      --empty_keys_;
    }
    entry->second.rows[side].push_back(index);
    BufferedRow& row = s.rows[index];
    row.chunk = chunk;
    row.row = row_in_chunk;
    row.key = &*entry;
    row.matched = false;
    row.live = true;
    Chunk& owner = s.chunks[chunk];
    const int time_column = config_->time[side];
    const Column& time = *owner.batch->column(time_column >= 0 ? time_column : 0);
    row.has_time = time_column >= 0 && time.is_valid(row_in_chunk);
    row.time = row.has_time ? time.values<int64_t>()[row_in_chunk] : 0;
    owner.row_index[row_in_chunk] = index;
    ++owner.live;
    ++s.live_rows;
    s.memory_bytes += static_cast<int64_t>(sizeof(BufferedRow) + sizeof(uint32_t));
    if (config_->evictable(side) && row.has_time) {
      owner.next_expiry = std::min(owner.next_expiry, config_->eviction_time(side, row.time));
    }
    return index;
  }

  void remove_row(int side, uint32_t index) {
    Side& s = sides_[side];
    BufferedRow& row = s.rows[index];
    auto& list = row.key->second.rows[side];
    auto position = std::find(list.begin(), list.end(), index);
    *position = list.back();
    list.pop_back();
    // The key's entry stays for the next row with that key (keys recur); sweep_keys drops
    // entries no row uses once they are many.
    if (list.empty() && row.key->second.rows[1 - side].empty()) ++empty_keys_;
    row.live = false;
    row.key = nullptr;
    Chunk& chunk = s.chunks[row.chunk];
    chunk.row_index[row.row] = kNoRow;
    --chunk.live;
    mark_changed(side, row.chunk);
    --s.live_rows;
    s.memory_bytes -= static_cast<int64_t>(sizeof(BufferedRow) + sizeof(uint32_t));
    s.free_rows.push_back(index);
    ++metrics_.num_rows_removed;
  }

  void mark_matched(int side, uint32_t index) {
    BufferedRow& row = sides_[side].rows[index];
    if (row.matched) return;
    row.matched = true;
    // Only outer sides need the flag to survive a restart.
    if (config_->outer[side]) mark_changed(side, row.chunk);
  }

  // Builds the joined columns of pairs; a kNoRow side gives nulls (keys then come from the
  // other side).
  Result<RecordBatchPtr> gather(const std::vector<Pair>& pairs) const {
    const Config& config = *config_;
    const size_t n = pairs.size();
    // Finds each pair's rows once, not once per column.
    for (int side = 0; side < 2; ++side) {
      located_[side].resize(n);
      const Side& s = sides_[side];
      for (size_t i = 0; i < n; ++i) {
        const uint32_t index = side == kLeft ? pairs[i].left : pairs[i].right;
        located_[side][i] = index == kNoRow ? Location{kNoRow, 0} : Location{s.rows[index].chunk, s.rows[index].row};
      }
    }
    std::vector<ColumnPtr> columns;
    for (size_t c = 0; c < config.joined_sources.size(); ++c) {
      const auto& source = config.joined_sources[c];
      const Type type = config.joined->field(static_cast<int>(c)).type;
      // The column of every chunk, by chunk index (few chunks, many rows).
      auto columns_of = [&](int side, int column, std::vector<const Column*>& out) {
        const Side& s = sides_[side];
        out.assign(s.chunks.size(), nullptr);
        for (size_t k = 0; k < s.chunks.size(); ++k) {
          if (s.chunks[k].batch) out[k] = s.chunks[k].batch->column(column).get();
        }
      };
      columns_of(source.side, source.column, chunk_columns_[0]);
      if (source.other_key >= 0) columns_of(kRight, source.other_key, chunk_columns_[1]);
      switch (type) {
        case Type::Bool: columns.push_back(gather_fixed<uint8_t>(type, source.side, source.other_key >= 0, n)); continue;
        case Type::Int64:
        case Type::Timestamp: columns.push_back(gather_fixed<int64_t>(type, source.side, source.other_key >= 0, n)); continue;
        case Type::Double: columns.push_back(gather_fixed<double>(type, source.side, source.other_key >= 0, n)); continue;
        case Type::String: break;
      }
      ColumnBuilder builder(type);
      builder.reserve(static_cast<int64_t>(n));
      const std::vector<Location>& primary = located_[source.side];
      for (size_t i = 0; i < n; ++i) {
        const Location* at = &primary[i];
        const std::vector<const Column*>* from = &chunk_columns_[0];
        if (at->chunk == kNoRow && source.other_key >= 0) {
          at = &located_[kRight][i];
          from = &chunk_columns_[1];
        }
        if (at->chunk == kNoRow) {
          builder.append_null();
          continue;
        }
        append_cell(builder, *(*from)[at->chunk], at->row);
      }
      columns.push_back(builder.finish());
    }
    return RecordBatch::make(config.joined, std::move(columns));
  }

  // Gathers a fixed-width column of values T from chunk_columns_ at located_ (as gather left
  // them): one load per row, no per-cell dispatch; a validity bitmap only when a cell is null.
  template <typename T>
  ColumnPtr gather_fixed(Type type, int primary_side, bool has_fallback, size_t n) const {
    auto values = Buffer::allocate_for_overwrite(static_cast<int64_t>(n * sizeof(T)));
    auto validity = Buffer::allocate(bitmap::bytes_for(static_cast<int64_t>(n)));
    T* out = values->mutable_as<T>();
    uint8_t* valid = validity->mutable_data();
    int64_t nulls = 0;
    const Location* primary = located_[primary_side].data();
    const Column* const* primary_columns = chunk_columns_[0].data();
    for (size_t i = 0; i < n; ++i) {
      const Location* at = &primary[i];
      const Column* const* from = primary_columns;
      if (at->chunk == kNoRow && has_fallback) {
        at = &located_[kRight][i];
        from = chunk_columns_[1].data();
      }
      if (at->chunk == kNoRow || from[at->chunk]->is_null(at->row)) {
        out[i] = T{};
        ++nulls;
        continue;
      }
      out[i] = from[at->chunk]->values<T>()[at->row];
      bitmap::set(valid, static_cast<int64_t>(i));
    }
    return Column::make_unchecked(type, static_cast<int64_t>(n), std::move(values),
                                  nulls > 0 ? std::move(validity) : nullptr);
  }

  // Builds the output rows of one side's rows alone (the other side null).
  Result<RecordBatchPtr> pad_with_nulls(int side, const RecordBatch& rows) const {
    const Config& config = *config_;
    if (config.semi) return RecordBatch::make(config.output, rows.columns());
    std::vector<ColumnPtr> columns;
    for (size_t c = 0; c < config.joined_sources.size(); ++c) {
      const auto& source = config.joined_sources[c];
      int column = -1;
      if (source.side == side) column = source.column;
      if (source.other_key >= 0 && side == kRight) column = source.other_key;
      if (column < 0) {
        columns.push_back(Column::make_null(config.joined->field(static_cast<int>(c)).type, rows.num_rows()));
      } else {
        columns.push_back(rows.column(column));
      }
    }
    return RecordBatch::make(config.output, std::move(columns));
  }

  // Emits the candidate pairs of the last input batch that satisfy the condition.
  Status emit_matches() {
    if (pairs_.empty()) return Status::ok();
    SLUICE_RETURN_NOT_OK(ensure_loaded(pairs_));
    const Config& config = *config_;
    std::vector<Pair> matches;
    RecordBatchPtr joined;
    if (config.condition) {
      SLUICE_ASSIGN_OR_RETURN(joined, gather(pairs_));
      SLUICE_RETURN_NOT_OK(config.condition->select(*joined, selection_));
      for (int32_t i : selection_) matches.push_back(pairs_[static_cast<size_t>(i)]);
      if (!config.semi && !selection_.empty()) {
        pending_.push_back(static_cast<size_t>(selection_.size()) == pairs_.size()
                               ? joined
                               : joined->take(selection_.data(), static_cast<int64_t>(selection_.size())));
      }
    } else {
      matches = pairs_;
      if (!config.semi) {
        SLUICE_ASSIGN_OR_RETURN(joined, gather(pairs_));
        pending_.push_back(std::move(joined));
      }
    }
    if (config.semi) {
      // Each left row goes out on its first match and leaves the state: nothing more can
      // come of it.
      std::vector<Pair> firsts;
      for (const Pair& pair : matches) {
        BufferedRow& left = sides_[kLeft].rows[pair.left];
        if (!left.live || left.matched) continue;
        left.matched = true;
        firsts.push_back({pair.left, kNoRow});
      }
      if (firsts.empty()) return Status::ok();
      std::vector<ColumnPtr> columns;
      const Schema& schema = *config.side_schema[kLeft];
      for (int c = 0; c < schema.num_fields(); ++c) {
        ColumnBuilder builder(schema.field(c).type);
        for (const Pair& pair : firsts) {
          const BufferedRow& row = sides_[kLeft].rows[pair.left];
          append_cell(builder, *sides_[kLeft].chunks[row.chunk].batch->column(c), row.row);
        }
        columns.push_back(builder.finish());
      }
      SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr rows, RecordBatch::make(config.output, std::move(columns)));
      pending_.push_back(std::move(rows));
      for (const Pair& pair : firsts) remove_row(kLeft, pair.left);
      return Status::ok();
    }
    // Only an outer side's rows need to know they matched.
    if (!config.outer[kLeft] && !config.outer[kRight]) return Status::ok();
    for (const Pair& pair : matches) {
      mark_matched(kLeft, pair.left);
      mark_matched(kRight, pair.right);
    }
    return Status::ok();
  }

  // Evicts the rows of a side no future row can match; an outer side's unmatched rows go out
  // with nulls.
  Status evict(int side, int64_t watermark) {
    Side& s = sides_[side];
    std::vector<Pair> unmatched;
    std::vector<uint32_t> due;
    while (!s.expiries.empty() && s.expiries.top().time < watermark) {
      const Expiry expiry = s.expiries.top();
      s.expiries.pop();
      Chunk& chunk = s.chunks[expiry.chunk];
      if (chunk.generation != expiry.generation || chunk.next_expiry != expiry.time) continue;
      int64_t next = std::numeric_limits<int64_t>::max();
      for (uint32_t index : chunk.row_index) {
        if (index == kNoRow) continue;
        const BufferedRow& row = s.rows[index];
        if (!row.has_time) continue;
        const int64_t time = config_->eviction_time(side, row.time);
        if (time >= watermark) {
          next = std::min(next, time);
          continue;
        }
        due.push_back(index);
        if (config_->outer[side] && !row.matched) {
          unmatched.push_back(side == kLeft ? Pair{index, kNoRow} : Pair{kNoRow, index});
        }
      }
      chunk.next_expiry = next;
      schedule_expiry(side, expiry.chunk);
    }
    if (!unmatched.empty()) {
      SLUICE_RETURN_NOT_OK(ensure_loaded(unmatched));
      SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr rows, gather(unmatched));
      pending_.push_back(std::move(rows));
    }
    for (uint32_t index : due) remove_row(side, index);
    return Status::ok();
  }

  std::shared_ptr<const Config> config_;
  int partition_;
  int num_partitions_;
  std::shared_ptr<const StateReader> committed_;
  Side sides_[2];
  KeyIndex index_;
  int64_t index_bytes_ = 0;  // the index's entries, estimated
  int64_t empty_keys_ = 0;   // index entries no buffered row uses
  EncodedKeys keys_;
  std::vector<Pair> pairs_;
  std::vector<int32_t> unmatched_now_;
  std::vector<int32_t> selection_;
  std::vector<RecordBatchPtr> pending_;
  std::vector<uint8_t> flags_;
  // gather's scratch: where each pair's rows are, and each chunk's column.
  struct Location {
    uint32_t chunk;
    uint32_t row;
  };
  mutable std::vector<Location> located_[2];
  mutable std::vector<const Column*> chunk_columns_[2];
  std::vector<std::string> foreign_deletes_;  // segments of another partitioning (partition 0)
  int64_t committed_epoch_ = -1;  // the last epoch known committed
  int64_t evicted_chunks_ = 0;    // chunks whose columns left memory
  uint64_t uses_ = 0;             // the clock of Chunk::last_used
  int64_t metrics_reloads_ = 0;   // segments read back this epoch
  int64_t epoch_dropped_ = 0;
  StateOperatorMetrics metrics_;
};

class StreamJoinOperator final : public StatefulOperator {
 public:
  explicit StreamJoinOperator(std::shared_ptr<const Config> config) : config_(std::move(config)) {}

  std::string name() const override { return "stream-stream " + std::string(join_type_name(config_->options.type)) + " join"; }
  const SchemaPtr& input_schema() const override { return config_->side_schema[kLeft]; }
  const SchemaPtr& output_schema() const override { return config_->output; }
  std::vector<int> key_columns() const override { return config_->keys[kLeft]; }
  int num_inputs() const override { return 2; }
  SchemaPtr input_schema(int input) const override { return config_->side_schema[input == kRight ? kRight : kLeft]; }
  std::vector<int> key_columns(int input) const override { return config_->keys[input == kRight ? kRight : kLeft]; }
  std::string state_fingerprint() const override { return config_->fingerprint; }

  Result<std::unique_ptr<StatefulOperatorState>> make_state(
      int partition, int num_partitions, std::shared_ptr<const StateReader> committed) const override {
    if (num_partitions < 1 || partition < 0 || partition >= num_partitions) {
      return Status::invalid_argument("partition " + std::to_string(partition) + " of " +
                                      std::to_string(num_partitions) + " does not exist");
    }
    auto state = std::make_unique<StreamJoinState>(config_, partition, num_partitions, std::move(committed));
    SLUICE_RETURN_NOT_OK(state->load().with_context("loading the state of " + name()));
    return std::unique_ptr<StatefulOperatorState>(std::move(state));
  }

 private:
  std::shared_ptr<const Config> config_;
};

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A column plus a constant number of microseconds, or nothing when expr is not of that form.
struct TimeTerm {
  std::string column;
  int64_t offset = 0;
};

std::optional<TimeTerm> time_term(const Expr& expr) {
  if (expr.kind() == ExprKind::column) return TimeTerm{expr.column_name(), 0};
  if (expr.kind() == ExprKind::alias) return time_term(expr.children()[0]);
  if (expr.kind() != ExprKind::binary) return std::nullopt;
  const std::string& op = expr.function_name();
  if (op != "+" && op != "-") return std::nullopt;
  const Expr& a = expr.children()[0];
  const Expr& b = expr.children()[1];
  auto constant = [](const Expr& e) -> std::optional<int64_t> {
    if (e.kind() != ExprKind::literal || !e.is_interval()) return std::nullopt;
    const Value& value = e.literal();
    if (!std::holds_alternative<int64_t>(value.storage())) return std::nullopt;
    return value.as_int64();
  };
  if (auto term = time_term(a)) {
    if (auto c = constant(b)) {
      term->offset += op == "+" ? *c : -*c;
      return term;
    }
  }
  if (op == "+") {
    if (auto term = time_term(b)) {
      if (auto c = constant(a)) {
        term->offset += *c;
        return term;
      }
    }
  }
  return std::nullopt;
}

void collect_conjuncts(const Expr& expr, std::vector<Expr>& out) {
  if (expr.kind() == ExprKind::binary && expr.function_name() == "and") {
    for (const auto& child : expr.children()) collect_conjuncts(child, out);
  } else {
    out.push_back(expr);
  }
}

}  // namespace

std::string_view join_type_name(JoinType type) {
  switch (type) {
    case JoinType::inner: return "inner";
    case JoinType::left_outer: return "left_outer";
    case JoinType::right_outer: return "right_outer";
    case JoinType::full_outer: return "full_outer";
    case JoinType::left_semi: return "left_semi";
    case JoinType::left_anti: return "left_anti";
  }
  return "?";
}

Result<JoinType> parse_join_type(std::string_view text) {
  std::string name = lower_ascii(text);
  name.erase(std::remove(name.begin(), name.end(), '_'), name.end());
  if (name == "inner") return JoinType::inner;
  if (name == "left" || name == "leftouter") return JoinType::left_outer;
  if (name == "right" || name == "rightouter") return JoinType::right_outer;
  if (name == "full" || name == "outer" || name == "fullouter") return JoinType::full_outer;
  if (name == "leftsemi" || name == "semi") return JoinType::left_semi;
  if (name == "leftanti" || name == "anti") return JoinType::left_anti;
  return Status::invalid_argument("unknown join type '" + std::string(text) +
                                  "': use inner, left_outer, right_outer, full_outer, left_semi "
                                  "or left_anti");
}

TimeBounds time_bounds_of(const Expr& condition, const std::string& left_time,
                          const std::string& right_time) {
  TimeBounds bounds;
  std::vector<Expr> conjuncts;
  collect_conjuncts(condition, conjuncts);
  auto tighten_lower = [&](int64_t v) { bounds.lower = bounds.lower ? std::max(*bounds.lower, v) : v; };
  auto tighten_upper = [&](int64_t v) { bounds.upper = bounds.upper ? std::min(*bounds.upper, v) : v; };
  for (const auto& conjunct : conjuncts) {
    if (conjunct.kind() != ExprKind::binary) continue;
    std::string op = conjunct.function_name();
    if (op != "<" && op != "<=" && op != ">" && op != ">=" && op != "=") continue;
    auto a = time_term(conjunct.children()[0]);
    auto b = time_term(conjunct.children()[1]);
    if (!a || !b) continue;
    // Normalize to (right - left) op c.
    int64_t c = 0;
    if (a->column == right_time && b->column == left_time) {
      c = b->offset - a->offset;  // R + a op L + b  =>  R - L op b - a
    } else if (a->column == left_time && b->column == right_time) {
      c = a->offset - b->offset;  // L + a op R + b  =>  R - L (flipped op) a - b
      if (op == "<") op = ">";
      else if (op == "<=") op = ">=";
      else if (op == ">") op = "<";
      else if (op == ">=") op = "<=";
    } else {
      continue;
    }
    if (op == ">" || op == ">=" || op == "=") tighten_lower(c);
    if (op == "<" || op == "<=" || op == "=") tighten_upper(c);
  }
  return bounds;
}

Result<SchemaPtr> joined_schema(const Schema& left, const Schema& right, const std::vector<int>& left_keys,
                                const std::vector<int>& right_keys, JoinType type) {
  if (left_keys.size() != right_keys.size() || left_keys.empty()) {
    return Status::invalid_argument("a join needs the same number (at least one) of keys on both sides");
  }
  const bool left_nullable = type == JoinType::right_outer || type == JoinType::full_outer;
  const bool right_nullable = type == JoinType::left_outer || type == JoinType::full_outer;
  std::vector<Field> fields;
  for (size_t k = 0; k < left_keys.size(); ++k) {
    const Field& l = left.field(left_keys[k]);
    const Field& r = right.field(right_keys[k]);
    if (l.type != r.type) {
      return Status::type_error("join key " + std::to_string(k + 1) + " is " + std::string(type_name(l.type)) +
                                " ('" + l.name + "') on the left but " + std::string(type_name(r.type)) +
                                " ('" + r.name + "') on the right; cast one side");
    }
    fields.push_back({l.name, l.type, l.nullable || r.nullable});
  }
  auto is_key = [](const std::vector<int>& keys, int c) { return std::find(keys.begin(), keys.end(), c) != keys.end(); };
  for (int c = 0; c < left.num_fields(); ++c) {
    if (is_key(left_keys, c)) continue;
    fields.push_back({left.field(c).name, left.field(c).type, left.field(c).nullable || left_nullable});
  }
  for (int c = 0; c < right.num_fields(); ++c) {
    if (is_key(right_keys, c)) continue;
    for (const auto& field : fields) {
      if (field.name == right.field(c).name) {
        return Status::invalid_argument("both sides of the join have a column '" + field.name +
                                        "'; rename one (with_column_renamed) so the result names each column once");
      }
    }
    fields.push_back({right.field(c).name, right.field(c).type, right.field(c).nullable || right_nullable});
  }
  return Schema::make(std::move(fields));
}

Result<std::shared_ptr<const StatefulOperator>> make_stream_join(SchemaPtr left, SchemaPtr right,
                                                                 StreamJoinOptions options) {
  if (!left || !right) return Status::invalid_argument("a join needs both input schemas");
  if (options.type == JoinType::left_anti) {
    return Status::invalid_argument(
        "left_anti joins of two streams are not supported (rule: an anti join needs a static right side)");
  }
  auto config = std::make_shared<Config>();
  config->side_schema[kLeft] = left;
  config->side_schema[kRight] = right;
  config->keys[kLeft] = options.left_keys;
  config->keys[kRight] = options.right_keys;
  const SchemaPtr sides[2] = {left, right};
  for (int side = 0; side < 2; ++side) {
    for (int column : config->keys[side]) {
      if (column < 0 || column >= sides[side]->num_fields()) {
        return Status::invalid_argument("join key index " + std::to_string(column) + " is outside the " +
                                        (side == kLeft ? "left" : "right") + " schema (" + sides[side]->to_string() + ")");
      }
    }
    const int time = side == kLeft ? options.left_time : options.right_time;
    if (time >= 0 && (time >= sides[side]->num_fields() || sides[side]->field(time).type != Type::Timestamp)) {
      return Status::type_error(std::string("join event-time column of the ") + (side == kLeft ? "left" : "right") +
                                " side must be a TIMESTAMP column");
    }
    config->time[side] = time;
  }
  SLUICE_ASSIGN_OR_RETURN(config->joined, joined_schema(*left, *right, options.left_keys, options.right_keys, options.type));
  for (size_t k = 0; k < options.left_keys.size(); ++k) {
    config->joined_sources.push_back({kLeft, options.left_keys[k], options.right_keys[k]});
  }
  for (int side = 0; side < 2; ++side) {
    for (int c = 0; c < sides[side]->num_fields(); ++c) {
      if (std::find(config->keys[side].begin(), config->keys[side].end(), c) != config->keys[side].end()) continue;
      config->joined_sources.push_back({side, c, -1});
    }
  }
  config->semi = options.type == JoinType::left_semi;
  config->outer[kLeft] = options.type == JoinType::left_outer || options.type == JoinType::full_outer;
  config->outer[kRight] = options.type == JoinType::right_outer || options.type == JoinType::full_outer;
  config->output = config->semi ? left : config->joined;
  if (options.condition) {
    auto bound = bind(*options.condition, *config->joined, options.eval);
    if (!bound.ok()) return bound.status().with_context("join condition");
    if (bound->type() != Type::Bool) {
      return Status::type_error("join condition " + options.condition->to_string() + " is " +
                                std::string(type_name(bound->type())) + ", not BOOLEAN");
    }
    config->condition = std::move(*bound);
  }
  for (int side = 0; side < 2; ++side) {
    SLUICE_ASSIGN_OR_RETURN(KeyEncoder keys, KeyEncoder::make(*sides[side], config->keys[side]));
    config->key_encoder[side] = std::make_shared<const KeyEncoder>(std::move(keys));
    std::vector<int> all;
    for (int c = 0; c < sides[side]->num_fields(); ++c) all.push_back(c);
    SLUICE_ASSIGN_OR_RETURN(KeyEncoder rows, KeyEncoder::make(*sides[side], all));
    config->row_encoder[side] = std::make_shared<const KeyEncoder>(std::move(rows));
  }
  std::string text = "join type=" + std::string(join_type_name(options.type)) + " left=(" + left->to_string() +
                     ") right=(" + right->to_string() + ") keys=[";
  for (size_t k = 0; k < options.left_keys.size(); ++k) {
    text += (k ? ", " : "") + left->field(options.left_keys[k]).name + "=" + right->field(options.right_keys[k]).name;
  }
  text += "]";
  if (options.bounds.lower) text += " lower=" + std::to_string(*options.bounds.lower) + "us";
  if (options.bounds.upper) text += " upper=" + std::to_string(*options.bounds.upper) + "us";
  text += " format=" + std::to_string(se::kFormatVersion) + " state=segments";
  config->fingerprint = std::move(text);
  config->options = std::move(options);
  return std::shared_ptr<const StatefulOperator>(std::make_shared<StreamJoinOperator>(std::move(config)));
}

}  // namespace sluice
