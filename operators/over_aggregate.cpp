#include "operators/over_aggregate.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <deque>
#include <limits>
#include <set>
#include <unordered_map>

#include "operators/group_table.hpp"
#include "operators/key_encoder.hpp"
#include "operators/partitioned_operator.hpp"
#include "operators/state_encoding.hpp"

namespace sluice {

namespace {

namespace se = state_encoding;

// How a call reads its argument: not at all (count(*)), as a BIGINT/TIMESTAMP, as a DOUBLE, or
// only for being null (count of any other type).
enum class Argument { none, integer, real, presence };

// One argument value of one row: its validity and its bits (an int64 or a double's bits).
struct ArgumentValue {
  bool valid = false;
  uint64_t bits = 0;
};

// The running aggregate of one call over a frame.
struct Accumulator {
  int64_t count = 0;  // non-null arguments (rows for count(*))
  uint64_t sum = 0;   // int64 (wrapping, as Spark's non-ANSI sum) or double bits
  uint64_t min = 0;
  uint64_t max = 0;
};

struct CallConfig {
  AggregateKind kind;
  int input_column;
  Argument argument;
  Type result;
};

// What every partition of one OVER aggregation shares; immutable.
struct Config {
  SchemaPtr input;
  SchemaPtr output;
  std::vector<int> key_columns;
  OverAggregateOptions options;
  std::vector<CallConfig> calls;
  std::shared_ptr<const KeyEncoder> key_encoder;
  // Encodes the order columns, then every input column: a waiting row, in frame order.
  std::shared_ptr<const KeyEncoder> row_encoder;
  std::string fingerprint;
};

void fold(const CallConfig& call, const ArgumentValue& value, Accumulator& acc) {
  if (call.argument == Argument::none) {
    ++acc.count;
    return;
  }
  if (!value.valid) return;
  if (call.argument == Argument::integer) {
    const auto v = static_cast<int64_t>(value.bits);
    acc.sum = static_cast<uint64_t>(static_cast<int64_t>(acc.sum) +
                                    static_cast<int64_t>(static_cast<uint64_t>(v)));
    if (acc.count == 0 || v < static_cast<int64_t>(acc.min)) acc.min = value.bits;
    if (acc.count == 0 || v > static_cast<int64_t>(acc.max)) acc.max = value.bits;
  } else if (call.argument == Argument::real) {
    const double v = std::bit_cast<double>(value.bits);
    acc.sum = std::bit_cast<uint64_t>((acc.count == 0 ? 0.0 : std::bit_cast<double>(acc.sum)) + v);
    if (acc.count == 0 || v < std::bit_cast<double>(acc.min)) acc.min = value.bits;
    if (acc.count == 0 || v > std::bit_cast<double>(acc.max)) acc.max = value.bits;
  }
  ++acc.count;
}

void append_result(const CallConfig& call, const Accumulator& acc, ColumnBuilder& out) {
  switch (call.kind) {
    case AggregateKind::count_all:
    case AggregateKind::count:
      out.append_int64(acc.count);
      return;
    default:
      break;
  }
  if (acc.count == 0) {
    out.append_null();
    return;
  }
  const bool integer = call.argument == Argument::integer;
  switch (call.kind) {
    case AggregateKind::sum:
      if (integer) {
        out.append_int64(static_cast<int64_t>(acc.sum));
      } else {
        out.append_double(std::bit_cast<double>(acc.sum));
      }
      return;
    case AggregateKind::avg:
      out.append_double((integer ? static_cast<double>(static_cast<int64_t>(acc.sum))
                                 : std::bit_cast<double>(acc.sum)) /
                        static_cast<double>(acc.count));
      return;
    default: {
      const uint64_t bits = call.kind == AggregateKind::min ? acc.min : acc.max;
      if (integer) {
        out.append_int64(static_cast<int64_t>(bits));
      } else {
        out.append_double(std::bit_cast<double>(bits));
      }
      return;
    }
  }
}

// A row waiting for the watermark: its encoding (order columns, then all columns), then the
// value each call reads (a validity byte and 8 bytes). One string per row: comparing two
// compares their encodings (self-delimiting, so an equal prefix means equal rows), the frame
// order.
using WaitingRow = std::string;
constexpr size_t kArgumentBytes = 9;

// Returns the encoding of the row's columns without the calls' values.
std::string_view encoded_columns(const WaitingRow& row, size_t num_calls) {
  return std::string_view(row).substr(0, row.size() - num_calls * kArgumentBytes);
}

// Returns the value call `c` reads.
ArgumentValue argument_of(const WaitingRow& row, size_t num_calls, size_t c) {
  const char* at = row.data() + row.size() - (num_calls - c) * kArgumentBytes;
  ArgumentValue value;
  value.valid = at[0] != 0;
  std::memcpy(&value.bits, at + 1, 8);
  return value;
}

// The state of one partition key.
struct Partition {
  // The argument values of the last `preceding` emitted rows (bounded), one call after the
  // other per row: flat, so that moving a row into the frame allocates nothing.
  std::deque<ArgumentValue> frame;
  std::vector<Accumulator> totals;  // running totals (unbounded)
  std::vector<WaitingRow> waiting;
  const std::string* key = nullptr;  // the map's own key (nodes never move)
  bool listed_waiting = false;       // in waiting_
  bool dirty = false;                // in dirty_: changed since the last delta
};

// Looks keys up by string_view, so that a row's encoded key is not copied to be found.
struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

using PartitionMap = std::unordered_map<std::string, Partition, KeyHash, std::equal_to<>>;

bool by_key(const Partition* a, const Partition* b) {
  return *a->key < *b->key;
}

class OverAggregateState final : public StatefulOperatorState {
 public:
  OverAggregateState(std::shared_ptr<const Config> config, int partition, int num_partitions,
                     std::shared_ptr<const StateReader> committed)
      : config_(std::move(config)),
        partition_(partition),
        num_partitions_(num_partitions),
        committed_(std::move(committed)) {}

