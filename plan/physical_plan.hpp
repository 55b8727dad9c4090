#pragma once

#include <string>
#include <vector>

#include "operators/stateless_stage.hpp"
#include "plan/logical_plan.hpp"

namespace sluice {

/// One source's path to the sink: the source node (with its required columns) and the fused
/// stateless steps applied to its rows.
struct PhysicalPipeline {
  PlanPtr source;
  std::vector<StatelessStep> steps;
};

/// What the runtime executes: one pipeline per source, all feeding the sink.
struct PhysicalPlan {
  std::vector<PhysicalPipeline> pipelines;
  SchemaPtr output_schema;

  /// Renders the plan the way Spark's explain prints its physical plan.
  std::string to_string() const;
};

/// Cuts an optimized plan into pipelines, fusing adjacent filters and projections into one
/// stage per source; fails on plan shapes the runtime does not run yet.
Result<PhysicalPlan> plan_physical(const PlanPtr& optimized);

}  // namespace sluice
