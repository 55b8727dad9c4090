#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include <caf/all.hpp>

#include "actors/query_runtime.hpp"

namespace sluice::actors {

/// A query under a restart policy (spec.restart): runs it, and when a run fails, starts a new
/// run from the same checkpoint after the policy's delay, until the policy's attempts are
/// spent; then the query fails with the last error. Listeners hear on_restarting and on_started
/// for every restart and on_terminated once; progress reports count the restarts. While a run
/// goes on without some of its workers (option `workers`), the supervisor probes them; once one
/// answers, it stops the run and starts the next from the last committed epoch, so that the
/// worker gets its partitions back (a planned restart: reported like any restart, with the
/// reason, and not counted against the policy's attempts).
/// Implements the QueryHandle behind StreamingQuery. Thread-safe.
class SupervisedQuery final : public QueryHandle,
                              public std::enable_shared_from_this<SupervisedQuery> {
 public:
  /// Starts the first run; fails as QueryRuntime::start does (a start failure is not retried).
  static Result<std::shared_ptr<SupervisedQuery>> start(caf::actor_system& system, QuerySpec spec,
                                                        std::shared_ptr<SessionState> session);
  /// Stops the restart thread; the query must have terminated (Session stops it first).
  ~SupervisedQuery() override;

  const std::string& id() const override { return id_; }
  const std::string& run_id() const override;
  const std::string& name() const override { return spec_.name; }
  bool is_active() const override;
  Status stop() override;
  bool await_termination(std::optional<std::chrono::milliseconds> timeout) override;
  /// Waits as QueryRuntime does, across restarts: a run's failure that the policy restarts is
  /// not returned, the restarted run is waited for instead.
  Status process_all_available() override;
  std::optional<Status> exception() const override;
  std::optional<StreamingQueryProgress> last_progress() const override;
  std::vector<StreamingQueryProgress> recent_progress() const override;
  std::string explain() const override { return spec_.explain; }
  std::vector<std::string> warnings() const override;

  /// Returns how often the query restarted so far.
  int64_t restarts() const;

 private:
  SupervisedQuery(caf::actor_system& system, QuerySpec spec, std::shared_ptr<SessionState> session);
  Result<std::shared_ptr<QueryRuntime>> start_run();
  bool on_run_end(const std::optional<Status>& error);
  // Probes the current run's absent workers (lock held on entry and exit; released while it
  // connects); stops the run for a planned restart when one answers.
  void probe_absent_workers(std::unique_lock<std::mutex>& lock);
  void supervise();
  void end(std::optional<Status> error);

  caf::actor_system& system_;
  QuerySpec spec_;
  std::shared_ptr<SessionState> session_;
  std::string id_;
  std::string temporary_checkpoint_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::shared_ptr<QueryRuntime> current_;
  std::deque<std::string> run_ids_;             // every run's id; a deque keeps references stable
  std::deque<StreamingQueryProgress> history_;  // reports of earlier runs
  int64_t restarts_ = 0;
  std::optional<Status> restart_for_;  // the failure a restart is due for
  std::optional<Status> rejoin_;       // why the current run is being stopped for a planned restart
  bool restart_planned_ = false;       // restart_for_ is a planned restart
  int64_t planned_restarts_ = 0;       // restarts not counted against the policy's attempts
  bool stopping_ = false;
  bool terminated_ = false;
  std::optional<Status> error_;
  std::thread supervisor_;
};

}  // namespace sluice::actors
