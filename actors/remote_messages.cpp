#include "actors/remote_messages.hpp"

#include <caf/io/all.hpp>

namespace sluice::actors {

caf::actor_system_config& configure_remote(caf::actor_system_config& config) {
  config.load<caf::io::middleman>();
  config.add_message_type<HostPartition>("sluice.HostPartition");
  config.add_message_type<RemoteHosted>("sluice.RemoteHosted");
  config.add_message_type<RemoteBatch>("sluice.RemoteBatch");
  config.add_message_type<RemoteBarrier>("sluice.RemoteBarrier");
  config.add_message_type<RemoteCredit>("sluice.RemoteCredit");
  config.add_message_type<RemoteEpochStart>("sluice.RemoteEpochStart");
  config.add_message_type<RemoteEpochCommitted>("sluice.RemoteEpochCommitted");
  config.add_message_type<RemoteStateDone>("sluice.RemoteStateDone");
  config.add_message_type<RemoteFailure>("sluice.RemoteFailure");
  return config;
}

}  // namespace sluice::actors
