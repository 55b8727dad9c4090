#define BOOST_TEST_MODULE binder
#include <boost/test/unit_test.hpp>

#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

SchemaPtr people() {
  return schema_of({{"id", Type::Int64, false},
                    {"name", Type::String},
                    {"score", Type::Double},
                    {"active", Type::Bool},
                    {"seen", Type::Timestamp}});
}

Status bind_status(const Expr& e) {
  auto bound = bind(e, *people());
  return bound.ok() ? Status::ok() : bound.status();
}

}  // namespace

BOOST_AUTO_TEST_CASE(arithmetic_on_a_string_names_the_expression_and_both_types) {
  Status status = bind_status(col("name") + 1);
  BOOST_TEST((status.code() == StatusCode::type_error));
  BOOST_TEST(status.message() == "cannot apply '+' to STRING and BIGINT in (name + 1)");
}

BOOST_AUTO_TEST_CASE(type_errors_inside_larger_trees_name_the_failing_node) {
  Status status = bind_status((col("id") > 1) && (col("active") * 2 > 1));
  BOOST_TEST((status.code() == StatusCode::type_error));
  BOOST_TEST(status.message() == "cannot apply '*' to BOOLEAN and BIGINT in (active * 2)");
  status = bind_status(col("name") == 1);
  BOOST_TEST(status.message() == "cannot apply '=' to STRING and BIGINT in (name = 1)");
  status = bind_status(col("id") && col("active"));
  BOOST_TEST(status.message() == "cannot apply 'AND' to BIGINT and BOOLEAN in (id AND active)");
  status = bind_status(!col("id"));
  BOOST_TEST(status.message() == "cannot apply 'NOT' to BIGINT in (NOT id)");
  status = bind_status(lower(col("id")));
  BOOST_TEST(status.message() == "cannot apply 'lower' to BIGINT in lower(id)");
  status = bind_status(year(col("score")));
  BOOST_TEST(status.message() == "cannot apply 'year' to DOUBLE in year(score)");
  status = bind_status(col("seen") - col("seen"));
  BOOST_TEST((status.code() == StatusCode::type_error));
  BOOST_TEST(contains(status.message(), "TIMESTAMP and TIMESTAMP"));
}

BOOST_AUTO_TEST_CASE(unknown_column_is_the_schema_not_found_error) {
  Status status = bind_status(col("nme") + 1);
  BOOST_TEST((status.code() == StatusCode::not_found));
  BOOST_TEST(status.message() == people()->index_of("nme").status().message());
  BOOST_TEST(contains(status.message(), "did you mean 'name'"));
}

BOOST_AUTO_TEST_CASE(unifying_incompatible_branches_fails) {
  Status status = bind_status(when(col("active"), col("id")).otherwise(col("name")));
  BOOST_TEST((status.code() == StatusCode::type_error));
  BOOST_TEST(contains(status.message(), "cannot unify BIGINT and STRING"));
  status = bind_status(coalesce({col("name"), col("score")}));
  BOOST_TEST(contains(status.message(), "cannot unify STRING and DOUBLE"));
  status = bind_status(when(col("id"), lit(1)));
  BOOST_TEST(contains(status.message(), "cannot apply 'WHEN' to BIGINT"));
}

BOOST_AUTO_TEST_CASE(casts_between_boolean_and_timestamp_do_not_exist) {
  Status status = bind_status(col("active").cast(Type::Timestamp));
  BOOST_TEST((status.code() == StatusCode::type_error));
  BOOST_TEST(status.message() == "cannot cast BOOLEAN to TIMESTAMP in CAST(active AS TIMESTAMP)");
  BOOST_TEST(!bind_status(col("seen").strict_cast(Type::Bool)).is_ok());
}

