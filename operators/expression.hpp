#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/column.hpp"
#include "core/record_batch.hpp"
#include "core/schema.hpp"
#include "core/status.hpp"
#include "core/type.hpp"
#include "core/value.hpp"

namespace sluice {

/// Names the shape of an expression node.
enum class ExprKind {
  column,
  literal,
  unary,
  binary,
  function,
  case_when,
  cast,
  alias,
  in_list,
  udf
};

struct ExprNode;
struct UserFunctionDefinition;

/// Describes an unresolved scalar expression: a tree of columns, literals, operators and
/// functions, with Spark SQL semantics (non-ANSI unless EvalOptions::ansi). An immutable value
/// type sharing its nodes: cheap to copy, safe to share between threads. Bind it to a schema
/// (`bind`) to type-check it and evaluate it over batches.
///
/// Parameters of functions (a LIKE pattern, a substring position, a date_trunc unit, the values
/// of IN) are literal children, so rewrites through `with_children` keep them.
class Expr {
 public:
  /// Builds a NULL literal without a type; it takes the type its context needs at bind time.
  Expr();

  /// Returns the shape of the node.
  ExprKind kind() const;
  /// Returns the operands, arguments or (for CASE) cond1, value1, cond2, value2, ..., [else].
  const std::vector<Expr>& children() const;
  /// Returns the column name (kind column); empty otherwise.
  const std::string& column_name() const;
  /// Returns the literal value (kind literal); a null Value otherwise.
  const Value& literal() const;
  /// Returns the type of a literal: its value's type, the type given to lit_null, BIGINT for an
  /// interval (microseconds); nullopt for an untyped NULL.
  std::optional<Type> literal_type() const;
  /// Returns true for a literal made by `interval`.
  bool is_interval() const;
  /// Returns the operator symbol ("+", "=", "and", "not", "is_null"), function name ("lower"),
  /// "cast" or "strict_cast", "case", "in", "alias", or the user function's name.
  const std::string& function_name() const;
  /// Returns the target type of a cast (kind cast).
  Type cast_type() const;
  /// Returns the alias name (kind alias); empty otherwise.
  const std::string& alias_name() const;
  /// Returns true when a CASE has an ELSE branch (its last child).
  bool has_else() const;

  /// Renders the expression the way Spark names columns: "((value % 2) = 0)", "lower(name)",
  /// "CAST(a AS DOUBLE)". String literals are quoted ('x') so the text is unambiguous.
  std::string to_string() const;
  /// Returns the alias if aliased, the name of a column, else to_string().
  std::string output_name() const;

  /// Names the result (the output column name).
  Expr alias(std::string name) const;
  /// Casts leniently: a value that does not convert becomes NULL.
  Expr cast(Type type) const;
  /// Casts strictly: a value that does not convert fails evaluation with an error naming the
  /// value and the target type.
  Expr strict_cast(Type type) const;
  /// Tests for NULL; never NULL itself.
  Expr is_null() const;
  Expr is_not_null() const;
  /// Tests membership with SQL null semantics: NULL when not found and the list holds a NULL.
  Expr isin(std::vector<Value> values) const;
  /// Matches a SQL LIKE pattern: '%' any sequence, '_' one character, '\' escapes the next.
  Expr like(std::string pattern) const;
  /// Tests whether the string starts with / contains another (bytewise).
  Expr starts_with(Expr prefix) const;
  Expr contains(Expr part) const;

  /// Returns the distinct column names the expression reads, in first-seen order.
  std::vector<std::string> referenced_columns() const;
  /// Returns the same node over new children (for optimizer rewrites).
  Expr with_children(std::vector<Expr> children) const;
  /// Returns false when a user function marked non-deterministic is inside.
  bool is_deterministic() const;
  /// Compares two trees structurally (operator== builds an expression instead).
  bool equals(const Expr& other) const;

  /// Returns the shared node; for the binder and for tools that walk trees.
  const std::shared_ptr<const ExprNode>& node() const { return node_; }
  /// Wraps a node (see operators/expression_node.hpp); builders above are the usual way.
  explicit Expr(std::shared_ptr<const ExprNode> node) : node_(std::move(node)) {}

