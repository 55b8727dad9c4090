#define BOOST_TEST_MODULE sql_query
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/sql/sql_fixture.hpp"

// Every SQL feature against the same query written with the DataFrame API: the optimized and
// physical plans must be identical, and both must give the expected rows.

using namespace sluice;
using namespace sluice::testing;

namespace {

// Five bids over three auctions, in two epochs.
const std::vector<Rows> kBatches = {
    {{1, 10, "alice", at_second(1)}, {1, 25, "bob", at_second(2)}, {2, 7, "carol", at_second(3)}},
    {{2, 100, nullptr, at_second(11)}, {3, 40, "alice", at_second(12)}}};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(sql_matches_dataframes, BidsFixture)

BOOST_AUTO_TEST_CASE(select_star_reads_the_stream_as_it_is) {
  check_same("SELECT * FROM bids", bids(), OutputMode::Append, kBatches,
             {kBatches[0][0], kBatches[0][1], kBatches[0][2], kBatches[1][0], kBatches[1][1]});
}

BOOST_AUTO_TEST_CASE(select_list_computes_expressions_with_aliases) {
  check_same("SELECT auction, price * 2 AS doubled, price / 4, -price AS negative FROM bids",
             bids().select(col("auction"), (col("price") * 2).alias("doubled"), col("price") / 4,
                           (-col("price")).alias("negative")),
             OutputMode::Append, kBatches,
             {{1, 20, 2.5, -10},
              {1, 50, 6.25, -25},
              {2, 14, 1.75, -7},
              {2, 200, 25.0, -100},
              {3, 80, 10.0, -40}});
}

BOOST_AUTO_TEST_CASE(star_with_more_columns_is_with_column) {
  check_same("SELECT *, price + 1 AS next FROM bids WHERE auction = 3",
             bids().filter(col("auction") == 3).with_column("next", col("price") + 1),
             OutputMode::Append, kBatches, {{3, 40, "alice", at_second(12), 41}});
}

BOOST_AUTO_TEST_CASE(where_combines_comparisons_in_like_and_null_tests) {
  check_same(
      "SELECT bidder, price FROM bids\n"
      "WHERE (price > 10 AND auction NOT IN (3)) OR bidder LIKE 'car%' OR bidder IS NULL",
      bids()
          .filter((col("price") > 10 && !col("auction").isin({3})) || col("bidder").like("car%") ||
                  col("bidder").is_null())
          .select(col("bidder"), col("price")),
      OutputMode::Append, kBatches, {{"bob", 25}, {"carol", 7}, {nullptr, 100}});
}

BOOST_AUTO_TEST_CASE(case_and_coalesce_are_the_expression_builders) {
  check_same(
      "SELECT CASE WHEN price >= 100 THEN 'high' WHEN price > 10 THEN 'mid' ELSE 'low' END AS "
      "level,\n"
      "       coalesce(bidder, 'anonymous') AS who,\n"
      "       CASE auction WHEN 1 THEN 'one' END AS first_auction\n"
      "FROM bids",
      bids().select(when(col("price") >= 100, lit("high"))
                        .when(col("price") > 10, lit("mid"))
                        .otherwise(lit("low"))
                        .alias("level"),
                    coalesce({col("bidder"), lit("anonymous")}).alias("who"),
                    Expr(when(col("auction") == 1, lit("one"))).alias("first_auction")),
      OutputMode::Append, kBatches,
      {{"low", "alice", "one"},
       {"mid", "bob", "one"},
       {"low", "carol", nullptr},
       {"high", "anonymous", nullptr},
       {"mid", "alice", nullptr}});
}

BOOST_AUTO_TEST_CASE(cast_names_sluice_types_in_sql_spellings) {
  check_same(
      "SELECT CAST(price AS DOUBLE) AS p, CAST(auction AS VARCHAR) AS a,\n"
      "       CAST('7' AS BIGINT) + auction AS n, price::text AS t, CAST('true' AS BOOLEAN) AS b,\n"
      "       CAST(bidder AS STRING) AS s, CAST('1970-01-01 00:00:05' AS TIMESTAMP) AS five\n"
      "FROM bids WHERE auction = 1",
      bids()
          .filter(col("auction") == 1)
          .select(col("price").cast(Type::Double).alias("p"),
                  col("auction").cast(Type::String).alias("a"),
                  (lit("7").cast(Type::Int64) + col("auction")).alias("n"),
                  col("price").cast(Type::String).alias("t"),
                  lit("true").cast(Type::Bool).alias("b"),
                  col("bidder").cast(Type::String).alias("s"),
                  lit("1970-01-01 00:00:05").cast(Type::Timestamp).alias("five")),
      OutputMode::Append, kBatches,
      {{10.0, "1", 8, "10", true, "alice", at_second(5)},
       {25.0, "1", 8, "25", true, "bob", at_second(5)}});
}

BOOST_AUTO_TEST_CASE(string_functions_are_sluice_functions) {
  check_same(
      "SELECT lower(bidder) AS l, upper(bidder) AS u, length(bidder) AS n,\n"
      "       substring(bidder, 2, 3) AS s, concat(bidder, '-', CAST(auction AS VARCHAR)) AS c,\n"
      "       trim('  x ') AS t, bidder || '!' AS e\n"
      "FROM bids WHERE bidder IS NOT NULL AND auction = 1",
      bids()
          .filter(col("bidder").is_not_null() && col("auction") == 1)
          .select(lower(col("bidder")).alias("l"), upper(col("bidder")).alias("u"),
                  length(col("bidder")).alias("n"), substring(col("bidder"), 2, 3).alias("s"),
                  concat({col("bidder"), lit("-"), col("auction").cast(Type::String)}).alias("c"),
                  trim(lit("  x ")).alias("t"), concat({col("bidder"), lit("!")}).alias("e")),
      OutputMode::Append, kBatches,
      {{"alice", "ALICE", 5, "lic", "alice-1", "x", "alice!"},
       {"bob", "BOB", 3, "ob", "bob-1", "x", "bob!"}});
}

BOOST_AUTO_TEST_CASE(timestamp_functions_and_interval_arithmetic) {
  check_same(
      "SELECT date_trunc('minute', ts) AS m, year(ts) AS y, month(ts) AS mo, day(ts) AS d,\n"
      "       hour(ts) AS h, minute(ts) AS mi, second(ts) AS s, EXTRACT(SECOND FROM ts) AS es,\n"
      "       ts + INTERVAL '1' MINUTE AS later, ts - INTERVAL '2 seconds' AS earlier,\n"
      "       to_timestamp('2024-05-06 07:08:09', 'yyyy-MM-dd HH:mm:ss') AS parsed\n"
      "FROM bids WHERE auction = 3",
      bids()
          .filter(col("auction") == 3)
          .select(date_trunc("minute", col("ts")).alias("m"), year(col("ts")).alias("y"),
                  month(col("ts")).alias("mo"), day(col("ts")).alias("d"),
                  hour(col("ts")).alias("h"), minute(col("ts")).alias("mi"),
                  second(col("ts")).alias("s"), second(col("ts")).alias("es"),
                  (col("ts") + interval("1 minute")).alias("later"),
                  (col("ts") - interval("2 seconds")).alias("earlier"),
                  to_timestamp(lit("2024-05-06 07:08:09"), "yyyy-MM-dd HH:mm:ss").alias("parsed")),
      OutputMode::Append, kBatches,
      {{at_second(0), 1970, 1, 1, 0, 0, 12, 12, at_second(72), at_second(10),
        Value(Timestamp{1714979289000000})}});
}

BOOST_AUTO_TEST_CASE(hash_is_the_xxhash_function_of_the_dataframe_api) {
  // The expected value comes from evaluating the function on the row itself.
  auto schema = Schema::make({{"auction", Type::Int64}, {"bidder", Type::String}}).value();
  auto row = RecordBatch::from_rows(schema, {{3, "alice"}});
  BOOST_REQUIRE(row.ok());
  auto bound = bind(hash({col("auction"), col("bidder")}), *schema);
  BOOST_REQUIRE(bound.ok());
  auto hashed = bound->evaluate(**row);
  BOOST_REQUIRE(hashed.ok());
  check_same(
      "SELECT hash(auction, bidder) AS h FROM bids WHERE auction = 3",
      bids().filter(col("auction") == 3).select(hash({col("auction"), col("bidder")}).alias("h")),
      OutputMode::Append, kBatches, {{(*hashed)->value_at(0)}});
}

BOOST_AUTO_TEST_CASE(not_between_and_inequality_are_boolean_expressions) {
  check_same("SELECT price FROM bids WHERE NOT (price BETWEEN 8 AND 30) AND auction <> 3",
             bids()
                 .filter(!(col("price") >= 8 && col("price") <= 30) && col("auction") != 3)
                 .select(col("price")),
             OutputMode::Append, kBatches, {{7}, {100}});
}

BOOST_AUTO_TEST_CASE(group_by_computes_every_aggregate) {
  check_same(
      "SELECT auction, count(*) AS bids, count(bidder) AS named, sum(price) AS total,\n"
      "       avg(price) AS mean, min(price) AS low, max(price) AS high,\n"
      "       first(bidder) AS opener, last(price) AS closing\n"
      "FROM bids GROUP BY auction",
      bids()
          .group_by(col("auction"))
          .agg(count().alias("bids"), count(col("bidder")).alias("named"),
               sum(col("price")).alias("total"), avg(col("price")).alias("mean"),
               min(col("price")).alias("low"), max(col("price")).alias("high"),
               first(col("bidder")).alias("opener"), last(col("price")).alias("closing")),
      OutputMode::Complete, kBatches,
      {{1, 2, 2, 35, 17.5, 10, 25, "alice", 25},
       {2, 2, 1, 107, 53.5, 7, 100, "carol", 100},
       {3, 1, 1, 40, 40.0, 40, 40, "alice", 40}});
}

BOOST_AUTO_TEST_CASE(unaliased_aggregates_get_spark_names) {
  check_same(
      "SELECT auction, count(*), sum(price), count(DISTINCT bidder), "
      "approx_count_distinct(bidder)\n"
      "FROM bids GROUP BY auction",
      bids()
          .group_by(col("auction"))
          .agg(count(), sum(col("price")), count_distinct(col("bidder")),
               approx_count_distinct(col("bidder"))),
      OutputMode::Complete, kBatches, {{1, 2, 35, 2, 2}, {2, 2, 107, 1, 1}, {3, 1, 40, 1, 1}});
  auto translated = context.sql("SELECT count(*), sum(price) FROM bids GROUP BY auction");
  BOOST_REQUIRE(translated.ok());
  BOOST_TEST(translated->schema()->field(0).name == "count(1)");
  BOOST_TEST(translated->schema()->field(1).name == "sum(price)");
}

BOOST_AUTO_TEST_CASE(a_global_aggregate_has_no_keys) {
  check_same("SELECT count(*) AS n, max(price) AS top FROM bids",
             bids().group_by().agg(count().alias("n"), max(col("price")).alias("top")),
             OutputMode::Complete, kBatches, {{5, 100}});
}

BOOST_AUTO_TEST_CASE(having_filters_groups_after_aggregating) {
  check_same(
      "SELECT auction, sum(price) AS total FROM bids GROUP BY auction\n"
      "HAVING count(*) > 1 AND sum(price) > 50",
      bids()
          .group_by(col("auction"))
          .agg(sum(col("price")).alias("total"), count())
          .filter(col("count(1)") > 1 && col("total") > 50)
          .select(col("auction"), col("total")),
      OutputMode::Complete, kBatches, {{2, 107}});
}

BOOST_AUTO_TEST_CASE(having_may_name_an_aggregate_by_its_alias) {
  check_same("SELECT bidder, count(*) AS n FROM bids GROUP BY bidder HAVING n > 1",
             bids().group_by(col("bidder")).agg(count().alias("n")).filter(col("n") > 1),
             OutputMode::Complete, kBatches, {{"alice", 2}});
}

BOOST_AUTO_TEST_CASE(group_by_expression_position_or_alias_is_the_same_key) {
  const DataFrame expected = bids()
                                 .filter(col("bidder").is_not_null())
                                 .group_by(lower(col("bidder")))
                                 .agg(count().alias("n"))
                                 .select(col("lower(bidder)").alias("who"), col("n"));
  const Rows answer = {{"alice", 2}, {"bob", 1}, {"carol", 1}};
  check_same(
      "SELECT lower(bidder) AS who, count(*) AS n FROM bids WHERE bidder IS NOT NULL GROUP BY 1",
      expected, OutputMode::Complete, kBatches, answer);
  for (const char* query :
       {"SELECT lower(bidder) AS who, count(*) AS n FROM bids WHERE bidder IS NOT NULL GROUP BY "
        "who",
        "SELECT lower(bidder) AS who, count(*) AS n FROM bids WHERE bidder IS NOT NULL "
        "GROUP BY lower(bidder)"}) {
    auto translated = context.sql(query);
    BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
    BOOST_TEST(optimized_plan(*translated) == optimized_plan(expected), query);
  }
}

BOOST_AUTO_TEST_CASE(group_by_without_aggregates_lists_the_groups) {
  check_same(
      "SELECT auction FROM bids GROUP BY auction",
      bids().group_by(col("auction")).agg(count().alias("__group_rows")).select(col("auction")),
      OutputMode::Complete, kBatches, {{1}, {2}, {3}});
}

BOOST_AUTO_TEST_CASE(distinct_drops_duplicate_rows) {
  check_same("SELECT DISTINCT auction FROM bids", bids().select(col("auction")).drop_duplicates(),
             OutputMode::Append, kBatches, {{1}, {2}, {3}});
}

BOOST_AUTO_TEST_CASE(union_all_appends_both_inputs) {
  check_same(
      "SELECT auction, price FROM bids WHERE price < 10\n"
      "UNION ALL\n"
      "SELECT auction, price * 10 FROM bids WHERE price > 50",
      bids()
          .filter(col("price") < 10)
          .select(col("auction"), col("price"))
          .union_all(bids().filter(col("price") > 50).select(col("auction"), col("price") * 10)),
      OutputMode::Append, kBatches, {{2, 7}, {2, 1000}});
}

BOOST_AUTO_TEST_CASE(union_all_of_a_literal_and_a_nullable_column_keeps_the_nulls) {
  // 'low' is never null, bidder may be: the union's column allows nulls.
  check_same(
      "SELECT auction, 'low' AS who FROM bids WHERE price < 10\n"
      "UNION ALL\n"
      "SELECT auction, bidder FROM bids WHERE price > 30",
      bids()
          .filter(col("price") < 10)
          .select(col("auction"), lit("low").alias("who"))
          .union_all(bids().filter(col("price") > 30).select(col("auction"), col("bidder"))),
      OutputMode::Append, kBatches, {{2, "low"}, {2, nullptr}, {3, "alice"}});
}

BOOST_AUTO_TEST_CASE(with_queries_and_subqueries_nest_dataframes) {
  check_same(
      "WITH expensive AS (SELECT * FROM bids WHERE price > 20)\n"
      "SELECT bidder, p FROM (SELECT bidder, price AS p FROM expensive) AS e WHERE e.p < 100",
      bids()
          .filter(col("price") > 20)
          .select(col("bidder"), col("price").alias("p"))
          .filter(col("p") < 100),
      OutputMode::Append, kBatches, {{"bob", 25}, {"alice", 40}});
}

BOOST_AUTO_TEST_CASE(order_by_and_limit_sort_a_complete_aggregation) {
  check_same(
      "SELECT bidder, sum(price) AS total FROM bids WHERE bidder IS NOT NULL\n"
      "GROUP BY bidder ORDER BY total DESC LIMIT 2",
      bids()
          .filter(col("bidder").is_not_null())
          .group_by(col("bidder"))
          .agg(sum(col("price")).alias("total"))
          .order_by({desc(col("total"))})
          .limit(2),
      OutputMode::Complete, kBatches, {{"alice", 50}, {"bob", 25}});
  auto by_aggregate = context.sql(
      "SELECT bidder, count(*) AS n FROM bids GROUP BY bidder ORDER BY count(*) DESC, 1 LIMIT 1");
  BOOST_REQUIRE_MESSAGE(by_aggregate.ok(), by_aggregate.status().to_string());
  BOOST_TEST(optimized_plan(*by_aggregate) ==
             optimized_plan(bids()
                                .group_by(col("bidder"))
                                .agg(count().alias("n"))
                                .order_by({desc(col("n")), asc(col("bidder"))})
                                .limit(1)));
}

BOOST_AUTO_TEST_CASE(tumble_groups_by_window_with_the_sources_watermark) {
  auto created = context.execute(
      "CREATE SOURCE timed (auction BIGINT, price BIGINT, bidder VARCHAR, ts TIMESTAMP,\n"
      "                     WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n"
      "  WITH (connector = 'memory', stream = 'bids')");
  BOOST_REQUIRE_MESSAGE(created.ok(), created.status().to_string());
  check_same(
      "SELECT window_start, window_end, count(*) AS n, max(price) AS top\n"
      "FROM TUMBLE(timed, DESCRIPTOR(ts), INTERVAL '10' SECOND)\n"
      "GROUP BY window_start, window_end",
      bids()
          .with_watermark("ts", "5 seconds")
          .group_by(window(col("ts"), "10 seconds"))
          .agg(count().alias("n"), max(col("price")).alias("top"))
          .select(col("window.start").alias("window_start"), col("window.end").alias("window_end"),
                  col("n"), col("top")),
      OutputMode::Append, {kBatches[0], kBatches[1], {{4, 5, "dave", at_second(30)}}},
      {{at_second(0), at_second(10), 3, 25}, {at_second(10), at_second(20), 2, 100}});
}

BOOST_AUTO_TEST_CASE(hop_takes_the_slide_then_the_size) {
  check_same(
      "SELECT window_start, count(*) AS n\n"
      "FROM HOP(bids, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)\n"
      "GROUP BY window_start",
      bids()
          .group_by(window(col("ts"), "10 seconds", "5 seconds"))
          .agg(count().alias("n"))
          .select(col("window.start").alias("window_start"), col("n")),
      OutputMode::Complete, kBatches,
      {{at_second(-5), 3}, {at_second(0), 3}, {at_second(5), 2}, {at_second(10), 2}});
}

BOOST_AUTO_TEST_CASE(session_table_function_groups_by_session_window) {
  check_same(
      "SELECT window_start, window_end, count(*) AS n\n"
      "FROM SESSION(bids, DESCRIPTOR(ts), INTERVAL '5' SECOND) GROUP BY window_start, window_end",
      bids()
          .group_by(session_window(col("ts"), "5 seconds"))
          .agg(count().alias("n"))
          .select(col("session_window.start").alias("window_start"),
                  col("session_window.end").alias("window_end"), col("n")),
      OutputMode::Complete, kBatches,
      {{at_second(1), at_second(8), 3}, {at_second(11), at_second(17), 2}});
}

BOOST_AUTO_TEST_CASE(spark_window_function_is_written_quoted_in_group_by) {
  check_same(
      "SELECT \"window\".start AS s, bidder, count(*) AS n FROM bids WHERE bidder IS NOT NULL\n"
      "GROUP BY \"window\"(ts, '10 seconds'), bidder",
      bids()
          .filter(col("bidder").is_not_null())
          .group_by(window(col("ts"), "10 seconds"), col("bidder"))
          .agg(count().alias("n"))
          .select(col("window.start").alias("s"), col("bidder"), col("n")),
      OutputMode::Complete, kBatches,
      {{at_second(0), "alice", 1},
       {at_second(0), "bob", 1},
       {at_second(0), "carol", 1},
       {at_second(10), "alice", 1}});
  auto whole = context.sql(
      "SELECT \"window\"(ts, '10 seconds'), count(*) FROM bids GROUP BY \"window\"(ts, '10 "
      "seconds')");
  BOOST_REQUIRE_MESSAGE(whole.ok(), whole.status().to_string());
  BOOST_TEST(optimized_plan(*whole) ==
             optimized_plan(bids().group_by(window(col("ts"), "10 seconds")).agg(count())));
}

BOOST_AUTO_TEST_CASE(interval_spellings_give_the_same_window) {
  const std::string expected =
      optimized_plan(bids()
                         .group_by(window(col("ts"), "10 seconds"))
                         .agg(count().alias("n"))
                         .select(col("window.start").alias("window_start"), col("n")));
  for (const char* size : {"INTERVAL '10' SECOND", "INTERVAL '10 seconds'", "'10 seconds'",
                           "'10 seconds'::interval"}) {
    auto translated =
        context.sql(std::string("SELECT window_start, count(*) AS n FROM TUMBLE(bids, "
                                "DESCRIPTOR(ts), ") +
                    size + ") GROUP BY window_start");
    BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
    BOOST_TEST(optimized_plan(*translated) == expected, size);
  }
}

BOOST_AUTO_TEST_CASE(names_resolve_ignoring_case_like_spark) {
  auto translated = context.sql("SELECT Bidder, PRICE FROM Bids WHERE Auction = 1");
  BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
  BOOST_TEST(
      optimized_plan(*translated) ==
      optimized_plan(bids().filter(col("auction") == 1).select(col("bidder"), col("price"))));
}

BOOST_AUTO_TEST_CASE(the_free_function_uses_the_sessions_catalog) {
  auto translated = sql(session, "SELECT auction FROM bids");
  BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
  BOOST_TEST(optimized_plan(*translated) == optimized_plan(bids().select(col("auction"))));
}

BOOST_AUTO_TEST_CASE(a_rate_source_is_the_rate_reader) {
  auto created = context.execute(
      "CREATE SOURCE ticks WITH (connector = 'rate', rowsPerSecond = '10', \"numPartitions\" = 2)");
  BOOST_REQUIRE_MESSAGE(created.ok(), created.status().to_string());
  auto translated = context.sql("SELECT value % 3 AS bucket, timestamp FROM ticks");
  BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
  DataFrame expected = session.read_stream()
                           .format("rate")
                           .option("rowsPerSecond", "10")
                           .option("numPartitions", "2")
                           .load()
                           .select((col("value") % 3).alias("bucket"), col("timestamp"));
  BOOST_TEST(optimized_plan(*translated) == optimized_plan(expected));
}

BOOST_AUTO_TEST_CASE(join_using_is_the_dataframe_join) {
  auto auctions_schema = Schema::make({{"auction", Type::Int64}, {"seller", Type::String}}).value();
  MemoryStream sql_auctions(session, auctions_schema);
  MemoryStream api_auctions(session, auctions_schema);
  BOOST_REQUIRE(context.register_stream("auctions", sql_auctions).is_ok());
  auto translated = context.sql(
      "SELECT b.auction, price, seller FROM bids AS b JOIN auctions AS a USING (auction) WHERE price > 9");
  BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
  DataFrame expected =
      bids().join(api_auctions.to_df(), {"auction"}).filter(col("price") > 9).select("auction", "price", "seller");
  BOOST_TEST(optimized_plan(*translated) == optimized_plan(expected));
  auto left = context.sql("SELECT auction, seller FROM bids LEFT JOIN auctions USING (auction)");
  BOOST_REQUIRE_MESSAGE(left.ok(), left.status().to_string());
  // An outer join needs watermarks and a time range: the DataFrame rule, reached from SQL.
  auto query = left->write_stream().format("noop").start();
  BOOST_REQUIRE(!query.ok());
  BOOST_TEST(query.status().message().find("left_outer join needs with_watermark") != std::string::npos,
             query.status().message());
  // Rows: each bid of a known auction meets its seller once.
  auto run = translated->write_stream().format("memory").query_name("sql_join").start();
  BOOST_REQUIRE_MESSAGE(run.ok(), run.status().to_string());
  BOOST_REQUIRE(sql_auctions.add_data({{1, "ann"}, {2, "ben"}}).is_ok());
  BOOST_REQUIRE(sql_input.add_data(kBatches[0]).is_ok());
  BOOST_REQUIRE(run->process_all_available().is_ok());
  BOOST_REQUIRE(sql_input.add_data(kBatches[1]).is_ok());
  BOOST_REQUIRE(run->process_all_available().is_ok());
  BOOST_REQUIRE(run->stop().is_ok());
  auto rows = session.memory_table("sql_join")->rows();
  std::sort(rows.begin(), rows.end());
  BOOST_TEST((rows == Rows{{1, 10, "ann"}, {1, 25, "ann"}, {2, 100, "ben"}}));
}

BOOST_AUTO_TEST_CASE(join_on_keeps_both_sides_columns_and_bounds_state_by_a_time_range) {
  auto auctions_schema =
      Schema::make({{"id", Type::Int64}, {"seller", Type::String}, {"ts", Type::Timestamp}}).value();
  MemoryStream sql_auctions(session, auctions_schema);
  MemoryStream api_auctions(session, auctions_schema);
  BOOST_REQUIRE(context.register_stream("auction_stream", sql_auctions).is_ok());
  auto created = context.execute(
      "CREATE SOURCE late_bids (WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (connector = 'memory', stream = 'bids');\n"
      "CREATE SOURCE auctions (WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (connector = 'memory', stream = 'auction_stream')");
  BOOST_REQUIRE_MESSAGE(created.ok(), created.status().to_string());
  // ts is on both sides: a.ts and b.ts name each; the key columns stay apart (b.auction is NULL
  // where no bid matched).
  auto translated = context.sql(
      "SELECT a.id, seller, b.auction, price, a.ts AS opened FROM auctions AS a\n"
      "LEFT JOIN late_bids AS b ON a.id = b.auction AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '10' SECOND");
  BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
  // The same join through the DataFrame API: the clashing ts renamed per side, the keys joined
  // through one hidden column per equality.
  DataFrame a = api_auctions.to_df()
                    .with_watermark("ts", "5 seconds")
                    .with_column_renamed("ts", "a.ts")
                    .with_column("__join_key_0", col("id"));
  DataFrame b = bids()
                    .with_watermark("ts", "5 seconds")
                    .with_column_renamed("ts", "b.ts")
                    .with_column("__join_key_0", col("auction"));
  DataFrame expected = a.join(b, {"__join_key_0"}, "left_outer",
                              col("b.ts") >= col("a.ts") && col("b.ts") <= col("a.ts") + interval("10 seconds"))
                           .drop({"__join_key_0"})
                           .select(col("id"), col("seller"), col("auction"), col("price"), col("a.ts").alias("opened"));
  BOOST_TEST(optimized_plan(*translated) == optimized_plan(expected));

  auto run = translated->write_stream().format("memory").query_name("sql_join_on").start();
  BOOST_REQUIRE_MESSAGE(run.ok(), run.status().to_string());
  BOOST_REQUIRE(sql_auctions.add_data({{1, "ann", at_second(0)}, {2, "ben", at_second(0)}, {4, "dan", at_second(1)}})
                    .is_ok());
  BOOST_REQUIRE(sql_input.add_data(kBatches[0]).is_ok());
  BOOST_REQUIRE(run->process_all_available().is_ok());
  BOOST_REQUIRE(sql_input.add_data(kBatches[1]).is_ok());
  BOOST_REQUIRE(run->process_all_available().is_ok());
  // Nothing has matched auction 4 yet, and the watermark (7 s) cannot rule a match out.
  auto before = session.memory_table("sql_join_on")->rows();
  for (const auto& row : before) BOOST_TEST(row[0] != Value(int64_t{4}));
  // Both inputs move past 1 s + 10 s: auction 4 is emitted once, with NULLs for the bid.
  BOOST_REQUIRE(sql_auctions.add_data({{5, "eve", at_second(30)}}).is_ok());
  BOOST_REQUIRE(sql_input.add_data({{9, 1, "x", at_second(30)}}).is_ok());
  BOOST_REQUIRE(run->process_all_available().is_ok());
  BOOST_REQUIRE(run->process_all_available().is_ok());
  BOOST_REQUIRE(run->stop().is_ok());
  auto rows = session.memory_table("sql_join_on")->rows();
  std::sort(rows.begin(), rows.end());
  BOOST_TEST((rows == Rows{{1, "ann", 1, 10, at_second(0)},
                           {1, "ann", 1, 25, at_second(0)},
                           {2, "ben", 2, 7, at_second(0)},
                           {4, "dan", nullptr, nullptr, at_second(1)}}));
}

BOOST_AUTO_TEST_CASE(join_on_computes_keys_and_qualified_stars_keep_one_side) {
  auto people_schema = Schema::make({{"id", Type::Int64}, {"name", Type::String}}).value();
  MemoryStream people(session, people_schema);
  BOOST_REQUIRE(context.register_stream("people", people).is_ok());
  // An expression per side is a key too; p.* is the right side's columns under their names.
  auto translated = context.sql("SELECT b.auction, p.* FROM bids AS b JOIN people AS p ON b.auction + 100 = p.id");
  BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
  BOOST_TEST(translated->schema()->to_string() == "auction BIGINT, id BIGINT, name STRING");
  auto run = translated->write_stream().format("memory").query_name("sql_join_expr").start();
  BOOST_REQUIRE_MESSAGE(run.ok(), run.status().to_string());
  BOOST_REQUIRE(people.add_data({{101, "ann"}, {103, "cy"}, {7, "nobody"}}).is_ok());
  BOOST_REQUIRE(sql_input.add_data(kBatches[0]).is_ok());
  BOOST_REQUIRE(sql_input.add_data(kBatches[1]).is_ok());
  BOOST_REQUIRE(run->process_all_available().is_ok());
  BOOST_REQUIRE(run->stop().is_ok());
  auto rows = session.memory_table("sql_join_expr")->rows();
  std::sort(rows.begin(), rows.end());
  BOOST_TEST((rows == Rows{{1, 101, "ann"}, {1, 101, "ann"}, {3, 103, "cy"}}));
}

BOOST_AUTO_TEST_CASE(create_table_reads_a_static_table_for_stream_static_joins) {
  const auto directory = std::filesystem::temp_directory_path() /
                         ("sluice_sql_table_" + std::to_string(::getpid()));
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  {
    std::ofstream out(directory / "sellers.csv");
    out << "auction,seller\n1,ann\n3,cy\n";
  }
  auto created = context.execute("CREATE TABLE sellers (auction BIGINT, seller VARCHAR) WITH (connector = 'file', "
                                 "format = 'csv', path = '" +
                                 directory.string() + "', header = 'true')");
  BOOST_REQUIRE_MESSAGE(created.ok(), created.status().to_string());
  auto translated = context.sql("SELECT b.auction, price, s.seller FROM bids AS b JOIN sellers AS s ON b.auction = s.auction");
  BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
  BOOST_TEST(translated->is_streaming());
  auto run = translated->write_stream().format("memory").query_name("sql_static").start();
  BOOST_REQUIRE_MESSAGE(run.ok(), run.status().to_string());
  BOOST_REQUIRE(sql_input.add_data(kBatches[0]).is_ok());
  BOOST_REQUIRE(sql_input.add_data(kBatches[1]).is_ok());
  BOOST_REQUIRE(run->process_all_available().is_ok());
  BOOST_REQUIRE(run->stop().is_ok());
  auto rows = session.memory_table("sql_static")->rows();
  std::sort(rows.begin(), rows.end());
  BOOST_TEST((rows == Rows{{1, 10, "ann"}, {1, 25, "ann"}, {3, 40, "cy"}}));
  // A static table is not a stream: a query over it alone cannot run as a streaming query.
  auto alone = context.sql("SELECT * FROM sellers");
  BOOST_REQUIRE_MESSAGE(alone.ok(), alone.status().to_string());
  BOOST_TEST(!alone->is_streaming());
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(create_table_reads_a_table_sink_or_a_delta_table) {
  const auto directory = std::filesystem::temp_directory_path() /
                         ("sluice_sql_tables_" + std::to_string(::getpid()));
  std::filesystem::remove_all(directory);
  auto sellers_schema = Schema::make({{"auction", Type::Int64}, {"seller", Type::String}}).value();
  for (const std::string format : {"table", "delta"}) {
    MemoryStream sellers(session, sellers_schema);
    auto writer = sellers.to_df().write_stream().format(format).option("path", (directory / format).string());
    if (format == "table") writer.option("key", "auction");
    auto written = writer.option("checkpointLocation", (directory / (format + "_checkpoint")).string()).start();
    BOOST_REQUIRE_MESSAGE(written.ok(), written.status().to_string());
    BOOST_REQUIRE(sellers.add_data({{1, "ann"}, {2, "ben"}}).is_ok());
    BOOST_REQUIRE(written->process_all_available().is_ok());
    BOOST_REQUIRE(written->stop().is_ok());
  }
  auto created = context.execute(
      "CREATE TABLE latest WITH (connector = 'table', path = '" + (directory / "table").string() + "');\n" +
      "CREATE TABLE history (seller VARCHAR, auction BIGINT) WITH (connector = 'delta', path = '" +
      (directory / "delta").string() + "')");
  BOOST_REQUIRE_MESSAGE(created.ok(), created.status().to_string());
  auto translated = context.sql(
      "SELECT b.auction, l.seller AS latest, h.seller AS first FROM bids AS b\n"
      "JOIN latest AS l ON b.auction = l.auction JOIN history AS h ON b.auction = h.auction");
  BOOST_REQUIRE_MESSAGE(translated.ok(), translated.status().to_string());
  auto run = translated->write_stream().format("memory").query_name("sql_tables").start();
  BOOST_REQUIRE_MESSAGE(run.ok(), run.status().to_string());
  BOOST_REQUIRE(sql_input.add_data(kBatches[0]).is_ok());
  BOOST_REQUIRE(run->process_all_available().is_ok());
  BOOST_REQUIRE(run->stop().is_ok());
  auto rows = session.memory_table("sql_tables")->rows();
  std::sort(rows.begin(), rows.end());
  BOOST_TEST((rows == Rows{{1, "ann", "ann"}, {1, "ann", "ann"}, {2, "ben", "ben"}}));
  // A declared column the table does not have is named.
  auto wrong = context.execute("CREATE TABLE bad (auction BIGINT, buyer VARCHAR) WITH (connector = 'table', path = '" +
                               (directory / "table").string() + "')");
  BOOST_REQUIRE(!wrong.ok());
  BOOST_TEST(wrong.status().message().find("has no column 'buyer'") != std::string::npos, wrong.status().message());
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_SUITE_END()
