#include "operators/session_window_aggregate.hpp"
#include "operators/partitioned_operator.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>

#include "operators/group_table.hpp"
#include "operators/key_encoder.hpp"
#include "operators/state_encoding.hpp"

namespace sluice {

namespace {

namespace se = state_encoding;

// What every partition of one session window aggregate shares; immutable.
struct Config {
  SchemaPtr input;
  SchemaPtr output;
  std::vector<int> key_columns;
  int time_column = -1;
  std::shared_ptr<const AggregateRow> aggregates;
  SessionWindowOptions options;
  std::shared_ptr<const KeyEncoder> encoder;
  std::string fingerprint;
};

// The sessions of one key, sorted by start, pairwise apart (each starts after the previous
// one ends, so their ends are sorted too): words [start, end, changed, aggregate row...] per
// session.
class Sessions {
 public:
  explicit Sessions(int aggregate_words) : stride_(3 + aggregate_words) {}

  int size() const { return static_cast<int>(words_.size() / static_cast<size_t>(stride_)); }
  bool empty() const { return words_.empty(); }
  int64_t start(int i) const { return static_cast<int64_t>(at(i)[0]); }
  int64_t end(int i) const { return static_cast<int64_t>(at(i)[1]); }
  bool changed(int i) const { return at(i)[2] != 0; }
  void set_changed(int i) { at(i)[2] = 1; }
  uint64_t* aggregates(int i) { return at(i) + 3; }
  const uint64_t* aggregates(int i) const { return at(i) + 3; }

  // Adds the interval [start, end) to the sessions, merging every session it overlaps or
  // touches; returns the index of the session holding it and adjusts count by the change in
  // the number of sessions.
  int add(int64_t start, int64_t end, const AggregateRow& layout, int64_t& count) {
    const int n = size();
    int lo = 0;
    while (lo < n && this->end(lo) < start) {
      ++lo;
    }
    int hi = lo;
    while (hi < n && this->start(hi) <= end) {
      ++hi;
    }
    if (lo == hi) {
      words_.insert(words_.begin() + static_cast<int64_t>(lo) * stride_,
                    static_cast<size_t>(stride_), 0);
      at(lo)[0] = static_cast<uint64_t>(start);
      at(lo)[1] = static_cast<uint64_t>(end);
      ++count;
      return lo;
    }
    const int64_t merged_start = std::min(this->start(lo), start);
    const int64_t merged_end = std::max(this->end(hi - 1), end);
    for (int i = lo + 1; i < hi; ++i) {
      layout.merge(aggregates(lo), aggregates(i));
      layout.destroy(aggregates(i));
    }
    words_.erase(words_.begin() + static_cast<int64_t>(lo + 1) * stride_,
                 words_.begin() + static_cast<int64_t>(hi) * stride_);
    count -= hi - lo - 1;
    at(lo)[0] = static_cast<uint64_t>(merged_start);
    at(lo)[1] = static_cast<uint64_t>(merged_end);
    at(lo)[2] = 1;
    return lo;
  }

  // Removes the first `count` sessions (the earliest).
  void erase_front(int count, const AggregateRow& layout) {
    for (int i = 0; i < count; ++i) {
      layout.destroy(aggregates(i));
    }
    words_.erase(words_.begin(), words_.begin() + static_cast<int64_t>(count) * stride_);
  }

  void clear_changed() {
    for (int i = 0; i < size(); ++i) {
      at(i)[2] = 0;
    }
  }

  void destroy(const AggregateRow& layout) {
    for (int i = 0; i < size(); ++i) {
      layout.destroy(aggregates(i));
    }
    words_.clear();
  }

  int64_t heap_bytes(const AggregateRow& layout) const {
    int64_t bytes = static_cast<int64_t>(sizeof(Sessions) + 8 * words_.capacity());
    if (layout.has_heap_state()) {
      for (int i = 0; i < size(); ++i) {
        bytes += layout.heap_bytes(aggregates(i));
      }
    }
    return bytes;
  }

