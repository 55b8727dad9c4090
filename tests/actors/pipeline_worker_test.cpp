// Pipelines built in C++ on workers: the test binary registers a pipeline and is its own worker
// (`pipeline_worker_test --sluice-worker 127.0.0.1:0`), as a user's program would be.
#define BOOST_TEST_NO_MAIN
#define BOOST_TEST_ALTERNATIVE_INIT_API
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <regex>

#include "actors/remote_partition.hpp"
#include "sql/sql_context.hpp"
#include "tests/actors/scale_out_support.hpp"

using namespace sluice;
using namespace sluice::scale_out_test;
using namespace std::chrono_literals;
using sluice::testing::TemporaryDirectory;

namespace {

constexpr const char* kPipeline = "windowed_counts";
// Set in a worker's environment to build the pipeline as another version of the program would.
constexpr const char* kOtherBuild = "PIPELINE_WORKER_TEST_OTHER_BUILD";

// Kafka → windowed count and sum per key → table, built with DataFrame calls. Options:
// bootstrap, table, checkpoint, and restart ('none' or the number of attempts).
Result<DataStreamWriter> windowed_counts(SessionContext& session, const PipelineOptions& options) {
  auto option = [&](const std::string& key) -> Result<std::string> {
    auto it = options.find(key);
    if (it == options.end()) return Status::invalid_argument("pipeline needs option '" + key + "'");
    return it->second;
  };
  SLUICE_ASSIGN_OR_RETURN(std::string bootstrap, option("bootstrap"));
  SLUICE_ASSIGN_OR_RETURN(std::string table, option("table"));
  SLUICE_ASSIGN_OR_RETURN(std::string checkpoint, option("checkpoint"));
  SLUICE_ASSIGN_OR_RETURN(std::string restart, option("restart"));
  auto parsed = session.read_stream()
                    .format("kafka")
                    .option("kafka.bootstrap.servers", bootstrap)
                    .option("subscribe", "events")
                    .option("startingOffsets", "earliest")
                    .option("maxOffsetsPerTrigger", "400")
                    .load()
                    .select(from_json(col("value"), "k STRING, v BIGINT, ts TIMESTAMP").alias("r"))
                    .select(col("r.k").alias("k"), col("r.v").alias("v"), col("r.ts").alias("ts"));
  AggregateCall aggregate = std::getenv(kOtherBuild) ? max(col("v")) : sum(col("v"));
  DataStreamWriter writer =
      parsed.group_by(window(col("ts"), "10 seconds"), col("k"))
          .agg(count().alias("n"), aggregate.alias("total"))
          .select(col("window.start").alias("window_start"), col("k"), col("n"), col("total"))
          .write_stream()
          .format("table")
          .option("path", table)
          .option("key", "window_start,k")
          .output_mode(OutputMode::Update)
          .trigger(Trigger::ProcessingTime(20ms))
          .option("checkpointLocation", checkpoint);
  if (restart == "none") {
    writer.option("restart.strategy", "none");
  } else {
    writer.option("restart.strategy", "fixed-delay")
        .option("restart.attempts", restart)
        .option("restart.delay", "50 ms");
  }
  return writer;
}

// This very program as a worker.
class SelfWorker : public WorkerProcess {
 public:
  SelfWorker() : WorkerProcess("/proc/self/exe", {"--sluice-worker", "127.0.0.1:0"}) {}
};

PipelineOptions options_for(const kafka::DevBroker& broker, const TemporaryDirectory& directory,
                            const std::string& name, const std::string& restart) {
  return {{"bootstrap", broker.bootstrap_servers()},
          {"table", directory.file(name)},
          {"checkpoint", directory.file(name + "-checkpoint")},
          {"restart", restart}};
}

StreamingQuery start_on(SessionContext& session, const PipelineOptions& options) {
  auto query = start_pipeline(session, kPipeline, options);
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  return std::move(*query);
}

}  // namespace

