#define BOOST_TEST_MODULE state_delta_log
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "state/checkpoint_store.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using sluice::testing::TemporaryDirectory;

namespace {

using Reference = std::map<std::string, std::string>;

void require_ok(const Status& status) {
  BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
}

std::unique_ptr<CheckpointStore> open_store(const std::string& path, int64_t round_epochs) {
  CheckpointOptions options;
  options.sync = false;
  options.compaction_round_epochs = round_epochs;
  auto store = CheckpointStore::open(path, options);
  BOOST_REQUIRE_MESSAGE(store.ok(), store.status().to_string());
  return std::move(store).value();
}

void commit(CheckpointStore& store, int64_t epoch, std::vector<TableDelta> deltas) {
  require_ok(store.write_offsets(epoch, "offsets of " + std::to_string(epoch)));
  EpochCommit commit;
  commit.epoch = epoch;
  commit.table_deltas = std::move(deltas);
  require_ok(store.commit_epoch(commit));
}

Reference scan_all(const CheckpointStore& store, const std::string& table,
                   const std::string& prefix = "") {
  Reference out;
  require_ok(store.scan_state_prefix(table, prefix, [&](std::string_view key, std::string_view value) {
    BOOST_REQUIRE_MESSAGE(out.empty() || out.rbegin()->first < key, "scan out of key order");
    out.emplace(key, value);
    return true;
  }));
  return out;
}

Reference with_prefix(const Reference& reference, const std::string& prefix) {
  Reference out;
  for (const auto& [key, value] : reference) {
    if (key.starts_with(prefix)) out.emplace(key, value);
  }
  return out;
}

// Checks every way of reading the table against the reference map.
void check_equal(const CheckpointStore& store, const std::string& table, const Reference& reference,
                 int num_keys, std::mt19937& random) {
  BOOST_REQUIRE(scan_all(store, table) == reference);
  const std::string prefix = "k" + std::to_string(random() % 10);
  BOOST_REQUIRE(scan_all(store, table, prefix) == with_prefix(reference, prefix));
  for (int i = 0; i < 50; ++i) {
    const std::string key = "k" + std::to_string(random() % static_cast<uint32_t>(num_keys));
    auto expected = reference.contains(key) ? std::optional<std::string>(reference.at(key)) : std::nullopt;
    auto got = store.get_state(table, key);
    BOOST_REQUIRE_MESSAGE(got.ok(), got.status().to_string());
    BOOST_REQUIRE_MESSAGE(*got == expected, "key " << key);
  }
}

uint32_t test_seed() {
  const char* fixed = std::getenv("SLUICE_TEST_SEED");
  const uint32_t seed = fixed ? static_cast<uint32_t>(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed << " (rerun with SLUICE_TEST_SEED=" << seed << ")");
  return seed;
}

}  // namespace

// Random puts and deletes over many epochs and partitions, through compaction rounds, with the
// store reopened (a restart) at random epochs: every read equals a reference map.
BOOST_AUTO_TEST_CASE(logged_table_equals_a_reference_map_across_compactions_and_restarts) {
  const uint32_t seed = test_seed();
  std::mt19937 random(seed);
  for (int64_t round_epochs : {1, 2, 3, 8}) {
    TemporaryDirectory dir;
    const std::string path = dir.path() + "/checkpoint";
    auto store = open_store(path, round_epochs);
    Reference reference;
    const int num_keys = 500;
    const int num_partitions = 3;
    for (int64_t epoch = 0; epoch < 60; ++epoch) {
      std::vector<TableDelta> deltas(num_partitions);
      for (int p = 0; p < num_partitions; ++p) {
        deltas[static_cast<size_t>(p)].table = "operator0";
        deltas[static_cast<size_t>(p)].partition = p;
      }
      const int changes = static_cast<int>(random() % 80);
      for (int i = 0; i < changes; ++i) {
        const int k = static_cast<int>(random() % num_keys);
        const std::string key = "k" + std::to_string(k);
        auto& delta = deltas[static_cast<size_t>(k % num_partitions)];
        if (random() % 4 == 0) {
          delta.changes.push_back({key, std::nullopt});
          reference.erase(key);
        } else {
          const std::string value = "v" + std::to_string(epoch) + "." + std::to_string(i);
          delta.changes.push_back({key, value});
          reference[key] = value;
        }
      }
      commit(*store, epoch, std::move(deltas));
      check_equal(*store, "operator0", reference, num_keys, random);
      if (random() % 7 == 0) {
        store.reset();
        store = open_store(path, round_epochs);
        check_equal(*store, "operator0", reference, num_keys, random);
      }
    }
    // Compaction keeps what is pending bounded: at most two rounds of records.
    auto stats = store->stats();
    require_ok(stats.status());
    BOOST_TEST(stats->delta_records <= 2 * round_epochs * num_partitions);
  }
}

