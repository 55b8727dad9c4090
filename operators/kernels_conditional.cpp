// Conditional kernels: CASE WHEN and COALESCE. Both split the rows into disjoint bitmasks, one
// per source (the branch a row takes, the first non-null argument), evaluate each source over
// the batch with errors counted only on its own rows, then blend the sources by mask.

#include <cstring>

#include "operators/bound_node.hpp"

namespace sluice {

namespace {

using Words = std::vector<uint64_t>;

Words all_rows(int64_t n) {
  Words words(static_cast<size_t>(validity::words_for(n)), 0);
  validity::copy(words.data(), {}, n);
  return words;
}

bool any(const Words& words) {
  for (uint64_t w : words) {
    if (w != 0) return true;
  }
  return false;
}

// Returns the rows whose errors count for a child that only matters on mask.
Words narrow(const EvalContext& ctx, const Words& mask) {
  Words active = mask;
  if (ctx.active) {
    for (size_t w = 0; w < active.size(); ++w)
      active[w] &= ctx.active[w];
  }
  return active;
}

// Returns the rows where an operand is non-null.
Words valid_rows(const Operand& operand, int64_t n) {
  if (operand.is_scalar()) {
    return operand.scalar->is_null() ? Words(static_cast<size_t>(validity::words_for(n)), 0)
                                     : all_rows(n);
  }
  Words words(static_cast<size_t>(validity::words_for(n)), 0);
  validity::copy(words.data(), validity::of(*operand.column), n);
  return words;
}

// Returns the rows where a BOOLEAN operand is TRUE (not NULL).
Words true_rows(const Operand& operand, int64_t n) {
  if (operand.is_scalar()) {
    const bool is_true = !operand.scalar->is_null() && operand.scalar->as_bool();
    return is_true ? all_rows(n) : Words(static_cast<size_t>(validity::words_for(n)), 0);
  }
  Words words(static_cast<size_t>(validity::words_for(n)) + 1, 0);
  validity::pack(operand.column->values<uint8_t>(), n, words.data());
  words.pop_back();
  validity::and_into(words.data(), validity::of(*operand.column), n);
  return words;
}

struct Source {
  Operand operand;
  Words rows;  ///< disjoint from the rows of every other source
};

template <typename T>
SLUICE_KERNEL void blend_column(const uint8_t* __restrict take, const T* __restrict v,
                                T* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = take[i] ? v[i] : out[i];
}

template <typename T>
SLUICE_KERNEL void blend_scalar(const uint8_t* __restrict take, T v, T* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = take[i] ? v : out[i];
}

template <typename T>
T scalar_as(const Value& value) {
  if constexpr (std::is_same_v<T, uint8_t>) {
    return static_cast<uint8_t>(value.as_bool());
  } else if constexpr (std::is_same_v<T, double>) {
    return scalar_double(value);
  } else {
    return scalar_int64(value);
  }
}

template <typename T>
std::shared_ptr<Buffer> blend_fixed(Type type, int64_t n, const std::vector<Source>& sources) {
  auto values = allocate_values(type, n);
  T* out = values->mutable_as<T>();
  std::vector<uint8_t> take(static_cast<size_t>(n));
  for (const Source& source : sources) {
    if (source.operand.is_null_scalar()) continue;
    validity::unpack({reinterpret_cast<const uint8_t*>(source.rows.data()), 0}, n, take.data());
    if (source.operand.is_scalar()) {
      blend_scalar<T>(take.data(), scalar_as<T>(*source.operand.scalar), out, n);
    } else {
      blend_column<T>(take.data(), source.operand.column->values<T>(), out, n);
    }
  }
  return values;
}

ColumnPtr blend_strings(int64_t n, const std::vector<Source>& sources, BufferPtr validity) {
  constexpr uint8_t kNone = 0xff;
  std::vector<uint8_t> chosen(static_cast<size_t>(n), kNone);
  std::vector<uint8_t> take(static_cast<size_t>(n));
  for (size_t k = 0; k < sources.size(); ++k) {
    if (sources[k].operand.is_null_scalar()) continue;
    validity::unpack({reinterpret_cast<const uint8_t*>(sources[k].rows.data()), 0}, n, take.data());
    for (int64_t i = 0; i < n; ++i) {
      if (take[i]) chosen[i] = static_cast<uint8_t>(k);
    }
  }
  auto string_at = [&](int64_t i) -> std::string_view {
    const Operand& operand = sources[chosen[i]].operand;
    return operand.is_scalar() ? std::string_view(operand.scalar->as_string())
                               : operand.column->string_at(i);
  };
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (chosen[i] != kNone) total += static_cast<int64_t>(string_at(i).size());
  }
  auto offsets = Buffer::allocate((n + 1) * 8);
  auto data = Buffer::allocate(total);
  int64_t* o = offsets->mutable_as<int64_t>();
  int64_t position = 0;
  for (int64_t i = 0; i < n; ++i) {
    o[i] = position;
    if (chosen[i] == kNone) continue;
    const std::string_view s = string_at(i);
    std::memcpy(data->mutable_data() + position, s.data(), s.size());
    position += static_cast<int64_t>(s.size());
  }
  o[n] = position;
  return Column::make_unchecked(Type::String, n, std::move(offsets), std::move(validity),
                                std::move(data));
}

// Builds the result taking each row from the source whose mask holds it (NULL when none).
ColumnPtr assemble(Type type, int64_t n, const std::vector<Source>& sources) {
  auto validity = validity::allocate(n);
  uint64_t* valid = validity->mutable_as<uint64_t>();
  for (const Source& source : sources) {
    Words rows = valid_rows(source.operand, n);
    for (size_t w = 0; w < rows.size(); ++w)
      valid[w] |= rows[w] & source.rows[w];
  }
  switch (type) {
    case Type::String:
      return blend_strings(n, sources, std::move(validity));
    case Type::Bool:
      return Column::make_unchecked(type, n, blend_fixed<uint8_t>(type, n, sources),
                                    std::move(validity));
    case Type::Double:
      return Column::make_unchecked(type, n, blend_fixed<double>(type, n, sources),
                                    std::move(validity));
    default:
      return Column::make_unchecked(type, n, blend_fixed<int64_t>(type, n, sources),
                                    std::move(validity));
  }
}

class CaseNode final : public BoundNode {
 public:
  CaseNode(Type type, std::vector<BoundNodePtr> conditions, std::vector<BoundNodePtr> values,
           BoundNodePtr otherwise, Expr expr)
      : BoundNode(type, true, std::move(expr)), branches_(conditions.size()) {
    // Children: cond1, value1, cond2, value2, ..., [else].
    const bool has_else = otherwise != nullptr;
    for (size_t i = 0; i < conditions.size(); ++i) {
      children.push_back(std::move(conditions[i]));
      children.push_back(std::move(values[i]));
    }
    if (has_else) children.push_back(std::move(otherwise));
    nullable = !has_else;
    for (size_t k = 0; k < branches_; ++k)
      nullable = nullable || children[2 * k + 1]->nullable;
    if (has_else) nullable = nullable || children.back()->nullable;
    for (const auto& child : children)
      may_fail = may_fail || child->may_fail;
  }

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    const int64_t n = ctx.num_rows;
    Words remaining = all_rows(n);
    std::vector<Source> sources;
    for (size_t k = 0; k < branches_ && any(remaining); ++k) {
      Words condition_active = narrow(ctx, remaining);
      SLUICE_ASSIGN_OR_RETURN(
          Operand condition,
          evaluate_operand(*children[2 * k], ctx.with_active(condition_active.data())));
      Words taken = true_rows(condition, n);
      for (size_t w = 0; w < taken.size(); ++w) {
        taken[w] &= remaining[w];
        remaining[w] &= ~taken[w];
      }
      if (!any(taken)) continue;
      Words value_active = narrow(ctx, taken);
      SLUICE_ASSIGN_OR_RETURN(
          Operand value,
          evaluate_operand(*children[2 * k + 1], ctx.with_active(value_active.data())));
      sources.push_back({std::move(value), std::move(taken)});
    }
    if (children.size() > 2 * branches_ && any(remaining)) {
      Words else_active = narrow(ctx, remaining);
      SLUICE_ASSIGN_OR_RETURN(
          Operand value, evaluate_operand(*children.back(), ctx.with_active(else_active.data())));
      sources.push_back({std::move(value), std::move(remaining)});
    }
    return assemble(type, n, sources);
  }

