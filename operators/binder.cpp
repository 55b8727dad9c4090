#include <algorithm>
#include <numeric>

#include "operators/bound_node.hpp"
#include "operators/expression.hpp"
#include "operators/expression_node.hpp"

namespace sluice {

namespace {

std::string name_of(Type type) {
  return std::string(type_name(type));
}

bool is_untyped_null(const Expr& e) {
  return e.kind() == ExprKind::literal && !e.literal_type().has_value();
}

Status type_error(const Expr& e, const std::string& op, Type a, Type b) {
  return Status::type_error("cannot apply '" + op + "' to " + name_of(a) + " and " + name_of(b) +
                            " in " + e.to_string());
}

Status type_error(const Expr& e, const std::string& op, Type a) {
  return Status::type_error("cannot apply '" + op + "' to " + name_of(a) + " in " + e.to_string());
}

Status arity_error(const Expr& e, const std::string& expected) {
  return Status::invalid_argument(e.function_name() + " takes " + expected + ", got " +
                                  std::to_string(e.children().size()) + " in " + e.to_string());
}

// Returns the common type of two branch types: equal types, or DOUBLE for BIGINT and DOUBLE.
std::optional<Type> unify(Type a, Type b) {
  if (a == b) return a;
  if (is_numeric(a) && is_numeric(b)) return Type::Double;
  return std::nullopt;
}

std::optional<ArithmeticOp> arithmetic_op(const std::string& name) {
  if (name == "+") return ArithmeticOp::add;
  if (name == "-") return ArithmeticOp::subtract;
  if (name == "*") return ArithmeticOp::multiply;
  if (name == "/") return ArithmeticOp::divide;
  if (name == "%") return ArithmeticOp::remainder;
  return std::nullopt;
}

std::optional<ComparisonOp> comparison_op(const std::string& name) {
  if (name == "=") return ComparisonOp::equal;
  if (name == "!=") return ComparisonOp::not_equal;
  if (name == "<") return ComparisonOp::less;
  if (name == "<=") return ComparisonOp::less_equal;
  if (name == ">") return ComparisonOp::greater;
  if (name == ">=") return ComparisonOp::greater_equal;
  return std::nullopt;
}

std::string lower_ascii(std::string text) {
  for (auto& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

class Binder {
 public:
  Binder(const Schema& schema, const EvalOptions& options)
      : schema_(schema),
        options_(options),
        empty_batch_(RecordBatch::make_unchecked(Schema::make({}).value(), {}, 1)) {}

  Result<BoundNodePtr> bind(const Expr& e, std::optional<Type> hint = std::nullopt) {
    SLUICE_ASSIGN_OR_RETURN(BoundNodePtr node, bind_unfolded(e, hint));
    return fold(std::move(node));
  }

 private:
  // Replaces a deterministic node over literals by its value (kept as is when it fails, so the
  // error surfaces at evaluation, for the rows that need it).
  BoundNodePtr fold(BoundNodePtr node) {
    if (node->literal || node->children.empty() || node->nondeterministic) return node;
    if (node->expr.kind() == ExprKind::udf) return node;
    for (const auto& child : node->children) {
      if (!child->literal) return node;
    }
    EvalContext ctx{*empty_batch_, 1, options_};
    auto column = node->evaluate(ctx);
    if (!column.ok()) return node;
    return make_literal_node((*column)->value_at(0), node->type, node->expr);
  }

  // Inserts a lenient cast when a node does not have the wanted type.
  BoundNodePtr coerce(BoundNodePtr node, Type type) {
    if (node->type == type) return node;
    Expr cast_expr = node->expr.cast(type);
    return fold(make_cast_node(type, false, std::move(node), std::move(cast_expr)));
  }

  // Binds two operands; an untyped NULL takes the other operand's type (or the hint).
  Result<std::pair<BoundNodePtr, BoundNodePtr>> bind_pair(const Expr& a, const Expr& b,
                                                          std::optional<Type> hint) {
    BoundNodePtr left, right;
    if (is_untyped_null(a) && !is_untyped_null(b)) {
      SLUICE_ASSIGN_OR_RETURN(right, bind(b, hint));
      SLUICE_ASSIGN_OR_RETURN(left, bind(a, right->type));
    } else {
      SLUICE_ASSIGN_OR_RETURN(left, bind(a, hint));
      SLUICE_ASSIGN_OR_RETURN(right, bind(b, left->type));
    }
    return std::make_pair(std::move(left), std::move(right));
  }

  // Binds a list of values that must share one type (CASE values, COALESCE arguments).
  Result<std::vector<BoundNodePtr>> bind_unified(const Expr& e, const std::vector<Expr>& exprs,
                                                 std::optional<Type> hint, Type& type) {
    std::vector<BoundNodePtr> nodes(exprs.size());
    std::optional<Type> common;
    for (size_t i = 0; i < exprs.size(); ++i) {
      if (is_untyped_null(exprs[i])) continue;
      SLUICE_ASSIGN_OR_RETURN(nodes[i], bind(exprs[i]));
      if (!common) {
        common = nodes[i]->type;
        continue;
      }
      auto unified = unify(*common, nodes[i]->type);
      if (!unified) {
        return Status::type_error("cannot unify " + name_of(*common) + " and " +
                                  name_of(nodes[i]->type) + " in " + e.to_string());
      }
      common = unified;
    }
    type = common ? *common : hint.value_or(Type::String);
    for (size_t i = 0; i < exprs.size(); ++i) {
      if (!nodes[i]) {
        SLUICE_ASSIGN_OR_RETURN(nodes[i], bind(exprs[i], type));
      }
      nodes[i] = coerce(nodes[i], type);
    }
    return nodes;
  }

  Result<BoundNodePtr> bind_typed(const Expr& e, const Expr& child, Type type,
                                  const std::string& op) {
    SLUICE_ASSIGN_OR_RETURN(BoundNodePtr node, bind(child, type));
    if (node->type != type) return type_error(e, op, node->type);
    return node;
  }

  // Binds a timestamp argument; strings are cast to TIMESTAMP as Spark does implicitly.
  Result<BoundNodePtr> bind_timestamp(const Expr& e, const Expr& child) {
    SLUICE_ASSIGN_OR_RETURN(BoundNodePtr node, bind(child, Type::Timestamp));
    if (node->type == Type::String) return coerce(std::move(node), Type::Timestamp);
    if (node->type != Type::Timestamp) return type_error(e, e.function_name(), node->type);
    return node;
  }

  Result<Value> literal_argument(const Expr& e, size_t index, Type type) {
    const Expr& arg = e.children()[index];
    if (arg.kind() != ExprKind::literal || arg.literal_type() != type || arg.literal().is_null()) {
      return Status::invalid_argument("argument " + std::to_string(index + 1) + " of " +
                                      e.function_name() + " must be a non-null " + name_of(type) +
                                      " literal in " + e.to_string());
    }
    return arg.literal();
  }

  Result<BoundNodePtr> bind_unfolded(const Expr& e, std::optional<Type> hint) {
    switch (e.kind()) {
      case ExprKind::column: {
        SLUICE_ASSIGN_OR_RETURN(int index, schema_.index_of(e.column_name()));
        return make_column_node(index, schema_.field(index), e);
      }
      case ExprKind::literal:
        return bind_literal(e, hint);
      case ExprKind::alias:
        return bind(e.children()[0], hint);
      case ExprKind::cast: {
        const Type to = e.cast_type();
        SLUICE_ASSIGN_OR_RETURN(BoundNodePtr child, bind(e.children()[0], to));
        if (!cast_supported(child->type, to)) {
          return Status::type_error("cannot cast " + name_of(child->type) + " to " + name_of(to) +
                                    " in " + e.to_string());
        }
        if (child->type == to) return child;
        return make_cast_node(to, e.node()->strict, std::move(child), e);
      }
      case ExprKind::unary:
        return bind_unary(e);
      case ExprKind::binary:
        return bind_binary(e, hint);
      case ExprKind::in_list:
        return bind_in(e);
      case ExprKind::case_when:
        return bind_case(e, hint);
      case ExprKind::function:
        return bind_function(e, hint);
      case ExprKind::udf:
        return bind_udf(e);
    }
    return Status::internal("unknown expression kind in " + e.to_string());
  }

  Result<BoundNodePtr> bind_literal(const Expr& e, std::optional<Type> hint) {
    if (e.is_interval()) {
      if (e.literal().type() != Type::Int64) return parse_interval(e.node()->name).status();
      return Status::type_error("an interval can only be added to or subtracted from a " +
                                std::string("TIMESTAMP, in ") + e.to_string());
    }
    const Type type = e.literal_type().value_or(hint.value_or(Type::String));
    return make_literal_node(e.literal(), type, e);
  }

  Result<BoundNodePtr> bind_unary(const Expr& e) {
    const std::string& op = e.function_name();
    const Expr& child = e.children()[0];
    if (op == "not") {
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr node, bind_typed(e, child, Type::Bool, "NOT"));
      return make_not_node(std::move(node), e);
    }
    if (op == "is_null" || op == "is_not_null") {
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr node, bind(child));
      return make_is_null_node(op == "is_not_null", std::move(node), e);
    }
    if (op == "-") {
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr node, bind(child, Type::Int64));
      if (!is_numeric(node->type)) return type_error(e, "-", node->type);
      return make_negate_node(std::move(node), e);
    }
    return Status::invalid_argument("unknown operator '" + op + "' in " + e.to_string());
  }

