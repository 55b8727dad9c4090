#include "operators/bound_node.hpp"

#include <cstring>

namespace sluice {

namespace {

class ColumnNode final : public BoundNode {
 public:
  ColumnNode(int index, const Field& field, Expr expr)
      : BoundNode(field.type, field.nullable, std::move(expr)), index_(index) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    if (index_ >= ctx.batch.num_columns() || ctx.batch.column(index_)->type() != type) {
      return Status::invalid_argument("column '" + expr.column_name() +
                                      "' is not where the expression was bound: batch schema (" +
                                      ctx.batch.schema()->to_string() + ")");
    }
    return ctx.batch.column(index_);
  }

 private:
  int index_;
};

class LiteralNode final : public BoundNode {
 public:
  LiteralNode(Value value, Type type, Expr expr)
      : BoundNode(type, value.is_null(), std::move(expr)) {
    literal = std::move(value);
  }

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    return broadcast(type, *literal, ctx.num_rows);
  }
};

}  // namespace

BoundNodePtr make_column_node(int index, const Field& field, Expr expr) {
  return std::make_shared<ColumnNode>(index, field, std::move(expr));
}

BoundNodePtr make_literal_node(Value value, Type type, Expr expr) {
  return std::make_shared<LiteralNode>(std::move(value), type, std::move(expr));
}

Result<Operand> evaluate_operand(const BoundNode& node, const EvalContext& ctx) {
  Operand operand;
  if (node.literal) {
    operand.scalar = &*node.literal;
    return operand;
  }
  SLUICE_ASSIGN_OR_RETURN(operand.column, node.evaluate(ctx));
  return operand;
}

int64_t scalar_int64(const Value& value) {
  switch (*value.type()) {
    case Type::Bool:
      return value.as_bool() ? 1 : 0;
    case Type::Timestamp:
      return value.as_timestamp().micros;
    case Type::Double:
      return static_cast<int64_t>(value.as_double());
    default:
      return value.as_int64();
  }
}

double scalar_double(const Value& value) {
  if (value.type() == Type::Double) return value.as_double();
  return static_cast<double>(scalar_int64(value));
}

std::shared_ptr<Buffer> allocate_values(Type type, int64_t length) {
  return Buffer::allocate(length * value_width(type));
}

ColumnPtr broadcast(Type type, const Value& value, int64_t length) {
  if (value.is_null()) return Column::make_null(type, length);
  if (type == Type::String) {
    const std::string& text = value.as_string();
    const int64_t size = static_cast<int64_t>(text.size());
    auto offsets = Buffer::allocate((length + 1) * 8);
    auto data = Buffer::allocate(size * length);
    int64_t* o = offsets->mutable_as<int64_t>();
    for (int64_t i = 0; i <= length; ++i)
      o[i] = i * size;
    for (int64_t i = 0; i < length; ++i) {
      std::memcpy(data->mutable_data() + i * size, text.data(), text.size());
    }
    return Column::make_unchecked(type, length, std::move(offsets), nullptr, std::move(data));
  }
  auto values = allocate_values(type, length);
  if (type == Type::Bool) {
    std::memset(values->mutable_data(), value.as_bool() ? 1 : 0, static_cast<size_t>(length));
  } else if (type == Type::Double) {
    const double v = scalar_double(value);
    double* out = values->mutable_as<double>();
    for (int64_t i = 0; i < length; ++i)
      out[i] = v;
  } else {
    const int64_t v = scalar_int64(value);
    int64_t* out = values->mutable_as<int64_t>();
    for (int64_t i = 0; i < length; ++i)
      out[i] = v;
  }
  return Column::make_unchecked(type, length, std::move(values), nullptr);
}

}  // namespace sluice
