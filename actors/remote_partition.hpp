#pragma once

// The coordinator's side of a stateful partition that runs in a worker process.

#include <chrono>
#include <cstdint>

#include "actors/pipeline_actors.hpp"
#include "actors/remote_messages.hpp"
#include "plan/worker_address.hpp"

namespace sluice::actors {

/// Spawns the local stand-in of one stateful partition run by `worker` (at `address`): it asks
/// the worker to host the partition (`request`), then speaks for it: upstream actors, the
/// coordinator and `downstream` see an ordinary stateful partition actor (same messages), while
/// batches cross as wire bytes and the state delta of each epoch comes back for the
/// coordinator's commit. A worker that refuses the partition, dies (CAF down message) or misses
/// heartbeats fails the query with an error naming it. Stops (and stops the remote partition)
/// on stop_atom.
caf::actor spawn_remote_partition(caf::actor_system& system, caf::actor coordinator,
                                  Downstream downstream, WorkerAddress address, caf::actor worker,
                                  HostPartition request, std::string name);

/// Connects to the worker at `address` through the system's io middleman, waiting at most
/// `timeout`: a stopped worker (SIGSTOP, a hung machine) accepts the TCP connection but never
/// answers CAF's handshake, on which the middleman's own remote_actor would wait forever. Fails
/// naming the address. Blocks the calling thread: not for actors. Thread-safe.
Result<caf::actor> connect_worker(caf::actor_system& system, const WorkerAddress& address,
                                  std::chrono::milliseconds timeout);

/// Bytes and batches that crossed between this process and its workers, for benchmarks.
struct RemoteTraffic {
  int64_t bytes_sent = 0;
  int64_t bytes_received = 0;
  int64_t batches_sent = 0;
  int64_t batches_received = 0;
};

/// Returns the totals of every remote partition of this process so far. Thread-safe.
RemoteTraffic remote_traffic();

}  // namespace sluice::actors
