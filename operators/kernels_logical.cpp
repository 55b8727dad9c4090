// Boolean kernels with SQL three-valued logic: AND, OR, NOT, IS [NOT] NULL and IN (list).
// Values are computed as bytes for every row; the validity of AND / OR is derived 64 rows at a
// time from the packed values and validity words.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_set>

#include "operators/bound_node.hpp"

namespace sluice {

namespace {

// Returns the values of a BOOLEAN column as bits from bit 0 (length rows).
std::vector<uint64_t> value_bits(const Column& column, int64_t length) {
  std::vector<uint64_t> words(static_cast<size_t>(validity::words_for(length)) + 1, 0);
  validity::pack(column.values<uint8_t>(), length, words.data());
  return words;
}

// Returns the validity of a column as words from bit 0 (all ones without nulls).
std::vector<uint64_t> validity_words(const Column& column, int64_t length) {
  std::vector<uint64_t> words(static_cast<size_t>(validity::words_for(length)) + 1, 0);
  validity::copy(words.data(), validity::of(column), length);
  return words;
}

ColumnPtr as_column(const Operand& operand, Type type, int64_t length) {
  return operand.is_scalar() ? broadcast(type, *operand.scalar, length) : operand.column;
}

class LogicalNode final : public BoundNode {
 public:
  LogicalNode(bool is_and, BoundNodePtr left, BoundNodePtr right, Expr expr)
      : BoundNode(Type::Bool, left->nullable || right->nullable, std::move(expr), {left, right}),
        is_and_(is_and) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    const int64_t n = ctx.num_rows;
    SLUICE_ASSIGN_OR_RETURN(Operand left_operand, evaluate_operand(*children[0], ctx));
    ColumnPtr left = as_column(left_operand, Type::Bool, n);
    std::vector<uint64_t> left_bits = value_bits(*left, n);
    ColumnPtr right;
    if (children[1]->may_fail) {
      // Rows the left side decides (FALSE for AND, TRUE for OR) do not need the right side,
      // so its errors there must not count (Spark evaluates AND / OR lazily).
      std::vector<uint64_t> active = validity_words(*left, n);
      for (int64_t w = 0, words = validity::words_for(n); w < words; ++w) {
        const uint64_t decided = active[w] & (is_and_ ? ~left_bits[w] : left_bits[w]);
        const uint64_t parent = ctx.active ? ctx.active[w] : ~uint64_t{0};
        active[w] = parent & ~decided;
      }
      SLUICE_ASSIGN_OR_RETURN(Operand right_operand,
                              evaluate_operand(*children[1], ctx.with_active(active.data())));
      right = as_column(right_operand, Type::Bool, n);
    } else {
      SLUICE_ASSIGN_OR_RETURN(Operand right_operand, evaluate_operand(*children[1], ctx));
      right = as_column(right_operand, Type::Bool, n);
    }

    auto values = allocate_values(Type::Bool, n);
    uint8_t* __restrict out = values->mutable_data();
    const uint8_t* __restrict a = left->values<uint8_t>();
    const uint8_t* __restrict b = right->values<uint8_t>();
    if (is_and_) {
      for (int64_t i = 0; i < n; ++i)
        out[i] = a[i] & b[i];
    } else {
      for (int64_t i = 0; i < n; ++i)
        out[i] = a[i] | b[i];
    }
    if (!left->has_nulls() && !right->has_nulls()) {
      return Column::make_unchecked(type, n, std::move(values), nullptr);
    }
    // AND is known when both sides are, or when either is a known FALSE; OR likewise with TRUE.
    std::vector<uint64_t> right_bits = value_bits(*right, n);
    std::vector<uint64_t> left_valid = validity_words(*left, n);
    std::vector<uint64_t> right_valid = validity_words(*right, n);
    auto validity = validity::allocate(n);
    uint64_t* valid = validity->mutable_as<uint64_t>();
    for (int64_t w = 0, words = validity::words_for(n); w < words; ++w) {
      const uint64_t va = left_valid[w], vb = right_valid[w];
      const uint64_t xa = is_and_ ? ~left_bits[w] : left_bits[w];
      const uint64_t xb = is_and_ ? ~right_bits[w] : right_bits[w];
      valid[w] = (va & vb) | (va & xa) | (vb & xb);
    }
    return Column::make_unchecked(type, n, std::move(values), std::move(validity));
  }

 private:
  bool is_and_;
};

class NotNode final : public BoundNode {
 public:
  NotNode(BoundNodePtr child, Expr expr)
      : BoundNode(Type::Bool, child->nullable, std::move(expr), {child}) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr input, children[0]->evaluate(ctx));
    const int64_t n = ctx.num_rows;
    auto values = allocate_values(Type::Bool, n);
    uint8_t* __restrict out = values->mutable_data();
    const uint8_t* __restrict in = input->values<uint8_t>();
    for (int64_t i = 0; i < n; ++i)
      out[i] = in[i] ^ 1;
    return Column::make_unchecked(type, n, std::move(values), validity::rebase(*input));
  }
};

