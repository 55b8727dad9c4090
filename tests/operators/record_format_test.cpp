#define BOOST_TEST_MODULE record_format
#include <boost/test/unit_test.hpp>

#include <random>

#include "operators/record_format.hpp"
#include "operators/stateless_stage.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

using Rows = std::vector<std::vector<Value>>;

constexpr int64_t kSecond = 1'000'000;
// 2024-01-01 00:00:00 UTC in seconds since the epoch.
constexpr int64_t k2024 = 1'704'067'200;

Value at(int64_t seconds, int64_t micros = 0) {
  return Value(Timestamp{seconds * kSecond + micros});
}

SchemaPtr value_schema() {
  return schema_of({{"value", Type::String}});
}

// Runs a projection over one STRING column "value" the way a query does: from_json / from_csv
// items expanded into their fields, the fields of one call parsed together.
Result<RecordBatchPtr> select_values(const std::vector<Value>& values, std::vector<Expr> items) {
  Rows rows;
  for (const auto& value : values)
    rows.push_back({value});
  SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr input, RecordBatch::from_rows(value_schema(), rows));
  std::vector<Expr> expanded;
  for (const auto& item : items) {
    SLUICE_ASSIGN_OR_RETURN(auto fields, expand_record_columns(item));
    expanded.insert(expanded.end(), fields.begin(), fields.end());
  }
  SLUICE_ASSIGN_OR_RETURN(auto stage,
                          StatelessStage::make(value_schema(), {StatelessStep::project(expanded)}));
  return stage->process(input);
}

Rows select_rows(const std::vector<Value>& values, std::vector<Expr> items) {
  auto batch = select_values(values, std::move(items));
  BOOST_REQUIRE_MESSAGE(batch.ok(), batch.status().to_string());
  return (*batch)->to_rows();
}

std::string select_error(const std::vector<Value>& values, std::vector<Expr> items) {
  auto batch = select_values(values, std::move(items));
  BOOST_REQUIRE_MESSAGE(!batch.ok(), "expected an error");
  return batch.status().message();
}

std::string column_names(const std::vector<Value>& values, std::vector<Expr> items) {
  auto batch = select_values(values, std::move(items));
  BOOST_REQUIRE_MESSAGE(batch.ok(), batch.status().to_string());
  std::string names;
  for (const auto& field : (*batch)->schema()->fields())
    names += (names.empty() ? "" : ", ") + field.name;
  return names;
}

// Evaluates a one-row expression over named columns.
std::vector<Value> evaluate_rows(const Expr& expr, const SchemaPtr& schema, const Rows& rows) {
  return evaluate(expr, *batch_of(schema, rows));
}

const char* kSensorSchema = "sensor STRING, temp DOUBLE, count BIGINT, ok BOOLEAN, ts TIMESTAMP";

}  // namespace

BOOST_AUTO_TEST_SUITE(from_json_parsing)

BOOST_AUTO_TEST_CASE(reads_every_type_into_prefixed_columns) {
  const Expr data = from_json(col("value"), kSensorSchema).alias("data");
  BOOST_TEST(column_names({Value("{}")}, {data}) ==
             "data.sensor, data.temp, data.count, data.ok, data.ts");
  Rows rows = select_rows(
      {Value(R"({"sensor":"s1","temp":21.5,"count":3,"ok":true,"ts":"2024-01-01T10:00:00Z"})"),
       Value(R"({"ts":"2024-01-01 00:00:01.25","ok":false,"count":-7,"temp":4,"sensor":""})")},
      {data});
  Rows expected = {
      {Value("s1"), Value(21.5), Value(int64_t{3}), Value(true), at(k2024 + 36000)},
      {Value(""), Value(4.0), Value(int64_t{-7}), Value(false), at(k2024 + 1, 250000)}};
  BOOST_TEST(rows == expected);
}

BOOST_AUTO_TEST_CASE(without_an_alias_the_columns_take_the_field_names) {
  BOOST_TEST(column_names({Value("{}")}, {from_json(col("value"), "a BIGINT, b STRING")}) ==
             "a, b");
}