 private:
  size_t branches_;
};

class CoalesceNode final : public BoundNode {
 public:
  CoalesceNode(Type type, std::vector<BoundNodePtr> args, Expr expr)
      : BoundNode(type, true, std::move(expr), std::move(args)) {
    nullable = true;
    for (const auto& child : children)
      nullable = nullable && child->nullable;
  }

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    const int64_t n = ctx.num_rows;
    Words remaining = all_rows(n);
    std::vector<Source> sources;
    for (size_t k = 0; k < children.size() && any(remaining); ++k) {
      Words active = narrow(ctx, remaining);
      SLUICE_ASSIGN_OR_RETURN(Operand value,
                              evaluate_operand(*children[k], ctx.with_active(active.data())));
      // The first argument without nulls is the whole result: no copy.
      if (k == 0 && !value.is_scalar() && !value.column->has_nulls()) return value.column;
      Words taken = valid_rows(value, n);
      for (size_t w = 0; w < taken.size(); ++w) {
        taken[w] &= remaining[w];
        remaining[w] &= ~taken[w];
      }
      sources.push_back({std::move(value), std::move(taken)});
    }
    return assemble(type, n, sources);
  }
};

}  // namespace

BoundNodePtr make_case_node(Type type, std::vector<BoundNodePtr> conditions,
                            std::vector<BoundNodePtr> values, BoundNodePtr otherwise, Expr expr) {
  return std::make_shared<CaseNode>(type, std::move(conditions), std::move(values),
                                    std::move(otherwise), std::move(expr));
}

BoundNodePtr make_coalesce_node(Type type, std::vector<BoundNodePtr> args, Expr expr) {
  return std::make_shared<CoalesceNode>(type, std::move(args), std::move(expr));
}

}  // namespace sluice
