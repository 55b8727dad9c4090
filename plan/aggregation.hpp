#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "operators/aggregate_function.hpp"
#include "operators/expression.hpp"

namespace sluice {

class OverCall;
class WindowSpec;

/// One aggregate in `agg(...)`: a function over an expression (none for count()), with the
/// output name Spark would give it unless aliased. An immutable value.
class AggregateCall {
 public:
  AggregateCall(AggregateKind kind, std::optional<Expr> argument)
      : kind_(kind), argument_(std::move(argument)) {}
  /// Names the output column.
  AggregateCall alias(std::string name) const {
    AggregateCall copy = *this;
    copy.alias_ = std::move(name);
    return copy;
  }
  /// Returns this aggregate over a window (Spark's Column.over; include plan/over_window.hpp).
  OverCall over(const WindowSpec& window) const;
  AggregateKind kind() const { return kind_; }
  const std::optional<Expr>& argument() const { return argument_; }
  /// Returns the alias, or Spark's default name: count(1), sum(v), count(DISTINCT v), ...
  std::string output_name() const;
  std::string to_string() const;

 private:
  AggregateKind kind_;
  std::optional<Expr> argument_;
  std::string alias_;
};

AggregateCall count();
AggregateCall count(Expr e);
AggregateCall count_distinct(Expr e);
AggregateCall approx_count_distinct(Expr e);
AggregateCall sum(Expr e);
AggregateCall avg(Expr e);
AggregateCall min(Expr e);
AggregateCall max(Expr e);
AggregateCall first(Expr e);
AggregateCall last(Expr e);

/// An event-time window key of group_by: tumbling (slide empty) or sliding, with an optional
/// start offset; durations in Spark's spelling ("10 seconds", "1 minute").
struct TimeWindow {
  Expr time;
  std::string size;
  std::string slide;
  std::string start;
};

/// A session window key of group_by: a session closes after `gap` without events; the gap is
/// fixed (a duration) or computed per row by an expression giving microseconds as BIGINT.
struct SessionWindow {
  Expr time;
  std::string gap;
  std::optional<Expr> gap_expr;
};

/// Groups by event-time windows on a TIMESTAMP column: window(col("ts"), "10 seconds") is
/// tumbling, window(col("ts"), "10 seconds", "2 seconds") sliding. The output gets columns
/// "window.start" and "window.end".
TimeWindow window(Expr time, std::string size, std::string slide = "", std::string start = "");
/// Groups by session windows; the output gets "session_window.start" and "session_window.end".
SessionWindow session_window(Expr time, std::string gap);
SessionWindow session_window(Expr time, Expr gap_micros);

/// One key of group_by: an expression or a window.
using GroupKey = std::variant<Expr, TimeWindow, SessionWindow>;

/// A sort key for order_by (complete mode after an aggregation).
struct SortKey {
  Expr expr;
  bool ascending = true;
};
inline SortKey asc(Expr e) { return {std::move(e), true}; }
inline SortKey desc(Expr e) { return {std::move(e), false}; }

}  // namespace sluice
