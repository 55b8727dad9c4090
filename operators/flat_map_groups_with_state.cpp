#include "operators/flat_map_groups_with_state.hpp"

#include <map>
#include <set>

#include "operators/key_encoder.hpp"
#include "operators/partitioned_operator.hpp"
#include "operators/state_encoding.hpp"

namespace sluice {

std::string_view group_state_timeout_name(GroupStateTimeout timeout) {
  switch (timeout) {
    case GroupStateTimeout::none:
      return "NoTimeout";
    case GroupStateTimeout::processing_time:
      return "ProcessingTimeTimeout";
    case GroupStateTimeout::event_time:
      return "EventTimeTimeout";
  }
  return "unknown timeout";
}

namespace {

namespace se = state_encoding;

// What every partition of one operator shares; immutable.
struct Config {
  SchemaPtr input;
  std::vector<int> key_columns;
  std::shared_ptr<const GroupStateSpec> spec;
  GroupsWithStateOptions options;
  std::shared_ptr<const KeyEncoder> encoder;
  std::string fingerprint;
  std::string name;
};

std::string key_text(const std::vector<Value>& key) {
  std::string text = "[";
  for (size_t i = 0; i < key.size(); ++i)
    text += (i ? ", " : "") + key[i].to_string();
  return text + "]";
}

class GroupsWithState final : public StatefulOperatorState {
 public:
  GroupsWithState(std::shared_ptr<const Config> config, int partition, int num_partitions,
                  std::shared_ptr<const StateReader> committed)
      : config_(std::move(config)),
        partition_(partition),
        num_partitions_(num_partitions),
        committed_(std::move(committed)) {}

  Status load(int64_t cache_bytes) {
    cache_bytes_ = cache_bytes;
    if (!committed_) return Status::ok();
    Status status;
    SLUICE_RETURN_NOT_OK(
        committed_->scan("", "", [&](std::string_view key, std::string_view value) {
          if (num_partitions_ > 1 && key_partition(key, num_partitions_) != partition_) return true;
          Group group;
          status = decode(value, group);
          if (!status.is_ok()) return false;
          group.stored = true;
          group.clean = true;
          ++num_groups_;
          if (memory_bytes_ + group_bytes(key, group) > cache_bytes_) {
            // Past the cache: a group without a timer stays in the state table only (read back
            // when its key comes), one with a timer keeps its timer and leaves its bytes there.
            evicted_any_ = true;
            if (group.timeout == GroupStateSlot::kNoTimeout) return true;
            group.bytes.reset();
            group.bytes_evicted = true;
          }
          if (group.timeout != GroupStateSlot::kNoTimeout)
            timers_.emplace(group.timeout, std::string(key));
          memory_bytes_ += group_bytes(key, group);
          groups_.emplace(std::string(key), std::move(group));
          return true;
        }));
    note_next_timeout();
    return status;
  }

  Status add_input(const RecordBatchPtr& batch, const EpochContext& context) override {
    if (batch->num_rows() == 0) return Status::ok();
    const int time_column = config_->options.event_time_column;
    if (time_column < 0 || context.watermark == EpochContext::kNoWatermark) {
      pending_[context.epoch].push_back(batch);
      return Status::ok();
    }
    const Column& time = *batch->column(time_column);
    selection_.clear();
    for (int64_t r = 0; r < batch->num_rows(); ++r) {
      if (time.is_valid(r) && time.values<int64_t>()[r] < context.watermark) {
        ++epoch_dropped_;
      } else {
        selection_.push_back(static_cast<int32_t>(r));
      }
    }
    if (static_cast<int64_t>(selection_.size()) == batch->num_rows()) {
      pending_[context.epoch].push_back(batch);
    } else if (!selection_.empty()) {
      pending_[context.epoch].push_back(batch->take(selection_.data(), static_cast<int64_t>(selection_.size())));
    }
    return Status::ok();
  }