// The coordinator and two workers are this same program: the workers build the pipeline by
// name, and partition p runs on worker p mod 2. One worker is SIGKILLed mid-run; the query
// rolls back and goes on with the other, and the table equals the reference.
BOOST_FIXTURE_TEST_CASE(a_registered_pipeline_runs_on_workers_of_the_same_program_exactly_once,
                        ScaleOutFixture) {
  SelfWorker first;
  SelfWorker second;
  add_events(3000);
  Session session;
  BOOST_REQUIRE(session.set_conf("shuffle_partitions", "4").is_ok());
  BOOST_REQUIRE(session.set_conf("workers", first.address() + "," + second.address()).is_ok());
  const actors::RemoteTraffic before = actors::remote_traffic();
  StreamingQuery query = start_on(session, options_for(*broker, directory, "scaled", "5"));
  await_first_commit(query);
  BOOST_TEST(actors::remote_traffic().bytes_sent > before.bytes_sent);  // the workers run it
  std::this_thread::sleep_for(std::chrono::microseconds(random() % 20'000));
  first.kill();
  add_events(1500);
  await_all_processed(query);
  BOOST_TEST(query.last_progress()->num_restarts >= 1);
  BOOST_REQUIRE(query.stop().is_ok());
  BOOST_TEST(second.stop() == 0);
  check_exactly_once(table_rows(directory.file("scaled")), reference(events));
}

// A worker whose build of the pipeline plans differently (another version of the program) is
// refused: the query fails naming the pipeline and both plans' fingerprints.
BOOST_AUTO_TEST_CASE(a_worker_of_another_build_is_refused_naming_both_fingerprints) {
  TemporaryDirectory directory;
  auto broker = start_broker();
  ::setenv(kOtherBuild, "1", 1);
  SelfWorker other;
  ::unsetenv(kOtherBuild);
  produce(*broker, {Event{"k1", 5, kBaseMicros}});
  Session session;
  BOOST_REQUIRE(session.set_conf("workers", other.address()).is_ok());
  StreamingQuery query = start_on(session, options_for(*broker, directory, "refused", "none"));
  BOOST_REQUIRE_MESSAGE(query.await_termination(30s), "the query did not fail within 30 s");
  BOOST_REQUIRE(query.exception().has_value());
  const std::string message = query.exception()->message();
  BOOST_TEST_MESSAGE(message);
  const std::regex refusal(
      "pipeline 'windowed_counts' plans to fingerprint ([0-9a-f]{16}) in this worker but to "
      "([0-9a-f]{16}) in the coordinator: the worker runs another build of the program");
  std::smatch match;
  BOOST_REQUIRE_MESSAGE(std::regex_search(message, match, refusal), message);
  BOOST_TEST(match[1].str() != match[2].str());
  BOOST_TEST(message.find("worker " + other.address()) != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(an_unregistered_pipeline_is_refused_saying_how_to_register_it) {
  Session session;
  auto query = start_pipeline(session, "no_such_pipeline", {});
  BOOST_REQUIRE(!query.ok());
  BOOST_TEST(
      query.status().message().find(
          "no pipeline named 'no_such_pipeline' is registered in this program "
          "(registered: windowed_counts); call sluice::register_pipeline(\"no_such_pipeline\"") !=
          std::string::npos,
      query.status().to_string());
  BOOST_TEST(!register_pipeline(kPipeline, windowed_counts).is_ok());  // the name is taken
}

BOOST_AUTO_TEST_CASE(pipeline_options_reach_the_function_and_bad_ones_are_named) {
  Session session;
  auto query = start_pipeline(session, kPipeline, {{"bootstrap", "127.0.0.1:1"}});
  BOOST_REQUIRE(!query.ok());
  BOOST_TEST(query.status().message().find("building pipeline 'windowed_counts': pipeline needs "
                                           "option 'table'") != std::string::npos,
             query.status().to_string());
}

// A program's worker builds its registered pipelines only: a SQL query placed on it fails
// saying which worker SQL needs.
BOOST_FIXTURE_TEST_CASE(a_program_worker_refuses_sql_queries_naming_sluice_worker,
                        ScaleOutFixture) {
  SelfWorker worker;
  add_events(10);
  Session session;
  SqlContext sql(session);
  auto results = sql.execute(
      "CREATE SOURCE events WITH (connector = 'kafka', \"kafka.bootstrap.servers\" = '" +
      broker->bootstrap_servers() +
      "', subscribe = 'events', \"startingOffsets\" = 'earliest');\n"
      "CREATE SINK counts WITH (connector = 'memory', output_mode = 'complete', workers = '" +
      worker.address() +
      "', \"restart.strategy\" = 'none') AS SELECT key, count(*) AS n FROM "
      "events GROUP BY key;\n");
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  StreamingQuery query = *results->back().query;
  BOOST_REQUIRE_MESSAGE(query.await_termination(30s), "the query did not fail within 30 s");
  BOOST_REQUIRE(query.exception().has_value());
  BOOST_TEST(query.exception()->message().find(
                 "this worker runs registered C++ pipelines only: start SQL queries' workers with "
                 "`sluice worker`") != std::string::npos,
             query.exception()->to_string());
}

BOOST_AUTO_TEST_CASE(a_malformed_worker_address_stops_the_program_with_exit_code_2) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--sluice-worker", "nowhere"}, {"--sluice-worker"}}) {
    const pid_t child = testing::spawn_child("/proc/self/exe", args);
    BOOST_TEST(testing::wait_child(child) == 2);
  }
}

bool init_unit_test() {
  boost::unit_test::framework::master_test_suite().p_name.value = "pipeline_worker";
  return true;
}

int main(int argc, char** argv) {
  if (Status registered = register_pipeline(kPipeline, windowed_counts); !registered.is_ok()) {
    std::cerr << registered.to_string() << std::endl;
    return 1;
  }
  if (auto code = run_worker_if_requested(argc, argv)) return *code;
  return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
