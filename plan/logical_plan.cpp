#include "plan/logical_plan.hpp"

#include "operators/over_aggregate.hpp"
#include "operators/record_format.hpp"
#include "operators/window_assigner.hpp"

#include <algorithm>
#include <ostream>
#include <set>

namespace sluice {

std::ostream& operator<<(std::ostream& out, PlanKind kind) {
  switch (kind) {
    case PlanKind::source: return out << "source";
    case PlanKind::filter: return out << "filter";
    case PlanKind::project: return out << "project";
    case PlanKind::union_all: return out << "union_all";
    case PlanKind::watermark: return out << "watermark";
    case PlanKind::aggregate: return out << "aggregate";
    case PlanKind::deduplicate: return out << "deduplicate";
    case PlanKind::sort: return out << "sort";
    case PlanKind::limit: return out << "limit";
    case PlanKind::join: return out << "join";
    case PlanKind::group_state:
      return out << "group_state";
    case PlanKind::over:
      return out << "over";
  }
  return out << "unknown";
}

PlanPtr LogicalPlan::make_source(std::shared_ptr<const SourceSpec> source) {
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::source;
  node->schema_ = source->schema;
  node->source_ = std::move(source);
  return node;
}

Result<PlanPtr> LogicalPlan::make_filter(PlanPtr child, Expr condition) {
  SLUICE_ASSIGN_OR_RETURN(Type type, infer_type(condition, *child->schema()));
  if (type != Type::Bool) {
    return Status::type_error("filter condition " + condition.to_string() + " is " +
                              std::string(type_name(type)) + ", not BOOLEAN");
  }
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::filter;
  node->schema_ = child->schema();
  node->children_ = {std::move(child)};
  node->condition_ = std::move(condition);
  return PlanPtr(node);
}

Result<PlanPtr> LogicalPlan::make_project(PlanPtr child, std::vector<Expr> items) {
  // A from_json / from_csv item stands for one column per field of its schema.
  std::vector<Expr> exprs;
  for (const auto& item : items) {
    auto expanded = expand_record_columns(item);
    if (!expanded.ok()) return expanded.status().with_context("select");
    exprs.insert(exprs.end(), expanded->begin(), expanded->end());
  }
  std::vector<Field> fields;
  for (const auto& expr : exprs) {
    SLUICE_ASSIGN_OR_RETURN(BoundExpr bound, bind(expr, *child->schema()));
    fields.push_back({expr.output_name(), bound.type(), bound.nullable()});
  }
  auto schema = Schema::make(std::move(fields));
  if (!schema.ok()) return schema.status().with_context("select");
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::project;
  node->schema_ = *schema;
  node->children_ = {std::move(child)};
  node->exprs_ = std::move(exprs);
  return PlanPtr(node);
}

Result<PlanPtr> LogicalPlan::make_union(std::vector<PlanPtr> children) {
  if (children.size() < 2) return Status::invalid_argument("union_all needs at least two inputs");
  const Schema& first = *children[0]->schema();
  std::vector<Field> fields = first.fields();
  for (size_t c = 1; c < children.size(); ++c) {
    const Schema& other = *children[c]->schema();
    if (other.num_fields() != first.num_fields()) {
      return Status::invalid_argument(
          "union_all inputs differ in column count: (" + first.to_string() + ") and (" +
          other.to_string() + ")");
    }
    for (int i = 0; i < first.num_fields(); ++i) {
      if (other.field(i).type != first.field(i).type) {
        return Status::type_error("union_all column " + std::to_string(i + 1) + " is " +
                                  std::string(type_name(first.field(i).type)) + " ('" +
                                  first.field(i).name + "') in the first input but " +
                                  std::string(type_name(other.field(i).type)) + " ('" +
                                  other.field(i).name + "') in input " + std::to_string(c + 1));
      }
      fields[static_cast<size_t>(i)].nullable |= other.field(i).nullable;
    }
  }
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::union_all;
  node->schema_ = Schema::make(std::move(fields)).value();
  node->children_ = std::move(children);
  return PlanPtr(node);
}

Result<PlanPtr> LogicalPlan::make_watermark(PlanPtr child, std::string column, std::string delay) {
  SLUICE_ASSIGN_OR_RETURN(int index, child->schema()->index_of(column));
  if (child->schema()->field(index).type != Type::Timestamp) {
    return Status::type_error("with_watermark: column '" + column + "' is " +
                              std::string(type_name(child->schema()->field(index).type)) +
                              ", the event time must be TIMESTAMP");
  }
  auto micros = parse_duration(delay);
  if (!micros.ok()) return micros.status().with_context("with_watermark delay");
  if (*micros < 0) return Status::invalid_argument("with_watermark: the delay must not be negative");
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::watermark;
  node->schema_ = child->schema();
  node->children_ = {std::move(child)};
  node->watermark_column_ = std::move(column);
  node->watermark_delay_ = std::move(delay);
  node->watermark_delay_micros_ = *micros;
  return PlanPtr(node);
}

Result<PlanPtr> LogicalPlan::make_aggregate(PlanPtr child, std::vector<GroupKey> keys,
                                            std::vector<AggregateCall> aggregates) {
  const Schema& input = *child->schema();
  std::vector<Field> fields;
  std::vector<Field> session_fields;
  int windows = 0;
  for (const auto& key : keys) {
    if (const auto* expr = std::get_if<Expr>(&key)) {
      SLUICE_ASSIGN_OR_RETURN(BoundExpr bound, bind(*expr, input));
      fields.push_back({expr->output_name(), bound.type(), bound.nullable()});
      continue;
    }
    ++windows;
    const Expr& time = std::holds_alternative<TimeWindow>(key) ? std::get<TimeWindow>(key).time
                                                                : std::get<SessionWindow>(key).time;
    SLUICE_ASSIGN_OR_RETURN(Type time_type, infer_type(time, input));
    if (time_type != Type::Timestamp) {
      return Status::type_error("window: the time column " + time.to_string() + " is " +
                                std::string(type_name(time_type)) + ", not TIMESTAMP");
    }
    if (const auto* window = std::get_if<TimeWindow>(&key)) {
      SLUICE_ASSIGN_OR_RETURN(int64_t size, parse_duration(window->size));
      if (!window->slide.empty()) {
        SLUICE_ASSIGN_OR_RETURN(int64_t parsed, parse_duration(window->slide));
        if (parsed <= 0 || parsed > size) {
          return Status::invalid_argument("window: the slide '" + window->slide +
                                          "' must be positive and at most the size '" +
                                          window->size + "'");
        }
      }
      if (size <= 0) return Status::invalid_argument("window: the size '" + window->size + "' must be positive");
      if (!window->start.empty()) SLUICE_RETURN_NOT_OK(parse_duration(window->start).status());
      fields.push_back({"window.start", Type::Timestamp, false});
      fields.push_back({"window.end", Type::Timestamp, false});
    } else {
      const auto& session = std::get<SessionWindow>(key);
      if (session.gap_expr) {
        SLUICE_ASSIGN_OR_RETURN(Type gap_type, infer_type(*session.gap_expr, input));
        if (gap_type != Type::Int64) {
          return Status::type_error("session_window: the gap expression " +
                                    session.gap_expr->to_string() + " is " +
                                    std::string(type_name(gap_type)) + ", not BIGINT microseconds");
        }
      } else {
        SLUICE_ASSIGN_OR_RETURN(int64_t gap, parse_duration(session.gap));
        if (gap <= 0) return Status::invalid_argument("session_window: the gap '" + session.gap + "' must be positive");
      }
      session_fields.push_back({"session_window.start", Type::Timestamp, false});
      session_fields.push_back({"session_window.end", Type::Timestamp, false});
    }
  }
  if (windows > 1) return Status::invalid_argument("group_by takes at most one window key");
  fields.insert(fields.end(), session_fields.begin(), session_fields.end());
  if (aggregates.empty()) return Status::invalid_argument("agg needs at least one aggregate");
  for (const auto& aggregate : aggregates) {
    std::optional<Type> argument_type;
    if (aggregate.argument()) {
      SLUICE_ASSIGN_OR_RETURN(Type type, infer_type(*aggregate.argument(), input));
      argument_type = type;
    }
    auto result = aggregate_result_type(aggregate.kind(), argument_type);
    if (!result.ok()) return result.status().with_context(aggregate.to_string());
    const bool never_null = aggregate.kind() == AggregateKind::count_all ||
                            aggregate.kind() == AggregateKind::count ||
                            aggregate.kind() == AggregateKind::count_distinct ||
                            aggregate.kind() == AggregateKind::approx_count_distinct;
    fields.push_back({aggregate.output_name(), *result, !never_null});
  }
  auto schema = Schema::make(std::move(fields));
  if (!schema.ok()) return schema.status().with_context("agg");
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::aggregate;
  node->schema_ = *schema;
  node->children_ = {std::move(child)};
  node->group_keys_ = std::move(keys);
  node->aggregates_ = std::move(aggregates);
  return PlanPtr(node);
}

Result<PlanPtr> LogicalPlan::make_deduplicate(PlanPtr child, std::vector<std::string> columns,
                                              bool within_watermark) {
  if (columns.empty()) {
    for (const auto& field : child->schema()->fields()) columns.push_back(field.name);
  }
  for (const auto& column : columns) SLUICE_RETURN_NOT_OK(child->schema()->index_of(column).status());
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::deduplicate;
  node->schema_ = child->schema();
  node->children_ = {std::move(child)};
  node->dedup_columns_ = std::move(columns);
  node->within_watermark_ = within_watermark;
  return PlanPtr(node);
}

Result<PlanPtr> LogicalPlan::make_join(PlanPtr left, PlanPtr right, std::vector<std::string> keys,
                                       JoinType type, std::optional<Expr> condition) {
  if (keys.empty()) return Status::invalid_argument("join needs at least one key column (on)");
  std::vector<int> left_keys;
  std::vector<int> right_keys;
  for (const auto& key : keys) {
    auto l = left->schema()->index_of(key);
    if (!l.ok()) return l.status().with_context("join key of the left side");
    auto r = right->schema()->index_of(key);
    if (!r.ok()) return r.status().with_context("join key of the right side");
    left_keys.push_back(*l);
    right_keys.push_back(*r);
  }
  auto joined = joined_schema(*left->schema(), *right->schema(), left_keys, right_keys, type);
  if (!joined.ok()) return joined.status().with_context("join");
  if (condition) {
    SLUICE_ASSIGN_OR_RETURN(Type type_of_condition, infer_type(*condition, **joined));
    if (type_of_condition != Type::Bool) {
      return Status::type_error("join condition " + condition->to_string() + " is " +
                                std::string(type_name(type_of_condition)) + ", not BOOLEAN");
    }
  }
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::join;
  node->schema_ = type == JoinType::left_semi || type == JoinType::left_anti ? left->schema() : *joined;
  node->children_ = {std::move(left), std::move(right)};
  node->join_keys_ = std::move(keys);
  node->join_type_ = type;
  node->join_condition_ = std::move(condition);
  return PlanPtr(node);
}

Result<PlanPtr> LogicalPlan::make_group_state(PlanPtr child, std::vector<std::string> keys,
                                              std::shared_ptr<const GroupStateSpec> spec) {
  const char* name = spec && spec->is_map ? "map_groups_with_state" : "flat_map_groups_with_state";
  if (keys.empty())
    return Status::invalid_argument(std::string("group_by_key needs at least one column for ") +
                                    name);
  for (const auto& key : keys) {
    SLUICE_RETURN_NOT_OK(child->schema()->index_of(key).status().with_context(
        std::string("group_by_key of ") + name));
  }
  if (!spec || !spec->function || !spec->output || spec->output->num_fields() == 0) {
    return Status::invalid_argument(std::string(name) +
                                    " needs a function and an output schema with columns");
  }
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::group_state;
  node->schema_ = spec->output;
  node->children_ = {std::move(child)};
  node->dedup_columns_ = std::move(keys);
  node->group_state_ = std::move(spec);
  return PlanPtr(node);
}

namespace {

// Collects the filters under an OVER whose columns reach it unchanged (through filters and
// projections that pass them on by name): a conjunct there may bound its order column.
void collect_order_bounds(const PlanPtr& node, std::set<std::string> visible,
                          std::vector<Expr>& out) {
  if (node->kind() == PlanKind::filter) {
    bool all_visible = true;
    for (const auto& name : node->condition().referenced_columns())
      all_visible &= visible.count(name) > 0;
    if (all_visible) out.push_back(node->condition());
    collect_order_bounds(node->child(), std::move(visible), out);
  } else if (node->kind() == PlanKind::project) {
    std::set<std::string> passed;
    for (const auto& expr : node->exprs()) {
      if (expr.kind() == ExprKind::column && visible.count(expr.column_name()))
        passed.insert(expr.column_name());
    }
    if (!passed.empty()) collect_order_bounds(node->child(), std::move(passed), out);
  }
}

}  // namespace

Result<PlanPtr> LogicalPlan::make_over(PlanPtr child, OverWindow window) {
  const Schema& input = *child->schema();
  auto find = [&](const std::string& name, const std::string& clause) -> Result<int> {
    auto index = input.index_of(name);
    if (!index.ok()) return index.status().with_context("OVER (" + window.text + ") " + clause);
    return *index;
  };
  for (const auto& name : window.partition_by)
    SLUICE_RETURN_NOT_OK(find(name, "PARTITION BY").status());
  for (const auto& name : window.order_by)
    SLUICE_RETURN_NOT_OK(find(name, "ORDER BY").status());
  if (window.order_by.empty())
    return Status::invalid_argument("OVER (" + window.text + ") needs ORDER BY");
  SLUICE_ASSIGN_OR_RETURN(int time, find(window.order_by.front(), "ORDER BY"));
  if (input.field(time).type != Type::Timestamp) {
    return Status::type_error(
        "OVER (" + window.text + "): ORDER BY " + window.order_by.front() + " is " +
        std::string(type_name(input.field(time).type)) +
        "; the first ORDER BY column must be the stream's event-time column (TIMESTAMP)");
  }
  std::vector<Field> fields = input.fields();
  for (const auto& call : window.calls) {
    Type type = Type::Int64;
    if (call.argument) {
      SLUICE_ASSIGN_OR_RETURN(int argument, find(*call.argument, aggregate_name(call.kind)));
      auto result = over_result_type(call.kind, input.field(argument).type);
      if (!result.ok()) return result.status().with_context("OVER (" + window.text + ")");
      type = *result;
    }
    fields.push_back({call.output_name, type, true});
  }
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr schema, Schema::make(std::move(fields)));
  std::set<std::string> visible;
  for (const auto& field : input.fields())
    visible.insert(field.name);
  window.order_bounds.clear();
  collect_order_bounds(child, std::move(visible), window.order_bounds);
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::over;
  node->schema_ = std::move(schema);
  node->children_ = {std::move(child)};
  node->over_window_ = std::make_shared<const OverWindow>(std::move(window));
  return PlanPtr(node);
}

