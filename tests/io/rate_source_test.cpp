#define BOOST_TEST_MODULE rate_source
#include <boost/test/unit_test.hpp>

#include "io/memory_source.hpp"
#include "io/rate_source.hpp"

using namespace sluice;

namespace {

std::vector<std::vector<Value>> read_all(Source& source, int partition, int64_t start, int64_t end) {
  auto reader = source.open_reader(partition, start, end).value();
  std::vector<std::vector<Value>> rows;
  RecordBatchPtr batch;
  while (reader->next(batch).value() == ReadFlow::have_batch) {
    auto more = batch->to_rows();
    rows.insert(rows.end(), more.begin(), more.end());
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rate_offsets_follow_the_clock_and_split_values_by_partition) {
  auto clock = std::make_shared<ManualClock>(0);
  RateSourceOptions options;
  options.rows_per_second = 10;
  options.num_partitions = 3;
  RateSource source(options, clock);
  BOOST_TEST(source.latest_offset(source.initial_offset(), {}).value() == (SourceOffset{0, 0, 0}));
  clock->advance_micros(1'000'000);
  // 10 rows: values 0..9; partition p holds values with v % 3 == p.
  BOOST_TEST(source.latest_offset(source.initial_offset(), {}).value() == (SourceOffset{4, 3, 3}));
  auto rows = read_all(source, 1, 0, 3);
  BOOST_REQUIRE(rows.size() == 3u);
  BOOST_TEST(rows[0][1].as_int64() == 1);
  BOOST_TEST(rows[2][1].as_int64() == 7);
  BOOST_TEST(rows[2][0].as_timestamp().micros == 700'000);
}

BOOST_AUTO_TEST_CASE(replaying_a_range_gives_the_same_rows_after_restoring_metadata) {
  auto clock = std::make_shared<ManualClock>(5'000'000);
  RateSourceOptions options;
  options.rows_per_second = 1000;
  RateSource first(options, clock);
  const std::string saved = first.save_metadata();
  clock->advance_micros(3'000'000);
  RateSource second(options, clock);
  BOOST_REQUIRE(second.restore_metadata(saved).is_ok());
  BOOST_TEST(read_all(first, 0, 100, 200) == read_all(second, 0, 100, 200));
  BOOST_TEST(!second.restore_metadata("not a number").is_ok());
}

BOOST_AUTO_TEST_CASE(ramp_up_grows_the_rate_linearly) {
  auto clock = std::make_shared<ManualClock>(0);
  RateSourceOptions options;
  options.rows_per_second = 100;
  options.ramp_up_seconds = 10;
  RateSource source(options, clock);
  // Rows after t seconds of ramp-up: rate * t^2 / (2 * ramp).
  BOOST_TEST(source.rows_at(5'000'000) == 125);
  BOOST_TEST(source.rows_at(10'000'000) == 500);
  BOOST_TEST(source.rows_at(12'000'000) == 700);
  for (int64_t v : {0, 1, 124, 499, 500, 650}) {
    BOOST_TEST(source.rows_at(source.elapsed_for(v) + 1) >= v);
  }
}

BOOST_AUTO_TEST_CASE(bad_rate_options_name_the_option) {
  auto unknown = RateSourceOptions::parse({{"rowsPerSec", "5"}});
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.status().message().find("'rowsPerSec'") != std::string::npos);
  auto negative = RateSourceOptions::parse({{"numPartitions", "0"}});
  BOOST_REQUIRE(!negative.ok());
  BOOST_TEST(negative.status().message().find("numPartitions") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(memory_source_reads_exact_ranges_across_batches) {
  auto schema = Schema::make({{"x", Type::Int64}}).value();
  MemorySource source(schema);
  BOOST_TEST(source.add(RecordBatch::from_rows(schema, {{1}, {2}, {3}}).value()).value() == 3);
  BOOST_TEST(source.add(RecordBatch::from_rows(schema, {{4}, {5}}).value()).value() == 5);
  BOOST_TEST(read_all(source, 0, 2, 4) == (std::vector<std::vector<Value>>{{3}, {4}}));
  BOOST_TEST(source.latest_offset({1}, ReadLimit{2}).value() == (SourceOffset{3}));
  BOOST_TEST(!source.open_reader(0, 3, 9).ok());
  auto other = Schema::make({{"y", Type::String}}).value();
  BOOST_TEST(!source.add(RecordBatch::make_empty(other)).ok());
}

BOOST_AUTO_TEST_CASE(offsets_round_trip_through_json_and_garbage_is_refused) {
  BOOST_TEST(offset_from_json(offset_to_json({1, -2, 300})).value() == (SourceOffset{1, -2, 300}));
  BOOST_TEST(offset_from_json("[]").value().empty());
  for (const char* bad : {"", "[", "[1,]", "[a]", "1,2", "[1 2]"}) {
    BOOST_TEST(!offset_from_json(bad).ok(), bad);
  }
}