// A crash in the middle of a commit (before it ends) leaves the state of the previous commit:
// the delta records and the compaction step are in the commit's one transaction.
BOOST_AUTO_TEST_CASE(an_epoch_that_fails_to_commit_leaves_the_previous_state) {
  TemporaryDirectory dir;
  auto store = open_store(dir.path() + "/checkpoint", 2);
  Reference reference;
  for (int64_t epoch = 0; epoch < 5; ++epoch) {
    TableDelta delta{"operator0", 0, {{"a" + std::to_string(epoch), "x"}, {"b", std::to_string(epoch)}}};
    reference["a" + std::to_string(epoch)] = "x";
    reference["b"] = std::to_string(epoch);
    commit(*store, epoch, {delta});
  }
  // Epoch 5 has no offsets: refused, and nothing of it is written.
  EpochCommit refused;
  refused.epoch = 5;
  refused.table_deltas.push_back({"operator0", 0, {{"b", "never"}, {"c", "never"}}});
  BOOST_TEST(!store->commit_epoch(refused).is_ok());
  std::mt19937 random(1);
  check_equal(*store, "operator0", reference, 10, random);
}

// A later change of a key within one delta wins; unsorted deltas are accepted.
BOOST_AUTO_TEST_CASE(unsorted_changes_with_repeated_keys_keep_the_last) {
  TemporaryDirectory dir;
  auto store = open_store(dir.path() + "/checkpoint", 8);
  commit(*store, 0, {{"t", 0, {{"z", "1"}, {"a", "1"}, {"z", "2"}, {"m", std::nullopt}, {"a", std::nullopt}}}});
  BOOST_TEST((scan_all(*store, "t") == Reference{{"z", "2"}}));
  commit(*store, 1, {{"t", 1, {{"m", "3"}, {"z", std::nullopt}}}});
  BOOST_TEST((scan_all(*store, "t") == Reference{{"m", "3"}}));
}

// A damaged delta record is reported as corrupt, naming its table, partition and epoch.
BOOST_AUTO_TEST_CASE(a_corrupt_delta_record_names_its_table_partition_and_epoch) {
  TemporaryDirectory dir;
  const std::string path = dir.path() + "/checkpoint";
  const std::string marker = "DELTA-MARKER-3c1e0b57";
  {
    auto store = open_store(path, 8);
    commit(*store, 0, {{"operator0", 1, {{"alpha", "1"}, {"beta", marker}}}});
  }
  {
    std::ifstream in(path + "/data.mdb", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const size_t at = bytes.find(marker);
    BOOST_REQUIRE(at != std::string::npos);
    bytes[at + 3] = static_cast<char>(bytes[at + 3] ^ 0x20);
    std::ofstream out(path + "/data.mdb", std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto store = open_store(path, 8);
  auto value = store->get_state("operator0", "alpha");
  BOOST_REQUIRE(!value.ok());
  BOOST_TEST(value.status().code() == StatusCode::corrupt);
  BOOST_TEST_MESSAGE(value.status().to_string());
  BOOST_TEST(value.status().message().find("table 'operator0' partition 1 epoch 0") != std::string::npos);
  Status scanned = store->scan_state("operator0", [](std::string_view, std::string_view) { return true; });
  BOOST_TEST(scanned.code() == StatusCode::corrupt);
}
