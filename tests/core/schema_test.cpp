#define BOOST_TEST_MODULE schema
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "core/schema.hpp"

using namespace sluice;

BOOST_AUTO_TEST_CASE(lookup_by_name_finds_the_index) {
  auto schema = Schema::make({{"id", Type::Int64}, {"name", Type::String}}).value();
  BOOST_TEST(schema->index_of("name").value() == 1);
  BOOST_TEST(schema->find("missing") == -1);
}

BOOST_AUTO_TEST_CASE(missing_column_error_names_it_and_suggests_the_closest) {
  auto schema = Schema::make({{"price", Type::Double}, {"auction", Type::Int64}}).value();
  auto result = schema->index_of("prise");
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(result.status().code() == StatusCode::not_found);
  BOOST_TEST(result.status().message().find("'prise'") != std::string::npos);
  BOOST_TEST(result.status().message().find("did you mean 'price'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_suggestion_when_nothing_is_close) {
  auto schema = Schema::make({{"price", Type::Double}}).value();
  auto result = schema->index_of("zzzzzzzz");
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(result.status().message().find("did you mean") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(duplicate_and_empty_names_are_refused) {
  BOOST_TEST(!Schema::make({{"a", Type::Int64}, {"a", Type::String}}).ok());
  BOOST_TEST(!Schema::make({{"", Type::Int64}}).ok());
}

BOOST_AUTO_TEST_CASE(duplicate_and_empty_name_errors_say_which) {
  auto duplicate = Schema::make({{"a", Type::Int64}, {"a", Type::String}});
  BOOST_REQUIRE(!duplicate.ok());
  BOOST_TEST(duplicate.status().code() == StatusCode::invalid_argument);
  BOOST_TEST(duplicate.status().message() == "schema has two fields named 'a'");
  auto empty = Schema::make({{"a", Type::Int64}, {"", Type::String}});
  BOOST_REQUIRE(!empty.ok());
  BOOST_TEST(empty.status().message() == "schema field 1 has an empty name");
}

BOOST_AUTO_TEST_CASE(to_string_lists_fields_in_order_with_not_null_marks) {
  auto schema = Schema::make({{"id", Type::Int64, false},
                              {"ok", Type::Bool},
                              {"x", Type::Double},
                              {"s", Type::String, false},
                              {"t", Type::Timestamp}})
                    .value();
  BOOST_TEST(schema->to_string() ==
             "id BIGINT NOT NULL, ok BOOLEAN, x DOUBLE, s STRING NOT NULL, t TIMESTAMP");
  BOOST_TEST(schema->num_fields() == 5);
  BOOST_TEST(schema->field(3).name == "s");
  BOOST_TEST(!schema->field(3).nullable);
}

BOOST_AUTO_TEST_CASE(names_are_case_sensitive_but_suggestions_are_not) {
  auto schema = Schema::make({{"Price", Type::Double}}).value();
  BOOST_TEST(schema->find("price") == -1);
  auto result = schema->index_of("PRICE");
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(result.status().message() ==
             "no column named 'PRICE'; did you mean 'Price'? (columns: Price)");
}

BOOST_AUTO_TEST_CASE(closest_name_picks_the_smallest_edit_distance_within_a_third) {
  const std::vector<std::string> names = {"auction", "bidder", "price", "date_time"};
  BOOST_TEST(closest_name("bider", names) == "bidder");
  BOOST_TEST(closest_name("datetime", names) == "date_time");
  BOOST_TEST(closest_name("prcie", names) == "price");
  BOOST_TEST(closest_name("xyz", names) == "");
  BOOST_TEST(closest_name("anything", {}) == "");
}

BOOST_AUTO_TEST_CASE(schemas_compare_by_fields) {
  auto a = Schema::make({{"id", Type::Int64}}).value();
  auto b = Schema::make({{"id", Type::Int64}}).value();
  auto c = Schema::make({{"id", Type::Int64, false}}).value();
  BOOST_TEST((*a == *b));
  BOOST_TEST(!(*a == *c));
}
