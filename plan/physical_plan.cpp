#include "plan/physical_plan.hpp"

#include <algorithm>
#include <functional>

#include "operators/deduplicate.hpp"
#include "operators/flat_map_groups_with_state.hpp"
#include "operators/hash_aggregate.hpp"
#include "operators/session_window_aggregate.hpp"

namespace sluice {

namespace {

// Finds the watermark declared below a node, if any: its column and delay.
const LogicalPlan* find_watermark(const PlanPtr& node) {
  if (node->kind() == PlanKind::watermark) return node.get();
  for (const auto& child : node->children()) {
    if (const LogicalPlan* found = find_watermark(child)) return found;
  }
  return nullptr;
}

bool is_column(const Expr& expr, const std::string& name) {
  return expr.kind() == ExprKind::column && expr.column_name() == name;
}

struct Planner {
  PhysicalOptions options;
  PhysicalPlan plan;

  Status collect(const PlanPtr& node, std::vector<StatelessStep> above) {
    switch (node->kind()) {
      case PlanKind::source:
        plan.pipelines.push_back({node, std::move(above), std::nullopt});
        return Status::ok();
      case PlanKind::filter:
        above.insert(above.begin(), StatelessStep::filter(node->condition()));
        return collect(node->child(), std::move(above));
      case PlanKind::project:
        above.insert(above.begin(), StatelessStep::project(node->exprs()));
        return collect(node->child(), std::move(above));
      case PlanKind::watermark: {
        above.insert(above.begin(), StatelessStep::observe_event_time(node->watermark_column()));
        const size_t first = plan.pipelines.size();
        SLUICE_RETURN_NOT_OK(collect(node->child(), std::move(above)));
        for (size_t p = first; p < plan.pipelines.size(); ++p) {
          plan.pipelines[p].watermark_delay_micros = node->watermark_delay_micros();
        }
        return Status::ok();
      }
      case PlanKind::union_all: return collect_union(node, std::move(above));
      case PlanKind::aggregate:
      case PlanKind::deduplicate:
      case PlanKind::group_state:
        return collect_stateful(node, std::move(above));
      case PlanKind::sort:
      case PlanKind::limit:
        return Status::invalid_argument(
            "order_by and limit are supported only after an aggregation, in complete mode "
            "(rule: sorting a stream needs an aggregation)");
    }
    return Status::internal("unknown plan node");
  }

  Status collect_union(const PlanPtr& node, const std::vector<StatelessStep>& above) {
    // Steps above a union apply to every input alike; they run in each input's stage after
    // renaming the input's columns to the union's names by position.
    const Schema& output = *node->schema();
    for (const auto& input : node->children()) {
      std::vector<StatelessStep> steps = above;
      const Schema& schema = *input->schema();
      bool renamed = false;
      std::vector<Expr> renames;
      for (int i = 0; i < output.num_fields(); ++i) {
        Expr column = col(schema.field(i).name);
        if (schema.field(i).name != output.field(i).name) {
          column = column.alias(output.field(i).name);
          renamed = true;
        }
        renames.push_back(column);
      }
      if (renamed) steps.insert(steps.begin(), StatelessStep::project(renames));
      SLUICE_RETURN_NOT_OK(collect(input, std::move(steps)));
    }
    return Status::ok();
  }

  Status collect_stateful(const PlanPtr& node, std::vector<StatelessStep> above) {
    if (plan.stateful) {
      return Status::invalid_argument(
          "a query may hold one stateful operator for now; found another below " +
          node->node_string() + " (rule: no chained stateful operators yet)");
    }
    const LogicalPlan* watermark = find_watermark(node->child());
    std::vector<StatelessStep> pre;
    StatefulStage stage;
    stage.post_steps = std::move(above);
    if (node->kind() == PlanKind::aggregate) {
      SLUICE_RETURN_NOT_OK(plan_aggregate(*node, watermark, pre, stage));
    } else if (node->kind() == PlanKind::group_state) {
      SLUICE_RETURN_NOT_OK(plan_group_state(*node, watermark, stage));
    } else {
      SLUICE_RETURN_NOT_OK(plan_deduplicate(*node, watermark, stage));
    }
    plan.stateful = std::move(stage);
    return collect(node->child(), std::move(pre));
  }