  Result<BoundNodePtr> bind_binary(const Expr& e, std::optional<Type> hint) {
    const std::string& op = e.function_name();
    const Expr& a = e.children()[0];
    const Expr& b = e.children()[1];
    if (op == "and" || op == "or") {
      SLUICE_ASSIGN_OR_RETURN(auto operands, bind_pair(a, b, Type::Bool));
      if (operands.first->type != Type::Bool || operands.second->type != Type::Bool) {
        return type_error(e, op == "and" ? "AND" : "OR", operands.first->type,
                          operands.second->type);
      }
      return make_logical_node(op == "and", std::move(operands.first), std::move(operands.second),
                               e);
    }
    if (auto comparison = comparison_op(op)) {
      SLUICE_ASSIGN_OR_RETURN(auto operands, bind_pair(a, b, std::nullopt));
      auto& [left, right] = operands;
      if (left->type != right->type) {
        if (is_numeric(left->type) && is_numeric(right->type)) {
          left = coerce(left, Type::Double);
          right = coerce(right, Type::Double);
        } else if (left->type == Type::Timestamp && right->type == Type::String) {
          right = coerce(right, Type::Timestamp);
        } else if (left->type == Type::String && right->type == Type::Timestamp) {
          left = coerce(left, Type::Timestamp);
        } else {
          return type_error(e, op, left->type, right->type);
        }
      }
      return make_comparison_node(*comparison, std::move(left), std::move(right), e);
    }
    if (auto arithmetic = arithmetic_op(op)) return bind_arithmetic(e, *arithmetic, hint);
    return Status::invalid_argument("unknown operator '" + op + "' in " + e.to_string());
  }

