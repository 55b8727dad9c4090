#include "plan/optimizer.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "operators/record_format.hpp"

namespace sluice {

namespace {

// Returns the expression a projection computes for its output, without its alias.
Expr strip_alias(const Expr& expr) {
  return expr.kind() == ExprKind::alias ? expr.children()[0] : expr;
}

// Keeps the name a user sees for a projected column when a rewrite changed its rendering.
Expr keep_output_name(const Expr& original, const Expr& rewritten) {
  if (rewritten.output_name() == original.output_name()) return rewritten;
  return strip_alias(rewritten).alias(original.output_name());
}

bool all_deterministic(const std::vector<Expr>& exprs) {
  return std::all_of(exprs.begin(), exprs.end(), [](const Expr& e) { return e.is_deterministic(); });
}

// Replaces column references by the expressions a projection or a union input gives them.
Expr substitute(const Expr& expr, const std::map<std::string, Expr>& replacements) {
  return transform_up(expr, [&](const Expr& node) {
    if (node.kind() != ExprKind::column) return node;
    auto it = replacements.find(node.column_name());
    return it == replacements.end() ? node : it->second;
  });
}

std::map<std::string, Expr> projection_map(const std::vector<Expr>& exprs) {
  std::map<std::string, Expr> map;
  for (const auto& expr : exprs) map.emplace(expr.output_name(), strip_alias(expr));
  return map;
}

// Maps the union's column names (its first input's) to input `index`'s names, by position.
std::map<std::string, Expr> union_input_map(const LogicalPlan& union_node, size_t index) {
  std::map<std::string, Expr> map;
  const Schema& output = *union_node.schema();
  const Schema& input = *union_node.children()[index]->schema();
  for (int i = 0; i < output.num_fields(); ++i) {
    if (output.field(i).name != input.field(i).name) {
      map.emplace(output.field(i).name, col(input.field(i).name));
    }
  }
  return map;
}

void split_conjuncts(const Expr& expr, std::vector<Expr>& out) {
  if (expr.kind() == ExprKind::binary && expr.function_name() == "and") {
    for (const auto& child : expr.children())
      split_conjuncts(child, out);
  } else {
    out.push_back(expr);
  }
}

Expr conjunction(const std::vector<Expr>& parts) {
  Expr result = parts.front();
  for (size_t i = 1; i < parts.size(); ++i)
    result = result && parts[i];
  return result;
}

bool is_bool_literal(const Expr& expr, bool value) {
  return expr.kind() == ExprKind::literal && !expr.literal().is_null() &&
         expr.literal().type() == Type::Bool && expr.literal().as_bool() == value;
}

bool is_null_literal(const Expr& expr) {
  return expr.kind() == ExprKind::literal && expr.literal().is_null();
}

Expr fold(const Expr& expr) {
  return transform_up(expr, [](const Expr& node) -> Expr {
    if (node.kind() == ExprKind::literal || node.kind() == ExprKind::alias ||
        node.kind() == ExprKind::column || !node.is_deterministic() ||
        !node.referenced_columns().empty()) {
      return node;
    }
    static const SchemaPtr empty = Schema::make({}).value();
    auto bound = bind(node, *empty);
    if (!bound.ok()) return node;
    auto column = bound->evaluate(*RecordBatch::make_unchecked(empty, {}, 1));
    // An expression that fails on constants (ANSI division by zero, say) fails at run time.
    if (!column.ok()) return node;
    const Value value = (*column)->value_at(0);
    return value.is_null() ? lit_null(bound->type()) : lit(value);
  });
}

Expr simplify(const Expr& expr, const Schema& schema) {
  return transform_up(expr, [&](const Expr& node) -> Expr {
    const auto& children = node.children();
    if (node.kind() == ExprKind::binary && node.function_name() == "and") {
      if (is_bool_literal(children[0], true)) return children[1];
      if (is_bool_literal(children[1], true)) return children[0];
      if (is_bool_literal(children[0], false) || is_bool_literal(children[1], false)) {
        return lit(false);
      }
    } else if (node.kind() == ExprKind::binary && node.function_name() == "or") {
      if (is_bool_literal(children[0], false)) return children[1];
      if (is_bool_literal(children[1], false)) return children[0];
      if (is_bool_literal(children[0], true) || is_bool_literal(children[1], true)) {
        return lit(true);
      }
    } else if (node.kind() == ExprKind::unary && node.function_name() == "not") {
      const Expr& inner = children[0];
      if (inner.kind() == ExprKind::unary && inner.function_name() == "not") {
        return inner.children()[0];
      }
    } else if (node.kind() == ExprKind::binary &&
               std::any_of(children.begin(), children.end(), is_null_literal)) {
      // Arithmetic and comparisons return NULL when an operand is NULL.
      auto type = infer_type(node, schema);
      if (type.ok()) return lit_null(*type);
    }
    return node;
  });
}

bool same_exprs(const std::vector<Expr>& a, const std::vector<Expr>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].equals(b[i])) return false;
  }
  return true;
}

