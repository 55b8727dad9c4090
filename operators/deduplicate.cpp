#include "operators/deduplicate.hpp"
#include "operators/partitioned_operator.hpp"

#include <algorithm>
#include <limits>

#include "operators/group_table.hpp"
#include "operators/key_encoder.hpp"
#include "operators/state_encoding.hpp"

namespace sluice {

namespace {

namespace se = state_encoding;

constexpr int kTimePrefix = 9;

// Names how a key's state leaves.
enum class Expiry {
  never,          // no event time among the keys, no delay
  at_event_time,  // the event time is a key: evicted once watermark > it
  after_delay,    // within watermark: evicted once watermark > first event time + delay
};

// What every partition of one deduplication shares; immutable.
struct Config {
  SchemaPtr input;
  std::vector<int> key_columns;
  DeduplicateOptions options;
  Expiry expiry = Expiry::never;
  // Encodes [event-time column, for at_event_time] + key_columns: the state key of a row.
  std::shared_ptr<const KeyEncoder> encoder;
  int prefix = 0;
  std::string fingerprint;
};

class DeduplicateState final : public StatefulOperatorState {
 public:
  DeduplicateState(std::shared_ptr<const Config> config, int partition, int num_partitions,
                   std::shared_ptr<const StateReader> committed)
      : config_(std::move(config)),
        partition_(partition),
        num_partitions_(num_partitions),
        committed_(std::move(committed)),
        table_(config_->encoder->fixed_width(), 0) {}