  void serialize(const AggregateRow& layout, std::string& out) const {
    se::put_byte(out, se::kFormatVersion);
    se::put_varint(out, static_cast<uint64_t>(size()));
    for (int i = 0; i < size(); ++i) {
      se::put_zigzag(out, start(i));
      se::put_varint(out, static_cast<uint64_t>(end(i)) - static_cast<uint64_t>(start(i)));
      layout.serialize(aggregates(i), out);
    }
  }

  // Reads sessions written by serialize into this empty list.
  Status deserialize(std::string_view value, const AggregateRow& layout) {
    std::string_view in = value;
    auto corrupt = [&](const std::string& why) {
      destroy(layout);
      return Status::corrupt("session window state: " + why);
    };
    uint8_t version;
    uint64_t count;
    if (!se::get_byte(in, version) || version != se::kFormatVersion) {
      return corrupt("unknown format version");
    }
    if (!se::get_varint(in, count) || count > in.size()) return corrupt("bad session count");
    for (uint64_t i = 0; i < count; ++i) {
      int64_t start;
      uint64_t length;
      if (!se::get_zigzag(in, start) || !se::get_varint(in, length) || length == 0) {
        return corrupt("bad session bounds");
      }
      const int64_t end = static_cast<int64_t>(static_cast<uint64_t>(start) + length);
      if (end <= start || (!empty() && start <= this->end(size() - 1))) {
        return corrupt("sessions out of order");
      }
      words_.resize(words_.size() + static_cast<size_t>(stride_), 0);
      const int index = size() - 1;
      at(index)[0] = static_cast<uint64_t>(start);
      at(index)[1] = static_cast<uint64_t>(end);
      Status status = layout.deserialize(in, aggregates(index));
      if (!status.is_ok()) {
        words_.resize(words_.size() - static_cast<size_t>(stride_));
        destroy(layout);
        return status;
      }
    }
    if (!in.empty()) return corrupt(std::to_string(in.size()) + " bytes after the sessions");
    return Status::ok();
  }

  // Reads the session count and the earliest end of a serialized value without decoding it.
  static bool peek(std::string_view value, uint64_t& count, int64_t& first_end) {
    std::string_view in = value;
    uint8_t version;
    int64_t start;
    uint64_t length;
    if (!se::get_byte(in, version) || !se::get_varint(in, count)) return false;
    if (count == 0) {
      first_end = GroupTable::kNoEventTime;
      return true;
    }
    if (!se::get_zigzag(in, start) || !se::get_varint(in, length)) return false;
    first_end = static_cast<int64_t>(static_cast<uint64_t>(start) + length);
    return true;
  }

 private:
  uint64_t* at(int i) {
    return words_.data() + static_cast<size_t>(i) * static_cast<size_t>(stride_);
  }
  const uint64_t* at(int i) const {
    return words_.data() + static_cast<size_t>(i) * static_cast<size_t>(stride_);
  }

  int stride_;
  std::vector<uint64_t> words_;
};

class SessionWindowState final : public StatefulOperatorState {
 public:
  SessionWindowState(std::shared_ptr<const Config> config, int partition, int num_partitions,
                     std::shared_ptr<const StateReader> committed)
      : config_(std::move(config)),
        layout_(*config_->aggregates),
        partition_(partition),
        num_partitions_(num_partitions),
        committed_(std::move(committed)),
        table_(config_->encoder->fixed_width(), 1) {}

  ~SessionWindowState() override {
    for (uint32_t group = 0; group < table_.end_id(); ++group) {
      if (table_.is_live(group)) release(group);
    }
  }

  // Loads the owned committed keys while they fit in the cache; counts the others.
  Status load(int64_t cache_bytes) {
    if (!committed_) return Status::ok();
    Status status;
    SLUICE_RETURN_NOT_OK(
        committed_->scan("", "", [&](std::string_view key, std::string_view value) {
          if (!owns(key)) return true;
          if (table_.memory_bytes() >= cache_bytes) {
            status = note_unloaded_value(key, value);
            return status.is_ok();
          }
          status = insert_loaded(key, GroupTable::hash_key(key), value).status();
          return status.is_ok();
        }));
    return status;
  }