Result<PlanPtr> rewrite_expressions(const PlanPtr& plan,
                                    const std::function<Expr(const Expr&, const Schema&)>& fn) {
  return transform_plan(plan, [&](const PlanPtr& node) -> Result<PlanPtr> {
    if (node->kind() == PlanKind::filter) {
      Expr condition = fn(node->condition(), *node->child()->schema());
      if (is_bool_literal(condition, true)) return node->child();
      if (condition.equals(node->condition())) return node;
      return LogicalPlan::make_filter(node->child(), condition);
    }
    if (node->kind() == PlanKind::project) {
      std::vector<Expr> exprs;
      for (const auto& expr : node->exprs()) {
        exprs.push_back(keep_output_name(expr, fn(expr, *node->child()->schema())));
      }
      if (same_exprs(exprs, node->exprs())) return node;
      return LogicalPlan::make_project(node->child(), exprs);
    }
    return node;
  });
}

// Finds the watermark declared below a node, if any.
const LogicalPlan* find_watermark_below(const PlanPtr& node) {
  if (node->kind() == PlanKind::watermark) return node.get();
  for (const auto& child : node->children()) {
    if (const LogicalPlan* found = find_watermark_below(child)) return found;
  }
  return nullptr;
}

Result<PlanPtr> prune(const PlanPtr& node, const std::set<std::string>& required) {
  switch (node->kind()) {
    case PlanKind::source: {
      std::vector<std::string> columns;
      for (const auto& field : node->source()->schema->fields()) {
        if (required.count(field.name)) columns.push_back(field.name);
      }
      // A query that reads no column still needs rows: keep the first one.
      if (columns.empty()) columns.push_back(node->source()->schema->field(0).name);
      const bool all = static_cast<int>(columns.size()) == node->source()->schema->num_fields();
      if (all && node->required_columns().empty()) return node;
      if (columns == node->required_columns()) return node;
      return node->with_required_columns(columns);
    }
    case PlanKind::filter: {
      std::set<std::string> child_required = required;
      for (const auto& name : node->condition().referenced_columns()) child_required.insert(name);
      SLUICE_ASSIGN_OR_RETURN(PlanPtr child, prune(node->child(), child_required));
      return child == node->child() ? node : LogicalPlan::make_filter(child, node->condition());
    }
    case PlanKind::project: {
      std::vector<Expr> kept;
      for (const auto& expr : node->exprs()) {
        if (required.count(expr.output_name())) kept.push_back(expr);
      }
      if (kept.empty()) kept.push_back(node->exprs().front());
      std::set<std::string> child_required;
      for (const auto& expr : kept) {
        for (const auto& name : expr.referenced_columns()) child_required.insert(name);
      }
      SLUICE_ASSIGN_OR_RETURN(PlanPtr child, prune(node->child(), child_required));
      if (child == node->child() && kept.size() == node->exprs().size()) return node;
      return LogicalPlan::make_project(child, kept);
    }
    case PlanKind::over: {
      // An OVER passes its input's columns on: the child keeps what the parent reads of them,
      // what the window reads, and the event-time column its rows are released by.
      std::set<std::string> child_required;
      for (const auto& field : node->child()->schema()->fields()) {
        if (required.count(field.name)) child_required.insert(field.name);
      }
      for (const auto& name : node->referenced_columns())
        child_required.insert(name);
      if (const LogicalPlan* watermark = find_watermark_below(node->child())) {
        if (node->child()->schema()->find(watermark->watermark_column()) >= 0) {
          child_required.insert(watermark->watermark_column());
        }
      }
      for (const auto& bound : node->over_window()->order_bounds) {
        for (const auto& name : bound.referenced_columns()) {
          if (node->child()->schema()->find(name) >= 0) child_required.insert(name);
        }
      }
      SLUICE_ASSIGN_OR_RETURN(PlanPtr child, prune(node->child(), child_required));
      return child == node->child() ? node : node->with_children({child});
    }
    case PlanKind::group_state:
    case PlanKind::watermark:
    case PlanKind::deduplicate:
    case PlanKind::sort:
    case PlanKind::limit:
    case PlanKind::aggregate: {
      // Pass-through nodes keep what their parent reads plus what they read themselves; an
      // aggregation needs only its keys and arguments.
      std::set<std::string> child_required;
      if (node->kind() != PlanKind::aggregate && node->kind() != PlanKind::group_state) {
        child_required = required;
      }
      for (const auto& name : node->referenced_columns()) child_required.insert(name);
      SLUICE_ASSIGN_OR_RETURN(PlanPtr child, prune(node->child(), child_required));
      return child == node->child() ? node : node->with_children({child});
    }
    case PlanKind::join: {
      // Each side keeps what the parent reads of it, the keys, the condition's columns and
      // its event-time column (the join evicts its state by it).
      std::set<std::string> wanted = required;
      for (const auto& name : node->referenced_columns()) wanted.insert(name);
      std::vector<PlanPtr> children;
      bool changed = false;
      for (const auto& input : node->children()) {
        std::set<std::string> child_required;
        for (const auto& field : input->schema()->fields()) {
          if (wanted.count(field.name)) child_required.insert(field.name);
        }
        if (const LogicalPlan* watermark = find_watermark_below(input)) {
          if (input->schema()->find(watermark->watermark_column()) >= 0) {
            child_required.insert(watermark->watermark_column());
          }
        }
        SLUICE_ASSIGN_OR_RETURN(PlanPtr child, prune(input, child_required));
        changed |= child != input;
        children.push_back(child);
      }
      return changed ? node->with_children(children) : Result<PlanPtr>(node);
    }
    case PlanKind::union_all: {
      std::vector<PlanPtr> children;
      bool changed = false;
      const Schema& output = *node->schema();
      for (const auto& input : node->children()) {
        std::set<std::string> child_required;
        for (int i = 0; i < output.num_fields(); ++i) {
          // A union keeps every column by position, so each input keeps them all; only
          // columns below the inputs' own projections can be dropped.
          (void)required;
          child_required.insert(input->schema()->field(i).name);
        }
        SLUICE_ASSIGN_OR_RETURN(PlanPtr child, prune(input, child_required));
        changed |= child != input;
        children.push_back(child);
      }
      return changed ? node->with_children(children) : Result<PlanPtr>(node);
    }
  }
  return node;
}

}  // namespace

