#include "actors/supervised_query.hpp"

#include <filesystem>

#include "actors/remote_partition.hpp"

namespace sluice::actors {

namespace {

// How often the supervisor tries to reach a run's absent workers, and how long each try waits.
constexpr auto kProbeInterval = std::chrono::milliseconds(1000);
constexpr auto kProbeTimeout = std::chrono::milliseconds(2000);

}  // namespace

SupervisedQuery::SupervisedQuery(caf::actor_system& system, QuerySpec spec,
                                 std::shared_ptr<SessionState> session)
    : system_(system), spec_(std::move(spec)), session_(std::move(session)) {}

Result<std::shared_ptr<SupervisedQuery>> SupervisedQuery::start(
    caf::actor_system& system, QuerySpec spec, std::shared_ptr<SessionState> session) {
  std::shared_ptr<SupervisedQuery> query(
      new SupervisedQuery(system, std::move(spec), std::move(session)));
  if (query->spec_.checkpoint_location.empty()) {
    // Every run must resume from the same checkpoint, so the temporary one outlives the runs.
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sluice-checkpoint-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::io_error("cannot create a temporary checkpoint directory under " +
                              std::filesystem::temp_directory_path().string());
    }
    query->temporary_checkpoint_ = pattern;
    query->spec_.checkpoint_location = pattern;
  }
  SLUICE_ASSIGN_OR_RETURN(auto runtime, query->start_run());
  {
    std::lock_guard lock(query->mutex_);
    query->id_ = runtime->id();
    if (!query->current_) query->current_ = runtime;
  }
  query->supervisor_ = std::thread([raw = query.get()] { raw->supervise(); });
  return query;
}

SupervisedQuery::~SupervisedQuery() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (supervisor_.joinable()) {
    if (supervisor_.get_id() == std::this_thread::get_id()) {
      supervisor_.detach();
    } else {
      supervisor_.join();
    }
  }
  if (current_ && current_->is_active()) (void)current_->stop();
  if (!temporary_checkpoint_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(temporary_checkpoint_, ignored);
  }
}

Result<std::shared_ptr<QueryRuntime>> SupervisedQuery::start_run() {
  RunOptions run;
  {
    std::lock_guard lock(mutex_);
    run.restarts = restarts_;
  }
  std::weak_ptr<SupervisedQuery> weak = weak_from_this();
  run.on_end = [weak](const std::optional<Status>& error) {
    auto self = weak.lock();
    return self ? self->on_run_end(error) : false;
  };
  SLUICE_ASSIGN_OR_RETURN(auto runtime,
                          QueryRuntime::start(system_, spec_, session_, std::move(run)));
  std::lock_guard lock(mutex_);
  run_ids_.push_back(runtime->run_id());
  return runtime;
}

bool SupervisedQuery::on_run_end(const std::optional<Status>& error) {
  std::unique_lock lock(mutex_);
  if (rejoin_ && !stopping_) {
    restart_for_ = *rejoin_;
    restart_planned_ = true;
    rejoin_.reset();
    lock.unlock();
    changed_.notify_all();
    return true;
  }
  if (error && !stopping_ && restarts_ - planned_restarts_ < spec_.restart.attempts &&
      spec_.restart.strategy != RestartPolicy::Strategy::none) {
    restart_for_ = *error;
    lock.unlock();
    changed_.notify_all();
    return true;
  }
  terminated_ = true;
  error_ = error;
  lock.unlock();
  changed_.notify_all();
  return false;
}

void SupervisedQuery::end(std::optional<Status> error) {
  std::string run_id;
  {
    std::lock_guard lock(mutex_);
    terminated_ = true;
    error_ = error;
    run_id = run_ids_.back();
  }
  changed_.notify_all();
  session_->streams().query_terminated(id_, run_id, error);
}

