#include "sql/expression_translator.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "operators/record_format.hpp"
#include "sql/sql_lexer.hpp"
#include "sql/type_names.hpp"

namespace sluice {

namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;

// Interval field bits of PostgreSQL's INTERVAL typmod (datetime.h: INTERVAL_MASK).
constexpr int64_t kMonthField = 1 << 1;
constexpr int64_t kYearField = 1 << 2;
constexpr int64_t kDayField = 1 << 3;
constexpr int64_t kHourField = 1 << 10;
constexpr int64_t kMinuteField = 1 << 11;
constexpr int64_t kSecondField = 1 << 12;

const std::vector<std::string>& scalar_function_names() {
  static const std::vector<std::string> names = {
      "lower",    "upper",    "length",  "char_length",  "character_length", "substring",
      "substr",   "concat",   "trim",    "btrim",        "to_timestamp",     "date_trunc",
      "year",     "month",    "day",     "hour",         "minute",           "second",
      "hash",     "coalesce", "extract", "date_part",    "starts_with",      "from_json",
      "from_csv", "to_json",  "to_csv",  "named_struct", "unix_micros",      "timestamp_micros"};
  return names;
}

const std::vector<std::string>& aggregate_function_names() {
  static const std::vector<std::string> names = {"count", "sum",   "avg",  "min",
                                                 "max",   "first", "last", "approx_count_distinct"};
  return names;
}

std::string list_names(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names)
    text += (text.empty() ? "" : ", ") + name;
  return text;
}

// Returns the String values of a list of {"String": {"sval": ...}} nodes.
std::vector<std::string> string_list(const std::vector<const ParseNode*>& nodes) {
  std::vector<std::string> out;
  for (const ParseNode* node : nodes) {
    if (node->node_type() == "String") out.push_back(node->body().string_field("sval"));
  }
  return out;
}

