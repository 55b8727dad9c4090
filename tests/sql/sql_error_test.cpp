#define BOOST_TEST_MODULE sql_error
#include <boost/test/unit_test.hpp>

#include "tests/sql/sql_fixture.hpp"

// The error matrix: bad statements, each with the exact position (line, column) and message a
// user sees. A query alone goes through sql(); anything else (or a query ending in ';') runs as
// a script.

using namespace sluice;
using namespace sluice::testing;

namespace {

struct BadStatement {
  const char* text;
  StatusCode code;
  const char* first_line;
};

const BadStatement kBadStatements[] = {
    // Syntax: PostgreSQL's parser for queries, ours for Sluice's statements.
    {"SELECT auction FORM bids", StatusCode::invalid_argument,
     "line 1, column 21: syntax error at or near \"bids\""},
    {"SELECT auction, FROM bids", StatusCode::invalid_argument,
     "line 1, column 17: syntax error at or near \"FROM\""},
    {"SELECT 'abc FROM bids", StatusCode::invalid_argument,
     "line 1, column 8: unterminated quoted string"},
    {"CREATE SINK s WITH (connector = 'memory') AS\n  SELECT price\n  FROM bids WHERE price >;",
     StatusCode::invalid_argument, "line 3, column 26: syntax error at end of input"},
    {"CREATE SOURCE s (a BIGINT WITH (connector = 'rate')", StatusCode::invalid_argument,
     "line 1, column 27: expected ',' or ')' in the column list, found 'WITH'"},
    {"CREATE SINK out WITH (connector = 'console' AS SELECT * FROM bids",
     StatusCode::invalid_argument,
     "line 1, column 45: expected ',' or ')' in the WITH options, found 'AS'"},
    {"CREATE SOURCE s WITH connector = 'rate'", StatusCode::invalid_argument,
     "line 1, column 22: expected '(' after WITH, found 'connector'"},
    {"DROP SOURCE s", StatusCode::invalid_argument,
     "line 1, column 1: unknown statement 'DROP'; expected CREATE SOURCE, CREATE TABLE, CREATE SINK, CREATE "
     "VIEW, INSERT INTO, SET, EXPLAIN or a query"},
    {"CREATE TABLE t (a BIGINT)", StatusCode::invalid_argument,
     "line 1, column 26: expected WITH (connector = '...', ...), found the end of the statement"},
    {"CREATE MATERIALIZED VIEW v AS SELECT * FROM bids", StatusCode::invalid_argument,
     "line 1, column 8: CREATE MATERIALIZED VIEW is not supported: keep a query's latest results with "
     "CREATE SINK name WITH (connector = 'table', path = '...', key = '...') AS SELECT ..."},
    {"SET shuffle_partitions 4", StatusCode::invalid_argument,
     "line 1, column 24: expected '=' or TO after SET shuffle_partitions, found '4'"},
    // Unknown names, with the closest name suggested.
    {"SELECT prise FROM bids", StatusCode::not_found,
     "line 1, column 8: column 'prise' does not exist; did you mean 'price'? (columns: auction, "
     "price, bidder, ts)"},
    {"SELECT price FROM bid", StatusCode::not_found,
     "line 1, column 19: unknown source or view 'bid'; did you mean 'bids'? (defined: bids)"},
    {"SELECT lowr(bidder) FROM bids", StatusCode::not_found,
     "line 1, column 8: unknown function lowr(); did you mean lower()?"},
    {"SELECT b.price FROM bids AS a", StatusCode::not_found,
     "line 1, column 8: unknown table or alias 'b' in b.price (FROM names: a)"},
    {"CREATE SINK out WITH (connector = 'memory');\nINSERT INTO outt SELECT * FROM bids",
     StatusCode::not_found,
     "line 2, column 13: unknown sink 'outt'; did you mean 'out'? (declare it first: CREATE SINK "
     "outt WITH (connector = 'console'))"},
    {"SET shufle_partitions = 4", StatusCode::invalid_argument,
     "line 1, column 5: unknown session option 'shufle_partitions'; did you mean "
     "'shuffle_partitions'? (known: ansi, checkpointLocation, shuffle_partitions, "
     "multipleWatermarkPolicy, watermarkIdleTimeout, ui.port, ui.host, stateCacheSize, partialAggregation, restart.strategy, "
     "restart.attempts, restart.delay, restart.maxDelay, restart.multiplier, epochTimeout, "
     "checkpointMaxSize, workers)"},
    {"CREATE SOURCE r (timestamp TIMESTAMP, valeu BIGINT) WITH (connector = 'rate')",
     StatusCode::not_found,
     "line 1, column 39: the rate source has no column 'valeu'; did you mean 'value'? (its "
     "columns: timestamp TIMESTAMP NOT NULL, value BIGINT NOT NULL)"},
    {"CREATE SOURCE r (timestamp TIMESTAMP, value BIGINT,\n  WATERMARK FOR tss AS tss - INTERVAL "
     "'1' SECOND) WITH (connector = 'rate')",
     StatusCode::not_found,
     "line 2, column 17: WATERMARK FOR names column 'tss', which the rate source does not have"},
    {"SELECT window_start, count(*) FROM TUMBEL(bids, DESCRIPTOR(ts), INTERVAL '10' SECOND) GROUP "
     "BY window_start",
     StatusCode::not_found,
     "line 1, column 36: unknown table function tumbel(); did you mean tumble()? (table functions: "
     "TUMBLE, HOP, SESSION)"},
    {"SELECT CAST(price AS BIGINTT) FROM bids", StatusCode::type_error,
     "line 1, column 22: unknown type 'bigintt'; did you mean BIGINT? (types: BIGINT, DOUBLE, "
     "VARCHAR, BOOLEAN, TIMESTAMP)"},
    // Type errors name the expression and the types.
    {"SELECT bidder + 1 FROM bids", StatusCode::type_error,
     "line 1, column 15: cannot apply '+' to STRING and BIGINT in (bidder + 1)"},
    {"SELECT * FROM bids WHERE price", StatusCode::type_error,
     "line 1, column 26: filter condition price is BIGINT, not BOOLEAN"},
    {"SELECT sum(bidder) FROM bids", StatusCode::type_error,
     "line 1, column 8: sum(bidder): function sum requires a numeric (BIGINT or DOUBLE) input, not "
     "STRING"},
    {"SELECT window_start, count(*) FROM TUMBLE(bids, DESCRIPTOR(price), INTERVAL '10' SECOND) "
     "GROUP BY window_start",
     StatusCode::type_error,
     "line 1, column 60: the event-time column price of TUMBLE is BIGINT, not TIMESTAMP"},
    {"CREATE SOURCE r (timestamp TIMESTAMP, value DOUBLE) WITH (connector = 'rate')",
     StatusCode::type_error,
     "line 1, column 45: column 'value' is BIGINT in the rate source, declared DOUBLE"},
    {"SELECT lower(price) FROM bids", StatusCode::type_error,
     "line 1, column 8: cannot apply 'lower' to BIGINT in lower(price)"},
    // Query shapes a stream does not support name the rule.
    {"CREATE SINK s WITH (connector = 'memory') AS SELECT * FROM bids ORDER BY price",
     StatusCode::invalid_argument,
     "line 1, column 74: order_by and limit need output mode Complete, not Append (rule: sorting a "
     "stream needs an aggregation in complete mode)"},
    {"CREATE SINK s WITH (connector = 'memory', output_mode = 'append') AS\nSELECT auction, "
     "count(*) FROM bids GROUP BY auction",
     StatusCode::invalid_argument,
     "line 2, column 45: output mode Append is not supported for Aggregate [auction], [count(1)] "
     "without a watermark on its event-time key (rule: append mode emits a group once, when the "
     "watermark passes it; add with_watermark on the column the group_by uses)"},
    {"CREATE SINK s WITH (connector = 'memory', output_mode = 'complete') AS SELECT * FROM bids",
     StatusCode::invalid_argument,
     "line 1, column 72: output mode Complete is not supported when there are no streaming "
     "aggregations (rule: complete mode needs an aggregation)"},
    {"SELECT auction, price FROM bids GROUP BY auction", StatusCode::invalid_argument,
     "line 1, column 17: column 'price' must appear in GROUP BY or be used in an aggregate "
     "function"},
    {"SELECT count(*) FROM bids WHERE count(*) > 1", StatusCode::invalid_argument,
     "line 1, column 33: aggregate function count() is not allowed in WHERE"},
    {"SELECT * FROM bids a, bids b", StatusCode::invalid_argument,
     "line 1, column 23: a comma between FROM items is a cross join, which a stream cannot run: write a "
     "JOIN ... USING (columns)"},
    {"SELECT * FROM bids a JOIN bids b ON a.price > b.price", StatusCode::invalid_argument,
     "line 1, column 45: a streaming JOIN ... ON needs at least one equality between a column of each "
     "side (a.key = b.key); (a.price > b.price) has none"},
    {"SELECT auction FROM bids a JOIN bids b ON a.auction = b.auction", StatusCode::invalid_argument,
     "line 1, column 8: column reference 'auction' is ambiguous: both sides of the JOIN have it; write "
     "a.auction or b.auction"},
    {"SELECT a.pric FROM bids a JOIN bids b ON a.auction = b.auction", StatusCode::not_found,
     "line 1, column 8: column 'pric' does not exist in a; did you mean 'a.price'? (its columns: auction, "
     "price, bidder, ts)"},
    {"SELECT * FROM bids JOIN bids ON bids.auction = bids.auction", StatusCode::invalid_argument,
     "line 1, column 25: both sides of the JOIN are called 'bids': give one of them another name (AS name)"},
    {"SELECT * FROM bids NATURAL JOIN bids b", StatusCode::invalid_argument,
     "line 1, column 33: a streaming JOIN needs ON (equal columns of both sides) or USING (columns), not "
     "NATURAL"},
    {"CREATE TABLE t (a BIGINT, WATERMARK FOR ts AS ts) WITH (connector = 'file')", StatusCode::invalid_argument,
     "line 1, column 27: a static table has no event time: WATERMARK FOR belongs in CREATE SOURCE"},
    {"CREATE TABLE t WITH (connector = 'kafka', topic = 'x')", StatusCode::invalid_argument,
     "line 1, column 34: CREATE TABLE reads a static table from connector 'file', 'delta' or 'table', not "
     "'kafka'; a kafka stream is a CREATE SOURCE"},
    {"CREATE TABLE t AS SELECT * FROM bids", StatusCode::invalid_argument,
     "line 1, column 16: CREATE TABLE ... AS SELECT is not supported: a table is read from files, a Delta "
     "table or a table sink (WITH (connector = ...)); CREATE VIEW names a query"},
    {"SELECT window_start FROM TUMBLE(bids, DESCRIPTOR(ts), INTERVAL '10' SECOND)",
     StatusCode::invalid_argument,
     "line 1, column 8: window_start and window_end of TUMBLE(...) exist only in a window "
     "aggregation: add GROUP BY window_start and aggregates such as count(*)"},
    {"CREATE SINK s WITH (connector = 'memory', output_mode = 'complete') AS\nSELECT DISTINCT "
     "auction, count(*) AS n FROM bids GROUP BY auction",
     StatusCode::invalid_argument,
     "line 2, column 8: output mode Complete is not supported for a query with 2 stateful "
     "operators (rule: chained stateful operators run in append mode, each passing on final rows; "
     "only a last aggregation or flat_map_groups_with_state may run in Update mode)"},
    {"SELECT max(count(*)) FROM bids", StatusCode::invalid_argument,
     "line 1, column 12: aggregate function calls cannot be nested"},
    {"SELECT sum(price) OVER () FROM bids", StatusCode::invalid_argument,
     "line 1, column 24: sum(...) OVER (...): without a frame the window is RANGE BETWEEN UNBOUNDED "
     "PRECEDING AND CURRENT ROW, which is not supported; write ROWS BETWEEN n PRECEDING AND "
     "CURRENT ROW"},
    // Options are checked by the same code as the DataFrame API's.
    {"CREATE SOURCE r WITH (connector = 'rate', rowsPerSecnd = '5')", StatusCode::invalid_argument,
     "line 1, column 43: unknown option 'rowsPerSecnd' for the rate source; did you mean "
     "'rowsPerSecond'? (allowed: rowsPerSecond, rampUpTime, numPartitions, rowsPerBatch)"},
    {"CREATE SOURCE r WITH (connector = 'rate', \"rowsPerSecond\" = 'fast')",
     StatusCode::invalid_argument,
     "line 1, column 61: option 'rowsPerSecond' of the rate source must be an integer >= 1, got "
     "'fast'"},
    {"CREATE SINK s WITH (connector = 'console', numRow = '5') AS SELECT * FROM bids",
     StatusCode::invalid_argument,
     "line 1, column 44: unknown option 'numRow' for the console sink; did you mean 'numRows'? "
     "(allowed: checkpointLocation, minBatchesToRetain, numRows, truncate)"},
    {"CREATE SINK s WITH (connector = 'console', output_mod = 'update') AS SELECT * FROM bids",
     StatusCode::invalid_argument,
     "line 1, column 44: unknown option 'output_mod' for a sink; did you mean 'output_mode'?"},
    {"CREATE SINK s WITH (connector = 'console', output_mode = 'upsert') AS SELECT * FROM bids",
     StatusCode::invalid_argument,
     "line 1, column 58: output_mode must be append, update or complete, got 'upsert'"},
    {"CREATE SINK s WITH (connector = 'console', trigger = 'sometimes') AS SELECT * FROM bids",
     StatusCode::invalid_argument,
     "line 1, column 54: bad trigger 'sometimes': use an interval (1s, 500ms, '10 seconds'), once, "
     "available-now or continuous:1s"},
    {"CREATE SOURCE s WITH (format = 'json')", StatusCode::invalid_argument,
     "line 1, column 17: CREATE SOURCE needs connector = '...' in WITH (sources available: rate, "
     "socket, file, kafka, delta, memory)"},
    {"CREATE SOURCE s WITH (connector = 'rate', connector = 'rate')", StatusCode::invalid_argument,
     "line 1, column 43: option 'connector' is given twice"},
    // Connectors that do not exist yet.
    {"CREATE SOURCE k (a BIGINT) WITH (connector = 'kinesis', stream = 'x')",
     StatusCode::invalid_argument,
     "line 1, column 46: connector 'kinesis' is not available yet (sources available today: rate, "
     "socket, file, kafka, delta, memory)"},
    {"CREATE SOURCE k WITH (connector = 'kafka', topic = 'bids')",
     StatusCode::invalid_argument,
     "line 1, column 17: the kafka source needs option kafka.bootstrap.servers (host:port of a broker)"},
    {"CREATE SINK d WITH (connector = 'foreach') AS SELECT * FROM bids",
     StatusCode::invalid_argument,
     "line 1, column 33: connector 'foreach' is not available yet (sinks available today: console, "
     "memory, noop, file, kafka, delta, table)"},
    {"CREATE SINK d WITH (connector = 'table') AS SELECT * FROM bids", StatusCode::invalid_argument,
     "line 1, column 15: the table connector needs path = '/a/table/directory'"},
    {"CREATE SINK d WITH (connector = 'delta') AS SELECT * FROM bids", StatusCode::invalid_argument,
     "line 1, column 15: the delta connector needs path = '/a/table/directory'"},
    {"CREATE SOURCE j (a BIGINT) WITH (connector = 'json', path = '/in')",
     StatusCode::invalid_argument,
     "line 1, column 46: 'json' is a format of the file connector: write connector = 'file', "
     "format = 'json', path = '...'"},
    {"CREATE SOURCE j (a BIGINT) WITH (connector = 'file', path = '/in')",
     StatusCode::invalid_argument,
     "line 1, column 28: the file connector needs format = 'csv' (formats: csv, json, text)"},
    {"CREATE SINK p WITH (connector = 'file', format = 'parquet', path = '/out') AS SELECT * FROM "
     "bids",
     StatusCode::invalid_argument,
     "line 1, column 50: format 'parquet' is not available yet (formats: csv, json)"},
    {"CREATE SOURCE j (a BIGINT) WITH (connector = 'file', format = 'json', path = '/no/such/dir')",
     StatusCode::not_found,
     "line 1, column 78: the file source directory /no/such/dir does not exist (or is not a "
     "directory)"},
    {"CREATE SOURCE x WITH (connector = 'rabbitmq')", StatusCode::invalid_argument,
     "line 1, column 35: unknown connector 'rabbitmq' (sources available: rate, socket, file, kafka, delta, memory)"},
    // Statements out of order or repeated.
    {"CREATE SINK out WITH (connector = 'memory');\nINSERT INTO out SELECT * FROM bids;\nINSERT "
     "INTO out SELECT * FROM bids",
     StatusCode::invalid_argument,
     "line 3, column 13: sink 'out' already has a query; combine queries with UNION ALL"},
    {"CREATE SOURCE clicks (page VARCHAR) WITH (connector = 'memory')", StatusCode::not_found,
     "line 1, column 15: no MemoryStream is registered as 'clicks' (register one from code with "
     "SqlContext::register_stream)"},
    {"CREATE SOURCE r WITH (connector = 'rate');\nCREATE SOURCE r WITH (connector = 'rate')",
     StatusCode::invalid_argument, "line 2, column 15: a source named 'r' already exists"},
    {"SELECT * FROM bids;", StatusCode::invalid_argument,
     "line 1, column 1: a query on its own has no sink: write CREATE SINK name WITH (connector = "
     "'console') AS SELECT ..."},
    {"SELECT * FROM bids LIMIT 5 OFFSET 2", StatusCode::invalid_argument,
     "line 1, column 35: OFFSET is not supported on a stream"},
    {"SELECT * FROM bids UNION ALL SELECT auction FROM bids", StatusCode::invalid_argument,
     "line 1, column 37: union_all inputs differ in column count: (auction BIGINT, price BIGINT, "
     "bidder STRING, ts TIMESTAMP) and (auction BIGINT)"},
    {"SELECT window_start, count(*) FROM TUMBLE(bids, DESCRIPTOR(ts), INTERVAL '1' MONTH) GROUP BY "
     "window_start",
     StatusCode::invalid_argument,
     "line 1, column 65: months and years have no fixed length; use days or weeks"},
    {"SELECT \"window\"(ts, '10 parsecs'), count(*) FROM bids GROUP BY \"window\"(ts, '10 "
     "parsecs')",
     StatusCode::invalid_argument,
     "line 1, column 77: cannot parse interval '10 parsecs': unknown unit 'parsecs' (use "
     "microseconds, milliseconds, seconds, minutes, hours, days or weeks)"},
    {"CREATE SOURCE r (timestamp TIMESTAMP, value BIGINT,\n  WATERMARK FOR timestamp AS timestamp "
     "+ 1) WITH (connector = 'rate')",
     StatusCode::invalid_argument,
     "line 2, column 40: expected WATERMARK FOR timestamp AS timestamp - INTERVAL '5' SECOND (the "
     "event time minus how late rows may arrive)"}};

Status run(BidsFixture& fixture, const std::string& text) {
  if (text.rfind("SELECT", 0) == 0 && text.back() != ';') return fixture.context.sql(text).status();
  return fixture.context.execute(text).status();
}

std::string first_line(const std::string& message) {
  return message.substr(0, message.find('\n'));
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_bad_statement_names_its_place_and_problem) {
  BOOST_TEST(std::size(kBadStatements) >= 30u);
  for (const auto& bad : kBadStatements) {
    BOOST_TEST_CONTEXT(bad.text) {
      BidsFixture fixture;
      Status status = run(fixture, bad.text);
      BOOST_TEST(status.code() == bad.code);
      BOOST_TEST(first_line(status.message()) == bad.first_line);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_message_quotes_the_line_with_a_caret_under_the_spot) {
  BidsFixture fixture;
  Status status =
      fixture.context
          .execute(
              "CREATE SINK top WITH (connector = 'memory', output_mode = 'complete') AS\n"
              "  SELECT bidder, max(prise) AS top\n"
              "  FROM bids GROUP BY bidder")
          .status();
  BOOST_TEST(status.message() ==
             "line 2, column 22: column 'prise' does not exist; did you mean 'price'? (columns: "
             "auction, price, bidder, ts)\n"
             "  2 |   SELECT bidder, max(prise) AS top\n"
             "    |                      ^");
}

BOOST_AUTO_TEST_CASE(a_file_name_prefixes_positions_like_a_compiler) {
  auto script =
      SqlScript::parse("SET shuffle_partitions = 2;\n\nSELECT FROM WHERE", "pipeline.sql");
  BOOST_REQUIRE(!script.ok());
  BOOST_TEST(first_line(script.status().message()) ==
             "pipeline.sql:3:13: syntax error at or near \"WHERE\"");
}

BOOST_AUTO_TEST_CASE(columns_count_characters_not_bytes) {
  BidsFixture fixture;
  Status status = fixture.context.sql("SELECT 'größe' AS s, nope FROM bids").status();
  BOOST_TEST(first_line(status.message()).rfind("line 1, column 22: column 'nope'", 0) == 0u,
             status.message());
}

BOOST_AUTO_TEST_CASE(a_syntax_error_in_a_later_statement_starts_nothing) {
  BidsFixture fixture;
  auto results = fixture.context.execute(
      "CREATE SINK first WITH (connector = 'memory') AS SELECT * FROM bids;\n"
      "CREATE SINK second WITH (connector = 'memory') AS SELECT * FROM bids WHERE;");
  BOOST_REQUIRE(!results.ok());
  BOOST_TEST(first_line(results.status().message()) ==
             "line 2, column 75: syntax error at end of input");
  BOOST_TEST(fixture.session.streams().active().empty());
}

BOOST_AUTO_TEST_CASE(a_sink_that_fails_to_start_stops_the_ones_started_before_it) {
  BidsFixture fixture;
  auto results = fixture.context.execute(
      "CREATE SINK first WITH (connector = 'memory') AS SELECT * FROM bids;\n"
      "CREATE SINK second WITH (connector = 'console', numRows = 'many') AS SELECT * FROM bids;");
  BOOST_REQUIRE(!results.ok());
  BOOST_TEST(first_line(results.status().message()) ==
             "line 2, column 59: option 'numRows' must be an integer >= 0, got 'many'");
  BOOST_TEST(fixture.session.streams().active().empty());
}