class IsNullNode final : public BoundNode {
 public:
  IsNullNode(bool is_not_null, BoundNodePtr child, Expr expr)
      : BoundNode(Type::Bool, false, std::move(expr), {child}), is_not_null_(is_not_null) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr input, children[0]->evaluate(ctx));
    const int64_t n = ctx.num_rows;
    auto values = allocate_values(Type::Bool, n);
    uint8_t* out = values->mutable_data();
    validity::unpack(validity::of(*input), n, out);
    if (!is_not_null_) {
      for (int64_t i = 0; i < n; ++i)
        out[i] ^= 1;
    }
    return Column::make_unchecked(type, n, std::move(values), nullptr);
  }

 private:
  bool is_not_null_;
};

class InNode final : public BoundNode {
 public:
  InNode(BoundNodePtr child, std::vector<Value> list, Expr expr)
      : BoundNode(Type::Bool, true, std::move(expr), {child}) {
    for (auto& value : list) {
      if (value.is_null()) {
        list_has_null_ = true;
        continue;
      }
      switch (children[0]->type) {
        case Type::Bool:
          (value.as_bool() ? has_true_ : has_false_) = true;
          break;
        case Type::Double:
          doubles_.push_back(value.as_double());
          break;
        case Type::String:
          strings_.push_back(value.as_string());
          break;
        default:
          integers_.push_back(scalar_int64(value));
          break;
      }
    }
    nullable = children[0]->nullable || list_has_null_;
    std::sort(integers_.begin(), integers_.end());
    for (const auto& s : strings_)
      string_set_.insert(s);
  }

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    const int64_t n = ctx.num_rows;
    SLUICE_ASSIGN_OR_RETURN(Operand operand, evaluate_operand(*children[0], ctx));
    ColumnPtr input = as_column(operand, children[0]->type, n);
    auto values = allocate_values(Type::Bool, n);
    uint8_t* __restrict found = values->mutable_data();
    switch (children[0]->type) {
      case Type::Bool: {
        const uint8_t* __restrict x = input->values<uint8_t>();
        const uint8_t t = has_true_, f = has_false_;
        for (int64_t i = 0; i < n; ++i)
          found[i] = (x[i] & t) | ((x[i] ^ 1) & f);
        break;
      }
      case Type::Double:
        find_fixed(input->values<double>(), doubles_, found, n);
        break;
      case Type::String:
        for (int64_t i = 0; i < n; ++i)
          found[i] = string_set_.count(input->string_at(i)) != 0;
        break;
      default:
        find_fixed(input->values<int64_t>(), integers_, found, n);
        break;
    }
    BufferPtr validity = validity::rebase(*input);
    if (list_has_null_) {
      // Not found in a list holding NULL is NULL: valid only where found.
      auto bits = validity::allocate(n);
      uint64_t* words = bits->mutable_as<uint64_t>();
      validity::pack(found, n, words);
      validity::and_into(words, validity::of(*input), n);
      validity = std::move(bits);
    }
    return Column::make_unchecked(type, n, std::move(values), std::move(validity));
  }

 private:
  static uint8_t same(int64_t a, int64_t b) { return a == b; }
  static uint8_t same(double a, double b) { return (a == b) | ((a != a) & (b != b)); }

  template <typename T>
  static void find_fixed(const T* __restrict x, const std::vector<T>& items,
                         uint8_t* __restrict found, int64_t n) {
    std::memset(found, 0, static_cast<size_t>(n));
    if (items.size() <= 16 || std::is_same_v<T, double>) {
      // A pass per item keeps the loop branch-free and vectorizable.
      for (const T item : items) {
        for (int64_t i = 0; i < n; ++i)
          found[i] |= same(x[i], item);
      }
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      found[i] = std::binary_search(items.begin(), items.end(), x[i]);
    }
  }

  bool list_has_null_ = false;
  bool has_true_ = false;
  bool has_false_ = false;
  std::vector<int64_t> integers_;
  std::vector<double> doubles_;
  std::vector<std::string> strings_;
  std::unordered_set<std::string_view> string_set_;
};

}  // namespace

BoundNodePtr make_logical_node(bool is_and, BoundNodePtr left, BoundNodePtr right, Expr expr) {
  return std::make_shared<LogicalNode>(is_and, std::move(left), std::move(right), std::move(expr));
}

BoundNodePtr make_not_node(BoundNodePtr child, Expr expr) {
  return std::make_shared<NotNode>(std::move(child), std::move(expr));
}

BoundNodePtr make_is_null_node(bool is_not_null, BoundNodePtr child, Expr expr) {
  return std::make_shared<IsNullNode>(is_not_null, std::move(child), std::move(expr));
}

BoundNodePtr make_in_node(BoundNodePtr child, std::vector<Value> list, Expr expr) {
  return std::make_shared<InNode>(std::move(child), std::move(list), std::move(expr));
}

}  // namespace sluice
