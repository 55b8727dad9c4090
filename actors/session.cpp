#include "actors/session.hpp"

#include <caf/all.hpp>

#include <algorithm>

#include "actors/query_runtime.hpp"
#include "actors/seeded_scheduler.hpp"
#include "actors/remote_messages.hpp"
#include "actors/supervised_query.hpp"

namespace sluice {

class Session::Launcher final : public QueryLauncher {
 public:
  Launcher(caf::actor_system& system, std::shared_ptr<SessionState> session)
      : system_(system), session_(std::move(session)) {}

  Result<StreamingQuery> launch(QuerySpec spec) override {
    std::lock_guard lock(mutex_);
    if (spec.restart.restarts()) {
      SLUICE_ASSIGN_OR_RETURN(auto supervised, actors::SupervisedQuery::start(system_, std::move(spec), session_));
      StreamingQuery query(supervised);
      std::erase_if(supervised_, [](const auto& q) { return !q->is_active(); });
      supervised_.push_back(supervised);
      session_->streams().query_started(query);
      return query;
    }
    SLUICE_ASSIGN_OR_RETURN(auto runtime, actors::QueryRuntime::start(system_, std::move(spec), session_));
    StreamingQuery query(runtime);
    runtimes_.erase(std::remove_if(runtimes_.begin(), runtimes_.end(),
                                   [](const auto& r) { return !r->is_active(); }),
                    runtimes_.end());
    runtimes_.push_back(runtime);
    session_->streams().query_started(query);
    return query;
  }

  void stop_all() {
    std::vector<std::shared_ptr<actors::QueryRuntime>> runtimes;
    std::vector<std::shared_ptr<actors::SupervisedQuery>> supervised;
    {
      std::lock_guard lock(mutex_);
      runtimes.swap(runtimes_);
      supervised.swap(supervised_);
    }
    for (auto& query : supervised) {
      if (query->is_active()) (void)query->stop();
    }
    for (auto& runtime : runtimes) {
      if (runtime->is_active()) (void)runtime->stop();
    }
  }

 private:
  caf::actor_system& system_;
  std::shared_ptr<SessionState> session_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<actors::QueryRuntime>> runtimes_;
  std::vector<std::shared_ptr<actors::SupervisedQuery>> supervised_;
};

Session::Session() : Session(SessionOptions{}) {}

Session::Session(SessionOptions options) : config_(std::make_unique<caf::actor_system_config>()) {
  if (options.scheduler_seed) {
    actors::use_seeded_scheduler(*config_, *options.scheduler_seed);
  } else if (options.worker_threads > 0) {
    config_->set("scheduler.max-threads", static_cast<size_t>(options.worker_threads));
  }
  // Option workers reaches other processes through the io middleman; idle otherwise.
  actors::configure_remote(*config_);
  // CAF 0.17 reads no configuration file unless asked; keep its logger and console quiet.
  owned_system_ = std::make_unique<caf::actor_system>(*config_);
  system_ = owned_system_.get();
  launcher_ = std::make_unique<Launcher>(*system_, state_);
  state_->set_launcher(launcher_.get());
}

Session::Session(caf::actor_system& system) : system_(&system) {
  launcher_ = std::make_unique<Launcher>(*system_, state_);
  state_->set_launcher(launcher_.get());
}

Session::~Session() {
  launcher_->stop_all();
  state_->set_launcher(nullptr);
}

caf::actor_system& Session::system() {
  return *system_;
}

namespace actors {

caf::actor_system_config& configure(caf::actor_system_config& config) {
  // The actor sink blocks its thread while the host acknowledges an epoch; the coordinator and
  // the host's receiver must still run meanwhile.
  const auto threads = caf::get_or(config, "scheduler.max-threads", caf::defaults::scheduler::max_threads);
  if (threads < 2) config.set("scheduler.max-threads", size_t{2});
  return config;
}

}  // namespace actors
}  // namespace sluice
