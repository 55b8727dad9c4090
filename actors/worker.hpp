#pragma once

// A worker process's side of scale-out (`sluice worker`): an actor system with CAF's io
// middleman that publishes one worker actor; a coordinator asks it to run partitions of a
// query's stateful stages (docs/scale-out.md).

#include <functional>
#include <memory>
#include <string>

#include "plan/session_context.hpp"
#include "plan/worker_address.hpp"

namespace sluice::actors {

/// Plans the query a coordinator describes: `definition` (the SQL script that started the
/// query) planned to the query whose plan fingerprint is `plan_fingerprint`. Called from the
/// worker actor's thread, one call at a time.
using PlanResolver = std::function<Result<QuerySpec>(const std::string& definition,
                                                     const std::string& plan_fingerprint)>;

/// A running worker: its own actor system, listening for coordinators until destroyed. Keeps
/// no durable state: a coordinator hands every partition its committed state when it starts
/// it, and commits the partition's changes in its own checkpoint. Thread-safe.
class Worker {
 public:
  /// Starts the actor system and publishes the worker on `listen` (port 0: any free port).
  /// Fails naming the address when it cannot listen there.
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

}  // namespace sluice::actors
