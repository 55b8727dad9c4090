#define BOOST_TEST_MODULE window_assigner
#include <boost/test/unit_test.hpp>

#include <random>

#include "operators/window_assigner.hpp"
#include "tests/operators/stateful_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

SchemaPtr events() {
  return schema_of({{"k", Type::Int64}, {"t", Type::Timestamp}});
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Enumerates the windows offset + m * slide (any integer m) that contain t, latest first.
Rows reference(const Rows& input, const WindowDefinition& window) {
  Rows out;
  for (const Row& row : input) {
    if (row[1].is_null()) continue;
    const int64_t t = row[1].as_timestamp().micros;
    const int64_t latest = floor_div(t - window.start_offset_micros, window.slide_micros);
    for (int64_t m = latest;; --m) {
      const int64_t start = window.start_offset_micros + m * window.slide_micros;
      if (start + window.size_micros <= t) break;
      Row windowed = row;
      windowed.push_back(Value(Timestamp{start}));
      windowed.push_back(Value(Timestamp{start + window.size_micros}));
      out.push_back(std::move(windowed));
    }
  }
  return out;
}

Rows random_events(std::mt19937_64& random, int count, bool nulls) {
  Rows rows;
  for (int i = 0; i < count; ++i) {
    Value t = Value(Timestamp{static_cast<int64_t>(random() % 401) - 200});
    if (nulls && random() % 7 == 0) t = Value();
    rows.push_back({Value(static_cast<int64_t>(i)), t});
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(parse_duration_reads_spark_durations) {
  BOOST_TEST(*parse_duration("10 seconds") == 10'000'000);
  BOOST_TEST(*parse_duration("1 minute") == 60'000'000);
  BOOST_TEST(*parse_duration("500 milliseconds") == 500'000);
  BOOST_TEST(*parse_duration("2 hours") == 7'200'000'000);
  BOOST_TEST(*parse_duration("1 day") == 86'400'000'000);
  BOOST_TEST(*parse_duration("1 second 500 milliseconds") == 1'500'000);
  BOOST_TEST(*parse_duration("interval 3 minutes") == 180'000'000);
  for (std::string text : {"10 parsecs", "", "ten seconds", "10", "1 month"}) {
    auto parsed = parse_duration(text);
    BOOST_REQUIRE_MESSAGE(!parsed.ok(), text);
    BOOST_TEST(parsed.status().code() == StatusCode::invalid_argument);
    BOOST_TEST(contains(parsed.status().message(), "'" + text + "'"), parsed.status().message());
  }
}

BOOST_AUTO_TEST_CASE(windows_match_the_reference_for_tumbling_sliding_offset_and_negative_times) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  const std::vector<WindowDefinition> windows = {{10, 10, 0}, {10, 5, 0},   {10, 3, 0},
                                                 {10, 5, 2},  {10, 10, -3}, {7, 7, 6},
                                                 {12, 4, -1}, {1, 1, 0},    {5, 2, 1}};
  for (bool nulls : {false, true}) {
    const Rows input = random_events(random, 300, nulls);
    auto batch = batch_of(events(), input);
    for (const auto& window : windows) {
      auto windowed = assign_windows(*batch, 1, window);
      BOOST_REQUIRE_MESSAGE(windowed.ok(), windowed.status().to_string());
      const std::string what = "size " + std::to_string(window.size_micros) + " slide " +
                               std::to_string(window.slide_micros) + " offset " +
                               std::to_string(window.start_offset_micros) +
                               (nulls ? " with nulls" : "");
      const Rows actual = (*windowed)->to_rows();
      const Rows expected = reference(input, window);
      BOOST_REQUIRE_MESSAGE(actual.size() == expected.size(),
                            what << ": " << actual.size() << " rows, expected " << expected.size());
      for (size_t i = 0; i < actual.size(); ++i) {
        BOOST_REQUIRE_MESSAGE(actual[i] == expected[i], what << " row " << i << ": "
                                                             << row_text(actual[i]) << " vs "
                                                             << row_text(expected[i]));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(tumbling_windows_without_nulls_share_the_input_columns) {
  auto batch = batch_of(events(), {{1, Timestamp{-1}}, {2, Timestamp{0}}, {3, Timestamp{19}}});
  auto windowed = assign_windows(*batch, 1, {10, 10, 0});
  BOOST_REQUIRE(windowed.ok());
  BOOST_TEST((*windowed)->column(0).get() == batch->column(0).get());
  check_same_rows((*windowed)->to_rows(),
                  {{1, Timestamp{-1}, Timestamp{-10}, Timestamp{0}},
                   {2, Timestamp{0}, Timestamp{0}, Timestamp{10}},
                   {3, Timestamp{19}, Timestamp{10}, Timestamp{20}}},
                  "tumbling");
}

BOOST_AUTO_TEST_CASE(rows_with_a_null_event_time_are_dropped) {
  auto batch = batch_of(events(), {{1, Value()}, {2, Timestamp{5}}, {3, Value()}});
  for (WindowDefinition window : {WindowDefinition{10, 10, 0}, WindowDefinition{10, 5, 0}}) {
    auto windowed = assign_windows(*batch, 1, window);
    BOOST_REQUIRE(windowed.ok());
    for (const Row& row : (*windowed)->to_rows()) {
      BOOST_TEST(row[0] == Value(2));
    }
    const int64_t expected_rows = window.slide_micros == 10 ? 1 : 2;
    BOOST_TEST((*windowed)->num_rows() == expected_rows);
  }
}

BOOST_AUTO_TEST_CASE(windowed_schema_appends_window_start_and_end) {
  auto schema = windowed_schema(*events());
  BOOST_REQUIRE(schema.ok());
  BOOST_TEST((*schema)->num_fields() == 4);
  BOOST_TEST((*schema)->field(2).name == "window.start");
  BOOST_TEST((*schema)->field(3).name == "window.end");
  BOOST_TEST((*schema)->field(3).type == Type::Timestamp);
  BOOST_TEST(!(*schema)->field(3).nullable);
  BOOST_TEST(!windowed_schema(**schema).ok());
  auto batch = batch_of(events(), {{1, Timestamp{5}}});
  BOOST_TEST((*(*assign_windows(*batch, 1, {10, 5, 0}))->schema() == **schema));
}

BOOST_AUTO_TEST_CASE(invalid_definitions_and_columns_are_rejected) {
  auto batch = batch_of(events(), {{1, Timestamp{5}}});
  for (WindowDefinition window :
       {WindowDefinition{0, 1, 0}, WindowDefinition{10, 0, 0}, WindowDefinition{10, 20, 0},
        WindowDefinition{10, 5, 5}, WindowDefinition{10, 5, -5}}) {
    auto windowed = assign_windows(*batch, 1, window);
    BOOST_REQUIRE(!windowed.ok());
    BOOST_TEST(windowed.status().code() == StatusCode::invalid_argument);
  }
  auto not_time = assign_windows(*batch, 0, {10, 10, 0});
  BOOST_REQUIRE(!not_time.ok());
  BOOST_TEST(not_time.status().code() == StatusCode::type_error);
  BOOST_TEST(contains(not_time.status().message(), "'k'"));
  BOOST_TEST(!assign_windows(*batch, 7, {10, 10, 0}).ok());
}
