#pragma once

// OVER aggregations of a DataFrame (Spark's Window / WindowSpec and Column.over): the window a
// user declares, the call that names it, and the analyzed form a plan node keeps.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "operators/aggregate_function.hpp"
#include "operators/expression.hpp"
#include "plan/aggregation.hpp"

namespace sluice {

/// Describes the window of an OVER aggregate (Spark's WindowSpec): partition columns, the
/// order (the event-time column first, then tie-breakers) and a ROWS frame. An immutable value.
class WindowSpec {
 public:
  /// Returns a copy partitioned by these columns.
  WindowSpec partition_by(std::vector<Expr> columns) const;
  template <typename... Args>
  WindowSpec partition_by(Args&&... columns) const {
    return partition_by(std::vector<Expr>{to_expr(std::forward<Args>(columns))...});
  }
  /// Returns a copy ordered by these columns (ascending).
  WindowSpec order_by(std::vector<Expr> columns) const;
  template <typename... Args>
  WindowSpec order_by(Args&&... columns) const {
    return order_by(std::vector<Expr>{to_expr(std::forward<Args>(columns))...});
  }
  /// Returns a copy with the frame ROWS BETWEEN start AND end, offsets relative to the current
  /// row as in Spark (-10 = 10 PRECEDING, 0 = CURRENT ROW, Window::unbounded_preceding).
  WindowSpec rows_between(int64_t start, int64_t end) const;

  const std::vector<Expr>& partition_columns() const { return partition_; }
  const std::vector<Expr>& order_columns() const { return order_; }
  /// Returns the frame, or nullopt when rows_between was not called.
  const std::optional<std::pair<int64_t, int64_t>>& frame() const { return frame_; }
  /// Renders the window as SQL: "PARTITION BY k ORDER BY ts ROWS BETWEEN 10 PRECEDING AND
  /// CURRENT ROW".
  std::string to_string() const;

 private:
  static Expr to_expr(const Expr& expr) { return expr; }
  static Expr to_expr(const std::string& name) { return col(name); }
  static Expr to_expr(const char* name) { return col(name); }
  std::vector<Expr> partition_;
  std::vector<Expr> order_;
  std::optional<std::pair<int64_t, int64_t>> frame_;
};

/// Starts window specifications (Spark's Window).
struct Window {
  static constexpr int64_t unbounded_preceding = std::numeric_limits<int64_t>::min();
  static constexpr int64_t unbounded_following = std::numeric_limits<int64_t>::max();
  static constexpr int64_t current_row = 0;
  template <typename... Args>
  static WindowSpec partition_by(Args&&... columns) {
    return WindowSpec().partition_by(std::forward<Args>(columns)...);
  }
  template <typename... Args>
  static WindowSpec order_by(Args&&... columns) {
    return WindowSpec().order_by(std::forward<Args>(columns)...);
  }
};

/// An aggregate over a window, `avg(col("price")).over(window)`, usable in DataFrame::select
/// and with_column. An immutable value.
class OverCall {
 public:
  OverCall(AggregateCall call, WindowSpec window)
      : call_(std::move(call)), window_(std::move(window)) {}
  /// Names the output column.
  OverCall alias(std::string name) const {
    OverCall copy = *this;
    copy.alias_ = std::move(name);
    return copy;
  }
  const AggregateCall& call() const { return call_; }
  const WindowSpec& window() const { return window_; }
  /// Returns the alias, or "avg(price) OVER (PARTITION BY ...)".
  std::string output_name() const;

 private:
  AggregateCall call_;
  WindowSpec window_;
  std::string alias_;
};

/// The analyzed OVER of a plan node: column names of its input, one frame, the calls and their
/// output columns. Built by make_over_window; immutable.
struct OverWindow {
  static constexpr int64_t kUnboundedPreceding = -1;
  struct Call {
    AggregateKind kind = AggregateKind::count_all;
    std::optional<std::string> argument;  ///< nullopt for count(*)
    std::string output_name;
  };
  std::vector<std::string> partition_by;
  std::vector<std::string> order_by;
  int64_t preceding = kUnboundedPreceding;  ///< rows before the current one, or unbounded
  std::vector<Call> calls;
  /// Filters found under the node on its input's columns: a conjunct `order >= time - interval`
  /// lets the first order column trail the event time (see plan_over in the planner).
  std::vector<Expr> order_bounds;
  /// Renders the window ("PARTITION BY k ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW").
  std::string text;
};

/// Analyzes calls over one window (all `calls` must share it) into an OverWindow whose outputs
/// are named `output_names`; fails naming the clause it does not support: an expression that
/// is not a column in PARTITION BY, ORDER BY or an argument, a missing ORDER BY or frame, a
/// FOLLOWING bound, or a function other than count, sum, avg, min, max.
Result<OverWindow> make_over_window(const WindowSpec& window,
                                    const std::vector<AggregateCall>& calls,
                                    const std::vector<std::string>& output_names);

}  // namespace sluice