  Status finish_epoch(const EpochContext& context, std::vector<RecordBatchPtr>& out,
                      StateDelta& delta) override {
    changes_.clear();
    epoch_updated_ = 0;
    epoch_removed_ = 0;
    RecordBatchBuilder builder(config_->spec->output);
    // Only this epoch's rows: an upstream stage partition may already send rows of the next
    // epoch while a sibling still finishes this one.
    auto epoch_rows = pending_.extract(context.epoch);
    if (!epoch_rows.empty() && !epoch_rows.mapped().empty()) {
      SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr rows, RecordBatch::concatenate(epoch_rows.mapped()));
      EncodedKeys keys;
      config_->encoder->encode_flat(*rows, keys);
      // Groups in key order, rows in arrival order within a group: a replay calls the
      // function the same way.
      std::map<std::string_view, std::vector<int32_t>> by_key;
      for (int64_t r = 0; r < rows->num_rows(); ++r) {
        by_key[keys.key(r)].push_back(static_cast<int32_t>(r));
      }
      for (const auto& [key, indices] : by_key) {
        RecordBatchPtr group_rows =
            rows->take(indices.data(), static_cast<int64_t>(indices.size()));
        SLUICE_RETURN_NOT_OK(call(std::string(key), group_rows, false, context, builder));
      }
    }
    const GroupStateTimeout kind = config_->spec->timeout;
    int64_t threshold = std::numeric_limits<int64_t>::min();
    if (kind == GroupStateTimeout::processing_time) threshold = context.processing_time;
    if (kind == GroupStateTimeout::event_time && context.watermark != EpochContext::kNoWatermark) {
      threshold = context.watermark;
    }
    // Calls above gave their groups deadlines not below the threshold, so what is due here
    // expired without rows.
    while (!timers_.empty() && timers_.begin()->first < threshold) {
      std::string key = timers_.begin()->second;
      SLUICE_RETURN_NOT_OK(
          call(key, RecordBatch::make_empty(config_->input), true, context, builder));
    }
    if (builder.num_rows() > 0) {
      SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr output, builder.finish());
      out.push_back(std::move(output));
    }
    std::vector<std::string>& written = written_[context.epoch];
    for (auto& [key, value] : changes_) {
      written.push_back(key);
      delta.changes.push_back({key, std::move(value)});
    }
    changes_.clear();
    metrics_.num_rows_total = num_groups_;
    metrics_.num_rows_updated = epoch_updated_;
    metrics_.num_rows_removed = epoch_removed_;
    metrics_.num_rows_dropped_by_watermark = epoch_dropped_;
    epoch_dropped_ = 0;
    metrics_.memory_used_bytes = memory_bytes_;
    note_next_timeout();
    return Status::ok();
  }

  void epoch_committed(int64_t epoch) override {
    // What the epoch wrote is now what the reader returns: those groups may leave memory.
    for (auto it = written_.begin(); it != written_.end() && it->first <= epoch; it = written_.erase(it)) {
      for (const auto& key : it->second) {
        auto group = groups_.find(key);
        if (group != groups_.end() && group->second.written_epoch <= epoch) group->second.clean = true;
      }
    }
    shrink();
    metrics_.memory_used_bytes = memory_bytes_;
  }

  StateOperatorMetrics metrics() const override { return metrics_; }

 private:
  struct Group {
    std::optional<std::string> bytes;
    int64_t timeout = GroupStateSlot::kNoTimeout;
    bool stored = false;  // written to the state table (committed or in a pending delta)
    bool clean = false;   // equal to the committed entry, so its bytes may leave memory
    bool bytes_evicted = false;  // bytes left memory (read back from the committed state)
    int64_t written_epoch = -1;
  };

  // Evicts clean groups while the partition holds more than the cache (stateCacheSize): a
  // group without a timer leaves memory whole, one with a timer keeps only its timer.
  void shrink() {
    if (memory_bytes_ <= cache_bytes_) return;
    for (auto it = groups_.begin(); it != groups_.end() && memory_bytes_ > cache_bytes_;) {
      Group& group = it->second;
      if (!group.clean || group.bytes_evicted) {
        ++it;
        continue;
      }
      evicted_any_ = true;
      memory_bytes_ -= group_bytes(it->first, group);
      if (group.timeout == GroupStateSlot::kNoTimeout) {
        it = groups_.erase(it);
        continue;
      }
      group.bytes.reset();
      group.bytes_evicted = true;
      memory_bytes_ += group_bytes(it->first, group);
      ++it;
    }
  }

