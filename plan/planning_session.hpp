#pragma once

// A session whose queries are planned, never run: what a worker process builds a query with
// to run the same operators as the coordinator that started it (docs/scale-out.md).

#include <vector>

#include "plan/session_context.hpp"

namespace sluice {

/// A session whose `start()` calls plan the query and keep its QuerySpec instead of running it:
/// no source is opened, no sink attached, nothing starts. Not thread-safe (one planner at a
/// time).
class PlanningSession final : public SessionContext {
 public:
  PlanningSession();
  ~PlanningSession();
  PlanningSession(const PlanningSession&) = delete;
  PlanningSession& operator=(const PlanningSession&) = delete;

  /// Returns the plans of every query started on this session so far, in order, and forgets
  /// them.
  std::vector<QuerySpec> take_specs();

 private:
  class Launcher;
  std::unique_ptr<Launcher> launcher_;
};

}  // namespace sluice
