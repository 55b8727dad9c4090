#pragma once

#include <memory>
#include <optional>

#include "plan/dataframe.hpp"

namespace caf {
class actor_system;
class actor_system_config;
}  // namespace caf

namespace sluice {

/// Configures a Session that owns its actor system.
struct SessionOptions {
  /// Threads of CAF's scheduler (`scheduler.max-threads`); 0 = one per core.
  int worker_threads = 0;
  /// Runs the session's actors on one thread in an order drawn from this seed
  /// (actors/seeded_scheduler.hpp): with a manual clock, a run replays exactly from its seed.
  /// worker_threads is then ignored.
  std::optional<uint64_t> scheduler_seed;
};

/// The entry point: reads streams, starts queries and runs them on CAF actors. A Session either
/// owns its actor system or borrows the caller's (so Sluice's actors share the host's
/// scheduler). Destroying a Session stops its queries cleanly. Thread-safe.
class Session : public SessionContext {
 public:
  /// Creates a session with its own actor system (one scheduler thread per core).
  Session();
  /// Creates a session with its own actor system configured by options.
  explicit Session(SessionOptions options);
  /// Creates a session on the caller's actor system, which must outlive the session; prepare
  /// its config with sluice::actors::configure first. The query's actors then share the host's
  /// scheduler.
  explicit Session(caf::actor_system& system);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Returns the actor system queries run on.
  caf::actor_system& system();

 private:
  class Launcher;
  std::unique_ptr<caf::actor_system_config> config_;
  std::unique_ptr<caf::actor_system> owned_system_;
  caf::actor_system* system_ = nullptr;
  std::unique_ptr<Launcher> launcher_;
};

namespace actors {

/// Prepares a host's actor system config for Sluice, before the host builds its actor_system
/// from it: makes sure the scheduler has at least two threads (the actor sink blocks one while
/// the host acknowledges an epoch). Sluice's messages need no registration: they carry shared
/// batches between local actors only (CAF_ALLOW_UNSAFE_MESSAGE_TYPE), so the host's own types
/// and settings stay as they are; only queries with option workers need more (call
/// configure_remote from actors/remote_messages.hpp too). A Session that owns its actor system
/// does both. Not thread-safe (a config is built on one thread).
caf::actor_system_config& configure(caf::actor_system_config& config);

}  // namespace actors
}  // namespace sluice
