#include "operators/over_aggregate.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "operators/group_table.hpp"
#include "operators/key_encoder.hpp"
#include "operators/partitioned_operator.hpp"
#include "operators/state_encoding.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sluice {

namespace {

namespace se = state_encoding;

// Versions the layout of an OVER state value (its first byte): 2 keeps the waiting rows column
// by column.
constexpr uint8_t kOverFormatVersion = 2;

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
  // The columns that order rows of equal order time: the other order columns, then every
  // other input column but the partition columns (equal within a partition).
  std::vector<int> tie_columns;
  // The bytes a waiting row takes in a state value, about (strings counted as 16).
  size_t waiting_row_bytes = 0;
  std::string fingerprint;
};

// Folds value into acc; min and max only when kExtremes (sum and count always).
template <Argument kArgument, bool kExtremes = true>
void fold_as(const ArgumentValue& value, Accumulator& acc) {
  if constexpr (kArgument == Argument::none) {
    ++acc.count;
    return;
  }
  if (!value.valid) return;
  if constexpr (kArgument == Argument::integer) {
    const auto v = static_cast<int64_t>(value.bits);
    acc.sum = static_cast<uint64_t>(static_cast<int64_t>(acc.sum) +
                                    static_cast<int64_t>(static_cast<uint64_t>(v)));
    if constexpr (kExtremes) {
      if (acc.count == 0 || v < static_cast<int64_t>(acc.min)) acc.min = value.bits;
      if (acc.count == 0 || v > static_cast<int64_t>(acc.max)) acc.max = value.bits;
    }
  } else if constexpr (kArgument == Argument::real) {
    const double v = std::bit_cast<double>(value.bits);
    acc.sum = std::bit_cast<uint64_t>((acc.count == 0 ? 0.0 : std::bit_cast<double>(acc.sum)) + v);
    if constexpr (kExtremes) {
      if (acc.count == 0 || v < std::bit_cast<double>(acc.min)) acc.min = value.bits;
      if (acc.count == 0 || v > std::bit_cast<double>(acc.max)) acc.max = value.bits;
    }
  }
  ++acc.count;
}

