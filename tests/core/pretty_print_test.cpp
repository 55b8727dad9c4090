#define BOOST_TEST_MODULE pretty_print
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "core/pretty_print.hpp"

using namespace sluice;

namespace {

RecordBatchPtr batch_of(std::vector<Field> fields, const std::vector<std::vector<Value>>& rows) {
  auto batch = RecordBatch::from_rows(Schema::make(std::move(fields)).value(), rows);
  BOOST_REQUIRE_MESSAGE(batch.ok(), batch.status().to_string());
  return *batch;
}

RecordBatchPtr numbered(int64_t rows) {
  std::vector<std::vector<Value>> values;
  for (int64_t i = 1; i <= rows; ++i)
    values.push_back({Value(i)});
  return batch_of({{"n", Type::Int64}}, values);
}

int64_t micros_of(std::chrono::year_month_day date, int64_t seconds, int64_t micros) {
  using namespace std::chrono;
  return duration_cast<microseconds>(sys_days{date}.time_since_epoch()).count() +
         seconds * 1'000'000 + micros;
}

}  // namespace

BOOST_AUTO_TEST_CASE(small_batch_renders_like_spark_show) {
  auto batch = batch_of({{"id", Type::Int64}, {"name", Type::String}},
                        {{Value(1), Value("alice")}, {Value(2), Value()}});
  BOOST_TEST(show(*batch) ==
             "+---+-----+\n"
             "| id| name|\n"
             "+---+-----+\n"
             "|  1|alice|\n"
             "|  2| null|\n"
             "+---+-----+\n");
}

BOOST_AUTO_TEST_CASE(columns_are_at_least_three_wide_and_booleans_print_as_words) {
  auto batch = batch_of({{"b", Type::Bool}}, {{Value(true)}, {Value(false)}});
  BOOST_TEST(show(*batch) ==
             "+-----+\n"
             "|    b|\n"
             "+-----+\n"
             "| true|\n"
             "|false|\n"
             "+-----+\n");
  auto narrow = batch_of({{"x", Type::Int64}}, {{Value(7)}});
  BOOST_TEST(show(*narrow) ==
             "+---+\n"
             "|  x|\n"
             "+---+\n"
             "|  7|\n"
             "+---+\n");
}

BOOST_AUTO_TEST_CASE(cells_longer_than_twenty_characters_end_in_an_ellipsis) {
  auto batch = batch_of(
      {{"s", Type::String}},
      {{Value("abcdefghijklmnopqrstuvwxyz")}, {Value("exactly twenty chars")}, {Value("short")}});
  BOOST_TEST(show(*batch) ==
             "+--------------------+\n"
             "|                   s|\n"
             "+--------------------+\n"
             "|abcdefghijklmnopq...|\n"
             "|exactly twenty chars|\n"
             "|               short|\n"
             "+--------------------+\n");
}

BOOST_AUTO_TEST_CASE(truncate_zero_keeps_whole_cells_and_aligns_left) {
  auto batch =
      batch_of({{"s", Type::String}, {"n", Type::Int64}},
               {{Value("abcdefghijklmnopqrstuvwxyz"), Value(1)}, {Value("short"), Value()}});
  BOOST_TEST(show(*batch, {.num_rows = 20, .truncate = 0}) ==
             "+--------------------------+----+\n"
             "|s                         |n   |\n"
             "+--------------------------+----+\n"
             "|abcdefghijklmnopqrstuvwxyz|1   |\n"
             "|short                     |null|\n"
             "+--------------------------+----+\n");
}

BOOST_AUTO_TEST_CASE(truncate_below_four_cuts_without_an_ellipsis) {
  auto batch =
      batch_of({{"s", Type::String}, {"n", Type::Int64}},
               {{Value("abcdef"), Value(12345)}, {Value("ab"), Value(7)}, {Value(), Value()}});
  BOOST_TEST(show(*batch, {.num_rows = 20, .truncate = 3}) ==
             "+---+---+\n"
             "|  s|  n|\n"
             "+---+---+\n"
             "|abc|123|\n"
             "| ab|  7|\n"
             "|nul|nul|\n"
             "+---+---+\n");
  BOOST_TEST(show(*batch, {.num_rows = 20, .truncate = 5}) ==
             "+-----+-----+\n"
             "|    s|    n|\n"
             "+-----+-----+\n"
             "|ab...|12345|\n"
             "|   ab|    7|\n"
             "| null| null|\n"
             "+-----+-----+\n");
}

BOOST_AUTO_TEST_CASE(column_names_are_never_truncated) {
  auto batch = batch_of({{"a_column_name_longer_than_twenty", Type::Int64}}, {{Value(1)}});
  BOOST_TEST(show(*batch) ==
             "+--------------------------------+\n"
             "|a_column_name_longer_than_twenty|\n"
             "+--------------------------------+\n"
             "|                               1|\n"
             "+--------------------------------+\n");
}

