#include "plan/streaming_query.hpp"

#include <algorithm>

namespace sluice {

std::vector<StreamingQuery> StreamingQueryManager::active() const {
  std::lock_guard lock(mutex_);
  std::vector<StreamingQuery> result;
  for (const auto& query : queries_) {
    if (query.is_active()) result.push_back(query);
  }
  return result;
}

std::optional<StreamingQuery> StreamingQueryManager::get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  for (const auto& query : queries_) {
    if (query.id() == id && query.is_active()) return query;
  }
  return std::nullopt;
}

std::optional<std::string> StreamingQueryManager::active_with_name(const std::string& name) const {
  std::lock_guard lock(mutex_);
  for (const auto& query : queries_) {
    if (!name.empty() && query.name() == name && query.is_active()) return query.id();
  }
  return std::nullopt;
}

bool StreamingQueryManager::await_any_termination(std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(mutex_);
  if (!timeout) {
    terminated_cv_.wait(lock, [&] { return any_terminated_; });
    return true;
  }
  return terminated_cv_.wait_for(lock, *timeout, [&] { return any_terminated_; });
}

void StreamingQueryManager::reset_terminated() {
  std::lock_guard lock(mutex_);
  any_terminated_ = false;
}

void StreamingQueryManager::add_listener(std::shared_ptr<StreamingQueryListener> listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

void StreamingQueryManager::remove_listener(const std::shared_ptr<StreamingQueryListener>& listener) {
  std::lock_guard lock(mutex_);
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), listener), listeners_.end());
}

std::vector<std::shared_ptr<StreamingQueryListener>> StreamingQueryManager::listeners() const {
  std::lock_guard lock(mutex_);
  return listeners_;
}

void StreamingQueryManager::query_started(const StreamingQuery& query) {
  {
    std::lock_guard lock(mutex_);
    // Keep only live handles plus the new one; terminated queries drop out of `active`.
    queries_.erase(std::remove_if(queries_.begin(), queries_.end(),
                                  [](const StreamingQuery& q) { return !q.is_active(); }),
                   queries_.end());
    queries_.push_back(query);
  }
  for (const auto& listener : listeners()) listener->on_started(query.id(), query.run_id(), query.name());
}

void StreamingQueryManager::query_progress(const StreamingQueryProgress& progress) {
  for (const auto& listener : listeners()) listener->on_progress(progress);
}

void StreamingQueryManager::query_idle(const std::string& id, const std::string& run_id) {
  for (const auto& listener : listeners()) listener->on_idle(id, run_id);
}

void StreamingQueryManager::query_restarting(const std::string& id, const std::string& run_id, int64_t restart,
                                             const Status& error) {
  for (const auto& listener : listeners()) listener->on_restarting(id, run_id, restart, error);
}

void StreamingQueryManager::query_restarted(const std::string& id, const std::string& run_id,
                                            const std::string& name) {
  for (const auto& listener : listeners()) listener->on_started(id, run_id, name);
}

void StreamingQueryManager::query_terminated(const std::string& id, const std::string& run_id,
                                             const std::optional<Status>& error) {
  for (const auto& listener : listeners()) listener->on_terminated(id, run_id, error);
  {
    std::lock_guard lock(mutex_);
    any_terminated_ = true;
    // Forget the run: its handle refers back to the session, and keeping it would make a
    // reference cycle that outlives the session.
    queries_.erase(std::remove_if(queries_.begin(), queries_.end(),
                                  [&](const StreamingQuery& q) { return q.run_id() == run_id; }),
                   queries_.end());
  }
  terminated_cv_.notify_all();
}

}  // namespace sluice
