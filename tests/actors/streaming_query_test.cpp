#define BOOST_TEST_MODULE streaming_query
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <algorithm>
#include <atomic>
#include <random>

#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using sluice::testing::TemporaryDirectory;

namespace {

SchemaPtr events_schema() {
  return Schema::make({{"id", Type::Int64}, {"name", Type::String}, {"score", Type::Double}}).value();
}

std::vector<std::vector<Value>> sorted(std::vector<std::vector<Value>> rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

// The reference: what filter(score > 50).select(id, upper(name), score * 2) gives, row by row.
std::vector<std::vector<Value>> expected_rows(const std::vector<std::vector<Value>>& input) {
  std::vector<std::vector<Value>> rows;
  for (const auto& row : input) {
    if (row[2].is_null() || !(row[2].as_double() > 50)) continue;
    Value name = row[1].is_null() ? Value() : Value([&] {
      std::string upper = row[1].as_string();
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return upper;
    }());
    rows.push_back({row[0], name, Value(row[2].as_double() * 2)});
  }
  return rows;
}

std::vector<std::vector<Value>> random_rows(std::mt19937_64& random, int64_t first_id, int count) {
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < count; ++i) {
    std::vector<Value> row{Value(first_id + i), Value(), Value()};
    if (random() % 7 != 0) row[1] = Value("n" + std::to_string(random() % 100));
    if (random() % 9 != 0) row[2] = Value(static_cast<double>(random() % 1000) / 10.0);
    rows.push_back(std::move(row));
  }
  return rows;
}

DataFrame transformed(const MemoryStream& input) {
  return input.to_df()
      .filter(col("score") > 50.0)
      .select(col("id"), upper(col("name")).alias("name"), (col("score") * 2).alias("score2"));
}

}  // namespace

