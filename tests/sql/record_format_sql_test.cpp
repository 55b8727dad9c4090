#define BOOST_TEST_MODULE record_format_sql
#include <boost/test/unit_test.hpp>

#include "tests/sql/sql_fixture.hpp"

// from_json / from_csv / to_json / to_csv in SQL: the same plans and answers as the DataFrame
// API, and errors at their place in the text.

using namespace sluice;
using namespace sluice::testing;

namespace {

SchemaPtr events_schema() {
  return Schema::make({{"key", Type::String}, {"value", Type::String}}).value();
}

struct EventsFixture {
  Session session;
  SqlContext context{session};
  MemoryStream sql_input{session, events_schema()};
  MemoryStream api_input{session, events_schema()};

  EventsFixture() { BOOST_REQUIRE(context.register_stream("events", sql_input).is_ok()); }

  // Checks that the query and the DataFrame optimize to the same plan and give `answer`.
  void check_same(const std::string& query, const DataFrame& expected, OutputMode mode,
                  const Rows& input, const Rows& answer) {
    auto translated = context.sql(query);
    BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
    BOOST_REQUIRE_MESSAGE(expected.status().is_ok(), expected.status().to_string());
    BOOST_TEST(optimized_plan(*translated) == optimized_plan(expected));
    BOOST_TEST(translated->schema()->to_string() == expected.schema()->to_string());
    for (auto* source : {&sql_input, &api_input}) {
      const DataFrame& frame = source == &sql_input ? *translated : expected;
      Status status =
          test_stream(session, frame, mode, {add_data(*source, input), check_answer(answer)});
      BOOST_TEST(status.is_ok(), status.to_string());
    }
  }

