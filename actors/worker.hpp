#pragma once

// A worker process's side of scale-out (`sluice worker`): an actor system with CAF's io
// middleman that publishes one worker actor; a coordinator asks it to run partitions of a
// query's stateful stages (docs/scale-out.md).

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "plan/session_context.hpp"
#include "plan/worker_address.hpp"

namespace sluice::actors {

/// Plans the query a coordinator describes: `definition` (the SQL script that started the
/// query) planned to the query whose plan fingerprint is `plan_fingerprint`. Called from the
/// worker actor's thread, one call at a time. Pipelines registered by name
/// (plan/pipeline_registry.hpp) are planned by the worker itself; the resolver plans the rest.
using PlanResolver = std::function<Result<QuerySpec>(const std::string& definition,
                                                     const std::string& plan_fingerprint)>;

/// A running worker: its own actor system, listening for coordinators until destroyed. Keeps
/// no durable state: a coordinator hands every partition its committed state when it starts
/// it, and commits the partition's changes in its own checkpoint. Thread-safe.
class Worker {
 public:
  /// Starts the actor system and publishes the worker on `listen` (port 0: any free port).
  /// Fails naming the address when it cannot listen there. `resolver` may be empty: the worker
  /// then runs registered pipelines only and refuses SQL queries by name.
  static Result<std::unique_ptr<Worker>> start(const WorkerAddress& listen, PlanResolver resolver);
  /// Stops the partitions it runs and the actor system.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Returns the address coordinators reach it at: the listen host and the bound port.
  const WorkerAddress& address() const;

 private:
  struct Impl;
  explicit Worker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Runs a worker on `listen` until SIGINT or SIGTERM: prints the bound address as the first
/// line on stdout, then serves coordinators. Returns the process's exit code (0 after a stop
/// signal, 1 when it cannot listen). Blocks SIGINT and SIGTERM for the calling thread and the
/// threads it starts: call it from main() before other threads exist. `program` names the
/// binary in messages.
int serve_worker(const WorkerAddress& listen, PlanResolver resolver, const std::string& program);

}  // namespace sluice::actors

namespace sluice {

/// Runs this program as a Sluice worker when its command line is `PROGRAM --sluice-worker
/// HOST:PORT` (port 0: any free port, printed first on stdout) and returns its exit code once
/// stopped (SIGINT, SIGTERM); returns nothing otherwise, so main() goes on as usual. The worker
/// runs the partitions of pipelines this program registered (register_pipeline); call it at the
/// start of main(), after registering them and before starting threads:
///   if (auto code = sluice::run_worker_if_requested(argc, argv)) return *code;
std::optional<int> run_worker_if_requested(int argc, char** argv);

}  // namespace sluice