  Status load(int64_t cache_bytes) {
    (void)cache_bytes;  // every entry stays in memory (see make_over_aggregate)
    if (!committed_) return Status::ok();
    Status status;
    SLUICE_RETURN_NOT_OK(
        committed_->scan("", "", [&](std::string_view key, std::string_view value) {
          if (num_partitions_ > 1 && key_partition(key, num_partitions_) != partition_) return true;
          Partition& entry = find_or_add(key);
          status = decode(value, entry);
          if (!status.is_ok()) {
            status = status.with_context("OVER state of a partition key of " +
                                         std::to_string(key.size()) + " bytes");
            return false;
          }
          if (!entry.waiting.empty()) mark_waiting(entry);
          return true;
        }));
    return status;
  }

  Status add_input(const RecordBatchPtr& batch, const EpochContext& context) override {
    const int64_t n = batch->num_rows();
    if (n == 0) return Status::ok();
    const Config& config = *config_;
    const OverAggregateOptions& options = config.options;
    const Column& order = *batch->column(options.order_columns.front());
    const Column* event =
        options.event_time_column >= 0 ? batch->column(options.event_time_column).get() : nullptr;
    const bool has_watermark = context.watermark != EpochContext::kNoWatermark;
    const int64_t order_bound = release_bound(context.watermark);
    config.key_encoder->encode_flat(*batch, keys_);
    config.row_encoder->encode_flat(*batch, rows_);
    const size_t num_calls = config.calls.size();
    for (int64_t r = 0; r < n; ++r) {
      const bool late = !order.is_valid(r) || (event != nullptr && !event->is_valid(r)) ||
                        (has_watermark &&
                         (order.values<int64_t>()[r] < order_bound ||
                          (event != nullptr && event->values<int64_t>()[r] < context.watermark)));
      if (late) {
        ++epoch_dropped_;
        continue;
      }
      Partition& entry = find_or_add(keys_.key(r));
      const std::string_view columns = rows_.key(r);
      WaitingRow& waiting = entry.waiting.emplace_back();
      waiting.resize(columns.size() + num_calls * kArgumentBytes);
      std::memcpy(waiting.data(), columns.data(), columns.size());
      char* arguments = waiting.data() + columns.size();
      for (size_t c = 0; c < num_calls; ++c, arguments += kArgumentBytes) {
        const CallConfig& call = config.calls[c];
        uint64_t bits = 0;
        const Column* column =
            call.argument == Argument::none ? nullptr : batch->column(call.input_column).get();
        const bool valid = column != nullptr && column->is_valid(r);
        if (valid && call.argument == Argument::integer) {
          bits = static_cast<uint64_t>(column->values<int64_t>()[r]);
        } else if (valid && call.argument == Argument::real) {
          bits = std::bit_cast<uint64_t>(column->values<double>()[r]);
        }
        arguments[0] = valid ? 1 : 0;
        std::memcpy(arguments + 1, &bits, 8);
      }
      mark_waiting(entry);
      mark_dirty(entry);
    }
    return Status::ok();
  }