BOOST_AUTO_TEST_CASE(non_ascii_text_aligns_and_truncates_by_code_points) {
  auto batch = batch_of({{"city", Type::String}},
                        {{Value("Zürich")}, {Value("東京")}, {Value("São Paulo")}});
  BOOST_TEST(show(*batch) ==
             "+---------+\n"
             "|     city|\n"
             "+---------+\n"
             "|   Zürich|\n"
             "|       東京|\n"
             "|São Paulo|\n"
             "+---------+\n");
  auto long_text = batch_of({{"w", Type::String}}, {{Value("Ünïcödé")}, {Value("日本語テキスト")}});
  BOOST_TEST(show(*long_text, {.num_rows = 20, .truncate = 5}) ==
             "+-----+\n"
             "|    w|\n"
             "+-----+\n"
             "|Ün...|\n"
             "|日本...|\n"
             "+-----+\n");
  BOOST_TEST(show(*long_text, {.num_rows = 20, .truncate = 2}) ==
             "+---+\n"
             "|  w|\n"
             "+---+\n"
             "| Ün|\n"
             "| 日本|\n"
             "+---+\n");
}

BOOST_AUTO_TEST_CASE(footer_says_how_many_rows_were_shown_when_some_were_left_out) {
  auto batch = numbered(5);
  BOOST_TEST(show(*batch, {.num_rows = 3, .truncate = 20}) ==
             "+---+\n"
             "|  n|\n"
             "+---+\n"
             "|  1|\n"
             "|  2|\n"
             "|  3|\n"
             "+---+\n"
             "only showing top 3 rows\n");
  BOOST_TEST(show(*batch, {.num_rows = 1, .truncate = 20}) ==
             "+---+\n"
             "|  n|\n"
             "+---+\n"
             "|  1|\n"
             "+---+\n"
             "only showing top 1 row\n");
  BOOST_TEST(show(*batch, {.num_rows = 0, .truncate = 20}) ==
             "+---+\n"
             "|  n|\n"
             "+---+\n"
             "+---+\n"
             "only showing top 0 rows\n");
}

BOOST_AUTO_TEST_CASE(no_footer_when_every_row_is_shown) {
  const std::string text = show(*numbered(5), {.num_rows = 5, .truncate = 20});
  BOOST_TEST(text.find("only showing") == std::string::npos);
  BOOST_TEST(text.find("|  5|\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(default_shows_twenty_rows) {
  const std::string text = show(*numbered(25));
  BOOST_TEST(text.find("| 20|\n") != std::string::npos);
  BOOST_TEST(text.find("| 21|\n") == std::string::npos);
  BOOST_TEST(text.ends_with("+---+\nonly showing top 20 rows\n"));
}

BOOST_AUTO_TEST_CASE(empty_batch_shows_the_header_between_borders) {
  auto batch =
      RecordBatch::make_empty(Schema::make({{"id", Type::Int64}, {"name", Type::String}}).value());
  BOOST_TEST(show(*batch) ==
             "+---+----+\n"
             "| id|name|\n"
             "+---+----+\n"
             "+---+----+\n");
}

BOOST_AUTO_TEST_CASE(batch_without_columns_shows_empty_borders_like_spark) {
  auto batch = RecordBatch::make(Schema::make({}).value(), {}, 2).value();
  BOOST_TEST(show(*batch) ==
             "++\n"
             "||\n"
             "++\n"
             "||\n"
             "||\n"
             "++\n");
}

BOOST_AUTO_TEST_CASE(doubles_and_timestamps_render_as_value_to_string) {
  using namespace std::chrono;
  auto batch = batch_of(
      {{"x", Type::Double}, {"t", Type::Timestamp}},
      {{Value(1.5), Value(Timestamp{micros_of(2024y / February / 29, 12 * 3600, 500'000)})},
       {Value(100.0), Value()},
       {Value(std::nan("")), Value(Timestamp{0})},
       {Value(-0.25), Value(Timestamp{-1})}});
  BOOST_TEST(show(*batch, {.num_rows = 20, .truncate = 30}) ==
             "+-----+--------------------------+\n"
             "|    x|                         t|\n"
             "+-----+--------------------------+\n"
             "|  1.5|     2024-02-29 12:00:00.5|\n"
             "|100.0|                      null|\n"
             "|  NaN|       1970-01-01 00:00:00|\n"
             "|-0.25|1969-12-31 23:59:59.999999|\n"
             "+-----+--------------------------+\n");
  // At the default width a fractional timestamp is cut like any other long cell.
  BOOST_TEST(show(*batch->slice(0, 1)) ==
             "+---+--------------------+\n"
             "|  x|                   t|\n"
             "+---+--------------------+\n"
             "|1.5|2024-02-29 12:00:...|\n"
             "+---+--------------------+\n");
}
