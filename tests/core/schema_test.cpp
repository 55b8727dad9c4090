#define BOOST_TEST_MODULE schema
#include <boost/test/unit_test.hpp>

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