BOOST_AUTO_TEST_CASE(rows_flow_through_filter_and_projection_to_the_memory_sink) {
  Session session;
  MemoryStream input(session, events_schema());
  std::mt19937_64 random(42);
  BOOST_TEST_MESSAGE("seed 42");
  auto query = transformed(input).write_stream().format("memory").query_name("out").start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  std::vector<std::vector<Value>> all;
  for (int round = 0; round < 5; ++round) {
    auto rows = random_rows(random, round * 100, 100);
    all.insert(all.end(), rows.begin(), rows.end());
    BOOST_REQUIRE(input.add_data(rows).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  auto sink = session.memory_table("out");
  BOOST_REQUIRE(sink);
  BOOST_TEST(sorted(sink->rows()) == sorted(expected_rows(all)));
  BOOST_TEST(query->recent_progress().size() >= 1u);
  BOOST_REQUIRE(query->stop().is_ok());
  BOOST_TEST(!query->is_active());
}

BOOST_AUTO_TEST_CASE(progress_reports_carry_spark_fields) {
  Session session;
  MemoryStream input(session, events_schema());
  auto query = transformed(input).write_stream().format("memory").query_name("p").start();
  BOOST_REQUIRE(query.ok());
  BOOST_REQUIRE(input.add_data({{1, "a", 60.0}, {2, "b", 10.0}, {3, "c", 70.0}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  auto progress = query->last_progress();
  BOOST_REQUIRE(progress);
  BOOST_TEST(progress->batch_id == 0);
  BOOST_TEST(progress->num_input_rows == 3);
  BOOST_TEST(progress->sink.num_output_rows == 2);
  BOOST_TEST(progress->sources.size() == 1u);
  BOOST_TEST(progress->sources[0].start_offset == "[0]");
  BOOST_TEST(progress->sources[0].end_offset == "[3]");
  BOOST_TEST(progress->id == query->id());
  const std::string json = progress->json();
  for (const char* field : {"\"id\"", "\"runId\"", "\"batchId\":0", "\"numInputRows\":3",
                            "\"durationMs\"", "\"triggerExecution\"", "\"walCommit\"",
                            "\"sources\"", "\"sink\"", "\"numOutputRows\":2"}) {
    BOOST_TEST(json.find(field) != std::string::npos, field << " in " << json);
  }
  BOOST_TEST(progress->pretty_json().find("\n") != std::string::npos);
  (void)query->stop();
}

BOOST_AUTO_TEST_CASE(restart_from_checkpoint_resumes_after_the_last_committed_epoch) {
  TemporaryDirectory dir;
  Session session;
  MemoryStream input(session, events_schema());
  std::mt19937_64 random(7);
  std::vector<std::vector<Value>> all;
  std::vector<std::vector<std::vector<Value>>> seen;  // rows delivered, per epoch, by id
  std::map<int64_t, std::vector<std::vector<Value>>> by_epoch;
  std::mutex mutex;
  auto start = [&] {
    return transformed(input)
        .write_stream()
        .foreach_batch([&](const RecordBatchPtr& batch, int64_t epoch) {
          std::lock_guard lock(mutex);
          by_epoch[epoch] = batch->to_rows();  // replace: epoch ids make replays idempotent
        })
        .option("checkpointLocation", dir.path())
        .start();
  };
  auto first = start();
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().to_string());
  const std::string id = first->id();
  for (int round = 0; round < 3; ++round) {
    auto rows = random_rows(random, round * 50, 50);
    all.insert(all.end(), rows.begin(), rows.end());
    BOOST_REQUIRE(input.add_data(rows).is_ok());
    BOOST_REQUIRE(first->process_all_available().is_ok());
  }
  const int64_t last_epoch = first->last_progress()->batch_id;
  BOOST_REQUIRE(first->stop().is_ok());

  auto rows = random_rows(random, 1000, 50);
  all.insert(all.end(), rows.begin(), rows.end());
  BOOST_REQUIRE(input.add_data(rows).is_ok());
  auto second = start();
  BOOST_REQUIRE_MESSAGE(second.ok(), second.status().to_string());
  BOOST_TEST(second->id() == id);
  BOOST_TEST(second->run_id() != first->run_id());
  BOOST_REQUIRE(second->process_all_available().is_ok());
  BOOST_TEST(second->recent_progress().front().batch_id == last_epoch + 1);
  (void)second->stop();

  std::vector<std::vector<Value>> delivered;
  for (const auto& [epoch, epoch_rows] : by_epoch) delivered.insert(delivered.end(), epoch_rows.begin(), epoch_rows.end());
  BOOST_TEST(sorted(delivered) == sorted(expected_rows(all)));
}

BOOST_AUTO_TEST_CASE(trigger_once_runs_one_epoch_over_everything_then_stops) {
  Session session;
  MemoryStream input(session, events_schema());
  BOOST_REQUIRE(input.add_data({{1, "a", 60.0}, {2, "b", 90.0}}).is_ok());
  BOOST_REQUIRE(input.add_data({{3, "c", 99.0}}).is_ok());
  auto query = transformed(input).write_stream().format("memory").query_name("once").trigger(Trigger::Once()).start();
  BOOST_REQUIRE(query.ok());
  BOOST_TEST(query->await_termination(10s));
  BOOST_TEST(!query->exception());
  BOOST_TEST(query->recent_progress().size() == 1u);
  BOOST_TEST(session.memory_table("once")->rows().size() == 3u);
}

BOOST_AUTO_TEST_CASE(trigger_available_now_stops_when_caught_up) {
  Session session;
  MemoryStream input(session, events_schema());
  BOOST_REQUIRE(input.add_data({{1, "a", 60.0}}).is_ok());
  auto query = transformed(input).write_stream().format("memory").query_name("now")
                   .trigger(Trigger::AvailableNow()).start();
  BOOST_REQUIRE(query.ok());
  BOOST_TEST(query->await_termination(10s));
  BOOST_TEST(session.memory_table("now")->rows().size() == 1u);
}

BOOST_AUTO_TEST_CASE(no_empty_epochs_run_without_new_data) {
  Session session;
  MemoryStream input(session, events_schema());
  auto query = transformed(input).write_stream().format("memory").query_name("idle").start();
  BOOST_REQUIRE(query.ok());
  BOOST_REQUIRE(input.add_data({{1, "a", 60.0}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_TEST(query->recent_progress().size() == 1u);
  (void)query->stop();
}

BOOST_AUTO_TEST_CASE(a_failing_user_function_stops_the_query_with_its_error) {
  Session session;
  MemoryStream input(session, events_schema());
  auto explode = udf("explode", [](int64_t id) -> int64_t {
    if (id == 13) throw std::runtime_error("unlucky id");
    return id;
  });
  auto query = input.to_df().select(explode(col("id")).alias("x")).write_stream().format("noop").start();
  BOOST_REQUIRE(query.ok());
  BOOST_REQUIRE(input.add_data({{13, "a", 1.0}}).is_ok());
  (void)query->process_all_available();
  BOOST_TEST(query->await_termination(10s));
  auto error = query->exception();
  BOOST_REQUIRE(error.has_value());
  BOOST_TEST(error->message().find("unlucky id") != std::string::npos, error->message());
  BOOST_TEST(error->message().find("stage") != std::string::npos, error->message());
}

BOOST_AUTO_TEST_CASE(a_failing_sink_stops_the_query_naming_the_sink) {
  Session session;
  MemoryStream input(session, events_schema());
  auto query = input.to_df()
                   .write_stream()
                   .foreach_batch([](const RecordBatchPtr&, int64_t) {
                     return Status::io_error("disk on fire");
                   })
                   .start();
  BOOST_REQUIRE(query.ok());
  BOOST_REQUIRE(input.add_data({{1, "a", 1.0}}).is_ok());
  BOOST_TEST(!query->process_all_available().is_ok());
  BOOST_TEST(query->await_termination(10s));
  BOOST_REQUIRE(query->exception());
  BOOST_TEST(query->exception()->message().find("disk on fire") != std::string::npos);
  BOOST_TEST(query->exception()->message().find("ForeachBatchSink") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_options_and_bad_values_are_refused_at_start) {
  Session session;
  MemoryStream input(session, events_schema());
  auto unknown = input.to_df().write_stream().format("console").option("numRow", "5").start();
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.status().message().find("'numRow'") != std::string::npos);
  BOOST_TEST(unknown.status().message().find("did you mean 'numRows'") != std::string::npos);
  auto bad = input.to_df().write_stream().format("console").option("numRows", "many").start();
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.status().message().find("numRows") != std::string::npos);
  auto rate = session.read_stream().format("rate").option("rowsPerSecond", "-3").load();
  BOOST_TEST(!rate.status().is_ok());
  BOOST_TEST(!rate.write_stream().format("noop").start().ok());
  auto format = input.to_df().write_stream().format("parquet-of-dreams").start();
  BOOST_TEST(!format.ok());
  auto complete = input.to_df().write_stream().format("noop").output_mode(OutputMode::Complete).start();
  BOOST_REQUIRE(!complete.ok());
  BOOST_TEST(complete.status().message().find("aggregation") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(analysis_errors_surface_at_start_with_the_column_name) {
  Session session;
  MemoryStream input(session, events_schema());
  auto df = input.to_df().select(col("scroe"));
  BOOST_TEST(!df.status().is_ok());
  auto query = df.write_stream().format("noop").start();
  BOOST_REQUIRE(!query.ok());
  BOOST_TEST(query.status().message().find("did you mean 'score'") != std::string::npos);
  auto typed = input.to_df().select(col("name") + 1);
  BOOST_TEST(typed.status().code() == StatusCode::type_error);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_in_use_is_refused) {
  TemporaryDirectory dir;
  Session session;
  MemoryStream input(session, events_schema());
  auto first = input.to_df().write_stream().format("noop").option("checkpointLocation", dir.path()).start();
  BOOST_REQUIRE(first.ok());
  auto second = input.to_df().write_stream().format("noop").option("checkpointLocation", dir.path()).start();
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.status().message().find("in use") != std::string::npos, second.status().message());
  (void)first->stop();
}

BOOST_AUTO_TEST_CASE(a_checkpoint_of_an_incompatible_query_is_refused) {
  TemporaryDirectory dir;
  Session session;
  MemoryStream input(session, events_schema());
  auto first = input.to_df().write_stream().format("noop").option("checkpointLocation", dir.path()).start();
  BOOST_REQUIRE(first.ok());
  (void)first->stop();
  auto other = session.read_stream().format("rate").load().write_stream().format("noop")
                   .option("checkpointLocation", dir.path()).start();
  BOOST_REQUIRE(!other.ok());
  BOOST_TEST(other.status().message().find("incompatible") != std::string::npos);
  BOOST_TEST(other.status().message().find("rate") != std::string::npos, other.status().message());
}

BOOST_AUTO_TEST_CASE(listeners_hear_start_progress_and_termination) {
  struct Recorder : StreamingQueryListener {
    std::atomic<int> started{0}, progress{0}, terminated{0};
    void on_started(const std::string&, const std::string&, const std::string&) override { ++started; }
    void on_progress(const StreamingQueryProgress&) override { ++progress; }
    void on_terminated(const std::string&, const std::string&, const std::optional<Status>&) override { ++terminated; }
  };
  Session session;
  auto recorder = std::make_shared<Recorder>();
  session.streams().add_listener(recorder);
  MemoryStream input(session, events_schema());
  auto query = input.to_df().write_stream().format("noop").query_name("heard").start();
  BOOST_REQUIRE(query.ok());
  BOOST_TEST(session.streams().active().size() == 1u);
  BOOST_TEST(session.streams().get(query->id()).has_value());
  BOOST_REQUIRE(input.add_data({{1, "a", 1.0}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  (void)query->stop();
  BOOST_TEST(session.streams().await_any_termination(10s));
  BOOST_TEST(recorder->started == 1);
  BOOST_TEST(recorder->progress >= 1);
  BOOST_TEST(recorder->terminated == 1);
  BOOST_TEST(session.streams().active().empty());
}

BOOST_AUTO_TEST_CASE(union_of_two_streams_delivers_both) {
  Session session;
  MemoryStream left(session, events_schema());
  MemoryStream right(session, events_schema());
  auto df = left.to_df().union_all(right.to_df()).filter(col("id") > 1).select(col("id"));
  auto query = df.write_stream().format("memory").query_name("u").start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(left.add_data({{1, "a", 1.0}, {2, "b", 2.0}}).is_ok());
  BOOST_REQUIRE(right.add_data({{3, "c", 3.0}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_TEST(sorted(session.memory_table("u")->rows()) == (std::vector<std::vector<Value>>{{2}, {3}}));
  (void)query->stop();
}

BOOST_AUTO_TEST_CASE(union_of_inputs_differing_in_nullability_delivers_both) {
  // One input declares its columns NOT NULL, the other allows nulls: the union allows nulls
  // and the rows of both arrive, the null one included.
  Session session;
  auto strict = Schema::make({{"id", Type::Int64, false}, {"name", Type::String, false}}).value();
  auto loose = Schema::make({{"id", Type::Int64, true}, {"name", Type::String, true}}).value();
  MemoryStream left(session, strict);
  MemoryStream right(session, loose);
  auto df = left.to_df().union_all(right.to_df());
  auto query = df.write_stream().format("memory").query_name("n").start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(left.add_data({{1, "a"}}).is_ok());
  BOOST_REQUIRE(right.add_data({{2, Value()}, {Value(), "c"}}).is_ok());
  auto processed = query->process_all_available();
  BOOST_REQUIRE_MESSAGE(processed.is_ok(), processed.to_string());
  BOOST_TEST(sorted(session.memory_table("n")->rows()) ==
             (std::vector<std::vector<Value>>{{Value(), "c"}, {1, "a"}, {2, Value()}}));
  (void)query->stop();

  // The same union under a grouping: the keys of both inputs, the null key included.
  auto counts = left.to_df().union_all(right.to_df()).group_by(col("name")).agg(count().alias("n"));
  auto grouped = counts.write_stream().format("memory").output_mode(OutputMode::Complete).query_name("g").start();
  BOOST_REQUIRE_MESSAGE(grouped.ok(), grouped.status().to_string());
  BOOST_REQUIRE(left.add_data({{3, "a"}}).is_ok());
  processed = grouped->process_all_available();
  BOOST_REQUIRE_MESSAGE(processed.is_ok(), processed.to_string());
  BOOST_TEST(sorted(session.memory_table("g")->rows()) ==
             (std::vector<std::vector<Value>>{{Value(), 1}, {"a", 2}, {"c", 1}}));
  (void)grouped->stop();
}

BOOST_AUTO_TEST_CASE(rate_source_rows_are_sequential_and_deterministic) {
  Session session;
  auto clock = std::make_shared<ManualClock>(1'700'000'000'000'000);
  session.state()->set_clock(clock);
  auto query = session.read_stream().format("rate").option("rowsPerSecond", "100")
                   .option("numPartitions", "3").load()
                   .write_stream().format("memory").query_name("rate").start();
  BOOST_REQUIRE(query.ok());
  clock->advance_micros(2'000'000);
  BOOST_REQUIRE(query->process_all_available().is_ok());
  auto rows = sorted(session.memory_table("rate")->rows());
  BOOST_REQUIRE(rows.size() == 200u);
  for (size_t i = 0; i < rows.size(); ++i) {
    // rows sort by timestamp first; value i arrives at start + i / rate.
    BOOST_TEST(rows[i][1].as_int64() == static_cast<int64_t>(i));
    BOOST_TEST(rows[i][0].as_timestamp().micros == 1'700'000'000'000'000 + static_cast<int64_t>(i) * 10'000);
  }
  (void)query->stop();
}

BOOST_AUTO_TEST_CASE(continuous_trigger_delivers_every_row_once) {
  Session session;
  MemoryStream input(session, events_schema());
  std::mt19937_64 random(5);
  auto query = transformed(input).write_stream().format("memory").query_name("cont")
                   .trigger(Trigger::Continuous(20ms)).start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  std::vector<std::vector<Value>> all;
  for (int round = 0; round < 5; ++round) {
    auto rows = random_rows(random, round * 100, 100);
    all.insert(all.end(), rows.begin(), rows.end());
    BOOST_REQUIRE(input.add_data(rows).is_ok());
  }
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_TEST(sorted(session.memory_table("cont")->rows()) == sorted(expected_rows(all)));
  BOOST_TEST(query->recent_progress().size() >= 1u);
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(continuous_trigger_resumes_from_the_checkpoint) {
  TemporaryDirectory dir;
  Session session;
  MemoryStream input(session, events_schema());
  std::map<int64_t, std::vector<std::vector<Value>>> by_epoch;
  std::mutex mutex;
  auto start = [&] {
    return transformed(input).write_stream()
        .foreach_batch([&](const RecordBatchPtr& batch, int64_t epoch) {
          std::lock_guard lock(mutex);
          by_epoch[epoch] = batch->to_rows();
        })
        .trigger(Trigger::Continuous(10ms))
        .option("checkpointLocation", dir.path())
        .start();
  };
  std::mt19937_64 random(9);
  std::vector<std::vector<Value>> all;
  auto first = start();
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().to_string());
  auto rows = random_rows(random, 0, 200);
  all.insert(all.end(), rows.begin(), rows.end());
  BOOST_REQUIRE(input.add_data(rows).is_ok());
  BOOST_REQUIRE(first->process_all_available().is_ok());
  BOOST_REQUIRE(first->stop().is_ok());
  rows = random_rows(random, 1000, 200);
  all.insert(all.end(), rows.begin(), rows.end());
  BOOST_REQUIRE(input.add_data(rows).is_ok());
  auto second = start();
  BOOST_REQUIRE_MESSAGE(second.ok(), second.status().to_string());
  BOOST_REQUIRE(second->process_all_available().is_ok());
  BOOST_REQUIRE(second->stop().is_ok());
  std::vector<std::vector<Value>> delivered;
  for (const auto& [epoch, epoch_rows] : by_epoch) delivered.insert(delivered.end(), epoch_rows.begin(), epoch_rows.end());
  BOOST_TEST(sorted(delivered) == sorted(expected_rows(all)));
}

BOOST_AUTO_TEST_CASE(available_now_respects_rate_limits_in_several_epochs) {
  Session session;
  MemoryStream input(session, events_schema());
  input.set_max_rows_per_trigger(2);
  BOOST_REQUIRE(input.add_data({{1, "a", 60.0}, {2, "b", 61.0}, {3, "c", 62.0}, {4, "d", 63.0}, {5, "e", 64.0}}).is_ok());
  auto query = transformed(input).write_stream().format("memory").query_name("limited")
                   .trigger(Trigger::AvailableNow()).start();
  BOOST_REQUIRE(query.ok());
  BOOST_TEST(query->await_termination(10s));
  BOOST_TEST(!query->exception());
  BOOST_TEST(query->recent_progress().size() == 3u);
  for (const auto& progress : query->recent_progress()) BOOST_TEST(progress.num_input_rows <= 2);
  BOOST_TEST(session.memory_table("limited")->rows().size() == 5u);
}

BOOST_AUTO_TEST_CASE(trigger_once_ignores_rate_limits_and_reads_everything) {
  Session session;
  MemoryStream input(session, events_schema());
  input.set_max_rows_per_trigger(1);
  BOOST_REQUIRE(input.add_data({{1, "a", 60.0}, {2, "b", 61.0}, {3, "c", 62.0}}).is_ok());
  auto query = transformed(input).write_stream().format("memory").query_name("once_all")
                   .trigger(Trigger::Once()).start();
  BOOST_REQUIRE(query.ok());
  BOOST_TEST(query->await_termination(10s));
  BOOST_TEST(query->recent_progress().size() == 1u);
  BOOST_TEST(session.memory_table("once_all")->rows().size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_source_that_cannot_replay_runs_with_an_at_most_once_warning) {
  // A source whose input is gone once read, like a socket.
  struct OnceOnly final : Source {
    SchemaPtr schema_ = Schema::make({{"x", Type::Int64}}).value();
    const SchemaPtr& schema() const override { return schema_; }
    std::string description() const override { return "OnceOnly"; }
    int num_partitions() const override { return 1; }
    bool replayable() const override { return false; }
    SourceOffset initial_offset() const override { return {0}; }
    Result<SourceOffset> latest_offset(const SourceOffset&, const ReadLimit&) override { return SourceOffset{0}; }
    Result<std::unique_ptr<PartitionReader>> open_reader(int, int64_t, int64_t) override {
      return Status::internal("never read");
    }
  };
  Session session;
  auto spec = std::make_shared<SourceSpec>();
  spec->format = "once-only";
  auto source = std::make_shared<OnceOnly>();
  spec->schema = source->schema();
  spec->create = [source]() -> Result<std::shared_ptr<Source>> { return std::shared_ptr<Source>(source); };
  DataFrame frame(session.state(), LogicalPlan::make_source(spec));
  auto query = frame.write_stream().format("noop").start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  auto warnings = query->warnings();
  BOOST_REQUIRE(warnings.size() == 1u);
  BOOST_TEST(warnings[0].find("at-most-once") != std::string::npos);
  BOOST_TEST(warnings[0].find("OnceOnly") != std::string::npos);
  (void)query->stop();
}

BOOST_AUTO_TEST_CASE(sources_receive_the_filters_above_them_and_rows_stay_filtered) {
  // A memory source that records the filters offered to it but applies none.
  struct Recording final : Source {
    explicit Recording(SchemaPtr schema) : inner(std::move(schema)) {}
    MemorySource inner;
    std::vector<Expr> offered;
    const SchemaPtr& schema() const override { return inner.schema(); }
    std::string description() const override { return "Recording"; }
    int num_partitions() const override { return 1; }
    bool replayable() const override { return true; }
    SourceOffset initial_offset() const override { return {0}; }
    Result<SourceOffset> latest_offset(const SourceOffset& start, const ReadLimit& limit) override {
      return inner.latest_offset(start, limit);
    }
    Result<std::unique_ptr<PartitionReader>> open_reader(int p, int64_t from, int64_t to) override {
      return inner.open_reader(p, from, to);
    }
    void push_filters(const std::vector<Expr>& filters) override { offered = filters; }
  };
  Session session;
  auto source = std::make_shared<Recording>(events_schema());
  BOOST_REQUIRE(source->inner.add(RecordBatch::from_rows(events_schema(), {{1, "a", 10.0}, {2, "b", 90.0}}).value()).ok());
  auto spec = std::make_shared<SourceSpec>();
  spec->format = "recording";
  spec->schema = source->schema();
  spec->create = [source]() -> Result<std::shared_ptr<Source>> { return std::shared_ptr<Source>(source); };
  auto query = DataFrame(session.state(), LogicalPlan::make_source(spec))
                   .filter(col("score") > 50.0)
                   .write_stream().format("memory").query_name("pushed").trigger(Trigger::AvailableNow()).start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_TEST(query->await_termination(10s));
  BOOST_REQUIRE(source->offered.size() == 1u);
  BOOST_TEST(source->offered[0].equals(col("score") > 50.0));
  BOOST_TEST(session.memory_table("pushed")->rows() == (std::vector<std::vector<Value>>{{2, "b", 90.0}}));
}