BOOST_AUTO_TEST_CASE(missing_keys_json_nulls_null_and_empty_inputs_are_null) {
  Rows rows =
      select_rows({Value(R"({"temp":null})"), Value("{}"), Value(), Value(""), Value("  ")},
                  {from_json(col("value"), "sensor STRING, temp DOUBLE, _corrupt_record STRING")});
  for (const auto& row : rows) {
    BOOST_TEST(row == (std::vector<Value>{Value(), Value(), Value()}));
  }
  BOOST_TEST(rows.size() == 5u);
}

BOOST_AUTO_TEST_CASE(extra_keys_are_ignored_and_other_json_is_kept_as_text_for_strings) {
  Rows rows = select_rows(
      {Value(R"({"extra":{"deep":[1,{"x":2}]},"sensor":{"id": 1, "tags":["a","b"]},"temp":7})"),
       Value(R"({"sensor":12.50 ,"temp":1e2})"), Value(R"({"sensor":[true, null],"temp":-0.5})"),
       Value(R"({"sensor":false})")},
      {from_json(col("value"), "sensor STRING, temp DOUBLE")});
  Rows expected = {{Value(R"({"id": 1, "tags":["a","b"]})"), Value(7.0)},
                   {Value("12.50"), Value(100.0)},
                   {Value("[true, null]"), Value(-0.5)},
                   {Value("false"), Value()}};
  BOOST_TEST(rows == expected);
}

BOOST_AUTO_TEST_CASE(escaped_strings_and_unicode_are_unescaped_to_utf8) {
  Rows rows = select_rows(
      {Value(R"({"s":"line\nbreak \"quoted\" back\\slash tab\t \u00e9 \ud83d\ude00 ü 日本"})"),
       Value("{\"s\":\"raw \xc3\xa9 caf\xc3\xa9\"}")},
      {from_json(col("value"), "s STRING")});
  Rows expected = {
      {Value("line\nbreak \"quoted\" back\\slash tab\t \xc3\xa9 \xf0\x9f\x98\x80 ü 日本")},
      {Value("raw é café")}};
  BOOST_TEST(rows == expected);
}

BOOST_AUTO_TEST_CASE(keys_are_matched_after_unescaping) {
  Rows rows = select_rows({Value(R"({"caf\u00e9":1,"a\"b":2})")},
                          {from_json(col("value"), "`café` BIGINT, `a\"b` BIGINT")});
  BOOST_TEST(rows == (Rows{{Value(int64_t{1}), Value(int64_t{2})}}));
}

BOOST_AUTO_TEST_CASE(a_value_of_the_wrong_type_is_null_and_its_record_is_corrupt) {
  const std::string text = R"({"sensor":"s1","temp":"hot","count":1.5,"ok":"yes"})";
  Rows rows = select_rows({Value(text), Value(R"({"sensor":"s2","temp":3})")},
                          {from_json(col("value"),
                                     "sensor STRING, temp DOUBLE, count BIGINT, ok BOOLEAN, "
                                     "_corrupt_record STRING")
                               .alias("d")});
  Rows expected = {{Value("s1"), Value(), Value(), Value(), Value(text)},
                   {Value("s2"), Value(3.0), Value(), Value(), Value()}};
  BOOST_TEST(rows == expected);
}

BOOST_AUTO_TEST_CASE(malformed_json_gives_null_fields_and_the_text_as_corrupt_record) {
  const std::vector<std::string> bad = {R"({"temp": 1)",          "not json",      "[1,2]", "42",
                                        R"({"temp":1} trailing)", R"({"temp":1}})"};
  std::vector<Value> values;
  for (const auto& text : bad)
    values.push_back(Value(text));
  Rows rows = select_rows(values, {from_json(col("value"), "temp DOUBLE, broken STRING",
                                             {{"columnNameOfCorruptRecord", "broken"}})});
  BOOST_REQUIRE(rows.size() == bad.size());
  for (size_t i = 0; i < bad.size(); ++i) {
    BOOST_TEST(rows[i] == (std::vector<Value>{Value(), Value(bad[i])}), bad[i]);
  }
}