  Status finish_epoch(const EpochContext& context, std::vector<RecordBatchPtr>& out,
                      StateDelta& delta) override {
    const Config& config = *config_;
    RecordBatchBuilder output(config.output);
    const int num_inputs = config.input->num_fields();
    std::vector<ColumnBuilder*> builders(config.options.order_columns.size(), nullptr);
    for (int i = 0; i < num_inputs; ++i)
      builders.push_back(&output.column(i));
    int64_t emitted = 0;
    if (context.watermark != EpochContext::kNoWatermark) {
      const int64_t bound = release_bound(context.watermark);
      // In key order: the output does not depend on hashing.
      std::sort(waiting_.begin(), waiting_.end(), by_key);
      size_t kept = 0;
      for (Partition* partition : waiting_) {
        Partition& entry = *partition;
        std::sort(entry.waiting.begin(), entry.waiting.end());
        size_t released = 0;
        for (; released < entry.waiting.size(); ++released) {
          const WaitingRow& row = entry.waiting[released];
          // The order time leads the encoding (marker 1, then the ordered int64).
          const int64_t time = read_encoded_int64(reinterpret_cast<const uint8_t*>(row.data()));
          if (time >= bound) break;
          SLUICE_RETURN_NOT_OK(config.row_encoder->decode_into(
              encoded_columns(row, config.calls.size()), builders.data()));
          emit(entry, row, output, num_inputs);
          ++emitted;
        }
        if (released > 0) {
          entry.waiting.erase(entry.waiting.begin(),
                              entry.waiting.begin() + static_cast<std::ptrdiff_t>(released));
          mark_dirty(entry);
        }
        entry.listed_waiting = !entry.waiting.empty();
        if (entry.listed_waiting) waiting_[kept++] = partition;
      }
      waiting_.resize(kept);
    }
    if (emitted > 0) {
      SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr batch, output.finish());
      out.push_back(std::move(batch));
    }
    delta_.clear();
    for (Partition* partition : dirty_) {
      std::string& value = delta_.begin_written(*partition->key);
      encode(*partition, value);
      delta_.end_written();
      partition->dirty = false;
    }
    delta_.write(delta);
    metrics_.num_rows_updated = static_cast<int64_t>(dirty_.size());
    dirty_.clear();
    metrics_.num_rows_removed = 0;
    metrics_.num_rows_dropped_by_watermark = epoch_dropped_;
    epoch_dropped_ = 0;
    metrics_.num_rows_total = static_cast<int64_t>(partitions_.size());
    metrics_.memory_used_bytes = memory_bytes();
    int64_t waiting = 0;
    for (const Partition* partition : waiting_)
      waiting += static_cast<int64_t>(partition->waiting.size());
    metrics_.custom_metrics["numRowsWaiting"] = waiting;
    return Status::ok();
  }

