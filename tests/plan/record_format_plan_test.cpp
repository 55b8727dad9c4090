#define BOOST_TEST_MODULE record_format_plan
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>
#include <sluice/testing.hpp>

#include "plan/optimizer.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

SchemaPtr value_schema() {
  return Schema::make({{"key", Type::String}, {"value", Type::String}}).value();
}

const char* kSchema = "sensor STRING, temp DOUBLE, hum DOUBLE";

std::string optimized(const DataFrame& frame) {
  BOOST_REQUIRE_MESSAGE(frame.status().is_ok(), frame.status().to_string());
  auto plan = Optimizer().optimize(*frame.plan());
  BOOST_REQUIRE_MESSAGE(plan.ok(), plan.status().to_string());
  return (*plan)->to_string();
}

struct StreamFixture {
  Session session;
  MemoryStream input{session, value_schema()};
  DataFrame parsed() const {
    return input.to_df().select(col("key"), from_json(col("value"), kSchema).alias("data"));
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(record_format_plans, StreamFixture)

BOOST_AUTO_TEST_CASE(select_expands_a_call_into_one_column_per_field) {
  BOOST_TEST(parsed().schema()->to_string() ==
             "key STRING, data.sensor STRING, data.temp DOUBLE, data.hum DOUBLE");
  BOOST_TEST(input.to_df().select(from_json(col("value"), "a BIGINT")).schema()->to_string() ==
             "a BIGINT");
  BOOST_TEST(input.to_df()
                 .with_column("r", from_csv(col("value"), "a BIGINT, b STRING"))
                 .schema()
                 ->to_string() == "key STRING, value STRING, r.a BIGINT, r.b STRING");
  // The flattened columns read like any others.
  auto hot = parsed().filter(col("data.temp") > 20.0).select(col("data.sensor").alias("sensor"));
  BOOST_TEST(hot.schema()->to_string() == "sensor STRING");
}

BOOST_AUTO_TEST_CASE(a_bad_schema_or_a_call_outside_select_fails_at_analysis) {
  auto bad = input.to_df().select(from_json(col("value"), "sensor STRING temp DOUBLE"));
  BOOST_TEST(bad.status().message() ==
             "select: from_json: cannot parse the schema 'sensor STRING temp DOUBLE': expected ',' "
             "or the end after the type of field 'sensor', found 'temp' at character 15");
  auto filtered = input.to_df().filter(from_json(col("value"), "a BIGINT").is_not_null());
  BOOST_TEST(
      filtered.status().message().find("from_json(...) returns several columns (a): use "
                                       "it as a top-level item of select or with_column") == 0u,
      filtered.status().message());
  auto nested = input.to_df().select(coalesce({from_json(col("value"), "a BIGINT")}));
  BOOST_TEST(!nested.status().is_ok());
  auto numbers = input.to_df().select(from_json(col("key") == "x", "a BIGINT"));
  BOOST_TEST(numbers.status().message() ==
             "from_json reads a STRING, got BOOLEAN in from_json((key = 'x'), 'a BIGINT')");
}

BOOST_AUTO_TEST_CASE(filters_on_parsed_fields_stay_above_the_parse_and_unread_fields_go) {
  auto frame = parsed()
                   .filter(col("data.temp") > 20.0 && col("key") == "k1")
                   .select(col("data.sensor"), col("key"));
  BOOST_TEST(optimized(frame) ==
             "Project [data.sensor, key]\n"
             "+- Filter (data.temp > 20.0)\n"
             "   +- Project [key, from_json(value, '" +
                 std::string(kSchema) + "').sensor AS data.sensor, from_json(value, '" + kSchema +
                 "').temp AS data.temp]\n"
                 "      +- Filter (key = 'k1')\n"
                 "         +- StreamingRelation memory, [key, value], PushedFilters: [(key = "
                 "'k1')]\n");
}

BOOST_AUTO_TEST_CASE(fields_are_not_merged_into_larger_expressions) {
  // Collapsing would put two parses of the record into one projection.
  auto frame = parsed().select((col("data.temp") * 2.0).alias("t2"), col("data.sensor"));
  BOOST_TEST(optimized(frame) ==
             "Project [(data.temp * 2.0) AS t2, data.sensor]\n"
             "+- Project [from_json(value, '" +
                 std::string(kSchema) + "').sensor AS data.sensor, from_json(value, '" + kSchema +
                 "').temp AS data.temp]\n"
                 "   +- StreamingRelation memory, [value]\n");
  // Plain column reads do collapse into the parse.
  auto renamed = parsed().select(col("data.hum").alias("humidity"));
  BOOST_TEST(optimized(renamed) == "Project [from_json(value, '" + std::string(kSchema) +
                                       "').hum AS humidity]\n"
                                       "+- StreamingRelation memory, [value]\n");
}

BOOST_AUTO_TEST_CASE(a_streaming_query_parses_filters_and_aggregates_json) {
  auto frame = parsed()
                   .filter(col("data.temp") > 20.0)
                   .group_by(col("data.sensor"))
                   .agg(count().alias("n"), avg(col("data.temp")).alias("avg_temp"),
                        max(col("data.hum")).alias("max_hum"));
  Rows first = {{Value("k"), Value(R"({"sensor":"s1","temp":21.0,"hum":0.5})")},
                {Value("k"), Value(R"({"sensor":"s2","temp":19.5})")},
                {Value("k"), Value(R"({"sensor":"s1","temp":25,"hum":0.25,"extra":[1]})")},
                {Value("k"), Value(R"({"sensor":"s3","temp":"hot"})")},
                {Value("k"), Value("not json")},
                {Value("k"), Value()}};
  Rows second = {{Value("k"), Value(R"({"temp":30,"sensor":"s2"})")},
                 {Value("k"), Value(R"({"sensor":"s1","temp":null})")},
                 {Value("k"), Value(R"({"sensor":null,"temp":22.5,"hum":1})")}};
  Status status =
      test_stream(session, frame, OutputMode::Complete,
                  {add_data(input, first),
                   check_answer({{Value("s1"), Value(int64_t{2}), Value(23.0), Value(0.5)}}),
                   add_data(input, second),
                   check_answer({{Value("s1"), Value(int64_t{2}), Value(23.0), Value(0.5)},
                                 {Value("s2"), Value(int64_t{1}), Value(30.0), Value()},
                                 {Value(), Value(int64_t{1}), Value(22.5), Value(1.0)}})});
  BOOST_TEST(status.is_ok(), status.to_string());
}

BOOST_AUTO_TEST_CASE(a_failfast_parse_stops_the_query_naming_the_record) {
  auto frame = input.to_df().select(
      from_json(col("value"), "sensor STRING, temp DOUBLE", {{"mode", "FAILFAST"}}).alias("d"));
  Status status = test_stream(
      session, frame, OutputMode::Append,
      {add_data(input, {{Value("k"), Value(R"({"sensor":"s1","temp":"hot"})")}}),
       expect_failure(StatusCode::invalid_argument,
                      R"(from_json: malformed record '{"sensor":"s1","temp":"hot"}' (row 1 of )"
                      R"(the batch): field 'temp': a JSON string is not a DOUBLE)")});
  BOOST_TEST(status.is_ok(), status.to_string());
}

BOOST_AUTO_TEST_CASE(to_json_writes_records_from_parsed_fields) {
  auto frame =
      parsed().select(col("key"), to_json({col("data.sensor").alias("sensor"),
                                           (col("data.temp") * 2.0).alias("t2"), col("data.hum")})
                                      .alias("value"));
  Status status = test_stream(
      session, frame, OutputMode::Append,
      {add_data(input, {{Value("a"), Value(R"({"sensor":"s\"1","temp":1.25,"hum":0.5})")},
                        {Value("b"), Value(R"({"temp":2})")},
                        {Value("c"), Value("[]")}}),
       check_answer({{Value("a"), Value(R"({"sensor":"s\"1","t2":2.5,"data.hum":0.5})")},
                     {Value("b"), Value(R"({"t2":4})")},
                     {Value("c"), Value("{}")}})});
  BOOST_TEST(status.is_ok(), status.to_string());
}

BOOST_AUTO_TEST_SUITE_END()
