#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/record_batch.hpp"
#include "core/schema.hpp"
#include "core/status.hpp"
#include "operators/aggregate_function.hpp"
#include "operators/key_encoder.hpp"

namespace sluice {

/// Says when the sending side of a shuffle pre-aggregates rows into partial states.
enum class PartialAggregationMode {
  off,       ///< never: every row travels as it is
  adaptive,  ///< combine, and stop combining for a while after batches it hardly reduced
  always     ///< combine every batch (tests, and inputs known to repeat keys)
};

/// Parses "auto", "always" or "off" (session option partialAggregation); an invalid_argument
/// naming the value otherwise. Thread-safe.
Result<PartialAggregationMode> parse_partial_aggregation_mode(const std::string& text);

/// Describes the partial states of a hash aggregate: the batch a sender makes of one input
/// batch by folding rows with equal grouping keys into one row per key, which the aggregate's
/// partitions merge instead of raw rows. Schema of a partial batch: the grouping columns (as
/// the input has them, in grouping order), then `__partial_rows` (BIGINT: how many input rows
/// the group folds) and `__partial_state` (STRING: the aggregate states, serialized as in the
/// checkpoint). Every aggregate function merges, count_distinct included (its partial state
/// is the batch's distinct values); first and last keep the batch's first and last row and
/// are merged in arrival order. Immutable; thread-safe.
class PartialAggregation {
 public:
  /// Lays out the partials of `aggregates` grouped by `key_columns` of `input`.
  static Result<std::shared_ptr<const PartialAggregation>> make(
      SchemaPtr input, std::vector<int> key_columns, std::shared_ptr<const AggregateRow> aggregates,
      PartialAggregationMode mode);

  /// Returns the schema of every partial batch.
  const SchemaPtr& partial_schema() const { return partial_schema_; }
  /// Returns the columns of a partial batch that route it: its grouping columns, 0..k-1.
  const std::vector<int>& partial_key_columns() const { return partial_key_columns_; }
  /// Returns true when batch is a partial batch (its schema is the partial schema).
  bool is_partial(const RecordBatch& batch) const;
  const SchemaPtr& input_schema() const { return input_; }
  const AggregateRow& aggregates() const { return *aggregates_; }
  PartialAggregationMode mode() const { return mode_; }

 private:
  PartialAggregation() = default;
  SchemaPtr input_;
  SchemaPtr partial_schema_;
  std::vector<int> key_columns_;
  std::vector<int> partial_key_columns_;
  std::shared_ptr<const AggregateRow> aggregates_;
  std::shared_ptr<const KeyEncoder> encoder_;
  PartialAggregationMode mode_ = PartialAggregationMode::adaptive;

  friend class PartialCombiner;
};

/// Counts what a combiner did, for tests and benchmarks.
struct PartialCombinerStats {
  int64_t batches_combined = 0;
  int64_t batches_passed = 0;  ///< sent as raw rows (skipped by the adaptive rule)
  int64_t rows_in = 0;         ///< rows of the combined batches
  int64_t groups_out = 0;      ///< partial rows made of them
};

/// Combines the batches of one sender. Adaptive rule: a batch that folds into more than
/// kMaxGroupFraction groups per row does not pay (serializing and merging a partial costs more
/// than the raw row it replaces), so the combiner passes the next batches on as they are, 1
/// after the first such batch, doubling with every further one up to kMaxSkippedBatches, and
/// tries again; a batch that pays resets the backoff. Owned by one actor; not thread-safe.
class PartialCombiner {
 public:
  static constexpr double kMaxGroupFraction = 0.5;
  static constexpr int64_t kMaxSkippedBatches = 64;

  /// Creates the combiner of one sender (it learns whether combining pays for its input).
  explicit PartialCombiner(std::shared_ptr<const PartialAggregation> definition)
      : definition_(std::move(definition)) {}
  ~PartialCombiner();
  PartialCombiner(const PartialCombiner&) = delete;
  PartialCombiner& operator=(const PartialCombiner&) = delete;

  /// Returns the partial batch of batch (schema: the definition's input schema), or batch
  /// itself when the adaptive rule skips it or it is empty.
  Result<RecordBatchPtr> combine(const RecordBatchPtr& batch);

  const PartialCombinerStats& stats() const { return stats_; }
  const PartialAggregation& definition() const { return *definition_; }

 private:
  RecordBatchPtr fold(const RecordBatchPtr& batch);
  void release_groups();

  std::shared_ptr<const PartialAggregation> definition_;
  EncodedKeys keys_;
  std::vector<uint32_t> slots_;        // group + 1 per slot, 0 = empty
  std::vector<uint64_t> group_hashes_;
  std::vector<int32_t> first_rows_;    // per group: its first row in the batch
  std::vector<int64_t> group_rows_;    // per group: rows folded
  std::vector<uint64_t> states_;       // per group: AggregateRow words
  std::vector<uint32_t> group_of_row_;
  std::vector<uint64_t*> row_states_;
  int64_t skip_remaining_ = 0;
  int64_t next_skip_ = 1;
  PartialCombinerStats stats_;
};

}  // namespace sluice
