#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/record_batch.hpp"
#include "operators/expression.hpp"

namespace sluice {

/// Describes one stateless step before binding: keep rows where `predicate` is true, or
/// compute `projections` as the new columns.
struct StatelessStep {
  enum class Kind { filter, project };
  Kind kind = Kind::filter;
  Expr predicate;
  std::vector<Expr> projections;

  static StatelessStep filter(Expr predicate) { return {Kind::filter, std::move(predicate), {}}; }
  static StatelessStep project(std::vector<Expr> projections) {
    return {Kind::project, Expr(), std::move(projections)};
  }
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

  const SchemaPtr& input_schema() const { return input_; }
  const SchemaPtr& output_schema() const { return output_; }

 private:
  struct BoundStep {
    StatelessStep::Kind kind;
    std::optional<BoundExpr> predicate;
    std::vector<BoundExpr> projections;
    SchemaPtr output;
    // For a filter followed by a projection: the input columns that projection reads, and
    // the narrowed schema the projection is bound against.
    std::vector<int> gather_columns;
    SchemaPtr gathered;
  };
  StatelessStage() = default;
  SchemaPtr input_;
  SchemaPtr output_;
  std::vector<BoundStep> steps_;
};

}  // namespace sluice