Result<PlanPtr> LogicalPlan::make_sort(PlanPtr child, std::vector<SortKey> keys) {
  if (keys.empty()) return Status::invalid_argument("order_by needs at least one key");
  for (const auto& key : keys) SLUICE_RETURN_NOT_OK(infer_type(key.expr, *child->schema()).status());
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::sort;
  node->schema_ = child->schema();
  node->children_ = {std::move(child)};
  node->sort_keys_ = std::move(keys);
  return PlanPtr(node);
}

Result<PlanPtr> LogicalPlan::make_limit(PlanPtr child, int64_t limit) {
  if (limit < 0) return Status::invalid_argument("limit must not be negative, got " + std::to_string(limit));
  std::shared_ptr<LogicalPlan> node(new LogicalPlan());
  node->kind_ = PlanKind::limit;
  node->schema_ = child->schema();
  node->children_ = {std::move(child)};
  node->limit_ = limit;
  return PlanPtr(node);
}

std::vector<std::string> LogicalPlan::referenced_columns() const {
  std::vector<std::string> names;
  auto add = [&](const Expr& expr) {
    for (const auto& name : expr.referenced_columns()) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  };
  switch (kind_) {
    case PlanKind::source:
    case PlanKind::union_all:
    case PlanKind::limit: break;
    case PlanKind::filter: add(condition_); break;
    case PlanKind::project:
      for (const auto& expr : exprs_) add(expr);
      break;
    case PlanKind::watermark: add(col(watermark_column_)); break;
    case PlanKind::aggregate:
      for (const auto& key : group_keys_) {
        if (const auto* expr = std::get_if<Expr>(&key)) add(*expr);
        if (const auto* window = std::get_if<TimeWindow>(&key)) add(window->time);
        if (const auto* session = std::get_if<SessionWindow>(&key)) {
          add(session->time);
          if (session->gap_expr) add(*session->gap_expr);
        }
      }
      for (const auto& aggregate : aggregates_) {
        if (aggregate.argument()) add(*aggregate.argument());
      }
      break;
    case PlanKind::deduplicate:
      for (const auto& column : dedup_columns_) add(col(column));
      break;
    case PlanKind::group_state:
      // The user's function sees every column of its rows.
      for (const auto& field : children_.front()->schema()->fields())
        add(col(field.name));
      break;
    case PlanKind::sort:
      for (const auto& key : sort_keys_) add(key.expr);
      break;
    case PlanKind::over:
      for (const auto& column : over_window_->partition_by)
        add(col(column));
      for (const auto& column : over_window_->order_by)
        add(col(column));
      for (const auto& call : over_window_->calls) {
        if (call.argument) add(col(*call.argument));
      }
      break;
    case PlanKind::join:
      for (const auto& key : join_keys_) add(col(key));
      if (join_condition_) add(*join_condition_);
      break;
  }
  return names;
}

