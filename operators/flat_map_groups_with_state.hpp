#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/record_batch.hpp"
#include "core/status.hpp"
#include "core/value.hpp"
#include "operators/group_state.hpp"
#include "operators/stateful_operator.hpp"

namespace sluice {

/// Calls the user's function for one group: its key values, its rows of this epoch (empty when
/// called for a timeout), its state, and a builder of output rows (the output schema). Returns
/// an error naming what went wrong; the operator adds the group. Built by the typed wrappers of
/// plan/keyed_groups.hpp. Called from one thread at a time.
using GroupFunction =
    std::function<Status(const std::vector<Value>& key, const RecordBatchPtr& rows,
                         GroupStateSlot& state, RecordBatchBuilder& out)>;

/// What the user declared: the function, its output, map or flat_map, the output mode it runs
/// in and its timeout. Immutable once built.
struct GroupStateSpec {
  GroupFunction function;
  SchemaPtr output;
  bool is_map = false;  ///< mapGroupsWithState: exactly one row per call
  OutputMode mode = OutputMode::Update;
  GroupStateTimeout timeout = GroupStateTimeout::none;
  std::string state_type;  ///< names the state type in the fingerprint (a changed type refuses the
                           ///< checkpoint)
};

/// Configures make_flat_map_groups_with_state.
struct GroupsWithStateOptions {
  /// Input column (TIMESTAMP) carrying the watermarked event time, or -1: rows with an event
  /// time below the watermark are late, dropped and counted (as Spark does).
  int event_time_column = -1;
  /// The session's stateCacheSize, which PartitionedOperator hands to load: past it, groups
  /// whose state is committed leave memory (a group with a timer keeps only its timer) and
  /// are read back from the committed state when their key comes again.
  int64_t cache_bytes = 256LL << 20;
};

/// Holds one output row: values in the order of the declared output schema (checked against
/// it, a wrong type names the column).
using OutputRow = std::vector<Value>;

/// Wraps a typed function of map_groups_with_state (is_map: returns one OutputRow) or
/// flat_map_groups_with_state (returns std::vector<OutputRow>), called as
///   fn(const std::vector<Value>& key, const RecordBatchPtr& rows, GroupState<State>& state)
/// into a GroupFunction: decodes and encodes the state with StateCodec<State>, checks each row
/// against the output schema, and turns a GroupStateError or other exception into an error.
template <typename State, bool is_map, typename F>
GroupFunction make_group_function(F fn) {
  using Row = std::conditional_t<is_map, OutputRow, std::vector<OutputRow>>;
  static_assert(
      std::is_invocable_v<F&, const std::vector<Value>&, const RecordBatchPtr&, GroupState<State>&>,
      "the function of map_groups_with_state / flat_map_groups_with_state must be callable as "
      "fn(const std::vector<sluice::Value>& key, const sluice::RecordBatchPtr& rows, "
      "sluice::GroupState<State>& state)");
  if constexpr (std::is_invocable_v<F&, const std::vector<Value>&, const RecordBatchPtr&,
                                    GroupState<State>&>) {
    static_assert(
        std::is_convertible_v<std::invoke_result_t<F&, const std::vector<Value>&,
                                                   const RecordBatchPtr&, GroupState<State>&>,
                              Row>,
        "map_groups_with_state's function must return one row (sluice::OutputRow, a "
        "std::vector<sluice::Value>); flat_map_groups_with_state's must return "
        "std::vector<sluice::OutputRow>");
  }
  return [fn = std::move(fn)](const std::vector<Value>& key, const RecordBatchPtr& rows,
                              GroupStateSlot& slot, RecordBatchBuilder& out) mutable -> Status {
    GroupState<State> state(slot);
    Row result;
    try {
      result = fn(key, rows, state);
      state.store();
    } catch (const std::exception& error) {
      return Status::invalid_argument(error.what());
    }
    if constexpr (is_map) {
      return out.append_row(result);
    } else {
      for (size_t i = 0; i < result.size(); ++i) {
        Status status = out.append_row(result[i]);
        if (!status.is_ok()) return status.with_context("output row " + std::to_string(i));
      }
      return Status::ok();
    }
  };
}

/// Runs the user's function once per group with rows in the epoch (in key order), then once
/// per group whose timeout expired without rows (in deadline order, has_timed_out() true):
/// processing-time deadlines expire when below the epoch's processing time, event-time
/// deadlines when below its watermark. The output is whatever the function emits (the spec's
/// output schema).
///
/// State: one entry per group with state or a timeout, key = the encoded key columns (the
/// routing key), value = format version, deadline (zigzag, or none), then the user's bytes.
/// A partition loads its entries at start and keeps them in memory, with its deadlines in an
/// ordered index, so that expiry never scans the state. metrics() reports the earliest
/// processing-time deadline, for the runtime to run an epoch without data when it is due.
///
/// The operator is immutable and may be shared by all partitions; each state is used by one
/// thread. After a call fails, the runtime recreates the state from the committed state.
Result<std::shared_ptr<const StatefulOperator>> make_flat_map_groups_with_state(
    SchemaPtr input, std::vector<int> key_columns, std::shared_ptr<const GroupStateSpec> spec,
    GroupsWithStateOptions options = {});

}  // namespace sluice