  Status add_input(const RecordBatchPtr& batch, const EpochContext& context) override {
    const int64_t n = batch->num_rows();
    if (n == 0) return Status::ok();
    shrink_if_needed();
    const Config& config = *config_;
    const Column& time = *batch->column(config.time_column);
    const int64_t* times = time.values<int64_t>();
    const Column* gaps =
        config.options.gap_column >= 0 ? batch->column(config.options.gap_column).get() : nullptr;
    const bool evicting =
        context.watermark != EpochContext::kNoWatermark && context.mode != OutputMode::Complete;
    const bool indexing = context.mode != OutputMode::Complete;
    config.encoder->encode_flat(*batch, keys_);
    for (int64_t r = 0; r < n; ++r) {
      if (!time.is_valid(r)) continue;
      int64_t gap = config.options.gap_micros;
      if (gaps != nullptr) {
        if (!gaps->is_valid(r)) continue;
        gap = gaps->values<int64_t>()[r];
        if (gap <= 0) continue;
      }
      const int64_t start = times[r];
      int64_t end;
      if (__builtin_add_overflow(start, gap, &end)) end = std::numeric_limits<int64_t>::max();
      if (evicting && end <= context.watermark) {
        ++epoch_dropped_;
        continue;
      }
      const std::string_view key = keys_.key(r);
      const uint64_t hash = GroupTable::hash_key(key);
      uint32_t group = table_.find(key, hash);
      if (group == GroupTable::kNone || table_.is_tombstone(group)) {
        SLUICE_ASSIGN_OR_RETURN(group, create_group(key, hash, group));
      }
      Sessions& sessions = sessions_of(group);
      const int index = sessions.add(start, end, layout_, sessions_in_memory_);
      sessions.set_changed(index);
      const auto row = static_cast<int32_t>(r);
      uint64_t* state = sessions.aggregates(index);
      const int64_t rank = (context.epoch << 32) + arrivals_++;
      layout_.update(*batch, &row, &state, 1, &rank);
      table_.mark_dirty(group);
      if (indexing && sessions.end(0) != table_.event_time(group)) {
        table_.set_event_time(group, sessions.end(0));
      }
    }
    return Status::ok();
  }

  Status finish_epoch(const EpochContext& context, std::vector<RecordBatchPtr>& out,
                      StateDelta& delta) override {
    const int64_t epoch = context.epoch;
    const int64_t watermark = context.watermark;
    const bool evicting =
        watermark != EpochContext::kNoWatermark && context.mode != OutputMode::Complete;
    std::vector<uint32_t> final_groups;
    if (evicting) {
      SLUICE_RETURN_NOT_OK(load_final_unloaded(watermark));
      table_.pop_due(watermark, final_groups);
    }
    std::vector<Entry> entries;
    switch (context.mode) {
      case OutputMode::Append:
        for (uint32_t group : final_groups) {
          const Sessions& sessions = sessions_of(group);
          for (int i = 0; i < sessions.size() && sessions.end(i) <= watermark; ++i) {
            entries.push_back({table_.key(group), &sessions, i});
          }
        }
        SLUICE_RETURN_NOT_OK(emit(entries, out));
        break;
      case OutputMode::Update:
        for (uint32_t group : table_.dirty_groups()) {
          if (!table_.is_dirty(group) || !table_.is_live(group)) continue;
          const Sessions& sessions = sessions_of(group);
          for (int i = 0; i < sessions.size(); ++i) {
            if (sessions.changed(i)) entries.push_back({table_.key(group), &sessions, i});
          }
        }
        SLUICE_RETURN_NOT_OK(emit(entries, out));
        break;
      case OutputMode::Complete:
        SLUICE_RETURN_NOT_OK(emit_all(out));
        break;
    }
    delta_.clear();
    metrics_.num_rows_removed = 0;
    for (uint32_t group : final_groups) {
      Sessions& sessions = sessions_of(group);
      int count = 0;
      while (count < sessions.size() && sessions.end(count) <= watermark) {
        ++count;
      }
      sessions.erase_front(count, layout_);
      sessions_in_memory_ -= count;
      metrics_.num_rows_removed += count;
      if (sessions.empty()) {
        if (table_.is_stored(group)) delta_.add_removed(table_.key(group));
        release(group);
        table_.remove(group, epoch);
      } else {
        table_.mark_dirty(group);
        table_.set_event_time(group, sessions.end(0));
      }
    }
    metrics_.num_rows_updated = 0;
    table_.for_each_dirty([&](uint32_t group) {
      Sessions& sessions = sessions_of(group);
      sessions.serialize(layout_, delta_.begin_written(table_.key(group)));
      delta_.end_written();
      for (int i = 0; i < sessions.size(); ++i) {
        metrics_.num_rows_updated += sessions.changed(i);
      }
      sessions.clear_changed();
      table_.set_heap_bytes(group, sessions.heap_bytes(layout_));
      table_.mark_written(group, epoch);
    });
    table_.clear_dirty_groups();
    delta_.write(delta);
    arrivals_ = 0;
    metrics_.num_rows_dropped_by_watermark = epoch_dropped_;
    epoch_dropped_ = 0;
    metrics_.num_rows_total = sessions_in_memory_ + unloaded_sessions_;
    metrics_.memory_used_bytes = memory_bytes();
    return Status::ok();
  }