PlanPtr LogicalPlan::with_pushed_filters(std::vector<Expr> filters) const {
  std::shared_ptr<LogicalPlan> node(new LogicalPlan(*this));
  node->pushed_filters_ = std::move(filters);
  return node;
}

PlanPtr LogicalPlan::with_required_columns(std::vector<std::string> columns) const {
  std::shared_ptr<LogicalPlan> node(new LogicalPlan(*this));
  node->required_columns_ = std::move(columns);
  std::vector<Field> fields;
  for (const auto& field : source_->schema->fields()) {
    for (const auto& name : node->required_columns_) {
      if (name == field.name) fields.push_back(field);
    }
  }
  node->schema_ = Schema::make(std::move(fields)).value();
  return node;
}

Result<PlanPtr> LogicalPlan::with_children(std::vector<PlanPtr> children) const {
  switch (kind_) {
    case PlanKind::source: {
      std::shared_ptr<LogicalPlan> node(new LogicalPlan(*this));
      return PlanPtr(node);
    }
    case PlanKind::filter: return make_filter(std::move(children.at(0)), condition_);
    case PlanKind::project: return make_project(std::move(children.at(0)), exprs_);
    case PlanKind::union_all: return make_union(std::move(children));
    case PlanKind::watermark:
      return make_watermark(std::move(children.at(0)), watermark_column_, watermark_delay_);
    case PlanKind::aggregate: return make_aggregate(std::move(children.at(0)), group_keys_, aggregates_);
    case PlanKind::deduplicate:
      return make_deduplicate(std::move(children.at(0)), dedup_columns_, within_watermark_);
    case PlanKind::sort: return make_sort(std::move(children.at(0)), sort_keys_);
    case PlanKind::limit: return make_limit(std::move(children.at(0)), limit_);
    case PlanKind::join:
      return make_join(std::move(children.at(0)), std::move(children.at(1)), join_keys_, join_type_, join_condition_);
    case PlanKind::group_state:
      return make_group_state(std::move(children.at(0)), dedup_columns_, group_state_);
    case PlanKind::over: {
      // The bounds found at construction stay: the optimizer's rewrites below keep every row
      // the filters let through, but may move and rewrite the filters themselves.
      SLUICE_ASSIGN_OR_RETURN(PlanPtr node, make_over(std::move(children.at(0)), *over_window_));
      std::shared_ptr<LogicalPlan> copy(new LogicalPlan(*node));
      copy->over_window_ = over_window_;
      return PlanPtr(copy);
    }
  }
  return Status::internal("unknown plan node");
}