void fold(const CallConfig& call, const ArgumentValue& value, Accumulator& acc) {
  switch (call.argument) {
    case Argument::none:
      return fold_as<Argument::none>(value, acc);
    case Argument::integer:
      return fold_as<Argument::integer>(value, acc);
    case Argument::real:
      return fold_as<Argument::real>(value, acc);
    case Argument::presence:
      return fold_as<Argument::presence>(value, acc);
  }
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

// Orders value a of column x and value b of column y (one type) as KeyEncoder's bytes do:
// nulls first, -0.0 == 0.0, NaN above every other double, strings bytewise.
int compare_values(const Column& x, int64_t a, const Column& y, int64_t b) {
  const bool valid_a = x.is_valid(a);
  const bool valid_b = y.is_valid(b);
  if (!valid_a || !valid_b) return static_cast<int>(valid_a) - static_cast<int>(valid_b);
  switch (x.type()) {
    case Type::Bool:
      return static_cast<int>(x.values<uint8_t>()[a] != 0) -
             static_cast<int>(y.values<uint8_t>()[b] != 0);
    case Type::Double: {
      const double u = x.values<double>()[a];
      const double v = y.values<double>()[b];
      if (u < v) return -1;
      if (u > v) return 1;
      return static_cast<int>(std::isnan(u)) - static_cast<int>(std::isnan(v));
    }
    case Type::String: {
      const int order = x.string_at(a).compare(y.string_at(b));
      return (order > 0) - (order < 0);
    }
    default: {
      const int64_t u = x.values<int64_t>()[a];
      const int64_t v = y.values<int64_t>()[b];
      return (u > v) - (u < v);
    }
  }
}

// A row of one of the batches being released from: the batch's index and the row's.
struct RowRef {
  int32_t part;
  int32_t row;
};

// A row being sorted: its order time (first, so most comparisons stop there) and where it is.
struct SortedRow {
  int64_t time;
  RowRef ref;
};

// Returns column `column` of the rows refs point to in parts, in order: the output and the
// waiting rows gathered from the waiting batch and the epoch's batches without concatenating
// them first.
ColumnPtr gather(const std::vector<RecordBatchPtr>& parts, int column, const RowRef* refs,
                 int64_t count) {
  const Type type = parts.front()->column(column)->type();
  std::vector<const Column*> sources;
  bool any_nulls = false;
  for (const auto& part : parts) {
    sources.push_back(part->column(column).get());
    any_nulls |= sources.back()->has_nulls();
  }
  std::shared_ptr<Buffer> validity;
  if (any_nulls) {
    validity = Buffer::allocate(bitmap::bytes_for(count));
    uint8_t* bits = validity->mutable_data();
    for (int64_t i = 0; i < count; ++i) {
      if (sources[static_cast<size_t>(refs[i].part)]->is_valid(refs[i].row)) bitmap::set(bits, i);
    }
  }
  if (type == Type::String) {
    int64_t total = 0;
    for (int64_t i = 0; i < count; ++i)
      total += static_cast<int64_t>(
          sources[static_cast<size_t>(refs[i].part)]->string_at(refs[i].row).size());
    auto offsets = Buffer::allocate_for_overwrite((count + 1) * 8);
    auto data = Buffer::allocate_for_overwrite(total);
    int64_t* out_offsets = offsets->mutable_as<int64_t>();
    uint8_t* out_data = data->mutable_data();
    int64_t position = 0;
    for (int64_t i = 0; i < count; ++i) {
      const std::string_view value =
          sources[static_cast<size_t>(refs[i].part)]->string_at(refs[i].row);
      out_offsets[i] = position;
      std::memcpy(out_data + position, value.data(), value.size());
      position += static_cast<int64_t>(value.size());
    }
    out_offsets[count] = position;
    return Column::make_unchecked(type, count, std::move(offsets), std::move(validity),
                                  std::move(data));
  }
  if (type == Type::Bool) {
    auto values = Buffer::allocate_for_overwrite(count);
    uint8_t* out = values->mutable_data();
    for (int64_t i = 0; i < count; ++i)
      out[i] = sources[static_cast<size_t>(refs[i].part)]->values<uint8_t>()[refs[i].row];
    return Column::make_unchecked(type, count, std::move(values), std::move(validity));
  }
  std::vector<const int64_t*> inputs;
  for (const Column* source : sources)
    inputs.push_back(source->values<int64_t>());
  auto values = Buffer::allocate_for_overwrite(count * 8);
  int64_t* out = values->mutable_as<int64_t>();
  for (int64_t i = 0; i < count; ++i)
    out[i] = inputs[static_cast<size_t>(refs[i].part)][refs[i].row];
  return Column::make_unchecked(type, count, std::move(values), std::move(validity));
}

// Empties a scratch vector for the next epoch, keeping its memory unless it is far larger than
// this epoch needed.
template <typename T>
void reuse(std::vector<T>& scratch) {
  if (scratch.capacity() > 4 * scratch.size() + 4096) {
    std::vector<T>().swap(scratch);
  } else {
    scratch.clear();
  }
}

// The state of one partition key. Its waiting rows are rows [waiting_begin, waiting_begin +
// num_waiting) of the state's waiting batch, in frame order.
struct Partition {
  std::string key;
  uint64_t hash = 0;
  // The argument values of the last `preceding` emitted rows (bounded), one call after the
  // other per row, as a ring whose oldest row is frame_start once it is full.
  std::vector<ArgumentValue> frame;
  size_t frame_start = 0;
  std::vector<Accumulator> totals;  // running totals (unbounded)
  int64_t waiting_begin = 0;
  int64_t num_waiting = 0;
  bool dirty = false;  // in dirty_: changed since the last delta
};

// Input rows accepted in this epoch, and their partitions.
struct PendingBatch {
  RecordBatchPtr batch;
  std::vector<int32_t> partitions;
};

class OverAggregateState final : public StatefulOperatorState {
 public:
  OverAggregateState(std::shared_ptr<const Config> config, int partition, int num_partitions,
                     std::shared_ptr<const StateReader> committed)
      : config_(std::move(config)),
        partition_(partition),
        num_partitions_(num_partitions),
        committed_(std::move(committed)),
        slots_(1024, -1) {}

  Status load(int64_t cache_bytes) {
    (void)cache_bytes;  // every entry stays in memory (see make_over_aggregate)
    if (!committed_) return Status::ok();
    const Schema& schema = *config_->input;
    std::vector<ColumnBuilder> builders;
    for (int c = 0; c < schema.num_fields(); ++c)
      builders.emplace_back(schema.field(c).type);
    Status status;
    SLUICE_RETURN_NOT_OK(
        committed_->scan("", "", [&](std::string_view key, std::string_view value) {
          if (num_partitions_ > 1 && key_partition(key, num_partitions_) != partition_) return true;
          const int32_t id = find_or_add(key);
          status = decode(value, id, builders);
          if (!status.is_ok()) {
            status = status.with_context("OVER state of a partition key of " +
                                         std::to_string(key.size()) + " bytes");
            return false;
          }
          return true;
        }));
    SLUICE_RETURN_NOT_OK(status);
    if (!waiting_partitions_.empty()) {
      std::vector<ColumnPtr> columns;
      for (auto& builder : builders)
        columns.push_back(builder.finish());
      waiting_ = RecordBatch::make_unchecked(config_->input, std::move(columns),
                                             static_cast<int64_t>(waiting_partitions_.size()));
      const int64_t* times =
          waiting_->column(config_->options.order_columns.front())->values<int64_t>();
      earliest_waiting_ = *std::min_element(times, times + waiting_->num_rows());
    }
    return Status::ok();
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
    PendingBatch pending;
    pending.partitions.reserve(static_cast<size_t>(n));
    selection_.clear();
    for (int64_t r = 0; r < n; ++r) {
      const bool late = !order.is_valid(r) || (event != nullptr && !event->is_valid(r)) ||
                        (has_watermark &&
                         (order.values<int64_t>()[r] < order_bound ||
                          (event != nullptr && event->values<int64_t>()[r] < context.watermark)));
      if (late) {
        ++epoch_dropped_;
        continue;
      }
      const int32_t id = find_or_add(keys_.key(r));
      mark_dirty(id);
      pending.partitions.push_back(id);
      selection_.push_back(static_cast<int32_t>(r));
    }
    if (selection_.empty()) return Status::ok();
    pending.batch =
        static_cast<int64_t>(selection_.size()) == n
            ? RecordBatch::make_unchecked(config.input, batch->columns(), n)
            : RecordBatch::make_unchecked(
                  config.input,
                  batch->take(selection_.data(), static_cast<int64_t>(selection_.size()))
                      ->columns(),
                  static_cast<int64_t>(selection_.size()));
    pending_.push_back(std::move(pending));
    return Status::ok();
  }

  Status finish_epoch(const EpochContext& context, std::vector<RecordBatchPtr>& out,
                      StateDelta& delta) override {
    bool released = false;
    // Without new rows, the waiting ones are sorted and grouped already: only a bound past the
    // earliest of them releases any.
    const int64_t bound = release_bound(context.watermark);
    if (!pending_.empty() || (waiting_ && earliest_waiting_ < bound)) {
      SLUICE_RETURN_NOT_OK(release(bound, out));
      released = true;
    }
    // The changed partitions in key order (a replayed epoch yields the same delta): release
    // left the partitions it saw, every changed one among them, in key order.
    if (!released) {
      touched_ = dirty_;
      sort_by_key(touched_);
    }
    delta.changes.reserve(delta.changes.size() + dirty_.size());
    for (int32_t id : touched_) {
      Partition& partition = partitions_[static_cast<size_t>(id)];
      if (!partition.dirty) continue;
      StateDelta::Change& change = delta.changes.emplace_back();
      change.key = partition.key;
      encode(partition, change.value.emplace());
      partition.dirty = false;
    }
    metrics_.num_rows_updated = static_cast<int64_t>(dirty_.size());
    dirty_.clear();
    metrics_.num_rows_removed = 0;
    metrics_.num_rows_dropped_by_watermark = epoch_dropped_;
    epoch_dropped_ = 0;
    metrics_.num_rows_total = static_cast<int64_t>(partitions_.size());
    metrics_.memory_used_bytes = memory_bytes();
    metrics_.custom_metrics["numRowsWaiting"] = static_cast<int64_t>(waiting_partitions_.size());
    return Status::ok();
  }

  void epoch_committed(int64_t epoch) override { (void)epoch; }

  StateOperatorMetrics metrics() const override { return metrics_; }

 private:
  // Returns the partition of key, added when new. Open addressing over slots_ (ids into
  // partitions_), so that a row's encoded key is found without copying or a node per key.
  int32_t find_or_add(std::string_view key) {
    const uint64_t hash = XXH3_64bits(key.data(), key.size());
    size_t mask = slots_.size() - 1;
    size_t slot = static_cast<size_t>(hash) & mask;
    for (int32_t id; (id = slots_[slot]) >= 0; slot = (slot + 1) & mask) {
      const Partition& partition = partitions_[static_cast<size_t>(id)];
      if (partition.hash == hash && partition.key == key) return id;
    }
    const auto id = static_cast<int32_t>(partitions_.size());
    Partition& partition = partitions_.emplace_back();
    partition.key.assign(key);
    partition.hash = hash;
    if (config_->options.preceding == OverAggregateOptions::kUnboundedPreceding)
      partition.totals.resize(config_->calls.size());
    slots_[slot] = id;
    if (partitions_.size() * 2 > slots_.size()) {
      // Keep the table at most half full.
      std::vector<int32_t>(slots_.size() * 2, -1).swap(slots_);
      mask = slots_.size() - 1;
      for (size_t i = 0; i < partitions_.size(); ++i) {
        size_t at = static_cast<size_t>(partitions_[i].hash) & mask;
        while (slots_[at] >= 0)
          at = (at + 1) & mask;
        slots_[at] = static_cast<int32_t>(i);
      }
    }
    return id;
  }

  void mark_dirty(int32_t id) {
    Partition& partition = partitions_[static_cast<size_t>(id)];
    if (partition.dirty) return;
    partition.dirty = true;
    dirty_.push_back(id);
  }

  int64_t release_bound(int64_t watermark) const {
    if (watermark == EpochContext::kNoWatermark) return std::numeric_limits<int64_t>::min();
    int64_t bound;
    if (__builtin_sub_overflow(watermark, config_->options.order_lag_micros, &bound)) {
      return std::numeric_limits<int64_t>::min();
    }
    return bound;
  }

  // Sorts the waiting and the new rows by partition key, then frame order; emits the rows whose
  // order time is below bound with their aggregates and keeps the others as the new waiting
  // batch, grouped by partition.
  Status release(int64_t bound, std::vector<RecordBatchPtr>& out) {
    const Config& config = *config_;
    // The rows: the waiting ones, then this epoch's; each part's rows' partitions.
    std::vector<RecordBatchPtr> parts;
    std::vector<const std::vector<int32_t>*> part_partitions;
    if (waiting_) {
      parts.push_back(waiting_);
      part_partitions.push_back(&waiting_partitions_);
    }
    for (const auto& pending : pending_) {
      parts.push_back(pending.batch);
      part_partitions.push_back(&pending.partitions);
    }

    // Counting sort by partition, the partitions in key order (the output does not depend on
    // hashing or arrival).
    counts_.resize(partitions_.size(), 0);
    touched_.clear();
    int64_t num_rows = 0;
    for (const auto* partitions : part_partitions) {
      num_rows += static_cast<int64_t>(partitions->size());
      for (int32_t id : *partitions) {
        if (counts_[static_cast<size_t>(id)]++ == 0) touched_.push_back(id);
      }
    }
    sort_by_key(touched_);
    int64_t offset = 0;
    for (int32_t id : touched_) {
      const int64_t count = counts_[static_cast<size_t>(id)];
      counts_[static_cast<size_t>(id)] = static_cast<int32_t>(offset);
      offset += count;
    }
    sorted_.resize(static_cast<size_t>(num_rows));
    const int order_column = config.options.order_columns.front();
    for (size_t p = 0; p < parts.size(); ++p) {
      const int64_t* times = parts[p]->column(order_column)->values<int64_t>();
      const std::vector<int32_t>& partitions = *part_partitions[p];
      for (size_t r = 0; r < partitions.size(); ++r) {
        const int32_t at = counts_[static_cast<size_t>(partitions[r])]++;
        sorted_[static_cast<size_t>(at)] = {times[r],
                                            {static_cast<int32_t>(p), static_cast<int32_t>(r)}};
      }
    }
    // counts_ now holds where each partition's rows end.
    auto frame_less = [&](const SortedRow& a, const SortedRow& b) {
      if (a.time != b.time) return a.time < b.time;
      const RecordBatch& x = *parts[static_cast<size_t>(a.ref.part)];
      const RecordBatch& y = *parts[static_cast<size_t>(b.ref.part)];
      for (int column : config.tie_columns) {
        const int order =
            compare_values(*x.column(column), a.ref.row, *y.column(column), b.ref.row);
        if (order != 0) return order < 0;
      }
      return false;
    };

    // Each partition's rows in frame order; the ones below bound come out.
    int64_t earliest = std::numeric_limits<int64_t>::max();
    released_.clear();
    kept_.clear();
    std::vector<int32_t> kept_partitions;
    kept_partitions.reserve(static_cast<size_t>(num_rows));
    const int num_inputs = config.input->num_fields();
    const size_t num_calls = config.calls.size();
    std::vector<ColumnBuilder> results;
    for (const auto& call : config.calls) {
      results.emplace_back(call.result);
      results.back().reserve(num_rows);
    }
    int64_t begin_at = 0;
    for (int32_t id : touched_) {
      const int64_t end_at = counts_[static_cast<size_t>(id)];
      counts_[static_cast<size_t>(id)] = 0;
      Partition& partition = partitions_[static_cast<size_t>(id)];
      auto begin = sorted_.begin() + begin_at;
      auto end = sorted_.begin() + end_at;
      begin_at = end_at;
      std::sort(begin, end, frame_less);
      auto it = begin;
      for (; it != end && it->time < bound; ++it) {
        released_.push_back(it->ref);
        emit(partition, *parts[static_cast<size_t>(it->ref.part)], it->ref.row, results);
      }
      if (it != begin) mark_dirty(id);
      partition.waiting_begin = static_cast<int64_t>(kept_.size());
      partition.num_waiting = end - it;
      if (it != end) earliest = std::min(earliest, it->time);
      for (; it != end; ++it) {
        kept_.push_back(it->ref);
        kept_partitions.push_back(id);
      }
    }
    if (!released_.empty()) {
      const auto n = static_cast<int64_t>(released_.size());
      std::vector<ColumnPtr> columns;
      columns.reserve(static_cast<size_t>(num_inputs) + num_calls);
      for (int c = 0; c < num_inputs; ++c)
        columns.push_back(gather(parts, c, released_.data(), n));
      for (auto& result : results)
        columns.push_back(result.finish());
      out.push_back(RecordBatch::make_unchecked(config.output, std::move(columns), n));
    }
    RecordBatchPtr waiting;
    if (!kept_.empty()) {
      const auto n = static_cast<int64_t>(kept_.size());
      std::vector<ColumnPtr> columns;
      for (int c = 0; c < num_inputs; ++c)
        columns.push_back(gather(parts, c, kept_.data(), n));
      waiting = RecordBatch::make_unchecked(config.input, std::move(columns), n);
    }
    waiting_ = std::move(waiting);
    earliest_waiting_ = earliest;
    waiting_partitions_ = std::move(kept_partitions);
    pending_.clear();
    reuse(sorted_);
    reuse(released_);
    reuse(kept_);
    return Status::ok();
  }

  // Sorts partition ids by their keys' bytes.
  void sort_by_key(std::vector<int32_t>& ids) const {
    std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
      return partitions_[static_cast<size_t>(a)].key < partitions_[static_cast<size_t>(b)].key;
    });
  }

  // Appends the calls' results for row `row` of batch, then moves its values into the frame.
  void emit(Partition& entry, const RecordBatch& batch, int32_t row,
            std::vector<ColumnBuilder>& results) {
    const Config& config = *config_;
    const size_t num_calls = config.calls.size();
    arguments_.resize(num_calls);
    for (size_t c = 0; c < num_calls; ++c) {
      const CallConfig& call = config.calls[c];
      ArgumentValue& value = arguments_[c];
      value = ArgumentValue{};
      if (call.argument == Argument::none) continue;
      const Column& column = *batch.column(call.input_column);
      value.valid = column.is_valid(row);
      if (!value.valid) continue;
      if (call.argument == Argument::integer) {
        value.bits = static_cast<uint64_t>(column.values<int64_t>()[row]);
      } else if (call.argument == Argument::real) {
        value.bits = std::bit_cast<uint64_t>(column.values<double>()[row]);
      }
    }
    const int64_t preceding = config.options.preceding;
    if (preceding == OverAggregateOptions::kUnboundedPreceding) {
      for (size_t c = 0; c < num_calls; ++c) {
        fold(config.calls[c], arguments_[c], entry.totals[c]);
        append_result(config.calls[c], entry.totals[c], results[c]);
      }
      return;
    }
    const size_t frame_rows = entry.frame.size() / num_calls;
    for (size_t c = 0; c < num_calls; ++c) {
      // The ring holds the frame from frame_start on, then from 0 (the oldest row first, the
      // order the sums of doubles are taken in).
      Accumulator acc;
      const ArgumentValue* values = entry.frame.data() + c;
      const size_t start = entry.frame_start;
      auto fold_frame = [&]<Argument kArgument, bool kExtremes>() {
        if constexpr (kArgument == Argument::none) {
          acc.count = static_cast<int64_t>(frame_rows) + 1;
        } else {
          for (size_t i = start; i < frame_rows; ++i)
            fold_as<kArgument, kExtremes>(values[i * num_calls], acc);
          for (size_t i = 0; i < start; ++i)
            fold_as<kArgument, kExtremes>(values[i * num_calls], acc);
          fold_as<kArgument, kExtremes>(arguments_[c], acc);
        }
      };
      const CallConfig& call = config.calls[c];
      // min and max only for min and max: avg and sum skip two comparisons per value.
      auto fold_numbers = [&]<Argument kArgument>() {
        if (call.kind == AggregateKind::min || call.kind == AggregateKind::max) {
          fold_frame.template operator()<kArgument, true>();
        } else {
          fold_frame.template operator()<kArgument, false>();
        }
      };
      switch (call.argument) {
        case Argument::none:
          fold_frame.template operator()<Argument::none, false>();
          break;
        case Argument::integer:
          fold_numbers.template operator()<Argument::integer>();
          break;
        case Argument::real:
          fold_numbers.template operator()<Argument::real>();
          break;
        case Argument::presence:
          fold_frame.template operator()<Argument::presence, false>();
          break;
      }
      append_result(config.calls[c], acc, results[c]);
    }
    if (preceding == 0) return;
    if (static_cast<int64_t>(frame_rows) < preceding) {
      entry.frame.insert(entry.frame.end(), arguments_.begin(), arguments_.end());
    } else {
      std::copy(arguments_.begin(), arguments_.end(),
                entry.frame.begin() + static_cast<std::ptrdiff_t>(entry.frame_start * num_calls));
      if (++entry.frame_start == frame_rows) entry.frame_start = 0;
    }
  }

  // Writes a partition's value: format version, the frame's argument values oldest first, the
  // running totals, then its waiting rows column by column (a null flag, a validity bitmap when
  // some are null, then the values: 8 bytes each, 1 for BOOLEAN, a varint length and the
  // bytes for STRING).
  void encode(const Partition& entry, std::string& out) const {
    const size_t num_calls = config_->calls.size();
    auto put_value = [&](const ArgumentValue& value) {
      se::put_byte(out, value.valid ? 1 : 0);
      if (value.valid) se::put_fixed64(out, value.bits);
    };
    out.reserve(32 + entry.frame.size() * 9 + entry.totals.size() * 34 +
                static_cast<size_t>(entry.num_waiting) * config_->waiting_row_bytes);
    se::put_byte(out, kOverFormatVersion);
    const size_t frame_rows = entry.frame.size() / num_calls;
    se::put_varint(out, frame_rows);
    for (size_t i = 0, at = entry.frame_start; i < frame_rows; ++i) {
      for (size_t c = 0; c < num_calls; ++c)
        put_value(entry.frame[at * num_calls + c]);
      if (++at == frame_rows) at = 0;
    }
    se::put_varint(out, entry.totals.size());
    for (const auto& total : entry.totals) {
      se::put_zigzag(out, total.count);
      se::put_fixed64(out, total.sum);
      se::put_fixed64(out, total.min);
      se::put_fixed64(out, total.max);
    }
    const int64_t n = entry.num_waiting;
    se::put_varint(out, static_cast<uint64_t>(n));
    if (n == 0) return;
    for (const ColumnPtr& column_pointer : waiting_->columns()) {
      const Column& column = *column_pointer;
      const int64_t begin = entry.waiting_begin;
      bool has_nulls = false;
      if (column.has_nulls()) {
        for (int64_t r = begin; r < begin + n && !has_nulls; ++r)
          has_nulls = !column.is_valid(r);
      }
      se::put_byte(out, has_nulls ? 1 : 0);
      if (has_nulls) {
        const size_t at = out.size();
        out.resize(at + static_cast<size_t>(bitmap::bytes_for(n)), '\0');
        auto* bits = reinterpret_cast<uint8_t*>(out.data() + at);
        for (int64_t r = 0; r < n; ++r) {
          if (column.is_valid(begin + r)) bitmap::set(bits, r);
        }
      }
      switch (column.type()) {
        case Type::Bool:
          out.append(reinterpret_cast<const char*>(column.values<uint8_t>() + begin),
                     static_cast<size_t>(n));
          break;
        case Type::String:
          for (int64_t r = begin; r < begin + n; ++r)
            se::put_bytes(out, column.is_valid(r) ? column.string_at(r) : std::string_view());
          break;
        default:
          out.append(reinterpret_cast<const char*>(column.values<int64_t>() + begin),
                     static_cast<size_t>(n) * 8);
          break;
      }
    }
  }

  // Reads a partition's value into partition id, appending its waiting rows to builders.
  Status decode(std::string_view in, int32_t id, std::vector<ColumnBuilder>& builders) {
    Partition& entry = partitions_[static_cast<size_t>(id)];
    const size_t num_calls = config_->calls.size();
    auto corrupt = [](const std::string& what) { return Status::corrupt("OVER state: " + what); };
    auto get_value = [&](ArgumentValue& value) {
      uint8_t valid;
      if (!se::get_byte(in, valid) || valid > 1) return false;
      value.valid = valid == 1;
      return !value.valid || se::get_fixed64(in, value.bits);
    };
    uint8_t version;
    if (!se::get_byte(in, version) || version != kOverFormatVersion)
      return corrupt("unknown format version");
    uint64_t count;
    if (!se::get_varint(in, count) || count > in.size()) return corrupt("truncated frame");
    if (config_->options.preceding >= 0 &&
        count > static_cast<uint64_t>(config_->options.preceding))
      return corrupt("a frame of " + std::to_string(count) + " rows");
    entry.frame.resize(static_cast<size_t>(count) * num_calls);
    entry.frame_start = 0;
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
    const auto n = static_cast<int64_t>(count);
    entry.waiting_begin = static_cast<int64_t>(waiting_partitions_.size());
    entry.num_waiting = n;
    if (n > 0) {
      for (size_t c = 0; c < builders.size(); ++c) {
        ColumnBuilder& builder = builders[c];
        auto column = [&] { return "column " + config_->input->field(static_cast<int>(c)).name; };
        uint8_t has_nulls;
        if (!se::get_byte(in, has_nulls) || has_nulls > 1)
          return corrupt("truncated waiting rows, " + column());
        std::string_view validity;
        if (has_nulls == 1) {
          const auto bytes = static_cast<size_t>(bitmap::bytes_for(n));
          if (in.size() < bytes) return corrupt("truncated validity of " + column());
          validity = in.substr(0, bytes);
          in.remove_prefix(bytes);
        }
        auto valid = [&](int64_t r) {
          return validity.empty() ||
                 bitmap::get(reinterpret_cast<const uint8_t*>(validity.data()), r);
        };
        const Type type = builder.type();
        const size_t width = type == Type::Bool ? 1 : 8;
        if (type != Type::String && in.size() < static_cast<size_t>(n) * width)
          return corrupt("truncated values of " + column());
        for (int64_t r = 0; r < n; ++r) {
          if (type == Type::String) {
            std::string_view bytes;
            if (!se::get_bytes(in, bytes)) return corrupt("truncated values of " + column());
            if (valid(r)) {
              builder.append_string(bytes);
            } else {
              builder.append_null();
            }
            continue;
          }
          uint64_t bits = 0;
          std::memcpy(&bits, in.data() + static_cast<size_t>(r) * width, width);
          if (!valid(r)) {
            builder.append_null();
          } else if (type == Type::Bool) {
            builder.append_bool(bits != 0);
          } else if (type == Type::Double) {
            builder.append_double(std::bit_cast<double>(bits));
          } else {
            builder.append_int64(static_cast<int64_t>(bits));
          }
        }
        if (type != Type::String) in.remove_prefix(static_cast<size_t>(n) * width);
      }
      waiting_partitions_.insert(waiting_partitions_.end(), static_cast<size_t>(n), id);
    }
    if (!in.empty()) return corrupt("trailing bytes");
    return Status::ok();
  }

  int64_t memory_bytes() const {
    int64_t bytes =
        static_cast<int64_t>(keys_.bytes.capacity() + slots_.capacity() * sizeof(int32_t) +
                             waiting_partitions_.capacity() * sizeof(int32_t));
    if (waiting_) bytes += waiting_->memory_bytes();
    for (const auto& partition : partitions_) {
      bytes += static_cast<int64_t>(partition.key.size() + sizeof(Partition)) +
               static_cast<int64_t>(partition.frame.size() * sizeof(ArgumentValue) +
                                    partition.totals.size() * sizeof(Accumulator));
    }
    return bytes;
  }

  std::shared_ptr<const Config> config_;
  int partition_;
  int num_partitions_;
  std::shared_ptr<const StateReader> committed_;
  std::vector<Partition> partitions_;
  std::vector<int32_t> slots_;  // open addressing: an index into partitions_, or -1
  std::vector<int32_t> dirty_;  // the partitions changed since the last delta
  // The rows waiting for the watermark, grouped by partition in frame order, and the
  // partition of each (as of the last finish_epoch; then this epoch's accepted rows).
  RecordBatchPtr waiting_;
  std::vector<int32_t> waiting_partitions_;
  int64_t earliest_waiting_ = std::numeric_limits<int64_t>::max();  // the least order time waiting
  std::vector<PendingBatch> pending_;
  EncodedKeys keys_;
  std::vector<int32_t> selection_;
  std::vector<int32_t> counts_;
  std::vector<int32_t> touched_;
  std::vector<SortedRow> sorted_;
  std::vector<RowRef> released_;
  std::vector<RowRef> kept_;
  std::vector<ArgumentValue> arguments_;  // the values of the row being emitted
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
  config->tie_columns.assign(options.order_columns.begin() + 1, options.order_columns.end());
  for (int i = 0; i < input->num_fields(); ++i) {
    const auto among = [i](const std::vector<int>& columns) {
      return std::find(columns.begin(), columns.end(), i) != columns.end();
    };
    if (!among(options.order_columns) && !among(options.partition_columns))
      config->tie_columns.push_back(i);
  }
  for (const Field& field : input->fields())
    config->waiting_row_bytes += field.type == Type::Bool ? 1 : field.type == Type::String ? 16 : 8;
  config->key_encoder = std::make_shared<const KeyEncoder>(std::move(keys));
  config->fingerprint =
      "over keys=[" + key_columns_text(*input, options.partition_columns) + "] order=[" +
      key_columns_text(*input, options.order_columns) + "] rows=" +
      (options.preceding < 0 ? std::string("unbounded") : std::to_string(options.preceding)) +
      " calls=[" + calls_text + "] input=[" + input->to_string() +
      "] format=" + std::to_string(kOverFormatVersion);
  config->options = std::move(options);
  return std::shared_ptr<const StatefulOperator>(
      std::make_shared<PartitionedOperator<OverAggregateState, Config>>("over aggregate", config,
                                                                        config->output));
}

}  // namespace sluice
