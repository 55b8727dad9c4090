#pragma once

#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "core/record_batch.hpp"
#include "operators/expression.hpp"
#include "operators/record_format.hpp"
#include "operators/static_join.hpp"
#include "operators/window_assigner.hpp"

namespace sluice {

/// Describes one stateless step before binding: keep rows where `predicate` is true, compute
/// `projections` as the new columns, append event-time windows of `column`, observe the
/// largest event time of `column` (for the watermark) without changing rows, or join each
/// row with a static table (hashed once per query start, when the stage is made).
struct StatelessStep {
  enum class Kind { filter, project, assign_windows, observe_event_time, static_join };
  Kind kind = Kind::filter;
  Expr predicate;
  std::vector<Expr> projections;
  std::string column;
  WindowDefinition window{0, 0, 0};
  /// static_join: the table, the key columns (names both sides have), the join type and an
  /// optional condition (in `predicate` when join_has_condition).
  std::shared_ptr<const StaticTable> table;
  std::vector<std::string> join_keys;
  JoinType join_type = JoinType::inner;
  bool join_has_condition = false;

  static StatelessStep filter(Expr predicate) {
    StatelessStep step;
    step.predicate = std::move(predicate);
    return step;
  }
  static StatelessStep project(std::vector<Expr> projections) {
    StatelessStep step;
    step.kind = Kind::project;
    step.projections = std::move(projections);
    return step;
  }
  static StatelessStep assign_windows(std::string column, WindowDefinition window) {
    StatelessStep step;
    step.kind = Kind::assign_windows;
    step.column = std::move(column);
    step.window = window;
    return step;
  }
  static StatelessStep observe_event_time(std::string column) {
    StatelessStep step;
    step.kind = Kind::observe_event_time;
    step.column = std::move(column);
    return step;
  }
  static StatelessStep static_join(std::shared_ptr<const StaticTable> table, std::vector<std::string> keys,
                                   JoinType type, std::optional<Expr> condition) {
    StatelessStep step;
    step.kind = Kind::static_join;
    step.table = std::move(table);
    step.join_keys = std::move(keys);
    step.join_type = type;
    step.join_has_condition = condition.has_value();
    if (condition) step.predicate = *condition;
    return step;
  }
};

/// What a stage saw while processing: the largest event time of an observed column.
struct StageObservation {
  int64_t max_event_time = std::numeric_limits<int64_t>::min();
  bool saw_event_time = false;
};

/// Runs a chain of filters and projections fused into one pass per batch: a filter yields a
/// selection vector, and when a projection follows it only the columns that projection reads
/// are gathered. Immutable after `make`; `process` may be called from many threads at once.
class StatelessStage {
 public:
  /// Binds every step against the schema flowing into it; fails with the first type error.
  static Result<std::shared_ptr<const StatelessStage>> make(SchemaPtr input,
                                                            const std::vector<StatelessStep>& steps,
                                                            const EvalOptions& options = {});

  /// Transforms one batch. The result may have zero rows; it shares buffers with the input
  /// where a step passes columns through unchanged.
  Result<RecordBatchPtr> process(const RecordBatchPtr& input) const;
  /// Like process, also recording event times of observe_event_time steps in `observation`.
  Result<RecordBatchPtr> process(const RecordBatchPtr& input, StageObservation& observation) const;
  /// Like process for a batch of epoch `epoch`: a static join step joins it with the version
  /// of its table that epoch sees (see StaticHashJoin).
  Result<RecordBatchPtr> process(const RecordBatchPtr& input, StageObservation& observation, int64_t epoch) const;

  const SchemaPtr& input_schema() const { return input_; }
  const SchemaPtr& output_schema() const { return output_; }

 private:
  struct BoundStep {
    StatelessStep::Kind kind;
    std::optional<BoundExpr> predicate;
    std::vector<BoundExpr> projections;
    // Fields of one from_json / from_csv call, parsed together: one pass over the batch
    // computes the projections at `positions` (the others are evaluated one by one).
    struct RecordGroup {
      BoundRecordFields fields;
      std::vector<size_t> positions;
    };
    std::vector<RecordGroup> record_groups;
    std::vector<bool> grouped;
    SchemaPtr output;
    // For a filter followed by a projection: the input columns that projection reads, and
    // the narrowed schema the projection is bound against.
    std::vector<int> gather_columns;
    SchemaPtr gathered;
    int column_index = -1;  // assign_windows / observe_event_time
    WindowDefinition window{0, 0, 0};
    std::shared_ptr<const StaticHashJoin> join;  // static_join
  };
  StatelessStage() = default;
  // Finds the projections that take fields of one from_json / from_csv call and binds them
  // as one parse per call.
  static Status group_record_fields(const std::vector<Expr>& projections, const Schema& schema,
                                    const EvalOptions& options, BoundStep& bound);
  static Result<RecordBatchPtr> project(const BoundStep& step, const RecordBatch& input);
  SchemaPtr input_;
  SchemaPtr output_;
  std::vector<BoundStep> steps_;
};

}  // namespace sluice