  void epoch_committed(int64_t epoch) override { (void)epoch; }

  StateOperatorMetrics metrics() const override { return metrics_; }

 private:
  Partition& find_or_add(std::string_view key) {
    auto it = partitions_.find(key);
    if (it == partitions_.end()) {
      it = partitions_.emplace(std::string(key), Partition{}).first;
      it->second.key = &it->first;
      if (config_->options.preceding == OverAggregateOptions::kUnboundedPreceding) {
        it->second.totals.resize(config_->calls.size());
      }
    }
    return it->second;
  }

  void mark_waiting(Partition& entry) {
    if (entry.listed_waiting) return;
    entry.listed_waiting = true;
    waiting_.push_back(&entry);
  }

  void mark_dirty(Partition& entry) {
    if (entry.dirty) return;
    entry.dirty = true;
    dirty_.push_back(&entry);
  }

  int64_t release_bound(int64_t watermark) const {
    if (watermark == EpochContext::kNoWatermark) return std::numeric_limits<int64_t>::min();
    int64_t bound;
    if (__builtin_sub_overflow(watermark, config_->options.order_lag_micros, &bound)) {
      return std::numeric_limits<int64_t>::min();
    }
    return bound;
  }

  // Appends the calls' results for `row`, then moves it into the frame.
  void emit(Partition& entry, const WaitingRow& row, RecordBatchBuilder& output, int num_inputs) {
    const Config& config = *config_;
    arguments_.resize(config.calls.size());
    for (size_t c = 0; c < config.calls.size(); ++c)
      arguments_[c] = argument_of(row, config.calls.size(), c);
    const bool unbounded = config.options.preceding == OverAggregateOptions::kUnboundedPreceding;
    for (size_t c = 0; c < config.calls.size(); ++c) {
      const CallConfig& call = config.calls[c];
      ColumnBuilder& builder = output.column(num_inputs + static_cast<int>(c));
      if (unbounded) {
        fold(call, arguments_[c], entry.totals[c]);
        append_result(call, entry.totals[c], builder);
        continue;
      }
      Accumulator acc;
      for (size_t i = c; i < entry.frame.size(); i += config.calls.size())
        fold(call, entry.frame[i], acc);
      fold(call, arguments_[c], acc);
      append_result(call, acc, builder);
    }
    if (!unbounded && config.options.preceding > 0) {
      entry.frame.insert(entry.frame.end(), arguments_.begin(), arguments_.end());
      if (static_cast<int64_t>(entry.frame.size() / config.calls.size()) > config.options.preceding)
        entry.frame.erase(entry.frame.begin(),
                          entry.frame.begin() + static_cast<std::ptrdiff_t>(config.calls.size()));
    }
  }

  void encode(const Partition& entry, std::string& out) const {
    const size_t num_calls = config_->calls.size();
    auto put_value = [&](const ArgumentValue& value) {
      se::put_byte(out, value.valid ? 1 : 0);
      if (value.valid) se::put_fixed64(out, value.bits);
    };
    se::put_byte(out, se::kFormatVersion);
    se::put_varint(out, entry.frame.size() / num_calls);
    for (const auto& value : entry.frame)
      put_value(value);
    se::put_varint(out, entry.totals.size());
    for (const auto& total : entry.totals) {
      se::put_zigzag(out, total.count);
      se::put_fixed64(out, total.sum);
      se::put_fixed64(out, total.min);
      se::put_fixed64(out, total.max);
    }
    se::put_varint(out, entry.waiting.size());
    for (const auto& row : entry.waiting)
      se::put_bytes(out, row);
  }

