#pragma once

// Shared by the expression tests: building small batches from rows and evaluating an
// expression into Values. Include after <boost/test/unit_test.hpp>.

#include <cmath>
#include <string>
#include <vector>

#include "core/record_batch.hpp"
#include "operators/expression.hpp"

namespace sluice::testing {

inline SchemaPtr schema_of(std::vector<Field> fields) {
  auto schema = Schema::make(std::move(fields));
  BOOST_REQUIRE_MESSAGE(schema.ok(), schema.status().to_string());
  return *schema;
}

inline RecordBatchPtr batch_of(const SchemaPtr& schema,
                               const std::vector<std::vector<Value>>& rows) {
  auto batch = RecordBatch::from_rows(schema, rows);
  BOOST_REQUIRE_MESSAGE(batch.ok(), batch.status().to_string());
  return *batch;
}

/// Returns one batch of one row and no columns, for expressions over literals only.
inline RecordBatchPtr one_row() {
  return RecordBatch::make_unchecked(Schema::make({}).value(), {}, 1);
}

/// Evaluates expr over batch; fails the test on an error.
inline std::vector<Value> evaluate(const Expr& expr, const RecordBatch& batch,
                                   const EvalOptions& options = {}) {
  auto bound = bind(expr, *batch.schema(), options);
  BOOST_REQUIRE_MESSAGE(bound.ok(), expr.to_string() + ": " + bound.status().to_string());
  auto column = bound->evaluate(batch);
  BOOST_REQUIRE_MESSAGE(column.ok(), expr.to_string() + ": " + column.status().to_string());
  BOOST_REQUIRE_EQUAL((*column)->length(), batch.num_rows());
  BOOST_REQUIRE((*column)->type() == bound->type());
  std::vector<Value> values;
  for (int64_t i = 0; i < batch.num_rows(); ++i)
    values.push_back((*column)->value_at(i));
  return values;
}

/// Evaluates an expression over literals only.
inline Value evaluate_scalar(const Expr& expr, const EvalOptions& options = {}) {
  return evaluate(expr, *one_row(), options).at(0);
}

/// Returns the error of binding or evaluating expr (ok when both succeed).
inline Status evaluation_status(const Expr& expr, const RecordBatch& batch,
                                const EvalOptions& options = {}) {
  auto bound = bind(expr, *batch.schema(), options);
  if (!bound.ok()) return bound.status();
  auto column = bound->evaluate(batch);
  return column.ok() ? Status::ok() : column.status();
}

/// Compares values as SQL results: NaN equals NaN, everything else by ==.
inline bool same_value(const Value& a, const Value& b) {
  if (a.type() == Type::Double && b.type() == Type::Double && std::isnan(a.as_double()) &&
      std::isnan(b.as_double())) {
    return true;
  }
  return a == b;
}

inline void check_values(const std::vector<Value>& actual, const std::vector<Value>& expected,
                         const std::string& what = "") {
  BOOST_REQUIRE_EQUAL(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    BOOST_TEST(same_value(actual[i], expected[i]),
               what << " row " << i << ": got " << actual[i] << " ("
                    << (actual[i].type() ? type_name(*actual[i].type()) : "null") << "), expected "
                    << expected[i] << " ("
                    << (expected[i].type() ? type_name(*expected[i].type()) : "null") << ")");
  }
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace sluice::testing