BOOST_AUTO_TEST_CASE(function_arguments_are_checked) {
  BOOST_TEST(contains(bind_status(coalesce({})).message(), "at least one argument"));
  BOOST_TEST(contains(bind_status(col("name").like("a\\")).message(), "escape character"));
  BOOST_TEST(contains(bind_status(date_trunc("fortnight", col("seen"))).message(),
                      "date_trunc unit 'fortnight'"));
  BOOST_TEST(contains(bind_status(to_timestamp(col("name"), "yyyy-QQ")).message(),
                      "unsupported letter 'Q'"));
  BOOST_TEST(contains(bind_status(col("id").isin({1, "x"})).message(), "cannot apply 'IN'"));
  BOOST_TEST(contains(bind_status(interval("3 parsecs") + 1).message(), "unknown unit 'parsecs'"));
  BOOST_TEST(contains(bind_status(col("seen") + interval("1 month")).message(),
                      "months and years have no fixed length"));
  BOOST_TEST(contains(bind_status(col("id") + interval("1 hour")).message(),
                      "an interval can only be added to or subtracted from a TIMESTAMP"));
  BOOST_TEST(contains(bind_status(interval("1 hour") - col("seen")).message(),
                      "an interval can only be added"));
  BOOST_TEST(
      !bind_status(substring(col("name"), 1, 2).with_children({col("name"), col("id"), lit(2)}))
           .is_ok());
}

BOOST_AUTO_TEST_CASE(infer_type_follows_spark_rules) {
  auto people_schema = people();
  const Schema& schema = *people_schema;
  auto type = [&](const Expr& e) {
    auto t = infer_type(e, schema);
    BOOST_REQUIRE_MESSAGE(t.ok(), e.to_string() + ": " + t.status().to_string());
    return *t;
  };
  BOOST_TEST((type(col("id") + 1) == Type::Int64));
  BOOST_TEST((type(col("id") + 1.0) == Type::Double));
  BOOST_TEST((type(col("id") / 2) == Type::Double));
  BOOST_TEST((type(col("id") % 2) == Type::Int64));
  BOOST_TEST((type(col("score") % 2) == Type::Double));
  BOOST_TEST((type(col("id") > col("score")) == Type::Bool));
  BOOST_TEST((type(col("seen") > "2024-01-01") == Type::Bool));
  BOOST_TEST((type(col("seen") + interval("1 hour")) == Type::Timestamp));
  BOOST_TEST((type(interval("1 hour") + col("seen")) == Type::Timestamp));
  BOOST_TEST((type(when(col("active"), col("id")).otherwise(col("score"))) == Type::Double));
  BOOST_TEST((type(coalesce({col("id"), lit(Value())})) == Type::Int64));
  BOOST_TEST((type(length(col("name"))) == Type::Int64));
  BOOST_TEST((type(concat({col("name"), col("id")})) == Type::String));
  BOOST_TEST((type(hash({col("name"), col("id")})) == Type::Int64));
  BOOST_TEST((type(year(lit("2024-05-01"))) == Type::Int64));
  BOOST_TEST((type(lit(Value()).cast(Type::Timestamp)) == Type::Timestamp));
  BOOST_TEST((type((col("id") + 1).alias("x")) == Type::Int64));
}

BOOST_AUTO_TEST_CASE(nullability_tracks_what_can_be_null) {
  auto people_schema = people();
  const Schema& schema = *people_schema;
  auto nullable = [&](const Expr& e) { return bind(e, schema).value().nullable(); };
  BOOST_TEST(!nullable(col("id")));
  BOOST_TEST(!nullable(col("id") + 1));
  BOOST_TEST(nullable(col("id") / 2));  // division by zero is NULL
  BOOST_TEST(nullable(col("score") + 1));
  BOOST_TEST(!nullable(col("score").is_null()));
  BOOST_TEST(!nullable(coalesce({col("score"), col("id")})));
  BOOST_TEST(nullable(when(col("id") > 1, col("id"))));
  BOOST_TEST(!nullable(when(col("id") > 1, col("id")).otherwise(lit(0))));
  BOOST_TEST(nullable(col("id").cast(Type::Timestamp)));  // may overflow
  BOOST_TEST(!nullable(col("id").cast(Type::String)));
  BOOST_TEST(!nullable(hash({col("name")})));
  BOOST_TEST(nullable(col("id").isin({1, Value()})));
  BOOST_TEST(!nullable(col("id").isin({1, 2})));
}