  Status plan_aggregate(const LogicalPlan& node, const LogicalPlan* watermark,
                        std::vector<StatelessStep>& pre, StatefulStage& stage) {
    // Before the shuffle: one projection computing keys, window time and aggregate
    // arguments, then window assignment.
    std::vector<Expr> projection;
    const TimeWindow* time_window = nullptr;
    const SessionWindow* session = nullptr;
    for (const auto& key : node.group_keys()) {
      if (const auto* expr = std::get_if<Expr>(&key)) projection.push_back(expr->alias(expr->output_name()));
      if (const auto* window = std::get_if<TimeWindow>(&key)) time_window = window;
      if (const auto* s = std::get_if<SessionWindow>(&key)) session = s;
    }
    const Expr* time = time_window ? &time_window->time : session ? &session->time : nullptr;
    if (time) projection.push_back(time->alias("__time"));
    if (session && session->gap_expr) projection.push_back(session->gap_expr->alias("__gap"));
    for (size_t i = 0; i < node.aggregates().size(); ++i) {
      const auto& argument = node.aggregates()[i].argument();
      if (argument) projection.push_back(argument->alias("__arg" + std::to_string(i)));
    }
    SLUICE_ASSIGN_OR_RETURN(PlanPtr projected, LogicalPlan::make_project(node.child(), projection));
    SchemaPtr input = projected->schema();
    pre.push_back(StatelessStep::project(projection));
    if (time_window) {
      WindowDefinition definition{0, 0, 0};
      SLUICE_ASSIGN_OR_RETURN(definition.size_micros, parse_duration(time_window->size));
      definition.slide_micros = definition.size_micros;
      if (!time_window->slide.empty()) {
        SLUICE_ASSIGN_OR_RETURN(definition.slide_micros, parse_duration(time_window->slide));
      }
      if (!time_window->start.empty()) {
        SLUICE_ASSIGN_OR_RETURN(definition.start_offset_micros, parse_duration(time_window->start));
      }
      pre.push_back(StatelessStep::assign_windows("__time", definition));
      SLUICE_ASSIGN_OR_RETURN(input, windowed_schema(*input));
    }
    const bool watermarked_time =
        watermark != nullptr && time != nullptr && is_column(*time, watermark->watermark_column());
    std::vector<int> keys;
    int event_time_key = -1;
    bool event_time_is_window_end = true;
    for (const auto& key : node.group_keys()) {
      if (const auto* expr = std::get_if<Expr>(&key)) {
        if (watermark && !time && is_column(*expr, watermark->watermark_column())) {
          event_time_key = static_cast<int>(keys.size());
          event_time_is_window_end = false;
        }
        keys.push_back(input->find(expr->output_name()));
      } else if (std::holds_alternative<TimeWindow>(key)) {
        keys.push_back(input->find("window.start"));
        if (watermarked_time) event_time_key = static_cast<int>(keys.size());
        keys.push_back(input->find("window.end"));
      }
    }
    std::vector<AggregateSpec> aggregates;
    for (size_t i = 0; i < node.aggregates().size(); ++i) {
      const auto& call = node.aggregates()[i];
      aggregates.push_back({call.kind(),
                            call.argument() ? input->find("__arg" + std::to_string(i)) : -1,
                            call.output_name()});
    }
    if (session) {
      SessionWindowOptions options;
      options.cache_bytes = this->options.state_cache_bytes;
      if (session->gap_expr) {
        options.gap_column = input->find("__gap");
      } else {
        SLUICE_ASSIGN_OR_RETURN(options.gap_micros, parse_duration(session->gap));
      }
      SLUICE_ASSIGN_OR_RETURN(stage.op, make_session_window_aggregate(input, keys, input->find("__time"),
                                                                      aggregates, options));
      stage.uses_watermark = watermarked_time;
      return Status::ok();
    }
    HashAggregateOptions options;
    options.cache_bytes = this->options.state_cache_bytes;
    options.event_time_key = event_time_key;
    options.event_time_is_window_end = event_time_is_window_end;
    SLUICE_ASSIGN_OR_RETURN(stage.op, make_hash_aggregate(input, keys, aggregates, options));
    stage.uses_watermark = event_time_key >= 0;
    return Status::ok();
  }

  Status plan_group_state(const LogicalPlan& node, const LogicalPlan* watermark,
                          StatefulStage& stage) {
    const SchemaPtr& input = node.child()->schema();
    std::vector<int> keys;
    for (const auto& column : node.dedup_columns())
      keys.push_back(input->find(column));
    GroupsWithStateOptions options;
    options.cache_bytes = this->options.state_cache_bytes;
    if (watermark) options.event_time_column = input->find(watermark->watermark_column());
    // Event-time timeouts expire as the watermark moves: run an epoch for that even without data.
    stage.uses_watermark = node.group_state()->timeout == GroupStateTimeout::event_time;
    SLUICE_ASSIGN_OR_RETURN(
        stage.op, make_flat_map_groups_with_state(input, keys, node.group_state(), options));
    return Status::ok();
  }

