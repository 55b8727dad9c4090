#pragma once

// Messages between a coordinator and its worker processes. Unlike actors/messages.hpp (local
// only, batches shared by pointer), these cross the network: every field is a value CAF's
// serializers inspect, batches travel as core/wire FlatBuffers bytes, and the types are
// registered with both sides' actor_system_config (add_remote_message_types).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "operators/stateful_operator.hpp"

namespace sluice {

/// Lets CAF serialize a partition's metrics (found by argument-dependent lookup).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, StateOperatorMetrics& x) {
  return f(caf::meta::type_name("StateOperatorMetrics"), x.num_rows_total, x.num_rows_updated,
           x.num_rows_removed, x.num_rows_dropped_by_watermark, x.memory_used_bytes,
           x.custom_metrics, x.next_processing_timeout);
}

}  // namespace sluice

namespace sluice::actors {

using host_atom = caf::atom_constant<caf::atom("host")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;

/// Coordinator → worker (a request answered with RemoteHosted): run partition `partition` of
/// `num_partitions` of stateful stage `stage` of the query that `definition` (the SQL script)
/// plans to `plan_fingerprint`, starting from `committed_keys`/`committed_values` (the stage's
/// committed state table, read from the coordinator's checkpoint: a worker keeps nothing).
struct HostPartition {
  std::string definition;
  std::string plan_fingerprint;
  int32_t stage = 0;
  int32_t partition = 0;
  int32_t num_partitions = 0;
  int32_t num_senders = 0;
  std::vector<std::string> committed_keys;
  std::vector<std::string> committed_values;
};

/// Worker → coordinator: the partition runs (`error` empty), or why it cannot.
struct RemoteHosted {
  caf::actor host;
  std::string error;
};

/// Rows of one epoch, both ways: input of the remote partition (`input` = the operator input
/// it feeds) and its output. `bytes` is one wire::encode_batch buffer.
struct RemoteBatch {
  int64_t epoch = 0;
  int32_t input = 0;
  std::vector<uint8_t> bytes;
};

/// End of an epoch on the edge, both ways.
struct RemoteBarrier {
  int64_t epoch = 0;
};

/// Worker → coordinator: the remote partition consumed `credits` input batches.
struct RemoteCredit {
  int32_t credits = 0;
};

/// Coordinator → worker: EpochStart for the remote partition.
struct RemoteEpochStart {
  int64_t epoch = 0;
  int64_t watermark = 0;
  int64_t processing_time = 0;
  int32_t output_mode = 0;
};

/// Coordinator → worker: the checkpoint committed `epoch` (phase two of the epoch protocol).
struct RemoteEpochCommitted {
  int64_t epoch = 0;
};

/// Worker → coordinator: the partition finished `epoch` (phase one, prepare): its state delta
/// (`deleted[i]` != 0 deletes keys[i]) and metrics.
struct RemoteStateDone {
  int64_t epoch = 0;
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::vector<uint8_t> deleted;
  StateOperatorMetrics metrics;
};

/// Worker → coordinator: the remote partition failed; the query stops with this error.
struct RemoteFailure {
  int32_t code = 0;
  std::string message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, HostPartition& x) {
  return f(caf::meta::type_name("HostPartition"), x.definition, x.plan_fingerprint, x.stage,
           x.partition, x.num_partitions, x.num_senders, x.committed_keys, x.committed_values);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RemoteHosted& x) {
  return f(caf::meta::type_name("RemoteHosted"), x.host, x.error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RemoteBatch& x) {
  return f(caf::meta::type_name("RemoteBatch"), x.epoch, x.input, x.bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RemoteBarrier& x) {
  return f(caf::meta::type_name("RemoteBarrier"), x.epoch);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RemoteCredit& x) {
  return f(caf::meta::type_name("RemoteCredit"), x.credits);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RemoteEpochStart& x) {
  return f(caf::meta::type_name("RemoteEpochStart"), x.epoch, x.watermark, x.processing_time,
           x.output_mode);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RemoteEpochCommitted& x) {
  return f(caf::meta::type_name("RemoteEpochCommitted"), x.epoch);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RemoteStateDone& x) {
  return f(caf::meta::type_name("RemoteStateDone"), x.epoch, x.keys, x.values, x.deleted,
           x.metrics);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RemoteFailure& x) {
  return f(caf::meta::type_name("RemoteFailure"), x.code, x.message);
}

/// Prepares an actor system config for talking to workers (or being one): loads CAF's io
/// middleman and registers the remote message types. Call before building the actor_system;
/// a host that embeds Sluice calls it on its own config to use option `workers`. Not
/// thread-safe (a config is built on one thread).
caf::actor_system_config& configure_remote(caf::actor_system_config& config);

}  // namespace sluice::actors
