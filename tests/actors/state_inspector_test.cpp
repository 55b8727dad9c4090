#define BOOST_TEST_MODULE state_inspector
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "operators/key_encoder.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using sluice::testing::TemporaryDirectory;

namespace {

SchemaPtr events() {
  return Schema::make({{"k", Type::String}, {"v", Type::Int64}}).value();
}

// Returns the partition of `partitions` that owns string key `key`, by the engine's contract
// (key_encoder.hpp): a hash of the key's encoding.
int64_t owner_of(const std::string& key, int partitions) {
  auto schema = events();
  auto batch = RecordBatch::from_rows(schema, {{key, int64_t{0}}}).value();
  std::vector<std::string> keys;
  KeyEncoder::make(*schema, {0}).value().encode(*batch, keys);
  return key_partition(keys[0], partitions);
}

std::map<std::string, Value> row_of(const RecordBatch& batch, int64_t index) {
  std::map<std::string, Value> row;
  const auto rows = batch.to_rows();
  for (int c = 0; c < batch.schema()->num_fields(); ++c) {
    row[batch.schema()->field(c).name] = rows[static_cast<size_t>(index)][static_cast<size_t>(c)];
  }
  return row;
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_aggregation_lists_every_group_once_with_its_partition_count_and_sum) {
  const unsigned seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937 random(seed);
  TemporaryDirectory dir;
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  MemoryStream input(session, events());
  auto query = input.to_df()
                   .group_by(col("k"))
                   .agg(count().alias("n"), sum(col("v")).alias("total"))
                   .write_stream()
                   .format("noop")
                   .output_mode(OutputMode::Update)
                   .option("checkpointLocation", dir.path())
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  // The reference: count and sum per key, computed here; a null v counts, but adds nothing.
  std::map<std::string, std::pair<int64_t, std::optional<int64_t>>> expected;
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::vector<Value>> rows;
    for (int i = 0; i < 40; ++i) {
      const std::string key = "k" + std::to_string(random() % 12);
      auto& [count, sum] = expected[key];
      ++count;
      if (random() % 5 == 0) {
        rows.push_back({key, nullptr});
      } else {
        const int64_t v = static_cast<int64_t>(random() % 100) - 20;
        sum = sum.value_or(0) + v;
        rows.push_back({key, v});
      }
    }
    BOOST_REQUIRE(input.add_data(rows).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  BOOST_REQUIRE(query->stop().is_ok());

  auto state = inspect_state(dir.path(), {.num_partitions = 2});
  BOOST_REQUIRE_MESSAGE(state.ok(), state.status().to_string());
  const RecordBatch& batch = **state;
  BOOST_TEST(batch.schema()->to_string() == Schema::make({{"operator", Type::String, false},
                                                          {"partition", Type::Int64, false},
                                                          {"k", Type::String, true},
                                                          {"n", Type::Int64, false},
                                                          {"total", Type::Int64, true},
                                                          {"value", Type::String, false},
                                                          {"value_bytes", Type::Int64, false}})
                                                .value()
                                                ->to_string());
  BOOST_REQUIRE_EQUAL(batch.num_rows(), static_cast<int64_t>(expected.size()));
  std::set<std::string> seen;
  std::set<int64_t> partitions;
  for (int64_t r = 0; r < batch.num_rows(); ++r) {
    auto row = row_of(batch, r);
    const std::string key = row["k"].as_string();
    BOOST_TEST_CONTEXT("key " << key) {
      BOOST_TEST(seen.insert(key).second);
      BOOST_REQUIRE(expected.count(key) == 1u);
      BOOST_TEST(row["operator"].as_string() == "stateful aggregate");
      BOOST_TEST(row["partition"].as_int64() == owner_of(key, 2));
      partitions.insert(row["partition"].as_int64());
      BOOST_TEST(row["n"].as_int64() == expected[key].first);
      if (expected[key].second) {
        BOOST_TEST(row["total"].as_int64() == *expected[key].second);
      } else {
        BOOST_TEST(row["total"].is_null());
      }
      BOOST_TEST(row["value_bytes"].as_int64() > 0);
      BOOST_TEST(static_cast<int64_t>(row["value"].as_string().size()) ==
                 2 * row["value_bytes"].as_int64());
    }
  }
  // Twelve keys over two partitions: both hold some (as the hash spreads them).
  BOOST_TEST(partitions.size() == 2u);

  // The same state as a DataFrame: queried like a table.
  auto per_partition = inspect_state(session, dir.path(), {.num_partitions = 2})
                           .group_by(col("partition"))
                           .agg(count().alias("keys"), sum(col("n")).alias("rows"))
                           .collect();
  BOOST_REQUIRE_MESSAGE(per_partition.ok(), per_partition.status().to_string());
  int64_t keys = 0;
  int64_t rows = 0;
  for (const auto& row : (*per_partition)->to_rows()) {
    keys += row[1].as_int64();
    rows += row[2].as_int64();
  }
  BOOST_TEST(keys == static_cast<int64_t>(expected.size()));
  BOOST_TEST(rows == 120);
  auto missing = inspect_state(session, dir.path() + "/nothing");
  BOOST_TEST(!missing.status().is_ok());
}

BOOST_AUTO_TEST_CASE(a_deduplication_lists_its_keys) {
  TemporaryDirectory dir;
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "3").is_ok());
  MemoryStream input(session, events());
  auto query = input.to_df()
                   .drop_duplicates({"k"})
                   .write_stream()
                   .format("noop")
                   .option("checkpointLocation", dir.path())
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data({{"a", 1}, {"b", 2}, {"a", 3}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(input.add_data({{"c", 4}, {"b", 5}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->stop().is_ok());

  auto state = inspect_state(dir.path(), {.num_partitions = 3});
  BOOST_REQUIRE_MESSAGE(state.ok(), state.status().to_string());
  const RecordBatch& batch = **state;
  BOOST_REQUIRE(batch.schema()->find("k") >= 0);
  std::multiset<std::string> keys;
  for (int64_t r = 0; r < batch.num_rows(); ++r) {
    auto row = row_of(batch, r);
    keys.insert(row["k"].as_string());
    BOOST_TEST(row["operator"].as_string() == "deduplicate");
    BOOST_TEST(row["partition"].as_int64() == owner_of(row["k"].as_string(), 3));
  }
  BOOST_TEST((keys == std::multiset<std::string>{"a", "b", "c"}));
}

BOOST_AUTO_TEST_CASE(a_checkpoint_of_a_running_query_is_refused_saying_so) {
  TemporaryDirectory dir;
  Session session;
  MemoryStream input(session, events());
  auto query = input.to_df()
                   .group_by(col("k"))
                   .agg(count())
                   .write_stream()
                   .format("noop")
                   .output_mode(OutputMode::Update)
                   .option("checkpointLocation", dir.path())
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data({{"a", 1}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  auto state = inspect_state(dir.path(), {.num_partitions = 1});
  BOOST_REQUIRE(!state.ok());
  BOOST_TEST(state.status().message().find("in use by a running query") != std::string::npos,
             state.status().message());
  BOOST_TEST(state.status().message().find(dir.path()) != std::string::npos);
  BOOST_REQUIRE(query->stop().is_ok());
  // Stopped, the same checkpoint reads.
  auto stopped = inspect_state(dir.path(), {.num_partitions = 1});
  BOOST_REQUIRE_MESSAGE(stopped.ok(), stopped.status().to_string());
  BOOST_TEST((*stopped)->num_rows() == 1);
}

BOOST_AUTO_TEST_CASE(a_missing_or_foreign_directory_is_an_error_naming_it) {
  TemporaryDirectory dir;
  const std::string missing = dir.path() + "/nothing-here";
  auto state = inspect_state(missing);
  BOOST_REQUIRE(!state.ok());
  BOOST_TEST(state.status().code() == StatusCode::not_found);
  BOOST_TEST(state.status().message().find(missing) != std::string::npos, state.status().message());
  BOOST_TEST(!std::filesystem::exists(missing));  // not created by the look

  auto empty = inspect_state(dir.path());
  BOOST_REQUIRE(!empty.ok());
  BOOST_TEST(empty.status().code() == StatusCode::not_found);
  BOOST_TEST(empty.status().message().find(dir.path()) != std::string::npos,
             empty.status().message());
  BOOST_TEST(!std::filesystem::exists(dir.path() + "/data.mdb"));
}

BOOST_AUTO_TEST_CASE(a_corrupt_checkpoint_is_an_error_naming_it) {
  TemporaryDirectory dir;
  {
    std::ofstream garbage(dir.path() + "/data.mdb", std::ios::binary);
    garbage << std::string(8192, 'x');
  }
  auto state = inspect_state(dir.path());
  BOOST_REQUIRE(!state.ok());
  BOOST_TEST(state.status().message().find(dir.path()) != std::string::npos,
             state.status().message());
}

BOOST_AUTO_TEST_CASE(a_windowed_aggregation_decodes_its_event_time_keys) {
  TemporaryDirectory dir;
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "2").is_ok());
  auto schema = Schema::make({{"k", Type::String}, {"ts", Type::Timestamp}}).value();
  MemoryStream input(session, schema);
  auto query = input.to_df()
                   .with_watermark("ts", "1 hour")
                   .group_by(window(col("ts"), "10 seconds"), col("k"))
                   .agg(count().alias("n"))
                   .write_stream()
                   .format("noop")
                   .output_mode(OutputMode::Update)
                   .option("checkpointLocation", dir.path())
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  auto at = [](int64_t seconds) { return Value(Timestamp{seconds * 1'000'000}); };
  BOOST_REQUIRE(input.add_data({{"a", at(1)}, {"a", at(2)}, {"b", at(12)}, {"a", at(15)}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->stop().is_ok());
  auto state = inspect_state(dir.path(), {.num_partitions = 2});
  BOOST_REQUIRE_MESSAGE(state.ok(), state.status().to_string());
  BOOST_REQUIRE((*state)->schema()->find("n") >= 0);
  std::map<std::pair<std::string, int64_t>, int64_t> counts;  // (k, window start s) -> n
  for (int64_t r = 0; r < (*state)->num_rows(); ++r) {
    auto row = row_of(**state, r);
    const int64_t start = row["window.start"].as_timestamp().micros / 1'000'000;
    BOOST_TEST(row["window.end"].as_timestamp().micros / 1'000'000 == start + 10);
    BOOST_TEST(counts.emplace(std::pair(row["k"].as_string(), start), row["n"].as_int64()).second);
  }
  const std::map<std::pair<std::string, int64_t>, int64_t> expected = {
      {{"a", 0}, 2}, {{"a", 10}, 1}, {{"b", 10}, 1}};
  BOOST_TEST((counts == expected));
}
