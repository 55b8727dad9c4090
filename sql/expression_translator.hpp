#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "operators/expression.hpp"
#include "plan/aggregation.hpp"
#include "plan/over_window.hpp"
#include "sql/parse_tree.hpp"
#include "sql/source_text.hpp"

namespace sluice {

/// Collects the aggregates of a grouped query while its expressions are translated: each call
/// becomes an aggregate of the query's group_by(...).agg(...) and, in the expression, a
/// reference to that aggregate's output column.
class AggregateCollector {
 public:
  /// Adds (or reuses) an aggregate and returns the column that refers to its result. An
  /// aliased call reuses only an identical aliased one; an unaliased call reuses an identical
  /// unaliased one, or any identical one when `reuse_aliased` (HAVING, ORDER BY).
  Expr add(const AggregateCall& call, Type type, bool reuse_aliased);

  const std::vector<AggregateCall>& calls() const { return calls_; }
  /// Returns the output columns of the aggregates so far (for type checks).
  const std::vector<Field>& fields() const { return fields_; }
  /// Returns true for a column expression made by add().
  bool is_placeholder(const Expr& expr) const { return placeholders_.count(expr.node().get()) > 0; }

 private:
  std::vector<AggregateCall> calls_;
  std::vector<Field> fields_;
  std::set<const void*> placeholders_;
};

/// A column that exists only in a grouped query's output, under the name SQL gives it:
/// window_start of TUMBLE(...) is the aggregate's "window.start".
struct GroupedColumn {
  std::string sql_name;
  std::string column;
  Type type = Type::Timestamp;
};

/// A column of one side of a join, under the name SQL gives it (`b.ts` is qualifier "b",
/// name "ts") and the column that holds it (a name both sides have is renamed to "b.ts").
struct QualifiedColumn {
  std::string qualifier;
  std::string name;
  std::string column;
};

/// What an expression sees: the columns of its input, which names may qualify them, and, in
/// grouped queries, the aggregate collector and the window columns.
struct ExpressionScope {
  SchemaPtr schema;
  /// Relation names a column may be prefixed with (the table name or its alias).
  std::vector<std::string> qualifiers;
  /// Set for a join's output: each side's columns under their qualifiers. A qualified name
  /// then names only that side's column, and a name both sides had must be qualified.
  std::vector<QualifiedColumn> qualified_columns;
  /// The clause, for messages ("WHERE", "GROUP BY").
  std::string clause;
  /// Null where aggregate functions are not allowed.
  AggregateCollector* aggregates = nullptr;
  bool reuse_aliased_aggregates = false;
  /// Columns visible only after grouping (window_start, "window".start, ...).
  std::vector<GroupedColumn> grouped_columns;
  /// Explains why grouped columns are not visible here (set for TUMBLE/HOP without grouping).
  std::string grouped_columns_hint;
};

/// Translates PostgreSQL expression parse trees (from libpg_query) into Sluice expressions:
/// the same Expr a DataFrame user builds with col(), lit(), operators and functions. Type errors
/// and unknown names are reported at their place in the user's text. One translator serves one
/// parsed text; not thread-safe.
class ExpressionTranslator {
 public:
  /// `base` maps the parse tree's locations to offsets in `source` (see ParsedSql).
  ExpressionTranslator(const SourceText& source, int64_t base, bool ansi)
      : source_(source), base_(base), ansi_(ansi) {}

