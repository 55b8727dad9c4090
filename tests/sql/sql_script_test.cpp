#define BOOST_TEST_MODULE sql_script
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include "io/delta_log.hpp"
#include "tests/sql/sql_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

// Sluice's statements: CREATE SOURCE / VIEW / SINK, INSERT INTO, SET, EXPLAIN.

using namespace sluice;
using namespace sluice::testing;

namespace {

const Rows kRows = {
    {1, 10, "alice", at_second(1)}, {1, 25, "bob", at_second(2)}, {2, 7, "carol", at_second(3)}};

std::vector<StatementKind> kinds(const SqlScript& script) {
  std::vector<StatementKind> out;
  for (const auto& statement : script.statements())
    out.push_back(statement.kind);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_script_splits_at_semicolons_outside_strings_and_comments) {
  auto script = SqlScript::parse(
      "-- a comment; not a statement\n"
      "SET \"checkpointLocation\" = '/tmp/a;b';\n"
      "/* a block comment; /* nested; */ still comment */\n"
      "CREATE VIEW v AS SELECT 'x;y' AS s FROM bids;;\n"
      "CREATE SINK out WITH (connector = 'console');\n"
      "INSERT INTO out SELECT * FROM v;\n"
      "EXPLAIN SELECT * FROM v\n");
  BOOST_REQUIRE_MESSAGE(script.ok(), script.status().to_string());
  BOOST_TEST((kinds(*script) ==
              std::vector<StatementKind>{StatementKind::set, StatementKind::create_view,
                                         StatementKind::create_sink, StatementKind::insert_into,
                                         StatementKind::explain}));
  const Statement& set = script->statements()[0];
  BOOST_TEST(set.name == "checkpointLocation");
  BOOST_TEST(set.value == "/tmp/a;b");
}

BOOST_AUTO_TEST_CASE(options_keep_the_spelling_the_user_wrote) {
  auto script = SqlScript::parse(
      "CREATE SOURCE r WITH (connector = 'rate', rowsPerSecond = 5, \"rampUpTime\" = '2s', "
      "kafka.bootstrap.servers = 'h:9092', 'numPartitions' = '2')");
  BOOST_REQUIRE_MESSAGE(script.ok(), script.status().to_string());
  std::vector<std::string> keys;
  std::vector<std::string> values;
  for (const auto& option : script->statements()[0].options) {
    keys.push_back(option.key);
    values.push_back(option.value);
  }
  BOOST_TEST((keys == std::vector<std::string>{"connector", "rowsPerSecond", "rampUpTime",
                                               "kafka.bootstrap.servers", "numPartitions"}));
  BOOST_TEST((values == std::vector<std::string>{"rate", "5", "2s", "h:9092", "2"}));
}

BOOST_AUTO_TEST_CASE(create_sink_as_select_starts_a_query_into_the_sink) {
  BidsFixture fixture;
  auto results = fixture.context.execute(
      "CREATE SINK named_bids WITH (connector = 'memory') AS\n"
      "  SELECT bidder, price FROM bids WHERE price > 8");
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  BOOST_REQUIRE(results->size() == 1u);
  BOOST_REQUIRE((*results)[0].query.has_value());
  StreamingQuery query = *(*results)[0].query;
  BOOST_TEST(query.name() == "named_bids");
  BOOST_REQUIRE(fixture.sql_input.add_data(kRows).is_ok());
  BOOST_REQUIRE(query.process_all_available().is_ok());
  Rows rows = fixture.session.memory_table("named_bids")->rows();
  std::sort(rows.begin(), rows.end());
  BOOST_TEST((rows == Rows{{"alice", 10}, {"bob", 25}}));
  BOOST_TEST(query.stop().is_ok());
}

BOOST_AUTO_TEST_CASE(insert_into_starts_the_query_of_a_declared_sink) {
  BidsFixture fixture;
  auto results = fixture.context.execute(
      "SET shuffle_partitions = 2;\n"
      "CREATE SINK totals WITH (connector = 'memory', output_mode = 'complete');\n"
      "CREATE VIEW priced AS SELECT auction, price FROM bids;\n"
      "INSERT INTO totals SELECT auction, sum(price) AS total FROM priced GROUP BY auction");
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  BOOST_REQUIRE(results->size() == 4u);
  BOOST_TEST(fixture.session.conf("shuffle_partitions") == "2");
  BOOST_REQUIRE((*results)[3].query.has_value());
  StreamingQuery query = *(*results)[3].query;
  BOOST_REQUIRE(fixture.sql_input.add_data(kRows).is_ok());
  BOOST_REQUIRE(query.process_all_available().is_ok());
  auto sink = fixture.session.memory_table("totals");
  BOOST_REQUIRE(sink != nullptr);
  Rows rows = sink->epoch_rows(sink->epochs().back());
  std::sort(rows.begin(), rows.end());
  BOOST_TEST((rows == Rows{{1, 35}, {2, 7}}));
  BOOST_TEST(query.stop().is_ok());
}

BOOST_AUTO_TEST_CASE(views_are_readable_from_later_queries) {
  BidsFixture fixture;
  auto results =
      fixture.context.execute("CREATE VIEW cheap AS SELECT * FROM bids WHERE price < 20");
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  auto frame = fixture.context.sql("SELECT bidder FROM cheap");
  BOOST_REQUIRE_MESSAGE(frame.ok(), frame.status().to_string());
  BOOST_TEST(optimized_plan(*frame) ==
             optimized_plan(fixture.bids().filter(col("price") < 20).select(col("bidder"))));
}

BOOST_AUTO_TEST_CASE(set_accepts_equals_or_to_and_reports_bad_values) {
  BidsFixture fixture;
  BOOST_REQUIRE(fixture.context.execute("SET ansi TO true; SET shuffle_partitions = 3").ok());
  BOOST_TEST(fixture.session.conf("ansi") == "true");
  BOOST_TEST(fixture.session.conf("shuffle_partitions") == "3");
  auto bad = fixture.context.execute("SET ansi = 'maybe'");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(
      bad.status().message().rfind(
          "line 1, column 12: session option 'ansi' must be true or false, got 'maybe'", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(explain_returns_every_plan) {
  BidsFixture fixture;
  auto results =
      fixture.context.execute("EXPLAIN SELECT auction, count(*) AS n FROM bids GROUP BY auction");
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  const std::string& explain = (*results)[0].explain;
  for (const char* section :
       {"== Parsed Logical Plan ==", "== Analyzed Logical Plan ==", "== Optimized Logical Plan ==",
        "== Physical Plan ==", "Aggregate [auction], [count(1) AS n]"}) {
    BOOST_TEST(explain.find(section) != std::string::npos, section);
  }
}

BOOST_AUTO_TEST_CASE(plan_only_runs_check_every_sink_and_start_nothing) {
  BidsFixture fixture;
  ScriptOptions options;
  options.start_queries = false;
  auto results = fixture.context.execute(
      "CREATE SINK a WITH (connector = 'console') AS SELECT * FROM bids;\n"
      "CREATE SINK b WITH (connector = 'noop', output_mode = 'update') AS\n"
      "  SELECT auction, max(price) AS top FROM bids GROUP BY auction",
      options);
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  BOOST_TEST(fixture.session.streams().active().empty());
  BOOST_TEST(!(*results)[0].query.has_value());
  BOOST_TEST((*results)[1].explain.find("max(price) AS top") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sink_options_and_run_overrides_reach_the_writer) {
  BidsFixture fixture;
  TemporaryDirectory checkpoints;
  BOOST_REQUIRE(fixture.sql_input.add_data(kRows).is_ok());
  ScriptOptions options;
  options.checkpoint_root = checkpoints.path();
  options.trigger = Trigger::Once();
  auto results = fixture.context.execute(
      "CREATE SINK once_only WITH (connector = 'memory', trigger = '10 seconds') AS\n"
      "  SELECT auction FROM bids",
      options);
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  StreamingQuery query = *(*results)[0].query;
  // Trigger once (the override) ends the query after one epoch; '10 seconds' would not.
  BOOST_TEST(query.await_termination(std::chrono::seconds(10)));
  BOOST_TEST(fixture.session.memory_table("once_only")->rows().size() == 3u);
  BOOST_TEST(std::filesystem::exists(checkpoints.file("once_only") + "/data.mdb"));
}

BOOST_AUTO_TEST_CASE(a_declared_column_list_may_reorder_the_connectors_columns) {
  BidsFixture fixture;
  auto results = fixture.context.execute(
      "CREATE SOURCE ticks (value BIGINT, timestamp TIMESTAMP) WITH (connector = 'rate')");
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  auto frame = fixture.context.sql("SELECT * FROM ticks");
  BOOST_REQUIRE(frame.ok());
  BOOST_TEST(frame->schema()->field(0).name == "value");
  BOOST_TEST(frame->schema()->field(1).name == "timestamp");
}

BOOST_AUTO_TEST_CASE(a_memory_source_adds_a_watermark_to_a_registered_stream) {
  BidsFixture fixture;
  auto results = fixture.context.execute(
      "CREATE SOURCE bids (auction BIGINT, price BIGINT, bidder VARCHAR, ts TIMESTAMP,\n"
      "                    WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE)\n"
      "  WITH (connector = 'memory')");
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  auto frame = fixture.context.sql("SELECT * FROM bids");
  BOOST_REQUIRE(frame.ok());
  BOOST_TEST(optimized_plan(*frame) ==
             optimized_plan(fixture.bids().with_watermark("ts", "1 minute")));
}

BOOST_AUTO_TEST_CASE(a_delta_sink_writes_a_partitioned_delta_table) {
  BidsFixture fixture;
  TemporaryDirectory landing;
  TemporaryDirectory output;
  {
    std::ofstream(landing.file("one.json"))
        << "{\"id\": 1, \"name\": \"ada\"}\n{\"id\": 2, \"name\": \"bo\"}\n";
  }
  auto results = fixture.context.execute(
      "CREATE SOURCE people (id BIGINT, name VARCHAR)\n"
      "  WITH (connector = 'file', format = 'json', path = '" +
      landing.path() +
      "');\n"
      "CREATE SINK lake WITH (connector = 'delta', path = '" +
      output.path() + "', partition_by = 'name') AS SELECT * FROM people");
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  for (const auto& result : *results) {
    if (result.query) BOOST_TEST(StreamingQuery(*result.query).process_all_available().is_ok());
  }
  auto snapshot = read_delta_snapshot(output.path());
  BOOST_REQUIRE_MESSAGE(snapshot.ok(), snapshot.status().to_string());
  BOOST_TEST(snapshot->metadata->partition_columns == std::vector<std::string>{"name"});
  BOOST_TEST(snapshot->files.size() == 2u);
  BOOST_TEST(std::filesystem::is_directory(output.file("name=ada")));
  for (const auto& result : *results) {
    if (result.query) BOOST_TEST(StreamingQuery(*result.query).stop().is_ok());
  }
}

BOOST_AUTO_TEST_CASE(a_file_source_and_a_file_sink_are_the_file_reader_and_writer) {
  BidsFixture fixture;
  TemporaryDirectory landing;
  TemporaryDirectory output;
  {
    std::ofstream(landing.file("one.json"))
        << "{\"id\": 1, \"name\": \"ada\"}\n{\"id\": 2, \"name\": \"bo\"}\n";
  }
  auto results = fixture.context.execute(
      "CREATE SOURCE people (id BIGINT, name VARCHAR)\n"
      "  WITH (connector = 'file', format = 'json', path = '" +
      landing.path() +
      "');\n"
      "CREATE SINK names WITH (connector = 'memory') AS SELECT upper(name) AS name FROM people;\n"
      "CREATE SINK copy WITH (connector = 'file', format = 'csv', path = '" +
      output.path() + "', header = 'true') AS SELECT * FROM people");
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  auto frame = fixture.context.sql("SELECT * FROM people");
  BOOST_REQUIRE(frame.ok());
  auto schema = Schema::make({{"id", Type::Int64}, {"name", Type::String}}).value();
  BOOST_TEST(optimized_plan(*frame) ==
             optimized_plan(
                 fixture.session.read_stream().format("json").schema(schema).load(landing.path())));
  for (const auto& result : *results) {
    if (result.query) BOOST_TEST(StreamingQuery(*result.query).process_all_available().is_ok());
  }
  Rows names = fixture.session.memory_table("names")->rows();
  std::sort(names.begin(), names.end());
  BOOST_TEST((names == Rows{{"ADA"}, {"BO"}}));
  BOOST_TEST(std::filesystem::exists(output.file("_sluice_metadata")));
  for (const auto& result : *results) {
    if (result.query) BOOST_TEST(StreamingQuery(*result.query).stop().is_ok());
  }
}
