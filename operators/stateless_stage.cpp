#include "operators/stateless_stage.hpp"

#include <algorithm>

namespace sluice {

namespace {

Result<SchemaPtr> projection_schema(const std::vector<BoundExpr>& projections) {
  std::vector<Field> fields;
  for (const auto& projection : projections) {
    fields.push_back({projection.expr().output_name(), projection.type(), projection.nullable()});
  }
  return Schema::make(std::move(fields));
}

Result<std::vector<BoundExpr>> bind_all(const std::vector<Expr>& exprs, const Schema& schema,
                                        const EvalOptions& options) {
  std::vector<BoundExpr> bound;
  for (const auto& expr : exprs) {
    SLUICE_ASSIGN_OR_RETURN(BoundExpr b, bind(expr, schema, options));
    bound.push_back(std::move(b));
  }
  return bound;
}

}  // namespace

Result<std::shared_ptr<const StatelessStage>> StatelessStage::make(
    SchemaPtr input, const std::vector<StatelessStep>& steps, const EvalOptions& options) {
  std::shared_ptr<StatelessStage> stage(new StatelessStage());
  stage->input_ = input;
  SchemaPtr current = input;
  for (size_t i = 0; i < steps.size(); ++i) {
    const StatelessStep& step = steps[i];
    BoundStep bound{step.kind, std::nullopt, {}, {}, {}, current, {}, nullptr, -1, step.window, nullptr};
    if (step.kind == StatelessStep::Kind::static_join) {
      std::optional<Expr> condition;
      if (step.join_has_condition) condition = step.predicate;
      SLUICE_ASSIGN_OR_RETURN(bound.join,
                              StaticHashJoin::make(current, step.table, step.join_keys, step.join_type, condition, options));
      bound.output = bound.join->output_schema();
      current = bound.output;
    } else if (step.kind == StatelessStep::Kind::assign_windows ||
        step.kind == StatelessStep::Kind::observe_event_time) {
      SLUICE_ASSIGN_OR_RETURN(bound.column_index, current->index_of(step.column));
      if (current->field(bound.column_index).type != Type::Timestamp) {
        return Status::type_error("event-time column '" + step.column + "' is " +
                                  std::string(type_name(current->field(bound.column_index).type)) +
                                  ", not TIMESTAMP");
      }
      if (step.kind == StatelessStep::Kind::assign_windows) {
        SLUICE_ASSIGN_OR_RETURN(bound.output, windowed_schema(*current));
        current = bound.output;
      }
    } else if (step.kind == StatelessStep::Kind::filter) {
      SLUICE_ASSIGN_OR_RETURN(bound.predicate, bind(step.predicate, *current, options));
      if (bound.predicate->type() != Type::Bool) {
        return Status::type_error("filter condition " + step.predicate.to_string() + " is " +
                                  std::string(type_name(bound.predicate->type())) +
                                  ", not BOOLEAN");
      }
      const bool projection_follows =
          i + 1 < steps.size() && steps[i + 1].kind == StatelessStep::Kind::project;
      if (projection_follows) {
        std::vector<Field> fields;
        for (const auto& expr : steps[i + 1].projections) {
          for (const auto& name : expr.referenced_columns()) {
            SLUICE_ASSIGN_OR_RETURN(int index, current->index_of(name));
            if (std::find(bound.gather_columns.begin(), bound.gather_columns.end(), index) ==
                bound.gather_columns.end()) {
              bound.gather_columns.push_back(index);
              fields.push_back(current->field(index));
            }
          }
        }
        SLUICE_ASSIGN_OR_RETURN(bound.gathered, Schema::make(std::move(fields)));
        bound.output = bound.gathered;
        current = bound.gathered;
      }
    } else {
      SLUICE_ASSIGN_OR_RETURN(bound.projections, bind_all(step.projections, *current, options));
      SLUICE_RETURN_NOT_OK(group_record_fields(step.projections, *current, options, bound));
      SLUICE_ASSIGN_OR_RETURN(bound.output, projection_schema(bound.projections));
      current = bound.output;
    }
    stage->steps_.push_back(std::move(bound));
  }
  stage->output_ = current;
  return std::shared_ptr<const StatelessStage>(std::move(stage));
}

Status StatelessStage::group_record_fields(const std::vector<Expr>& projections,
                                           const Schema& schema, const EvalOptions& options,
                                           BoundStep& bound) {
  bound.grouped.assign(projections.size(), false);
  std::vector<std::pair<Expr, std::vector<size_t>>> calls;
  for (size_t i = 0; i < projections.size(); ++i) {
    auto field = as_record_field(projections[i]);
    if (!field) continue;
    auto same = std::find_if(calls.begin(), calls.end(),
                             [&](const auto& call) { return call.first.equals(field->call); });
    if (same == calls.end()) {
      calls.push_back({field->call, {i}});
    } else {
      same->second.push_back(i);
    }
  }
  for (auto& [call, positions] : calls) {
    std::vector<std::string> fields;
    for (size_t position : positions) {
      fields.push_back(as_record_field(projections[position])->field);
      bound.grouped[position] = true;
    }
    SLUICE_ASSIGN_OR_RETURN(BoundRecordFields parse,
                            BoundRecordFields::bind(call, fields, schema, options));
    bound.record_groups.push_back({std::move(parse), std::move(positions)});
  }
  return Status::ok();
}

Result<RecordBatchPtr> StatelessStage::project(const BoundStep& step, const RecordBatch& input) {
  std::vector<ColumnPtr> columns(step.projections.size());
  for (const auto& group : step.record_groups) {
    SLUICE_ASSIGN_OR_RETURN(auto parsed, group.fields.evaluate(input));
    for (size_t i = 0; i < group.positions.size(); ++i) {
      columns[group.positions[i]] = std::move(parsed[i]);
    }
  }
  for (size_t i = 0; i < step.projections.size(); ++i) {
    if (step.grouped[i]) continue;
    SLUICE_ASSIGN_OR_RETURN(columns[i], step.projections[i].evaluate(input));
  }
  return RecordBatch::make_unchecked(step.output, std::move(columns), input.num_rows());
}

Result<RecordBatchPtr> StatelessStage::process(const RecordBatchPtr& input) const {
  StageObservation ignored;
  return process(input, ignored);
}

Result<RecordBatchPtr> StatelessStage::process(const RecordBatchPtr& input,
                                               StageObservation& observation) const {
  return process(input, observation, StaticHashJoin::kNewestVersion);
}

Result<RecordBatchPtr> StatelessStage::process(const RecordBatchPtr& input, StageObservation& observation,
                                               int64_t epoch) const {
  RecordBatchPtr current = input;
  std::vector<int32_t> selection;
  for (const BoundStep& step : steps_) {
    if (step.kind == StatelessStep::Kind::observe_event_time) {
      const ColumnPtr& column = current->column(step.column_index);
      const int64_t* times = column->values<int64_t>();
      for (int64_t i = 0; i < column->length(); ++i) {
        if (column->is_valid(i) && times[i] > observation.max_event_time) {
          observation.max_event_time = times[i];
          observation.saw_event_time = true;
        }
      }
      continue;
    }
    if (step.kind == StatelessStep::Kind::assign_windows) {
      SLUICE_ASSIGN_OR_RETURN(current, assign_windows(*current, step.column_index, step.window));
      continue;
    }
    if (step.kind == StatelessStep::Kind::project) {
      SLUICE_ASSIGN_OR_RETURN(current, project(step, *current));
      continue;
    }
    if (step.kind == StatelessStep::Kind::static_join) {
      SLUICE_ASSIGN_OR_RETURN(current, step.join->join(*current, epoch));
      continue;
    }
    SLUICE_RETURN_NOT_OK(step.predicate->select(*current, selection));
    const int64_t kept = static_cast<int64_t>(selection.size());
    if (!step.gathered) {
      if (kept == current->num_rows()) continue;
      current = current->take(selection.data(), kept);
      continue;
    }
    std::vector<ColumnPtr> columns;
    columns.reserve(step.gather_columns.size());
    for (int index : step.gather_columns) {
      const ColumnPtr& column = current->column(index);
      columns.push_back(kept == current->num_rows() ? column : column->take(selection.data(), kept));
    }
    current = RecordBatch::make_unchecked(step.gathered, std::move(columns), kept);
  }
  return current;
}

}  // namespace sluice