BOOST_AUTO_TEST_CASE(constant_subtrees_fold_into_literals) {
  auto schema = people();
  auto bound = bind(col("id") + (lit(2) * 3), *schema).value();
  auto batch = batch_of(schema, {{int64_t{1}, "a", 1.0, true, Timestamp{0}}});
  BOOST_TEST(evaluate(col("id") + (lit(2) * 3), *batch)[0] == Value(7));
  // A folded literal root still evaluates to a full column.
  auto constant = bind(lit(2) * 3, *schema).value();
  auto column = constant.evaluate(*batch).value();
  BOOST_TEST(column->length() == 1);
  BOOST_TEST(column->value_at(0) == Value(6));
  // A failing constant stays unfolded and fails at evaluation, not at bind.
  auto ansi = bind(lit(1) / 0, *schema, EvalOptions{true});
  BOOST_REQUIRE(ansi.ok());
  BOOST_TEST(!ansi->evaluate(*batch).ok());
  BOOST_TEST(ansi->evaluate(*RecordBatch::make_empty(schema)).ok());
}

BOOST_AUTO_TEST_CASE(select_needs_a_boolean_and_skips_null_and_false) {
  auto schema = schema_of({{"x", Type::Int64}});
  auto batch = batch_of(schema, {{1}, {Value()}, {3}, {0}, {5}});
  std::vector<int32_t> selection{99, 98};
  auto predicate = bind(col("x") > 0, *schema).value();
  BOOST_REQUIRE(predicate.select(*batch, selection).is_ok());
  const std::vector<int32_t> expected{0, 2, 4};
  BOOST_TEST(selection == expected, boost::test_tools::per_element());
  auto not_boolean = bind(col("x") + 1, *schema).value();
  Status status = not_boolean.select(*batch, selection);
  BOOST_TEST((status.code() == StatusCode::type_error));
  BOOST_TEST(contains(status.message(), "BOOLEAN predicate"));
  auto always = bind(lit(true), *schema).value();
  BOOST_REQUIRE(always.select(*batch, selection).is_ok());
  BOOST_TEST(selection.size() == 5u);
  auto never = bind(lit_null(Type::Bool), *schema).value();
  BOOST_REQUIRE(never.select(*batch, selection).is_ok());
  BOOST_TEST(selection.empty());
}

BOOST_AUTO_TEST_CASE(evaluating_a_batch_of_another_schema_fails_clearly) {
  auto bound = bind(col("name") + "", *people());
  BOOST_TEST(!bound.ok());
  auto by_id = bind(col("id") + 1, *people()).value();
  auto other = batch_of(schema_of({{"id", Type::String}}), {{"x"}});
  auto result = by_id.evaluate(*other);
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(contains(result.status().message(), "column 'id'"));
}

BOOST_AUTO_TEST_CASE(bound_expressions_are_reusable_and_describe_themselves) {
  auto bound = bind((col("id") * 2).alias("double_id"), *people()).value();
  BOOST_TEST(bound.to_string() == "(id * 2) AS double_id");
  BOOST_TEST(bound.expr().output_name() == "double_id");
  BOOST_TEST((bound.type() == Type::Int64));
  auto batch = batch_of(people(), {{int64_t{4}, "a", 1.0, true, Timestamp{0}},
                                   {int64_t{5}, Value(), Value(), Value(), Value()}});
  for (int run = 0; run < 3; ++run) {
    auto column = bound.evaluate(*batch).value();
    BOOST_TEST(column->value_at(0) == Value(8));
    BOOST_TEST(column->value_at(1) == Value(10));
  }
}