Expr transform_up(const Expr& expr, const std::function<Expr(const Expr&)>& fn) {
  const auto& children = expr.children();
  if (children.empty()) return fn(expr);
  std::vector<Expr> rewritten;
  bool changed = false;
  for (const auto& child : children) {
    rewritten.push_back(transform_up(child, fn));
    changed |= !rewritten.back().equals(child);
  }
  return fn(changed ? expr.with_children(std::move(rewritten)) : expr);
}

Result<PlanPtr> transform_plan(const PlanPtr& plan,
                               const std::function<Result<PlanPtr>(const PlanPtr&)>& fn) {
  std::vector<PlanPtr> children;
  bool changed = false;
  for (const auto& child : plan->children()) {
    SLUICE_ASSIGN_OR_RETURN(PlanPtr rewritten, transform_plan(child, fn));
    changed |= rewritten != child;
    children.push_back(std::move(rewritten));
  }
  PlanPtr node = plan;
  if (changed) {
    SLUICE_ASSIGN_OR_RETURN(node, plan->with_children(std::move(children)));
  }
  return fn(node);
}

bool same_plan(const PlanPtr& a, const PlanPtr& b) { return a == b; }

Result<PlanPtr> CombineFilters::apply(const PlanPtr& plan) const {
  return transform_plan(plan, [](const PlanPtr& node) -> Result<PlanPtr> {
    if (node->kind() != PlanKind::filter || node->child()->kind() != PlanKind::filter) return node;
    const PlanPtr& inner = node->child();
    return LogicalPlan::make_filter(inner->child(), inner->condition() && node->condition());
  });
}

