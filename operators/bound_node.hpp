#pragma once

// Internal to the expression library: the evaluable tree the binder builds, and the factories
// of its nodes (one source file per family of kernels).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operators/expression.hpp"
#include "operators/udf.hpp"
#include "operators/validity.hpp"

/// Marks a hot kernel loop for compilation twice, for AVX2 and for baseline x86-64, with the
/// variant picked once at load time (a glibc ifunc): baseline x86-64 has no 64-bit integer
/// compare and only 2-wide vectors. A no-op elsewhere.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define SLUICE_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define SLUICE_KERNEL
#endif

namespace sluice {

/// Carries what one evaluation of a tree over one batch needs.
struct EvalContext {
  const RecordBatch& batch;
  int64_t num_rows = 0;
  EvalOptions options;
  /// Bits (from bit 0) of the rows whose errors count, or nullptr for every row. CASE, COALESCE,
  /// AND and OR narrow it for the children whose value a row does not use, so that
  /// `CASE WHEN b != 0 THEN a / b END` does not fail under ANSI. Rows outside still get a value
  /// (which the parent ignores).
  const uint64_t* active = nullptr;

  EvalContext with_active(const uint64_t* rows) const {
    EvalContext copy = *this;
    copy.active = rows;
    return copy;
  }
  bool is_active(int64_t row) const {
    return active == nullptr || ((active[row >> 6] >> (row & 63)) & 1);
  }
};

struct BoundNode;
using BoundNodePtr = std::shared_ptr<const BoundNode>;

/// Evaluates one node of a bound tree over a whole batch. Immutable; evaluate may run
/// concurrently on several threads.
struct BoundNode {
  BoundNode(Type type, bool nullable, Expr expr, std::vector<BoundNodePtr> children = {})
      : type(type), nullable(nullable), expr(std::move(expr)), children(std::move(children)) {
    for (const auto& child : this->children)
      may_fail = may_fail || child->may_fail;
  }
  virtual ~BoundNode() = default;

  /// Returns a column of ctx.num_rows rows (a literal broadcasts its value; kernels read
  /// literal children as scalars instead of calling this).
  virtual Result<ColumnPtr> evaluate(const EvalContext& ctx) const = 0;

  /// Returns the value of a literal node, nullptr otherwise.
  const Value* scalar() const { return literal ? &*literal : nullptr; }

  Type type;
  bool nullable;
  /// The source expression, for error messages.
  Expr expr;
  std::vector<BoundNodePtr> children;
  /// True when evaluation can fail depending on the rows (ANSI arithmetic, strict casts).
  bool may_fail = false;
  /// True for user functions marked non-deterministic.
  bool nondeterministic = false;
  std::optional<Value> literal;
};

/// Holds one evaluated argument of a kernel: a column, or the value of a literal child.
struct Operand {
  ColumnPtr column;
  const Value* scalar = nullptr;