BOOST_AUTO_TEST_CASE(failfast_names_the_record_and_the_problem) {
  const Expr strict = from_json(col("value"), "sensor STRING, temp DOUBLE", {{"mode", "FAILFAST"}});
  BOOST_TEST(select_error({Value(R"({"temp":1})"), Value(R"({"temp":"hot"})")}, {strict}) ==
             R"(from_json: malformed record '{"temp":"hot"}' (row 2 of the batch): field 'temp': )"
             "a JSON string is not a DOUBLE (mode FAILFAST; use mode PERMISSIVE to read such "
             "records as NULL)");
  const std::string long_text = R"({"sensor":")" + std::string(80, 'x') + R"(", "temp": })";
  BOOST_TEST(select_error({Value(long_text)}, {strict}) ==
             "from_json: malformed record '{\"sensor\":\"" + std::string(49, 'x') +
                 "...' (row 1 of the batch): malformed JSON: The JSON document has an improper "
                 "structure: missing or superfluous commas, braces, missing keys, etc. (mode "
                 "FAILFAST; use mode PERMISSIVE to read such records as NULL)");
}

BOOST_AUTO_TEST_CASE(failfast_checks_fields_the_query_does_not_read) {
  // Only data.sensor is selected, yet the bad temp fails the query.
  auto call = from_json(col("value"), "sensor STRING, temp DOUBLE", {{"mode", "FAILFAST"}});
  auto sensor = *as_record_field(expand_record_columns(call)->front());
  auto bound = BoundRecordFields::bind(sensor.call, {"sensor"}, *value_schema());
  BOOST_REQUIRE(bound.ok());
  auto batch = batch_of(value_schema(), {{Value(R"({"sensor":"a","temp":"hot"})")}});
  auto result = bound->evaluate(*batch);
  BOOST_TEST(!result.ok());
  // PERMISSIVE reads only the sensor.
  auto lenient = from_json(col("value"), "sensor STRING, temp DOUBLE");
  auto only_sensor = BoundRecordFields::bind(lenient, {"sensor"}, *value_schema());
  BOOST_REQUIRE(only_sensor.ok());
  auto columns = only_sensor->evaluate(*batch);
  BOOST_REQUIRE(columns.ok());
  BOOST_TEST((*columns)[0]->value_at(0) == Value("a"));
}

BOOST_AUTO_TEST_CASE(timestamps_read_iso_strings_numbers_as_seconds_and_patterns) {
  Rows rows = select_rows(
      {Value(R"({"t":"2024-01-01T00:00:00.123456Z"})"), Value(R"({"t":"2024-01-01 10:30"})"),
       Value(R"({"t":1704067200})"), Value(R"({"t":1704067200.5})"), Value(R"({"t":"01/02/2024"})"),
       Value(R"({"t":true})")},
      {from_json(col("value"), "t TIMESTAMP")});
  Rows expected = {{at(k2024, 123456)}, {at(k2024 + 37800)}, {at(k2024)},
                   {at(k2024, 500000)}, {Value()},           {Value()}};
  BOOST_TEST(rows == expected);
  Rows patterned =
      select_rows({Value(R"({"t":"02/01/2024 07"})")},
                  {from_json(col("value"), "t TIMESTAMP", {{"timestampFormat", "dd/MM/yyyy HH"}})});
  BOOST_TEST(patterned == (Rows{{at(k2024 + 86400 + 7 * 3600)}}));
}

BOOST_AUTO_TEST_CASE(numbers_convert_only_when_exact) {
  Rows rows =
      select_rows({Value(R"({"i":9007199254740993,"d":3})"), Value(R"({"i":1.0,"d":-2.5e-3})")},
                  {from_json(col("value"), "i BIGINT, d DOUBLE")});
  Rows expected = {{Value(int64_t{9007199254740993}), Value(3.0)}, {Value(), Value(-0.0025)}};
  BOOST_TEST(rows == expected);
}

