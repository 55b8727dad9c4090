#include "sql/query_translator.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "sql/sql_lexer.hpp"

namespace sluice {

namespace {

std::string list_names(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names)
    text += (text.empty() ? "" : ", ") + name;
  return text;
}

bool is_star(const ParseNode& node) {
  if (node.node_type() != "ColumnRef") return false;
  auto fields = node.body().list("fields");
  return !fields.empty() && fields.back()->node_type() == "A_Star";
}

// Returns the single name of an unqualified column reference, or "".
std::string simple_column_name(const ParseNode& node) {
  if (node.node_type() != "ColumnRef") return "";
  auto fields = node.body().list("fields");
  if (fields.size() != 1 || fields[0]->node_type() != "String") return "";
  return fields[0]->body().string_field("sval");
}

bool is_integer_constant(const ParseNode& node) {
  return node.node_type() == "A_Const" && node.body().get("ival") != nullptr;
}

// Returns true when a projection would only repeat its input's columns in order.
bool is_identity(const std::vector<Expr>& exprs, const Schema& input) {
  if (static_cast<int>(exprs.size()) != input.num_fields()) return false;
  for (size_t i = 0; i < exprs.size(); ++i) {
    if (exprs[i].kind() != ExprKind::column ||
        exprs[i].column_name() != input.field(static_cast<int>(i)).name) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status TranslatedQuery::locate(const SourceText& source, const Status& status) const {
  if (status.is_ok()) return status;
  const std::string& message = status.message();
  size_t at = offset;
  if (message.find("order_by and limit") != std::string::npos) {
    at = order_offset.value_or(limit_offset.value_or(offset));
  } else if (message.find("output mode Append is not supported for Aggregate") !=
             std::string::npos) {
    at = group_offset.value_or(offset);
  } else if (message.find("rule: chained stateful operators") != std::string::npos) {
    at = distinct_offset.value_or(group_offset.value_or(offset));
  }
  return source.locate(at, status);
}

QueryTranslator::QueryTranslator(std::shared_ptr<SessionState> session, const SqlCatalog& catalog,
                                 const SourceText& source, const ParsedSql& parsed)
    : session_(std::move(session)),
      catalog_(catalog),
      source_(source),
      parsed_(parsed),
      expressions_(source, parsed.base, session_->eval_options().ansi) {}

Result<TranslatedQuery> QueryTranslator::translate() {
  auto statements = parsed_.statements();
  const size_t start = parsed_.statement_offset(0);
  if (statements.empty()) {
    return source_.error_at(start, StatusCode::invalid_argument, "expected a query (SELECT ...)");
  }
  if (statements.size() > 1) {
    return source_.error_at(parsed_.statement_offset(1), StatusCode::invalid_argument,
                            "expected one query, found another statement here");
  }
  if (statements[0]->node_type() != "SelectStmt") {
    return source_.error_at(start, StatusCode::invalid_argument,
                            "expected a query (SELECT ...); CREATE SOURCE, CREATE SINK, INSERT "
                            "and SET run as statements of a script");
  }
  TranslatedQuery result{DataFrame(session_, Status::internal("untranslated"))};
  result.offset = start;
  result_ = &result;
  auto frame = translate_select(statements[0]->body());
  result_ = nullptr;
  if (!frame.ok()) return frame.status();
  result.frame = *frame;
  return result;
}

Result<DataFrame> QueryTranslator::checked(DataFrame frame, size_t at) const {
  if (!frame.status().is_ok()) return source_.locate(at, frame.status());
  return frame;
}

size_t QueryTranslator::first_target_offset(const ParseNode& select) const {
  auto targets = select.list("targetList");
  if (!targets.empty()) return expressions_.offset(*targets[0], result_ ? result_->offset : 0);
  return result_ ? result_->offset : 0;
}

size_t QueryTranslator::distinct_keyword_offset(size_t first_target) const {
  // The parse tree keeps no place for DISTINCT; it is the word just before the select list.
  const std::string& text = source_.text();
  size_t end = std::min(first_target, text.size());
  while (end > 0 && std::isspace(static_cast<unsigned char>(text[end - 1])))
    --end;
  constexpr std::string_view keyword = "distinct";
  if (end >= keyword.size() &&
      equals_ignoring_case(std::string_view(text).substr(end - keyword.size(), keyword.size()),
                           keyword)) {
    return end - keyword.size();
  }
  return first_target;
}

bool QueryTranslator::contains_aggregate(const ParseNode& node) {
  if (node.node_type() == "SubLink") return false;
  if (ExpressionTranslator::is_over_call(node)) return false;
  if (node.node_type() == "FuncCall" && ExpressionTranslator::is_aggregate_call(node)) return true;
  for (const auto& item : node.items()) {
    if (contains_aggregate(item)) return true;
  }
  return false;
}

Result<DataFrame> QueryTranslator::translate_select(const ParseNode& select) {
  const ParseNode* with = select.get("withClause");
  if (with == nullptr) return translate_select_body(select);
  if (with->bool_field("recursive")) {
    return source_.error_at(expressions_.offset_of(with->location()), StatusCode::invalid_argument,
                            "WITH RECURSIVE is not supported");
  }
  ctes_.emplace_back();
  for (const ParseNode* cte : with->list("ctes")) {
    const ParseNode& body = cte->body();
    const std::string name = body.string_field("ctename");
    if (body.get("aliascolnames") != nullptr) {
      ctes_.pop_back();
      return source_.error_at(expressions_.offset(body), StatusCode::invalid_argument,
                              "column lists on WITH queries are not supported; alias the "
                              "columns inside the query");
    }
    auto frame = translate_select(body.get("ctequery")->body());
    if (!frame.ok()) {
      ctes_.pop_back();
      return frame.status();
    }
    ctes_.back().insert_or_assign(name, *frame);
  }
  auto result = translate_select_body(select);
  ctes_.pop_back();
  return result;
}

Result<DataFrame> QueryTranslator::translate_set_operation(const ParseNode& select) {
  const std::string op = select.string_field("op");
  const ParseNode* left_node = select.get("larg");
  const ParseNode* right_node = select.get("rarg");
  const size_t right_at = first_target_offset(*right_node);
  if (op != "SETOP_UNION") {
    return source_.error_at(right_at, StatusCode::invalid_argument,
                            std::string(op == "SETOP_INTERSECT" ? "INTERSECT" : "EXCEPT") +
                                " is not supported; UNION ALL is");
  }
  SLUICE_ASSIGN_OR_RETURN(DataFrame left, translate_select(*left_node));
  SLUICE_ASSIGN_OR_RETURN(DataFrame right, translate_select(*right_node));
  SLUICE_ASSIGN_OR_RETURN(DataFrame frame, checked(left.union_all(right), right_at));
  if (!select.bool_field("all")) {
    // UNION without ALL removes duplicate rows, as in Spark.
    note(result_->distinct_offset, right_at);
    frame = frame.drop_duplicates();
  }
  return apply_order_and_limit(select, frame, {}, nullptr);
}

Result<DataFrame> QueryTranslator::translate_select_body(const ParseNode& select) {
  const std::string op = select.string_field("op");
  if (!op.empty() && op != "SETOP_NONE") return translate_set_operation(select);
  const size_t at = first_target_offset(select);
  if (select.get("valuesLists") != nullptr) {
    return source_.error_at(result_->offset, StatusCode::invalid_argument,
                            "VALUES is not a stream; read rows from a source (CREATE SOURCE) or "
                            "a stream registered from code");
  }
  if (select.get("intoClause") != nullptr) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "SELECT INTO is not supported; use CREATE SINK ... AS SELECT");
  }
  if (select.get("windowClause") != nullptr) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "WINDOW clauses (window functions) are not supported");
  }
  if (select.get("lockingClause") != nullptr) {
    return source_.error_at(at, StatusCode::invalid_argument, "FOR UPDATE is not supported");
  }
  for (const ParseNode* item : select.list("distinctClause")) {
    if (item->is_object() && !item->keys().empty()) {
      return source_.error_at(expressions_.offset(*item, at), StatusCode::invalid_argument,
                              "DISTINCT ON is not supported; use DISTINCT or GROUP BY");
    }
  }

  SLUICE_ASSIGN_OR_RETURN(Relation relation, translate_from(select));
  DataFrame frame = *relation.frame;
  if (const ParseNode* where = select.get("whereClause")) {
    ExpressionScope scope = input_scope(frame, relation, "WHERE");
    SLUICE_ASSIGN_OR_RETURN(Expr condition, expressions_.translate(*where, scope));
    SLUICE_ASSIGN_OR_RETURN(frame,
                            checked(frame.filter(condition), expressions_.offset(*where, at)));
  }
  bool grouped = select.get("groupClause") != nullptr || select.get("havingClause") != nullptr;
  for (const ParseNode* target : select.list("targetList")) {
    if (const ParseNode* value = target->body().get("val")) grouped |= contains_aggregate(*value);
  }
  std::vector<const ParseNode*> over_calls;
  for (const ParseNode* target : select.list("targetList")) {
    if (const ParseNode* value = target->body().get("val")) collect_over_calls(*value, over_calls);
  }
  if (over_calls.empty()) {
    if (grouped) return translate_grouped(select, frame, relation);
    return translate_plain(select, frame, relation);
  }
  if (grouped) {
    return expressions_.error(
        *over_calls.front(), StatusCode::invalid_argument,
        ExpressionTranslator::function_name(*over_calls.front()) +
            "(...) OVER (...) in a query with GROUP BY or aggregates is not supported; "
            "aggregate in a subquery and put the OVER in the query around it");
  }
  // The OVER calls become one OVER node under the select list, their results columns the
  // select list reads.
  ExpressionScope scope = input_scope(frame, relation, "OVER");
  std::vector<DataFrame::SelectItem> items;
  for (const auto& field : frame.schema()->fields())
    items.emplace_back(col(field.name));
  std::string first_window;
  for (size_t i = 0; i < over_calls.size(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(OverCall call, expressions_.translate_over(*over_calls[i], scope));
    const std::string window = call.window().to_string();
    if (i == 0) first_window = window;
    if (window != first_window) {
      return expressions_.error(
          *over_calls[i], StatusCode::invalid_argument,
          "OVER (" + window + ") and OVER (" + first_window +
              ") in one SELECT: several different windows are not supported; use "
              "one window per query (nest queries for more)");
    }
    items.emplace_back(call.alias(hidden_over_column(i)));
  }
  SLUICE_ASSIGN_OR_RETURN(
      frame, checked(frame.select(std::move(items)), expressions_.offset(*over_calls.front(), at)));
  for (size_t i = 0; i < over_calls.size(); ++i) {
    expressions_.bind_over_column(
        *over_calls[i],
        col(hidden_over_column(i)).alias(ExpressionTranslator::function_name(*over_calls[i])));
  }
  auto result = translate_plain(select, frame, relation);
  expressions_.clear_over_columns();
  return result;
}

