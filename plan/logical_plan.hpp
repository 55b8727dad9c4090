#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "io/source.hpp"
#include "operators/expression.hpp"
#include "operators/flat_map_groups_with_state.hpp"
#include "operators/stream_join.hpp"
#include "plan/aggregation.hpp"
#include "plan/over_window.hpp"

namespace sluice {

/// Describes a streaming source in a plan: what to create at each query start. MemoryStream
/// hands out the same shared source every time; other formats create a fresh one.
struct SourceSpec {
  std::string format;                          ///< "rate", "memory", ...
  std::map<std::string, std::string> options;  ///< as the user gave them
  SchemaPtr schema;                            ///< full schema the source produces
  std::function<Result<std::shared_ptr<Source>>()> create;
  /// True for a static table (session.read()): read whole once per query start, as the
  /// static side of a join; never a stream of its own.
  bool is_static = false;
  /// Reads a static table whole when it has no Source (rows from code, a table sink).
  std::function<Result<RecordBatchPtr>()> read_all;
  /// A static table's `refresh` option: the least time (µs) between checks for new data while
  /// a query runs; nullopt = read once per query start.
  std::optional<int64_t> refresh_micros;
};

enum class PlanKind {
  source,
  filter,
  project,
  union_all,
  watermark,
  aggregate,
  deduplicate,
  sort,
  limit,
  join,
  group_state,
  over
};

/// Prints a node kind's name (for logs and test frameworks).
std::ostream& operator<<(std::ostream& out, PlanKind kind);

class LogicalPlan;
using PlanPtr = std::shared_ptr<const LogicalPlan>;

/// A node of a logical plan: immutable, analyzed on construction (its schema is known and its
/// expressions type-checked), shared between DataFrames. Build nodes with the `make_*` factories.
class LogicalPlan {
 public:
  static PlanPtr make_source(std::shared_ptr<const SourceSpec> source);
  /// Fails when the condition does not type-check against the child or is not BOOLEAN.
  static Result<PlanPtr> make_filter(PlanPtr child, Expr condition);
  /// Fails when an expression does not type-check or two outputs share a name. A from_json /
  /// from_csv item is expanded into one expression per field (see expand_record_columns),
  /// so exprs() may hold more items than given.
  static Result<PlanPtr> make_project(PlanPtr child, std::vector<Expr> exprs);
  /// Fails unless all children have the same number of columns with the same types.
  static Result<PlanPtr> make_union(std::vector<PlanPtr> children);
  /// Declares `column` (TIMESTAMP) the event time, late by at most `delay` ("10 seconds").
  static Result<PlanPtr> make_watermark(PlanPtr child, std::string column, std::string delay);
  /// Groups by keys (expressions, at most one window) and computes aggregates.
  static Result<PlanPtr> make_aggregate(PlanPtr child, std::vector<GroupKey> keys,
                                        std::vector<AggregateCall> aggregates);
  /// Keeps the first row of each distinct value of `columns` (all columns when empty); with
  /// within_watermark, a key is remembered only until the watermark passes its event time
  /// plus the delay.
  static Result<PlanPtr> make_deduplicate(PlanPtr child, std::vector<std::string> columns,
                                          bool within_watermark);
  /// Joins left and right on equal `keys` (columns both sides have), keeping rows per `type`,
  /// with an optional condition over the joined columns. Schema: joined_schema (keys once, then
  /// the other columns of each side) or the left schema for semi and anti joins; fails when a
  /// key is missing on a side, the key types differ or both sides have another column of one
  /// name.
  static Result<PlanPtr> make_join(PlanPtr left, PlanPtr right, std::vector<std::string> keys, JoinType type,
                                   std::optional<Expr> condition);
  /// Calls a user's function per group of `keys` with the group's rows and state
  /// (map_groups_with_state / flat_map_groups_with_state); the node's schema is the spec's output.
  static Result<PlanPtr> make_group_state(PlanPtr child, std::vector<std::string> keys,
                                          std::shared_ptr<const GroupStateSpec> spec);
  /// Computes aggregates over a window per row (OVER ... ROWS): the child's columns, then one
  /// column per call. Fails naming a column the window or a call reads that the child lacks, a
  /// first ORDER BY column that is not a TIMESTAMP, or a function the type does not support.
  /// Records the filters below it that bound the order column (OverWindow::order_bounds).
  static Result<PlanPtr> make_over(PlanPtr child, OverWindow window);
  static Result<PlanPtr> make_sort(PlanPtr child, std::vector<SortKey> keys);
  static Result<PlanPtr> make_limit(PlanPtr child, int64_t limit);

