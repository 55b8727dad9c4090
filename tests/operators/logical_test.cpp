#define BOOST_TEST_MODULE logical
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>

#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

const Value T(true), F(false), N;

// Every pair of {TRUE, FALSE, NULL}, as rows (p, q).
RecordBatchPtr truth_pairs() {
  auto schema = schema_of({{"p", Type::Bool}, {"q", Type::Bool}});
  std::vector<std::vector<Value>> rows;
  for (const Value& p : {T, F, N}) {
    for (const Value& q : {T, F, N})
      rows.push_back({p, q});
  }
  return batch_of(schema, rows);
}

}  // namespace

BOOST_AUTO_TEST_CASE(and_follows_the_three_valued_truth_table) {
  // p:        T        T  T  F  F  F  N  N  N
  // q:        T        F  N  T  F  N  T  F  N
  check_values(evaluate(col("p") && col("q"), *truth_pairs()), {T, F, N, F, F, F, N, F, N});
}

BOOST_AUTO_TEST_CASE(or_follows_the_three_valued_truth_table) {
  check_values(evaluate(col("p") || col("q"), *truth_pairs()), {T, T, T, T, F, N, T, N, N});
}

BOOST_AUTO_TEST_CASE(not_inverts_and_keeps_null) {
  check_values(evaluate(!col("p"), *truth_pairs()), {F, F, F, T, T, T, N, N, N});
}

BOOST_AUTO_TEST_CASE(logical_operators_with_literal_operands) {
  auto batch = truth_pairs();
  check_values(evaluate(col("q") && lit(Value()), *batch), {N, F, N, N, F, N, N, F, N});
  check_values(evaluate(lit_null(Type::Bool) || col("q"), *batch), {T, N, N, T, N, N, T, N, N});
  check_values(evaluate(col("q") && lit(false), *batch), {F, F, F, F, F, F, F, F, F});
  check_values(evaluate(lit(true) || col("q"), *batch), {T, T, T, T, T, T, T, T, T});
}

BOOST_AUTO_TEST_CASE(is_null_and_is_not_null_are_never_null) {
  auto batch = truth_pairs();
  check_values(evaluate(col("p").is_null(), *batch), {F, F, F, F, F, F, T, T, T});
  check_values(evaluate(col("q").is_not_null(), *batch), {T, T, F, T, T, F, T, T, F});
  check_values(evaluate(lit_null(Type::Int64).is_null(), *batch), std::vector<Value>(9, T));
}

BOOST_AUTO_TEST_CASE(in_list_follows_sql_null_semantics) {
  auto schema = schema_of({{"x", Type::Int64}});
  auto batch = batch_of(schema, {{1}, {2}, {Value()}});
  check_values(evaluate(col("x").isin({1, 3}), *batch), {T, F, N});
  check_values(evaluate(col("x").isin({1, Value()}), *batch), {T, N, N});
  check_values(evaluate(col("x").isin({}), *batch), {F, F, N});
  check_values(evaluate(col("x").isin({1.0, 2.5}), *batch), {T, F, N});
}

BOOST_AUTO_TEST_CASE(in_list_works_for_every_type) {
  auto schema = schema_of(
      {{"b", Type::Bool}, {"d", Type::Double}, {"s", Type::String}, {"t", Type::Timestamp}});
  auto batch = batch_of(schema, {{true, std::nan(""), "é", Timestamp{0}},
                                 {false, -0.0, "", Timestamp{1'000'000}},
                                 {Value(), 2.0, "x", Value()}});
  check_values(evaluate(col("b").isin({true}), *batch), {T, F, N});
  check_values(evaluate(col("d").isin({std::nan(""), 0.0}), *batch), {T, T, F});
  check_values(evaluate(col("s").isin({"é", ""}), *batch), {T, T, F});
  check_values(evaluate(col("t").isin({"1970-01-01 00:00:01"}), *batch), {F, T, N});
}

BOOST_AUTO_TEST_CASE(large_in_lists_use_the_same_semantics) {
  auto schema = schema_of({{"x", Type::Int64}});
  std::vector<Value> list;
  for (int64_t v = 0; v < 100; v += 3)
    list.emplace_back(v);
  std::vector<std::vector<Value>> rows;
  std::vector<Value> expected;
  for (int64_t v = -5; v < 110; ++v) {
    rows.push_back({v});
    expected.emplace_back(v >= 0 && v < 100 && v % 3 == 0);
  }
  check_values(evaluate(col("x").isin(list), *batch_of(schema, rows)), expected);
}

BOOST_AUTO_TEST_CASE(case_when_takes_the_first_true_branch) {
  auto schema = schema_of({{"x", Type::Int64}, {"flag", Type::Bool}});
  auto batch = batch_of(schema, {{5, true}, {-3, true}, {0, Value()}, {Value(), false}});
  Expr sign = when(col("x") > 0, lit("pos")).when(col("x") < 0, lit("neg")).otherwise(lit("zero"));
  check_values(evaluate(sign, *batch), {Value("pos"), Value("neg"), Value("zero"), Value("zero")});
  // Overlapping branches: the first true wins; NULL conditions count as not true.
  Expr first = when(col("x") > -10, col("x") * 10).when(col("flag"), lit(1));
  check_values(evaluate(first, *batch), {Value(50), Value(-30), Value(0), N});
  // No ELSE: NULL.
  check_values(evaluate(when(col("flag"), col("x")), *batch), {Value(5), Value(-3), N, N});
}