std::string LogicalPlan::node_string() const {
  switch (kind_) {
    case PlanKind::source: {
      std::string columns;
      for (const auto& field : schema_->fields()) columns += (columns.empty() ? "" : ", ") + field.name;
      std::string text = "StreamingRelation " + source_->format + ", [" + columns + "]";
      if (!pushed_filters_.empty()) {
        std::string filters;
        for (const auto& filter : pushed_filters_) filters += (filters.empty() ? "" : ", ") + filter.to_string();
        text += ", PushedFilters: [" + filters + "]";
      }
      return text;
    }
    case PlanKind::filter: return "Filter " + condition_.to_string();
    case PlanKind::project: {
      std::string list;
      for (const auto& expr : exprs_) list += (list.empty() ? "" : ", ") + expr.to_string();
      return "Project [" + list + "]";
    }
    case PlanKind::union_all: return "Union";
    case PlanKind::watermark:
      return "EventTimeWatermark " + watermark_column_ + ", " + watermark_delay_;
    case PlanKind::aggregate: {
      std::string keys;
      for (const auto& key : group_keys_) {
        std::string text;
        if (const auto* expr = std::get_if<Expr>(&key)) text = expr->to_string();
        if (const auto* window = std::get_if<TimeWindow>(&key)) {
          text = "window(" + window->time.to_string() + ", " + window->size +
                 (window->slide.empty() ? "" : ", " + window->slide) +
                 (window->start.empty() ? "" : ", " + window->start) + ")";
        }
        if (const auto* session = std::get_if<SessionWindow>(&key)) {
          text = "session_window(" + session->time.to_string() + ", " +
                 (session->gap_expr ? session->gap_expr->to_string() : session->gap) + ")";
        }
        keys += (keys.empty() ? "" : ", ") + text;
      }
      std::string aggregates;
      for (const auto& aggregate : aggregates_) {
        aggregates += (aggregates.empty() ? "" : ", ") + aggregate.to_string();
        if (aggregate.output_name() != aggregate.to_string()) aggregates += " AS " + aggregate.output_name();
      }
      return "Aggregate [" + keys + "], [" + aggregates + "]";
    }
    case PlanKind::deduplicate: {
      std::string columns;
      for (const auto& column : dedup_columns_) columns += (columns.empty() ? "" : ", ") + column;
      return std::string(within_watermark_ ? "DeduplicateWithinWatermark" : "Deduplicate") + " [" + columns + "]";
    }
    case PlanKind::sort: {
      std::string keys;
      for (const auto& key : sort_keys_) {
        keys += (keys.empty() ? "" : ", ") + key.expr.to_string() + (key.ascending ? " ASC" : " DESC");
      }
      return "Sort [" + keys + "]";
    }
    case PlanKind::limit: return "Limit " + std::to_string(limit_);
    case PlanKind::join: {
      std::string keys;
      for (const auto& key : join_keys_) keys += (keys.empty() ? "" : ", ") + key;
      std::string text = "Join " + std::string(join_type_name(join_type_)) + ", [" + keys + "]";
      if (join_condition_) text += ", " + join_condition_->to_string();
      return text;
    }
    case PlanKind::group_state: {
      std::string keys;
      for (const auto& column : dedup_columns_)
        keys += (keys.empty() ? "" : ", ") + column;
      return std::string(group_state_->is_map ? "MapGroupsWithState" : "FlatMapGroupsWithState") +
             " [" + keys + "], " + std::string(output_mode_name(group_state_->mode)) + ", " +
             std::string(group_state_timeout_name(group_state_->timeout));
    }
    case PlanKind::over: {
      std::string calls;
      for (const auto& call : over_window_->calls) {
        calls += (calls.empty() ? "" : ", ") + aggregate_name(call.kind) + "(" +
                 call.argument.value_or("*") + ") AS " + call.output_name;
      }
      return "Window [" + calls + "], " + over_window_->text;
    }
  }
  return "?";
}

void LogicalPlan::render(std::string& out, const std::string& prefix, bool last, bool root) const {
  out += root ? "" : prefix + (last ? "+- " : ":- ");
  out += node_string() + "\n";
  const std::string child_prefix = root ? "" : prefix + (last ? "   " : ":  ");
  for (size_t i = 0; i < children_.size(); ++i) {
    children_[i]->render(out, child_prefix, i + 1 == children_.size(), false);
  }
}

std::string LogicalPlan::to_string(bool with_types) const {
  std::string out;
  if (with_types) {
    for (const auto& field : schema_->fields()) {
      out += (out.empty() ? "" : ", ") + field.name + ": " + std::string(type_name(field.type));
    }
    out += "\n";
  }
  render(out, "", true, true);
  return out;
}

bool LogicalPlan::reads_only_static() const {
  if (kind_ == PlanKind::source) return source_->is_static;
  for (const auto& child : children_)
    if (!child->reads_only_static()) return false;
  return true;
}

}  // namespace sluice