  Status plan_deduplicate(const LogicalPlan& node, const LogicalPlan* watermark, StatefulStage& stage) {
    const SchemaPtr& input = node.child()->schema();
    std::vector<int> keys;
    for (const auto& column : node.dedup_columns()) keys.push_back(input->find(column));
    DeduplicateOptions options;
    options.cache_bytes = this->options.state_cache_bytes;
    if (watermark) {
      const int time = input->find(watermark->watermark_column());
      const bool time_is_key = std::find(keys.begin(), keys.end(), time) != keys.end();
      if (node.within_watermark() || time_is_key) options.event_time_column = time;
      if (node.within_watermark()) options.within_watermark_delay_micros = watermark->watermark_delay_micros();
      stage.uses_watermark = options.event_time_column >= 0;
    } else if (node.within_watermark()) {
      return Status::invalid_argument(
          "drop_duplicates_within_watermark needs with_watermark on the stream first");
    }
    SLUICE_ASSIGN_OR_RETURN(stage.op, make_deduplicate(input, keys, options));
    return Status::ok();
  }
};

std::string render_step(const StatelessStep& step) {
  switch (step.kind) {
    case StatelessStep::Kind::filter: return "Filter " + step.predicate.to_string();
    case StatelessStep::Kind::assign_windows: return "AssignWindows " + step.column;
    case StatelessStep::Kind::observe_event_time: return "EventTimeWatermark " + step.column;
    case StatelessStep::Kind::project: break;
  }
  std::string list;
  for (const auto& expr : step.projections) list += (list.empty() ? "" : ", ") + expr.to_string();
  return "Project [" + list + "]";
}

void render_lines(std::string& out, const std::vector<std::string>& lines, const std::string& head,
                  const std::string& base) {
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string indent = i == 0 ? head : base;
    for (size_t d = 1; d < i; ++d) indent += "   ";
    if (i > 0) indent += "+- ";
    out += indent + lines[i] + "\n";
  }
}

}  // namespace

Result<PhysicalPlan> plan_physical(const PlanPtr& optimized, const PhysicalOptions& options) {
  Planner planner;
  planner.options = options;
  planner.plan.output_schema = optimized->schema();
  PlanPtr node = optimized;
  // Sort and limit sit above the aggregation; they apply to each epoch's complete result.
  std::vector<PlanPtr> chain;
  while (node->kind() == PlanKind::limit || node->kind() == PlanKind::sort) {
    if (node->kind() == PlanKind::limit) {
      planner.plan.limit = planner.plan.limit < 0 ? node->limit() : std::min(planner.plan.limit, node->limit());
    } else if (planner.plan.sort.empty()) {
      planner.plan.sort = node->sort_keys();
    }
    node = node->child();
  }
  SLUICE_RETURN_NOT_OK(planner.collect(node, {}));
  if ((!planner.plan.sort.empty() || planner.plan.limit >= 0) && !planner.plan.stateful) {
    return Status::invalid_argument(
        "order_by and limit are supported only after an aggregation, in complete mode "
        "(rule: sorting a stream needs an aggregation)");
  }
  return std::move(planner.plan);
}

namespace {

// Spark's rules for mapGroupsWithState / flatMapGroupsWithState without an aggregation.
Status check_group_state_mode(const PlanPtr& plan, OutputMode mode) {
  std::function<const LogicalPlan*(const PlanPtr&)> find =
      [&](const PlanPtr& node) -> const LogicalPlan* {
    if (node->kind() == PlanKind::group_state) return node.get();
    for (const auto& child : node->children()) {
      if (const LogicalPlan* found = find(child)) return found;
    }
    return nullptr;
  };
  const LogicalPlan* node = find(plan);
  if (!node) return Status::ok();
  const GroupStateSpec& spec = *node->group_state();
  const std::string mode_name(output_mode_name(mode));
  if (spec.is_map && mode != OutputMode::Update) {
    return Status::invalid_argument("map_groups_with_state is not supported with output mode " +
                                    mode_name +
                                    " (rule: mapGroupsWithState runs only in Update mode)");
  }
  if (spec.is_map && spec.mode != OutputMode::Update) {
    return Status::invalid_argument("map_groups_with_state was declared with output mode " +
                                    std::string(output_mode_name(spec.mode)) +
                                    " (rule: mapGroupsWithState runs only in Update mode)");
  }
  if (!spec.is_map && spec.mode != OutputMode::Append && spec.mode != OutputMode::Update) {
    return Status::invalid_argument(
        "flat_map_groups_with_state was declared with output mode " +
        std::string(output_mode_name(spec.mode)) +
        " (rule: flatMapGroupsWithState runs in Append or Update mode)");
  }
  if (!spec.is_map && spec.mode != mode) {
    return Status::invalid_argument(
        "flat_map_groups_with_state declared in " + std::string(output_mode_name(spec.mode)) +
        " mode is not supported with output mode " + mode_name +
        " (rule: flatMapGroupsWithState's output mode must be the query's)");
  }
  if (spec.timeout == GroupStateTimeout::event_time && !find_watermark(node->child())) {
    return Status::invalid_argument(
        "EventTimeTimeout needs a watermark: call with_watermark before group_by_key (rule: "
        "event-time "
        "timeouts expire as the watermark passes them)");
  }
  return Status::ok();
}

}  // namespace

