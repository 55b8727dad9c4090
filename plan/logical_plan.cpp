#include "plan/logical_plan.hpp"

#include <ostream>
#include <set>

namespace sluice {

std::ostream& operator<<(std::ostream& out, PlanKind kind) {
  switch (kind) {
    case PlanKind::source: return out << "source";
    case PlanKind::filter: return out << "filter";
    case PlanKind::project: return out << "project";
    case PlanKind::union_all: return out << "union_all";
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

Result<PlanPtr> LogicalPlan::make_project(PlanPtr child, std::vector<Expr> exprs) {
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
  }
  return Status::internal("unknown plan node");
}

std::string LogicalPlan::node_string() const {
  switch (kind_) {
    case PlanKind::source: {
      std::string columns;
      for (const auto& field : schema_->fields()) columns += (columns.empty() ? "" : ", ") + field.name;
      return "StreamingRelation " + source_->format + ", [" + columns + "]";
    }
    case PlanKind::filter: return "Filter " + condition_.to_string();
    case PlanKind::project: {
      std::string list;
      for (const auto& expr : exprs_) list += (list.empty() ? "" : ", ") + expr.to_string();
      return "Project [" + list + "]";
    }
    case PlanKind::union_all: return "Union";
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

}  // namespace sluice