  Result<BoundNodePtr> bind_arithmetic(const Expr& e, ArithmeticOp op, std::optional<Type> hint) {
    const Expr& a = e.children()[0];
    const Expr& b = e.children()[1];
    const std::string& symbol = e.function_name();
    if (a.is_interval() || b.is_interval()) {
      // Only TIMESTAMP + INTERVAL, TIMESTAMP - INTERVAL and INTERVAL + TIMESTAMP exist.
      const bool interval_first = a.is_interval();
      const Expr& timestamp_side = interval_first ? b : a;
      const Expr& interval_side = interval_first ? a : b;
      const bool op_allowed =
          op == ArithmeticOp::add || (op == ArithmeticOp::subtract && !interval_first);
      if (interval_side.literal().type() != Type::Int64) {
        return parse_interval(interval_side.node()->name).status();
      }
      BoundNodePtr timestamp;
      if (!timestamp_side.is_interval()) {
        SLUICE_ASSIGN_OR_RETURN(timestamp, bind(timestamp_side, Type::Timestamp));
        if (timestamp->type == Type::String) timestamp = coerce(timestamp, Type::Timestamp);
      }
      if (!timestamp || timestamp->type != Type::Timestamp || !op_allowed) {
        return Status::type_error(
            "an interval can only be added to or subtracted from a TIMESTAMP (TIMESTAMP + "
            "INTERVAL, TIMESTAMP - INTERVAL, INTERVAL + TIMESTAMP), in " +
            e.to_string());
      }
      BoundNodePtr micros = make_literal_node(interval_side.literal(), Type::Int64, interval_side);
      return make_arithmetic_node(op, Type::Timestamp, std::move(timestamp), std::move(micros), e);
    }
    const std::optional<Type> numeric_hint =
        hint && is_numeric(*hint) ? hint : std::optional<Type>(Type::Int64);
    SLUICE_ASSIGN_OR_RETURN(auto operands, bind_pair(a, b, numeric_hint));
    auto& [left, right] = operands;
    if (!is_numeric(left->type) || !is_numeric(right->type)) {
      return type_error(e, symbol, left->type, right->type);
    }
    const bool as_double =
        op == ArithmeticOp::divide || left->type == Type::Double || right->type == Type::Double;
    const Type type = as_double ? Type::Double : Type::Int64;
    left = coerce(left, type);
    right = coerce(right, type);
    return make_arithmetic_node(op, type, std::move(left), std::move(right), e);
  }

