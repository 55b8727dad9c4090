// Arithmetic kernels: + - * / % and unary minus over BIGINT and DOUBLE (and TIMESTAMP +/-
// interval micros). Every loop computes all rows, nulls included, over raw arrays; validity is
// the word-wise AND of the inputs' bitmaps, narrowed by zero divisors for / and %.

#include <cmath>
#include <limits>

#include "operators/bound_node.hpp"

namespace sluice {

namespace {

// Integer ops wrap in two's complement (Spark's non-ANSI behaviour) through unsigned math, which
// C++ defines; ANSI mode checks for overflow in a separate pass.
struct Add {
  static int64_t apply(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  }
  static double apply(double a, double b) { return a + b; }
  static bool overflows(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r);
  }
};

struct Subtract {
  static int64_t apply(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
  }
  static double apply(double a, double b) { return a - b; }
  static bool overflows(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_sub_overflow(a, b, &r);
  }
};

struct Multiply {
  static int64_t apply(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  }
  static double apply(double a, double b) { return a * b; }
  static bool overflows(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r);
  }
};

struct Divide {
  static int64_t apply(int64_t, int64_t) { return 0; }  // never used: `/` is DOUBLE
  static double apply(double a, double b) { return a / b; }
  static bool overflows(int64_t, int64_t) { return false; }
};

struct Remainder {
  // b == 0 (NULL) and b == -1 (always 0; INT64_MIN % -1 traps) both use divisor 1.
  static int64_t apply(int64_t a, int64_t b) { return a % ((b == 0) | (b == -1) ? 1 : b); }
  static double apply(double a, double b) { return std::fmod(a, b); }
  static bool overflows(int64_t, int64_t) { return false; }
};

template <typename Op, typename T>
SLUICE_KERNEL void loop_column_column(const T* __restrict a, const T* __restrict b,
                                      T* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(a[i], b[i]);
}

template <typename Op, typename T>
SLUICE_KERNEL void loop_column_scalar(const T* __restrict a, T b, T* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(a[i], b);
}

template <typename Op, typename T>
SLUICE_KERNEL void loop_scalar_column(T a, const T* __restrict b, T* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(a, b[i]);
}

template <typename T>
T scalar_as(const Value& value) {
  if constexpr (std::is_same_v<T, double>) {
    return scalar_double(value);
  } else {
    return scalar_int64(value);
  }
}

// Reads row i of an operand (scalar or column) for the error checks.
template <typename T>
struct Reader {
  const T* values = nullptr;
  T scalar{};
  T operator[](int64_t i) const { return values ? values[i] : scalar; }
};

template <typename T>
Reader<T> reader_of(const Operand& operand) {
  Reader<T> reader;
  if (operand.is_scalar()) {
    reader.scalar = scalar_as<T>(*operand.scalar);
  } else {
    reader.values = operand.column->values<T>();
  }
  return reader;
}

constexpr bool is_division(ArithmeticOp op) {
  return op == ArithmeticOp::divide || op == ArithmeticOp::remainder;
}