Result<PlanPtr> PushDownFilters::apply(const PlanPtr& plan) const {
  return transform_plan(plan, [](const PlanPtr& node) -> Result<PlanPtr> {
    if (node->kind() != PlanKind::filter) return node;
    const PlanPtr& child = node->child();
    if (child->kind() == PlanKind::project && all_deterministic(child->exprs()) &&
        node->condition().is_deterministic()) {
      const auto replacements = projection_map(child->exprs());
      Expr condition = substitute(node->condition(), replacements);
      if (!contains_record_parse(condition)) {
        SLUICE_ASSIGN_OR_RETURN(PlanPtr filtered,
                                LogicalPlan::make_filter(child->child(), condition));
        return LogicalPlan::make_project(filtered, child->exprs());
      }
      // A conjunct on a field of from_json / from_csv stays above the projection: below it,
      // it would parse every record a second time.
      std::vector<Expr> parts, pushed, kept;
      split_conjuncts(node->condition(), parts);
      for (const auto& part : parts) {
        Expr substituted = substitute(part, replacements);
        if (contains_record_parse(substituted)) {
          kept.push_back(part);
        } else {
          pushed.push_back(std::move(substituted));
        }
      }
      if (pushed.empty()) return node;
      SLUICE_ASSIGN_OR_RETURN(PlanPtr filtered,
                              LogicalPlan::make_filter(child->child(), conjunction(pushed)));
      SLUICE_ASSIGN_OR_RETURN(PlanPtr projected,
                              LogicalPlan::make_project(filtered, child->exprs()));
      return LogicalPlan::make_filter(projected, conjunction(kept));
    }
    if (child->kind() == PlanKind::join && child->join_type() == JoinType::inner &&
        node->condition().is_deterministic()) {
      // Into an inner join's condition too (SQL's WHERE over JOIN ... USING): rows an inner
      // join emits and the filter drops are pairs that do not match, and an event-time range
      // in the condition bounds the join's state.
      const Expr condition = child->join_condition() ? *child->join_condition() && node->condition()
                                                     : node->condition();
      return LogicalPlan::make_join(child->children()[0], child->children()[1], child->join_keys(),
                                    JoinType::inner, condition);
    }
    if (child->kind() == PlanKind::over && node->condition().is_deterministic()) {
      // Only conjuncts on partition columns alone may go below an OVER: they drop whole
      // partitions, and so never change another row's frame.
      const auto& partition = child->over_window()->partition_by;
      std::vector<Expr> parts, pushed, kept;
      split_conjuncts(node->condition(), parts);
      for (const auto& part : parts) {
        const auto columns = part.referenced_columns();
        const bool on_partition =
            !columns.empty() &&
            std::all_of(columns.begin(), columns.end(), [&](const std::string& name) {
              return std::find(partition.begin(), partition.end(), name) != partition.end();
            });
        (on_partition ? pushed : kept).push_back(part);
      }
      if (pushed.empty()) return node;
      SLUICE_ASSIGN_OR_RETURN(PlanPtr filtered,
                              LogicalPlan::make_filter(child->child(), conjunction(pushed)));
      SLUICE_ASSIGN_OR_RETURN(PlanPtr over, child->with_children({filtered}));
      if (kept.empty()) return over;
      return LogicalPlan::make_filter(over, conjunction(kept));
    }
    if (child->kind() == PlanKind::union_all) {
      std::vector<PlanPtr> inputs;
      for (size_t i = 0; i < child->children().size(); ++i) {
        Expr condition = substitute(node->condition(), union_input_map(*child, i));
        SLUICE_ASSIGN_OR_RETURN(PlanPtr input,
                                LogicalPlan::make_filter(child->children()[i], condition));
        inputs.push_back(std::move(input));
      }
      return LogicalPlan::make_union(std::move(inputs));
    }
    return node;
  });
}