BOOST_AUTO_TEST_CASE(a_field_can_be_read_alone_in_any_expression) {
  // The planner keeps fields as top-level projections, but a field bound alone still works.
  const Expr temp = expand_record_columns(from_json(col("value"), "temp DOUBLE"))->front();
  BOOST_TEST(temp.to_string() == "from_json(value, 'temp DOUBLE').temp AS temp");
  auto values = evaluate(coalesce({temp, lit(0.0)}) * 2.0,
                         *batch_of(value_schema(), {{Value(R"({"temp":1.5})")}, {Value("x")}}));
  BOOST_TEST(values == (std::vector<Value>{Value(3.0), Value(0.0)}));
}

BOOST_AUTO_TEST_CASE(a_bare_call_is_refused_outside_select) {
  auto bound =
      bind(from_json(col("value"), "sensor STRING, temp DOUBLE").is_null(), *value_schema());
  BOOST_REQUIRE(!bound.ok());
  BOOST_TEST(bound.status().message() ==
             "from_json(...) returns several columns (sensor, temp): use it as a top-level item "
             "of select or with_column, as in select(from_json(...).alias(\"data\")), and read a "
             "field with col(\"data.<field>\"), in from_json(value, 'sensor STRING, temp DOUBLE')");
}

BOOST_AUTO_TEST_CASE(the_argument_must_be_a_string) {
  auto numbers = schema_of({{"value", Type::Int64}});
  auto field = expand_record_columns(from_json(col("value"), "a BIGINT"))->front();
  auto bound = bind(field, *numbers);
  BOOST_REQUIRE(!bound.ok());
  BOOST_TEST(bound.status().message() ==
             "from_json reads a STRING, got BIGINT in from_json(value, 'a BIGINT')");
}

BOOST_AUTO_TEST_CASE(options_are_checked) {
  auto error = [](RecordFormatOptions options) {
    auto expanded = expand_record_columns(from_json(col("value"), "a BIGINT", std::move(options)));
    BOOST_REQUIRE(!expanded.ok());
    return expanded.status().message();
  };
  BOOST_TEST(error({{"mdoe", "FAILFAST"}}) ==
             "unknown option 'mdoe' for from_json; did you mean 'mode'? (options: mode, "
             "columnNameOfCorruptRecord, timestampFormat)");
  BOOST_TEST(error({{"mode", "DROPMALFORMED"}}) ==
             "from_json option 'mode' must be PERMISSIVE or FAILFAST, got 'DROPMALFORMED' (a "
             "function cannot drop rows; filter on the corrupt-record column instead)");
  BOOST_TEST(error({{"timestampFormat", "yyyy-QQ"}}).find("unsupported letter 'Q'") !=
             std::string::npos);
  auto corrupt = expand_record_columns(from_json(col("value"), "a BIGINT, _corrupt_record BIGINT"));
  BOOST_TEST(corrupt.status().message() ==
             "from_json: field '_corrupt_record' receives malformed records and must be STRING, "
             "not BIGINT");
}

BOOST_AUTO_TEST_CASE(one_parse_serves_many_rows_near_the_end_of_the_data_buffer) {
  // Records of every length up to past the simdjson padding, so some sit at the buffer's end.
  std::vector<Value> values;
  Rows expected;
  for (int i = 0; i < 300; ++i) {
    const std::string name(static_cast<size_t>(i % 97), 'n');
    values.push_back(Value(R"({"id":)" + std::to_string(i) + R"(,"name":")" + name + "\"}"));
    expected.push_back({Value(int64_t{i}), Value(name)});
  }
  BOOST_TEST(select_rows(values, {from_json(col("value"), "id BIGINT, name STRING")}) == expected);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ddl_schemas)

BOOST_AUTO_TEST_CASE(parses_sql_type_names) {
  auto schema = parse_ddl_schema(
      " sensor STRING, temp double precision,n: BIGINT , `odd name` VARCHAR(10), ts TIMESTAMP,"
      "ok bool");
  BOOST_REQUIRE_MESSAGE(schema.ok(), schema.status().to_string());
  BOOST_TEST((*schema)->to_string() ==
             "sensor STRING, temp DOUBLE, n BIGINT, odd name STRING, ts TIMESTAMP, ok BOOLEAN");
  BOOST_TEST(schema_to_ddl(**schema) ==
             "sensor STRING, temp DOUBLE, n BIGINT, `odd name` STRING, ts TIMESTAMP, ok BOOLEAN");
  BOOST_TEST((*parse_ddl_schema(schema_to_ddl(**schema)))->to_string() == (*schema)->to_string());
}

