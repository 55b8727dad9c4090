#include "plan/planning_session.hpp"

namespace sluice {

namespace {

// A handle for a query that was planned, not started: never active.
class PlannedQuery final : public QueryHandle {
 public:
  explicit PlannedQuery(std::string name) : name_(std::move(name)) {}
  const std::string& id() const override { return empty_; }
  const std::string& run_id() const override { return empty_; }
  const std::string& name() const override { return name_; }
  bool is_active() const override { return false; }
  Status stop() override { return Status::ok(); }
  bool await_termination(std::optional<std::chrono::milliseconds>) override { return true; }
  Status process_all_available() override { return Status::ok(); }
  std::optional<Status> exception() const override { return std::nullopt; }
  std::optional<StreamingQueryProgress> last_progress() const override { return std::nullopt; }
  std::vector<StreamingQueryProgress> recent_progress() const override { return {}; }
  std::string explain() const override { return {}; }
  std::vector<std::string> warnings() const override { return {}; }

 private:
  std::string name_;
  std::string empty_;
};

}  // namespace

// Keeps the spec of every query the session starts instead of running it.
class PlanningSession::Launcher final : public QueryLauncher {
 public:
  Result<StreamingQuery> launch(QuerySpec spec) override {
    auto handle = std::make_shared<PlannedQuery>(spec.name);
    specs.push_back(std::move(spec));
    return StreamingQuery(std::move(handle));
  }
  std::vector<QuerySpec> specs;
};

PlanningSession::PlanningSession() : launcher_(std::make_unique<Launcher>()) {
  state_->set_launcher(launcher_.get());
}

PlanningSession::~PlanningSession() {
  state_->set_launcher(nullptr);
}

std::vector<QuerySpec> PlanningSession::take_specs() {
  return std::move(launcher_->specs);
}

}  // namespace sluice
