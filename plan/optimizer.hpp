#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plan/logical_plan.hpp"

namespace sluice {

/// Rewrites a logical plan into an equivalent one. Rules are stateless and thread-safe.
class OptimizerRule {
 public:
  virtual ~OptimizerRule() = default;
  virtual std::string name() const = 0;
  /// Returns the rewritten plan (the same pointer when nothing applied).
  virtual Result<PlanPtr> apply(const PlanPtr& plan) const = 0;
};

/// Merges Filter(Filter(x, a), b) into Filter(x, a AND b).
class CombineFilters final : public OptimizerRule {
 public:
  std::string name() const override { return "CombineFilters"; }
  Result<PlanPtr> apply(const PlanPtr& plan) const override;
};

/// Moves a filter below a projection (substituting aliases) and below a union (one copy per
/// input), so rows are dropped as early as possible.
class PushDownFilters final : public OptimizerRule {
 public:
  std::string name() const override { return "PushDownFilters"; }
  Result<PlanPtr> apply(const PlanPtr& plan) const override;
};

/// Moves a projection below a union, so each input runs one fused stateless stage.
class PushProjectionThroughUnion final : public OptimizerRule {
 public:
  std::string name() const override { return "PushProjectionThroughUnion"; }
  Result<PlanPtr> apply(const PlanPtr& plan) const override;
};

/// Merges Project(Project(x, inner), outer) into one projection over x.
class CollapseProjections final : public OptimizerRule {
 public:
  std::string name() const override { return "CollapseProjections"; }
  Result<PlanPtr> apply(const PlanPtr& plan) const override;
};

/// Evaluates deterministic expressions without column references once, at planning time.
class FoldConstants final : public OptimizerRule {
 public:
  std::string name() const override { return "FoldConstants"; }
  Result<PlanPtr> apply(const PlanPtr& plan) const override;
};

/// Simplifies boolean logic (true AND x = x, NOT NOT x = x, ...), removes filters that are
/// always true, and replaces null-propagating expressions over a NULL literal with NULL.
class SimplifyExpressions final : public OptimizerRule {
 public:
  std::string name() const override { return "SimplifyExpressions"; }
  Result<PlanPtr> apply(const PlanPtr& plan) const override;
};

/// Offers a filter's deterministic conjuncts to the source right below it (the filter stays),
/// so that sources able to skip data (partition directories, say) read less.
class PushFiltersIntoSources final : public OptimizerRule {
 public:
  std::string name() const override { return "PushFiltersIntoSources"; }
  Result<PlanPtr> apply(const PlanPtr& plan) const override;
};

/// Tells every source which of its columns the query uses, dropping projections of
/// columns nobody reads.
class PruneColumns final : public OptimizerRule {
 public:
  std::string name() const override { return "PruneColumns"; }
  Result<PlanPtr> apply(const PlanPtr& plan) const override;
};

/// Runs rule batches to a fixed point (bounded by max_iterations).
class Optimizer {
 public:
  /// Builds the default rule set.
  Optimizer();
  explicit Optimizer(std::vector<std::unique_ptr<OptimizerRule>> rules) : rules_(std::move(rules)) {}
  Result<PlanPtr> optimize(const PlanPtr& plan, int max_iterations = 100) const;

 private:
  std::vector<std::unique_ptr<OptimizerRule>> rules_;
};

/// Rewrites an expression bottom-up: fn sees each node after its children were rewritten.
Expr transform_up(const Expr& expr, const std::function<Expr(const Expr&)>& fn);

/// Rewrites a plan bottom-up with a node rule.
Result<PlanPtr> transform_plan(const PlanPtr& plan,
                               const std::function<Result<PlanPtr>(const PlanPtr&)>& fn);

/// Returns true when two plans are the same tree (used to detect a fixed point).
bool same_plan(const PlanPtr& a, const PlanPtr& b);

}  // namespace sluice
