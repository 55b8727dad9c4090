#include "plan/physical_plan.hpp"

#include <algorithm>
#include <functional>
#include <limits>

#include "operators/deduplicate.hpp"
#include "operators/flat_map_groups_with_state.hpp"
#include "operators/hash_aggregate.hpp"
#include "operators/over_aggregate.hpp"
#include "operators/session_window_aggregate.hpp"
#include "operators/stream_join.hpp"

namespace sluice {

namespace {

bool is_column(const Expr& expr, const std::string& name) {
  return expr.kind() == ExprKind::column && expr.column_name() == name;
}

// The event time of a plan's rows: the column that carries it and the delay of the watermark
// it derives from.
struct EventTime {
  std::string column;
  int64_t delay_micros = 0;
};

// Follows the watermarked column up through the plan: kept by filters and projections that
// pass it on, and by a windowed aggregation as "window.end" (the windows it emits in an epoch
// end after the watermark of the epoch before, so that column is never late for an operator
// above; Spark 3.4's window_time), by a join as either side's.
std::optional<EventTime> find_event_time(const PlanPtr& node) {
  switch (node->kind()) {
    case PlanKind::watermark: return EventTime{node->watermark_column(), node->watermark_delay_micros()};
    case PlanKind::source: return std::nullopt;
    case PlanKind::project: {
      auto below = find_event_time(node->child());
      if (!below) return std::nullopt;
      for (const auto& expr : node->exprs()) {
        const Expr& inner = expr.kind() == ExprKind::alias ? expr.children()[0] : expr;
        if (is_column(inner, below->column)) return EventTime{expr.output_name(), below->delay_micros};
      }
      return std::nullopt;
    }
    case PlanKind::aggregate: {
      auto below = find_event_time(node->child());
      if (!below) return std::nullopt;
      for (const auto& key : node->group_keys()) {
        if (const auto* window = std::get_if<TimeWindow>(&key); window && is_column(window->time, below->column)) {
          return EventTime{"window.end", below->delay_micros};
        }
        // A session closes once the watermark passes its end, which is not below the
        // watermark of the epoch before: the next operator sees no closed session as late.
        if (const auto* session = std::get_if<SessionWindow>(&key); session && is_column(session->time, below->column)) {
          return EventTime{"session_window.end", below->delay_micros};
        }
        if (const auto* expr = std::get_if<Expr>(&key); expr && is_column(*expr, below->column)) {
          return EventTime{expr->output_name(), below->delay_micros};
        }
      }
      return std::nullopt;
    }
    case PlanKind::group_state: {
      // The output column named like the input's event-time column carries event time on
      // (the function's contract: not below the watermark of the epoch before, such as the
      // timeout timestamp that fired or the time of the rows it got).
      auto below = find_event_time(node->child());
      if (!below) return std::nullopt;
      const int column = node->schema()->find(below->column);
      if (column < 0 || node->schema()->field(column).type != Type::Timestamp) return std::nullopt;
      return below;
    }
    case PlanKind::join:
      for (const auto& side : node->children()) {
        auto time = find_event_time(side);
        if (time && node->schema()->find(time->column) >= 0) return time;
      }
      return std::nullopt;
    default:
      for (const auto& child : node->children()) {
        if (auto time = find_event_time(child)) return time;
      }
      return std::nullopt;
  }
}

// Returns the end of everything a fresh source has now, planning as a stream would, trigger
// after trigger (rate limits such as maxFilesPerTrigger cap each call).
Result<SourceOffset> available_end(Source& source) {
  SourceOffset end = source.initial_offset();
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(SourceOffset next, source.latest_offset(end, ReadLimit{}));
    if (next == end) return end;
    end = std::move(next);
  }
}

// Returns a token of how much data a static source has (its files, its Delta commits), which
// changes when new data arrives.
Result<std::string> static_source_version(const SourceSpec& spec) {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Source> source, spec.create());
  SLUICE_ASSIGN_OR_RETURN(SourceOffset end, available_end(*source));
  std::string token;
  for (int64_t position : end) token += std::to_string(position) + ",";
  return token;
}