Result<PlanPtr> PushProjectionThroughUnion::apply(const PlanPtr& plan) const {
  return transform_plan(plan, [](const PlanPtr& node) -> Result<PlanPtr> {
    if (node->kind() != PlanKind::project || node->child()->kind() != PlanKind::union_all) {
      return node;
    }
    const PlanPtr& union_node = node->child();
    std::vector<PlanPtr> inputs;
    for (size_t i = 0; i < union_node->children().size(); ++i) {
      std::vector<Expr> exprs;
      for (const auto& expr : node->exprs()) {
        exprs.push_back(keep_output_name(expr, substitute(expr, union_input_map(*union_node, i))));
      }
      SLUICE_ASSIGN_OR_RETURN(PlanPtr input,
                              LogicalPlan::make_project(union_node->children()[i], exprs));
      inputs.push_back(std::move(input));
    }
    return LogicalPlan::make_union(std::move(inputs));
  });
}

Result<PlanPtr> CollapseProjections::apply(const PlanPtr& plan) const {
  return transform_plan(plan, [](const PlanPtr& node) -> Result<PlanPtr> {
    if (node->kind() != PlanKind::project || node->child()->kind() != PlanKind::project) {
      return node;
    }
    const PlanPtr& inner = node->child();
    if (!all_deterministic(inner->exprs())) return node;
    const auto replacements = projection_map(inner->exprs());
    std::vector<Expr> exprs;
    for (const auto& expr : node->exprs()) {
      Expr merged = substitute(expr, replacements);
      // A field of from_json / from_csv must stay a projection of its own: inside a larger
      // expression it would be parsed apart from its sibling fields.
      if (contains_record_parse(merged) && !as_record_field(merged)) return node;
      exprs.push_back(keep_output_name(expr, merged));
    }
    return LogicalPlan::make_project(inner->child(), exprs);
  });
}

Result<PlanPtr> FoldConstants::apply(const PlanPtr& plan) const {
  return rewrite_expressions(plan, [](const Expr& expr, const Schema&) { return fold(expr); });
}

Result<PlanPtr> SimplifyExpressions::apply(const PlanPtr& plan) const {
  return rewrite_expressions(plan, simplify);
}

namespace {

void conjuncts(const Expr& expr, std::vector<Expr>& out) {
  if (expr.kind() == ExprKind::binary && expr.function_name() == "and") {
    for (const auto& child : expr.children()) conjuncts(child, out);
  } else {
    out.push_back(expr);
  }
}

bool same_list(const std::vector<Expr>& a, const std::vector<Expr>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].equals(b[i])) return false;
  }
  return true;
}

}  // namespace

Result<PlanPtr> PushFiltersIntoSources::apply(const PlanPtr& plan) const {
  return transform_plan(plan, [](const PlanPtr& node) -> Result<PlanPtr> {
    if (node->kind() != PlanKind::filter || node->child()->kind() != PlanKind::source) return node;
    std::vector<Expr> parts;
    conjuncts(node->condition(), parts);
    std::vector<Expr> pushed;
    for (const auto& part : parts) {
      if (part.is_deterministic()) pushed.push_back(part);
    }
    if (same_list(pushed, node->child()->pushed_filters())) return node;
    return LogicalPlan::make_filter(node->child()->with_pushed_filters(pushed), node->condition());
  });
}

Result<PlanPtr> PruneColumns::apply(const PlanPtr& plan) const {
  std::set<std::string> required;
  for (const auto& field : plan->schema()->fields()) required.insert(field.name);
  return prune(plan, required);
}

Optimizer::Optimizer() {
  rules_.push_back(std::make_unique<CombineFilters>());
  rules_.push_back(std::make_unique<PushDownFilters>());
  rules_.push_back(std::make_unique<PushProjectionThroughUnion>());
  rules_.push_back(std::make_unique<CollapseProjections>());
  rules_.push_back(std::make_unique<FoldConstants>());
  rules_.push_back(std::make_unique<SimplifyExpressions>());
  rules_.push_back(std::make_unique<PushFiltersIntoSources>());
  rules_.push_back(std::make_unique<PruneColumns>());
}

Result<PlanPtr> Optimizer::optimize(const PlanPtr& plan, int max_iterations) const {
  PlanPtr current = plan;
  for (int iteration = 0; iteration < max_iterations; ++iteration) {
    PlanPtr before = current;
    for (const auto& rule : rules_) {
      auto rewritten = rule->apply(current);
      if (!rewritten.ok()) return rewritten.status().with_context("optimizer rule " + rule->name());
      current = *rewritten;
    }
    if (same_plan(before, current)) return current;
  }
  return current;
}

}  // namespace sluice