  Status decode(std::string_view in, Partition& entry) const {
    const size_t num_calls = config_->calls.size();
    auto corrupt = [](const char* what) {
      return Status::corrupt(std::string("OVER state: ") + what);
    };
    auto get_value = [&](ArgumentValue& value) {
      uint8_t valid;
      if (!se::get_byte(in, valid) || valid > 1) return false;
      value.valid = valid == 1;
      return !value.valid || se::get_fixed64(in, value.bits);
    };
    uint8_t version;
    if (!se::get_byte(in, version) || version != se::kFormatVersion)
      return corrupt("unknown format version");
    uint64_t count;
    if (!se::get_varint(in, count) || count > in.size()) return corrupt("truncated frame");
    entry.frame.resize(static_cast<size_t>(count) * num_calls);
    for (auto& value : entry.frame) {
      if (!get_value(value)) return corrupt("truncated frame value");
    }
    if (!se::get_varint(in, count) || (count != 0 && count != num_calls))
      return corrupt("bad totals");
    entry.totals.resize(static_cast<size_t>(count));
    for (auto& total : entry.totals) {
      if (!se::get_zigzag(in, total.count) || !se::get_fixed64(in, total.sum) ||
          !se::get_fixed64(in, total.min) || !se::get_fixed64(in, total.max)) {
        return corrupt("truncated totals");
      }
    }
    if (!se::get_varint(in, count) || count > in.size()) return corrupt("truncated waiting rows");
    entry.waiting.resize(static_cast<size_t>(count));
    for (auto& row : entry.waiting) {
      std::string_view bytes;
      if (!se::get_bytes(in, bytes) || bytes.size() < 9 + num_calls * kArgumentBytes) {
        return corrupt("truncated waiting row");
      }
      row.assign(bytes);
    }
    if (!in.empty()) return corrupt("trailing bytes");
    return Status::ok();
  }

  int64_t memory_bytes() const {
    int64_t bytes = static_cast<int64_t>(keys_.bytes.capacity() + rows_.bytes.capacity());
    for (const auto& [key, entry] : partitions_) {
      bytes += static_cast<int64_t>(key.size() + sizeof(Partition)) +
               static_cast<int64_t>(entry.frame.size() * sizeof(ArgumentValue));
      for (const auto& row : entry.waiting)
        bytes += static_cast<int64_t>(row.size());
    }
    return bytes;
  }

  std::shared_ptr<const Config> config_;
  int partition_;
  int num_partitions_;
  std::shared_ptr<const StateReader> committed_;
  PartitionMap partitions_;
  std::vector<Partition*> waiting_;  // the partitions with rows waiting for the watermark
  std::vector<Partition*> dirty_;    // the partitions changed since the last delta
  EncodedKeys keys_;
  EncodedKeys rows_;
  std::vector<ArgumentValue> arguments_;  // the values of the row being emitted
  DeltaBuilder delta_;
  int64_t epoch_dropped_ = 0;
  StateOperatorMetrics metrics_;
};

}  // namespace

Result<Type> over_result_type(AggregateKind kind, Type input) {
  const bool numeric = input == Type::Int64 || input == Type::Double;
  switch (kind) {
    case AggregateKind::count_all:
    case AggregateKind::count:
      return Type::Int64;
    case AggregateKind::avg:
      if (numeric) return Type::Double;
      break;
    case AggregateKind::sum:
      if (numeric) return input;
      break;
    case AggregateKind::min:
    case AggregateKind::max:
      if (numeric || input == Type::Timestamp) return input;
      break;
    default:
      return Status::invalid_argument(
          aggregate_name(kind) + " is not supported OVER a window (count, sum, avg, min, max are)");
  }
  return Status::type_error(aggregate_name(kind) + " OVER a window does not take " +
                            std::string(type_name(input)));
}

