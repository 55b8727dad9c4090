#include "operators/udf.hpp"

#include "operators/bound_node.hpp"

namespace sluice {

namespace {

// Calls a user function over the evaluated arguments and checks what it returns.
class UserFunctionNode final : public BoundNode {
 public:
  UserFunctionNode(std::shared_ptr<const UserFunctionDefinition> definition,
                   std::vector<BoundNodePtr> args, Expr expr)
      : BoundNode(definition->result_type, true, std::move(expr), std::move(args)),
        definition_(std::move(definition)) {
    nondeterministic = !definition_->deterministic;
  }

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    std::vector<ColumnPtr> args;
    args.reserve(children.size());
    for (const auto& child : children) {
      SLUICE_ASSIGN_OR_RETURN(ColumnPtr column, child->evaluate(ctx));
      args.push_back(std::move(column));
    }
    auto result = definition_->function(args, ctx.num_rows);
    if (!result.ok()) return result.status().with_context("in udf " + expr.to_string());
    const ColumnPtr& column = *result;
    if (!column || column->type() != type || column->length() != ctx.num_rows) {
      const std::string got = column ? std::string(type_name(column->type())) + " column of " +
                                           std::to_string(column->length()) + " rows"
                                     : "no column";
      return Status::invalid_argument("udf '" + definition_->name + "' returned " + got +
                                      ", expected " + std::string(type_name(type)) + " of " +
                                      std::to_string(ctx.num_rows) + " rows in " +
                                      expr.to_string());
    }
    return column;
  }

 private:
  std::shared_ptr<const UserFunctionDefinition> definition_;
};

}  // namespace

BoundNodePtr make_udf_node(std::shared_ptr<const UserFunctionDefinition> definition,
                           std::vector<BoundNodePtr> args, Expr expr) {
  return std::make_shared<UserFunctionNode>(std::move(definition), std::move(args),
                                            std::move(expr));
}

}  // namespace sluice
