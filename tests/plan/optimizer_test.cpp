#define BOOST_TEST_MODULE optimizer
#include <boost/test/unit_test.hpp>

#include "io/memory_source.hpp"
#include "plan/optimizer.hpp"
#include "plan/physical_plan.hpp"

using namespace sluice;

namespace {

PlanPtr source_plan(const std::string& format = "memory") {
  auto spec = std::make_shared<SourceSpec>();
  spec->format = format;
  spec->schema = Schema::make({{"a", Type::Int64}, {"b", Type::Int64}, {"s", Type::String}}).value();
  auto source = std::make_shared<MemorySource>(spec->schema);
  spec->create = [source]() -> Result<std::shared_ptr<Source>> { return std::shared_ptr<Source>(source); };
  return LogicalPlan::make_source(spec);
}

PlanPtr filter(PlanPtr child, Expr condition) {
  return LogicalPlan::make_filter(std::move(child), std::move(condition)).value();
}
PlanPtr project(PlanPtr child, std::vector<Expr> exprs) {
  return LogicalPlan::make_project(std::move(child), std::move(exprs)).value();
}

}  // namespace

BOOST_AUTO_TEST_CASE(combine_filters_merges_adjacent_filters_with_and) {
  auto plan = filter(filter(source_plan(), col("a") > 1), col("b") < 5);
  auto result = CombineFilters().apply(plan).value();
  BOOST_TEST(result->kind() == PlanKind::filter);
  BOOST_TEST(result->child()->kind() == PlanKind::source);
  BOOST_TEST(result->condition().equals((col("a") > 1) && (col("b") < 5)));
}

BOOST_AUTO_TEST_CASE(push_down_filters_moves_a_filter_below_a_projection_substituting_aliases) {
  auto plan = filter(project(source_plan(), {(col("a") * 10).alias("v"), col("s")}), col("v") > 100);
  auto result = PushDownFilters().apply(plan).value();
  BOOST_REQUIRE(result->kind() == PlanKind::project);
  BOOST_REQUIRE(result->child()->kind() == PlanKind::filter);
  BOOST_TEST(result->child()->condition().equals(col("a") * 10 > 100));
  BOOST_TEST(result->schema()->to_string() == plan->schema()->to_string());
}

BOOST_AUTO_TEST_CASE(push_down_filters_copies_a_filter_into_every_union_input_renaming_columns) {
  auto left = source_plan();
  auto right = project(source_plan(), {col("b").alias("x"), col("a").alias("y"), col("s")});
  auto plan = filter(LogicalPlan::make_union({left, right}).value(), col("a") > 3);
  auto result = PushDownFilters().apply(plan).value();
  BOOST_REQUIRE(result->kind() == PlanKind::union_all);
  BOOST_TEST(result->children()[0]->condition().equals(col("a") > 3));
  // The union's first column is 'a' from the left, 'x' on the right.
  BOOST_TEST(result->children()[1]->kind() == PlanKind::filter);
  BOOST_TEST(result->children()[1]->condition().equals(col("x") > 3));
}

BOOST_AUTO_TEST_CASE(push_down_filters_moves_a_filter_into_an_inner_join_condition_only) {
  auto right = project(source_plan(), {col("a"), col("b").alias("rb"), col("s").alias("rs")});
  auto join = [&](JoinType type, std::optional<Expr> condition) {
    return LogicalPlan::make_join(source_plan(), right, {"a"}, type, std::move(condition)).value();
  };
  auto inner = PushDownFilters().apply(filter(join(JoinType::inner, col("b") < col("rb")), col("rb") > 3)).value();
  BOOST_REQUIRE(inner->kind() == PlanKind::join);
  BOOST_REQUIRE(inner->join_condition().has_value());
  BOOST_TEST(inner->join_condition()->equals((col("b") < col("rb")) && (col("rb") > 3)));
  // Above an outer join the filter also drops the rows with nulls: it stays where it is.
  auto outer_plan = filter(join(JoinType::left_outer, std::nullopt), col("rb") > 3);
  BOOST_TEST(PushDownFilters().apply(outer_plan).value()->kind() == PlanKind::filter);
}

BOOST_AUTO_TEST_CASE(collapse_projections_merges_and_keeps_output_names) {
  auto inner = project(source_plan(), {(col("a") + 1).alias("a1"), col("s")});
  auto plan = project(inner, {col("a1"), (col("a1") * 2).alias("twice")});
  auto result = CollapseProjections().apply(plan).value();
  BOOST_REQUIRE(result->kind() == PlanKind::project);
  BOOST_TEST(result->child()->kind() == PlanKind::source);
  BOOST_TEST(result->schema()->field(0).name == "a1");
  BOOST_TEST(result->schema()->field(1).name == "twice");
  BOOST_TEST(result->exprs()[1].equals(((col("a") + 1) * 2).alias("twice")));
}

BOOST_AUTO_TEST_CASE(fold_constants_evaluates_literal_only_expressions_once) {
  auto plan = project(source_plan(), {(col("a") + (lit(2) * lit(3))).alias("x")});
  auto result = FoldConstants().apply(plan).value();
  BOOST_TEST(result->exprs()[0].equals((col("a") + lit(6)).alias("x")));
}