BOOST_AUTO_TEST_CASE(errors_name_the_bad_token) {
  auto error = [](std::string_view ddl) {
    auto schema = parse_ddl_schema(ddl);
    BOOST_REQUIRE(!schema.ok());
    return schema.status().message();
  };
  BOOST_TEST(error("sensor STRNG, temp DOUBLE") ==
             "cannot parse the schema 'sensor STRNG, temp DOUBLE': field 'sensor' (character 8): "
             "unknown type 'STRNG'; did you mean STRING? (types: BIGINT, DOUBLE, VARCHAR, "
             "BOOLEAN, TIMESTAMP)");
  BOOST_TEST(error("a STRING b DOUBLE") ==
             "cannot parse the schema 'a STRING b DOUBLE': expected ',' or the end after the type "
             "of field 'a', found 'b' at character 10");
  BOOST_TEST(error("a STRING,, b DOUBLE") ==
             "cannot parse the schema 'a STRING,, b DOUBLE': expected a field name, found ',' at "
             "character 10");
  BOOST_TEST(error("a STRING, temp") ==
             "cannot parse the schema 'a STRING, temp': field 'temp' (character 11) has no type, "
             "found the end of the text");
  BOOST_TEST(error("d DATE") ==
             "cannot parse the schema 'd DATE': field 'd' (character 3): type DATE is not "
             "supported; use TIMESTAMP (with date_trunc('day', ...))");
  BOOST_TEST(error("  ") ==
             "cannot parse the schema '  ': the schema is empty; write it as 'name TYPE, ...'");
  BOOST_TEST(error("a BIGINT, a STRING").find("cannot parse the schema 'a BIGINT, a STRING': ") ==
             0u);
}