// Returns the lower-case name of a FuncCall's body, without the pg_catalog qualifier.
std::string name_of_function(const ParseNode& body) {
  std::vector<std::string> names = string_list(body.list("funcname"));
  if (names.empty()) return "";
  std::string name = names.back();
  for (char& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string plural(int64_t amount, const char* unit) {
  return std::to_string(amount) + " " + unit + (amount == 1 || amount == -1 ? "" : "s");
}

bool is_plain_integer(std::string_view text) {
  size_t i = text.size() > 0 && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  if (i == text.size()) return false;
  for (; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

}  // namespace

Expr AggregateCollector::add(const AggregateCall& call, Type type, bool reuse_aliased) {
  auto has_alias = [](const AggregateCall& c) { return c.output_name() != c.to_string(); };
  auto same_argument = [](const AggregateCall& a, const AggregateCall& b) {
    if (a.argument().has_value() != b.argument().has_value()) return false;
    return !a.argument() || a.argument()->equals(*b.argument());
  };
  std::string name = call.output_name();
  bool found = false;
  for (const auto& existing : calls_) {
    if (existing.kind() != call.kind() || !same_argument(existing, call)) continue;
    const bool reuse = has_alias(call) ? existing.output_name() == call.output_name()
                                       : !has_alias(existing) || reuse_aliased;
    if (reuse) {
      name = existing.output_name();
      found = true;
      break;
    }
  }
  if (!found) {
    calls_.push_back(call);
    fields_.push_back({name, type, true});
  }
  Expr placeholder = col(name);
  placeholders_.insert(placeholder.node().get());
  return placeholder;
}

size_t ExpressionTranslator::offset_of(int64_t location, size_t fallback) const {
  if (location < 0) return fallback;
  return static_cast<size_t>(std::max<int64_t>(0, base_ + location));
}

size_t ExpressionTranslator::offset(const ParseNode& node, size_t fallback) const {
  const ParseNode& body = node.body();
  int64_t location = body.location();
  if (location < 0) {
    // A literal such as INTERVAL '10' SECOND carries its place on its type name or argument.
    if (const ParseNode* type_name = body.get("typeName")) location = type_name->location();
  }
  if (location < 0) {
    if (const ParseNode* arg = body.get("arg")) location = arg->body().location();
  }
  return offset_of(location, fallback);
}

Status ExpressionTranslator::error(const ParseNode& node, StatusCode code,
                                   const std::string& message) const {
  return source_.error_at(offset(node, offset_of(0)), code, message);
}

std::optional<size_t> ExpressionTranslator::column_offset(const Expr& expr) const {
  auto it = column_offsets_.find(expr.node().get());
  if (it == column_offsets_.end()) return std::nullopt;
  return it->second;
}

std::string ExpressionTranslator::format_duration(int64_t micros) {
  struct Unit {
    int64_t micros;
    const char* name;
  };
  static constexpr Unit units[] = {{86'400 * kMicrosPerSecond, "day"},
                                   {3'600 * kMicrosPerSecond, "hour"},
                                   {60 * kMicrosPerSecond, "minute"},
                                   {kMicrosPerSecond, "second"},
                                   {1'000, "millisecond"},
                                   {1, "microsecond"}};
  if (micros == 0) return "0 seconds";
  for (const auto& unit : units) {
    if (micros % unit.micros == 0) return plural(micros / unit.micros, unit.name);
  }
  return plural(micros, "microsecond");
}

Result<Expr> ExpressionTranslator::checked(Expr expr, const ExpressionScope& scope,
                                           size_t at) const {
  const Schema* schema = scope.schema.get();
  SchemaPtr extended;
  const bool has_aggregates = scope.aggregates && !scope.aggregates->fields().empty();
  if (!scope.grouped_columns.empty() || has_aggregates) {
    std::vector<Field> fields = schema->fields();
    auto add = [&](const Field& field) {
      for (const auto& existing : fields) {
        if (existing.name == field.name) return;
      }
      fields.push_back(field);
    };
    for (const auto& column : scope.grouped_columns)
      add({column.column, column.type, false});
    if (has_aggregates) {
      for (const auto& field : scope.aggregates->fields())
        add(field);
    }
    auto made = Schema::make(std::move(fields));
    if (made.ok()) {
      extended = *made;
      schema = extended.get();
    }
  }
  auto type = infer_type(expr, *schema);
  if (!type.ok()) return source_.locate(at, type.status());
  return expr;
}

Result<Expr> ExpressionTranslator::translate(const ParseNode& node, const ExpressionScope& scope) {
  const std::string_view type = node.node_type();
  const ParseNode& body = node.body();
  if (type == "A_Const") return translate_const(body);
  if (type == "ColumnRef") return translate_column(body, scope);
  if (type == "A_Expr") return translate_a_expr(body, scope);
  if (type == "BoolExpr") return translate_bool(body, scope);
  if (type == "CaseExpr") return translate_case(body, scope);
  if (type == "TypeCast") return translate_cast(body, scope);
  if (type == "FuncCall") {
    if (auto bound = over_columns_.find(&body); bound != over_columns_.end()) return bound->second;
    if (is_over_call(node)) {
      return error(node, StatusCode::invalid_argument,
                   function_name(node) +
                       "(...) OVER (...) is supported only in the SELECT list of a "
                       "query without GROUP BY (compute it in a subquery to filter on it)");
    }
    if (is_aggregate_call(node)) return translate_aggregate(node, scope, "");
    return translate_function(body, scope);
  }
  if (type == "NullTest") {
    const ParseNode* arg = body.get("arg");
    if (arg == nullptr) return error(node, StatusCode::invalid_argument, "IS NULL without operand");
    SLUICE_ASSIGN_OR_RETURN(Expr operand, translate(*arg, scope));
    const bool negated = body.string_field("nulltesttype") == "IS_NOT_NULL";
    return checked(negated ? operand.is_not_null() : operand.is_null(), scope, offset(node));
  }
  if (type == "BooleanTest") {
    const ParseNode* arg = body.get("arg");
    if (arg == nullptr) return error(node, StatusCode::invalid_argument, "IS TRUE without operand");
    SLUICE_ASSIGN_OR_RETURN(Expr operand, translate(*arg, scope));
    const std::string test = body.string_field("booltesttype");
    Expr result;
    if (test == "IS_TRUE") result = coalesce({operand, lit(false)});
    if (test == "IS_NOT_TRUE") result = !coalesce({operand, lit(false)});
    if (test == "IS_FALSE") result = coalesce({!operand, lit(false)});
    if (test == "IS_NOT_FALSE") result = !coalesce({!operand, lit(false)});
    if (test == "IS_UNKNOWN") result = operand.is_null();
    if (test == "IS_NOT_UNKNOWN") result = operand.is_not_null();
    return checked(result, scope, offset(node));
  }
  if (type == "CoalesceExpr") {
    std::vector<Expr> args;
    SLUICE_RETURN_NOT_OK(translate_children(body.list("args"), scope, args));
    return checked(coalesce(std::move(args)), scope, offset(node));
  }
  if (type == "SubLink") {
    return error(node, StatusCode::invalid_argument,
                 "subqueries inside expressions are not supported; use a subquery in FROM");
  }
  if (type == "ParamRef") {
    return error(node, StatusCode::invalid_argument, "query parameters ($1) are not supported");
  }
  if (type == "SQLValueFunction") {
    return error(node, StatusCode::invalid_argument,
                 "CURRENT_TIMESTAMP and similar functions are not supported: a streaming query "
                 "computes with the event time of its rows");
  }
  if (type == "MinMaxExpr") {
    return error(node, StatusCode::invalid_argument,
                 "GREATEST and LEAST are not supported; use CASE WHEN");
  }
  if (type == "A_Indirection" || type == "A_ArrayExpr" || type == "RowExpr") {
    return error(node, StatusCode::invalid_argument,
                 "arrays, rows and field access are not supported (Sluice columns are scalar)");
  }
  return error(
      node, StatusCode::invalid_argument,
      "this kind of expression (" + std::string(type.empty() ? "?" : type) + ") is not supported");
}

Status ExpressionTranslator::translate_children(const std::vector<const ParseNode*>& nodes,
                                                const ExpressionScope& scope,
                                                std::vector<Expr>& out) {
  for (const ParseNode* node : nodes) {
    SLUICE_ASSIGN_OR_RETURN(Expr expr, translate(*node, scope));
    out.push_back(std::move(expr));
  }
  return Status::ok();
}

Result<int64_t> ExpressionTranslator::integer_text(size_t at) const {
  // libpg_query's JSON leaves out negative and zero integers, so they are read from the text:
  // the constant's location points at its first '-' (PostgreSQL folds negation into it).
  const std::string& text = source_.text();
  bool negative = false;
  size_t i = at;
  while (i < text.size() && (text[i] == '-' || text[i] == '+' || text[i] == '(' ||
                             std::isspace(static_cast<unsigned char>(text[i])))) {
    if (text[i] == '-') negative = !negative;
    ++i;
  }
  size_t end = i;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end])))
    ++end;
  int64_t value = 0;
  if (end > i) {
    auto [stop, failure] = std::from_chars(text.data() + i, text.data() + end, value);
    if (failure != std::errc() || stop != text.data() + end) {
      return source_.error_at(at, StatusCode::out_of_range, "integer constant out of range");
    }
  }
  return negative ? -value : value;
}

Result<Expr> ExpressionTranslator::translate_const(const ParseNode& body) {
  const size_t at = offset(body);
  if (body.bool_field("isnull")) return Expr();
  if (const ParseNode* ival = body.get("ival")) {
    if (ival->get("ival") != nullptr) return lit(Value(ival->int_field("ival")));
    SLUICE_ASSIGN_OR_RETURN(int64_t value, integer_text(at));
    return lit(Value(value));
  }
  if (const ParseNode* fval = body.get("fval")) {
    const std::string text = fval->string_field("fval");
    if (is_plain_integer(text)) {
      int64_t value = 0;
      auto [stop, failure] =
          std::from_chars(text.data() + (text[0] == '+' ? 1 : 0), text.data() + text.size(), value);
      if (failure == std::errc() && stop == text.data() + text.size()) return lit(Value(value));
    }
    return lit(Value(std::strtod(text.c_str(), nullptr)));
  }
  if (const ParseNode* sval = body.get("sval")) return lit(Value(sval->string_field("sval")));
  if (const ParseNode* boolval = body.get("boolval"))
    return lit(Value(boolval->bool_field("boolval")));
  return source_.error_at(at, StatusCode::invalid_argument,
                          "bit-string constants are not supported");
}

Result<ExpressionTranslator::ResolvedColumn> ExpressionTranslator::resolve_qualified(
    const std::vector<std::string>& names, size_t at, const ExpressionScope& scope) {
  auto join = [](auto begin, auto end) {
    std::string text;
    for (auto it = begin; it != end; ++it) text += (text.empty() ? "" : ".") + *it;
    return text;
  };
  if (names.size() >= 2) {
    bool side = false;
    std::vector<std::string> side_names;
    const std::string rest = join(names.begin() + 1, names.end());
    const QualifiedColumn* match = nullptr;
    for (const auto& column : scope.qualified_columns) {
      if (!equals_ignoring_case(column.qualifier, names[0])) continue;
      side = true;
      side_names.push_back(column.name);
      if (column.name == rest || (!match && equals_ignoring_case(column.name, rest))) match = &column;
    }
    if (match) return ResolvedColumn{match->column, match->qualifier + "." + match->name};
    if (side) {
      std::string message = "column '" + rest + "' does not exist in " + names[0];
      const std::string suggestion = closest_name(rest, side_names);
      if (!suggestion.empty()) message += "; did you mean '" + names[0] + "." + suggestion + "'?";
      return source_.error_at(at, StatusCode::not_found,
                              message + " (its columns: " + list_names(side_names) + ")");
    }
    return ResolvedColumn{};
  }
  // An unqualified name that more than one side has must be qualified.
  std::vector<std::string> owners;
  for (const auto& column : scope.qualified_columns) {
    if (equals_ignoring_case(column.name, names[0]) &&
        std::find(owners.begin(), owners.end(), column.qualifier) == owners.end() &&
        scope.schema->find(names[0]) < 0) {
      owners.push_back(column.qualifier);
    }
  }
  if (owners.size() >= 2) {
    std::string choices;
    for (size_t i = 0; i < owners.size(); ++i) {
      choices += (i == 0 ? "" : i + 1 == owners.size() ? " or " : ", ") + owners[i] + "." + names[0];
    }
    return source_.error_at(at, StatusCode::invalid_argument,
                            "column reference '" + names[0] + "' is ambiguous: both sides of the JOIN have it; write " +
                                choices);
  }
  for (const auto& column : scope.qualified_columns) {
    if (equals_ignoring_case(column.name, names[0]) && column.column != column.name) {
      return ResolvedColumn{column.column, column.name};
    }
  }
  return ResolvedColumn{};
}

Result<ExpressionTranslator::ResolvedColumn> ExpressionTranslator::resolve_column(
    const ParseNode& column_ref, const ExpressionScope& scope) {
  const ParseNode& body = column_ref.body();
  const size_t at = offset(body);
  std::vector<std::string> names = string_list(body.list("fields"));
  if (names.empty()) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "'*' is allowed only in the SELECT list and in count(*)");
  }
  if (!scope.qualified_columns.empty()) {
    if (auto resolved = resolve_qualified(names, at, scope); !resolved.ok() || !resolved->column.empty()) {
      return resolved;
    }
  }
  if (names.size() >= 2) {
    for (const auto& qualifier : scope.qualifiers) {
      if (equals_ignoring_case(qualifier, names[0])) {
        names.erase(names.begin());
        break;
      }
    }
  }
  std::string name;
  for (const auto& part : names)
    name += (name.empty() ? "" : ".") + part;

  std::vector<ResolvedColumn> candidates;
  for (const auto& field : scope.schema->fields())
    candidates.push_back({field.name, field.name});
  for (const auto& column : scope.grouped_columns) {
    candidates.push_back({column.column, column.sql_name});
  }
  for (const auto& candidate : candidates) {
    if (candidate.display == name) return candidate;
  }
  const ResolvedColumn* match = nullptr;
  int matches = 0;
  for (const auto& candidate : candidates) {
    if (equals_ignoring_case(candidate.display, name)) {
      match = &candidate;
      ++matches;
    }
  }
  if (matches == 1) return *match;
  if (matches > 1) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "column reference '" + name +
                                "' is ambiguous: columns differ only in case; quote the name");
  }
  if (!scope.grouped_columns_hint.empty() &&
      (equals_ignoring_case(name, "window_start") || equals_ignoring_case(name, "window_end"))) {
    return source_.error_at(at, StatusCode::invalid_argument, scope.grouped_columns_hint);
  }
  std::vector<std::string> names_in_scope;
  for (const auto& candidate : candidates)
    names_in_scope.push_back(candidate.display);
  if (names.size() >= 2 && !scope.qualifiers.empty()) {
    // A qualifier that names nothing in FROM, over a column that exists: say so.
    std::string rest;
    for (size_t i = 1; i < names.size(); ++i)
      rest += (rest.empty() ? "" : ".") + names[i];
    for (const auto& candidate : names_in_scope) {
      if (equals_ignoring_case(candidate, rest)) {
        return source_.error_at(at, StatusCode::not_found,
                                "unknown table or alias '" + names[0] + "' in " + name +
                                    " (FROM names: " + list_names(scope.qualifiers) + ")");
      }
    }
  }
  std::string message = "column '" + name + "' does not exist";
  const std::string suggestion = closest_name(name, names_in_scope);
  if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
  message += " (columns: " + list_names(names_in_scope) + ")";
  return source_.error_at(at, StatusCode::not_found, message);
}

