#pragma once

#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "operators/flat_map_groups_with_state.hpp"
#include "plan/dataframe.hpp"

namespace sluice {

/// The result of group_by_key, waiting for the function that keeps each group's state (Spark's
/// KeyValueGroupedDataset). The function is called as
///   fn(const std::vector<Value>& key, const RecordBatchPtr& rows, GroupState<State>& state)
/// once per key with rows in an epoch, and once per expired timeout without rows; it runs on
/// the partition's actor thread, one call at a time per partition (it must not share mutable
/// data with other calls without a lock). State is any type with a StateCodec<State>.
class KeyValueGroupedData {
 public:
  KeyValueGroupedData(DataFrame frame, std::vector<std::string> keys)
      : frame_(std::move(frame)), keys_(std::move(keys)) {}

  /// Emits exactly one row per call (an OutputRow in the order of `output`); the query must run
  /// in Update mode (Spark's mapGroupsWithState).
  template <typename State, typename F>
  DataFrame map_groups_with_state(F fn, SchemaPtr output, OutputMode mode = OutputMode::Update,
                                  GroupStateTimeout timeout = GroupStateTimeout::none) const {
    return with_group_state(spec<State>(make_group_function<State, true>(std::move(fn)),
                                        std::move(output), true, mode, timeout));
  }

  /// Emits any number of rows per call (std::vector<OutputRow>); `mode` (Append or Update) must
  /// be the query's output mode (Spark's flatMapGroupsWithState).
  template <typename State, typename F>
  DataFrame flat_map_groups_with_state(F fn, SchemaPtr output, OutputMode mode,
                                       GroupStateTimeout timeout = GroupStateTimeout::none) const {
    return with_group_state(spec<State>(make_group_function<State, false>(std::move(fn)),
                                        std::move(output), false, mode, timeout));
  }

  /// Adds a group-state node from an untyped declaration (what the templates build).
  DataFrame with_group_state(std::shared_ptr<const GroupStateSpec> spec) const;

 private:
  template <typename State>
  static std::shared_ptr<const GroupStateSpec> spec(GroupFunction function, SchemaPtr output,
                                                    bool is_map, OutputMode mode,
                                                    GroupStateTimeout timeout) {
    auto spec = std::make_shared<GroupStateSpec>();
    spec->function = std::move(function);
    spec->output = std::move(output);
    spec->is_map = is_map;
    spec->mode = mode;
    spec->timeout = timeout;
    // The type's name and size guard a checkpoint against a changed state type.
    spec->state_type = std::string(typeid(State).name()) + "/" + std::to_string(sizeof(State));
    return spec;
  }

  DataFrame frame_;
  std::vector<std::string> keys_;
};

}  // namespace sluice