BOOST_AUTO_TEST_CASE(a_bad_schema_fails_when_the_call_is_expanded) {
  auto expanded = expand_record_columns(from_json(col("value"), "a INTEGR").alias("x"));
  BOOST_REQUIRE(!expanded.ok());
  BOOST_TEST(expanded.status().message().find("from_json: cannot parse the schema 'a INTEGR': "
                                              "field 'a' (character 3): unknown type 'INTEGR'; "
                                              "did you mean INTEGER?") == 0u,
             expanded.status().message());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(to_json_writing)

BOOST_AUTO_TEST_CASE(writes_named_fields_and_omits_nulls) {
  auto schema = schema_of({{"s", Type::String},
                           {"d", Type::Double},
                           {"n", Type::Int64},
                           {"b", Type::Bool},
                           {"t", Type::Timestamp}});
  Rows rows = {
      {Value("a\"b\\c\n\x01 é"), Value(0.1), Value(int64_t{-3}), Value(true), at(k2024, 500000)},
      {Value(), Value(), Value(), Value(), Value()},
      {Value(""), Value(std::nan("")), Value(), Value(false), Value()}};
  auto values = evaluate_rows(
      to_json({col("s"), col("d").alias("we\"ird"), col("n"), col("b"), col("t")}), schema, rows);
  BOOST_TEST(
      values[0] ==
      Value(
          R"({"s":"a\"b\\c\n\u0001 é","we\"ird":0.1,"n":-3,"b":true,"t":"2024-01-01 00:00:00.5"})"));
  BOOST_TEST(values[1] == Value("{}"));
  BOOST_TEST(values[2] == Value(R"({"s":"","we\"ird":"NaN","b":false})"));
  BOOST_TEST(to_json({col("s"), col("n")}).to_string() == "to_json(s, n)");
}

BOOST_AUTO_TEST_CASE(round_trips_through_from_json) {
  // Random rows written by to_json and read back by from_json must come back unchanged.
  const unsigned seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937 random(seed);
  const std::vector<std::string> words = {"plain",     "",       "quote\"d", "back\\slash",
                                          "new\nline", "é日本😀", "tab\t",    "{\"json\":1}",
                                          "\x1f"};
  auto schema = schema_of({{"s", Type::String},
                           {"d", Type::Double},
                           {"n", Type::Int64},
                           {"b", Type::Bool},
                           {"t", Type::Timestamp}});
  Rows rows;
  for (int i = 0; i < 200; ++i) {
    std::vector<Value> row(5);
    if (random() % 5) row[0] = Value(words[random() % words.size()]);
    if (random() % 5)
      row[1] =
          Value(std::ldexp(static_cast<double>(random()) - 2e9, -static_cast<int>(random() % 40)));
    if (random() % 5) row[2] = Value(static_cast<int64_t>(random()) * 1'000'003 - 7);
    if (random() % 5) row[3] = Value(random() % 2 == 0);
    if (random() % 5)
      row[4] = at(k2024 + static_cast<int64_t>(random() % 100000), random() % 1000000);
    rows.push_back(std::move(row));
  }
  auto json =
      evaluate_rows(to_json({col("s"), col("d"), col("n"), col("b"), col("t")}), schema, rows);
  BOOST_TEST(select_rows(json, {from_json(col("value"), *schema)}) == rows);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(csv_records)

BOOST_AUTO_TEST_CASE(from_csv_reads_fields_by_position_with_options) {
  Rows rows = select_rows(
      {Value("s1;21.5;3;NA"), Value("'a;b';NA;-1;2024-01-01 00:00:05"), Value("'it''s';1;2;")},
      {from_csv(col("value"), "sensor STRING, temp DOUBLE, count BIGINT, ts TIMESTAMP",
                {{"sep", ";"}, {"quote", "'"}, {"nullValue", "NA"}})
           .alias("r")});
  Rows expected = {{Value("s1"), Value(21.5), Value(int64_t{3}), Value()},
                   {Value("a;b"), Value(), Value(int64_t{-1}), at(k2024 + 5)},
                   {Value("it's"), Value(1.0), Value(int64_t{2}), Value()}};
  BOOST_TEST(rows == expected);
}

BOOST_AUTO_TEST_CASE(from_csv_marks_bad_records_corrupt_and_keeps_what_converted) {
  Rows rows =
      select_rows({Value("1,x"), Value("2"), Value("3,4,5"), Value("\"open,6"), Value("7,8")},
                  {from_csv(col("value"), "a BIGINT, b BIGINT, _corrupt_record STRING")});
  Rows expected = {{Value(int64_t{1}), Value(), Value("1,x")},
                   {Value(int64_t{2}), Value(), Value("2")},
                   {Value(int64_t{3}), Value(int64_t{4}), Value("3,4,5")},
                   {Value(), Value(), Value("\"open,6")},
                   {Value(int64_t{7}), Value(int64_t{8}), Value()}};
  BOOST_TEST(rows == expected);
  BOOST_TEST(select_error({Value("1,x")},
                          {from_csv(col("value"), "a BIGINT, b BIGINT", {{"mode", "FAILFAST"}})}) ==
             "from_csv: malformed record '1,x' (row 1 of the batch): field 'b' (column 2): 'x' is "
             "not a BIGINT (mode FAILFAST; use mode PERMISSIVE to read such records as NULL)");
}

BOOST_AUTO_TEST_CASE(to_csv_round_trips_through_from_csv) {
  auto schema = schema_of({{"s", Type::String}, {"d", Type::Double}, {"n", Type::Int64}});
  Rows rows = {{Value("plain"), Value(1.5), Value(int64_t{1})},
               {Value("with,comma \"and\" quotes"), Value(), Value(int64_t{-2})},
               {Value(), Value(-0.25), Value()}};
  auto csv = evaluate_rows(to_csv({col("s"), col("d"), col("n")}), schema, rows);
  BOOST_TEST(csv[0] == Value("plain,1.5,1"));
  BOOST_TEST(csv[1] == Value("\"with,comma \"\"and\"\" quotes\",,-2"));
  BOOST_TEST(csv[2] == Value(",-0.25,"));
  BOOST_TEST(select_rows(csv, {from_csv(col("value"), *schema)}) == rows);
}

BOOST_AUTO_TEST_SUITE_END()