  // Finds a group in memory, reading it back from the committed state when it was evicted;
  // groups_.end() when the key has no state.
  Result<std::map<std::string, Group>::iterator> find_group(const std::string& key) {
    auto it = groups_.find(key);
    const bool in_memory = it != groups_.end() && !it->second.bytes_evicted;
    if (in_memory || !evicted_any_ || !committed_) return it;
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> value, committed_->get(key));
    if (!value) return it;
    Group group;
    SLUICE_RETURN_NOT_OK(decode(*value, group).with_context("reading back the evicted state of a group"));
    group.stored = true;
    group.clean = true;
    if (it == groups_.end()) {
      memory_bytes_ += group_bytes(key, group);
      if (group.timeout != GroupStateSlot::kNoTimeout) timers_.emplace(group.timeout, key);
      return groups_.emplace(key, std::move(group)).first;
    }
    memory_bytes_ -= group_bytes(key, it->second);
    it->second.bytes = std::move(group.bytes);
    it->second.bytes_evicted = false;
    memory_bytes_ += group_bytes(key, it->second);
    return it;
  }

  // Tells the runtime, through metrics(), when the next processing-time timeout is due.
  void note_next_timeout() {
    metrics_.next_processing_timeout =
        config_->spec->timeout == GroupStateTimeout::processing_time && !timers_.empty()
            ? timers_.begin()->first
            : std::numeric_limits<int64_t>::max();
  }

  static int64_t group_bytes(std::string_view key, const Group& group) {
    return static_cast<int64_t>(key.size() + (group.bytes ? group.bytes->size() : 0) + 64);
  }

  static Status decode(std::string_view value, Group& group) {
    uint8_t version;
    int64_t timeout;
    uint8_t has_state;
    if (!se::get_byte(value, version) || version != se::kFormatVersion) {
      return Status::corrupt("group state has an unknown format version");
    }
    if (!se::get_zigzag(value, timeout) || !se::get_byte(value, has_state)) {
      return Status::corrupt("group state is truncated");
    }
    group.timeout = timeout;
    if (has_state) group.bytes = std::string(value);
    return Status::ok();
  }

  static std::string encode(const Group& group) {
    std::string value;
    se::put_byte(value, se::kFormatVersion);
    se::put_zigzag(value, group.timeout);
    se::put_byte(value, group.bytes ? 1 : 0);
    if (group.bytes) value.append(*group.bytes);
    return value;
  }

  // Runs the user's function for one group and applies what it did to the state.
  Status call(const std::string& key, const RecordBatchPtr& rows, bool timed_out,
              const EpochContext& context, RecordBatchBuilder& builder) {
    SLUICE_ASSIGN_OR_RETURN(auto it, find_group(key));
    GroupStateSlot slot;
    if (it != groups_.end()) slot.bytes = it->second.bytes;
    slot.timed_out = timed_out;
    slot.timeout_kind = config_->spec->timeout;
    slot.watermark = context.watermark;
    slot.processing_time = context.processing_time;
    SLUICE_ASSIGN_OR_RETURN(std::vector<Value> key_values, config_->encoder->decode(key));
    const int64_t rows_before = builder.num_rows();
    Status status = config_->spec->function(key_values, rows, slot, builder);
    if (status.is_ok() && config_->spec->is_map && builder.num_rows() != rows_before + 1) {
      status = Status::invalid_argument("the function must return exactly one row, returned " +
                                        std::to_string(builder.num_rows() - rows_before));
    }
    if (!status.is_ok()) {
      return status.with_context(config_->name + " function for key " + key_text(key_values) +
                                 (timed_out ? " (timed out)" : ""));
    }
    const bool existed = it != groups_.end();
    Group before = existed ? it->second : Group{};
    if (it != groups_.end()) {
      if (before.timeout != GroupStateSlot::kNoTimeout) timers_.erase({before.timeout, key});
      memory_bytes_ -= group_bytes(key, before);
    }
    Group after{std::move(slot.bytes), slot.timeout, before.stored, before.clean, false, before.written_epoch};
    const bool changed = after.bytes != before.bytes || after.timeout != before.timeout;
    if (!after.bytes && after.timeout == GroupStateSlot::kNoTimeout) {
      if (existed) {
        groups_.erase(it);
        --num_groups_;
      }
      if (before.stored) {
        changes_[key] = std::nullopt;
        ++epoch_removed_;
      } else {
        changes_.erase(key);
      }
      return Status::ok();
    }
    if (after.timeout != GroupStateSlot::kNoTimeout) timers_.emplace(after.timeout, key);
    memory_bytes_ += group_bytes(key, after);
    if (changed || !before.stored) {
      after.stored = true;
      after.clean = false;
      after.written_epoch = context.epoch;
      changes_[key] = encode(after);
      ++epoch_updated_;
    }
    if (!existed) ++num_groups_;
    groups_[key] = std::move(after);
    return Status::ok();
  }

  std::shared_ptr<const Config> config_;
  int partition_;
  int num_partitions_;
  std::shared_ptr<const StateReader> committed_;
  std::map<std::string, Group> groups_;
  std::set<std::pair<int64_t, std::string>> timers_;
  std::map<std::string, std::optional<std::string>> changes_;
  std::map<int64_t, std::vector<RecordBatchPtr>> pending_;  ///< rows by epoch
  std::vector<int32_t> selection_;
  std::map<int64_t, std::vector<std::string>> written_;  // epoch -> keys it wrote, until committed
  int64_t cache_bytes_ = std::numeric_limits<int64_t>::max();
  bool evicted_any_ = false;  // some group's state is only in the committed state
  int64_t num_groups_ = 0;    // groups with state, in memory or evicted
  int64_t memory_bytes_ = 0;
  int64_t epoch_dropped_ = 0;
  int64_t epoch_updated_ = 0;
  int64_t epoch_removed_ = 0;
  StateOperatorMetrics metrics_;
};

}  // namespace