  void epoch_committed(int64_t epoch) override {
    table_.commit(epoch);
    shrink_if_needed();
    metrics_.memory_used_bytes = memory_bytes();
  }

  StateOperatorMetrics metrics() const override { return metrics_; }

 private:
  // One output row: a session of a key.
  struct Entry {
    std::string_view key;
    const Sessions* sessions;
    int index;
  };

  bool owns(std::string_view key) const {
    return num_partitions_ <= 1 || key_partition(key, num_partitions_) == partition_;
  }

  Sessions& sessions_of(uint32_t group) {
    auto* sessions = reinterpret_cast<Sessions*>(static_cast<uintptr_t>(table_.row(group)[0]));
    if (sessions == nullptr) {
      sessions = new Sessions(layout_.words());
      table_.row(group)[0] = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(sessions));
    }
    return *sessions;
  }

  // Releases a group's sessions (the table row goes back to zero).
  void release(uint32_t group) {
    auto* sessions = reinterpret_cast<Sessions*>(static_cast<uintptr_t>(table_.row(group)[0]));
    if (sessions == nullptr) return;
    sessions_in_memory_ -= sessions->size();
    sessions->destroy(layout_);
    delete sessions;
    table_.row(group)[0] = 0;
  }

  int64_t memory_bytes() const {
    return table_.memory_bytes() +
           static_cast<int64_t>(keys_.bytes.capacity() + 8 * keys_.offsets.capacity());
  }

  Status note_unloaded_value(std::string_view key, std::string_view value) {
    uint64_t count;
    int64_t first_end;
    if (!Sessions::peek(value, count, first_end)) {
      return Status::corrupt("session window state of a key of " + std::to_string(key.size()) +
                             " bytes does not decode");
    }
    table_.note_unloaded(first_end);
    unloaded_sessions_ += static_cast<int64_t>(count);
    return Status::ok();
  }

  Result<uint32_t> insert_loaded(std::string_view key, uint64_t hash, std::string_view value) {
    const uint32_t group = table_.insert(key, hash);
    Sessions& sessions = sessions_of(group);
    Status status = sessions.deserialize(value, layout_);
    if (!status.is_ok()) {
      release(group);
      table_.erase(group);
      return status;
    }
    sessions_in_memory_ += sessions.size();
    table_.mark_stored(group);
    table_.touch(group);
    table_.set_heap_bytes(group, sessions.heap_bytes(layout_));
    if (!sessions.empty()) table_.set_event_time(group, sessions.end(0));
    return group;
  }

  Result<uint32_t> create_group(std::string_view key, uint64_t hash, uint32_t tombstone) {
    if (tombstone != GroupTable::kNone) {
      table_.revive(tombstone);
      return tombstone;
    }
    if (!table_.complete() && committed_) {
      SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> value, committed_->get(key));
      if (value) {
        SLUICE_ASSIGN_OR_RETURN(uint32_t group, insert_loaded(key, hash, *value));
        unloaded_sessions_ -= sessions_of(group).size();
        table_.note_loaded();
        return group;
      }
    }
    return table_.insert(key, hash);
  }

