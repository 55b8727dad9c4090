#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/key_change.hpp"
#include "core/record_batch.hpp"
#include "io/sink.hpp"

namespace sluice {

class PartialAggregation;

/// Reads the committed state of one stateful operator: one key space shared by all partitions
/// (so that a restart with another partition count finds every key). Implemented by the
/// runtime over the checkpoint. Thread-safe; sees only state as of the last committed epoch.
class StateReader {
 public:
  virtual ~StateReader() = default;
  virtual Result<std::optional<std::string>> get(std::string_view key) const = 0;
  /// Visits committed entries with begin <= key < end in key order (end "" = no upper bound);
  /// stops early when fn returns false. fn must not call back into the reader.
  virtual Status scan(std::string_view begin, std::string_view end,
                      const std::function<bool(std::string_view key, std::string_view value)>& fn) const = 0;
  /// Returns the num_rows_total that partition `partition` of `num_partitions` reported for the
  /// last committed epoch, when the runtime recorded it for that partition count (nullopt
  /// otherwise): an operator whose num_rows_total counts its committed keys can start without
  /// scanning the state to count them.
  virtual Result<std::optional<int64_t>> partition_rows(int partition, int num_partitions) const {
    (void)partition;
    (void)num_partitions;
    return std::optional<int64_t>();
  }
};

/// The state changes of one epoch of one partition, committed atomically with the epoch.
struct StateDelta {
  using Change = KeyChange;
  std::vector<Change> changes;
};

/// What a stateful operator knows about the epoch it is in.
struct EpochContext {
  static constexpr int64_t kNoWatermark = std::numeric_limits<int64_t>::min();
  int64_t epoch = 0;
  /// Event-time watermark (µs) in force for this epoch: rows with event time below it are late
  /// (dropped and counted), state and windows wholly below it are final.
  int64_t watermark = kNoWatermark;
  OutputMode mode = OutputMode::Append;
  /// Processing time (µs) at the start of the epoch, from the query's clock.
  int64_t processing_time = 0;
};

/// Counters of one partition of a stateful operator, reported in progress (Spark's names).
struct StateOperatorMetrics {
  int64_t num_rows_total = 0;
  int64_t num_rows_updated = 0;
  int64_t num_rows_removed = 0;
  int64_t num_rows_dropped_by_watermark = 0;
  int64_t memory_used_bytes = 0;
  /// Operator-specific counters (Spark's customMetrics), e.g. a join's rows per side; summed
  /// over partitions.
  std::map<std::string, int64_t> custom_metrics;
  /// The earliest processing-time deadline (µs) of a timer the partition holds, or max() for
  /// none: the runtime runs an epoch without data once the query's clock passes it.
  int64_t next_processing_timeout = std::numeric_limits<int64_t>::max();
};

/// The working state of one partition of a stateful operator for one run of a query. Calls
/// come from one stage actor, in order: add_input* then finish_epoch, then epoch_committed or
/// epoch_aborted, for epoch after epoch. Not thread-safe.
class StatefulOperatorState {
 public:
  virtual ~StatefulOperatorState() = default;
  /// Consumes rows of the current epoch (schema: the operator's input schema).
  virtual Status add_input(const RecordBatchPtr& batch, const EpochContext& context) = 0;
  /// Consumes rows of the current epoch arriving on input `input` (schema: that input's
  /// schema). The runtime calls this form for every operator; an operator with one input
  /// keeps the default, which forwards input 0 to add_input(batch, context).
  virtual Status add_input(int input, const RecordBatchPtr& batch, const EpochContext& context) {
    if (input != 0) {
      return Status::internal("operator with one input got rows on input " + std::to_string(input));
    }
    return add_input(batch, context);
  }
  /// Ends the epoch: appends the rows to emit under the context's output mode to `out`, evicts
  /// state behind the watermark, and describes every state change since the last commit in
  /// `delta`. After a crash the runtime replays the epoch from the committed state, so the
  /// same input must give the same output and delta.
  virtual Status finish_epoch(const EpochContext& context, std::vector<RecordBatchPtr>& out,
                              StateDelta& delta) = 0;
  /// Tells the state the delta of `epoch` is committed (the reader now returns it).
  virtual void epoch_committed(int64_t epoch) = 0;
  /// Returns metrics of the last finished epoch (totals for num_rows_total and memory).
  virtual StateOperatorMetrics metrics() const = 0;
};

/// The definition of a stateful operator: immutable, shared by all partitions.
class StatefulOperator {
 public:
  virtual ~StatefulOperator() = default;
  /// Names the operator in progress reports and explain output, e.g. "stateful aggregate".
  virtual std::string name() const = 0;
  virtual const SchemaPtr& input_schema() const = 0;
  virtual const SchemaPtr& output_schema() const = 0;
  /// Returns the input columns whose values route a row to its partition (all rows with the
  /// same values meet in one partition); empty = the operator runs as a single partition.
  virtual std::vector<int> key_columns() const = 0;
  /// Describes what the state depends on (keys, aggregates, types), for refusing a checkpoint
  /// written by an incompatible query, e.g. "aggregate keys=[k BIGINT] aggs=[count(*), sum(v)]".
  virtual std::string state_fingerprint() const = 0;
  /// Returns how many inputs feed the operator (a join has two: 0 = left, 1 = right). Rows of
  /// every input are routed by their own key columns, which encode alike, so rows that must
  /// meet reach the same partition.
  virtual int num_inputs() const { return 1; }
  /// Returns the schema of input `input` (0 <= input < num_inputs()).
  virtual SchemaPtr input_schema(int input) const {
    (void)input;
    return input_schema();
  }
  /// Returns the routing key columns of input `input`, in the same order for every input.
  virtual std::vector<int> key_columns(int input) const {
    (void)input;
    return key_columns();
  }
  /// Returns how the senders of input `input` pre-aggregate its rows per batch before the
  /// shuffle (the partitions then merge partial states), or nullptr: they send raw rows.
  virtual std::shared_ptr<const PartialAggregation> partial_aggregation(int input) const {
    (void)input;
    return nullptr;
  }
  /// Creates partition `partition` of `num_partitions` over the committed state.
  virtual Result<std::unique_ptr<StatefulOperatorState>> make_state(
      int partition, int num_partitions, std::shared_ptr<const StateReader> committed) const = 0;
};

}  // namespace sluice
