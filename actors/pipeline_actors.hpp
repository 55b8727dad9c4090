#pragma once

#include <deque>
#include <memory>

#include "actors/output_link.hpp"
#include "io/sink.hpp"
#include "io/source.hpp"
#include "operators/stateless_stage.hpp"

namespace sluice::actors {

/// Spawns the actor that reads one partition of a source, epoch range by epoch range, and
/// sends its batches to `stage` under credit, each range closed by a barrier. Reports each
/// finished range to the coordinator; a read error stops the query.
caf::actor spawn_source_actor(caf::actor_system& system, caf::actor coordinator, caf::actor stage,
                              std::shared_ptr<Source> source, int pipeline, int partition,
                              std::string name);

/// Spawns the actor that runs a fused stateless stage over the batches of one source
/// partition and forwards results and barriers to `sink`.
caf::actor spawn_stage_actor(caf::actor_system& system, caf::actor coordinator, caf::actor sink,
                             std::shared_ptr<const StatelessStage> stage, std::string name);

/// Spawns the actor that owns the sink: writes batches, and once the barrier of an epoch came
/// from all `num_inputs` stage actors finishes the epoch and tells the coordinator.
caf::actor spawn_sink_actor(caf::actor_system& system, caf::actor coordinator,
                            std::shared_ptr<Sink> sink, int num_inputs);

}  // namespace sluice::actors
