#pragma once

#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "core/record_batch.hpp"
#include "core/value.hpp"
#include "io/push_source.hpp"

namespace sluice::actors {

/// Host → actor source: append this batch (its schema must be the source's).
struct PushBatch {
  RecordBatchPtr batch;
};

/// Host → actor source: append these rows, one vector of values per row in schema order.
struct PushRows {
  std::vector<std::vector<Value>> rows;
};

/// Actor source → host, the reply to every push: `status` ok means the push is durable in the
/// input log at position `offset` and will be in the output exactly once; otherwise nothing was
/// logged and `status` says why (wrong schema, a value of the wrong type, the log full).
struct PushAck {
  int64_t offset = -1;
  Status status;
};

/// The handle a host sends its input to. Every push gets a PushAck reply; a host that needs to
/// know its rows are safe waits for it (request(...).then(...)), one that does not may send.
using actor_source = caf::typed_actor<caf::replies_to<PushBatch>::with<PushAck>,
                                      caf::replies_to<PushRows>::with<PushAck>>;

/// Spawns the actor that appends pushes to `source`'s input log and replies with their offsets.
/// It runs detached (a thread of its own), since logging waits for an fsync: the host's
/// scheduler threads never block on the disk. Pushes waiting in its mailbox together are
/// logged in one transaction (group commit: one fsync for all), so hosts that send several
/// pushes before awaiting their acks get far more durable pushes per second than one
/// push-and-wait at a time. Pushes are logged in the order the actor receives them (CAF keeps
/// each sender's order). Send it an exit message to end it; `source` outlives it as long as a
/// query uses it.
actor_source spawn_actor_source(caf::actor_system& system, std::shared_ptr<PushSource> source);

}  // namespace sluice::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::PushBatch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::PushRows)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::PushAck)
