#include "operators/expression.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "operators/expression_node.hpp"

namespace sluice {

namespace {

Expr make(ExprNode node) {
  return Expr(std::make_shared<const ExprNode>(std::move(node)));
}

Expr make_call(ExprKind kind, std::string name, std::vector<Expr> children) {
  ExprNode node;
  node.kind = kind;
  node.name = std::move(name);
  node.children = std::move(children);
  return make(std::move(node));
}

const std::string& empty_string() {
  static const std::string empty;
  return empty;
}

std::string quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

std::string render_literal(const ExprNode& node) {
  if (node.interval) return "INTERVAL " + quote(node.name);
  const Value& v = node.value;
  if (v.is_null()) return "NULL";
  switch (*v.type()) {
    case Type::String:
      return quote(v.as_string());
    case Type::Timestamp:
      return "TIMESTAMP " + quote(v.to_string());
    default:
      return v.to_string();
  }
}

std::string join(const std::vector<Expr>& exprs, size_t begin = 0) {
  std::string out;
  for (size_t i = begin; i < exprs.size(); ++i) {
    if (i > begin) out += ", ";
    out += exprs[i].to_string();
  }
  return out;
}

std::string upper_ascii(std::string text) {
  for (auto& c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return text;
}

bool same_value(const Value& a, const Value& b) {
  // NaN literals are the same literal, though NaN != NaN as numbers.
  if (a.type() == Type::Double && b.type() == Type::Double) {
    const double x = a.as_double(), y = b.as_double();
    return std::memcmp(&x, &y, sizeof x) == 0;
  }
  return a == b;
}

void collect_columns(const Expr& e, std::vector<std::string>& names,
                     std::unordered_set<std::string>& seen) {
  if (e.kind() == ExprKind::column) {
    if (seen.insert(e.column_name()).second) names.push_back(e.column_name());
    return;
  }
  for (const auto& child : e.children())
    collect_columns(child, names, seen);
}

Expr binary(std::string op, Expr a, Expr b) {
  return make_call(ExprKind::binary, std::move(op), {std::move(a), std::move(b)});
}

Expr unary(std::string op, Expr a) {
  return make_call(ExprKind::unary, std::move(op), {std::move(a)});
}

Expr function(std::string name, std::vector<Expr> args) {
  return make_call(ExprKind::function, std::move(name), std::move(args));
}

}  // namespace

Expr::Expr() : node_(std::make_shared<const ExprNode>()) {}

ExprKind Expr::kind() const {
  return node_->kind;
}
const std::vector<Expr>& Expr::children() const {
  return node_->children;
}
const std::string& Expr::column_name() const {
  return node_->kind == ExprKind::column ? node_->name : empty_string();
}
const Value& Expr::literal() const {
  static const Value null_value;
  return node_->kind == ExprKind::literal ? node_->value : null_value;
}
std::optional<Type> Expr::literal_type() const {
  return node_->kind == ExprKind::literal ? node_->type : std::nullopt;
}
bool Expr::is_interval() const {
  return node_->interval;
}
const std::string& Expr::function_name() const {
  switch (node_->kind) {
    case ExprKind::column:
    case ExprKind::literal:
      return empty_string();
    default:
      return node_->name;
  }
}
Type Expr::cast_type() const {
  return node_->type.value_or(Type::Int64);
}
const std::string& Expr::alias_name() const {
  return node_->kind == ExprKind::alias ? node_->name : empty_string();
}
bool Expr::has_else() const {
  return node_->has_else;
}

std::string Expr::to_string() const {
  const ExprNode& n = *node_;
  const auto& c = n.children;
  switch (n.kind) {
    case ExprKind::column:
      return n.name;
    case ExprKind::literal:
      return render_literal(n);
    case ExprKind::unary:
      if (n.name == "not") return "(NOT " + c[0].to_string() + ")";
      if (n.name == "is_null") return "(" + c[0].to_string() + " IS NULL)";
      if (n.name == "is_not_null") return "(" + c[0].to_string() + " IS NOT NULL)";
      return "(" + n.name + " " + c[0].to_string() + ")";
    case ExprKind::binary: {
      const std::string op = n.name == "and" || n.name == "or" ? upper_ascii(n.name) : n.name;
      return "(" + c[0].to_string() + " " + op + " " + c[1].to_string() + ")";
    }
    case ExprKind::function:
      if (n.name == "like" && c.size() == 2) {
        return c[0].to_string() + " LIKE " + c[1].to_string();
      }
      // A field of from_json / from_csv (operators/record_format.hpp).
      if (n.name == "get_field" && c.size() == 2 && c[1].kind() == ExprKind::literal &&
          c[1].literal().type() == Type::String) {
        return c[0].to_string() + "." + c[1].literal().as_string();
      }
      return n.name + "(" + join(c) + ")";
    case ExprKind::udf:
      return n.name + "(" + join(c) + ")";
    case ExprKind::case_when: {
      std::string out = "CASE";
      const size_t branch_children = n.has_else ? c.size() - 1 : c.size();
      for (size_t i = 0; i + 1 < branch_children; i += 2) {
        out += " WHEN " + c[i].to_string() + " THEN " + c[i + 1].to_string();
      }
      if (n.has_else) out += " ELSE " + c.back().to_string();
      return out + " END";
    }
    case ExprKind::cast:
      return "CAST(" + c[0].to_string() + " AS " + std::string(type_name(*n.type)) + ")";
    case ExprKind::alias:
      return c[0].to_string() + " AS " + n.name;
    case ExprKind::in_list:
      return "(" + c[0].to_string() + " IN (" + join(c, 1) + "))";
  }
  return "?";
}

std::string Expr::output_name() const {
  if (node_->kind == ExprKind::alias || node_->kind == ExprKind::column) return node_->name;
  return to_string();
}

Expr Expr::alias(std::string name) const {
  return make_call(ExprKind::alias, std::move(name), {*this});
}

Expr Expr::cast(Type type) const {
  ExprNode node;
  node.kind = ExprKind::cast;
  node.name = "cast";
  node.type = type;
  node.children = {*this};
  return make(std::move(node));
}

Expr Expr::strict_cast(Type type) const {
  ExprNode node;
  node.kind = ExprKind::cast;
  node.name = "strict_cast";
  node.type = type;
  node.strict = true;
  node.children = {*this};
  return make(std::move(node));
}

Expr Expr::is_null() const {
  return unary("is_null", *this);
}
Expr Expr::is_not_null() const {
  return unary("is_not_null", *this);
}

Expr Expr::isin(std::vector<Value> values) const {
  std::vector<Expr> children{*this};
  for (auto& v : values)
    children.push_back(lit(std::move(v)));
  return make_call(ExprKind::in_list, "in", std::move(children));
}

Expr Expr::like(std::string pattern) const {
  return function("like", {*this, lit(std::move(pattern))});
}
Expr Expr::starts_with(Expr prefix) const {
  return function("startswith", {*this, std::move(prefix)});
}
Expr Expr::contains(Expr part) const {
  return function("contains", {*this, std::move(part)});
}

std::vector<std::string> Expr::referenced_columns() const {
  std::vector<std::string> names;
  std::unordered_set<std::string> seen;
  collect_columns(*this, names, seen);
  return names;
}

Expr Expr::with_children(std::vector<Expr> children) const {
  ExprNode node = *node_;
  node.children = std::move(children);
  return make(std::move(node));
}

bool Expr::is_deterministic() const {
  if (node_->kind == ExprKind::udf && node_->function && !node_->function->deterministic) {
    return false;
  }
  return std::all_of(node_->children.begin(), node_->children.end(),
                     [](const Expr& child) { return child.is_deterministic(); });
}

bool Expr::equals(const Expr& other) const {
  if (node_ == other.node_) return true;
  const ExprNode& a = *node_;
  const ExprNode& b = *other.node_;
  if (a.kind != b.kind || a.name != b.name || !same_value(a.value, b.value) || a.type != b.type ||
      a.interval != b.interval || a.strict != b.strict || a.has_else != b.has_else ||
      a.function != b.function || a.children.size() != b.children.size()) {
    return false;
  }
  for (size_t i = 0; i < a.children.size(); ++i) {
    if (!a.children[i].equals(b.children[i])) return false;
  }
  return true;
}

Expr col(std::string name) {
  ExprNode node;
  node.kind = ExprKind::column;
  node.name = std::move(name);
  return make(std::move(node));
}

Expr lit(Value v) {
  ExprNode node;
  node.kind = ExprKind::literal;
  node.type = v.type();
  node.value = std::move(v);
  return make(std::move(node));
}

Expr lit_null(Type type) {
  ExprNode node;
  node.kind = ExprKind::literal;
  node.type = type;
  return make(std::move(node));
}

Expr operator+(Expr a, Expr b) {
  return binary("+", std::move(a), std::move(b));
}
Expr operator-(Expr a, Expr b) {
  return binary("-", std::move(a), std::move(b));
}
Expr operator*(Expr a, Expr b) {
  return binary("*", std::move(a), std::move(b));
}
Expr operator/(Expr a, Expr b) {
  return binary("/", std::move(a), std::move(b));
}
Expr operator%(Expr a, Expr b) {
  return binary("%", std::move(a), std::move(b));
}
Expr operator+(Expr a, Value b) {
  return std::move(a) + lit(std::move(b));
}
Expr operator-(Expr a, Value b) {
  return std::move(a) - lit(std::move(b));
}
Expr operator*(Expr a, Value b) {
  return std::move(a) * lit(std::move(b));
}
Expr operator/(Expr a, Value b) {
  return std::move(a) / lit(std::move(b));
}
Expr operator%(Expr a, Value b) {
  return std::move(a) % lit(std::move(b));
}
Expr operator+(Value a, Expr b) {
  return lit(std::move(a)) + std::move(b);
}
Expr operator-(Value a, Expr b) {
  return lit(std::move(a)) - std::move(b);
}
Expr operator*(Value a, Expr b) {
  return lit(std::move(a)) * std::move(b);
}
Expr operator/(Value a, Expr b) {
  return lit(std::move(a)) / std::move(b);
}
Expr operator%(Value a, Expr b) {
  return lit(std::move(a)) % std::move(b);
}
Expr operator-(Expr a) {
  return unary("-", std::move(a));
}

Expr operator==(Expr a, Expr b) {
  return binary("=", std::move(a), std::move(b));
}
Expr operator!=(Expr a, Expr b) {
  return binary("!=", std::move(a), std::move(b));
}
Expr operator<(Expr a, Expr b) {
  return binary("<", std::move(a), std::move(b));
}
Expr operator<=(Expr a, Expr b) {
  return binary("<=", std::move(a), std::move(b));
}
Expr operator>(Expr a, Expr b) {
  return binary(">", std::move(a), std::move(b));
}
Expr operator>=(Expr a, Expr b) {
  return binary(">=", std::move(a), std::move(b));
}
Expr operator==(Expr a, Value b) {
  return std::move(a) == lit(std::move(b));
}
Expr operator!=(Expr a, Value b) {
  return std::move(a) != lit(std::move(b));
}
Expr operator<(Expr a, Value b) {
  return std::move(a) < lit(std::move(b));
}
Expr operator<=(Expr a, Value b) {
  return std::move(a) <= lit(std::move(b));
}
Expr operator>(Expr a, Value b) {
  return std::move(a) > lit(std::move(b));
}
Expr operator>=(Expr a, Value b) {
  return std::move(a) >= lit(std::move(b));
}
Expr operator==(Value a, Expr b) {
  return lit(std::move(a)) == std::move(b);
}
Expr operator!=(Value a, Expr b) {
  return lit(std::move(a)) != std::move(b);
}
Expr operator<(Value a, Expr b) {
  return lit(std::move(a)) < std::move(b);
}
Expr operator<=(Value a, Expr b) {
  return lit(std::move(a)) <= std::move(b);
}
Expr operator>(Value a, Expr b) {
  return lit(std::move(a)) > std::move(b);
}
Expr operator>=(Value a, Expr b) {
  return lit(std::move(a)) >= std::move(b);
}

Expr operator&&(Expr a, Expr b) {
  return binary("and", std::move(a), std::move(b));
}
Expr operator||(Expr a, Expr b) {
  return binary("or", std::move(a), std::move(b));
}
Expr operator!(Expr a) {
  return unary("not", std::move(a));
}

Expr coalesce(std::vector<Expr> args) {
  return function("coalesce", std::move(args));
}
Expr lower(Expr e) {
  return function("lower", {std::move(e)});
}
Expr upper(Expr e) {
  return function("upper", {std::move(e)});
}
Expr length(Expr e) {
  return function("length", {std::move(e)});
}
Expr substring(Expr e, int64_t pos, int64_t len) {
  return function("substring", {std::move(e), lit(pos), lit(len)});
}
Expr concat(std::vector<Expr> args) {
  return function("concat", std::move(args));
}
Expr trim(Expr e) {
  return function("trim", {std::move(e)});
}
Expr to_timestamp(Expr e, std::string format) {
  return function("to_timestamp", {std::move(e), lit(std::move(format))});
}
Expr date_trunc(std::string unit, Expr e) {
  return function("date_trunc", {lit(std::move(unit)), std::move(e)});
}
Expr year(Expr e) {
  return function("year", {std::move(e)});
}
Expr month(Expr e) {
  return function("month", {std::move(e)});
}
Expr day(Expr e) {
  return function("day", {std::move(e)});
}
Expr hour(Expr e) {
  return function("hour", {std::move(e)});
}
Expr minute(Expr e) {
  return function("minute", {std::move(e)});
}
Expr second(Expr e) {
  return function("second", {std::move(e)});
}
Expr unix_micros(Expr e) {
  return function("unix_micros", {std::move(e)});
}
Expr timestamp_micros(Expr e) {
  return function("timestamp_micros", {std::move(e)});
}

Expr interval(std::string text) {
  ExprNode node;
  node.kind = ExprKind::literal;
  node.interval = true;
  node.type = Type::Int64;
  auto micros = parse_interval(text);
  // Text that does not parse stays as a string and fails at bind with parse_interval's error.
  node.value = micros.ok() ? Value(*micros) : Value(text);
  node.name = std::move(text);
  return make(std::move(node));
}

Expr hash(std::vector<Expr> args) {
  return function("hash", std::move(args));
}

CaseBuilder CaseBuilder::when(Expr cond, Expr value) && {
  branches_.push_back(std::move(cond));
  branches_.push_back(std::move(value));
  return std::move(*this);
}

Expr CaseBuilder::otherwise(Expr value) && {
  ExprNode node;
  node.kind = ExprKind::case_when;
  node.name = "case";
  node.has_else = true;
  node.children = std::move(branches_);
  node.children.push_back(std::move(value));
  return make(std::move(node));
}

CaseBuilder::operator Expr() const {
  ExprNode node;
  node.kind = ExprKind::case_when;
  node.name = "case";
  node.children = branches_;
  return make(std::move(node));
}

CaseBuilder when(Expr cond, Expr value) {
  return CaseBuilder({std::move(cond), std::move(value)});
}

Expr call_user_function(std::shared_ptr<const UserFunctionDefinition> definition,
                        std::vector<Expr> args) {
  ExprNode node;
  node.kind = ExprKind::udf;
  node.name = definition->name;
  node.function = std::move(definition);
  node.children = std::move(args);
  return make(std::move(node));
}

Expr batch_udf(std::string name, Type result_type, BatchFunction fn, std::vector<Expr> args,
               bool deterministic) {
  auto definition = std::make_shared<UserFunctionDefinition>();
  definition->name = std::move(name);
  definition->result_type = result_type;
  definition->deterministic = deterministic;
  definition->function = std::move(fn);
  return call_user_function(std::move(definition), std::move(args));
}

}  // namespace sluice
