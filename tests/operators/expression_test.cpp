#define BOOST_TEST_MODULE expression
#include <boost/test/unit_test.hpp>

#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

BOOST_AUTO_TEST_CASE(rendering_follows_spark_column_names) {
  BOOST_TEST(((col("value") % 2) == 0).to_string() == "((value % 2) = 0)");
  BOOST_TEST(lower(col("name")).to_string() == "lower(name)");
  BOOST_TEST((col("a") && !col("b")).to_string() == "(a AND (NOT b))");
  BOOST_TEST((col("a") || col("b")).to_string() == "(a OR b)");
  BOOST_TEST(col("a").cast(Type::Double).to_string() == "CAST(a AS DOUBLE)");
  BOOST_TEST(col("a").is_null().to_string() == "(a IS NULL)");
  BOOST_TEST(col("a").is_not_null().to_string() == "(a IS NOT NULL)");
  BOOST_TEST(col("a").isin({1, 2, Value()}).to_string() == "(a IN (1, 2, NULL))");
  BOOST_TEST(col("s").like("a%").to_string() == "s LIKE 'a%'");
  BOOST_TEST(substring(col("s"), 1, 3).to_string() == "substring(s, 1, 3)");
  BOOST_TEST(coalesce({col("a"), lit(0)}).to_string() == "coalesce(a, 0)");
  BOOST_TEST(date_trunc("hour", col("t")).to_string() == "date_trunc('hour', t)");
  BOOST_TEST((col("t") + interval("10 seconds")).to_string() == "(t + INTERVAL '10 seconds')");
  BOOST_TEST(lit("it's").to_string() == "'it\\'s'");
  BOOST_TEST(lit(1.5).to_string() == "1.5");
  BOOST_TEST(lit_null(Type::Int64).to_string() == "NULL");
  BOOST_TEST((-col("a")).to_string() == "(- a)");
  Expr case_expr =
      when(col("a") > 0, lit("pos")).when(col("a") < 0, lit("neg")).otherwise(lit("zero"));
  BOOST_TEST(case_expr.to_string() ==
             "CASE WHEN (a > 0) THEN 'pos' WHEN (a < 0) THEN 'neg' ELSE 'zero' END");
  Expr no_else = when(col("a") > 0, lit(1));
  BOOST_TEST(no_else.to_string() == "CASE WHEN (a > 0) THEN 1 END");
}

BOOST_AUTO_TEST_CASE(output_name_prefers_alias_then_column_then_text) {
  BOOST_TEST((col("a") + 1).alias("total").output_name() == "total");
  BOOST_TEST(col("a").output_name() == "a");
  BOOST_TEST((col("a") + 1).output_name() == "(a + 1)");
  BOOST_TEST((col("a") + 1).alias("total").to_string() == "(a + 1) AS total");
}