 private:
  std::shared_ptr<const ExprNode> node_;
};

/// References a column by name.
Expr col(std::string name);
/// Wraps a value as a literal of its type (an untyped NULL for a null Value).
Expr lit(Value v);
/// Builds a NULL literal of the given type.
Expr lit_null(Type type);

/// Builds arithmetic: BIGINT op BIGINT is BIGINT (wrapping on overflow unless ANSI), with a
/// DOUBLE operand it is DOUBLE.
Expr operator+(Expr a, Expr b);
Expr operator-(Expr a, Expr b);
Expr operator*(Expr a, Expr b);
/// Divides as DOUBLE, like Spark's `/`; division by zero is NULL (an error under ANSI).
Expr operator/(Expr a, Expr b);
/// Returns the remainder with the sign of the dividend; remainder by zero is NULL.
Expr operator%(Expr a, Expr b);
Expr operator+(Expr a, Value b);
Expr operator-(Expr a, Value b);
Expr operator*(Expr a, Value b);
Expr operator/(Expr a, Value b);
Expr operator%(Expr a, Value b);
Expr operator+(Value a, Expr b);
Expr operator-(Value a, Expr b);
Expr operator*(Value a, Expr b);
Expr operator/(Value a, Expr b);
Expr operator%(Value a, Expr b);
/// Negates a number.
Expr operator-(Expr a);

/// Builds comparisons; these return expressions, not bool (use Expr::equals to compare trees).
Expr operator==(Expr a, Expr b);
Expr operator!=(Expr a, Expr b);
Expr operator<(Expr a, Expr b);
Expr operator<=(Expr a, Expr b);
Expr operator>(Expr a, Expr b);
Expr operator>=(Expr a, Expr b);
Expr operator==(Expr a, Value b);
Expr operator!=(Expr a, Value b);
Expr operator<(Expr a, Value b);
Expr operator<=(Expr a, Value b);
Expr operator>(Expr a, Value b);
Expr operator>=(Expr a, Value b);
Expr operator==(Value a, Expr b);
Expr operator!=(Value a, Expr b);
Expr operator<(Value a, Expr b);
Expr operator<=(Value a, Expr b);
Expr operator>(Value a, Expr b);
Expr operator>=(Value a, Expr b);

/// Builds AND, OR and NOT with SQL three-valued logic.
Expr operator&&(Expr a, Expr b);
Expr operator||(Expr a, Expr b);
Expr operator!(Expr a);

/// Returns the first non-null argument.
Expr coalesce(std::vector<Expr> args);
/// Lower-/upper-cases ASCII letters; other bytes (all non-ASCII UTF-8) are kept as they are.
Expr lower(Expr e);
Expr upper(Expr e);
/// Counts UTF-8 code points.
Expr length(Expr e);
/// Returns len code points from the 1-based position pos (0 acts as 1, negative counts from
/// the end), like Spark's substring.
Expr substring(Expr e, int64_t pos, int64_t len);
/// Concatenates strings (other types are cast to STRING); NULL when any argument is NULL.
Expr concat(std::vector<Expr> args);
/// Removes leading and trailing spaces (' ' only, as Spark's trim).
Expr trim(Expr e);
/// Parses strings with a Spark/Java datetime pattern (letters y M d H h m s S a, quoted text
/// in '...'); a string that does not match becomes NULL.
Expr to_timestamp(Expr e, std::string format);
/// Truncates a timestamp to a unit: year, quarter, month, week, day, hour, minute, second,
/// millisecond, microsecond (case-insensitive).
Expr date_trunc(std::string unit, Expr e);
/// Extracts calendar fields (UTC) of a timestamp as BIGINT.
Expr year(Expr e);
Expr month(Expr e);
Expr day(Expr e);
Expr hour(Expr e);
Expr minute(Expr e);
Expr second(Expr e);
/// Returns a timestamp as BIGINT microseconds since the Unix epoch (Spark's unix_micros).
Expr unix_micros(Expr e);
/// Returns the timestamp of BIGINT microseconds since the Unix epoch (Spark's timestamp_micros).
Expr timestamp_micros(Expr e);
/// Builds a fixed-length interval literal ("10 seconds", "1 hour", "500 milliseconds",
/// "2 minutes 3 seconds"; units microsecond(s), millisecond(s), second(s), minute(s), hour(s),
/// day(s), week(s)) usable as timestamp +/- interval. Text that does not parse fails at bind.
Expr interval(std::string text);
/// Parses interval text as `interval` does, into microseconds.
Result<int64_t> parse_interval(std::string_view text);
/// Hashes values with xxHash64 (seed 42, each argument's hash seeding the next, NULL arguments
/// skipped, as Spark's xxhash64); BIGINT, never NULL, identical across runs and machines.
Expr hash(std::vector<Expr> args);

/// Builds CASE WHEN ... THEN ... [ELSE ...] END.
class CaseBuilder {
 public:
  explicit CaseBuilder(std::vector<Expr> branches) : branches_(std::move(branches)) {}
  /// Adds a branch, taken for rows where cond is TRUE and no earlier branch was.
  CaseBuilder when(Expr cond, Expr value) &&;
  /// Finishes with an ELSE value.
  Expr otherwise(Expr value) &&;
  /// Finishes without ELSE: rows no branch takes are NULL.
  operator Expr() const;