Result<std::shared_ptr<const StatefulOperator>> make_over_aggregate(SchemaPtr input,
                                                                    OverAggregateOptions options) {
  if (!input) return Status::invalid_argument("OVER aggregation without an input schema");
  auto check_column = [&](int column, const char* what) -> Status {
    if (column < 0 || column >= input->num_fields()) {
      return Status::invalid_argument(std::string("OVER ") + what + " column index " +
                                      std::to_string(column) + " is outside the input schema (" +
                                      input->to_string() + ")");
    }
    return Status::ok();
  };
  for (int column : options.partition_columns)
    SLUICE_RETURN_NOT_OK(check_column(column, "PARTITION BY"));
  if (options.order_columns.empty())
    return Status::invalid_argument("OVER needs an ORDER BY column");
  for (int column : options.order_columns)
    SLUICE_RETURN_NOT_OK(check_column(column, "ORDER BY"));
  if (input->field(options.order_columns.front()).type != Type::Timestamp) {
    return Status::type_error(
        "OVER ... ORDER BY " + input->field(options.order_columns.front()).name +
        ": the first ORDER BY column must be a TIMESTAMP, not " +
        std::string(type_name(input->field(options.order_columns.front()).type)));
  }
  if (options.event_time_column >= 0) {
    SLUICE_RETURN_NOT_OK(check_column(options.event_time_column, "event-time"));
    if (input->field(options.event_time_column).type != Type::Timestamp) {
      return Status::type_error("OVER event-time column " +
                                input->field(options.event_time_column).name +
                                " must be a TIMESTAMP");
    }
  }
  if (options.order_lag_micros < 0)
    return Status::invalid_argument("OVER order lag must not be negative");
  if (options.preceding < OverAggregateOptions::kUnboundedPreceding) {
    return Status::invalid_argument("OVER ROWS BETWEEN " + std::to_string(options.preceding) +
                                    " PRECEDING: the offset must not be negative");
  }
  if (options.calls.empty()) return Status::invalid_argument("OVER aggregation without a function");
  auto config = std::make_shared<Config>();
  config->input = input;
  config->key_columns = options.partition_columns;
  std::vector<Field> fields = input->fields();
  std::string calls_text;
  for (const auto& call : options.calls) {
    CallConfig callconfig{call.kind, call.input_column, Argument::none, Type::Int64};
    if (call.kind != AggregateKind::count_all) {
      SLUICE_RETURN_NOT_OK(check_column(call.input_column, "argument"));
      const Type type = input->field(call.input_column).type;
      auto result = over_result_type(call.kind, type);
      if (!result.ok()) return result.status().with_context("OVER column " + call.output_name);
      callconfig.result = *result;
      callconfig.argument = type == Type::Double                             ? Argument::real
                            : type == Type::Int64 || type == Type::Timestamp ? Argument::integer
                                                                             : Argument::presence;
    }
    config->calls.push_back(callconfig);
    fields.push_back({call.output_name, callconfig.result, true});
    calls_text += (calls_text.empty() ? "" : ", ") + aggregate_name(call.kind) + "(" +
                  (call.input_column >= 0 ? input->field(call.input_column).name : "*") + ")";
  }
  SLUICE_ASSIGN_OR_RETURN(config->output, Schema::make(std::move(fields)));
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder keys, KeyEncoder::make(*input, options.partition_columns));
  std::vector<int> row_columns = options.order_columns;
  for (int i = 0; i < input->num_fields(); ++i)
    row_columns.push_back(i);
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder rows, KeyEncoder::make(*input, row_columns));
  config->key_encoder = std::make_shared<const KeyEncoder>(std::move(keys));
  config->row_encoder = std::make_shared<const KeyEncoder>(std::move(rows));
  config->fingerprint =
      "over keys=[" + key_columns_text(*input, options.partition_columns) + "] order=[" +
      key_columns_text(*input, options.order_columns) + "] rows=" +
      (options.preceding < 0 ? std::string("unbounded") : std::to_string(options.preceding)) +
      " calls=[" + calls_text + "] input=[" + input->to_string() +
      "] format=" + std::to_string(se::kFormatVersion);
  config->options = std::move(options);
  return std::shared_ptr<const StatefulOperator>(
      std::make_shared<PartitionedOperator<OverAggregateState, Config>>("over aggregate", config,
                                                                        config->output));
}

}  // namespace sluice