Status check_output_mode(const PlanPtr& plan, OutputMode mode) {
  int stateful = 0;
  const LogicalPlan* aggregate = nullptr;
  const LogicalPlan* deduplicate = nullptr;
  bool ordered = false;
  std::function<void(const PlanPtr&)> visit = [&](const PlanPtr& node) {
    if (node->is_stateful()) ++stateful;
    if (node->kind() == PlanKind::aggregate) aggregate = node.get();
    if (node->kind() == PlanKind::deduplicate) deduplicate = node.get();
    if (node->kind() == PlanKind::sort || node->kind() == PlanKind::limit) ordered = true;
    for (const auto& child : node->children()) visit(child);
  };
  visit(plan);
  const std::string mode_name(output_mode_name(mode));
  if (mode == OutputMode::Complete && !aggregate) {
    return Status::invalid_argument(
        "output mode Complete is not supported when there are no streaming aggregations "
        "(rule: complete mode needs an aggregation)");
  }
  if (ordered && mode != OutputMode::Complete) {
    return Status::invalid_argument("order_by and limit need output mode Complete, not " + mode_name +
                                    " (rule: sorting a stream needs an aggregation in complete mode)");
  }
  if (aggregate && mode == OutputMode::Append) {
    const LogicalPlan* watermark = find_watermark(aggregate->children()[0]);
    bool on_event_time = false;
    for (const auto& key : aggregate->group_keys()) {
      if (!watermark) break;
      const std::string& column = watermark->watermark_column();
      if (const auto* expr = std::get_if<Expr>(&key)) on_event_time |= is_column(*expr, column);
      if (const auto* window = std::get_if<TimeWindow>(&key)) on_event_time |= is_column(window->time, column);
      if (const auto* session = std::get_if<SessionWindow>(&key)) on_event_time |= is_column(session->time, column);
    }
    if (!on_event_time) {
      return Status::invalid_argument(
          "output mode Append is not supported for " + aggregate->node_string() +
          " without a watermark on its event-time key (rule: append mode emits a group once, "
          "when the watermark passes it; add with_watermark on the column the group_by uses)");
    }
  }
  (void)deduplicate;
  (void)stateful;
  return check_group_state_mode(plan, mode);
}

std::string PhysicalPlan::to_string() const {
  std::string out;
  std::string base;
  std::vector<std::string> top;
  if (limit >= 0) top.push_back("Limit " + std::to_string(limit));
  if (!sort.empty()) {
    std::string keys;
    for (const auto& key : sort) keys += (keys.empty() ? "" : ", ") + key.expr.to_string() + (key.ascending ? " ASC" : " DESC");
    top.push_back("Sort [" + keys + "]");
  }
  if (stateful) {
    for (auto step = stateful->post_steps.rbegin(); step != stateful->post_steps.rend(); ++step) {
      top.push_back(render_step(*step));
    }
    top.push_back("StatefulOperator " + stateful->op->name() + " " + stateful->op->state_fingerprint());
    top.push_back("Exchange hashpartitioning");
  }
  render_lines(out, top, "", "");
  std::string indent;
  for (size_t d = 1; d < top.size(); ++d) indent += "   ";
  const std::string prefix = top.empty() ? "" : indent + "+- ";
  const std::string continuation = top.empty() ? "" : indent + "   ";
  const bool many = pipelines.size() > 1;
  if (many) out += prefix + "Union\n";
  for (size_t p = 0; p < pipelines.size(); ++p) {
    const PhysicalPipeline& pipeline = pipelines[p];
    const bool last = p + 1 == pipelines.size();
    const std::string head = many ? continuation + (last ? "+- " : ":- ") : prefix;
    const std::string next = many ? continuation + (last ? "   " : ":  ") : continuation;
    const std::string stage = "*(" + std::to_string(p + 1) + ") ";
    std::vector<std::string> lines;
    for (auto step = pipeline.steps.rbegin(); step != pipeline.steps.rend(); ++step) {
      lines.push_back(stage + render_step(*step));
    }
    std::string columns;
    for (const auto& field : pipeline.source->schema()->fields()) {
      columns += (columns.empty() ? "" : ", ") + field.name;
    }
    std::string scan = "MicroBatchScan " + pipeline.source->source()->format + " [" + columns + "]";
    if (!pipeline.source->pushed_filters().empty()) {
      std::string filters;
      for (const auto& filter : pipeline.source->pushed_filters()) {
        filters += (filters.empty() ? "" : ", ") + filter.to_string();
      }
      scan += " PushedFilters: [" + filters + "]";
    }
    lines.push_back(scan);
    render_lines(out, lines, head, next);
  }
  return out;
}

}  // namespace sluice