Result<Expr> ExpressionTranslator::translate_column(const ParseNode& body,
                                                    const ExpressionScope& scope) {
  for (const ParseNode* field : body.list("fields")) {
    if (field->node_type() == "A_Star") {
      return source_.error_at(offset(body), StatusCode::invalid_argument,
                              "'*' is allowed only in the SELECT list and in count(*)");
    }
  }
  SLUICE_ASSIGN_OR_RETURN(ResolvedColumn resolved, resolve_column(body, scope));
  Expr column = col(resolved.column);
  column_offsets_[column.node().get()] = offset(body);
  return column;
}

Result<Expr> ExpressionTranslator::translate_a_expr(const ParseNode& body,
                                                    const ExpressionScope& scope) {
  const size_t at = offset(body);
  const std::string kind = body.string_field("kind");
  const std::vector<std::string> names = string_list(body.list("name"));
  const std::string op = names.empty() ? "" : names.back();
  const ParseNode* left_node = body.get("lexpr");
  const ParseNode* right_node = body.get("rexpr");

  if (kind == "AEXPR_IN") {
    SLUICE_ASSIGN_OR_RETURN(Expr left, translate(*left_node, scope));
    std::vector<Value> values;
    for (const ParseNode* item : right_node->body().list("items")) {
      auto value = constant(*item);
      if (!value.ok()) {
        return error(*item, StatusCode::invalid_argument,
                     "IN lists take constants; use OR for expressions");
      }
      values.push_back(*value);
    }
    Expr in = left.isin(std::move(values));
    return checked(op == "<>" ? !in : in, scope, at);
  }
  if (kind == "AEXPR_LIKE" || kind == "AEXPR_ILIKE") {
    SLUICE_ASSIGN_OR_RETURN(Expr left, translate(*left_node, scope));
    if (right_node->node_type() != "A_Const" || right_node->body().get("sval") == nullptr) {
      return error(*right_node, StatusCode::invalid_argument,
                   "the pattern of LIKE must be a string constant");
    }
    std::string pattern = right_node->body().get("sval")->string_field("sval");
    const bool negated = !op.empty() && op[0] == '!';
    Expr match;
    if (kind == "AEXPR_ILIKE") {
      for (char& c : pattern)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      match = lower(left).like(pattern);
    } else {
      match = left.like(pattern);
    }
    return checked(negated ? !match : match, scope, at);
  }
  if (kind == "AEXPR_BETWEEN" || kind == "AEXPR_NOT_BETWEEN") {
    SLUICE_ASSIGN_OR_RETURN(Expr left, translate(*left_node, scope));
    auto bounds = right_node->body().list("items");
    if (bounds.size() != 2)
      return source_.error_at(at, StatusCode::invalid_argument, "BETWEEN needs two bounds");
    SLUICE_ASSIGN_OR_RETURN(Expr low, translate(*bounds[0], scope));
    SLUICE_ASSIGN_OR_RETURN(Expr high, translate(*bounds[1], scope));
    Expr between = left >= low && left <= high;
    return checked(kind == "AEXPR_NOT_BETWEEN" ? !between : between, scope, at);
  }
  if (kind == "AEXPR_NULLIF") {
    SLUICE_ASSIGN_OR_RETURN(Expr left, translate(*left_node, scope));
    SLUICE_ASSIGN_OR_RETURN(Expr right, translate(*right_node, scope));
    return checked(when(left == right, Expr()).otherwise(left), scope, at);
  }
  if (kind == "AEXPR_DISTINCT" || kind == "AEXPR_NOT_DISTINCT") {
    SLUICE_ASSIGN_OR_RETURN(Expr left, translate(*left_node, scope));
    SLUICE_ASSIGN_OR_RETURN(Expr right, translate(*right_node, scope));
    Expr distinct = when(left.is_null() && right.is_null(), lit(false))
                        .when(left.is_null() || right.is_null(), lit(true))
                        .otherwise(left != right);
    return checked(kind == "AEXPR_DISTINCT" ? distinct : !distinct, scope, at);
  }
  if (kind != "AEXPR_OP") {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "this operator form (" + kind + ") is not supported");
  }
  if (left_node == nullptr) {
    SLUICE_ASSIGN_OR_RETURN(Expr operand, translate(*right_node, scope));
    if (op == "-") return checked(-operand, scope, at);
    if (op == "+") return operand;
    return source_.error_at(at, StatusCode::invalid_argument,
                            "unary operator '" + op + "' is not supported");
  }
  SLUICE_ASSIGN_OR_RETURN(Expr left, translate(*left_node, scope));
  SLUICE_ASSIGN_OR_RETURN(Expr right, translate(*right_node, scope));
  Expr result;
  if (op == "+") {
    result = left + right;
  } else if (op == "-") {
    result = left - right;
  } else if (op == "*") {
    result = left * right;
  } else if (op == "/") {
    result = left / right;
  } else if (op == "%") {
    result = left % right;
  } else if (op == "=") {
    result = left == right;
  } else if (op == "<>" || op == "!=") {
    result = left != right;
  } else if (op == "<") {
    result = left < right;
  } else if (op == "<=") {
    result = left <= right;
  } else if (op == ">") {
    result = left > right;
  } else if (op == ">=") {
    result = left >= right;
  } else if (op == "||") {
    result = concat({left, right});
  } else {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "operator '" + op + "' is not supported");
  }
  return checked(result, scope, at);
}