  std::string error_of(const std::string& query) {
    auto translated = context.sql(query);
    BOOST_REQUIRE(!translated.ok());
    // The first line; the next ones show the text with a caret.
    const std::string message = translated.status().message();
    return message.substr(0, message.find('\n'));
  }
};

const Rows kReadings = {{Value("a"), Value(R"({"sensor":"s1","temp":21.5})")},
                        {Value("b"), Value(R"({"sensor":"s2","temp":18})")},
                        {Value("c"), Value(R"({"sensor":"s1","temp":"warm"})")},
                        {Value("d"), Value(R"({"sensor":"s1","temp":30.5})")}};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(record_format_sql, EventsFixture)

BOOST_AUTO_TEST_CASE(from_json_in_select_gives_flattened_columns) {
  auto expected = api_input.to_df().select(
      col("key"), from_json(col("value"), "sensor STRING, temp DOUBLE").alias("data"));
  check_same("SELECT key, from_json(value, 'sensor STRING, temp DOUBLE') AS data FROM events",
             expected, OutputMode::Append, kReadings,
             {{Value("a"), Value("s1"), Value(21.5)},
              {Value("b"), Value("s2"), Value(18.0)},
              {Value("c"), Value("s1"), Value()},
              {Value("d"), Value("s1"), Value(30.5)}});
  auto translated =
      context.sql("SELECT from_json(value, 'sensor STRING, temp DOUBLE') AS data FROM events");
  BOOST_TEST(translated->schema()->to_string() == "data.sensor STRING, data.temp DOUBLE");
}

BOOST_AUTO_TEST_CASE(parsed_fields_are_usable_in_a_cte) {
  auto expected = api_input.to_df()
                      .select(from_json(col("value"), "sensor STRING, temp DOUBLE").alias("data"))
                      .filter(col("data.temp") > 20)
                      .group_by(col("data.sensor"))
                      .agg(count().alias("n"), max(col("data.temp")).alias("hottest"));
  check_same(
      "WITH parsed AS (SELECT from_json(value, 'sensor STRING, temp DOUBLE') AS data FROM events)\n"
      "SELECT data.sensor, count(*) AS n, max(data.temp) AS hottest FROM parsed\n"
      "WHERE data.temp > 20 GROUP BY data.sensor",
      expected, OutputMode::Complete, kReadings, {{Value("s1"), Value(int64_t{2}), Value(30.5)}});
}

BOOST_AUTO_TEST_CASE(parsed_fields_are_usable_through_a_subquery_alias) {
  auto expected = api_input.to_df()
                      .select(from_json(col("value"), "sensor STRING, temp DOUBLE").alias("data"))
                      .filter(col("data.temp") > 20)
                      .group_by(col("data.sensor"))
                      .agg(count().alias("n"), max(col("data.temp")).alias("hottest"));
  check_same(
      "SELECT p.data.sensor, count(*) AS n, max(data.temp) AS hottest\n"
      "FROM (SELECT from_json(value, 'sensor STRING, temp DOUBLE') AS data FROM events) AS p\n"
      "WHERE p.data.temp > 20 GROUP BY p.data.sensor",
      expected, OutputMode::Complete, kReadings, {{Value("s1"), Value(int64_t{2}), Value(30.5)}});
}

BOOST_AUTO_TEST_CASE(options_go_in_a_map) {
  auto expected =
      api_input.to_df().select(from_csv(col("value"), "a BIGINT, b STRING, bad STRING",
                                        {{"sep", ";"}, {"columnNameOfCorruptRecord", "bad"}})
                                   .alias("r"));
  check_same(
      "SELECT from_csv(value, 'a BIGINT, b STRING, bad STRING', "
      "map('sep', ';', 'columnNameOfCorruptRecord', 'bad')) AS r FROM events",
      expected, OutputMode::Append, {{Value("k"), Value("1;x")}, {Value("k"), Value("y;2")}},
      {{Value(int64_t{1}), Value("x"), Value()}, {Value(), Value("2"), Value("y;2")}});
}

BOOST_AUTO_TEST_CASE(to_json_names_fields_by_named_struct) {
  auto expected = api_input.to_df().select(
      to_json({col("key").alias("k"), col("value").alias("v")}).alias("j"));
  check_same("SELECT to_json(named_struct('k', key, 'v', value)) AS j FROM events", expected,
             OutputMode::Append, {{Value("a"), Value("x\"y")}, {Value("b"), Value()}},
             {{Value(R"({"k":"a","v":"x\"y"})")}, {Value(R"({"k":"b"})")}});
}

BOOST_AUTO_TEST_CASE(to_json_names_fields_after_columns) {
  auto by_column = api_input.to_df().select(to_json({col("key"), col("value")}).alias("j"));
  check_same("SELECT to_json(key, value) AS j FROM events", by_column, OutputMode::Append,
             {{Value("a"), Value("1")}}, {{Value(R"({"key":"a","value":"1"})")}});
}

BOOST_AUTO_TEST_CASE(to_csv_takes_a_struct_of_columns) {
  auto csv = api_input.to_df().select(to_csv({col("key"), col("value")}).alias("c"));
  check_same("SELECT to_csv(struct(key, value)) AS c FROM events", csv, OutputMode::Append,
             {{Value("a"), Value("x,y")}}, {{Value("a,\"x,y\"")}});
}

BOOST_AUTO_TEST_CASE(errors_point_at_the_call) {
  BOOST_TEST(error_of("SELECT from_json(value, 'sensor STRNG') AS d FROM events") ==
             "line 1, column 8: from_json: cannot parse the schema 'sensor "
             "STRNG': field 'sensor' (character 8): unknown type 'STRNG'; did you mean STRING? "
             "(types: BIGINT, DOUBLE, VARCHAR, BOOLEAN, TIMESTAMP)");
  BOOST_TEST(error_of("SELECT from_json(key, value) FROM events").find("the schema of from_json") !=
             std::string::npos);
  BOOST_TEST(error_of("SELECT key FROM events WHERE from_json(value, 'a BIGINT') IS NULL")
                 .find("from_json(...) returns several columns (a): use it as a top-level item "
                       "of select or with_column") != std::string::npos);
  BOOST_TEST(error_of("SELECT from_json(value, 'a BIGINT', 'mode') FROM events")
                 .find("the options of from_json must be map('name', 'value', ...)") !=
             std::string::npos);
  BOOST_TEST(error_of("SELECT named_struct('a', key) FROM events")
                 .find("named_struct(...) is allowed only as the argument of to_json or to_csv") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