std::string QueryTranslator::hidden_over_column(size_t index) {
  return "__over_" + std::to_string(index);
}

void QueryTranslator::collect_over_calls(const ParseNode& node,
                                         std::vector<const ParseNode*>& out) {
  if (node.node_type() == "SubLink") return;
  if (ExpressionTranslator::is_over_call(node)) {
    out.push_back(&node);
    return;
  }
  for (const auto& item : node.items())
    collect_over_calls(item, out);
}

ExpressionScope QueryTranslator::input_scope(const DataFrame& frame, const Relation& relation,
                                             const std::string& clause) const {
  ExpressionScope scope;
  scope.schema = frame.schema();
  scope.qualifiers = relation.qualifiers;
  scope.qualified_columns = relation.qualified_columns;
  scope.clause = clause;
  if (relation.window) {
    scope.grouped_columns_hint =
        "window_start and window_end of " + relation.window_function +
        "(...) exist only in a window aggregation: add GROUP BY window_start and aggregates "
        "such as count(*)";
  }
  return scope;
}

Result<QueryTranslator::Relation> QueryTranslator::translate_from(const ParseNode& select) {
  auto from = select.list("fromClause");
  const size_t at = first_target_offset(select);
  if (from.empty()) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            "a streaming query needs FROM: a source, a view, a WITH query or "
                            "TUMBLE/HOP(...) over one");
  }
  if (from.size() > 1) {
    return source_.error_at(expressions_.offset(*from[1], at), StatusCode::invalid_argument,
                            "a comma between FROM items is a cross join, which a stream cannot run: "
                            "write a JOIN ... USING (columns)");
  }
  return translate_from_item(*from[0], at);
}

