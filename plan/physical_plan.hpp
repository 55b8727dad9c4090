#pragma once

#include <optional>
#include <string>
#include <vector>

#include "operators/partial_aggregate.hpp"
#include "operators/stateful_operator.hpp"
#include "operators/stateless_stage.hpp"
#include "plan/logical_plan.hpp"

namespace sluice {

/// Where rows go next: input `input` of stateful stage `stage`, or the sink when stage < 0.
struct StageTarget {
  int stage = -1;
  int input = 0;
};

/// One source's path into the query: the source node (with its required columns) and the
/// fused stateless steps applied to its rows before they reach their target.
struct PhysicalPipeline {
  PlanPtr source;
  std::vector<StatelessStep> steps;
  /// The delay of this input's watermark, when it has one (its steps observe the column).
  std::optional<int64_t> watermark_delay_micros;
  StageTarget target;
};

/// A stateful stage: an operator run as shuffle partitions, the rows of each of its inputs
/// routed by that input's key hash, then stateless steps over its output, which goes to the
/// sink or to an input of a later stage.
struct StatefulStage {
  std::shared_ptr<const StatefulOperator> op;
  std::vector<StatelessStep> post_steps;
  /// True when the operator's state is evicted and final rows emitted by the watermark.
  bool uses_watermark = false;
  StageTarget target;
  /// 0 when only pipelines feed the stage; else one more than the deepest stage feeding it.
  /// A stage at depth d runs each epoch e with the watermark of epoch e - d (Spark 3.4's
  /// multiple stateful operators, one epoch per level): what a stage at depth d - 1 emits in
  /// e lies at or above the watermark of e - d, so none of it counts as late.
  int depth = 0;
};

/// What the runtime executes: a graph of pipelines (one per source) and stateful stages.
/// Stage 0 is the one nearest the sink; every stage's target has a smaller index than the
/// stage itself. An optional ordering and limit apply to each epoch's complete result at the
/// sink.
struct PhysicalPlan {
  std::vector<PhysicalPipeline> pipelines;
  std::vector<StatefulStage> stages;
  std::vector<SortKey> sort;
  int64_t limit = -1;
  SchemaPtr output_schema;
  /// What the planner warns the user about (StreamingQuery::warnings), e.g. state that grows
  /// without bound.
  std::vector<std::string> warnings;

  /// Returns the largest StatefulStage::depth (0 without stages): how many epochs the
  /// deepest stage's watermark lags.
  [[nodiscard]] int max_depth() const;

  /// Returns the number of actors that send rows to input `input` of stage `stage` (stage -1:
  /// the sink), given each pipeline's partition count and the stages' partition count.
  int num_senders(int stage, const std::vector<int>& pipeline_partitions, int stage_partitions) const;
  /// Renders the plan the way Spark's explain prints its physical plan.
  std::string to_string() const;
};

/// What the session decides about physical operators (not part of the plan's fingerprint).
struct PhysicalOptions {
  /// Memory a stateful operator partition keeps its state in; the rest stays in LMDB and is
  /// read back when needed (session option stateCacheSize).
  int64_t state_cache_bytes = 256LL << 20;
  /// Whether the senders of a hash aggregate pre-aggregate each batch before the shuffle
  /// (session option partialAggregation: auto, always, off).
  PartialAggregationMode partial_aggregation = PartialAggregationMode::adaptive;
};

/// Cuts an optimized plan into pipelines and stateful stages, fusing adjacent stateless steps;
/// fails naming the rule for shapes the runtime does not run.
Result<PhysicalPlan> plan_physical(const PlanPtr& optimized, const PhysicalOptions& options = {});

/// Reads a static source node (SourceSpec::is_static) whole: through read_all, or its Source
/// from the initial offset to everything available now; only the columns the node keeps.
Result<RecordBatchPtr> read_static_source(const PlanPtr& node);

/// Refuses, at start, queries the output mode cannot run, naming the rule and the operator
/// (Spark's UnsupportedOperationChecker matrix).
Status check_output_mode(const PlanPtr& plan, OutputMode mode);

}  // namespace sluice
