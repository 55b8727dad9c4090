#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "plan/progress.hpp"

namespace sluice {

/// The runtime side of a running query; implemented by the actor runtime. Every method may be
/// called from any thread.
class QueryHandle {
 public:
  virtual ~QueryHandle() = default;
  virtual const std::string& id() const = 0;
  virtual const std::string& run_id() const = 0;
  virtual const std::string& name() const = 0;
  virtual bool is_active() const = 0;
  virtual Status stop() = 0;
  virtual bool await_termination(std::optional<std::chrono::milliseconds> timeout) = 0;
  virtual Status process_all_available() = 0;
  virtual std::optional<Status> exception() const = 0;
  virtual std::optional<StreamingQueryProgress> last_progress() const = 0;
  virtual std::vector<StreamingQueryProgress> recent_progress() const = 0;
  virtual std::string explain() const = 0;
  virtual std::vector<std::string> warnings() const = 0;
};

/// A handle to a started streaming query (Spark's StreamingQuery). Copies refer to the same
/// query. Thread-safe.
class StreamingQuery {
 public:
  explicit StreamingQuery(std::shared_ptr<QueryHandle> handle) : handle_(std::move(handle)) {}

  /// Returns the query id, stable across restarts from the same checkpoint.
  const std::string& id() const { return handle_->id(); }
  /// Returns the id of this run, new at every start.
  const std::string& run_id() const { return handle_->run_id(); }
  const std::string& name() const { return handle_->name(); }
  bool is_active() const { return handle_->is_active(); }
  /// Stops the query: the running epoch is finished or abandoned, never half-committed.
  Status stop() { return handle_->stop(); }
  /// Waits until the query ends; returns false when the timeout passed first.
  bool await_termination(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    return handle_->await_termination(timeout);
  }
  /// Blocks until every row available in the sources when called has been processed and
  /// committed, or the query ended (then returns its error, if any).
  Status process_all_available() { return handle_->process_all_available(); }
  /// Returns the error that stopped the query, if it failed.
  std::optional<Status> exception() const { return handle_->exception(); }
  std::optional<StreamingQueryProgress> last_progress() const { return handle_->last_progress(); }
  std::vector<StreamingQueryProgress> recent_progress() const { return handle_->recent_progress(); }
  /// Returns the query's plans as explain(extended) prints them.
  std::string explain() const { return handle_->explain(); }
  /// Returns what the query warned about at start, e.g. a source that cannot replay (so the
  /// query is at-most-once for it).
  std::vector<std::string> warnings() const { return handle_->warnings(); }

  const std::shared_ptr<QueryHandle>& handle() const { return handle_; }

 private:
  std::shared_ptr<QueryHandle> handle_;
};

/// Hears about the lifecycle of every query of a session. Callbacks run on a runtime thread:
/// keep them short and do not block in them.
class StreamingQueryListener {
 public:
  virtual ~StreamingQueryListener() = default;
  virtual void on_started(const std::string& id, const std::string& run_id, const std::string& name) {
    (void)id, (void)run_id, (void)name;
  }
  virtual void on_progress(const StreamingQueryProgress& progress) { (void)progress; }
  /// Called when a trigger found no new data (no epoch ran).
  virtual void on_idle(const std::string& id, const std::string& run_id) { (void)id, (void)run_id; }
  virtual void on_terminated(const std::string& id, const std::string& run_id,
                             const std::optional<Status>& error) {
    (void)id, (void)run_id, (void)error;
  }
  /// Called when run `run_id` failed with `error` and the query's restart policy restarts it
  /// (restart number `restart`, from 1); on_started follows for the new run. on_terminated
  /// comes only once, when the query ends for good.
  virtual void on_restarting(const std::string& id, const std::string& run_id, int64_t restart,
                             const Status& error) {
    (void)id, (void)run_id, (void)restart, (void)error;
  }
};

/// Lists and watches the queries of a session (Spark's StreamingQueryManager). Thread-safe.
class StreamingQueryManager {
 public:
  std::vector<StreamingQuery> active() const;
  std::optional<StreamingQuery> get(const std::string& id) const;
  /// Waits until any query of the session terminates; false on timeout.
  bool await_any_termination(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  /// Forgets terminated queries so that await_any_termination waits for new ones.
  void reset_terminated();
  void add_listener(std::shared_ptr<StreamingQueryListener> listener);
  void remove_listener(const std::shared_ptr<StreamingQueryListener>& listener);

  // Called by the runtime.
  void query_started(const StreamingQuery& query);
  void query_progress(const StreamingQueryProgress& progress);
  void query_idle(const std::string& id, const std::string& run_id);
  /// Tells listeners run `run_id` failed and restart number `restart` begins.
  void query_restarting(const std::string& id, const std::string& run_id, int64_t restart, const Status& error);
  /// Tells listeners a restarted run began (on_started with the new run id).
  void query_restarted(const std::string& id, const std::string& run_id, const std::string& name);
  void query_terminated(const std::string& id, const std::string& run_id,
                        const std::optional<Status>& error);
  /// Returns the id of an active query with this name, if any (names are unique among
  /// active queries, as in Spark).
  std::optional<std::string> active_with_name(const std::string& name) const;

 private:
  std::vector<std::shared_ptr<StreamingQueryListener>> listeners() const;
  mutable std::mutex mutex_;
  std::condition_variable terminated_cv_;
  std::vector<StreamingQuery> queries_;
  bool any_terminated_ = false;
  std::vector<std::shared_ptr<StreamingQueryListener>> listeners_;
};

}  // namespace sluice
