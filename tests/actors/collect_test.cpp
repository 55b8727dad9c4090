#define BOOST_TEST_MODULE collect
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "tests/support/temporary_directory.hpp"

// collect() computes a static DataFrame now: the same plans and operators as a stream, over
// the tables' current contents. Each test checks the rows against a plain computation.

using namespace sluice;
using namespace sluice::testing;

namespace {

using Rows = std::vector<std::vector<Value>>;

SchemaPtr sales_schema() {
  return Schema::make({{"shop", Type::String}, {"amount", Type::Int64}, {"day", Type::Int64}}).value();
}

Rows sorted(Rows rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(filters_projections_and_aggregates_match_a_plain_computation) {
  const unsigned seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937 random(seed);
  const std::vector<std::string> shops = {"north", "south", "east", "west"};
  Rows sales;
  std::map<std::string, std::pair<int64_t, int64_t>> per_shop;  // count, sum of amounts > 10
  Rows big;
  for (int i = 0; i < 5000; ++i) {
    const std::string shop = shops[random() % shops.size()];
    const int64_t amount = static_cast<int64_t>(random() % 100);
    const int64_t day = static_cast<int64_t>(random() % 7);
    sales.push_back({shop, amount, day});
    if (amount > 10) {
      ++per_shop[shop].first;
      per_shop[shop].second += amount;
      big.push_back({shop, amount * 2});
    }
  }
  Session session;
  DataFrame table = session.create_data_frame(RecordBatch::from_rows(sales_schema(), sales).value());
  BOOST_TEST(!table.is_streaming());

  auto doubled = table.filter(col("amount") > 10).select(col("shop"), (col("amount") * 2).alias("twice")).collect();
  BOOST_REQUIRE_MESSAGE(doubled.ok(), doubled.status().to_string());
  BOOST_TEST((*doubled)->schema()->to_string() == "shop STRING, twice BIGINT");
  BOOST_TEST(sorted((*doubled)->to_rows()) == sorted(big));

  auto totals = table.filter(col("amount") > 10)
                    .group_by(col("shop"))
                    .agg(count().alias("n"), sum(col("amount")).alias("total"))
                    .collect();
  BOOST_REQUIRE_MESSAGE(totals.ok(), totals.status().to_string());
  Rows expected;
  for (const auto& [shop, figures] : per_shop) expected.push_back({shop, figures.first, figures.second});
  BOOST_TEST(sorted((*totals)->to_rows()) == sorted(expected));

  // Collecting twice reads the table twice and gives the same rows.
  auto again = table.filter(col("amount") > 10).select(col("shop"), (col("amount") * 2).alias("twice")).collect();
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(sorted((*again)->to_rows()) == sorted(big));
}

BOOST_AUTO_TEST_CASE(files_read_with_session_read_are_collected_and_shown) {
  TemporaryDirectory directory;
  {
    std::ofstream out(std::filesystem::path(directory.path()) / "a.csv");
    out << "shop,amount,day\nnorth,5,1\nsouth,7,2\n";
  }
  {
    std::ofstream out(std::filesystem::path(directory.path()) / "b.csv");
    out << "shop,amount,day\nnorth,11,3\n";
  }
  Session session;
  DataFrame files =
      session.read().format("csv").option("header", "true").schema(sales_schema()).load(directory.path());
  BOOST_REQUIRE_MESSAGE(files.status().is_ok(), files.status().to_string());
  auto rows = files.group_by(col("shop")).agg(sum(col("amount")).alias("total")).collect();
  BOOST_REQUIRE_MESSAGE(rows.ok(), rows.status().to_string());
  BOOST_TEST(sorted((*rows)->to_rows()) == (Rows{{"north", 16}, {"south", 7}}));
  auto shown = files.filter(col("shop") == "north").show_string();
  BOOST_REQUIRE_MESSAGE(shown.ok(), shown.status().to_string());
  BOOST_TEST(shown->find("| shop|amount|day|") != std::string::npos, *shown);
  BOOST_TEST(shown->find("|north|    11|  3|") != std::string::npos, *shown);
}

BOOST_AUTO_TEST_CASE(an_empty_result_has_the_schema_and_a_stream_is_refused) {
  Session session;
  DataFrame table = session.create_data_frame(RecordBatch::from_rows(sales_schema(), Rows{{"north", 1, 1}}).value());
  auto none = table.filter(col("amount") > 100).collect();
  BOOST_REQUIRE_MESSAGE(none.ok(), none.status().to_string());
  BOOST_TEST((*none)->num_rows() == 0);
  BOOST_TEST((*none)->schema()->to_string() == sales_schema()->to_string());

  MemoryStream stream(session, sales_schema());
  auto refused = stream.to_df().collect();
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.status().message().find("a stream runs with write_stream().start()") != std::string::npos,
             refused.status().message());
  // An error in the plan is the plan's error.
  auto wrong = table.select(col("amout")).collect();
  BOOST_REQUIRE(!wrong.ok());
  BOOST_TEST(wrong.status().message().find("amout") != std::string::npos, wrong.status().message());
}