  Result<BoundNodePtr> bind_in(const Expr& e) {
    const auto& children = e.children();
    SLUICE_ASSIGN_OR_RETURN(BoundNodePtr value, bind(children[0]));
    Type type = value->type;
    for (size_t i = 1; i < children.size(); ++i) {
      const Expr& item = children[i];
      if (item.kind() != ExprKind::literal || item.is_interval()) {
        return Status::invalid_argument("IN list values must be literals, got " + item.to_string() +
                                        " in " + e.to_string());
      }
      if (item.literal().is_null()) continue;
      const Type item_type = *item.literal().type();
      if (is_numeric(type) && is_numeric(item_type)) {
        if (item_type == Type::Double) type = Type::Double;
      } else if (item_type != type && !(type == Type::Timestamp && item_type == Type::String)) {
        return type_error(e, "IN", value->type, item_type);
      }
    }
    std::vector<Value> list;
    for (size_t i = 1; i < children.size(); ++i) {
      const Value& item = children[i].literal();
      if (item.is_null() || item.type() == type) {
        list.push_back(item);
        continue;
      }
      SLUICE_ASSIGN_OR_RETURN(Value converted, cast_value(item, type));
      if (converted.is_null()) {
        return Status::invalid_argument("IN list value " + children[i].to_string() +
                                        " is not a valid " + name_of(type) + " in " +
                                        e.to_string());
      }
      list.push_back(std::move(converted));
    }
    return make_in_node(coerce(std::move(value), type), std::move(list), e);
  }

  Result<BoundNodePtr> bind_case(const Expr& e, std::optional<Type> hint) {
    const auto& children = e.children();
    const size_t branch_children = e.has_else() ? children.size() - 1 : children.size();
    if (branch_children == 0 || branch_children % 2 != 0) {
      return Status::invalid_argument("CASE needs WHEN ... THEN ... pairs in " + e.to_string());
    }
    std::vector<BoundNodePtr> conditions;
    std::vector<Expr> value_exprs;
    for (size_t i = 0; i < branch_children; i += 2) {
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr condition,
                              bind_typed(e, children[i], Type::Bool, "WHEN"));
      conditions.push_back(std::move(condition));
      value_exprs.push_back(children[i + 1]);
    }
    if (e.has_else()) value_exprs.push_back(children.back());
    Type type;
    SLUICE_ASSIGN_OR_RETURN(auto values, bind_unified(e, value_exprs, hint, type));
    BoundNodePtr otherwise;
    if (e.has_else()) {
      otherwise = std::move(values.back());
      values.pop_back();
    }
    return make_case_node(type, std::move(conditions), std::move(values), std::move(otherwise), e);
  }

