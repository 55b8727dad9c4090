#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/schema.hpp"
#include "core/status.hpp"
#include "operators/expression.hpp"
#include "operators/stateful_operator.hpp"

namespace sluice {

/// The kinds of join (Spark's names: inner, left_outer, right_outer, full_outer, left_semi,
/// left_anti).
enum class JoinType { inner, left_outer, right_outer, full_outer, left_semi, left_anti };

/// Returns Spark's name of a join type ("left_outer").
std::string_view join_type_name(JoinType type);

/// Parses a join type the way Spark's `join(other, on, how)` does: inner, left / left_outer /
/// leftouter, right / right_outer, full / outer / full_outer, left_semi / semi, left_anti /
/// anti (case-insensitive); fails naming the accepted names.
Result<JoinType> parse_join_type(std::string_view text);

/// How far apart in event time two rows may be and still match: right.time - left.time lies in
/// [lower, upper] (µs); nullopt = no bound that way.
struct TimeBounds {
  std::optional<int64_t> lower;
  std::optional<int64_t> upper;
};

/// Reads the event-time range a join condition implies between the columns `left_time` and
/// `right_time` (names in the joined schema), from its AND-ed comparisons of the form
/// `a.ts <op> b.ts [+|- interval]` (op one of <, <=, >, >=, =). Other conjuncts add no bound.
TimeBounds time_bounds_of(const Expr& condition, const std::string& left_time,
                          const std::string& right_time);

/// Configures make_stream_join.
struct StreamJoinOptions {
  JoinType type = JoinType::inner;
  /// Equality keys: left_keys[i] = right_keys[i]; the same count and types on both sides.
  std::vector<int> left_keys;
  std::vector<int> right_keys;
  /// Event-time columns (TIMESTAMP) of each side whose rows are dropped when older than the
  /// watermark (late), or -1 for a side without a watermark.
  int left_time = -1;
  int right_time = -1;
  /// The range right.time - left.time of matching rows; with it and the watermark a left row
  /// is evicted once left.time + upper < watermark, a right row once right.time - lower <
  /// watermark. Requires both time columns.
  TimeBounds bounds;
  /// Evaluated over the joined columns of a candidate pair (see joined_schema): only pairs for
  /// which it is TRUE match.
  std::optional<Expr> condition;
  EvalOptions eval;
  /// Memory (bytes) a partition keeps its buffered rows in (the session's stateCacheSize):
  /// past it, the columns of committed segments leave memory after a commit and are read back
  /// from the checkpoint when a probe matches one of their rows.
  int64_t cache_bytes = 256LL << 20;
};

/// Returns the columns a join produces before its type cuts them: the key columns (the left
/// side's names; for rows with no left side the right side's values), the left side's other
/// columns, the right side's other columns. Fails naming a column both sides have and the key
/// pairs whose types differ.
Result<SchemaPtr> joined_schema(const Schema& left, const Schema& right,
                                const std::vector<int>& left_keys,
                                const std::vector<int>& right_keys, JoinType type);

/// A stream-stream join (Spark's symmetric hash join): both inputs are buffered in state keyed
/// by the join key; a row arriving on one side is matched at once against the rows buffered on
/// the other side, so each matching pair is emitted exactly once, by the later of its two rows.
/// Output schema: joined_schema for inner and outer joins, the left schema for left_semi
/// (each left row emitted once, on its first match). Rows are evicted when the watermark
/// proves no future row can match them (see StreamJoinOptions::bounds); an outer side's row
/// that never matched is emitted with nulls for the other side exactly then, and a row whose
/// key is null (it can never match) at once. Rows with an event time below the watermark are
/// late: dropped and counted. Inputs: 0 = left, 1 = right. Append output only.
///
/// State: one segment per buffered input batch of a side and partition, not one entry per row
/// (see join_segment.hpp): an epoch writes the batches it buffered as whole FlatBuffers
/// batches, rewrites a small status part when rows of an older segment leave or match, and
/// deletes a segment once all its rows left. Each partition keeps its rows in memory, loaded at
/// start; past `cache_bytes` the columns of committed segments leave memory (each buffered row
/// keeps its key, event time and flags, about 50 bytes, in memory) and are read back when a
/// probe matches one of their rows. Input rows are joined when their epoch finishes, in
/// arrival order. The operator is immutable and shared; each state is used by one thread.
Result<std::shared_ptr<const StatefulOperator>> make_stream_join(SchemaPtr left, SchemaPtr right,
                                                                 StreamJoinOptions options);

}  // namespace sluice