Result<Expr> ExpressionTranslator::translate_bool(const ParseNode& body,
                                                  const ExpressionScope& scope) {
  std::vector<Expr> args;
  SLUICE_RETURN_NOT_OK(translate_children(body.list("args"), scope, args));
  const std::string op = body.string_field("boolop");
  if (args.empty())
    return source_.error_at(offset(body), StatusCode::internal, "empty boolean expression");
  Expr result = args[0];
  if (op == "NOT_EXPR") {
    result = !args[0];
  } else {
    for (size_t i = 1; i < args.size(); ++i) {
      result = op == "AND_EXPR" ? (result && args[i]) : (result || args[i]);
    }
  }
  return checked(result, scope, offset(body));
}

Result<Expr> ExpressionTranslator::translate_case(const ParseNode& body,
                                                  const ExpressionScope& scope) {
  std::optional<Expr> subject;
  if (const ParseNode* arg = body.get("arg")) {
    SLUICE_ASSIGN_OR_RETURN(Expr value, translate(*arg, scope));
    subject = value;
  }
  std::optional<CaseBuilder> builder;
  for (const ParseNode* branch : body.list("args")) {
    const ParseNode& when_body = branch->body();
    SLUICE_ASSIGN_OR_RETURN(Expr condition, translate(*when_body.get("expr"), scope));
    if (subject) condition = *subject == condition;
    SLUICE_ASSIGN_OR_RETURN(Expr result, translate(*when_body.get("result"), scope));
    if (!builder) {
      builder = when(condition, result);
    } else {
      builder = std::move(*builder).when(condition, result);
    }
  }
  if (!builder)
    return source_.error_at(offset(body), StatusCode::invalid_argument, "CASE needs WHEN");
  Expr result;
  if (const ParseNode* otherwise = body.get("defresult")) {
    SLUICE_ASSIGN_OR_RETURN(Expr value, translate(*otherwise, scope));
    result = std::move(*builder).otherwise(value);
  } else {
    result = Expr(*builder);
  }
  return checked(result, scope, offset(body));
}