  bool is_scalar() const { return scalar != nullptr; }
  bool is_null_scalar() const { return scalar != nullptr && scalar->is_null(); }
};

/// Evaluates a child as a kernel argument (literals stay scalars).
Result<Operand> evaluate_operand(const BoundNode& node, const EvalContext& ctx);

/// Returns the int64 behind a non-null BIGINT, TIMESTAMP or BOOLEAN value.
int64_t scalar_int64(const Value& value);
/// Returns a non-null numeric value as double.
double scalar_double(const Value& value);

/// Builds a column holding value in every row (all NULL for a null value).
ColumnPtr broadcast(Type type, const Value& value, int64_t length);

/// Allocates a values buffer for length fixed-width rows of type.
std::shared_ptr<Buffer> allocate_values(Type type, int64_t length);

/// Returns the first row where failed(row) holds among rows that are valid (validity from bit
/// 0, nullptr = all) and active in ctx, or -1. For error checks, off the fast path.
template <typename Failed>
int64_t first_failing_row(const EvalContext& ctx, const Buffer* validity, Failed failed) {
  const uint8_t* valid = validity ? validity->data() : nullptr;
  for (int64_t row = 0; row < ctx.num_rows; ++row) {
    if (!failed(row)) continue;
    if (valid != nullptr && !bitmap::get(valid, row)) continue;
    if (!ctx.is_active(row)) continue;
    return row;
  }
  return -1;
}

enum class ArithmeticOp { add, subtract, multiply, divide, remainder };
enum class ComparisonOp { equal, not_equal, less, less_equal, greater, greater_equal };
enum class StringFunction { lower, upper, length, trim };
enum class StringMatch { starts_with, contains };
enum class TimestampField { year, month, day, hour, minute, second };

BoundNodePtr make_column_node(int index, const Field& field, Expr expr);
BoundNodePtr make_literal_node(Value value, Type type, Expr expr);

/// Builds arithmetic over two operands of one type (BIGINT or DOUBLE; DOUBLE only for
/// divide); result_type is that type, or TIMESTAMP for timestamp +/- interval.
BoundNodePtr make_arithmetic_node(ArithmeticOp op, Type result_type, BoundNodePtr left,
                                  BoundNodePtr right, Expr expr);
BoundNodePtr make_negate_node(BoundNodePtr child, Expr expr);
/// Builds a comparison of two operands of one type.
BoundNodePtr make_comparison_node(ComparisonOp op, BoundNodePtr left, BoundNodePtr right,
                                  Expr expr);

BoundNodePtr make_logical_node(bool is_and, BoundNodePtr left, BoundNodePtr right, Expr expr);
BoundNodePtr make_not_node(BoundNodePtr child, Expr expr);
BoundNodePtr make_is_null_node(bool is_not_null, BoundNodePtr child, Expr expr);
/// Builds IN over a list whose values have the child's type (or are null).
BoundNodePtr make_in_node(BoundNodePtr child, std::vector<Value> list, Expr expr);

/// Builds CASE; values and otherwise (nullptr when absent) have the result type.
BoundNodePtr make_case_node(Type type, std::vector<BoundNodePtr> conditions,
                            std::vector<BoundNodePtr> values, BoundNodePtr otherwise, Expr expr);
BoundNodePtr make_coalesce_node(Type type, std::vector<BoundNodePtr> args, Expr expr);

/// Returns true when a cast from one type to the other exists.
bool cast_supported(Type from, Type to);
/// Returns true when some values of from have no value of to.
bool cast_can_fail(Type from, Type to);
BoundNodePtr make_cast_node(Type to, bool strict, BoundNodePtr child, Expr expr);
/// Casts one value leniently (NULL when it does not convert); for literals at bind time.
Result<Value> cast_value(const Value& value, Type to);

BoundNodePtr make_string_function_node(StringFunction function, BoundNodePtr child, Expr expr);
BoundNodePtr make_substring_node(BoundNodePtr child, int64_t pos, int64_t len, Expr expr);
BoundNodePtr make_concat_node(std::vector<BoundNodePtr> args, Expr expr);
Result<BoundNodePtr> make_like_node(BoundNodePtr child, const std::string& pattern, Expr expr);
BoundNodePtr make_string_match_node(StringMatch match, BoundNodePtr child, BoundNodePtr part,
                                    Expr expr);

Result<BoundNodePtr> make_to_timestamp_node(BoundNodePtr child, const std::string& format,
                                            Expr expr);
Result<BoundNodePtr> make_date_trunc_node(const std::string& unit, BoundNodePtr child, Expr expr);
BoundNodePtr make_extract_node(TimestampField field, BoundNodePtr child, Expr expr);
/// Reads a TIMESTAMP as BIGINT microseconds or back (`to`): the same buffers, retyped.
BoundNodePtr make_micros_node(Type to, BoundNodePtr child, Expr expr);

BoundNodePtr make_hash_node(std::vector<BoundNodePtr> args, Expr expr);

/// Returns true for from_json, from_csv, get_field, to_json and to_csv (operators/record_format).
bool is_record_format_function(const std::string& name);
/// Returns the arguments of a record-format call the binder binds: the parsed STRING of
/// get_field, the fields of to_json / to_csv, none for a bare from_json / from_csv.
std::vector<Expr> record_format_inputs(const Expr& e);
/// Builds the node of a record-format call over its bound inputs; a bare from_json / from_csv
/// fails, since it produces several columns (see expand_record_columns).
Result<BoundNodePtr> make_record_format_node(const Expr& e, std::vector<BoundNodePtr> inputs);

BoundNodePtr make_udf_node(std::shared_ptr<const UserFunctionDefinition> definition,
                           std::vector<BoundNodePtr> args, Expr expr);

}  // namespace sluice