  /// Translates an expression; aggregates are collected when the scope allows them.
  Result<Expr> translate(const ParseNode& node, const ExpressionScope& scope);
  /// Translates an aggregate function call (the node must be one: see is_aggregate_call),
  /// naming its result `alias` when not empty.
  Result<Expr> translate_aggregate(const ParseNode& node, const ExpressionScope& scope,
                                   const std::string& alias);
  /// Returns true for a call of count, sum, avg, min, max, first, last, approx_count_distinct.
  static bool is_aggregate_call(const ParseNode& node);
  /// Returns true for a function call with an OVER clause.
  static bool is_over_call(const ParseNode& node);
  /// Translates `agg(x) OVER (PARTITION BY ... ORDER BY ... ROWS BETWEEN n PRECEDING AND
  /// CURRENT ROW)` (the node must be an OVER call); fails at the clause it does not support:
  /// another function, a named window, DESC or NULLS in ORDER BY, a default, RANGE or GROUPS
  /// frame, FOLLOWING, EXCLUDE.
  Result<OverCall> translate_over(const ParseNode& node, const ExpressionScope& scope);
  /// Makes `translate` return `column` for this OVER call (the column its OVER node computes);
  /// until clear_over_columns.
  void bind_over_column(const ParseNode& node, Expr column) {
    over_columns_[&node.body()] = std::move(column);
  }
  void clear_over_columns() { over_columns_.clear(); }
  /// Returns the lower-case name of a function call (without pg_catalog), or "".
  static std::string function_name(const ParseNode& node);

  /// Reads a constant duration: INTERVAL '10' SECOND, INTERVAL '1 minute' or '10 seconds'.
  /// Returns the duration as Sluice spells it ("10 seconds"): a string constant as written,
  /// an interval in its largest exact unit.
  Result<std::string> duration(const ParseNode& node);
  /// Reads a constant: a literal, possibly negated or cast (the value of 'x'::TIMESTAMP).
  Result<Value> constant(const ParseNode& node);
  /// A column reference resolved: the column in the plan ("window.start") and the name SQL
  /// knows it by ("window_start").
  struct ResolvedColumn {
    std::string column;
    std::string display;
  };
  /// Resolves a column reference (exactly, else ignoring case) to a column of the scope;
  /// fails naming the closest column.
  Result<ResolvedColumn> resolve_column(const ParseNode& column_ref, const ExpressionScope& scope);
  /// Resolves a name against a join's qualified columns; an empty column when they do not
  /// decide it (the plain rules apply then).
  Result<ResolvedColumn> resolve_qualified(const std::vector<std::string>& names, size_t at,
                                           const ExpressionScope& scope);

  /// Returns the offset in the user's text of a node (its location), or `fallback`.
  size_t offset(const ParseNode& node, size_t fallback = 0) const;
  size_t offset_of(int64_t location, size_t fallback = 0) const;
  Status error(const ParseNode& node, StatusCode code, const std::string& message) const;
  const SourceText& source() const { return source_; }

  /// Returns where a column expression made by this translator was written (for errors found
  /// after translation, such as a column missing from GROUP BY).
  std::optional<size_t> column_offset(const Expr& expr) const;

  /// Renders micros as Sluice's duration text in its largest exact unit ("10 seconds").
  static std::string format_duration(int64_t micros);

 private:
  Result<Expr> translate_const(const ParseNode& body);
  Result<Expr> translate_column(const ParseNode& body, const ExpressionScope& scope);
  Result<Expr> translate_a_expr(const ParseNode& body, const ExpressionScope& scope);
  Result<Expr> translate_bool(const ParseNode& body, const ExpressionScope& scope);
  Result<Expr> translate_case(const ParseNode& body, const ExpressionScope& scope);
  Result<Expr> translate_cast(const ParseNode& body, const ExpressionScope& scope);
  Result<Expr> translate_function(const ParseNode& body, const ExpressionScope& scope);
  Status translate_children(const std::vector<const ParseNode*>& nodes,
                            const ExpressionScope& scope, std::vector<Expr>& out);
  Result<int64_t> integer_text(size_t at) const;
  Result<std::string> string_argument(const ParseNode& node, const std::string& what);
  Result<int64_t> integer_argument(const ParseNode& node, const std::string& what);
  Result<int64_t> interval_micros(const ParseNode& type_cast_body);
  /// Type-checks a freshly built node against the scope; a failure points at `at`.
  Result<Expr> checked(Expr expr, const ExpressionScope& scope, size_t at) const;

  const SourceText& source_;
  int64_t base_;
  bool ansi_;
  int aggregate_depth_ = 0;
  std::map<const void*, size_t> column_offsets_;
  std::map<const void*, Expr> over_columns_;
};

}  // namespace sluice