Result<int64_t> ExpressionTranslator::interval_micros(const ParseNode& body) {
  const ParseNode* arg = body.get("arg");
  const size_t at = offset(body);
  if (arg == nullptr || arg->node_type() != "A_Const" || arg->body().get("sval") == nullptr) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "an INTERVAL takes a quoted amount: INTERVAL '10' SECOND");
  }
  const std::string text = arg->body().get("sval")->string_field("sval");
  const size_t text_at = offset(*arg, at);
  const ParseNode* type_name = body.get("typeName");
  auto typmods = type_name ? type_name->list("typmods") : std::vector<const ParseNode*>{};
  if (typmods.empty()) {
    auto micros = parse_interval(text);
    if (!micros.ok()) return source_.locate(text_at, micros.status());
    return *micros;
  }
  const int64_t fields =
      typmods[0]->body().get("ival") ? typmods[0]->body().get("ival")->int_field("ival") : 0;
  int64_t unit = 0;
  if (fields == kSecondField) unit = kMicrosPerSecond;
  if (fields == kMinuteField) unit = 60 * kMicrosPerSecond;
  if (fields == kHourField) unit = 3'600 * kMicrosPerSecond;
  if (fields == kDayField) unit = 86'400 * kMicrosPerSecond;
  if (fields == kMonthField || fields == kYearField) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "months and years have no fixed length; use days or weeks");
  }
  if (unit == 0) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "interval ranges (DAY TO SECOND, ...) are not supported; write "
                            "INTERVAL '1 day 2 hours' or INTERVAL '90' SECOND");
  }
  char* end = nullptr;
  const double amount = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(amount)) {
    auto micros = parse_interval(text);
    if (!micros.ok()) return source_.locate(text_at, micros.status());
    return *micros;
  }
  return static_cast<int64_t>(std::llround(amount * static_cast<double>(unit)));
}

Result<std::string> ExpressionTranslator::duration(const ParseNode& node) {
  const ParseNode& body = node.body();
  if (node.node_type() == "A_Const" && body.get("sval") != nullptr) {
    const std::string text = body.get("sval")->string_field("sval");
    auto micros = parse_interval(text);
    if (!micros.ok()) return source_.locate(offset(node), micros.status());
    return text;
  }
  if (node.node_type() == "TypeCast") {
    auto names = string_list(body.get("typeName") ? body.get("typeName")->list("names")
                                                  : std::vector<const ParseNode*>{});
    if (!names.empty() && names.back() == "interval") {
      SLUICE_ASSIGN_OR_RETURN(int64_t micros, interval_micros(body));
      return format_duration(micros);
    }
  }
  return error(node, StatusCode::invalid_argument,
               "expected a duration: INTERVAL '10' SECOND or '10 seconds'");
}

Result<Expr> ExpressionTranslator::translate_cast(const ParseNode& body,
                                                  const ExpressionScope& scope) {
  const ParseNode* type_name = body.get("typeName");
  const size_t at = offset(body);
  if (type_name == nullptr) return source_.error_at(at, StatusCode::internal, "cast without type");
  if (type_name->get("arrayBounds") != nullptr) {
    return source_.error_at(offset_of(type_name->location(), at), StatusCode::type_error,
                            "array types are not supported");
  }
  const std::vector<std::string> names = string_list(type_name->list("names"));
  const std::string name = names.empty() ? "" : names.back();
  if (name == "interval") {
    SLUICE_ASSIGN_OR_RETURN(int64_t micros, interval_micros(body));
    return interval(format_duration(micros));
  }
  auto type = type_from_sql_name(name);
  if (!type.ok()) return source_.locate(offset_of(type_name->location(), at), type.status());
  SLUICE_ASSIGN_OR_RETURN(Expr operand, translate(*body.get("arg"), scope));
  Expr cast = ansi_ ? operand.strict_cast(*type) : operand.cast(*type);
  return checked(cast, scope, at);
}

std::string ExpressionTranslator::function_name(const ParseNode& node) {
  if (node.node_type() != "FuncCall") return "";
  return name_of_function(node.body());
}

bool ExpressionTranslator::is_aggregate_call(const ParseNode& node) {
  const std::string name = function_name(node);
  for (const auto& aggregate : aggregate_function_names()) {
    if (name == aggregate) return true;
  }
  return false;
}

Result<Value> ExpressionTranslator::constant(const ParseNode& node) {
  ExpressionScope empty;
  empty.schema = Schema::make({}).value();
  SLUICE_ASSIGN_OR_RETURN(Expr expr, translate(node, empty));
  if (expr.kind() == ExprKind::literal && !expr.is_interval()) return expr.literal();
  return error(node, StatusCode::invalid_argument, "expected a constant");
}

Result<std::string> ExpressionTranslator::string_argument(const ParseNode& node,
                                                          const std::string& what) {
  auto value = constant(node);
  if (!value.ok() || value->is_null() || value->type() != Type::String) {
    return error(node, StatusCode::invalid_argument, what + " must be a string constant");
  }
  return value->as_string();
}

Result<int64_t> ExpressionTranslator::integer_argument(const ParseNode& node,
                                                       const std::string& what) {
  auto value = constant(node);
  if (!value.ok() || value->is_null() || value->type() != Type::Int64) {
    return error(node, StatusCode::invalid_argument, what + " must be an integer constant");
  }
  return value->as_int64();
}

bool ExpressionTranslator::is_over_call(const ParseNode& node) {
  return node.node_type() == "FuncCall" && node.body().get("over") != nullptr;
}

namespace {

// PostgreSQL's frame option bits (nodes/parsenodes.h, PostgreSQL 11 and later).
constexpr int64_t kFrameNonDefault = 0x1;
constexpr int64_t kFrameRange = 0x2;
constexpr int64_t kFrameGroups = 0x8;
constexpr int64_t kFrameStartUnboundedPreceding = 0x20;
constexpr int64_t kFrameStartUnboundedFollowing = 0x80;
constexpr int64_t kFrameEndUnboundedFollowing = 0x100;
constexpr int64_t kFrameStartCurrentRow = 0x200;
constexpr int64_t kFrameEndCurrentRow = 0x400;
constexpr int64_t kFrameStartOffsetPreceding = 0x800;
constexpr int64_t kFrameEndOffsetPreceding = 0x1000;
constexpr int64_t kFrameStartOffsetFollowing = 0x2000;
constexpr int64_t kFrameEndOffsetFollowing = 0x4000;
constexpr int64_t kFrameExclude = 0x8000 | 0x10000 | 0x20000;

}  // namespace