Result<std::shared_ptr<const StatefulOperator>> make_flat_map_groups_with_state(
    SchemaPtr input, std::vector<int> key_columns, std::shared_ptr<const GroupStateSpec> spec,
    GroupsWithStateOptions options) {
  const std::string name =
      spec && spec->is_map ? "map_groups_with_state" : "flat_map_groups_with_state";
  if (!input) return Status::invalid_argument(name + " without an input schema");
  if (!spec || !spec->function) return Status::invalid_argument(name + " without a function");
  if (!spec->output || spec->output->num_fields() == 0) {
    return Status::invalid_argument(name + " needs an output schema with at least one column");
  }
  if (key_columns.empty()) return Status::invalid_argument(name + " needs at least one key column");
  for (int column : key_columns) {
    if (column < 0 || column >= input->num_fields()) {
      return Status::invalid_argument(name + " key column index " + std::to_string(column) +
                                      " is outside the input schema (" + input->to_string() + ")");
    }
  }
  const int time = options.event_time_column;
  if (time >= input->num_fields() || (time >= 0 && input->field(time).type != Type::Timestamp)) {
    return Status::type_error(name + " event-time column index " + std::to_string(time) +
                              " must be a TIMESTAMP column of the input");
  }
  auto config = std::make_shared<Config>();
  config->input = input;
  config->key_columns = key_columns;
  config->spec = spec;
  config->options = options;
  config->name = name;
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder encoder, KeyEncoder::make(*input, key_columns));
  config->encoder = std::make_shared<const KeyEncoder>(std::move(encoder));
  config->fingerprint = name + " keys=[" + key_columns_text(*input, key_columns) +
                        "] state=" + spec->state_type +
                        " timeout=" + std::string(group_state_timeout_name(spec->timeout)) +
                        " format=" + std::to_string(se::kFormatVersion);
  return std::shared_ptr<const StatefulOperator>(
      std::make_shared<PartitionedOperator<GroupsWithState, Config>>(name, config, spec->output));
}

}  // namespace sluice
