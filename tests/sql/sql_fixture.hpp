#pragma once

#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>
#include <sluice/testing.hpp>

#include <string>
#include <vector>

#include "plan/optimizer.hpp"
#include "plan/physical_plan.hpp"
#include "sql/sql_context.hpp"

namespace sluice::testing {

inline SchemaPtr bids_schema() {
  return Schema::make({{"auction", Type::Int64},
                       {"price", Type::Int64},
                       {"bidder", Type::String},
                       {"ts", Type::Timestamp}})
      .value();
}

inline Value at_second(int64_t seconds) {
  return Value(Timestamp{seconds * 1'000'000});
}

/// Renders what the optimizer and the physical planner make of a DataFrame.
inline std::string optimized_plan(const DataFrame& frame) {
  if (!frame.status().is_ok()) return "error: " + frame.status().to_string();
  auto optimized = Optimizer().optimize(*frame.plan());
  if (!optimized.ok()) return "error: " + optimized.status().to_string();
  auto physical = plan_physical(*optimized);
  if (!physical.ok())
    return (*optimized)->to_string(true) + "error: " + physical.status().to_string();
  return (*optimized)->to_string(true) + physical->to_string();
}

/// A session with a `bids` stream for SQL and a twin stream for the same query written with
/// the DataFrame API, fed the same rows.
struct BidsFixture {
  Session session;
  SqlContext context{session};
  MemoryStream sql_input{session, bids_schema()};
  MemoryStream api_input{session, bids_schema()};

  BidsFixture() { BOOST_REQUIRE(context.register_stream("bids", sql_input).is_ok()); }

  /// Returns the DataFrame API's view of the input.
  DataFrame bids() const { return api_input.to_df(); }

  /// Checks that `query` and `expected` optimize to the same plan and, fed `batches` one
  /// epoch each, both give `answer` in `mode`.
  void check_same(const std::string& query, const DataFrame& expected, OutputMode mode,
                  const std::vector<Rows>& batches, const Rows& answer) {
    auto translated = context.sql(query);
    BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
    BOOST_REQUIRE_MESSAGE(expected.status().is_ok(), expected.status().to_string());
    BOOST_TEST(optimized_plan(*translated) == optimized_plan(expected));
    BOOST_TEST(translated->schema()->to_string() == expected.schema()->to_string());
    run(*translated, sql_input, mode, batches, answer, "SQL");
    run(expected, api_input, mode, batches, answer, "DataFrame");
  }

  void run(const DataFrame& frame, MemoryStream& input, OutputMode mode,
           const std::vector<Rows>& batches, const Rows& answer, const std::string& which) {
    std::vector<StreamAction> actions;
    for (const auto& batch : batches) {
      actions.push_back(add_data(input, batch));
      actions.push_back(process_all_available());
    }
    actions.push_back(check_answer(answer));
    Status result = test_stream(session, frame, mode, actions);
    BOOST_TEST(result.is_ok(), which << ": " << result.to_string());
  }
};

}  // namespace sluice::testing