Result<OverCall> ExpressionTranslator::translate_over(const ParseNode& node,
                                                      const ExpressionScope& scope) {
  const ParseNode& body = node.body();
  const ParseNode& over = body.get("over")->body();
  const std::string name = function_name(node);
  const size_t at = offset(body);
  const size_t over_at = offset(over, at);
  const std::string call_text = name + "(...) OVER (...)";
  if (name != "count" && name != "sum" && name != "avg" && name != "min" && name != "max") {
    return source_.error_at(
        at, StatusCode::invalid_argument,
        call_text + ": only count, sum, avg, min and max are supported OVER a window");
  }
  if (!over.string_field("refname").empty() || !over.string_field("name").empty()) {
    return source_.error_at(
        over_at, StatusCode::invalid_argument,
        call_text +
            ": named windows (OVER w, WINDOW w AS ...) are not supported; write "
            "the window in the OVER clause");
  }
  if (body.get("agg_filter") != nullptr || body.bool_field("agg_distinct") ||
      body.get("agg_order") != nullptr) {
    return source_.error_at(
        at, StatusCode::invalid_argument,
        call_text + ": FILTER, DISTINCT and ORDER BY inside the call are not supported");
  }
  std::optional<Expr> argument;
  const auto args = body.list("args");
  if (!body.bool_field("agg_star")) {
    if (args.size() != 1) {
      return source_.error_at(
          at, StatusCode::invalid_argument,
          call_text + " takes one argument, got " + std::to_string(args.size()));
    }
    SLUICE_ASSIGN_OR_RETURN(Expr translated, translate(*args[0], scope));
    argument = std::move(translated);
  } else if (name != "count") {
    return source_.error_at(at, StatusCode::invalid_argument, "only count takes *");
  }
  AggregateCall call = argument ? AggregateCall(AggregateKind::count, argument) : count();
  if (name == "sum") call = sum(*argument);
  if (name == "avg") call = avg(*argument);
  if (name == "min") call = min(*argument);
  if (name == "max") call = max(*argument);
  std::vector<Expr> partition;
  for (const ParseNode* item : over.list("partitionClause")) {
    SLUICE_ASSIGN_OR_RETURN(Expr expr, translate(*item, scope));
    partition.push_back(std::move(expr));
  }
  std::vector<Expr> order;
  for (const ParseNode* item : over.list("orderClause")) {
    const ParseNode& sort = item->body();
    const std::string direction = sort.string_field("sortby_dir");
    if (direction == "SORTBY_DESC" || direction == "SORTBY_USING") {
      return error(*item, StatusCode::invalid_argument,
                   call_text +
                       ": ORDER BY ... DESC is not supported (rule: a streaming OVER runs in "
                       "ascending event-time order)");
    }
    const std::string nulls = sort.string_field("sortby_nulls");
    if (!nulls.empty() && nulls != "SORTBY_NULLS_DEFAULT") {
      return error(*item, StatusCode::invalid_argument,
                   call_text + ": NULLS FIRST/LAST in ORDER BY is not supported");
    }
    SLUICE_ASSIGN_OR_RETURN(Expr expr, translate(*sort.get("node"), scope));
    order.push_back(std::move(expr));
  }
  const int64_t frame = over.int_field("frameOptions");
  auto refuse = [&](const std::string& what) {
    return source_.error_at(over_at, StatusCode::invalid_argument, call_text + ": " + what);
  };
  if ((frame & kFrameNonDefault) == 0) {
    return refuse(
        "without a frame the window is RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW, which is "
        "not supported; write ROWS BETWEEN n PRECEDING AND CURRENT ROW");
  }
  if (frame & kFrameRange)
    return refuse("RANGE frames are not supported; write ROWS BETWEEN n PRECEDING AND CURRENT ROW");
  if (frame & kFrameGroups)
    return refuse(
        "GROUPS frames are not supported; write ROWS BETWEEN n PRECEDING AND CURRENT ROW");
  if (frame & kFrameExclude) return refuse("EXCLUDE in a frame is not supported");
  if (frame & (kFrameStartOffsetFollowing | kFrameStartUnboundedFollowing |
               kFrameEndOffsetFollowing | kFrameEndUnboundedFollowing)) {
    return refuse(
        "FOLLOWING is not supported (rule: a streaming OVER emits each row once, when no row "
        "before "
        "it can still come; the frame ends at CURRENT ROW)");
  }
  if (frame & kFrameEndOffsetPreceding) return refuse("the frame must end at CURRENT ROW");
  if ((frame & kFrameEndCurrentRow) == 0) return refuse("the frame must end at CURRENT ROW");
  int64_t start = 0;
  if (frame & kFrameStartUnboundedPreceding) {
    start = Window::unbounded_preceding;
  } else if (frame & kFrameStartOffsetPreceding) {
    const ParseNode* offset_node = over.get("startOffset");
    if (offset_node == nullptr) return refuse("ROWS n PRECEDING without n");
    SLUICE_ASSIGN_OR_RETURN(int64_t rows, integer_argument(*offset_node, "ROWS n PRECEDING's n"));
    if (rows < 0) return refuse("ROWS n PRECEDING needs n >= 0");
    start = -rows;
  } else if ((frame & kFrameStartCurrentRow) == 0) {
    return refuse("unsupported frame start");
  }
  WindowSpec window = WindowSpec()
                          .partition_by(std::move(partition))
                          .order_by(std::move(order))
                          .rows_between(start, 0);
  return call.over(window);
}

