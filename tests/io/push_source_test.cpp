#define BOOST_TEST_MODULE push_source
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>

#include <sluice/sluice.hpp>

#include "io/memory_sink.hpp"
#include "io/push_source.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using sluice::testing::TemporaryDirectory;

namespace {

SchemaPtr id_schema() {
  return Schema::make({{"id", Type::Int64}, {"name", Type::String}}).value();
}

std::vector<std::vector<Value>> rows_from(int64_t first, int64_t count) {
  std::vector<std::vector<Value>> rows;
  for (int64_t id = first; id < first + count; ++id)
    rows.push_back({id, "n" + std::to_string(id)});
  return rows;
}

// Reads the pushes [start, end) of partition 0 back as rows.
std::vector<std::vector<Value>> read_range(PushSource& source, int64_t start, int64_t end) {
  auto reader = source.open_reader(0, start, end);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  std::vector<std::vector<Value>> rows;
  RecordBatchPtr batch;
  while (true) {
    auto flow = (*reader)->next(batch);
    BOOST_REQUIRE_MESSAGE(flow.ok(), flow.status().to_string());
    if (*flow == ReadFlow::finished) break;
    for (auto& row : batch->to_rows())
      rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_acknowledged_push_survives_reopening_the_log) {
  TemporaryDirectory dir;
  {
    auto source = PushSource::open(id_schema(), dir.path()).value();
    BOOST_TEST(source->push(rows_from(0, 3)).value() == 0);
    BOOST_TEST(source->push(rows_from(3, 2)).value() == 1);
  }
  auto source = PushSource::open(id_schema(), dir.path()).value();
  BOOST_TEST(source->end() == 2);
  BOOST_TEST(source->push(rows_from(5, 1)).value() == 2);
  BOOST_TEST((read_range(*source, 0, 3) == rows_from(0, 6)));
  BOOST_TEST((read_range(*source, 1, 2) == rows_from(3, 2)));
}

BOOST_AUTO_TEST_CASE(commit_trims_the_log_and_positions_are_not_reused) {
  TemporaryDirectory dir;
  {
    auto source = PushSource::open(id_schema(), dir.path()).value();
    for (int i = 0; i < 4; ++i)
      BOOST_REQUIRE(source->push(rows_from(i, 1)).ok());
    BOOST_REQUIRE(source->commit({3}).is_ok());
    BOOST_TEST(source->begin() == 3);
    auto trimmed = source->open_reader(0, 2, 4);
    BOOST_TEST(!trimmed.ok());
    BOOST_TEST(trimmed.status().message().find("holds pushes [3, 4)") != std::string::npos,
               trimmed.status().to_string());
  }
  auto source = PushSource::open(id_schema(), dir.path()).value();
  BOOST_TEST(source->begin() == 3);
  BOOST_TEST((source->initial_offset() == SourceOffset{3}));
  BOOST_TEST(source->push(rows_from(9, 1)).value() == 4);
  BOOST_REQUIRE(source->commit({5}).is_ok());
  source.reset();
  source = PushSource::open(id_schema(), dir.path()).value();
  BOOST_TEST(source->begin() == 5);
  BOOST_TEST(source->end() == 5);
  BOOST_TEST(source->push(rows_from(10, 1)).value() == 5);
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused_with_a_clear_error) {
  TemporaryDirectory dir;
  auto source = PushSource::open(id_schema(), dir.path()).value();
  auto wrong_type = source->push({{Value("x"), Value("y")}});
  BOOST_TEST(!wrong_type.ok());
  BOOST_TEST_MESSAGE(wrong_type.status().to_string());
  auto other = RecordBatch::from_rows(Schema::make({{"v", Type::Double}}).value(), {{1.5}}).value();
  auto wrong_schema = source->push(other);
  BOOST_TEST(
      wrong_schema.status().message().find("cannot push rows of schema") != std::string::npos,
      wrong_schema.status().to_string());
  BOOST_TEST(source->end() == 0);

  auto second = PushSource::open(id_schema(), dir.path());
  BOOST_TEST(!second.ok());
  BOOST_TEST(second.status().message().find("in use") != std::string::npos,
             second.status().to_string());
  source.reset();
  auto other_schema = PushSource::open(Schema::make({{"v", Type::Double}}).value(), dir.path());
  BOOST_TEST(!other_schema.ok());
  BOOST_TEST(other_schema.status().message().find("holds entries of schema") != std::string::npos,
             other_schema.status().to_string());
}

BOOST_AUTO_TEST_CASE(a_checkpoint_directory_is_not_taken_for_an_input_log) {
  TemporaryDirectory checkpoint;
  {
    Session session;
    MemoryStream input(session, id_schema());
    auto query = input.to_df()
                     .write_stream()
                     .format("noop")
                     .option("checkpointLocation", checkpoint.path())
                     .start();
    BOOST_REQUIRE(query.ok());
    BOOST_REQUIRE(query->stop().is_ok());
  }
  auto source = PushSource::open(id_schema(), checkpoint.path());
  BOOST_TEST(!source.ok());
  BOOST_TEST(source.status().message().find("not an input log") != std::string::npos,
             source.status().to_string());
}

BOOST_AUTO_TEST_CASE(row_limit_cuts_epochs_at_whole_pushes) {
  TemporaryDirectory dir;
  auto source = PushSource::open(id_schema(), dir.path()).value();
  for (int64_t size : {4, 4, 4, 10})
    BOOST_REQUIRE(source->push(rows_from(0, size)).ok());
  BOOST_TEST((source->latest_offset({0}, {.max_rows = 9}).value() == SourceOffset{2}));
  BOOST_TEST((source->latest_offset({2}, {.max_rows = 9}).value() == SourceOffset{3}));
  BOOST_TEST((source->latest_offset({3}, {.max_rows = 9}).value() ==
              SourceOffset{4}));  // one push at least
  BOOST_TEST((source->latest_offset({0}, {}).value() == SourceOffset{4}));
}

// A query over the source stops; pushes go on while it is down; the restart reads every push
// exactly once (the random batch sizes come from a printed seed).
BOOST_AUTO_TEST_CASE(restart_reads_exactly_the_pushes_not_committed) {
  const uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  TemporaryDirectory log_dir, checkpoint;
  auto source = PushSource::open(id_schema(), log_dir.path(), {.sync = false}).value();
  int64_t next_id = 0;
  auto push_some = [&] {
    for (int i = 0; i < 5; ++i) {
      const auto count = static_cast<int64_t>(random() % 7);
      BOOST_REQUIRE(source->push(rows_from(next_id, count)).ok());
      next_id += count;
    }
  };
  std::vector<int64_t> seen;
  for (int run = 0; run < 4; ++run) {
    const bool last = run == 3;  // only reads what the others left
    Session session;
    if (!last) push_some();
    auto query = session.read_stream()
                     .source(source)
                     .load()
                     .select(col("id"))
                     .write_stream()
                     .foreach_batch([&](const RecordBatchPtr& batch, int64_t) {
                       for (const auto& row : batch->to_rows())
                         seen.push_back(row[0].as_int64());
                     })
                     .option("checkpointLocation", checkpoint.path())
                     .start();
    BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
    BOOST_REQUIRE(query->process_all_available().is_ok());
    if (!last) push_some();
    BOOST_REQUIRE(query->process_all_available().is_ok());
    BOOST_REQUIRE(query->stop().is_ok());
    BOOST_TEST(source->begin() == source->end());  // committed pushes trimmed
    if (!last) push_some();                        // while no query runs
  }
  std::sort(seen.begin(), seen.end());
  std::vector<int64_t> expected(static_cast<size_t>(next_id));
  for (int64_t i = 0; i < next_id; ++i)
    expected[static_cast<size_t>(i)] = i;
  BOOST_TEST(seen == expected, boost::test_tools::per_element());
}