  Result<BoundNodePtr> bind_function(const Expr& e, std::optional<Type> hint) {
    const std::string& name = e.function_name();
    const auto& args = e.children();
    auto expect = [&](size_t count) -> Status {
      if (args.size() == count) return Status::ok();
      return arity_error(e, std::to_string(count) + (count == 1 ? " argument" : " arguments"));
    };
    if (name == "coalesce") {
      if (args.empty()) return arity_error(e, "at least one argument");
      Type type;
      SLUICE_ASSIGN_OR_RETURN(auto nodes, bind_unified(e, args, hint, type));
      return make_coalesce_node(type, std::move(nodes), e);
    }
    if (name == "lower" || name == "upper" || name == "length" || name == "trim") {
      SLUICE_RETURN_NOT_OK(expect(1));
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr child, bind_typed(e, args[0], Type::String, name));
      const StringFunction function = name == "lower"   ? StringFunction::lower
                                      : name == "upper" ? StringFunction::upper
                                      : name == "trim"  ? StringFunction::trim
                                                        : StringFunction::length;
      return make_string_function_node(function, std::move(child), e);
    }
    if (name == "substring") {
      SLUICE_RETURN_NOT_OK(expect(3));
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr child, bind_typed(e, args[0], Type::String, name));
      SLUICE_ASSIGN_OR_RETURN(Value pos, literal_argument(e, 1, Type::Int64));
      SLUICE_ASSIGN_OR_RETURN(Value len, literal_argument(e, 2, Type::Int64));
      return make_substring_node(std::move(child), pos.as_int64(), len.as_int64(), e);
    }
    if (name == "concat") {
      if (args.empty()) return arity_error(e, "at least one argument");
      std::vector<BoundNodePtr> nodes;
      for (const auto& arg : args) {
        SLUICE_ASSIGN_OR_RETURN(BoundNodePtr node, bind(arg, Type::String));
        if (!cast_supported(node->type, Type::String)) return type_error(e, name, node->type);
        nodes.push_back(coerce(std::move(node), Type::String));
      }
      return make_concat_node(std::move(nodes), e);
    }
    if (name == "like") {
      SLUICE_RETURN_NOT_OK(expect(2));
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr child, bind_typed(e, args[0], Type::String, "LIKE"));
      SLUICE_ASSIGN_OR_RETURN(Value pattern, literal_argument(e, 1, Type::String));
      return make_like_node(std::move(child), pattern.as_string(), e);
    }
    if (name == "startswith" || name == "contains") {
      SLUICE_RETURN_NOT_OK(expect(2));
      SLUICE_ASSIGN_OR_RETURN(auto operands, bind_pair(args[0], args[1], Type::String));
      if (operands.first->type != Type::String || operands.second->type != Type::String) {
        return type_error(e, name, operands.first->type, operands.second->type);
      }
      return make_string_match_node(
          name == "startswith" ? StringMatch::starts_with : StringMatch::contains,
          std::move(operands.first), std::move(operands.second), e);
    }
    if (name == "to_timestamp") {
      SLUICE_RETURN_NOT_OK(expect(2));
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr child, bind_typed(e, args[0], Type::String, name));
      SLUICE_ASSIGN_OR_RETURN(Value format, literal_argument(e, 1, Type::String));
      return make_to_timestamp_node(std::move(child), format.as_string(), e);
    }
    if (name == "unix_micros") {
      SLUICE_RETURN_NOT_OK(expect(1));
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr child, bind_timestamp(e, args[0]));
      return make_micros_node(Type::Int64, std::move(child), e);
    }
    if (name == "timestamp_micros") {
      SLUICE_RETURN_NOT_OK(expect(1));
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr child, bind_typed(e, args[0], Type::Int64, name));
      return make_micros_node(Type::Timestamp, std::move(child), e);
    }
    if (name == "date_trunc") {
      SLUICE_RETURN_NOT_OK(expect(2));
      SLUICE_ASSIGN_OR_RETURN(Value unit, literal_argument(e, 0, Type::String));
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr child, bind_timestamp(e, args[1]));
      return make_date_trunc_node(lower_ascii(unit.as_string()), std::move(child), e);
    }
    static const std::pair<const char*, TimestampField> kFields[] = {
        {"year", TimestampField::year},     {"month", TimestampField::month},
        {"day", TimestampField::day},       {"hour", TimestampField::hour},
        {"minute", TimestampField::minute}, {"second", TimestampField::second}};
    for (const auto& [field_name, field] : kFields) {
      if (name != field_name) continue;
      SLUICE_RETURN_NOT_OK(expect(1));
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr child, bind_timestamp(e, args[0]));
      return make_extract_node(field, std::move(child), e);
    }
    if (name == "hash") {
      if (args.empty()) return arity_error(e, "at least one argument");
      std::vector<BoundNodePtr> nodes;
      for (const auto& arg : args) {
        SLUICE_ASSIGN_OR_RETURN(BoundNodePtr node, bind(arg));
        nodes.push_back(std::move(node));
      }
      return make_hash_node(std::move(nodes), e);
    }
    if (is_record_format_function(name)) {
      std::vector<BoundNodePtr> nodes;
      for (const auto& input : record_format_inputs(e)) {
        SLUICE_ASSIGN_OR_RETURN(BoundNodePtr node, bind(input, Type::String));
        nodes.push_back(std::move(node));
      }
      return make_record_format_node(e, std::move(nodes));
    }
    return Status::invalid_argument("unknown function '" + name + "' in " + e.to_string());
  }

  Result<BoundNodePtr> bind_udf(const Expr& e) {
    const auto& definition = e.node()->function;
    const auto& args = e.children();
    if (!definition || !definition->function) {
      return Status::invalid_argument("udf '" + e.function_name() + "' has no function in " +
                                      e.to_string());
    }
    std::vector<BoundNodePtr> nodes;
    if (!definition->argument_types) {
      for (const auto& arg : args) {
        SLUICE_ASSIGN_OR_RETURN(BoundNodePtr node, bind(arg));
        nodes.push_back(std::move(node));
      }
      return make_udf_node(definition, std::move(nodes), e);
    }
    const auto& types = *definition->argument_types;
    auto signature_error = [&]() {
      std::string expected, given;
      for (Type t : types)
        expected += (expected.empty() ? "" : ", ") + name_of(t);
      for (const auto& node : nodes)
        given += (given.empty() ? "" : ", ") + name_of(node->type);
      return Status::type_error("udf '" + definition->name + "' takes (" + expected + "), got (" +
                                given + ") in " + e.to_string());
    };
    if (args.size() != types.size()) {
      return Status::type_error("udf '" + definition->name + "' takes " +
                                std::to_string(types.size()) + " arguments, got " +
                                std::to_string(args.size()) + " in " + e.to_string());
    }
    for (size_t i = 0; i < args.size(); ++i) {
      SLUICE_ASSIGN_OR_RETURN(BoundNodePtr node, bind(args[i], types[i]));
      nodes.push_back(std::move(node));
    }
    for (size_t i = 0; i < args.size(); ++i) {
      if (nodes[i]->type == types[i]) continue;
      if (nodes[i]->type == Type::Int64 && types[i] == Type::Double) {
        nodes[i] = coerce(nodes[i], Type::Double);
        continue;
      }
      return signature_error();
    }
    return make_udf_node(definition, std::move(nodes), e);
  }

  const Schema& schema_;
  EvalOptions options_;
  RecordBatchPtr empty_batch_;
};

}  // namespace