Result<Expr> ExpressionTranslator::translate_aggregate(const ParseNode& node,
                                                       const ExpressionScope& scope,
                                                       const std::string& alias) {
  const ParseNode& body = node.body();
  const std::string name = function_name(node);
  const size_t at = offset(body);
  if (scope.aggregates == nullptr) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "aggregate function " + name + "() is not allowed in " + scope.clause);
  }
  if (aggregate_depth_ > 0) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "aggregate function calls cannot be nested");
  }
  if (body.get("over") != nullptr) {
    return source_.error_at(
        at, StatusCode::invalid_argument,
        name +
            "(...) OVER (...) in a query with GROUP BY is not supported; aggregate "
            "in a subquery and put the OVER in the query around it");
  }
  if (body.get("agg_filter") != nullptr) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "FILTER (WHERE ...) on aggregates is not supported; use CASE WHEN "
                            "inside the aggregate");
  }
  if (body.get("agg_order") != nullptr || body.bool_field("agg_within_group")) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "ORDER BY inside an aggregate is not supported");
  }
  const auto args = body.list("args");
  const bool star = body.bool_field("agg_star");
  const bool distinct = body.bool_field("agg_distinct");
  if (star && name != "count") {
    return source_.error_at(at, StatusCode::invalid_argument, "only count takes *");
  }
  if (distinct && name != "count") {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "DISTINCT is supported in count(DISTINCT x) only; use "
                            "approx_count_distinct(x) or a subquery with DISTINCT");
  }
  if (!star && args.size() != 1) {
    return source_.error_at(
        at, StatusCode::invalid_argument,
        "aggregate function " + name + "() takes one argument, got " + std::to_string(args.size()));
  }
  std::optional<Expr> argument;
  std::optional<Type> argument_type;
  if (!star) {
    // The argument sees the query's input columns only: no aggregates, no window columns.
    ExpressionScope input = scope;
    input.grouped_columns.clear();
    ++aggregate_depth_;
    auto translated = translate(*args[0], input);
    --aggregate_depth_;
    if (!translated.ok()) return translated.status();
    argument = *translated;
    auto type = infer_type(*argument, *scope.schema);
    if (!type.ok()) return source_.locate(offset(*args[0], at), type.status());
    argument_type = *type;
  }
  AggregateCall call = star ? count() : AggregateCall(AggregateKind::count, argument);
  if (name == "count" && distinct) call = count_distinct(*argument);
  if (name == "sum") call = sum(*argument);
  if (name == "avg") call = avg(*argument);
  if (name == "min") call = min(*argument);
  if (name == "max") call = max(*argument);
  if (name == "first") call = first(*argument);
  if (name == "last") call = last(*argument);
  if (name == "approx_count_distinct") call = approx_count_distinct(*argument);
  auto type = aggregate_result_type(call.kind(), argument_type);
  if (!type.ok()) return source_.locate(at, type.status().with_context(call.to_string()));
  if (!alias.empty()) call = call.alias(alias);
  return scope.aggregates->add(call, *type, scope.reuse_aliased_aggregates);
}