BOOST_AUTO_TEST_CASE(accessors_describe_each_node) {
  Expr sum = col("a") + lit(2);
  BOOST_TEST((sum.kind() == ExprKind::binary));
  BOOST_TEST(sum.function_name() == "+");
  BOOST_REQUIRE_EQUAL(sum.children().size(), 2u);
  BOOST_TEST((sum.children()[0].kind() == ExprKind::column));
  BOOST_TEST(sum.children()[0].column_name() == "a");
  BOOST_TEST((sum.children()[1].kind() == ExprKind::literal));
  BOOST_TEST(sum.children()[1].literal() == Value(2));
  BOOST_TEST((sum.children()[1].literal_type() == Type::Int64));
  BOOST_TEST(((!col("b")).kind() == ExprKind::unary));
  BOOST_TEST((!col("b")).function_name() == "not");
  BOOST_TEST((col("a") && col("b")).function_name() == "and");
  BOOST_TEST((lower(col("s")).kind() == ExprKind::function));
  BOOST_TEST((col("a").cast(Type::String).kind() == ExprKind::cast));
  BOOST_TEST((col("a").cast(Type::String).cast_type() == Type::String));
  BOOST_TEST((col("a").alias("x").kind() == ExprKind::alias));
  BOOST_TEST(col("a").alias("x").alias_name() == "x");
  BOOST_TEST((col("a").isin({1}).kind() == ExprKind::in_list));
  BOOST_TEST((Expr(when(col("b"), lit(1))).kind() == ExprKind::case_when));
  BOOST_TEST(!Expr(when(col("b"), lit(1))).has_else());
  BOOST_TEST(when(col("b"), lit(1)).otherwise(lit(2)).has_else());
  BOOST_TEST((interval("1 hour").kind() == ExprKind::literal));
  BOOST_TEST(interval("1 hour").is_interval());
  BOOST_TEST(interval("1 hour").literal() == Value(int64_t{3'600'000'000}));
  BOOST_TEST((lit_null(Type::Bool).literal_type() == Type::Bool));
  BOOST_TEST(!lit(Value()).literal_type().has_value());
}

BOOST_AUTO_TEST_CASE(referenced_columns_are_distinct_in_first_seen_order) {
  Expr e = col("b") + col("a") * col("b") + coalesce({col("c"), col("a")});
  const std::vector<std::string> expected{"b", "a", "c"};
  BOOST_TEST(e.referenced_columns() == expected, boost::test_tools::per_element());
  BOOST_TEST(lit(1).referenced_columns().empty());
}

BOOST_AUTO_TEST_CASE(structural_equality_compares_whole_trees) {
  BOOST_TEST((col("a") + 1).equals(col("a") + 1));
  BOOST_TEST(!(col("a") + 1).equals(col("a") + 2));
  BOOST_TEST(!(col("a") + 1).equals(col("a") - 1));
  BOOST_TEST(!(col("a") + 1).equals(col("b") + 1));
  BOOST_TEST(!(col("a") + 1).equals(col("a") + 1.0));
  BOOST_TEST(!col("a").cast(Type::Int64).equals(col("a").strict_cast(Type::Int64)));
  BOOST_TEST(lit(std::nan("")).equals(lit(std::nan(""))));
  BOOST_TEST(!lit_null(Type::Int64).equals(lit_null(Type::String)));
  BOOST_TEST(!col("a").alias("x").equals(col("a").alias("y")));
}

BOOST_AUTO_TEST_CASE(with_children_keeps_the_node_and_replaces_children) {
  Expr e = (col("a") + col("b")).alias("s");
  Expr inner = e.children()[0];
  Expr rewritten = inner.with_children({col("x"), lit(3)});
  BOOST_TEST(rewritten.to_string() == "(x + 3)");
  Expr realiased = e.with_children({rewritten});
  BOOST_TEST(realiased.output_name() == "s");
  BOOST_TEST(realiased.to_string() == "(x + 3) AS s");
  // The original is untouched (immutable value type).
  BOOST_TEST(e.to_string() == "(a + b) AS s");
  Expr cast = col("a").strict_cast(Type::Double).with_children({col("b")});
  BOOST_TEST(cast.equals(col("b").strict_cast(Type::Double)));
}

BOOST_AUTO_TEST_CASE(determinism_is_false_only_with_a_nondeterministic_udf_inside) {
  auto stable = udf("plus_one", [](int64_t x) { return x + 1; });
  auto unstable = stable.as_nondeterministic();
  BOOST_TEST((col("a") + 1).is_deterministic());
  BOOST_TEST(stable(col("a")).is_deterministic());
  BOOST_TEST(!unstable(col("a")).is_deterministic());
  BOOST_TEST(!(lit(1) + unstable(col("a"))).alias("x").is_deterministic());
  // Marking a copy does not change the original.
  BOOST_TEST(stable(col("a")).is_deterministic());
}

BOOST_AUTO_TEST_CASE(value_operands_work_on_either_side) {
  BOOST_TEST((2 * col("a")).to_string() == "(2 * a)");
  BOOST_TEST((col("a") - 1.5).to_string() == "(a - 1.5)");
  BOOST_TEST((10 / col("a")).to_string() == "(10 / a)");
  BOOST_TEST((col("s") == "x").to_string() == "(s = 'x')");
  BOOST_TEST((1 < col("a")).to_string() == "(1 < a)");
  BOOST_TEST((col("a") != col("b")).to_string() == "(a != b)");
  BOOST_TEST((col("a") >= 3).function_name() == ">=");
}

BOOST_AUTO_TEST_CASE(a_default_expr_is_an_untyped_null_literal) {
  Expr e;
  BOOST_TEST((e.kind() == ExprKind::literal));
  BOOST_TEST(e.literal().is_null());
  BOOST_TEST(e.to_string() == "NULL");
}