Result<QueryTranslator::Relation> QueryTranslator::translate_from_item(const ParseNode& item, size_t at) {
  const std::string_view type = item.node_type();
  const ParseNode& body = item.body();
  if (type == "RangeVar") return translate_range_var(body);
  if (type == "RangeFunction") return translate_window_function(body);
  if (type == "RangeSubselect") {
    if (body.bool_field("lateral")) {
      return source_.error_at(at, StatusCode::invalid_argument, "LATERAL is not supported");
    }
    SLUICE_ASSIGN_OR_RETURN(DataFrame frame, translate_select(body.get("subquery")->body()));
    Relation relation;
    relation.frame = frame;
    if (const ParseNode* alias = body.get("alias")) {
      relation.qualifiers.push_back(alias->string_field("aliasname"));
    }
    return relation;
  }
  if (type == "JoinExpr") return translate_join(body, at);
  return source_.error_at(at, StatusCode::invalid_argument,
                          "unsupported FROM item (" + std::string(type) + ")");
}

namespace {

// The columns of a join side under the names SQL gives them: a join's own qualified columns,
// else each column under each name of the relation (its table name or alias).
std::vector<QualifiedColumn> side_columns(const DataFrame& frame, const std::vector<QualifiedColumn>& qualified,
                                          const std::vector<std::string>& qualifiers) {
  if (!qualified.empty()) return qualified;
  std::vector<QualifiedColumn> columns;
  for (const auto& field : frame.schema()->fields()) {
    if (qualifiers.empty()) columns.push_back({"", field.name, field.name});
    for (const auto& qualifier : qualifiers) columns.push_back({qualifier, field.name, field.name});
  }
  return columns;
}

// Splits a condition at its top-level ANDs.
void conjuncts(const Expr& expr, std::vector<Expr>& out) {
  if (expr.kind() == ExprKind::binary && expr.function_name() == "and") {
    for (const auto& child : expr.children()) conjuncts(child, out);
    return;
  }
  out.push_back(expr);
}

// Returns true when every column `expr` reads is in `columns` (and it reads one).
bool reads_only(const Expr& expr, const std::set<std::string>& columns) {
  const auto read = expr.referenced_columns();
  return !read.empty() && std::all_of(read.begin(), read.end(), [&](const std::string& name) {
    return columns.count(name) > 0;
  });
}

}  // namespace