 private:
  std::vector<Expr> branches_;
};

/// Starts CASE WHEN cond THEN value; numeric branch types unify to DOUBLE.
CaseBuilder when(Expr cond, Expr value);

/// Computes a user function over whole columns: args are the evaluated arguments (num_rows
/// rows each); the result must have num_rows rows of the declared type. May be called
/// concurrently from several threads.
using BatchFunction =
    std::function<Result<ColumnPtr>(const std::vector<ColumnPtr>& args, int64_t num_rows)>;

/// Calls a user function over whole batches. Opaque to the optimizer.
Expr batch_udf(std::string name, Type result_type, BatchFunction fn, std::vector<Expr> args,
               bool deterministic = true);

/// Configures evaluation.
struct EvalOptions {
  /// Fails on division by zero, integer overflow instead of returning NULL / wrapping.
  bool ansi = false;
};

struct BoundNode;

/// Holds an expression resolved against a schema: columns resolved to indices, types checked,
/// constant subexpressions folded. Immutable; `evaluate` and `select` may be called
/// concurrently from several threads.
class BoundExpr {
 public:
  /// Returns the result type.
  Type type() const;
  /// Returns false when the result can never be NULL for inputs of the bound schema.
  bool nullable() const;
  /// Returns the expression this was bound from.
  const Expr& expr() const;
  /// Renders the expression as Expr::to_string does.
  std::string to_string() const;

  /// Evaluates over every row of batch, whose schema must be the one bound to.
  Result<ColumnPtr> evaluate(const RecordBatch& batch) const;

  /// Replaces selection with the indices of the rows where the predicate (type BOOLEAN) is
  /// TRUE; NULL and FALSE rows are left out.
  Status select(const RecordBatch& batch, std::vector<int32_t>& selection) const;

  /// Wraps a bound tree; `bind` is the way to make one.
  explicit BoundExpr(std::shared_ptr<const BoundNode> root, Expr expr, EvalOptions options);

 private:
  std::shared_ptr<const BoundNode> root_;
  Expr expr_;
  EvalOptions options_;
};

/// Resolves and type-checks expr against schema. A type error names the expression text and
/// the types ("cannot apply '+' to STRING and BIGINT in (name + 1)"); an unknown column is the
/// not_found error of Schema::index_of.
Result<BoundExpr> bind(const Expr& expr, const Schema& schema, const EvalOptions& options = {});

/// Returns the type expr would have over schema, with the errors of bind.
Result<Type> infer_type(const Expr& expr, const Schema& schema);

}  // namespace sluice

// The templated scalar `udf` is part of this API.
#include "operators/udf.hpp"
