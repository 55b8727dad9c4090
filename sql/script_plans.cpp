#include "sql/script_plans.hpp"

#include "plan/planning_session.hpp"
#include "sql/sql_context.hpp"

namespace sluice {

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
