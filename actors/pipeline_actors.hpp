#pragma once

#include <deque>
#include <memory>

#include "actors/output_link.hpp"
#include "io/sink.hpp"
#include "io/source.hpp"
#include "operators/partial_aggregate.hpp"
#include "operators/stateless_stage.hpp"

namespace sluice::actors {

/// Spawns the actor that reads one partition of a source, epoch range by epoch range, and
/// sends its batches to `stage` under credit, each range closed by a barrier. Reports each
/// finished range to the coordinator; a read error stops the query.
caf::actor spawn_source_actor(caf::actor_system& system, caf::actor coordinator, caf::actor stage,
                              std::shared_ptr<Source> source, int pipeline, int partition,
                              std::string name);

/// Where an actor sends its rows: the one sink, or the partitions of a stateful stage, rows
/// routed by the hash of `key_columns` and tagged with the operator input they feed.
struct Downstream {
  std::vector<caf::actor> actors;
  std::vector<int> key_columns;
  int input = 0;
  FaultPoint edge = FaultPoint::edge_to_stateful;  ///< edge_to_sink when `actors` is the sink
  /// When set, each batch is pre-aggregated before it is routed (partial aggregation).
  std::shared_ptr<const PartialAggregation> partial;
};

/// Spawns the actor that runs a fused stateless stage over the batches of one source
/// partition and forwards results and barriers downstream. Reports each finished epoch (with
/// the largest event time it observed) to the coordinator as input `input`.
caf::actor spawn_stage_actor(caf::actor_system& system, caf::actor coordinator, Downstream downstream,
                             std::shared_ptr<const StatelessStage> stage, int input, std::string name);

/// Spawns partition `partition` of stateful stage `stage`: consumes its share of every
/// input's rows, and once the barrier of an epoch came from all `num_senders` upstream actors,
/// finishes the epoch, sends the output (through `post`) downstream and the state delta to the
/// coordinator.
caf::actor spawn_stateful_actor(caf::actor_system& system, caf::actor coordinator, Downstream downstream,
                                std::unique_ptr<StatefulOperatorState> state,
                                std::shared_ptr<const StatelessStage> post, int stage, int partition,
                                int num_senders, std::string name);

/// Orders and cuts each epoch's complete result at the sink (order_by / limit).
struct ResultOrdering {
  std::vector<std::pair<int, bool>> sort;  ///< column index, ascending
  int64_t limit = -1;
  bool active() const { return !sort.empty() || limit >= 0; }
};

/// Spawns the actor that owns the sink: writes batches, and once the barrier of an epoch came
/// from all `num_inputs` upstream actors (and, with wait_for_log, the coordinator said the
/// epoch's range is logged) finishes the epoch and tells the coordinator.
caf::actor spawn_sink_actor(caf::actor_system& system, caf::actor coordinator,
                            std::shared_ptr<Sink> sink, int num_inputs, ResultOrdering ordering,
                            bool wait_for_log);

}  // namespace sluice::actors