// Runs on the supervisor thread: waits for a failed run, then restarts after the policy's delay.
void SupervisedQuery::supervise() {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto due = [&] { return stopping_ || terminated_ || restart_for_; };
    if (current_ && !current_->absent_workers().empty() && !rejoin_) {
      if (!changed_.wait_for(lock, kProbeInterval, due)) {
        probe_absent_workers(lock);
        continue;
      }
    } else {
      changed_.wait(lock, due);
    }
    if (terminated_ || (stopping_ && !restart_for_)) return;
    const Status failure = *restart_for_;
    const bool planned = restart_planned_;
    restart_planned_ = false;
    const int64_t restart = restarts_ + 1;
    const std::string failed_run = run_ids_.back();
    if (current_) {
      for (auto& progress : current_->recent_progress())
        history_.push_back(std::move(progress));
      while (history_.size() > 100)
        history_.pop_front();
    }
    lock.unlock();
    session_->streams().query_restarting(id_, failed_run, restart, failure);
    lock.lock();
    const bool stopped =
        changed_.wait_for(lock, spec_.restart.delay_before(restart), [&] { return stopping_; });
    restart_for_.reset();
    if (stopped) {
      lock.unlock();
      end(std::nullopt);
      return;
    }
    restarts_ = restart;
    if (planned) ++planned_restarts_;
    lock.unlock();
    auto runtime = start_run();
    lock.lock();
    if (!runtime.ok()) {
      // A run that cannot even start counts as a failed attempt.
      const Status error = runtime.status().with_context("restart " + std::to_string(restart));
      if (restarts_ - planned_restarts_ < spec_.restart.attempts && !stopping_) {
        restart_for_ = error;
        continue;
      }
      lock.unlock();
      end(error);
      return;
    }
    current_ = *runtime;
    const std::string run_id = (*runtime)->run_id();
    if (stopping_) {
      // stop() came while the run started: it saw the old run, so stop this one here.
      lock.unlock();
      (void)(*runtime)->stop();
      lock.lock();
      continue;
    }
    lock.unlock();
    changed_.notify_all();
    session_->streams().query_restarted(id_, run_id, spec_.name);
    lock.lock();
  }
}

void SupervisedQuery::probe_absent_workers(std::unique_lock<std::mutex>& lock) {
  std::shared_ptr<QueryRuntime> runtime = current_;
  lock.unlock();
  std::optional<WorkerAddress> back;
  for (const auto& address : runtime->absent_workers()) {
    if (connect_worker(system_, address, kProbeTimeout).ok()) {
      back = address;
      break;
    }
  }
  lock.lock();
  if (!back || current_ != runtime || stopping_ || terminated_ || restart_for_) return;
  rejoin_ = Status::aborted("worker " + back->to_string() +
                            " (option workers) answers again: the query restarts from its last "
                            "committed epoch to give it its partitions back");
  lock.unlock();
  (void)runtime->stop();
  lock.lock();
}

const std::string& SupervisedQuery::run_id() const {
  std::lock_guard lock(mutex_);
  return run_ids_.back();
}

bool SupervisedQuery::is_active() const {
  std::lock_guard lock(mutex_);
  return !terminated_;
}

Status SupervisedQuery::stop() {
  std::shared_ptr<QueryRuntime> runtime;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    runtime = current_;
  }
  changed_.notify_all();
  if (runtime) (void)runtime->stop();
  await_termination(std::nullopt);
  return Status::ok();
}

bool SupervisedQuery::await_termination(std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(mutex_);
  if (!timeout) {
    changed_.wait(lock, [&] { return terminated_; });
    return true;
  }
  return changed_.wait_for(lock, *timeout, [&] { return terminated_; });
}

Status SupervisedQuery::process_all_available() {
  for (;;) {
    std::shared_ptr<QueryRuntime> runtime;
    {
      std::lock_guard lock(mutex_);
      if (terminated_) return error_ ? *error_ : Status::ok();
      runtime = current_;
    }
    Status status = runtime->process_all_available();
    std::unique_lock lock(mutex_);
    // A run that failed is restarted (or the query ends): wait for either, then go on.
    if (!status.is_ok() || runtime->exception()) {
      changed_.wait(lock, [&] { return terminated_ || current_ != runtime; });
      continue;
    }
    if (!runtime->is_active() && !terminated_) {
      changed_.wait(lock, [&] { return terminated_ || current_ != runtime; });
      continue;
    }
    return status;
  }
}

std::optional<Status> SupervisedQuery::exception() const {
  std::lock_guard lock(mutex_);
  return error_;
}

std::optional<StreamingQueryProgress> SupervisedQuery::last_progress() const {
  auto all = recent_progress();
  if (all.empty()) return std::nullopt;
  return all.back();
}

std::vector<StreamingQueryProgress> SupervisedQuery::recent_progress() const {
  std::shared_ptr<QueryRuntime> runtime;
  std::vector<StreamingQueryProgress> all;
  {
    std::lock_guard lock(mutex_);
    all.assign(history_.begin(), history_.end());
    runtime = current_;
  }
  if (runtime) {
    for (auto& progress : runtime->recent_progress())
      all.push_back(std::move(progress));
  }
  if (all.size() > 100) all.erase(all.begin(), all.end() - 100);
  return all;
}

std::vector<std::string> SupervisedQuery::warnings() const {
  std::lock_guard lock(mutex_);
  return current_ ? current_->warnings() : std::vector<std::string>{};
}

int64_t SupervisedQuery::restarts() const {
  std::lock_guard lock(mutex_);
  return restarts_;
}

}  // namespace sluice::actors