  // Brings every unloaded key whose earliest session may be final into memory, with one scan
  // of the committed state (only when such a key may exist).
  Status load_final_unloaded(int64_t watermark) {
    if (table_.complete() || !committed_ || table_.unloaded_min_event_time() > watermark) {
      return Status::ok();
    }
    Status status;
    int64_t remaining_min = GroupTable::kNoEventTime;
    SLUICE_RETURN_NOT_OK(
        committed_->scan("", "", [&](std::string_view key, std::string_view value) {
          if (!owns(key)) return true;
          const uint64_t hash = GroupTable::hash_key(key);
          if (table_.find(key, hash) != GroupTable::kNone) return true;
          uint64_t count;
          int64_t first_end;
          if (!Sessions::peek(value, count, first_end)) {
            status = Status::corrupt("session window state does not decode");
            return false;
          }
          if (first_end > watermark) {
            remaining_min = std::min(remaining_min, first_end);
            return true;
          }
          auto group = insert_loaded(key, hash, value);
          if (!group.ok()) {
            status = group.status();
            return false;
          }
          unloaded_sessions_ -= static_cast<int64_t>(count);
          table_.note_loaded();
          return true;
        }));
    SLUICE_RETURN_NOT_OK(status);
    table_.set_unloaded_min_event_time(remaining_min);
    return Status::ok();
  }

  void shrink_if_needed() {
    const int64_t cache = config_->options.cache_bytes;
    if (table_.memory_bytes() <= cache) return;
    table_.shrink(cache - cache / 4, [&](uint32_t group) {
      const Sessions& sessions = sessions_of(group);
      table_.note_unloaded(sessions.empty() ? GroupTable::kNoEventTime : sessions.end(0));
      unloaded_sessions_ += sessions.size();
      release(group);
    });
  }

  Status emit(std::vector<Entry>& entries, std::vector<RecordBatchPtr>& out) {
    if (entries.empty()) return Status::ok();
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      if (a.key != b.key) return a.key < b.key;
      return a.sessions->start(a.index) < b.sessions->start(b.index);
    });
    const Config& config = *config_;
    const size_t num_keys = config.key_columns.size();
    std::vector<ColumnBuilder> builders;
    for (const Field& field : config.output->fields()) {
      builders.emplace_back(field.type);
    }
    std::vector<ColumnBuilder*> key_builders;
    for (size_t i = 0; i < num_keys; ++i) {
      key_builders.push_back(&builders[i]);
    }
    for (const Entry& entry : entries) {
      SLUICE_RETURN_NOT_OK(config.encoder->decode_into(entry.key, key_builders.data())
                               .with_context("state key of a session window aggregate"));
      builders[num_keys].append_timestamp(entry.sessions->start(entry.index));
      builders[num_keys + 1].append_timestamp(entry.sessions->end(entry.index));
      layout_.finalize(entry.sessions->aggregates(entry.index), builders.data() + num_keys + 2);
    }
    std::vector<ColumnPtr> columns;
    for (auto& builder : builders) {
      columns.push_back(builder.finish());
    }
    out.push_back(RecordBatch::make_unchecked(config.output, std::move(columns),
                                              static_cast<int64_t>(entries.size())));
    return Status::ok();
  }

  // Emits every session of every owned key: memory, plus the committed keys not in memory.
  Status emit_all(std::vector<RecordBatchPtr>& out) {
    std::vector<Entry> entries;
    for (uint32_t group = 0; group < table_.end_id(); ++group) {
      if (!table_.is_live(group)) continue;
      const Sessions& sessions = sessions_of(group);
      for (int i = 0; i < sessions.size(); ++i) {
        entries.push_back({table_.key(group), &sessions, i});
      }
    }
    std::deque<std::string> keys;
    std::deque<Sessions> loaded;
    auto release_loaded = [&] {
      for (auto& sessions : loaded) {
        sessions.destroy(layout_);
      }
    };
    if (!table_.complete() && committed_) {
      Status status;
      Status scanned = committed_->scan("", "", [&](std::string_view key, std::string_view value) {
        if (!owns(key) || table_.find(key, GroupTable::hash_key(key)) != GroupTable::kNone) {
          return true;
        }
        loaded.emplace_back(layout_.words());
        status = loaded.back().deserialize(value, layout_);
        if (!status.is_ok()) return false;
        keys.emplace_back(key);
        for (int i = 0; i < loaded.back().size(); ++i) {
          entries.push_back({keys.back(), &loaded.back(), i});
        }
        return true;
      });
      if (!scanned.is_ok() || !status.is_ok()) {
        release_loaded();
        return scanned.is_ok() ? status : scanned;
      }
    }
    Status emitted = emit(entries, out);
    release_loaded();
    return emitted;
  }

  std::shared_ptr<const Config> config_;
  const AggregateRow& layout_;
  int partition_;
  int num_partitions_;
  std::shared_ptr<const StateReader> committed_;
  GroupTable table_;
  EncodedKeys keys_;
  DeltaBuilder delta_;
  int64_t arrivals_ = 0;
  int64_t epoch_dropped_ = 0;
  int64_t sessions_in_memory_ = 0;
  int64_t unloaded_sessions_ = 0;
  StateOperatorMetrics metrics_;
};

}  // namespace