Result<Expr> ExpressionTranslator::translate_function(const ParseNode& body,
                                                      const ExpressionScope& scope) {
  const std::string name = name_of_function(body);
  const size_t at = offset(body);
  if (body.get("over") != nullptr) {
    return source_.error_at(
        at, StatusCode::invalid_argument,
        name +
            "(...) OVER (...): only count, sum, avg, min and max are supported OVER a "
            "window");
  }
  if (body.bool_field("agg_star") || body.bool_field("agg_distinct")) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            name + "() is not an aggregate function; * and DISTINCT do not apply");
  }
  if (name == "window" || name == "session_window") {
    return source_.error_at(at, StatusCode::invalid_argument,
                            name +
                                "(...) is allowed only in GROUP BY (and in the SELECT list of "
                                "that query)");
  }
  if (name == "tumble" || name == "hop" || name == "session") {
    return source_.error_at(at, StatusCode::invalid_argument,
                            name + "(...) is a table function: use it in FROM, as in FROM " + name +
                                "(bids, DESCRIPTOR(ts), INTERVAL '10' SECOND)");
  }
  const auto arg_nodes = body.list("args");
  auto arity = [&](size_t low, size_t high) -> Status {
    if (arg_nodes.size() >= low && arg_nodes.size() <= high) return Status::ok();
    std::string expected =
        low == high ? std::to_string(low) : std::to_string(low) + " or " + std::to_string(high);
    if (high == std::numeric_limits<size_t>::max()) expected = "at least " + std::to_string(low);
    return source_.error_at(at, StatusCode::invalid_argument,
                            "function " + name + "() takes " + expected + " argument" +
                                (high == 1 && low == 1 ? "" : "s") + ", got " +
                                std::to_string(arg_nodes.size()));
  };
  auto argument = [&](size_t index) -> Result<Expr> { return translate(*arg_nodes[index], scope); };
  constexpr size_t kMany = std::numeric_limits<size_t>::max();
  Expr result;
  if (name == "lower" || name == "upper" || name == "length" || name == "char_length" ||
      name == "character_length" || name == "trim" || name == "btrim" || name == "year" ||
      name == "month" || name == "day" || name == "hour" || name == "minute" || name == "second" ||
      name == "unix_micros" || name == "timestamp_micros") {
    SLUICE_RETURN_NOT_OK(arity(1, 1));
    SLUICE_ASSIGN_OR_RETURN(Expr e, argument(0));
    if (name == "lower") result = lower(e);
    if (name == "upper") result = upper(e);
    if (name == "length" || name == "char_length" || name == "character_length") result = length(e);
    if (name == "trim" || name == "btrim") result = trim(e);
    if (name == "year") result = year(e);
    if (name == "month") result = month(e);
    if (name == "day") result = day(e);
    if (name == "hour") result = hour(e);
    if (name == "minute") result = minute(e);
    if (name == "second") result = second(e);
    if (name == "unix_micros") result = unix_micros(e);
    if (name == "timestamp_micros") result = timestamp_micros(e);
  } else if (name == "hash" || name == "concat" || name == "coalesce") {
    SLUICE_RETURN_NOT_OK(arity(1, kMany));
    std::vector<Expr> args;
    SLUICE_RETURN_NOT_OK(translate_children(arg_nodes, scope, args));
    if (name == "hash") result = hash(std::move(args));
    if (name == "concat") result = concat(std::move(args));
    if (name == "coalesce") result = coalesce(std::move(args));
  } else if (name == "substring" || name == "substr") {
    SLUICE_RETURN_NOT_OK(arity(2, 3));
    SLUICE_ASSIGN_OR_RETURN(Expr e, argument(0));
    SLUICE_ASSIGN_OR_RETURN(int64_t position,
                            integer_argument(*arg_nodes[1], "the position of substring"));
    int64_t count = std::numeric_limits<int32_t>::max();
    if (arg_nodes.size() == 3) {
      SLUICE_ASSIGN_OR_RETURN(count, integer_argument(*arg_nodes[2], "the length of substring"));
    }
    result = substring(e, position, count);
  } else if (name == "to_timestamp") {
    SLUICE_RETURN_NOT_OK(arity(1, 2));
    SLUICE_ASSIGN_OR_RETURN(Expr e, argument(0));
    if (arg_nodes.size() == 1) {
      result = e.cast(Type::Timestamp);
    } else {
      SLUICE_ASSIGN_OR_RETURN(std::string format,
                              string_argument(*arg_nodes[1], "the format of to_timestamp"));
      result = to_timestamp(e, format);
    }
  } else if (name == "date_trunc") {
    SLUICE_RETURN_NOT_OK(arity(2, 2));
    SLUICE_ASSIGN_OR_RETURN(std::string unit,
                            string_argument(*arg_nodes[0], "the unit of date_trunc"));
    SLUICE_ASSIGN_OR_RETURN(Expr e, argument(1));
    result = date_trunc(unit, e);
  } else if (name == "extract" || name == "date_part") {
    SLUICE_RETURN_NOT_OK(arity(2, 2));
    SLUICE_ASSIGN_OR_RETURN(std::string field,
                            string_argument(*arg_nodes[0], "the field of " + name));
    for (char& c : field)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    SLUICE_ASSIGN_OR_RETURN(Expr e, argument(1));
    if (field == "year")
      result = year(e);
    else if (field == "month")
      result = month(e);
    else if (field == "day")
      result = day(e);
    else if (field == "hour")
      result = hour(e);
    else if (field == "minute")
      result = minute(e);
    else if (field == "second")
      result = second(e);
    else {
      return error(
          *arg_nodes[0], StatusCode::invalid_argument,
          "cannot extract '" + field + "' (fields: year, month, day, hour, minute, second)");
    }
  } else if (name == "starts_with") {
    SLUICE_RETURN_NOT_OK(arity(2, 2));
    SLUICE_ASSIGN_OR_RETURN(Expr e, argument(0));
    SLUICE_ASSIGN_OR_RETURN(Expr prefix, argument(1));
    result = e.starts_with(prefix);
  } else if (name == "from_json" || name == "from_csv") {
    // from_json(value, 'a BIGINT, b STRING'[, map('mode', 'FAILFAST', ...)]) stands for one
    // column per field: in a SELECT list, `from_json(...) AS data` gives data.a, data.b (the
    // planner expands it); anywhere else it is an error.
    SLUICE_RETURN_NOT_OK(arity(2, 3));
    SLUICE_ASSIGN_OR_RETURN(Expr value, argument(0));
    SLUICE_ASSIGN_OR_RETURN(std::string ddl,
                            string_argument(*arg_nodes[1], "the schema of " + name));
    RecordFormatOptions options;
    if (arg_nodes.size() == 3) {
      const ParseNode& map = *arg_nodes[2];
      const auto entries =
          function_name(map) == "map" ? map.body().list("args") : std::vector<const ParseNode*>{};
      if (function_name(map) != "map" || entries.size() % 2 != 0) {
        return error(map, StatusCode::invalid_argument,
                     "the options of " + name + " must be map('name', 'value', ...)");
      }
      for (size_t i = 0; i < entries.size(); i += 2) {
        SLUICE_ASSIGN_OR_RETURN(std::string key,
                                string_argument(*entries[i], "an option name of " + name));
        SLUICE_ASSIGN_OR_RETURN(std::string option,
                                string_argument(*entries[i + 1], "an option value of " + name));
        options[key] = option;
      }
    }
    Expr call =
        name == "from_json" ? from_json(value, ddl, options) : from_csv(value, ddl, options);
    auto fields = expand_record_columns(call);
    if (!fields.ok()) return source_.locate(at, fields.status());
    for (const auto& field : *fields)
      SLUICE_RETURN_NOT_OK(checked(field, scope, at).status());
    return call;
  } else if (name == "to_json" || name == "to_csv") {
    // to_json(named_struct('a', a, 'x', b)) names the fields; to_json(a, b) and
    // to_json(struct(a, b)) name them after the columns.
    SLUICE_RETURN_NOT_OK(arity(1, kMany));
    std::vector<Expr> fields;
    const std::string inner = arg_nodes.size() == 1 ? function_name(*arg_nodes[0]) : "";
    if (inner == "named_struct") {
      const auto entries = arg_nodes[0]->body().list("args");
      if (entries.empty() || entries.size() % 2 != 0) {
        return error(*arg_nodes[0], StatusCode::invalid_argument,
                     "named_struct takes pairs of a name and a value: named_struct('a', a, ...)");
      }
      for (size_t i = 0; i < entries.size(); i += 2) {
        SLUICE_ASSIGN_OR_RETURN(std::string field,
                                string_argument(*entries[i], "a field name of named_struct"));
        SLUICE_ASSIGN_OR_RETURN(Expr field_value, translate(*entries[i + 1], scope));
        fields.push_back(field_value.alias(field));
      }
    } else if (inner == "struct" || inner == "row") {
      SLUICE_RETURN_NOT_OK(translate_children(arg_nodes[0]->body().list("args"), scope, fields));
    } else {
      SLUICE_RETURN_NOT_OK(translate_children(arg_nodes, scope, fields));
    }
    result = name == "to_json" ? to_json(std::move(fields)) : to_csv(std::move(fields));
  } else if (name == "named_struct") {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "named_struct(...) is allowed only as the argument of to_json or "
                            "to_csv (Sluice has no struct columns)");
  } else {
    std::vector<std::string> known = scalar_function_names();
    known.insert(known.end(), aggregate_function_names().begin(), aggregate_function_names().end());
    std::string message = "unknown function " + name + "()";
    const std::string suggestion = closest_name(name, known);
    if (!suggestion.empty()) message += "; did you mean " + suggestion + "()?";
    return source_.error_at(at, StatusCode::not_found, message);
  }
  return checked(result, scope, at);
}

}  // namespace sluice