Result<QueryTranslator::Relation> QueryTranslator::translate_join(const ParseNode& body, size_t at) {
  const ParseNode* left_item = body.get("larg");
  const ParseNode* right_item = body.get("rarg");
  if (left_item == nullptr || right_item == nullptr) {
    return source_.error_at(at, StatusCode::invalid_argument, "a JOIN needs two FROM items");
  }
  const size_t right_at = expressions_.offset(*right_item, at);
  std::vector<std::string> using_keys;
  for (const ParseNode* name : body.list("usingClause")) {
    using_keys.push_back(name->body().string_field("sval"));
  }
  const ParseNode* on = body.get("quals");
  if (using_keys.empty() && on == nullptr) {
    return source_.error_at(right_at, StatusCode::invalid_argument,
                            std::string("a streaming JOIN needs ON (equal columns of both sides) or USING (columns), not ") +
                                (body.bool_field("isNatural") ? "NATURAL" : "no condition"));
  }
  const std::string join_type = body.string_field("jointype");
  std::string how = "inner";
  if (join_type == "JOIN_LEFT") how = "left_outer";
  if (join_type == "JOIN_RIGHT") how = "right_outer";
  if (join_type == "JOIN_FULL") how = "full_outer";
  if (join_type == "JOIN_SEMI") how = "left_semi";
  if (join_type == "JOIN_ANTI") how = "left_anti";
  SLUICE_ASSIGN_OR_RETURN(Relation left, translate_from_item(*left_item, at));
  SLUICE_ASSIGN_OR_RETURN(Relation right, translate_from_item(*right_item, right_at));
  if (left.window || right.window) {
    return source_.error_at(right_at, StatusCode::invalid_argument,
                            "TUMBLE/HOP/SESSION cannot be a side of a JOIN: aggregate the windows in a subquery first");
  }
  for (const auto& name : left.qualifiers) {
    for (const auto& other : right.qualifiers) {
      if (equals_ignoring_case(name, other)) {
        return source_.error_at(right_at, StatusCode::invalid_argument,
                                "both sides of the JOIN are called '" + other +
                                    "': give one of them another name (AS name)");
      }
    }
  }
  DataFrame left_frame = *left.frame;
  DataFrame right_frame = *right.frame;
  std::vector<QualifiedColumn> left_columns = side_columns(left_frame, left.qualified_columns, left.qualifiers);
  std::vector<QualifiedColumn> right_columns = side_columns(right_frame, right.qualified_columns, right.qualifiers);

  // A column name both sides have (other than a USING key, which the join keeps once) is
  // renamed on each side to "qualifier.name", so that both stay reachable as a.x and b.x.
  const Schema& left_schema = *left_frame.schema();
  const Schema& right_schema = *right_frame.schema();
  auto renamed = [&](std::vector<QualifiedColumn>& columns, DataFrame& frame, const std::string& column,
                     size_t side_at) -> Status {
    const QualifiedColumn* owner = nullptr;
    for (const auto& entry : columns) {
      if (entry.column == column) owner = &entry;
    }
    if (owner == nullptr || owner->qualifier.empty()) {
      return source_.error_at(side_at, StatusCode::invalid_argument,
                              "both sides of the JOIN have a column '" + column +
                                  "': give this side a name (FROM ... AS name) so that it can be told apart");
    }
    const std::string name = owner->qualifier + "." + owner->name;
    if (left_schema.find(name) >= 0 || right_schema.find(name) >= 0) {
      return source_.error_at(side_at, StatusCode::invalid_argument,
                              "both sides of the JOIN are called '" + owner->qualifier +
                                  "': give one of them another name (AS name)");
    }
    frame = frame.with_column_renamed(column, name);
    for (auto& entry : columns) {
      if (entry.column == column) entry.column = name;
    }
    return Status::ok();
  };
  for (const auto& field : left_schema.fields()) {
    if (right_schema.find(field.name) < 0) continue;
    if (std::find(using_keys.begin(), using_keys.end(), field.name) != using_keys.end()) continue;
    SLUICE_RETURN_NOT_OK(renamed(left_columns, left_frame, field.name, at));
    SLUICE_RETURN_NOT_OK(renamed(right_columns, right_frame, field.name, right_at));
  }
  std::vector<QualifiedColumn> columns = left_columns;
  columns.insert(columns.end(), right_columns.begin(), right_columns.end());

  std::vector<std::string> keys = using_keys;
  std::vector<std::string> hidden_keys;
  std::optional<Expr> condition;
  if (on != nullptr) {
    // ON: each `left expression = right expression` becomes a key (the two sides computed into
    // one hidden column each, so that both original columns stay, NULL on an outer join's
    // missing side, as SQL has them); everything else is the join's condition.
    std::vector<Field> fields = left_frame.schema()->fields();
    for (const auto& field : right_frame.schema()->fields()) {
      if (left_frame.schema()->find(field.name) < 0) fields.push_back(field);
    }
    SLUICE_ASSIGN_OR_RETURN(SchemaPtr both, Schema::make(std::move(fields)));
    ExpressionScope scope;
    scope.schema = both;
    scope.qualifiers = left.qualifiers;
    scope.qualifiers.insert(scope.qualifiers.end(), right.qualifiers.begin(), right.qualifiers.end());
    scope.qualified_columns = columns;
    scope.clause = "ON";
    SLUICE_ASSIGN_OR_RETURN(Expr translated, expressions_.translate(*on, scope));
    std::set<std::string> left_names;
    std::set<std::string> right_names;
    for (const auto& field : left_frame.schema()->fields()) left_names.insert(field.name);
    for (const auto& field : right_frame.schema()->fields()) right_names.insert(field.name);
    std::vector<Expr> parts;
    conjuncts(translated, parts);
    std::vector<Expr> rest;
    for (const auto& part : parts) {
      const bool equality = part.kind() == ExprKind::binary && part.function_name() == "=";
      if (equality) {
        const Expr& a = part.children()[0];
        const Expr& b = part.children()[1];
        std::optional<std::pair<Expr, Expr>> sides;
        if (reads_only(a, left_names) && reads_only(b, right_names)) sides.emplace(a, b);
        if (reads_only(b, left_names) && reads_only(a, right_names)) sides.emplace(b, a);
        if (sides) {
          const std::string key = "__join_key_" + std::to_string(hidden_keys.size());
          left_frame = left_frame.with_column(key, sides->first);
          right_frame = right_frame.with_column(key, sides->second);
          hidden_keys.push_back(key);
          keys.push_back(key);
          continue;
        }
      }
      rest.push_back(part);
    }
    if (keys.empty()) {
      return source_.error_at(expressions_.offset(*on, at), StatusCode::invalid_argument,
                              "a streaming JOIN ... ON needs at least one equality between a column of "
                              "each side (a.key = b.key); " +
                                  translated.to_string() + " has none");
    }
    for (const auto& part : rest) condition = condition ? (*condition && part) : part;
  }
  DataFrame frame = left_frame.join(right_frame, keys, how, condition);
  if (!frame.status().is_ok()) return source_.locate(right_at, frame.status());
  if (!hidden_keys.empty()) frame = frame.drop(hidden_keys);
  Relation joined;
  joined.frame = frame;
  joined.qualifiers = left.qualifiers;
  joined.qualifiers.insert(joined.qualifiers.end(), right.qualifiers.begin(), right.qualifiers.end());
  // Semi and anti joins keep only the left side's columns.
  for (const auto& entry : columns) {
    if (frame.schema()->find(entry.column) >= 0) joined.qualified_columns.push_back(entry);
  }
  return joined;
}

Result<QueryTranslator::Relation> QueryTranslator::translate_range_var(const ParseNode& body) {
  const size_t at = expressions_.offset(body);
  const std::string name = body.string_field("relname");
  if (!body.string_field("schemaname").empty()) {
    return source_.error_at(
        at, StatusCode::invalid_argument,
        "qualified names (schema.table) are not supported; write just the name");
  }
  Relation relation;
  relation.qualifiers.push_back(name);
  if (const ParseNode* alias = body.get("alias")) {
    relation.qualifiers = {alias->string_field("aliasname")};
  }
  for (auto scope = ctes_.rbegin(); scope != ctes_.rend() && !relation.frame; ++scope) {
    if (auto it = scope->find(name); it != scope->end()) {
      relation.frame = it->second;
      break;
    }
    for (const auto& [cte, frame] : *scope) {
      if (equals_ignoring_case(cte, name)) {
        relation.frame = frame;
        break;
      }
    }
  }
  if (relation.frame) return relation;
  if (auto table = catalog_.table(name)) {
    relation.frame = DataFrame(session_, table->plan);
    return relation;
  }
  std::vector<std::string> names = catalog_.table_names();
  for (const auto& scope : ctes_) {
    for (const auto& entry : scope)
      names.push_back(entry.first);
  }
  std::string message = "unknown source or view '" + name + "'";
  const std::string suggestion = closest_name(name, names);
  if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
  message += names.empty() ? " (none is defined: use CREATE SOURCE, or register a stream)"
                           : " (defined: " + list_names(names) + ")";
  return source_.error_at(at, StatusCode::not_found, message);
}