class ArithmeticNode final : public BoundNode {
 public:
  ArithmeticNode(ArithmeticOp op, Type result_type, BoundNodePtr left, BoundNodePtr right,
                 Expr expr)
      : BoundNode(result_type, left->nullable || right->nullable || is_division(op),
                  std::move(expr), {left, right}),
        op_(op),
        operand_type_(children[0]->type) {
    // Under ANSI, integer overflow and division by zero fail.
    may_fail = may_fail || operand_type_ != Type::Double || is_division(op);
  }

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(Operand left, evaluate_operand(*children[0], ctx));
    SLUICE_ASSIGN_OR_RETURN(Operand right, evaluate_operand(*children[1], ctx));
    if (left.is_null_scalar() || right.is_null_scalar()) {
      return Column::make_null(type, ctx.num_rows);
    }
    if (left.is_scalar() && right.is_scalar()) {
      left.column = broadcast(children[0]->type, *left.scalar, ctx.num_rows);
      left.scalar = nullptr;
    }
    if (operand_type_ == Type::Double) return evaluate_typed<double>(ctx, left, right);
    return evaluate_typed<int64_t>(ctx, left, right);
  }

 private:
  template <typename T>
  Result<ColumnPtr> evaluate_typed(const EvalContext& ctx, const Operand& left,
                                   const Operand& right) const {
    switch (op_) {
      case ArithmeticOp::add:
        return evaluate_op<Add, T>(ctx, left, right);
      case ArithmeticOp::subtract:
        return evaluate_op<Subtract, T>(ctx, left, right);
      case ArithmeticOp::multiply:
        return evaluate_op<Multiply, T>(ctx, left, right);
      case ArithmeticOp::divide:
        return evaluate_op<Divide, T>(ctx, left, right);
      case ArithmeticOp::remainder:
        return evaluate_op<Remainder, T>(ctx, left, right);
    }
    return Status::internal("unknown arithmetic operator");
  }

  template <typename Op, typename T>
  Result<ColumnPtr> evaluate_op(const EvalContext& ctx, const Operand& left,
                                const Operand& right) const {
    const int64_t n = ctx.num_rows;
    auto values = allocate_values(type, n);
    T* out = values->template mutable_as<T>();
    if (left.is_scalar()) {
      loop_scalar_column<Op, T>(scalar_as<T>(*left.scalar), right.column->values<T>(), out, n);
    } else if (right.is_scalar()) {
      loop_column_scalar<Op, T>(left.column->values<T>(), scalar_as<T>(*right.scalar), out, n);
    } else {
      loop_column_column<Op, T>(left.column->values<T>(), right.column->values<T>(), out, n);
    }
    std::vector<const Column*> inputs;
    if (left.column) inputs.push_back(left.column.get());
    if (right.column) inputs.push_back(right.column.get());
    BufferPtr validity = validity::intersect(inputs, n);

    const Reader<T> a = reader_of<T>(left);
    const Reader<T> b = reader_of<T>(right);
    if constexpr (std::is_same_v<Op, Divide> || std::is_same_v<Op, Remainder>) {
      SLUICE_ASSIGN_OR_RETURN(validity, null_zero_divisors(ctx, b, right, std::move(validity)));
    } else if constexpr (std::is_same_v<T, int64_t>) {
      if (ctx.options.ansi) {
        const int64_t row = first_failing_row(ctx, validity.get(),
                                              [&](int64_t i) { return Op::overflows(a[i], b[i]); });
        if (row >= 0) {
          return Status::out_of_range("BIGINT overflow in " + expr.to_string() + " at row " +
                                      std::to_string(row) + " (" + std::to_string(a[row]) + " " +
                                      expr.function_name() + " " + std::to_string(b[row]) +
                                      "); set ansi off to wrap around");
        }
      }
    }
    return Column::make_unchecked(type, n, std::move(values), std::move(validity));
  }

  // Makes rows with a zero divisor NULL, or fails under ANSI when a valid active row has one.
  template <typename T>
  Result<BufferPtr> null_zero_divisors(const EvalContext& ctx, const Reader<T>& b,
                                       const Operand& right, BufferPtr validity) const {
    const int64_t n = ctx.num_rows;
    if (ctx.options.ansi) {
      const int64_t row =
          first_failing_row(ctx, validity.get(), [&](int64_t i) { return b[i] == 0; });
      if (row >= 0) {
        return Status::invalid_argument("division by zero in " + expr.to_string() + " at row " +
                                        std::to_string(row) + "; set ansi off to get NULL");
      }
      return validity;
    }
    if (right.is_scalar()) {
      if (b.scalar != 0) return validity;
      auto none = validity::allocate(n);
      return BufferPtr(std::move(none));
    }
    const T* divisor = right.column->values<T>();
    std::vector<uint8_t> nonzero(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      nonzero[static_cast<size_t>(i)] = divisor[i] != 0;
    auto bits = validity::allocate(n);
    uint64_t* words = bits->mutable_as<uint64_t>();
    validity::pack(nonzero.data(), n, words);
    if (validity) validity::and_into(words, {validity->data(), 0}, n);
    return BufferPtr(std::move(bits));
  }

  ArithmeticOp op_;
  Type operand_type_;
};

class NegateNode final : public BoundNode {
 public:
  NegateNode(BoundNodePtr child, Expr expr)
      : BoundNode(child->type, child->nullable, std::move(expr), {child}) {
    may_fail = may_fail || type == Type::Int64;
  }

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr input, children[0]->evaluate(ctx));
    const int64_t n = ctx.num_rows;
    auto values = allocate_values(type, n);
    BufferPtr validity = validity::rebase(*input);
    if (type == Type::Double) {
      double* __restrict out = values->mutable_as<double>();
      const double* __restrict in = input->values<double>();
      for (int64_t i = 0; i < n; ++i)
        out[i] = -in[i];
    } else {
      const int64_t* in = input->values<int64_t>();
      loop_scalar_column<Subtract, int64_t>(0, in, values->mutable_as<int64_t>(), n);
      if (ctx.options.ansi) {
        const int64_t row = first_failing_row(ctx, validity.get(), [&](int64_t i) {
          return in[i] == std::numeric_limits<int64_t>::min();
        });
        if (row >= 0) {
          return Status::out_of_range("BIGINT overflow in " + expr.to_string() + " at row " +
                                      std::to_string(row) + "; set ansi off to wrap around");
        }
      }
    }
    return Column::make_unchecked(type, n, std::move(values), std::move(validity));
  }
};

}  // namespace

BoundNodePtr make_arithmetic_node(ArithmeticOp op, Type result_type, BoundNodePtr left,
                                  BoundNodePtr right, Expr expr) {
  return std::make_shared<ArithmeticNode>(op, result_type, std::move(left), std::move(right),
                                          std::move(expr));
}

BoundNodePtr make_negate_node(BoundNodePtr child, Expr expr) {
  return std::make_shared<NegateNode>(std::move(child), std::move(expr));
}

}  // namespace sluice