  Status load(int64_t cache_bytes) {
    if (!committed_) return Status::ok();
    Status status;
    SLUICE_RETURN_NOT_OK(
        committed_->scan("", "", [&](std::string_view key, std::string_view value) {
          if (!owns(key)) return true;
          if (table_.memory_bytes() >= cache_bytes) {
            auto expiry = expiry_of(key, value);
            if (!expiry.ok()) {
              status = expiry.status();
              return false;
            }
            table_.note_unloaded(*expiry);
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
    const Column* time = config.options.event_time_column >= 0
                             ? batch->column(config.options.event_time_column).get()
                             : nullptr;
    const bool late_rows = time != nullptr && context.watermark != EpochContext::kNoWatermark;
    config.encoder->encode_flat(*batch, keys_);
    selection_.clear();
    for (int64_t r = 0; r < n; ++r) {
      const bool has_time = time != nullptr && time->is_valid(r);
      const int64_t t = has_time ? time->values<int64_t>()[r] : 0;
      if (late_rows && has_time && t < context.watermark) {
        ++epoch_dropped_;
        continue;
      }
      const std::string_view key = keys_.key(r);
      const uint64_t hash = GroupTable::hash_key(key);
      uint32_t group = table_.find(key, hash);
      if (group != GroupTable::kNone && table_.is_live(group)) {
        table_.touch(group);
        continue;
      }
      if (group == GroupTable::kNone && !table_.complete() && committed_) {
        SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> value, committed_->get(key));
        if (value) {
          SLUICE_ASSIGN_OR_RETURN(group, insert_loaded(key, hash, *value));
          table_.note_loaded();
          continue;
        }
      }
      if (group == GroupTable::kNone) {
        group = table_.insert(key, hash);
      } else {
        table_.revive(group);  // deleted by a delta not yet committed: the key is new again
      }
      table_.set_event_time(group, expiry_of_row(key, has_time, t));
      table_.mark_dirty(group);
      selection_.push_back(static_cast<int32_t>(r));
    }
    if (!selection_.empty()) {
      pending_.push_back(
          static_cast<int64_t>(selection_.size()) == n
              ? batch
              : batch->take(selection_.data(), static_cast<int64_t>(selection_.size())));
    }
    return Status::ok();
  }

  Status finish_epoch(const EpochContext& context, std::vector<RecordBatchPtr>& out,
                      StateDelta& delta) override {
    for (auto& batch : pending_) {
      out.push_back(std::move(batch));
    }
    pending_.clear();
    const int64_t epoch = context.epoch;
    delta_.clear();
    metrics_.num_rows_removed = 0;
    if (config_->expiry != Expiry::never && context.watermark != EpochContext::kNoWatermark) {
      const int64_t bound = context.watermark - 1;  // due once watermark > expiry
      SLUICE_RETURN_NOT_OK(load_due_unloaded(bound));
      std::vector<uint32_t> due;
      table_.pop_due(bound, due);
      for (uint32_t group : due) {
        if (table_.is_stored(group)) delta_.add_removed(table_.key(group));
        table_.remove(group, epoch);
        ++metrics_.num_rows_removed;
      }
    }
    table_.for_each_dirty([&](uint32_t group) {
      std::string& value = delta_.begin_written(table_.key(group));
      se::put_byte(value, se::kFormatVersion);
      if (config_->expiry == Expiry::after_delay) se::put_zigzag(value, table_.event_time(group));
      delta_.end_written();
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

  int64_t memory_bytes() const {
    int64_t bytes = table_.memory_bytes() +
                    static_cast<int64_t>(keys_.bytes.capacity() + 8 * keys_.offsets.capacity() +
                                         4 * selection_.capacity());
    for (const auto& batch : pending_) {
      bytes += batch->memory_bytes();
    }
    return bytes;
  }

  // Returns when a new key of this row expires (kNoEventTime: never).
  int64_t expiry_of_row(std::string_view key, bool has_time, int64_t t) const {
    switch (config_->expiry) {
      case Expiry::never:
        return GroupTable::kNoEventTime;
      case Expiry::at_event_time:
        return time_of_key(key);
      case Expiry::after_delay: {
        int64_t expiry;
        if (!has_time ||
            __builtin_add_overflow(t, config_->options.within_watermark_delay_micros, &expiry)) {
          return GroupTable::kNoEventTime;
        }
        return expiry;
      }
    }
    return GroupTable::kNoEventTime;
  }

  int64_t time_of_key(std::string_view key) const {
    if (key.size() < kTimePrefix || key[0] != 1) return GroupTable::kNoEventTime;
    return read_encoded_int64(reinterpret_cast<const uint8_t*>(key.data()));
  }

  Result<int64_t> expiry_of(std::string_view key, std::string_view value) const {
    std::string_view in = value;
    uint8_t version;
    if (!se::get_byte(in, version) || version != se::kFormatVersion) {
      return Status::corrupt("deduplication state has an unknown format version");
    }
    int64_t expiry = GroupTable::kNoEventTime;
    if (config_->expiry == Expiry::after_delay && !se::get_zigzag(in, expiry)) {
      return Status::corrupt("deduplication state lacks its expiry time");
    }
    if (!in.empty()) return Status::corrupt("deduplication state has trailing bytes");
    if (config_->expiry == Expiry::at_event_time) expiry = time_of_key(key);
    return expiry;
  }

  Result<uint32_t> insert_loaded(std::string_view key, uint64_t hash, std::string_view value) {
    SLUICE_ASSIGN_OR_RETURN(int64_t expiry, expiry_of(key, value));
    const uint32_t group = table_.insert(key, hash);
    table_.mark_stored(group);
    table_.touch(group);
    table_.set_event_time(group, expiry);
    return group;
  }

  // Brings every unloaded key due under bound into memory: a range scan over the time prefix
  // when the event time leads the key, else one scan of the state.
  Status load_due_unloaded(int64_t bound) {
    if (table_.complete() || !committed_ || table_.unloaded_min_event_time() > bound) {
      return Status::ok();
    }
    std::string begin;
    std::string end;
    const bool by_prefix = config_->expiry == Expiry::at_event_time;
    if (by_prefix) {
      append_encoded_int64(begin, table_.unloaded_min_event_time());
      if (bound == std::numeric_limits<int64_t>::max()) {
        end = "\x02";
      } else {
        append_encoded_int64(end, bound + 1);
      }
    }
    Status status;
    int64_t remaining_min = GroupTable::kNoEventTime;
    SLUICE_RETURN_NOT_OK(
        committed_->scan(begin, end, [&](std::string_view key, std::string_view value) {
          if (!owns(key)) return true;
          const uint64_t hash = GroupTable::hash_key(key);
          if (table_.find(key, hash) != GroupTable::kNone) return true;
          auto expiry = expiry_of(key, value);
          if (!expiry.ok()) {
            status = expiry.status();
            return false;
          }
          if (*expiry > bound) {
            remaining_min = std::min(remaining_min, *expiry);
            return true;
          }
          auto group = insert_loaded(key, hash, value);
          if (!group.ok()) {
            status = group.status();
            return false;
          }
          table_.note_loaded();
          return true;
        }));
    SLUICE_RETURN_NOT_OK(status);
    // A prefix scan saw only the due range: what remains unloaded starts above it.
    table_.set_unloaded_min_event_time(by_prefix ? bound + 1 : remaining_min);
    return Status::ok();
  }

  void shrink_if_needed() {
    const int64_t cache = config_->options.cache_bytes;
    if (table_.memory_bytes() <= cache) return;
    table_.shrink(cache - cache / 4,
                  [&](uint32_t group) { table_.note_unloaded(table_.event_time(group)); });
  }

  std::shared_ptr<const Config> config_;
  int partition_;
  int num_partitions_;
  std::shared_ptr<const StateReader> committed_;
  GroupTable table_;
  EncodedKeys keys_;
  std::vector<int32_t> selection_;
  std::vector<RecordBatchPtr> pending_;
  DeltaBuilder delta_;
  int64_t epoch_dropped_ = 0;
  StateOperatorMetrics metrics_;
};

}  // namespace

Result<std::shared_ptr<const StatefulOperator>> make_deduplicate(SchemaPtr input,
                                                                 std::vector<int> key_columns,
                                                                 DeduplicateOptions options) {
  if (!input) return Status::invalid_argument("deduplicate without an input schema");
  for (int column : key_columns) {
    if (column < 0 || column >= input->num_fields()) {
      return Status::invalid_argument("deduplication column index " + std::to_string(column) +
                                      " is outside the input schema (" + input->to_string() + ")");
    }
  }
  const int time = options.event_time_column;
  if (time >= 0) {
    if (time >= input->num_fields() || input->field(time).type != Type::Timestamp) {
      return Status::type_error("deduplication event-time column " +
                                (time < input->num_fields() ? "'" + input->field(time).name + "'"
                                                            : "index " + std::to_string(time)) +
                                " must be a TIMESTAMP");
    }
  } else if (options.within_watermark_delay_micros >= 0) {
    return Status::invalid_argument(
        "dropDuplicatesWithinWatermark needs an event-time column with a watermark");
  }
  if (options.cache_bytes <= 0) {
    return Status::invalid_argument("cache_bytes must be positive, not " +
                                    std::to_string(options.cache_bytes));
  }
  auto config = std::make_shared<Config>();
  config->input = input;
  config->key_columns = key_columns;
  config->options = options;
  std::vector<int> encoded = key_columns;
  if (options.within_watermark_delay_micros >= 0) {
    config->expiry = Expiry::after_delay;
  } else if (time >= 0 &&
             std::find(key_columns.begin(), key_columns.end(), time) != key_columns.end()) {
    config->expiry = Expiry::at_event_time;
    encoded.insert(encoded.begin(), time);
    config->prefix = kTimePrefix;
  }
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder encoder, KeyEncoder::make(*input, encoded));
  config->encoder = std::make_shared<const KeyEncoder>(std::move(encoder));
  config->fingerprint = "deduplicate keys=[" + key_columns_text(*input, key_columns) + "]";
  if (config->expiry == Expiry::at_event_time) {
    config->fingerprint += " event_time=" + input->field(time).name;
  } else if (config->expiry == Expiry::after_delay) {
    config->fingerprint += " within_watermark=" + input->field(time).name + "+" +
                           std::to_string(options.within_watermark_delay_micros) + "us";
  }
  config->fingerprint += " format=" + std::to_string(se::kFormatVersion);
  return std::shared_ptr<const StatefulOperator>(
      std::make_shared<PartitionedOperator<DeduplicateState, Config>>("deduplicate", config,
                                                                      config->input));
}

}  // namespace sluice
