#define BOOST_TEST_MODULE nexmark_generator
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>

#include "bench/nexmark/generator.hpp"
#include "bench/nexmark/nexmark_source.hpp"
#include "core/clock.hpp"

using namespace sluice;
using namespace sluice::nexmark;

namespace {

std::shared_ptr<const Generator> make_generator(GeneratorConfig config = {}) {
  auto generator = Generator::make(config);
  BOOST_REQUIRE_MESSAGE(generator.ok(), generator.status().to_string());
  return *generator;
}

std::string row_text(const RecordBatch& batch, int64_t row) {
  std::string text;
  for (int c = 0; c < batch.num_columns(); ++c)
    text += batch.column(c)->value_at(row).to_string() + "|";
  return text;
}

}  // namespace

BOOST_AUTO_TEST_CASE(event_kinds_follow_the_one_three_forty_six_proportions) {
  auto generator = make_generator();
  std::map<EventKind, int> counts;
  for (int64_t n = 0; n < 5000; ++n)
    ++counts[generator->kind(n)];
  BOOST_TEST(counts[EventKind::person] == 100);
  BOOST_TEST(counts[EventKind::auction] == 300);
  BOOST_TEST(counts[EventKind::bid] == 4600);
  BOOST_TEST((generator->kind(0) == EventKind::person));
  BOOST_TEST((generator->kind(3) == EventKind::auction));
  BOOST_TEST((generator->kind(4) == EventKind::bid));
}

BOOST_AUTO_TEST_CASE(ids_are_sequential_from_1000_and_references_point_to_recent_entities) {
  auto generator = make_generator();
  const int64_t events = 50'000;
  auto persons = generator->make_batch(EventKind::person, 0, events);
  auto auctions = generator->make_batch(EventKind::auction, 0, events);
  auto bids = generator->make_batch(EventKind::bid, 0, events);
  BOOST_REQUIRE(persons->num_rows() == 1000);
  BOOST_REQUIRE(auctions->num_rows() == 3000);
  for (int64_t i = 0; i < persons->num_rows(); ++i)
    BOOST_TEST(persons->column(0)->values<int64_t>()[i] == 1000 + i);
  for (int64_t i = 0; i < auctions->num_rows(); ++i) {
    BOOST_TEST(auctions->column(0)->values<int64_t>()[i] == 1000 + i);
    const int64_t category = auctions->column(8)->values<int64_t>()[i];
    BOOST_TEST((category >= 10 && category <= 14));
    BOOST_TEST(auctions->column(6)->values<int64_t>()[i] >
               auctions->column(5)->values<int64_t>()[i]);
  }
  // Hot auctions (ratio 2): about half the bids go to the first auction of a block of 100.
  int64_t hot = 0;
  for (int64_t i = 0; i < bids->num_rows(); ++i) {
    const int64_t auction = bids->column(0)->values<int64_t>()[i];
    const int64_t price = bids->column(2)->values<int64_t>()[i];
    BOOST_TEST(auction >= 1000);
    BOOST_TEST(auction <= 1000 + 3000 + 10);
    BOOST_TEST((price >= 100 && price <= 100'000'000));
    if ((auction - 1000) % 100 == 0) ++hot;
  }
  BOOST_TEST(hot > bids->num_rows() * 45 / 100);
  BOOST_TEST(hot < bids->num_rows() * 60 / 100);
}

BOOST_AUTO_TEST_CASE(event_times_follow_the_first_event_rate) {
  GeneratorConfig config;
  config.first_event_rate = 1000;  // one event per millisecond
  auto generator = make_generator(config);
  auto bids = generator->make_batch(EventKind::bid, 0, 100);
  BOOST_REQUIRE(bids->num_rows() == 92);
  // Bid 0 is event 4: 4 ms after the base time.
  BOOST_TEST(bids->column(5)->values<int64_t>()[0] == (config.base_time_ms + 4) * 1000);
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_identical_events_and_another_seed_different_ones) {
  auto first = make_generator();
  auto again = make_generator();
  GeneratorConfig other_config;
  other_config.seed = 7;
  auto other = make_generator(other_config);
  for (EventKind kind : {EventKind::person, EventKind::auction, EventKind::bid}) {
    auto a = first->make_batch(kind, 0, 2000);
    auto b = again->make_batch(kind, 0, 2000);
    auto c = other->make_batch(kind, 0, 2000);
    int differing = 0;
    for (int64_t row = 0; row < a->num_rows(); ++row) {
      BOOST_TEST(row_text(*a, row) == row_text(*b, row));
      if (row_text(*a, row) != row_text(*c, row)) ++differing;
    }
    BOOST_TEST(differing > 0);
  }
}

BOOST_AUTO_TEST_CASE(any_range_replays_identically_whatever_the_partitioning) {
  auto generator = make_generator();
  auto whole = generator->make_batch(EventKind::bid, 0, 3000);
  std::multiset<std::string> expected, from_partitions;
  for (int64_t row = 0; row < whole->num_rows(); ++row)
    expected.insert(row_text(*whole, row));
  // Three partitions, read in pieces of uneven size through the source's readers.
  SourceOptions options;
  options.num_partitions = 3;
  options.rows_per_batch = 77;
  auto source = NexmarkSource::make(options, system_clock());
  BOOST_REQUIRE(source.ok());
  for (int partition = 0; partition < 3; ++partition) {
    for (auto [start, end] : std::vector<std::pair<int64_t, int64_t>>{{0, 400}, {400, 1000}}) {
      auto reader = (*source)->open_reader(partition, start, end);
      BOOST_REQUIRE(reader.ok());
      RecordBatchPtr batch;
      while (*(*reader)->next(batch) == ReadFlow::have_batch) {
        for (int64_t row = 0; row < batch->num_rows(); ++row)
          from_partitions.insert(row_text(*batch, row));
      }
    }
  }
  BOOST_TEST((from_partitions == expected));
}

BOOST_AUTO_TEST_CASE(out_of_order_groups_permute_ids_within_each_group) {
  GeneratorConfig config;
  config.out_of_order_group_size = 10;
  auto generator = make_generator(config);
  std::set<int64_t> ids;
  for (int64_t n = 0; n < 100; ++n) {
    const int64_t id = generator->event_id(n);
    BOOST_TEST(id / 10 == n / 10);
    ids.insert(id);
  }
  BOOST_TEST(ids.size() == 100u);
  BOOST_TEST(generator->event_id(1) != 1);
}

BOOST_AUTO_TEST_CASE(bad_options_are_errors_naming_the_option) {
  auto unknown = SourceOptions::parse({{"speed", "3"}});
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.status().to_string().find("'speed'") != std::string::npos);
  auto negative = SourceOptions::parse({{"firstEventRate", "0"}});
  BOOST_REQUIRE(!negative.ok());
  BOOST_TEST(negative.status().to_string().find("firstEventRate") != std::string::npos);
  auto stream = SourceOptions::parse({{"stream", "bids"}});
  BOOST_REQUIRE(!stream.ok());
  BOOST_TEST(stream.status().to_string().find("'bids'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(json_records_carry_the_event_type_and_fields) {
  auto generator = make_generator();
  const std::string person = generator->to_json(0);
  BOOST_TEST(person.rfind("{\"event_type\":0,\"id\":1000,\"name\":", 0) == 0);
  const std::string bid = generator->to_json(4);
  BOOST_TEST(bid.rfind("{\"event_type\":2,\"auction\":", 0) == 0);
  BOOST_TEST(bid.find("\"date_time\":\"2023-11-14 22:13:20.000\"") != std::string::npos);
}