BOOST_AUTO_TEST_CASE(simplify_removes_always_true_filters_and_trivial_logic) {
  auto plan = filter(source_plan(), lit(true) && (col("a") > 1));
  auto simplified = SimplifyExpressions().apply(plan).value();
  BOOST_TEST(simplified->condition().equals(col("a") > 1));
  auto always = filter(source_plan(), col("a") > 1 || lit(true));
  BOOST_TEST(SimplifyExpressions().apply(always).value()->kind() == PlanKind::source);
  auto twice_negated = filter(source_plan(), !!(col("a") > 1));
  BOOST_TEST(SimplifyExpressions().apply(twice_negated).value()->condition().equals(col("a") > 1));
}

BOOST_AUTO_TEST_CASE(simplify_turns_arithmetic_on_null_into_null) {
  auto plan = project(source_plan(), {(col("a") + lit_null(Type::Int64)).alias("n")});
  auto result = SimplifyExpressions().apply(plan).value();
  BOOST_REQUIRE(result->exprs()[0].kind() == ExprKind::alias);
  const Expr& inner = result->exprs()[0].children()[0];
  BOOST_TEST((inner.kind() == ExprKind::literal && inner.literal().is_null()));
  BOOST_TEST(result->schema()->field(0).type == Type::Int64);
}

BOOST_AUTO_TEST_CASE(prune_columns_tells_the_source_what_the_query_reads) {
  auto plan = project(filter(source_plan(), col("b") > 0), {col("a")});
  auto result = PruneColumns().apply(plan).value();
  const PlanPtr& source = result->child()->child();
  BOOST_REQUIRE(source->kind() == PlanKind::source);
  BOOST_TEST(source->required_columns() == (std::vector<std::string>{"a", "b"}));
  BOOST_TEST(source->schema()->num_fields() == 2);
}

BOOST_AUTO_TEST_CASE(optimizer_reaches_a_fixed_point_and_fuses_one_stage) {
  auto plan = filter(project(filter(source_plan(), col("a") > 1), {col("a"), (col("b") * 10).alias("v")}),
                     col("v") < lit(50) + lit(50));
  auto optimized = Optimizer().optimize(plan).value();
  // Filters sit below the projection, merged, with constants folded.
  BOOST_REQUIRE(optimized->kind() == PlanKind::project);
  BOOST_REQUIRE(optimized->child()->kind() == PlanKind::filter);
  BOOST_TEST(optimized->child()->condition().equals((col("a") > 1) && (col("b") * 10 < lit(100))));
  BOOST_TEST(Optimizer().optimize(optimized).value() == optimized);
  auto physical = plan_physical(optimized).value();
  BOOST_REQUIRE(physical.pipelines.size() == 1u);
  BOOST_TEST(physical.pipelines[0].steps.size() == 2u);
  BOOST_TEST(physical.to_string().find("MicroBatchScan memory [a, b]") != std::string::npos,
             physical.to_string());
}

BOOST_AUTO_TEST_CASE(physical_plan_gives_each_union_input_its_own_pipeline) {
  auto plan = project(LogicalPlan::make_union({source_plan(), source_plan()}).value(), {col("a")});
  auto optimized = Optimizer().optimize(plan).value();
  BOOST_TEST(optimized->kind() == PlanKind::union_all);
  auto physical = plan_physical(optimized).value();
  BOOST_TEST(physical.pipelines.size() == 2u);
  BOOST_TEST(physical.to_string().find("Union") == 0u);
}

BOOST_AUTO_TEST_CASE(analysis_errors_name_the_problem) {
  auto bad_type = LogicalPlan::make_filter(source_plan(), col("a") + 1);
  BOOST_REQUIRE(!bad_type.ok());
  BOOST_TEST(bad_type.status().message().find("not BOOLEAN") != std::string::npos);
  auto duplicate = LogicalPlan::make_project(source_plan(), {col("a"), col("b").alias("a")});
  BOOST_TEST(!duplicate.ok());
  auto mismatch = LogicalPlan::make_union({source_plan(), project(source_plan(), {col("s"), col("a"), col("b")})});
  BOOST_REQUIRE(!mismatch.ok());
  BOOST_TEST(mismatch.status().message().find("union_all column 1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(filters_are_offered_to_the_source_and_kept_in_the_plan) {
  auto plan = filter(project(source_plan(), {col("a"), col("s")}), (col("a") > 1) && (col("s") == lit("x")));
  auto optimized = Optimizer().optimize(plan).value();
  // Project [a, s] <- Filter <- Source with both conjuncts pushed.
  const PlanPtr* node = &optimized;
  while ((*node)->kind() != PlanKind::filter) node = &(*node)->children()[0];
  const PlanPtr& source = (*node)->child();
  BOOST_REQUIRE(source->kind() == PlanKind::source);
  BOOST_REQUIRE(source->pushed_filters().size() == 2u);
  BOOST_TEST(source->pushed_filters()[0].equals(col("a") > 1));
  BOOST_TEST(source->pushed_filters()[1].equals(col("s") == lit("x")));
  BOOST_TEST(plan_physical(optimized).value().to_string().find("PushedFilters: [") != std::string::npos);
  BOOST_TEST(Optimizer().optimize(optimized).value() == optimized);
}
