#include "operators/hash_aggregate.hpp"
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

constexpr int kTimePrefix = 9;  // the event-time key's encoding at the front of a state key

// What every partition of one hash aggregate shares; immutable.
struct Config {
  SchemaPtr input;
  SchemaPtr output;
  std::vector<int> key_columns;
  std::shared_ptr<const AggregateRow> aggregates;
  HashAggregateOptions options;
  // Encodes [event-time column] + key_columns: the state key of a row.
  std::shared_ptr<const KeyEncoder> encoder;
  // Partial batches: their layout, the encoder of their state keys, and what senders use
  // (null when partial aggregation is off).
  std::shared_ptr<const PartialAggregation> partial;
  std::shared_ptr<const KeyEncoder> partial_encoder;
  std::shared_ptr<const PartialAggregation> senders_partial;
  int prefix = 0;
  int event_time_column = -1;  // input column of the event-time key, -1 without one
  std::string fingerprint;
};

class HashAggregateState final : public StatefulOperatorState {
 public:
  HashAggregateState(std::shared_ptr<const Config> config, int partition, int num_partitions,
                     std::shared_ptr<const StateReader> committed)
      : config_(std::move(config)),
        partition_(partition),
        num_partitions_(num_partitions),
        committed_(std::move(committed)),
        table_(config_->encoder->fixed_width(), config_->aggregates->words()) {}

  ~HashAggregateState() override {
    if (!config_->aggregates->has_heap_state()) return;
    for (uint32_t group = 0; group < table_.end_id(); ++group) {
      if (table_.is_live(group)) config_->aggregates->destroy(table_.row(group));
    }
  }