Result<std::shared_ptr<const StatefulOperator>> make_session_window_aggregate(
    SchemaPtr input, std::vector<int> key_columns, int time_column,
    std::vector<AggregateSpec> aggregates, SessionWindowOptions options) {
  if (!input) return Status::invalid_argument("session window aggregate without an input schema");
  auto column_name = [&](int column) {
    return column >= 0 && column < input->num_fields() ? "'" + input->field(column).name + "'"
                                                       : "index " + std::to_string(column);
  };
  for (int column : key_columns) {
    if (column < 0 || column >= input->num_fields()) {
      return Status::invalid_argument("grouping column index " + std::to_string(column) +
                                      " is outside the input schema (" + input->to_string() + ")");
    }
  }
  if (time_column < 0 || time_column >= input->num_fields() ||
      input->field(time_column).type != Type::Timestamp) {
    return Status::type_error("session window needs a TIMESTAMP event-time column, not " +
                              column_name(time_column));
  }
  if (options.gap_column >= 0) {
    if (options.gap_column >= input->num_fields() ||
        input->field(options.gap_column).type != Type::Int64) {
      return Status::type_error("session window gap column " + column_name(options.gap_column) +
                                " must be BIGINT microseconds");
    }
  } else if (options.gap_micros <= 0) {
    return Status::invalid_argument("session window gap must be positive, not " +
                                    std::to_string(options.gap_micros) + " microseconds");
  }
  if (options.cache_bytes <= 0) {
    return Status::invalid_argument("cache_bytes must be positive, not " +
                                    std::to_string(options.cache_bytes));
  }
  SLUICE_ASSIGN_OR_RETURN(AggregateRow layout, AggregateRow::make(*input, aggregates));
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder encoder, KeyEncoder::make(*input, key_columns));
  std::vector<Field> fields;
  std::string keys_text;
  for (int column : key_columns) {
    fields.push_back(input->field(column));
    if (!keys_text.empty()) keys_text += ", ";
    keys_text +=
        input->field(column).name + " " + std::string(type_name(input->field(column).type));
  }
  fields.push_back(Field{"session_window.start", Type::Timestamp, false});
  fields.push_back(Field{"session_window.end", Type::Timestamp, false});
  for (const Field& field : layout.output_fields()) {
    fields.push_back(field);
  }
  auto output = Schema::make(std::move(fields));
  if (!output.ok()) return output.status().with_context("output schema of the session windows");
  auto config = std::make_shared<Config>();
  config->input = input;
  config->output = *output;
  config->key_columns = std::move(key_columns);
  config->time_column = time_column;
  config->options = options;
  config->fingerprint = "session_window keys=[" + keys_text +
                        "] time=" + input->field(time_column).name + " aggs=[" +
                        layout.fingerprint() + "] format=" + std::to_string(se::kFormatVersion);
  config->aggregates = std::make_shared<const AggregateRow>(std::move(layout));
  config->encoder = std::make_shared<const KeyEncoder>(std::move(encoder));
  return std::shared_ptr<const StatefulOperator>(
      std::make_shared<PartitionedOperator<SessionWindowState, Config>>("session window aggregate",
                                                                        config, config->output));
}

}  // namespace sluice
