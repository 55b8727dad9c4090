#include "sql/script_plans.hpp"

#include "sql/sql_context.hpp"

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

// Keeps the spec of every query the script starts instead of running it.
class PlanningLauncher final : public QueryLauncher {
 public:
  Result<StreamingQuery> launch(QuerySpec spec) override {
    auto handle = std::make_shared<PlannedQuery>(spec.name);
    specs.push_back(std::move(spec));
    return StreamingQuery(std::move(handle));
  }
  std::vector<QuerySpec> specs;
};

// A session whose queries are planned only.
class PlanningSession final : public SessionContext {
 public:
  PlanningSession() { state_->set_launcher(&launcher_); }
  ~PlanningSession() { state_->set_launcher(nullptr); }
  std::vector<QuerySpec> take_specs() { return std::move(launcher_.specs); }

 private:
  PlanningLauncher launcher_;
};

}  // namespace

Result<std::vector<QuerySpec>> plan_script_queries(std::string_view script) {
  PlanningSession session;
  SqlContext context(session);
  SLUICE_RETURN_NOT_OK(context.execute(script).status());
  return session.take_specs();
}

Result<QuerySpec> plan_script_query(std::string_view script, std::string_view plan_fingerprint) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<QuerySpec> specs, plan_script_queries(script));
  for (auto& spec : specs) {
    if (spec.plan_fingerprint == plan_fingerprint) return std::move(spec);
  }
  return Status::not_found("none of the script's " + std::to_string(specs.size()) +
                           " queries plans to the coordinator's plan (fingerprint '" +
                           std::string(plan_fingerprint.substr(0, 200)) +
                           "'): the worker runs another Sluice version or script");
}

}  // namespace sluice
