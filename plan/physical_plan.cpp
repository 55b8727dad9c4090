#include "plan/physical_plan.hpp"

namespace sluice {

namespace {

Status collect(const PlanPtr& node, std::vector<StatelessStep> above, PhysicalPlan& out) {
  switch (node->kind()) {
    case PlanKind::source:
      out.pipelines.push_back({node, std::move(above)});
      return Status::ok();
    case PlanKind::filter:
      above.insert(above.begin(), StatelessStep::filter(node->condition()));
      return collect(node->child(), std::move(above), out);
    case PlanKind::project:
      above.insert(above.begin(), StatelessStep::project(node->exprs()));
      return collect(node->child(), std::move(above), out);
    case PlanKind::union_all: {
      // Stateless steps above a union apply to every input alike; they run in each input's
      // stage after renaming the input's columns to the union's names by position.
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
        SLUICE_RETURN_NOT_OK(collect(input, std::move(steps), out));
      }
      return Status::ok();
    }
  }
  return Status::internal("unknown plan node");
}

std::string render_step(const StatelessStep& step) {
  if (step.kind == StatelessStep::Kind::filter) return "Filter " + step.predicate.to_string();
  std::string list;
  for (const auto& expr : step.projections) list += (list.empty() ? "" : ", ") + expr.to_string();
  return "Project [" + list + "]";
}

}  // namespace

Result<PhysicalPlan> plan_physical(const PlanPtr& optimized) {
  PhysicalPlan plan;
  plan.output_schema = optimized->schema();
  SLUICE_RETURN_NOT_OK(collect(optimized, {}, plan));
  return plan;
}

std::string PhysicalPlan::to_string() const {
  std::string out;
  const bool many = pipelines.size() > 1;
  if (many) out += "Union\n";
  for (size_t p = 0; p < pipelines.size(); ++p) {
    const PhysicalPipeline& pipeline = pipelines[p];
    const bool last = p + 1 == pipelines.size();
    const std::string head = many ? (last ? "+- " : ":- ") : "";
    const std::string base = many ? (last ? "   " : ":  ") : "";
    const std::string stage = "*(" + std::to_string(p + 1) + ") ";
    std::vector<std::string> lines;
    for (auto step = pipeline.steps.rbegin(); step != pipeline.steps.rend(); ++step) {
      lines.push_back(stage + render_step(*step));
    }
    std::string columns;
    for (const auto& field : pipeline.source->schema()->fields()) {
      columns += (columns.empty() ? "" : ", ") + field.name;
    }
    lines.push_back("MicroBatchScan " + pipeline.source->source()->format + " [" + columns + "]");
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string indent = i == 0 ? head : base;
      for (size_t d = 1; d < i; ++d) indent += "   ";
      if (i > 0) indent += "+- ";
      out += indent + lines[i] + "\n";
    }
  }
  return out;
}

}  // namespace sluice