BOOST_AUTO_TEST_CASE(case_when_unifies_numeric_branches_to_double) {
  auto schema = schema_of({{"x", Type::Int64}});
  auto batch = batch_of(schema, {{1}, {2}});
  Expr e = when(col("x") == 1, col("x")).otherwise(lit(0.5));
  check_values(evaluate(e, *batch), {Value(1.0), Value(0.5)});
  check_values(evaluate(when(col("x") == 1, lit(Value())).otherwise(col("x")), *batch),
               {N, Value(2)});
}

BOOST_AUTO_TEST_CASE(case_when_handles_every_result_type) {
  auto schema = schema_of({{"k", Type::Int64},
                           {"b", Type::Bool},
                           {"d", Type::Double},
                           {"s", Type::String},
                           {"t", Type::Timestamp}});
  auto batch = batch_of(schema, {{1, true, 1.5, "one", Timestamp{1}},
                                 {2, Value(), Value(), Value(), Value()},
                                 {3, false, -2.5, "three", Timestamp{3}}});
  for (const char* name : {"b", "d", "s", "t", "k"}) {
    Expr e = when(col("k") == 1, col(name)).when(col("k") == 2, col(name)).otherwise(col(name));
    auto expected = evaluate(col(name), *batch);
    check_values(evaluate(e, *batch), expected, name);
    Expr swapped =
        when(col("k") != 3, lit_null(batch->schema()->field(batch->schema()->find(name)).type))
            .otherwise(col(name));
    check_values(evaluate(swapped, *batch), {N, N, expected[2]}, name);
  }
}

BOOST_AUTO_TEST_CASE(coalesce_returns_the_first_non_null) {
  auto schema = schema_of({{"a", Type::Int64}, {"b", Type::Int64}, {"s", Type::String}});
  auto batch = batch_of(schema, {{1, 10, "x"}, {Value(), 20, Value()}, {Value(), Value(), "z"}});
  check_values(evaluate(coalesce({col("a"), col("b")}), *batch), {Value(1), Value(20), N});
  check_values(evaluate(coalesce({col("a"), col("b"), lit(0)}), *batch),
               {Value(1), Value(20), Value(0)});
  check_values(evaluate(coalesce({col("a"), lit(0.5)}), *batch),
               {Value(1.0), Value(0.5), Value(0.5)});
  check_values(evaluate(coalesce({col("s"), lit("none")}), *batch),
               {Value("x"), Value("none"), Value("z")});
  check_values(evaluate(coalesce({lit(Value()), col("b")}), *batch), {Value(10), Value(20), N});
}

BOOST_AUTO_TEST_CASE(ansi_errors_count_only_rows_a_branch_takes) {
  auto schema = schema_of({{"a", Type::Int64}, {"b", Type::Int64}});
  auto batch = batch_of(schema, {{6, 3}, {6, 0}, {Value(), 0}});
  const EvalOptions ansi{true};
  Expr guarded = when(col("b") != 0, col("a") / col("b")).otherwise(lit(-1.0));
  check_values(evaluate(guarded, *batch, ansi), {Value(2.0), Value(-1.0), Value(-1.0)});
  Expr unguarded = when(col("b") == 0, lit(-1.0)).otherwise(col("a") / col("b"));
  check_values(evaluate(unguarded, *batch, ansi), {Value(2.0), Value(-1.0), Value(-1.0)});
  // AND and OR skip the right side where the left decides.
  check_values(evaluate(col("b") != 0 && col("a") / col("b") > 1, *batch, ansi), {T, F, F});
  check_values(evaluate(col("b") == 0 || col("a") % col("b") == 0, *batch, ansi), {T, T, T});
  check_values(evaluate(coalesce({col("b").cast(Type::Double), col("a") / col("b")}), *batch, ansi),
               {Value(3.0), Value(0.0), Value(0.0)});
  // Unguarded division still fails.
  BOOST_TEST(!evaluation_status(col("a") / col("b"), *batch, ansi).is_ok());
  BOOST_TEST(!evaluation_status(when(col("a") > 0, col("a") / col("b")), *batch, ansi).is_ok());
}

BOOST_AUTO_TEST_CASE(random_boolean_trees_match_a_row_reference) {
  std::mt19937_64 random(5);
  auto schema = schema_of({{"p", Type::Bool}, {"q", Type::Bool}, {"r", Type::Bool}});
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < 200; ++i) {
    std::vector<Value> row;
    for (int c = 0; c < 3; ++c)
      row.push_back(random() % 3 == 0 ? N : Value(random() % 2 == 0));
    rows.push_back(row);
  }
  auto batch = batch_of(schema, rows);
  auto and3 = [](const Value& a, const Value& b) {
    if (a == F || b == F) return F;
    if (a.is_null() || b.is_null()) return N;
    return T;
  };
  auto or3 = [](const Value& a, const Value& b) {
    if (a == T || b == T) return T;
    if (a.is_null() || b.is_null()) return N;
    return F;
  };
  std::vector<Value> expected;
  for (const auto& row : rows) {
    const Value not_r = row[2].is_null() ? N : Value(!row[2].as_bool());
    expected.push_back(or3(and3(row[0], row[1]), and3(not_r, or3(row[0], row[2]))));
  }
  Expr e = (col("p") && col("q")) || (!col("r") && (col("p") || col("r")));
  check_values(evaluate(e, *batch), expected);
}