  PlanKind kind() const { return kind_; }
  const std::vector<PlanPtr>& children() const { return children_; }
  const PlanPtr& child() const { return children_.front(); }
  const SchemaPtr& schema() const { return schema_; }
  const Expr& condition() const { return condition_; }
  const std::vector<Expr>& exprs() const { return exprs_; }
  const std::shared_ptr<const SourceSpec>& source() const { return source_; }
  const std::string& watermark_column() const { return watermark_column_; }
  int64_t watermark_delay_micros() const { return watermark_delay_micros_; }
  const std::string& watermark_delay() const { return watermark_delay_; }
  const std::vector<GroupKey>& group_keys() const { return group_keys_; }
  const std::vector<AggregateCall>& aggregates() const { return aggregates_; }
  const std::vector<std::string>& dedup_columns() const { return dedup_columns_; }
  bool within_watermark() const { return within_watermark_; }
  const std::vector<SortKey>& sort_keys() const { return sort_keys_; }
  int64_t limit() const { return limit_; }
  JoinType join_type() const { return join_type_; }
  const std::vector<std::string>& join_keys() const { return join_keys_; }
  const std::optional<Expr>& join_condition() const { return join_condition_; }
  /// For group_state: the grouping columns (in dedup_columns()) and the user's declaration.
  const std::shared_ptr<const GroupStateSpec>& group_state() const { return group_state_; }
  /// For over: the analyzed window and calls.
  const std::shared_ptr<const OverWindow>& over_window() const { return over_window_; }
  /// Returns true for nodes that keep state across epochs (aggregate, deduplicate,
  /// group_state, over, a join of two streams; a stream-static join keeps none).
  bool is_stateful() const {
    if (kind_ == PlanKind::join) return !children_[0]->reads_only_static() && !children_[1]->reads_only_static();
    return kind_ == PlanKind::aggregate || kind_ == PlanKind::deduplicate ||
           kind_ == PlanKind::group_state || kind_ == PlanKind::over;
  }
  /// Returns true when every source under this node is a static table (session.read()).
  bool reads_only_static() const;

  /// Returns the columns an operator reads from its child (for pruning).
  std::vector<std::string> referenced_columns() const;
  /// For a source: the columns the query reads (empty = all), set by column pruning.
  const std::vector<std::string>& required_columns() const { return required_columns_; }

  /// Returns a copy of a source node that produces only `columns`.
  PlanPtr with_required_columns(std::vector<std::string> columns) const;
  /// For a source: filters offered to it (Source::push_filters); they also stay in the plan.
  const std::vector<Expr>& pushed_filters() const { return pushed_filters_; }
  /// Returns a copy of a source node with these filters offered to the source.
  PlanPtr with_pushed_filters(std::vector<Expr> filters) const;
  /// Returns the same node over new children (re-analyzed).
  Result<PlanPtr> with_children(std::vector<PlanPtr> children) const;

  /// Renders the tree the way Spark's explain does ("Project [...]\n+- Filter ...").
  std::string to_string(bool with_types = false) const;
  /// Returns a one-line description of this node alone.
  std::string node_string() const;

 private:
  LogicalPlan() = default;
  void render(std::string& out, const std::string& prefix, bool last, bool root) const;
  PlanKind kind_ = PlanKind::source;
  std::vector<PlanPtr> children_;
  SchemaPtr schema_;
  Expr condition_;
  std::vector<Expr> exprs_;
  std::shared_ptr<const SourceSpec> source_;
  std::vector<std::string> required_columns_;
  std::vector<Expr> pushed_filters_;
  std::string watermark_column_;
  std::string watermark_delay_;
  int64_t watermark_delay_micros_ = 0;
  std::vector<GroupKey> group_keys_;
  std::vector<AggregateCall> aggregates_;
  std::vector<std::string> dedup_columns_;
  bool within_watermark_ = false;
  std::vector<SortKey> sort_keys_;
  int64_t limit_ = -1;
  JoinType join_type_ = JoinType::inner;
  std::vector<std::string> join_keys_;
  std::optional<Expr> join_condition_;
  std::shared_ptr<const GroupStateSpec> group_state_;
  std::shared_ptr<const OverWindow> over_window_;
};

}  // namespace sluice