BoundExpr::BoundExpr(std::shared_ptr<const BoundNode> root, Expr expr, EvalOptions options)
    : root_(std::move(root)), expr_(std::move(expr)), options_(options) {}

Type BoundExpr::type() const {
  return root_->type;
}
bool BoundExpr::nullable() const {
  return root_->nullable;
}
const Expr& BoundExpr::expr() const {
  return expr_;
}
std::string BoundExpr::to_string() const {
  return expr_.to_string();
}

Result<ColumnPtr> BoundExpr::evaluate(const RecordBatch& batch) const {
  EvalContext ctx{batch, batch.num_rows(), options_};
  return root_->evaluate(ctx);
}

Status BoundExpr::select(const RecordBatch& batch, std::vector<int32_t>& selection) const {
  selection.clear();
  if (root_->type != Type::Bool) {
    return Status::type_error("a filter needs a BOOLEAN predicate, got " + name_of(root_->type) +
                              " in " + expr_.to_string());
  }
  const int64_t num_rows = batch.num_rows();
  if (num_rows > INT32_MAX) {
    return Status::invalid_argument("cannot select from a batch of " + std::to_string(num_rows) +
                                    " rows (at most 2^31-1)");
  }
  if (root_->literal) {
    if (!root_->literal->is_null() && root_->literal->as_bool()) {
      selection.resize(static_cast<size_t>(num_rows));
      std::iota(selection.begin(), selection.end(), 0);
    }
    return Status::ok();
  }
  EvalContext ctx{batch, num_rows, options_};
  SLUICE_ASSIGN_OR_RETURN(ColumnPtr mask, root_->evaluate(ctx));
  validity::select_rows(mask->values<uint8_t>(), validity::of(*mask), num_rows, selection);
  return Status::ok();
}

Result<BoundExpr> bind(const Expr& expr, const Schema& schema, const EvalOptions& options) {
  Binder binder(schema, options);
  SLUICE_ASSIGN_OR_RETURN(BoundNodePtr root, binder.bind(expr));
  return BoundExpr(std::move(root), expr, options);
}

Result<Type> infer_type(const Expr& expr, const Schema& schema) {
  SLUICE_ASSIGN_OR_RETURN(BoundExpr bound, bind(expr, schema));
  return bound.type();
}

}  // namespace sluice