Result<QueryTranslator::Relation> QueryTranslator::translate_window_function(
    const ParseNode& range_function) {
  const size_t fallback = result_->offset;
  if (range_function.bool_field("lateral") || range_function.bool_field("ordinality")) {
    return source_.error_at(fallback, StatusCode::invalid_argument,
                            "LATERAL and WITH ORDINALITY are not supported");
  }
  auto functions = range_function.list("functions");
  const ParseNode* call = nullptr;
  if (functions.size() == 1) {
    auto items = functions[0]->body().list("items");
    if (!items.empty()) call = items[0];
  }
  if (call == nullptr || call->node_type() != "FuncCall") {
    return source_.error_at(fallback, StatusCode::invalid_argument,
                            "FROM takes one table function: TUMBLE, HOP or SESSION");
  }
  const ParseNode& body = call->body();
  const size_t at = expressions_.offset(body, fallback);
  const std::string name = ExpressionTranslator::function_name(*call);
  std::string upper = name;
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto args = body.list("args");
  if (name != "tumble" && name != "hop" && name != "session") {
    std::string message = "unknown table function " + name + "()";
    const std::string suggestion = closest_name(name, {"tumble", "hop", "session"});
    if (!suggestion.empty()) message += "; did you mean " + suggestion + "()?";
    return source_.error_at(at, StatusCode::not_found,
                            message + " (table functions: TUMBLE, HOP, SESSION)");
  }
  const std::string usage = name == "hop" ? "HOP(source, DESCRIPTOR(time), slide, size[, offset])"
                            : name == "tumble" ? "TUMBLE(source, DESCRIPTOR(time), size[, offset])"
                                               : "SESSION(source, DESCRIPTOR(time), gap)";
  const size_t min_args = name == "hop" ? 4 : 3;
  const size_t max_args = name == "session" ? 3 : min_args + 1;
  if (args.size() < min_args || args.size() > max_args) {
    return source_.error_at(at, StatusCode::invalid_argument,
                            upper + " takes " + std::to_string(min_args) +
                                (max_args > min_args ? " or " + std::to_string(max_args) : "") +
                                " arguments: " + usage);
  }
  const std::string table = simple_column_name(*args[0]);
  if (table.empty()) {
    return source_.error_at(
        expressions_.offset(*args[0], at), StatusCode::invalid_argument,
        "the first argument of " + upper + " names a source, view or WITH query: " + usage);
  }
  ParseNode range_var = ParseNode::make_object(
      {"relname", "location"},
      {ParseNode::make_scalar(ParseNode::Kind::string, false, 0, 0, table),
       ParseNode::make_scalar(ParseNode::Kind::integer, false, args[0]->body().location(), 0, {})});
  SLUICE_ASSIGN_OR_RETURN(Relation relation, translate_range_var(range_var));
  if (const ParseNode* alias = range_function.get("alias")) {
    relation.qualifiers = {alias->string_field("aliasname")};
  }

  const ParseNode& descriptor = *args[1];
  const auto descriptor_args = descriptor.body().list("args");
  if (ExpressionTranslator::function_name(descriptor) != "descriptor" ||
      descriptor_args.size() != 1) {
    return source_.error_at(
        expressions_.offset(descriptor, at), StatusCode::invalid_argument,
        "the second argument of " + upper + " names the event-time column: DESCRIPTOR(ts)");
  }
  ExpressionScope scope = input_scope(*relation.frame, relation, "DESCRIPTOR");
  SLUICE_ASSIGN_OR_RETURN(Expr time, expressions_.translate(*descriptor_args[0], scope));
  SLUICE_ASSIGN_OR_RETURN(Type time_type, infer_type(time, *scope.schema));
  if (time_type != Type::Timestamp) {
    return source_.error_at(expressions_.offset(*descriptor_args[0], at), StatusCode::type_error,
                            "the event-time column " + time.to_string() + " of " + upper + " is " +
                                std::string(type_name(time_type)) + ", not TIMESTAMP");
  }
  if (name == "session") {
    SLUICE_ASSIGN_OR_RETURN(std::string gap, expressions_.duration(*args[2]));
    relation.window = session_window(time, gap);
  } else {
    const size_t size_index = name == "hop" ? 3 : 2;
    SLUICE_ASSIGN_OR_RETURN(std::string size, expressions_.duration(*args[size_index]));
    std::string slide;
    if (name == "hop") {
      SLUICE_ASSIGN_OR_RETURN(slide, expressions_.duration(*args[2]));
    }
    std::string start;
    if (args.size() > size_index + 1) {
      SLUICE_ASSIGN_OR_RETURN(start, expressions_.duration(*args[size_index + 1]));
    }
    relation.window = window(time, size, slide, start);
  }
  relation.window_function = upper;
  relation.window_offset = at;
  return relation;
}