  // Starts over the committed state: when the runtime recorded how many groups this partition
  // owns, loads nothing (groups come back one by one through the cache as rows need them, and
  // due windows with one range scan); otherwise loads the owned groups while they fit in the
  // cache and counts the others.
  Status load(int64_t cache_bytes) {
    if (!committed_) return Status::ok();
    SLUICE_ASSIGN_OR_RETURN(std::optional<int64_t> owned,
                            committed_->partition_rows(partition_, num_partitions_));
    if (owned) {
      table_.note_unloaded_unscanned(*owned);
      return Status::ok();
    }
    Status status;
    SLUICE_RETURN_NOT_OK(
        committed_->scan("", "", [&](std::string_view key, std::string_view value) {
          if (!owns(key)) return true;
          if (table_.memory_bytes() >= cache_bytes) {
            table_.note_unloaded(event_time_of(key));
            return true;
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
    if (config.partial->is_partial(*batch)) return add_partials(*batch, context);
    const int32_t* rows = nullptr;
    int64_t count = n;
    if (drops_late_rows(context)) {
      const int64_t bound = final_bound(context.watermark);
      const Column& time = *batch->column(config.event_time_column);
      const int64_t* t = time.values<int64_t>();
      int64_t late = 0;
      for (int64_t r = 0; r < n; ++r) {
        late += (t[r] <= bound) & time.is_valid(r);
      }
      if (late > 0) {
        selection_.clear();
        for (int64_t r = 0; r < n; ++r) {
          if (!(t[r] <= bound && time.is_valid(r))) selection_.push_back(static_cast<int32_t>(r));
        }
        rows = selection_.data();
        count = static_cast<int64_t>(selection_.size());
        epoch_dropped_ += late;
      }
    }
    config.encoder->encode_flat(*batch, keys_);
    SLUICE_RETURN_NOT_OK(find_groups(rows, count));
    states_.resize(static_cast<size_t>(count));
    for (int64_t j = 0; j < count; ++j) {
      states_[static_cast<size_t>(j)] = table_.row(groups_[static_cast<size_t>(j)]);
    }
    config.aggregates->update(*batch, rows, states_.data(), count);
    return Status::ok();
  }

  // Merges a partial batch (PartialAggregation): one row per grouping key of a sender's batch.
  Status add_partials(const RecordBatch& batch, const EpochContext& context) {
    const Config& config = *config_;
    const int64_t n = batch.num_rows();
    const Column& folded = *batch.column(batch.num_columns() - 2);
    const Column& serialized = *batch.column(batch.num_columns() - 1);
    const int64_t* folded_rows = folded.values<int64_t>();
    const int32_t* rows = nullptr;
    int64_t count = n;
    if (drops_late_rows(context)) {
      const int64_t bound = final_bound(context.watermark);
      const Column& time = *batch.column(config.options.event_time_key);
      const int64_t* t = time.values<int64_t>();
      selection_.clear();
      int64_t late = 0;
      for (int64_t r = 0; r < n; ++r) {
        if (t[r] <= bound && time.is_valid(r)) {
          late += folded_rows[r];
        } else {
          selection_.push_back(static_cast<int32_t>(r));
        }
      }
      if (late > 0) {
        rows = selection_.data();
        count = static_cast<int64_t>(selection_.size());
        epoch_dropped_ += late;
      }
    }
    config.partial_encoder->encode_flat(batch, keys_);
    SLUICE_RETURN_NOT_OK(find_groups(rows, count));
    const AggregateRow& aggregates = *config.aggregates;
    partial_row_.assign(static_cast<size_t>(aggregates.words()), 0);
    for (int64_t j = 0; j < count; ++j) {
      const int64_t r = rows ? rows[j] : j;
      std::string_view in = serialized.string_at(r);
      Status status = aggregates.deserialize(in, partial_row_.data());
      if (status.is_ok() && !in.empty()) {
        aggregates.destroy(partial_row_.data());
        status = Status::corrupt(std::to_string(in.size()) + " bytes after the aggregate states");
      }
      if (!status.is_ok()) {
        return status.with_context("partial aggregate of group " + describe_key(keys_.key(r)));
      }
      aggregates.merge_later(table_.row(groups_[static_cast<size_t>(j)]), partial_row_.data());
      aggregates.destroy(partial_row_.data());
    }
    return Status::ok();
  }

  // Finds or creates the group of every row in keys_ (rows[j], or j without rows) into groups_,
  // marking each dirty.
  Status find_groups(const int32_t* rows, int64_t count) {
    // Hash every row first, then probe with the slots of rows a little ahead prefetched: the
    // table is far larger than the cache.
    hashes_.resize(static_cast<size_t>(count));
    for (int64_t j = 0; j < count; ++j) {
      hashes_[static_cast<size_t>(j)] = GroupTable::hash_key(keys_.key(rows ? rows[j] : j));
    }
    constexpr int64_t kAhead = 16;
    groups_.resize(static_cast<size_t>(count));
    uint32_t previous_group = GroupTable::kNone;
    std::string_view previous_key;
    for (int64_t j = 0; j < count; ++j) {
      if (j + kAhead < count) table_.prefetch(hashes_[static_cast<size_t>(j + kAhead)]);
      if (j + kAhead / 2 < count) {
        table_.prefetch_group(hashes_[static_cast<size_t>(j + kAhead / 2)]);
      }
      const int64_t r = rows ? rows[j] : j;
      const std::string_view key = keys_.key(r);
      // Runs of one key (sorted or bursty input) skip the hash table.
      if (previous_group != GroupTable::kNone && key == previous_key) {
        groups_[static_cast<size_t>(j)] = previous_group;
        continue;
      }
      const uint64_t hash = hashes_[static_cast<size_t>(j)];
      uint32_t group = table_.find(key, hash);
      if (group == GroupTable::kNone || table_.is_tombstone(group)) {
        SLUICE_ASSIGN_OR_RETURN(group, create_group(key, hash, group));
      }
      table_.mark_dirty(group);
      groups_[static_cast<size_t>(j)] = group;
      previous_group = group;
      previous_key = key;
    }
    return Status::ok();
  }

  Status finish_epoch(const EpochContext& context, std::vector<RecordBatchPtr>& out,
                      StateDelta& delta) override {
    const Config& config = *config_;
    if (context.mode == OutputMode::Append && config.event_time_column < 0) {
      return Status::invalid_argument(
          "append output mode needs an event-time key (a window or a grouping column with a "
          "watermark) in the aggregation keyed by " +
          config.fingerprint);
    }
    const int64_t epoch = context.epoch;
    std::vector<uint32_t> final_groups;
    if (evicts(context)) {
      const int64_t bound = final_bound(context.watermark);
      SLUICE_RETURN_NOT_OK(load_final_unloaded(bound));
      table_.pop_due(bound, final_groups);
    }
    switch (context.mode) {
      case OutputMode::Append:
        SLUICE_RETURN_NOT_OK(emit_sorted(final_groups, out));
        break;
      case OutputMode::Update: {
        std::vector<uint32_t> changed;
        for (uint32_t group : table_.dirty_groups()) {
          if (table_.is_dirty(group) && table_.is_live(group)) changed.push_back(group);
        }
        SLUICE_RETURN_NOT_OK(emit_sorted(changed, out));
        break;
      }
      case OutputMode::Complete:
        SLUICE_RETURN_NOT_OK(emit_all(out));
        break;
    }
    // One pass over the changed groups while each is in the cache; the delta lists every
    // removed or written group once, in key order.
    delta_.clear();
    metrics_.num_rows_removed = 0;
    for (uint32_t group : final_groups) {
      if (table_.is_stored(group)) delta_.add_removed(table_.key(group));
      config.aggregates->destroy(table_.row(group));
      table_.remove(group, epoch);
      ++metrics_.num_rows_removed;
    }
    table_.for_each_dirty([&](uint32_t group) {
      const uint64_t* row = table_.row(group);
      std::string& value = delta_.begin_written(table_.key(group));
      se::put_byte(value, se::kFormatVersion);
      config.aggregates->serialize(row, value);
      delta_.end_written();
      if (config.aggregates->has_heap_state()) {
        table_.set_heap_bytes(group, config.aggregates->heap_bytes(row));
      }
      table_.mark_written(group, epoch);
    });
    table_.clear_dirty_groups();
    delta_.write(delta);
    metrics_.num_rows_updated = delta_.num_written();
    metrics_.num_rows_dropped_by_watermark = epoch_dropped_;
    epoch_dropped_ = 0;
    metrics_.num_rows_total = table_.num_live() + table_.num_unloaded();
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
  bool owns(std::string_view key) const {
    return num_partitions_ <= 1 || key_partition(key.substr(static_cast<size_t>(config_->prefix)),
                                                 num_partitions_) == partition_;
  }

  int64_t event_time_of(std::string_view key) const {
    if (config_->prefix == 0 || key.size() < kTimePrefix || key[0] != 1) {
      return GroupTable::kNoEventTime;
    }
    return read_encoded_int64(reinterpret_cast<const uint8_t*>(key.data()));
  }

  bool evicts(const EpochContext& context) const {
    return config_->event_time_column >= 0 && context.watermark != EpochContext::kNoWatermark &&
           context.mode != OutputMode::Complete;
  }
  bool drops_late_rows(const EpochContext& context) const { return evicts(context); }

  // Returns the largest event-time key that is final under watermark.
  int64_t final_bound(int64_t watermark) const {
    return config_->options.event_time_is_window_end ? watermark : watermark - 1;
  }

  int64_t memory_bytes() const {
    return table_.memory_bytes() +
           static_cast<int64_t>(keys_.bytes.capacity() + 8 * keys_.offsets.capacity() +
                                4 * groups_.capacity() + 8 * states_.capacity() +
                                4 * selection_.capacity() + 8 * hashes_.capacity());
  }

  Result<uint32_t> insert_loaded(std::string_view key, uint64_t hash, std::string_view value) {
    const uint32_t group = table_.insert(key, hash);
    uint64_t* row = table_.row(group);
    uint8_t version;
    std::string_view in = value;
    Status status;
    if (!se::get_byte(in, version) || version != se::kFormatVersion) {
      status = Status::corrupt("aggregate state has format version " +
                               std::to_string(value.empty() ? -1 : int{version}) + ", expected " +
                               std::to_string(se::kFormatVersion));
    } else {
      status = config_->aggregates->deserialize(in, row);
      if (status.is_ok() && !in.empty()) {
        config_->aggregates->destroy(row);
        status = Status::corrupt(std::to_string(in.size()) + " bytes after the aggregate states");
      }
    }
    if (!status.is_ok()) {
      table_.erase(group);
      return status.with_context("state of group " + describe_key(key));
    }
    table_.mark_stored(group);
    table_.touch(group);
    if (config_->aggregates->has_heap_state()) {
      table_.set_heap_bytes(group, config_->aggregates->heap_bytes(row));
    }
    table_.set_event_time(group, event_time_of(key));
    return group;
  }

  std::string describe_key(std::string_view key) const {
    auto values = config_->encoder->decode(key);
    if (!values.ok()) return "<" + std::to_string(key.size()) + " undecodable bytes>";
    std::string text = "[";
    for (size_t i = 0; i < values->size(); ++i) {
      if (i > 0) text += ", ";
      text += (*values)[i].to_string();
    }
    return text + "]";
  }

  Result<uint32_t> create_group(std::string_view key, uint64_t hash, uint32_t tombstone) {
    if (tombstone != GroupTable::kNone) {
      // Deleted by a delta not yet committed: the committed value is stale, start afresh.
      table_.revive(tombstone);
      table_.set_event_time(tombstone, event_time_of(key));
      return tombstone;
    }
    if (!table_.complete() && committed_) {
      SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> value, committed_->get(key));
      if (value) {
        SLUICE_ASSIGN_OR_RETURN(uint32_t group, insert_loaded(key, hash, *value));
        table_.note_loaded();
        return group;
      }
    }
    const uint32_t group = table_.insert(key, hash);
    table_.set_event_time(group, event_time_of(key));
    return group;
  }

  // Brings every unloaded owned group whose event-time key is <= bound into memory, with one
  // range scan over the time prefix of the committed state (only when one may exist).
  Status load_final_unloaded(int64_t bound) {
    if (table_.complete() || !committed_ || table_.unloaded_min_event_time() > bound) {
      return Status::ok();
    }
    std::string begin;
    append_encoded_int64(begin, table_.unloaded_min_event_time());
    std::string end;
    if (bound == std::numeric_limits<int64_t>::max()) {
      end = "\x02";
    } else {
      append_encoded_int64(end, bound + 1);
    }
    Status status;
    SLUICE_RETURN_NOT_OK(
        committed_->scan(begin, end, [&](std::string_view key, std::string_view value) {
          if (!owns(key)) return true;
          const uint64_t hash = GroupTable::hash_key(key);
          if (table_.find(key, hash) != GroupTable::kNone) return true;  // memory is newer
          auto group = insert_loaded(key, hash, value);
          if (!group.ok()) {
            status = group.status();
            return false;
          }
          table_.note_loaded();
          return true;
        }));
    SLUICE_RETURN_NOT_OK(status);
    table_.set_unloaded_min_event_time(bound == std::numeric_limits<int64_t>::max() ? bound
                                                                                    : bound + 1);
    return Status::ok();
  }

  void shrink_if_needed() {
    const int64_t cache = config_->options.cache_bytes;
    if (table_.memory_bytes() <= cache) return;
    table_.shrink(cache - cache / 4, [&](uint32_t group) {
      table_.note_unloaded(table_.event_time(group));
      config_->aggregates->destroy(table_.row(group));
    });
  }

  // Emits rows (key, row) in key order.
  using Entry = std::pair<std::string_view, const uint64_t*>;

  Status emit_sorted(std::vector<uint32_t>& groups, std::vector<RecordBatchPtr>& out) {
    if (groups.empty()) return Status::ok();
    std::vector<Entry> entries;
    entries.reserve(groups.size());
    for (uint32_t group : groups) {
      entries.emplace_back(table_.key(group), table_.row(group));
    }
    return emit(entries, out);
  }

  Status emit(std::vector<Entry>& entries, std::vector<RecordBatchPtr>& out) {
    if (entries.empty()) return Status::ok();
    sort_items_.resize(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      sort_items_[i] = {0, entries[i].first.data(), static_cast<uint32_t>(entries[i].first.size()),
                        static_cast<uint32_t>(i)};
    }
    sort_by_key(sort_items_, sort_scratch_);
    const Config& config = *config_;
    const int num_keys = static_cast<int>(config.key_columns.size());
    std::vector<ColumnBuilder> builders;
    for (const Field& field : config.output->fields()) {
      builders.emplace_back(field.type);
    }
    for (auto& builder : builders) {
      builder.reserve(static_cast<int64_t>(entries.size()));
    }
    std::vector<ColumnBuilder*> key_builders;
    if (config.prefix > 0) key_builders.push_back(nullptr);
    for (int i = 0; i < num_keys; ++i) {
      key_builders.push_back(&builders[static_cast<size_t>(i)]);
    }
    for (const SortItem& item : sort_items_) {
      const auto& [key, row] = entries[item.tag];
      SLUICE_RETURN_NOT_OK(config.encoder->decode_into(key, key_builders.data())
                               .with_context("state key of a hash aggregate"));
      config.aggregates->finalize(row, builders.data() + num_keys);
    }
    std::vector<ColumnPtr> columns;
    for (auto& builder : builders) {
      columns.push_back(builder.finish());
    }
    out.push_back(RecordBatch::make_unchecked(config.output, std::move(columns),
                                              static_cast<int64_t>(entries.size())));
    clear_scratch(sort_items_);
    clear_scratch(sort_scratch_);
    return Status::ok();
  }

  // Emits every owned group: memory, plus the committed groups not in memory.
  Status emit_all(std::vector<RecordBatchPtr>& out) {
    std::vector<Entry> entries;
    for (uint32_t group = 0; group < table_.end_id(); ++group) {
      if (table_.is_live(group)) entries.emplace_back(table_.key(group), table_.row(group));
    }
    std::deque<std::string> keys;
    std::deque<std::vector<uint64_t>> rows;
    const AggregateRow& aggregates = *config_->aggregates;
    auto release = [&] {
      for (auto& row : rows) {
        aggregates.destroy(row.data());
      }
    };
    if (!table_.complete() && committed_) {
      Status status;
      Status scanned = committed_->scan("", "", [&](std::string_view key, std::string_view value) {
        if (!owns(key) || table_.find(key, GroupTable::hash_key(key)) != GroupTable::kNone) {
          return true;
        }
        std::string_view in = value;
        uint8_t version;
        if (!se::get_byte(in, version) || version != se::kFormatVersion) {
          status = Status::corrupt("aggregate state of group " + describe_key(key) +
                                   " has an unknown format version");
          return false;
        }
        rows.emplace_back(static_cast<size_t>(aggregates.words()), 0);
        status = aggregates.deserialize(in, rows.back().data());
        if (!status.is_ok()) {
          rows.pop_back();
          return false;
        }
        keys.emplace_back(key);
        entries.emplace_back(keys.back(), rows.back().data());
        return true;
      });
      if (!scanned.is_ok() || !status.is_ok()) {
        release();
        return scanned.is_ok() ? status : scanned;
      }
    }
    Status emitted = emit(entries, out);
    release();
    return emitted;
  }

  std::shared_ptr<const Config> config_;
  int partition_;
  int num_partitions_;
  std::shared_ptr<const StateReader> committed_;
  GroupTable table_;
  EncodedKeys keys_;
  std::vector<uint32_t> groups_;
  std::vector<uint64_t*> states_;
  std::vector<int32_t> selection_;
  std::vector<uint64_t> hashes_;
  std::vector<uint64_t> partial_row_;
  std::vector<SortItem> sort_items_;
  std::vector<SortItem> sort_scratch_;
  DeltaBuilder delta_;
  int64_t epoch_dropped_ = 0;
  StateOperatorMetrics metrics_;
};

}  // namespace

Result<std::shared_ptr<const StatefulOperator>> make_hash_aggregate(
    SchemaPtr input, std::vector<int> key_columns, std::vector<AggregateSpec> aggregates,
    HashAggregateOptions options) {
  if (!input) return Status::invalid_argument("hash aggregate without an input schema");
  for (int column : key_columns) {
    if (column < 0 || column >= input->num_fields()) {
      return Status::invalid_argument("grouping column index " + std::to_string(column) +
                                      " is outside the input schema (" + input->to_string() + ")");
    }
  }
  if (options.event_time_key < -1 ||
      options.event_time_key >= static_cast<int>(key_columns.size())) {
    return Status::invalid_argument("event_time_key " + std::to_string(options.event_time_key) +
                                    " is not an index into the " +
                                    std::to_string(key_columns.size()) + " grouping columns");
  }
  if (options.cache_bytes <= 0) {
    return Status::invalid_argument("cache_bytes must be positive, not " +
                                    std::to_string(options.cache_bytes));
  }
  auto config = std::make_shared<Config>();
  config->input = input;
  config->key_columns = key_columns;
  config->options = options;
  SLUICE_ASSIGN_OR_RETURN(AggregateRow layout, AggregateRow::make(*input, aggregates));
  config->aggregates = std::make_shared<const AggregateRow>(std::move(layout));
  std::vector<int> encoded = key_columns;
  if (options.event_time_key >= 0) {
    config->event_time_column = key_columns[static_cast<size_t>(options.event_time_key)];
    const Field& field = input->field(config->event_time_column);
    if (field.type != Type::Timestamp) {
      return Status::type_error("event-time key '" + field.name + "' must be a TIMESTAMP, not " +
                                std::string(type_name(field.type)));
    }
    encoded.insert(encoded.begin(), config->event_time_column);
    config->prefix = kTimePrefix;
  }
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder encoder, KeyEncoder::make(*input, encoded));
  config->encoder = std::make_shared<const KeyEncoder>(std::move(encoder));
  SLUICE_ASSIGN_OR_RETURN(config->partial,
                          PartialAggregation::make(input, key_columns, config->aggregates,
                                                   options.partial_aggregation));
  // A partial batch has the grouping columns first, so its state key encodes
  // [event-time key] + 0..k-1 into the same bytes.
  std::vector<int> partial_encoded = config->partial->partial_key_columns();
  if (options.event_time_key >= 0) partial_encoded.insert(partial_encoded.begin(), options.event_time_key);
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder partial_encoder,
                          KeyEncoder::make(*config->partial->partial_schema(), partial_encoded));
  config->partial_encoder = std::make_shared<const KeyEncoder>(std::move(partial_encoder));
  if (options.partial_aggregation != PartialAggregationMode::off) config->senders_partial = config->partial;
  std::vector<Field> fields;
  std::string keys_text;
  for (int column : key_columns) {
    fields.push_back(input->field(column));
    if (!keys_text.empty()) keys_text += ", ";
    keys_text +=
        input->field(column).name + " " + std::string(type_name(input->field(column).type));
  }
  for (const Field& field : config->aggregates->output_fields()) {
    fields.push_back(field);
  }
  auto output = Schema::make(std::move(fields));
  if (!output.ok()) return output.status().with_context("output schema of the aggregation");
  config->output = *output;
  config->fingerprint =
      "aggregate keys=[" + keys_text + "] aggs=[" + config->aggregates->fingerprint() + "]";
  if (config->event_time_column >= 0) {
    config->fingerprint += " event_time=" + input->field(config->event_time_column).name +
                           (options.event_time_is_window_end ? " (window end)" : "");
  }
  config->fingerprint += " format=" + std::to_string(se::kFormatVersion);
  return std::shared_ptr<const StatefulOperator>(
      std::make_shared<PartitionedOperator<HashAggregateState, Config>>("stateful aggregate",
                                                                        config, config->output));
}

}  // namespace sluice
