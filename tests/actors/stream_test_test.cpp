#define BOOST_TEST_MODULE stream_test
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>
#include <sluice/testing.hpp>

using namespace sluice;
using namespace sluice::testing;
using namespace std::chrono_literals;

namespace {

SchemaPtr schema() { return Schema::make({{"k", Type::Int64}, {"v", Type::String}}).value(); }

}  // namespace

BOOST_AUTO_TEST_CASE(check_answer_sees_all_rows_across_restarts) {
  Session session;
  MemoryStream input(session, schema());
  auto df = input.to_df().filter(col("k") > 1).select(col("k"), upper(col("v")).alias("v"));
  Status result = test_stream(session, df, OutputMode::Append,
                              {add_data(input, {{1, "a"}, {2, "b"}}),
                               check_answer({{2, "B"}}),
                               stop_stream(),
                               add_data(input, {{3, "c"}}),
                               start_stream(),
                               check_answer({{2, "B"}, {3, "C"}}),
                               add_data(input, {{4, nullptr}}),
                               check_new_answer({{4, nullptr}}),
                               check_last_batch({{4, nullptr}}),
                               assert_on_query([](StreamingQuery& q) { return q.is_active(); }, "active")});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(a_wrong_expectation_names_the_action_and_both_answers) {
  Session session;
  MemoryStream input(session, schema());
  Status result = test_stream(session, input.to_df(), OutputMode::Append,
                              {add_data(input, {{1, "a"}}), check_answer({{1, "z"}})});
  BOOST_REQUIRE(!result.is_ok());
  BOOST_TEST(result.message().find("action 2") != std::string::npos, result.message());
  BOOST_TEST(result.message().find("(1, z)") != std::string::npos, result.message());
  BOOST_TEST(result.message().find("(1, a)") != std::string::npos, result.message());
}

BOOST_AUTO_TEST_CASE(manual_clock_decides_when_interval_triggers_fire) {
  Session session;
  auto clock = std::make_shared<ManualClock>(1'000'000'000);
  MemoryStream input(session, schema());
  Status result = test_stream(
      session, input.to_df(), OutputMode::Append,
      {start_stream(Trigger::ProcessingTime(10s), clock),
       add_data(input, {{1, "a"}}),
       // The first epoch runs at start; data added later waits for the next interval.
       advance_manual_clock(1000),
       assert_on_query([](StreamingQuery& q) { return q.recent_progress().size() <= 1; }, "no epoch before 10 s"),
       advance_manual_clock(9000),
       assert_on_query([](StreamingQuery& q) {
         return !q.recent_progress().empty() && q.last_progress()->num_input_rows == 1;
       }, "an epoch with the row after 10 s"),
       check_answer({{1, "a"}})});
  BOOST_TEST(result.is_ok(), result.to_string());
}

BOOST_AUTO_TEST_CASE(expect_failure_matches_the_error_of_a_failed_query) {
  Session session;
  MemoryStream input(session, schema());
  auto boom = udf("boom", [](int64_t k) -> int64_t {
    if (k == 7) throw std::runtime_error("seven");
    return k;
  });
  Status result = test_stream(session, input.to_df().select(boom(col("k")).alias("k")), OutputMode::Append,
                              {add_data(input, {{7, "x"}}), expect_failure(StatusCode::internal, "seven")});
  BOOST_TEST(result.is_ok(), result.to_string());
}
