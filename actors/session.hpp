#pragma once

#include <memory>

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
  /// Creates a session on the caller's actor system, which must outlive the session.
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

}  // namespace sluice
