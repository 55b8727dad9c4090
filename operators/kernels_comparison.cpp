// Comparison kernels: = != < <= > >= over two operands of one type. Fixed-width types compare
// in branch-free loops producing one byte per row; doubles follow Spark's total order (NaN
// equals NaN and sorts above every other value); strings compare bytewise.

#include <string_view>

#include "operators/bound_node.hpp"

namespace sluice {

namespace {

// Less-than under Spark's order for doubles: NaN is the largest value.
inline uint8_t less(double a, double b) {
  return (a < b) | ((b != b) & (a == a));
}
inline uint8_t equal(double a, double b) {
  return (a == b) | ((a != a) & (b != b));
}
template <typename T>
inline uint8_t less(const T& a, const T& b) {
  return a < b;
}
template <typename T>
inline uint8_t equal(const T& a, const T& b) {
  return a == b;
}

struct Equal {
  template <typename T>
  static uint8_t apply(const T& a, const T& b) {
    return equal(a, b);
  }
};
struct NotEqual {
  template <typename T>
  static uint8_t apply(const T& a, const T& b) {
    return equal(a, b) ^ 1;
  }
};
struct Less {
  template <typename T>
  static uint8_t apply(const T& a, const T& b) {
    return less(a, b);
  }
};
struct LessEqual {
  template <typename T>
  static uint8_t apply(const T& a, const T& b) {
    return less(b, a) ^ 1;
  }
};
struct Greater {
  template <typename T>
  static uint8_t apply(const T& a, const T& b) {
    return less(b, a);
  }
};
struct GreaterEqual {
  template <typename T>
  static uint8_t apply(const T& a, const T& b) {
    return less(a, b) ^ 1;
  }
};

template <typename Op, typename T>
SLUICE_KERNEL void compare_column_column(const T* __restrict a, const T* __restrict b,
                                         uint8_t* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(a[i], b[i]);
}

template <typename Op, typename T>
SLUICE_KERNEL void compare_column_scalar(const T* __restrict a, T b, uint8_t* __restrict out,
                                         int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(a[i], b);
}

template <typename Op, typename T>
SLUICE_KERNEL void compare_scalar_column(T a, const T* __restrict b, uint8_t* __restrict out,
                                         int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(a, b[i]);
}

template <typename Op>
void compare_strings(const Operand& left, const Operand& right, uint8_t* out, int64_t n) {
  if (left.is_scalar()) {
    const std::string_view a = left.scalar->as_string();
    const Column& b = *right.column;
    for (int64_t i = 0; i < n; ++i)
      out[i] = Op::apply(a, b.string_at(i));
  } else if (right.is_scalar()) {
    const Column& a = *left.column;
    const std::string_view b = right.scalar->as_string();
    for (int64_t i = 0; i < n; ++i)
      out[i] = Op::apply(a.string_at(i), b);
  } else {
    const Column& a = *left.column;
    const Column& b = *right.column;
    for (int64_t i = 0; i < n; ++i)
      out[i] = Op::apply(a.string_at(i), b.string_at(i));
  }
}

template <typename Op, typename T>
void compare_fixed(const Operand& left, const Operand& right, uint8_t* out, int64_t n) {
  auto scalar = [](const Value& v) -> T {
    if constexpr (std::is_same_v<T, double>) {
      return scalar_double(v);
    } else {
      return static_cast<T>(scalar_int64(v));
    }
  };
  if (left.is_scalar()) {
    compare_scalar_column<Op, T>(scalar(*left.scalar), right.column->values<T>(), out, n);
  } else if (right.is_scalar()) {
    compare_column_scalar<Op, T>(left.column->values<T>(), scalar(*right.scalar), out, n);
  } else {
    compare_column_column<Op, T>(left.column->values<T>(), right.column->values<T>(), out, n);
  }
}

template <typename Op>
void compare(Type type, const Operand& left, const Operand& right, uint8_t* out, int64_t n) {
  switch (type) {
    case Type::Bool:
      compare_fixed<Op, uint8_t>(left, right, out, n);
      break;
    case Type::Int64:
    case Type::Timestamp:
      compare_fixed<Op, int64_t>(left, right, out, n);
      break;
    case Type::Double:
      compare_fixed<Op, double>(left, right, out, n);
      break;
    case Type::String:
      compare_strings<Op>(left, right, out, n);
      break;
  }
}

class ComparisonNode final : public BoundNode {
 public:
  ComparisonNode(ComparisonOp op, BoundNodePtr left, BoundNodePtr right, Expr expr)
      : BoundNode(Type::Bool, left->nullable || right->nullable, std::move(expr), {left, right}),
        op_(op) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(Operand left, evaluate_operand(*children[0], ctx));
    SLUICE_ASSIGN_OR_RETURN(Operand right, evaluate_operand(*children[1], ctx));
    const int64_t n = ctx.num_rows;
    if (left.is_null_scalar() || right.is_null_scalar()) return Column::make_null(type, n);
    if (left.is_scalar() && right.is_scalar()) {
      left.column = broadcast(children[0]->type, *left.scalar, n);
      left.scalar = nullptr;
    }
    auto values = allocate_values(Type::Bool, n);
    uint8_t* out = values->mutable_data();
    const Type operand_type = children[0]->type;
    switch (op_) {
      case ComparisonOp::equal:
        compare<Equal>(operand_type, left, right, out, n);
        break;
      case ComparisonOp::not_equal:
        compare<NotEqual>(operand_type, left, right, out, n);
        break;
      case ComparisonOp::less:
        compare<Less>(operand_type, left, right, out, n);
        break;
      case ComparisonOp::less_equal:
        compare<LessEqual>(operand_type, left, right, out, n);
        break;
      case ComparisonOp::greater:
        compare<Greater>(operand_type, left, right, out, n);
        break;
      case ComparisonOp::greater_equal:
        compare<GreaterEqual>(operand_type, left, right, out, n);
        break;
    }
    std::vector<const Column*> inputs;
    if (left.column) inputs.push_back(left.column.get());
    if (right.column) inputs.push_back(right.column.get());
    return Column::make_unchecked(type, n, std::move(values), validity::intersect(inputs, n));
  }

 private:
  ComparisonOp op_;
};

}  // namespace

BoundNodePtr make_comparison_node(ComparisonOp op, BoundNodePtr left, BoundNodePtr right,
                                  Expr expr) {
  return std::make_shared<ComparisonNode>(op, std::move(left), std::move(right), std::move(expr));
}

}  // namespace sluice
