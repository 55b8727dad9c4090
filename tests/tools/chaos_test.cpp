#define BOOST_TEST_MODULE chaos
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "core/fault_injection.hpp"
#include "tests/support/temporary_directory.hpp"

using sluice::testing::TemporaryDirectory;

namespace {

struct Outcome {
  int exit_code = -1;
  std::string output;
};

// Runs `sluice chaos` on a pipeline and returns what it printed.
Outcome run_chaos(const std::string& pipeline_sql, int kills, uint64_t seed) {
  TemporaryDirectory directory;
  const std::string pipeline = directory.file("pipeline.sql");
  std::ofstream(pipeline) << pipeline_sql;
  const std::string command = std::string(SLUICE_PATH) + " chaos --pipeline " + pipeline +
                              " --kills " + std::to_string(kills) + " --seed " +
                              std::to_string(seed) + " --rows-per-file 20" + " --work-dir " +
                              directory.file("work") + " 2>&1";
  Outcome outcome;
  FILE* pipe = ::popen(command.c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  char buffer[4096];
  while (size_t read = std::fread(buffer, 1, sizeof buffer, pipe))
    outcome.output.append(buffer, read);
  const int status = ::pclose(pipe);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

const char* kSource =
    "CREATE SOURCE events (id BIGINT, k STRING, v BIGINT, ts TIMESTAMP,\n"
    "                      WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)\n"
    "  WITH (connector = 'file', format = 'csv', path = '${input}', \"maxFilesPerTrigger\" = "
    "'2');\n";

std::string sink_clause(const std::string& kind, const std::string& extra = "") {
  return kind == "delta" ? "connector = 'delta', path = '${output}'" + extra
                         : "connector = 'file', format = 'json', path = '${output}'" + extra;
}

std::string stateless(const std::string& kind, const std::string& extra = "") {
  return std::string(kSource) + "CREATE SINK copy WITH (" + sink_clause(kind, extra) +
         ") AS SELECT id, upper(k) AS k, v * 2 AS v2, ts FROM events WHERE v % 3 <> 0;\n";
}

std::string stateful(const std::string& kind) {
  return std::string(kSource) + "CREATE SINK windows WITH (" + sink_clause(kind) +
         ", output_mode = 'append') AS\n"
         "  SELECT window_start, k, count(*) AS n, sum(v) AS total\n"
         "  FROM TUMBLE(events, DESCRIPTOR(ts), INTERVAL '3' SECOND) GROUP BY window_start, "
         "window_end, k;\n";
}

std::string over_aggregation(const std::string& kind) {
  return std::string(kSource) + "CREATE SINK averages WITH (" + sink_clause(kind) +
         ", output_mode = 'append') AS\n"
         "  SELECT id, k, ts, avg(v) OVER (PARTITION BY k ORDER BY ts, id ROWS BETWEEN 3 PRECEDING "
         "AND "
         "CURRENT ROW) AS average FROM events;\n";
}

// A Kafka source on the runner's own cluster ('${kafka}', topic 'events' of CSV lines).
const char* kKafkaSource =
    "CREATE SOURCE raw WITH (connector = 'kafka', \"kafka.bootstrap.servers\" = '${kafka}',\n"
    "  subscribe = 'events', \"startingOffsets\" = 'earliest', \"maxOffsetsPerTrigger\" = '30');\n"
    "CREATE VIEW events AS\n"
    "  SELECT from_csv(value, 'id BIGINT, k STRING, v BIGINT, ts TIMESTAMP') AS r FROM raw;\n";

std::string from_kafka(const std::string& kind) {
  const std::string sink =
      kind == "table" ? "connector = 'table', path = '${output}', key = 'id'" : sink_clause(kind);
  return std::string(kKafkaSource) + "CREATE SINK copy WITH (" + sink +
         ") AS SELECT r.id AS id, upper(r.k) AS k, r.v * 2 AS v2, r.ts AS ts FROM events "
         "WHERE r.v % 3 <> 0;\n";
}

uint64_t test_seed() {
  static const uint64_t seed = std::random_device{}();
  return seed;
}

// Every crash point a pipeline with this sink reaches.
std::vector<std::string> reachable_points(const std::string& kind) {
  std::vector<std::string> points;
  for (auto point : sluice::all_fault_points()) {
    if (point == sluice::FaultPoint::kafka_before_txn_commit) continue;
    if (point == sluice::FaultPoint::delta_before_log_publish && kind != "delta") continue;
    points.emplace_back(sluice::fault_point_name(point));
  }
  return points;
}

void check_exactly_once(const std::string& kind, const std::string& sql, const std::string& what) {
  const auto points = reachable_points(kind);
  const int kills = static_cast<int>(points.size()) + 4;
  const uint64_t seed = test_seed();
  BOOST_TEST_CONTEXT(what << ", seed " << seed) {
    Outcome outcome = run_chaos(sql, kills, seed);
    BOOST_TEST_MESSAGE(what << ":\n" << outcome.output);
    BOOST_TEST(outcome.exit_code == 0, outcome.output);
    BOOST_TEST(
        outcome.output.find("kills " + std::to_string(kills) + ", lost 0, duplicated 0, seed " +
                            std::to_string(seed)) != std::string::npos,
        outcome.output);
    // Crash-point kills go round every point the pipeline reaches.
    const size_t listed = outcome.output.find("crash points that killed a run: ");
    BOOST_REQUIRE(listed != std::string::npos);
    const std::string line =
        outcome.output.substr(listed, outcome.output.find('\n', listed) - listed);
    for (const auto& point : points)
      BOOST_TEST(line.find(point) != std::string::npos, point << " in " << line);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_stateless_query_into_files_survives_every_crash_point_exactly_once) {
  check_exactly_once("file", stateless("file"), "file sink, stateless");
}

BOOST_AUTO_TEST_CASE(a_windowed_aggregation_into_files_survives_every_crash_point_exactly_once) {
  check_exactly_once("file", stateful("file"), "file sink, stateful");
}

BOOST_AUTO_TEST_CASE(an_over_aggregation_into_files_survives_every_crash_point_exactly_once) {
  check_exactly_once("file", over_aggregation("file"), "file sink, OVER");
}

BOOST_AUTO_TEST_CASE(a_stateless_query_into_delta_survives_every_crash_point_exactly_once) {
  check_exactly_once("delta", stateless("delta"), "Delta sink, stateless");
}

BOOST_AUTO_TEST_CASE(a_windowed_aggregation_into_delta_survives_every_crash_point_exactly_once) {
  check_exactly_once("delta", stateful("delta"), "Delta sink, stateful");
}

BOOST_AUTO_TEST_CASE(a_kafka_source_into_files_delta_or_a_table_survives_every_crash_point) {
  for (const std::string kind : {"file", "delta", "table"})
    check_exactly_once(kind, from_kafka(kind), "Kafka into " + kind);
}

BOOST_AUTO_TEST_CASE(the_runner_reports_duplicates_of_a_sink_that_is_not_exactly_once) {
  // exactlyOnce = false: the Delta sink appends a replayed epoch again.
  Outcome outcome = run_chaos(stateless("delta", ", \"exactlyOnce\" = 'false'"), 12, test_seed());
  BOOST_TEST_MESSAGE(outcome.output);
  BOOST_TEST(outcome.exit_code == 1, outcome.output);
  BOOST_TEST(outcome.output.find("lost 0, duplicated 0") == std::string::npos, outcome.output);
  BOOST_TEST(outcome.output.find("first difference: row '") != std::string::npos, outcome.output);
  BOOST_TEST(outcome.output.find("replay: sluice chaos --pipeline") != std::string::npos,
             outcome.output);
}

BOOST_AUTO_TEST_CASE(a_pipeline_without_placeholders_is_refused_clearly) {
  Outcome outcome = run_chaos("CREATE SOURCE s WITH (connector = 'rate');", 1, 1);
  BOOST_TEST(outcome.exit_code == 1);
  BOOST_TEST(outcome.output.find("must read '${input}'") != std::string::npos, outcome.output);
  BOOST_TEST(outcome.output.find("or the Kafka cluster '${kafka}'") != std::string::npos,
             outcome.output);
  BOOST_TEST(outcome.output.find("and write '${output}'") != std::string::npos, outcome.output);
}