// Compiles the static side of a join (a static source under filters and projections) into a
// table read whole, with those steps applied, at the first query start that asks for it.
Result<std::shared_ptr<const StaticTable>> static_table(const PlanPtr& node) {
  std::vector<StatelessStep> steps;
  PlanPtr current = node;
  while (current->kind() != PlanKind::source) {
    if (current->kind() == PlanKind::filter) {
      steps.insert(steps.begin(), StatelessStep::filter(current->condition()));
    } else if (current->kind() == PlanKind::project) {
      steps.insert(steps.begin(), StatelessStep::project(current->exprs()));
    } else {
      return Status::invalid_argument("the static side of a stream-static join may only filter and select, not " +
                                      current->node_string() +
                                      " (rule: it is read whole and hashed once per query start)");
    }
    current = current->child();
  }
  const PlanPtr source = current;
  SLUICE_ASSIGN_OR_RETURN(auto stage, StatelessStage::make(source->schema(), steps));
  const std::string description = "static table " + source->node_string();
  StaticTable::Refresh refresh;
  refresh.interval_micros = source->source()->refresh_micros;
  if (refresh.interval_micros && !source->source()->read_all) {
    refresh.version = [source]() { return static_source_version(*source->source()); };
  }
  return std::make_shared<const StaticTable>(stage->output_schema(), description,
                                             [source, stage, description]() -> Result<RecordBatchPtr> {
                                               auto rows = read_static_source(source);
                                               if (!rows.ok()) return rows.status().with_context("reading " + description);
                                               return stage->process(*rows);
                                             },
                                             std::move(refresh));
}

struct Planner {
  PhysicalOptions options;
  PhysicalPlan plan;

  Status collect(const PlanPtr& node, std::vector<StatelessStep> above, StageTarget target) {
    switch (node->kind()) {
      case PlanKind::source:
        if (node->source()->is_static) {
          return Status::invalid_argument(
              "a static table (session.read(), create_data_frame) is not a stream: join it with a stream, or "
              "read it with read_stream() (rule: a streaming query needs a streaming source)");
        }
        plan.pipelines.push_back({node, std::move(above), std::nullopt, target});
        return Status::ok();
      case PlanKind::filter:
        above.insert(above.begin(), StatelessStep::filter(node->condition()));
        return collect(node->child(), std::move(above), target);
      case PlanKind::project:
        above.insert(above.begin(), StatelessStep::project(node->exprs()));
        return collect(node->child(), std::move(above), target);
      case PlanKind::watermark: {
        above.insert(above.begin(), StatelessStep::observe_event_time(node->watermark_column()));
        const size_t first = plan.pipelines.size();
        SLUICE_RETURN_NOT_OK(collect(node->child(), std::move(above), target));
        for (size_t p = first; p < plan.pipelines.size(); ++p) {
          plan.pipelines[p].watermark_delay_micros = node->watermark_delay_micros();
        }
        return Status::ok();
      }
      case PlanKind::union_all: return collect_union(node, std::move(above), target);
      case PlanKind::aggregate:
      case PlanKind::deduplicate:
      case PlanKind::group_state:
      case PlanKind::over:
        return collect_stateful(node, std::move(above), target);
      case PlanKind::join: return collect_join(node, std::move(above), target);
      case PlanKind::sort:
      case PlanKind::limit:
        return Status::invalid_argument(
            "order_by and limit are supported only after an aggregation, in complete mode "
            "(rule: sorting a stream needs an aggregation)");
    }
    return Status::internal("unknown plan node");
  }