Result<DataFrame> QueryTranslator::translate_plain(const ParseNode& select, DataFrame frame,
                                                   const Relation& relation) {
  const size_t at = first_target_offset(select);
  ExpressionScope scope = input_scope(frame, relation, "SELECT");
  std::vector<Expr> outputs;
  for (const ParseNode* target : select.list("targetList")) {
    const ParseNode& body = target->body();
    const ParseNode* value = body.get("val");
    const std::string alias = body.string_field("name");
    if (is_star(*value)) {
      auto fields = value->body().list("fields");
      if (fields.size() > 1) {
        const std::string qualifier = fields[0]->body().string_field("sval");
        bool known = false;
        for (const auto& name : relation.qualifiers)
          known |= equals_ignoring_case(name, qualifier);
        if (!known) {
          return source_.error_at(expressions_.offset(*value, at), StatusCode::not_found,
                                  "unknown table or alias '" + qualifier + "' in " + qualifier +
                                      ".* (FROM names: " + list_names(relation.qualifiers) + ")");
        }
      }
      if (fields.size() > 1 && !relation.qualified_columns.empty()) {
        // a.* after a join: that side's columns, under their own names.
        const std::string qualifier = fields[0]->body().string_field("sval");
        for (const auto& column : relation.qualified_columns) {
          if (!equals_ignoring_case(column.qualifier, qualifier)) continue;
          outputs.push_back(column.column == column.name ? col(column.column)
                                                         : col(column.column).alias(column.name));
        }
        continue;
      }
      for (const auto& field : frame.schema()->fields()) {
        if (field.name.starts_with("__over_")) continue;  // an OVER's result, not an input column
        outputs.push_back(col(field.name));
      }
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(Expr expr, expressions_.translate(*value, scope));
    if (!alias.empty()) {
      expr = expr.alias(alias);
    }
    outputs.push_back(std::move(expr));
  }
  if (!is_identity(outputs, *frame.schema())) {
    SLUICE_ASSIGN_OR_RETURN(frame, checked(frame.select(outputs), at));
  }
  if (!select.list("distinctClause").empty()) {
    note(result_->distinct_offset, distinct_keyword_offset(at));
    frame = frame.drop_duplicates();
  }
  return apply_order_and_limit(select, frame, relation.qualifiers, nullptr);
}

Result<DataFrame> QueryTranslator::translate_grouped(const ParseNode& select, DataFrame frame,
                                                     const Relation& relation) {
  const size_t at = first_target_offset(select);
  const auto targets = select.list("targetList");
  ExpressionScope input = input_scope(frame, relation, "GROUP BY");
  input.grouped_columns_hint.clear();

  // GROUP BY: expressions, at most one window (TUMBLE/HOP columns, "window"(...),
  // session_window(...)), select-list positions and aliases.
  std::vector<GroupKey> keys;
  std::vector<std::pair<Expr, std::string>> expression_keys;
  std::vector<GroupedColumn> window_columns;
  std::optional<size_t> window_key_offset;
  auto add_window = [&](GroupKey key, size_t where, std::vector<GroupedColumn> columns) -> Status {
    if (window_key_offset) {
      return source_.error_at(where, StatusCode::invalid_argument,
                              "a query groups by at most one window");
    }
    window_key_offset = where;
    keys.push_back(std::move(key));
    window_columns = std::move(columns);
    return Status::ok();
  };
  for (const ParseNode* item : select.list("groupClause")) {
    const ParseNode* node = item;
    const size_t item_at = expressions_.offset(*item, at);
    note(result_->group_offset, item_at);
    const std::string_view type = item->node_type();
    if (type == "GroupingSet") {
      return source_.error_at(item_at, StatusCode::invalid_argument,
                              "ROLLUP, CUBE and GROUPING SETS are not supported");
    }
    if (is_integer_constant(*item)) {
      SLUICE_ASSIGN_OR_RETURN(Value position, expressions_.constant(*item));
      if (position.as_int64() < 1 || position.as_int64() > static_cast<int64_t>(targets.size())) {
        return source_.error_at(item_at, StatusCode::invalid_argument,
                                "GROUP BY position " + position.to_string() +
                                    " is not in the select list (1 to " +
                                    std::to_string(targets.size()) + ")");
      }
      node = targets[static_cast<size_t>(position.as_int64() - 1)]->body().get("val");
    }
    const std::string function = ExpressionTranslator::function_name(*node);
    if (function == "window" || function == "session_window") {
      const auto args = node->body().list("args");
      const bool session = function == "session_window";
      if (args.size() < 2 || args.size() > (session ? 2u : 4u)) {
        return source_.error_at(item_at, StatusCode::invalid_argument,
                                session ? "session_window takes (time, gap)"
                                        : "window takes (time, size[, slide[, start]])");
      }
      SLUICE_ASSIGN_OR_RETURN(Expr time, expressions_.translate(*args[0], input));
      SLUICE_ASSIGN_OR_RETURN(std::string size, expressions_.duration(*args[1]));
      if (session) {
        SLUICE_RETURN_NOT_OK(add_window(session_window(time, size), item_at,
                                        {{"session_window.start", "session_window.start"},
                                         {"session_window.end", "session_window.end"}}));
        continue;
      }
      std::string slide;
      std::string start;
      if (args.size() > 2) {
        SLUICE_ASSIGN_OR_RETURN(slide, expressions_.duration(*args[2]));
      }
      if (args.size() > 3) {
        SLUICE_ASSIGN_OR_RETURN(start, expressions_.duration(*args[3]));
      }
      SLUICE_RETURN_NOT_OK(
          add_window(window(time, size, slide, start), item_at,
                     {{"window.start", "window.start"}, {"window.end", "window.end"}}));
      continue;
    }
    const std::string column = simple_column_name(*node);
    if (relation.window && (equals_ignoring_case(column, "window_start") ||
                            equals_ignoring_case(column, "window_end"))) {
      if (!window_key_offset) {
        const bool session = std::holds_alternative<SessionWindow>(*relation.window);
        const std::string prefix = session ? "session_window" : "window";
        SLUICE_RETURN_NOT_OK(
            add_window(*relation.window, item_at,
                       {{"window_start", prefix + ".start"}, {"window_end", prefix + ".end"}}));
      }
      continue;
    }
    if (!column.empty() && frame.schema()->find(column) < 0) {
      // GROUP BY an alias of the select list, as Spark allows.
      for (const ParseNode* target : targets) {
        if (equals_ignoring_case(target->body().string_field("name"), column)) {
          node = target->body().get("val");
          break;
        }
      }
    }
    if (contains_aggregate(*node)) {
      return source_.error_at(item_at, StatusCode::invalid_argument,
                              "aggregate functions are not allowed in GROUP BY");
    }
    SLUICE_ASSIGN_OR_RETURN(Expr key, expressions_.translate(*node, input));
    bool duplicate = false;
    for (const auto& existing : expression_keys)
      duplicate |= existing.first.equals(key);
    if (duplicate) continue;
    expression_keys.emplace_back(key, key.output_name());
    keys.push_back(key);
  }
  if (relation.window && !window_key_offset) {
    return source_.error_at(relation.window_offset, StatusCode::invalid_argument,
                            relation.window_function +
                                "(...) assigns rows to windows for an aggregation: add GROUP BY "
                                "window_start");
  }

  AggregateCollector collector;
  ExpressionScope grouped = input_scope(frame, relation, "SELECT");
  grouped.grouped_columns_hint.clear();
  grouped.aggregates = &collector;
  grouped.grouped_columns = window_columns;
  for (auto& column : grouped.grouped_columns)
    column.type = Type::Timestamp;

  const Schema& input_schema = *frame.schema();
  // Rewrites an expression over the input into one over the aggregation's output: group keys
  // become their columns; any other input column is an error at its place.
  std::function<Result<Expr>(const Expr&)> bind = [&](const Expr& expr) -> Result<Expr> {
    for (const auto& [key, name] : expression_keys) {
      if (expr.equals(key)) return col(name);
    }
    if (expr.kind() == ExprKind::column) {
      if (collector.is_placeholder(expr)) return expr;
      for (const auto& column : window_columns) {
        if (expr.column_name() == column.column && input_schema.find(column.column) < 0) {
          return expr;
        }
      }
      for (const auto& field : collector.fields()) {
        if (expr.column_name() == field.name && input_schema.find(field.name) < 0) return expr;
      }
      const size_t where = expressions_.column_offset(expr).value_or(at);
      return source_.error_at(where, StatusCode::invalid_argument,
                              "column '" + expr.column_name() +
                                  "' must appear in GROUP BY or be used in an aggregate "
                                  "function");
    }
    if (expr.children().empty()) return expr;
    std::vector<Expr> children;
    for (const auto& child : expr.children()) {
      SLUICE_ASSIGN_OR_RETURN(Expr bound, bind(child));
      children.push_back(std::move(bound));
    }
    return expr.with_children(std::move(children));
  };

  std::vector<SelectItem> items;
  for (const ParseNode* target : targets) {
    const ParseNode& body = target->body();
    const ParseNode* value = body.get("val");
    const std::string alias = body.string_field("name");
    const size_t item_at = expressions_.offset(*target, at);
    if (is_star(*value)) {
      return source_.error_at(item_at, StatusCode::invalid_argument,
                              "SELECT * is not allowed with GROUP BY or aggregates; list the "
                              "grouping columns and the aggregates");
    }
    const std::string function = ExpressionTranslator::function_name(*value);
    if (function == "window" || function == "session_window") {
      const std::string prefix = function;
      if (window_columns.empty() || window_columns[0].column != prefix + ".start") {
        return source_.error_at(
            item_at, StatusCode::invalid_argument,
            function + "(...) in the select list needs the same " + function + "(...) in GROUP BY");
      }
      if (!alias.empty()) {
        return source_.error_at(item_at, StatusCode::invalid_argument,
                                function + "(...) gives two columns, " + prefix + ".start and " +
                                    prefix + ".end; alias those instead");
      }
      items.push_back({col(prefix + ".start"), prefix + ".start"});
      items.push_back({col(prefix + ".end"), prefix + ".end"});
      continue;
    }
    if (ExpressionTranslator::is_aggregate_call(*value)) {
      SLUICE_ASSIGN_OR_RETURN(Expr placeholder,
                              expressions_.translate_aggregate(*value, grouped, alias));
      items.push_back({placeholder, placeholder.column_name()});
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(Expr expr, expressions_.translate(*value, grouped));
    SLUICE_ASSIGN_OR_RETURN(Expr bound, bind(expr));
    std::string name = alias;
    if (name.empty() && value->node_type() == "ColumnRef") {
      SLUICE_ASSIGN_OR_RETURN(auto resolved, expressions_.resolve_column(*value, grouped));
      name = resolved.display;
    }
    if (name.empty()) name = expr.output_name();
    items.push_back({bound, name});
  }

  std::optional<Expr> having;
  size_t having_at = at;
  if (const ParseNode* node = select.get("havingClause")) {
    having_at = expressions_.offset(*node, at);
    ExpressionScope scope = grouped;
    scope.clause = "HAVING";
    scope.reuse_aliased_aggregates = true;
    // HAVING may name an aggregate by its alias in the select list, as Spark allows.
    for (const auto& item : items) {
      if (item.expr.kind() != ExprKind::column || !collector.is_placeholder(item.expr)) continue;
      for (const auto& field : collector.fields()) {
        if (field.name == item.expr.column_name() && input_schema.find(item.name) < 0) {
          scope.grouped_columns.push_back({item.name, field.name, field.type});
        }
      }
    }
    SLUICE_ASSIGN_OR_RETURN(Expr expr, expressions_.translate(*node, scope));
    SLUICE_ASSIGN_OR_RETURN(having, bind(expr));
  }

  // The ORDER BY keys that are not output columns are resolved now, before aggregating, so
  // that aggregates they need (ORDER BY count(*)) join the aggregation.
  std::map<const ParseNode*, Expr> order_keys;
  for (const ParseNode* sort : select.list("sortClause")) {
    const ParseNode* node = sort->body().get("node");
    if (is_integer_constant(*node)) continue;
    const std::string column = simple_column_name(*node);
    bool is_output = false;
    for (const auto& item : items)
      is_output |= !column.empty() && equals_ignoring_case(item.name, column);
    if (is_output) continue;
    ExpressionScope scope = grouped;
    scope.clause = "ORDER BY";
    scope.reuse_aliased_aggregates = true;
    auto expr = expressions_.translate(*node, scope);
    if (!expr.ok()) continue;
    auto bound = bind(*expr);
    if (!bound.ok()) continue;
    order_keys.emplace(node, *bound);
  }

  std::vector<AggregateCall> aggregates = collector.calls();
  if (aggregates.empty()) {
    // GROUP BY without aggregates lists the distinct groups: count them and drop the count.
    aggregates.push_back(count().alias("__group_rows"));
  }
  const size_t group_at = result_->group_offset.value_or(at);
  SLUICE_ASSIGN_OR_RETURN(frame, checked(frame.group_by(keys).agg(aggregates), group_at));
  if (having) {
    SLUICE_ASSIGN_OR_RETURN(frame, checked(frame.filter(*having), having_at));
  }

  std::vector<Expr> outputs;
  for (const auto& item : items) {
    const bool plain = item.expr.kind() == ExprKind::column && item.expr.column_name() == item.name;
    outputs.push_back(plain ? item.expr : item.expr.alias(item.name));
  }
  if (!is_identity(outputs, *frame.schema())) {
    SLUICE_ASSIGN_OR_RETURN(frame, checked(frame.select(outputs), at));
  }
  if (!select.list("distinctClause").empty()) {
    note(result_->distinct_offset, distinct_keyword_offset(at));
    frame = frame.drop_duplicates();
  }
  auto grouped_key = [&](const ParseNode& node) -> Result<Expr> {
    auto it = order_keys.find(&node);
    if (it != order_keys.end()) {
      for (const auto& item : items) {
        if (item.expr.equals(it->second)) return col(item.name);
      }
    }
    return source_.error_at(expressions_.offset(node, at), StatusCode::invalid_argument,
                            "ORDER BY of a grouped query sorts by output columns: add this "
                            "expression to the select list (with an alias) and order by that");
  };
  return apply_order_and_limit(select, frame, relation.qualifiers, grouped_key);
}

Result<DataFrame> QueryTranslator::apply_order_and_limit(
    const ParseNode& select, DataFrame frame, const std::vector<std::string>& qualifiers,
    const std::function<Result<Expr>(const ParseNode&)>& grouped_key) {
  const size_t at = result_->offset;
  const auto sorts = select.list("sortClause");
  if (!sorts.empty()) {
    ExpressionScope scope;
    scope.schema = frame.schema();
    scope.qualifiers = qualifiers;
    scope.clause = "ORDER BY";
    std::vector<SortKey> keys;
    const size_t order_at = expressions_.offset(*sorts[0]->body().get("node"), at);
    note(result_->order_offset, order_at);
    for (const ParseNode* sort : sorts) {
      const ParseNode& body = sort->body();
      const ParseNode* node = body.get("node");
      const size_t key_at = expressions_.offset(*node, at);
      if (body.string_field("sortby_nulls") != "SORTBY_NULLS_DEFAULT" &&
          !body.string_field("sortby_nulls").empty()) {
        return source_.error_at(key_at, StatusCode::invalid_argument,
                                "NULLS FIRST / NULLS LAST is not supported (nulls sort first)");
      }
      if (body.string_field("sortby_dir") == "SORTBY_USING") {
        return source_.error_at(key_at, StatusCode::invalid_argument,
                                "ORDER BY ... USING is not supported");
      }
      Expr key;
      if (is_integer_constant(*node)) {
        SLUICE_ASSIGN_OR_RETURN(Value position, expressions_.constant(*node));
        if (position.as_int64() < 1 || position.as_int64() > scope.schema->num_fields()) {
          return source_.error_at(key_at, StatusCode::invalid_argument,
                                  "ORDER BY position " + position.to_string() +
                                      " is not in the select list (1 to " +
                                      std::to_string(scope.schema->num_fields()) + ")");
        }
        key = col(scope.schema->field(static_cast<int>(position.as_int64() - 1)).name);
      } else {
        auto translated = expressions_.translate(*node, scope);
        if (translated.ok()) {
          key = *translated;
        } else if (grouped_key) {
          auto resolved = grouped_key(*node);
          if (!resolved.ok()) {
            return translated.status().code() == StatusCode::not_found ? translated.status()
                                                                       : resolved.status();
          }
          key = *resolved;
        } else {
          return translated.status();
        }
      }
      keys.push_back({key, body.string_field("sortby_dir") != "SORTBY_DESC"});
    }
    SLUICE_ASSIGN_OR_RETURN(frame, checked(frame.order_by(keys), order_at));
  }
  if (const ParseNode* offset = select.get("limitOffset")) {
    return source_.error_at(expressions_.offset(*offset, at), StatusCode::invalid_argument,
                            "OFFSET is not supported on a stream");
  }
  if (const ParseNode* count = select.get("limitCount")) {
    const size_t limit_at = expressions_.offset(*count, at);
    if (select.string_field("limitOption") == "LIMIT_OPTION_WITH_TIES") {
      return source_.error_at(limit_at, StatusCode::invalid_argument,
                              "FETCH ... WITH TIES is not supported");
    }
    SLUICE_ASSIGN_OR_RETURN(Value value, expressions_.constant(*count));
    if (!value.is_null()) {
      if (value.type() != Type::Int64) {
        return source_.error_at(limit_at, StatusCode::invalid_argument,
                                "LIMIT takes an integer constant");
      }
      note(result_->limit_offset, limit_at);
      SLUICE_ASSIGN_OR_RETURN(frame, checked(frame.limit(value.as_int64()), limit_at));
    }
  }
  return frame;
}

}  // namespace sluice
