#include "plan/keyed_groups.hpp"

namespace sluice {

KeyValueGroupedData DataFrame::group_by_key(std::vector<std::string> columns) const {
  return KeyValueGroupedData(*this, std::move(columns));
}

DataFrame KeyValueGroupedData::with_group_state(std::shared_ptr<const GroupStateSpec> spec) const {
  return frame_.derive(
      [&](const PlanPtr& plan) { return LogicalPlan::make_group_state(plan, keys_, spec); });
}

}  // namespace sluice