  Status collect_union(const PlanPtr& node, const std::vector<StatelessStep>& above, StageTarget target) {
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
      SLUICE_RETURN_NOT_OK(collect(input, std::move(steps), target));
    }
    return Status::ok();
  }

  // Reserves the next stage index; stages are numbered from the sink down, so a stage's
  // target always has a smaller index.
  int add_stage(std::vector<StatelessStep> post, StageTarget target) {
    StatefulStage stage;
    stage.post_steps = std::move(post);
    stage.target = target;
    plan.stages.push_back(std::move(stage));
    return static_cast<int>(plan.stages.size()) - 1;
  }

  Status collect_stateful(const PlanPtr& node, std::vector<StatelessStep> above, StageTarget target) {
    const std::optional<EventTime> watermark = find_event_time(node->child());
    std::vector<StatelessStep> pre;
    StatefulStage stage;
    if (node->kind() == PlanKind::aggregate) {
      SLUICE_RETURN_NOT_OK(plan_aggregate(*node, watermark, pre, stage));
    } else if (node->kind() == PlanKind::group_state) {
      SLUICE_RETURN_NOT_OK(plan_group_state(*node, watermark, stage));
    } else if (node->kind() == PlanKind::over) {
      SLUICE_RETURN_NOT_OK(plan_over(*node, watermark, stage));
    } else {
      SLUICE_RETURN_NOT_OK(plan_deduplicate(*node, watermark, stage));
    }
    const int index = add_stage(std::move(above), target);
    plan.stages[static_cast<size_t>(index)].op = std::move(stage.op);
    plan.stages[static_cast<size_t>(index)].uses_watermark = stage.uses_watermark;
    return collect(node->child(), std::move(pre), {index, 0});
  }

  Status collect_join(const PlanPtr& node, std::vector<StatelessStep> above, StageTarget target) {
    const PlanPtr& left = node->children()[0];
    const PlanPtr& right = node->children()[1];
    if (right->reads_only_static() || left->reads_only_static()) {
      if (left->reads_only_static()) {
        return Status::invalid_argument(
            right->reads_only_static() ? "a join of two static tables is not a streaming query (rule: a streaming query needs a "
                               "streaming source)"
                             : "a stream-static join takes the stream on the left: write stream.join(table, ...) "
                               "(rule: the static side is hashed once and probed by the stream's rows)");
      }
      const JoinType type = node->join_type();
      if (type != JoinType::inner && type != JoinType::left_outer && type != JoinType::left_semi &&
          type != JoinType::left_anti) {
        return Status::invalid_argument(
            "stream-static " + std::string(join_type_name(type)) +
            " join is not supported: the stream must be the left side of an inner, left_outer, left_semi or "
            "left_anti join (rule: the static side cannot know that no stream row will ever match one of its rows)");
      }
      SLUICE_ASSIGN_OR_RETURN(auto table, static_table(right));
      above.insert(above.begin(), StatelessStep::static_join(std::move(table), node->join_keys(), node->join_type(),
                                                             node->join_condition()));
      return collect(left, std::move(above), target);
    }
    StreamJoinOptions options;
    options.type = node->join_type();
    options.cache_bytes = this->options.state_cache_bytes;
    options.condition = node->join_condition();
    for (const auto& key : node->join_keys()) {
      options.left_keys.push_back(left->schema()->find(key));
      options.right_keys.push_back(right->schema()->find(key));
    }
    std::string time_name[2];
    const PlanPtr sides[2] = {left, right};
    for (int side = 0; side < 2; ++side) {
      const auto watermark = find_event_time(sides[side]);
      if (!watermark) continue;
      const int column = sides[side]->schema()->find(watermark->column);
      if (column < 0) continue;
      (side == 0 ? options.left_time : options.right_time) = column;
      time_name[side] = watermark->column;
    }
    if (options.left_time >= 0 && options.right_time >= 0) {
      if (options.condition) options.bounds = time_bounds_of(*options.condition, time_name[0], time_name[1]);
      // Equal event times as keys (equal windows) bound the range to zero.
      for (size_t k = 0; k < options.left_keys.size(); ++k) {
        if (options.left_keys[k] == options.left_time && options.right_keys[k] == options.right_time) {
          options.bounds.lower = std::max<int64_t>(options.bounds.lower.value_or(0), 0);
          options.bounds.upper = std::min<int64_t>(options.bounds.upper.value_or(0), 0);
        }
      }
    }
    const std::string type(join_type_name(options.type));
    const bool left_evictable = options.left_time >= 0 && options.right_time >= 0 && options.bounds.upper;
    const bool right_evictable = options.left_time >= 0 && options.right_time >= 0 && options.bounds.lower;
    const bool left_outer = options.type == JoinType::left_outer || options.type == JoinType::full_outer;
    const bool right_outer = options.type == JoinType::right_outer || options.type == JoinType::full_outer;
    if ((left_outer && !left_evictable) || (right_outer && !right_evictable)) {
      return Status::invalid_argument(
          "stream-stream " + type + " join needs with_watermark on both sides and an event-time range "
          "condition bounding how far apart matching rows may be (rule: an outer join emits a row with "
          "nulls only once the watermark proves no match can come; e.g. rts >= lts AND rts <= lts + "
          "interval('1 hour'), or equal event times as a key)");
    }
    if (!left_evictable || !right_evictable) {
      std::string sides_kept = !left_evictable && !right_evictable ? "both sides'" : !left_evictable ? "the left side's" : "the right side's";
      plan.warnings.push_back("stream-stream " + type + " join keeps " + sides_kept +
                              " rows in state forever: add with_watermark on both sides and an event-time "
                              "range condition (rts >= lts AND rts <= lts + interval) so that the watermark "
                              "can evict them");
    }
    const bool equal_times = options.bounds.lower == std::optional<int64_t>(0) && options.bounds.upper == std::optional<int64_t>(0);
    if (target.stage >= 0 && !equal_times && !emits_later_time(node, options, time_name)) {
      return Status::invalid_argument(
          "a stateful operator above a stream-stream " + type + " join needs the join to match equal event "
          "times (equal windows as a key), or an inner join whose output event time is the later of the "
          "two sides' (e.g. rts <= lts when the left side's time is the one used above) (rule: a "
          "time-range join emits rows older than the watermark, which the operator above would drop as late)");
    }
    SLUICE_ASSIGN_OR_RETURN(auto op, make_stream_join(left->schema(), right->schema(), options));
    const int index = add_stage(std::move(above), target);
    plan.stages[static_cast<size_t>(index)].op = std::move(op);
    plan.stages[static_cast<size_t>(index)].uses_watermark = left_evictable || right_evictable;
    SLUICE_RETURN_NOT_OK(collect(left, {}, {index, 0}));
    return collect(right, {}, {index, 1});
  }

  // True when an inner join's output event time (the one an operator above uses) is never
  // below the other side's time: then a pair is emitted with the time of a row that was not
  // late when it arrived, so the operator above (one epoch behind in watermark) never drops it.
  static bool emits_later_time(const PlanPtr& join, const StreamJoinOptions& options,
                               const std::string (&time_name)[2]) {
    if (options.type != JoinType::inner || options.left_time < 0 || options.right_time < 0) return false;
    const std::optional<EventTime> output = find_event_time(join);
    if (!output) return false;
    if (output->column == time_name[0]) return options.bounds.upper && *options.bounds.upper <= 0;
    if (output->column == time_name[1]) return options.bounds.lower && *options.bounds.lower >= 0;
    return false;
  }

  Status plan_aggregate(const LogicalPlan& node, const std::optional<EventTime>& watermark,
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
        watermark && time != nullptr && is_column(*time, watermark->column);
    std::vector<int> keys;
    int event_time_key = -1;
    bool event_time_is_window_end = true;
    for (const auto& key : node.group_keys()) {
      if (const auto* expr = std::get_if<Expr>(&key)) {
        if (watermark && !time && is_column(*expr, watermark->column)) {
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
    options.partial_aggregation = this->options.partial_aggregation;
    SLUICE_ASSIGN_OR_RETURN(stage.op, make_hash_aggregate(input, keys, aggregates, options));
    stage.uses_watermark = event_time_key >= 0;
    return Status::ok();
  }

  Status plan_group_state(const LogicalPlan& node, const std::optional<EventTime>& watermark,
                          StatefulStage& stage) {
    const SchemaPtr& input = node.child()->schema();
    std::vector<int> keys;
    for (const auto& column : node.dedup_columns())
      keys.push_back(input->find(column));
    GroupsWithStateOptions options;
    options.cache_bytes = this->options.state_cache_bytes;
    if (watermark) options.event_time_column = input->find(watermark->column);
    // Event-time timeouts expire as the watermark moves: run an epoch for that even without data.
    stage.uses_watermark = node.group_state()->timeout == GroupStateTimeout::event_time;
    SLUICE_ASSIGN_OR_RETURN(
        stage.op, make_flat_map_groups_with_state(input, keys, node.group_state(), options));
    return Status::ok();
  }

  // Plans an OVER: rows are released once the watermark passes their order time, so the first
  // ORDER BY column must be the event time, or trail it by a bound a filter below states
  // (`order >= time - INTERVAL ...`, which then holds for every row that reaches the OVER).
  Status plan_over(const LogicalPlan& node, const std::optional<EventTime>& watermark,
                   StatefulStage& stage) {
    const OverWindow& window = *node.over_window();
    const SchemaPtr& input = node.child()->schema();
    const std::string& order = window.order_by.front();
    const std::string clause = "OVER (" + window.text + ")";
    if (!watermark) {
      return Status::invalid_argument(
          clause + ": ORDER BY " + order +
          " has no watermark (rule: a streaming OVER orders rows by the stream's "
          "event-time column; declare it with with_watermark or WATERMARK FOR)");
    }
    const int time = input->find(watermark->column);
    if (time < 0) {
      return Status::invalid_argument(clause + ": its input lacks the event-time column '" +
                                      watermark->column +
                                      "'; keep it in the columns below the OVER");
    }
    OverAggregateOptions options;
    options.event_time_column = time;
    options.cache_bytes = this->options.state_cache_bytes;
    if (order != watermark->column) {
      std::optional<int64_t> lag;
      for (const auto& bound : window.order_bounds) {
        const TimeBounds bounds = time_bounds_of(bound, watermark->column, order);
        if (bounds.lower)
          lag = std::min(lag.value_or(std::numeric_limits<int64_t>::max()),
                         std::max<int64_t>(0, -*bounds.lower));
      }
      if (!lag) {
        return Status::invalid_argument(
            clause + ": ORDER BY " + order + " is not the stream's event-time column '" +
            watermark->column +
            "' (rule: rows are final once the watermark passes their order time; order by '" +
            watermark->column + "', or bound " + order + " below it with a filter such as " +
            order + " >= " + watermark->column + " - INTERVAL '1' MINUTE)");
      }
      options.order_lag_micros = *lag;
    }
    for (const auto& column : window.partition_by)
      options.partition_columns.push_back(input->find(column));
    for (const auto& column : window.order_by)
      options.order_columns.push_back(input->find(column));
    options.preceding = window.preceding;
    for (const auto& call : window.calls) {
      options.calls.push_back(
          {call.kind, call.argument ? input->find(*call.argument) : -1, call.output_name});
    }
    stage.uses_watermark = true;
    SLUICE_ASSIGN_OR_RETURN(stage.op, make_over_aggregate(input, std::move(options)));
    return Status::ok();
  }

  Status plan_deduplicate(const LogicalPlan& node, const std::optional<EventTime>& watermark, StatefulStage& stage) {
    const SchemaPtr& input = node.child()->schema();
    std::vector<int> keys;
    for (const auto& column : node.dedup_columns()) keys.push_back(input->find(column));
    DeduplicateOptions options;
    options.cache_bytes = this->options.state_cache_bytes;
    if (watermark) {
      const int time = input->find(watermark->column);
      const bool time_is_key = std::find(keys.begin(), keys.end(), time) != keys.end();
      if (node.within_watermark() || time_is_key) options.event_time_column = time;
      if (node.within_watermark()) options.within_watermark_delay_micros = watermark->delay_micros;
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
    case StatelessStep::Kind::static_join: {
      std::string keys;
      for (const auto& key : step.join_keys) keys += (keys.empty() ? "" : ", ") + key;
      return "BroadcastHashJoin [" + keys + "], " + std::string(join_type_name(step.join_type)) +
             (step.join_has_condition ? ", " + step.predicate.to_string() : "") + ", " + step.table->description();
    }
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
  SLUICE_RETURN_NOT_OK(planner.collect(node, {}, StageTarget{}));
  // Targets have smaller indices: walking down from the last stage sees every feeder first.
  auto& stages = planner.plan.stages;
  for (size_t i = stages.size(); i-- > 0;) {
    const int target = stages[i].target.stage;
    if (target >= 0) stages[static_cast<size_t>(target)].depth = std::max(stages[static_cast<size_t>(target)].depth, stages[i].depth + 1);
  }
  if ((!planner.plan.sort.empty() || planner.plan.limit >= 0) && planner.plan.stages.empty()) {
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
  if (spec.timeout == GroupStateTimeout::event_time && !find_event_time(node->child())) {
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
  const LogicalPlan* over = nullptr;
  bool ordered = false;
  const LogicalPlan* join = nullptr;
  std::vector<const LogicalPlan*> aggregates;
  std::function<void(const PlanPtr&)> visit = [&](const PlanPtr& node) {
    if (node->kind() == PlanKind::join && node->is_stateful()) join = node.get();
    if (node->is_stateful()) ++stateful;
    if (node->kind() == PlanKind::aggregate) {
      aggregate = node.get();
      aggregates.push_back(node.get());
    }
    if (node->kind() == PlanKind::deduplicate) deduplicate = node.get();
    if (node->kind() == PlanKind::over) over = node.get();
    if (node->kind() == PlanKind::sort || node->kind() == PlanKind::limit) ordered = true;
    for (const auto& child : node->children()) visit(child);
  };
  visit(plan);
  const std::string mode_name(output_mode_name(mode));
  if (over && mode != OutputMode::Append) {
    return Status::invalid_argument(
        "output mode " + mode_name + " is not supported for " + over->node_string() +
        " (rule: an OVER aggregation emits each row once, in append mode)");
  }
  if (mode == OutputMode::Complete && !aggregate) {
    return Status::invalid_argument(
        "output mode Complete is not supported when there are no streaming aggregations "
        "(rule: complete mode needs an aggregation)");
  }
  // The stateful operator nearest the sink: in a chain, only it may update its rows (the ones
  // below pass on final rows in append mode, see StatefulStage::target).
  const LogicalPlan* top = plan.get();
  while (!top->is_stateful() && top->children().size() == 1) top = top->children()[0].get();
  if (!top->is_stateful()) top = nullptr;
  const bool updating_top = mode == OutputMode::Update && stateful > 1 && top != nullptr &&
                            (top->kind() == PlanKind::aggregate || top->kind() == PlanKind::group_state);
  if (stateful > 1 && mode != OutputMode::Append && !updating_top) {
    return Status::invalid_argument("output mode " + mode_name + " is not supported for a query with " +
                                    std::to_string(stateful) + " stateful operators (rule: chained stateful "
                                    "operators run in append mode, each passing on final rows; only a last "
                                    "aggregation or flat_map_groups_with_state may run in Update mode)");
  }
  if (join && mode != OutputMode::Append && !updating_top) {
    return Status::invalid_argument("output mode " + mode_name + " is not supported for " + join->node_string() +
                                    " (rule: stream-stream joins run in append mode only)");
  }
  if (ordered && mode != OutputMode::Complete) {
    return Status::invalid_argument("order_by and limit need output mode Complete, not " + mode_name +
                                    " (rule: sorting a stream needs an aggregation in complete mode)");
  }
  for (const LogicalPlan* aggregate : aggregates) {
    if (mode != OutputMode::Append && !updating_top) break;
    if (updating_top && aggregate == top) continue;
    const std::optional<EventTime> watermark = find_event_time(aggregate->children()[0]);
    bool on_event_time = false;
    for (const auto& key : aggregate->group_keys()) {
      if (!watermark) break;
      const std::string& column = watermark->column;
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
  return check_group_state_mode(plan, mode);
}

int PhysicalPlan::max_depth() const {
  int deepest = 0;
  for (const auto& stage : stages)
    deepest = std::max(deepest, stage.depth);
  return deepest;
}

int PhysicalPlan::num_senders(int stage, const std::vector<int>& pipeline_partitions, int stage_partitions) const {
  int senders = 0;
  for (size_t p = 0; p < pipelines.size(); ++p) {
    if (pipelines[p].target.stage == stage) senders += pipeline_partitions[p];
  }
  for (const auto& other : stages) {
    if (other.target.stage == stage) senders += stage_partitions;
  }
  return senders;
}

namespace {

// A node of the rendered physical plan: its own lines (drawn as a chain) and its inputs.
struct RenderNode {
  std::vector<std::string> lines;
  std::vector<RenderNode> children;
};

void render_tree(std::string& out, const RenderNode& node, const std::string& head, const std::string& next) {
  render_lines(out, node.lines, head, next);
  std::string base = next;
  for (size_t d = 1; d < node.lines.size(); ++d) base += "   ";
  if (node.children.size() == 1) return render_tree(out, node.children[0], base + "+- ", base + "   ");
  for (size_t c = 0; c < node.children.size(); ++c) {
    const bool last = c + 1 == node.children.size();
    render_tree(out, node.children[c], base + (last ? "+- " : ":- "), base + (last ? "   " : ":  "));
  }
}

RenderNode render_pipeline(const PhysicalPipeline& pipeline, size_t index) {
  RenderNode node;
  const std::string stage = "*(" + std::to_string(index + 1) + ") ";
  for (auto step = pipeline.steps.rbegin(); step != pipeline.steps.rend(); ++step) {
    node.lines.push_back(stage + render_step(*step));
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
  node.lines.push_back(scan);
  return node;
}

std::vector<RenderNode> render_inputs(const PhysicalPlan& plan, int stage);

RenderNode render_stage(const PhysicalPlan& plan, int index, std::vector<std::string> lines) {
  const StatefulStage& stage = plan.stages[static_cast<size_t>(index)];
  for (auto step = stage.post_steps.rbegin(); step != stage.post_steps.rend(); ++step) {
    lines.push_back(render_step(*step));
  }
  lines.push_back("StatefulOperator " + stage.op->name() + " " + stage.op->state_fingerprint());
  lines.push_back("Exchange hashpartitioning");
  return {std::move(lines), render_inputs(plan, index)};
}

// The inputs of a stage (or of the sink, stage -1) in input order; several pipelines or
// stages feeding one input form a Union.
std::vector<RenderNode> render_inputs(const PhysicalPlan& plan, int stage) {
  const int num_inputs = stage >= 0 ? plan.stages[static_cast<size_t>(stage)].op->num_inputs() : 1;
  std::vector<RenderNode> inputs;
  for (int input = 0; input < num_inputs; ++input) {
    std::vector<RenderNode> group;
    for (size_t s = 0; s < plan.stages.size(); ++s) {
      const auto& target = plan.stages[s].target;
      if (target.stage == stage && target.input == input) group.push_back(render_stage(plan, static_cast<int>(s), {}));
    }
    for (size_t p = 0; p < plan.pipelines.size(); ++p) {
      const auto& target = plan.pipelines[p].target;
      if (target.stage == stage && target.input == input) group.push_back(render_pipeline(plan.pipelines[p], p));
    }
    if (group.size() == 1) {
      inputs.push_back(std::move(group[0]));
    } else if (!group.empty()) {
      inputs.push_back({{"Union"}, std::move(group)});
    }
  }
  return inputs;
}

}  // namespace

std::string PhysicalPlan::to_string() const {
  std::vector<std::string> top;
  if (limit >= 0) top.push_back("Limit " + std::to_string(limit));
  if (!sort.empty()) {
    std::string keys;
    for (const auto& key : sort) keys += (keys.empty() ? "" : ", ") + key.expr.to_string() + (key.ascending ? " ASC" : " DESC");
    top.push_back("Sort [" + keys + "]");
  }
  RenderNode root;
  if (!stages.empty()) {
    root = render_stage(*this, 0, std::move(top));
  } else {
    auto inputs = render_inputs(*this, -1);
    if (top.empty() && inputs.size() == 1) {
      root = std::move(inputs[0]);
    } else {
      root = {std::move(top), std::move(inputs)};
    }
  }
  std::string out;
  render_tree(out, root, "", "");
  return out;
}

Result<RecordBatchPtr> read_static_source(const PlanPtr& node) {
  const SourceSpec& spec = *node->source();
  std::vector<RecordBatchPtr> batches;
  if (spec.read_all) {
    SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr rows, spec.read_all());
    batches.push_back(std::move(rows));
  } else {
    SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Source> source, spec.create());
    if (!node->required_columns().empty()) source->prune_columns(node->required_columns());
    const SourceOffset start = source->initial_offset();
    SLUICE_ASSIGN_OR_RETURN(SourceOffset end, available_end(*source));
    for (int partition = 0; partition < source->num_partitions(); ++partition) {
      const auto p = static_cast<size_t>(partition);
      SLUICE_ASSIGN_OR_RETURN(auto reader, source->open_reader(partition, start[p], end[p]));
      for (RecordBatchPtr batch;;) {
        SLUICE_ASSIGN_OR_RETURN(ReadFlow flow, reader->next(batch));
        if (flow == ReadFlow::finished) break;
        batches.push_back(std::move(batch));
      }
    }
  }
  const SchemaPtr& wanted = node->schema();
  std::vector<RecordBatchPtr> projected;
  for (const auto& batch : batches) {
    std::vector<ColumnPtr> columns;
    for (const auto& field : wanted->fields()) {
      SLUICE_ASSIGN_OR_RETURN(int index, batch->schema()->index_of(field.name));
      columns.push_back(batch->column(index));
    }
    projected.push_back(RecordBatch::make_unchecked(wanted, std::move(columns), batch->num_rows()));
  }
  if (projected.empty()) return RecordBatch::make_empty(wanted);
  if (projected.size() == 1) return projected.front();
  return RecordBatch::concatenate(projected);
}

}  // namespace sluice
