#pragma once

#include <optional>
#include <string>
#include <vector>

#include "operators/stateful_operator.hpp"
#include "operators/stateless_stage.hpp"
#include "plan/logical_plan.hpp"

namespace sluice {

/// One source's path into the query: the source node (with its required columns) and the
/// fused stateless steps applied to its rows before the stateful stage (or the sink).
struct PhysicalPipeline {
  PlanPtr source;
  std::vector<StatelessStep> steps;
  /// The delay of this input's watermark, when it has one (its steps observe the column).
  std::optional<int64_t> watermark_delay_micros;
};

/// The stateful stage: an operator run as shuffle partitions, rows routed by key hash, then
/// stateless steps over its output.
struct StatefulStage {
  std::shared_ptr<const StatefulOperator> op;
  std::vector<StatelessStep> post_steps;
  /// True when the operator's state is evicted and final rows emitted by the watermark.
  bool uses_watermark = false;
};

/// What the runtime executes: pipelines per source, an optional stateful stage, and an
/// optional ordering and limit applied to each epoch's complete result at the sink.
struct PhysicalPlan {
  std::vector<PhysicalPipeline> pipelines;
  std::optional<StatefulStage> stateful;
  std::vector<SortKey> sort;
  int64_t limit = -1;
  SchemaPtr output_schema;

  /// Renders the plan the way Spark's explain prints its physical plan.
  std::string to_string() const;
};

/// What the session decides about physical operators (not part of the plan's fingerprint).
struct PhysicalOptions {
  /// Memory a stateful operator partition keeps its state in; the rest stays in LMDB and is
  /// read back when needed (session option stateCacheSize).
  int64_t state_cache_bytes = 256LL << 20;
};

/// Cuts an optimized plan into pipelines and at most one stateful stage, fusing adjacent
/// stateless steps; fails naming the rule for shapes the runtime does not run.
Result<PhysicalPlan> plan_physical(const PlanPtr& optimized, const PhysicalOptions& options = {});

/// Refuses, at start, queries the output mode cannot run, naming the rule and the operator
/// (Spark's UnsupportedOperationChecker matrix).
Status check_output_mode(const PlanPtr& plan, OutputMode mode);

}  // namespace sluice
