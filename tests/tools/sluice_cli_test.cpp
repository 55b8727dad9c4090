#define BOOST_TEST_MODULE sluice_cli
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temporary_directory.hpp"

// The sluice command driven as a user drives it: a child process, its exit code, its output.

extern char** environ;

using sluice::testing::TemporaryDirectory;
using namespace std::chrono_literals;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

int count(const std::string& text, const std::string& part) {
  int found = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++found;
  return found;
}

// Returns the largest N of the "Batch: N" headers a console sink printed, or -1.
int64_t last_batch(const std::string& text) {
  int64_t last = -1;
  for (size_t at = text.find("Batch: "); at != std::string::npos;
       at = text.find("Batch: ", at + 1)) {
    last = std::max<int64_t>(last, std::stoll(text.substr(at + 7)));
  }
  return last;
}

int64_t first_batch(const std::string& text) {
  const size_t at = text.find("Batch: ");
  return at == std::string::npos ? -1 : std::stoll(text.substr(at + 7));
}

// A `sluice` child process whose stdout and stderr go to files in a temporary directory.
class Sluice {
 public:
  Sluice(const TemporaryDirectory& directory, std::vector<std::string> arguments)
      : out_(directory.file("stdout." + std::to_string(++runs_))),
        err_(directory.file("stderr." + std::to_string(runs_))) {
    arguments.insert(arguments.begin(), SLUICE_PATH);
    std::vector<char*> argv;
    for (auto& argument : arguments)
      argv.push_back(argument.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int spawned = posix_spawn(&pid_, SLUICE_PATH, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    BOOST_REQUIRE_MESSAGE(spawned == 0, "cannot start " SLUICE_PATH);
  }
  ~Sluice() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  /// Waits until stdout contains `part` (true) or the process ended or time ran out (false).
  bool wait_for_output(const std::string& part, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (out().find(part) != std::string::npos) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        status_ = status;
        return out().find(part) != std::string::npos;
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  void signal(int number) { ::kill(pid_, number); }
  /// Waits for the exit; returns the exit code, or -1 after a timeout or a signal death.
  int wait(std::chrono::milliseconds timeout = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!exited_ && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        status_ = status;
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    if (!exited_ || !WIFEXITED(status_)) return -1;
    return WEXITSTATUS(status_);
  }
  std::string out() const { return read_text(out_); }
  std::string err() const { return read_text(err_); }

 private:
  static inline int runs_ = 0;
  std::string out_;
  std::string err_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

const char* const kRatePipeline =
    "-- Counts a rate source per second of event time.\n"
    "CREATE SOURCE ticks (timestamp TIMESTAMP, value BIGINT,\n"
    "                     WATERMARK FOR timestamp AS timestamp - INTERVAL '1' SECOND)\n"
    "  WITH (connector = 'rate', \"rowsPerSecond\" = '200');\n"
    "CREATE SINK evens WITH (connector = 'console', trigger = '100ms') AS\n"
    "  SELECT value, value * 10 AS tenfold FROM ticks WHERE value % 2 = 0;\n";

}  // namespace

BOOST_AUTO_TEST_CASE(version_and_help_exit_zero) {
  TemporaryDirectory directory;
  Sluice version(directory, {"--version"});
  BOOST_TEST(version.wait() == 0);
  BOOST_TEST(version.out() == "sluice 0.1.0\n");
  for (std::vector<std::string> help : {std::vector<std::string>{"--help"},
                                        {"run", "--help"},
                                        {"explain", "--help"},
                                        {"checkpoint", "inspect", "--help"}}) {
    Sluice sluice(directory, help);
    BOOST_TEST(sluice.wait() == 0);
    BOOST_TEST(sluice.out().find("Usage: sluice") != std::string::npos, sluice.out());
  }
  Sluice run_help(directory, {"run", "--help"});
  BOOST_TEST(run_help.wait() == 0);
  for (const char* option : {"--checkpoint", "--until-idle", "--trigger", "--progress"}) {
    BOOST_TEST(run_help.out().find(option) != std::string::npos, option);
  }
}

BOOST_AUTO_TEST_CASE(a_bad_command_line_exits_two_with_one_line_on_stderr) {
  TemporaryDirectory directory;
  for (std::vector<std::string> arguments : {std::vector<std::string>{"frobnicate"},
                                             {"run"},
                                             {"run", "x.sql", "--trigger", "often"},
                                             {"run", "x.sql", "--progress=xml"},
                                             {}}) {
    Sluice sluice(directory, arguments);
    BOOST_TEST(sluice.wait() == 2);
    const std::string err = sluice.err();
    BOOST_TEST(count(err, "\n") == 1, err);
    BOOST_TEST(err.rfind("sluice: error: ", 0) == 0u, err);
  }
}

BOOST_AUTO_TEST_CASE(a_sql_error_exits_one_showing_the_file_line_and_caret) {
  TemporaryDirectory directory;
  write_text(directory.file("typo.sql"),
             "CREATE SOURCE ticks WITH (connector = 'rate');\n"
             "CREATE SINK out WITH (connector = 'console') AS\n"
             "  SELECT valeu FROM ticks;\n");
  Sluice sluice(directory, {"run", directory.file("typo.sql")});
  BOOST_TEST(sluice.wait() == 1);
  BOOST_TEST(sluice.err() == "sluice: error: " + directory.file("typo.sql") +
                                 ":3:10: column 'valeu' does not exist; did you mean 'value'? "
                                 "(columns: timestamp, value)\n"
                                 "  3 |   SELECT valeu FROM ticks;\n"
                                 "    |          ^\n");
  BOOST_TEST(sluice.out().empty());

  Sluice missing(directory, {"run", directory.file("missing.sql")});
  BOOST_TEST(missing.wait() == 1);
  BOOST_TEST(missing.err() == "sluice: error: cannot read " + directory.file("missing.sql") + "\n");
}

BOOST_AUTO_TEST_CASE(a_failing_query_exits_one_naming_the_query_and_the_error) {
  TemporaryDirectory directory;
  write_text(directory.file("boom.sql"),
             "SET ansi = true;\n"
             "CREATE SOURCE ticks WITH (connector = 'rate', \"rowsPerSecond\" = '100');\n"
             "CREATE SINK boom WITH (connector = 'noop', trigger = '50ms') AS\n"
             "  SELECT value / (value - value) AS x FROM ticks;\n");
  Sluice sluice(directory, {"run", directory.file("boom.sql")});
  BOOST_TEST(sluice.wait() == 1);
  const std::string err = sluice.err();
  BOOST_TEST(err.find("sluice: error: query boom failed: ") != std::string::npos, err);
  BOOST_TEST(err.find("division by zero in (value / (value - value))") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(run_until_idle_processes_the_rate_source_into_the_console) {
  TemporaryDirectory directory;
  // Four rows a second and a trigger every 50 ms: after the first epoch a trigger finds nothing.
  write_text(directory.file("slow.sql"),
             "CREATE SOURCE ticks WITH (connector = 'rate', \"rowsPerSecond\" = '4');\n"
             "CREATE SINK evens WITH (connector = 'console', trigger = '50ms') AS\n"
             "  SELECT value, value * 10 AS tenfold FROM ticks WHERE value % 2 = 0;\n");
  Sluice sluice(directory, {"run", directory.file("slow.sql"), "--until-idle"});
  BOOST_TEST(sluice.wait() == 0, sluice.err());
  const std::string out = sluice.out();
  BOOST_TEST(out.find("Batch: 0") != std::string::npos, out);
  BOOST_TEST(out.find("|value|tenfold|") != std::string::npos, out);
  BOOST_TEST(sluice.err().find("sluice: started evens") != std::string::npos, sluice.err());
  BOOST_TEST(sluice.err().find("stopped 1 query (--until-idle)") != std::string::npos,
             sluice.err());
}

BOOST_AUTO_TEST_CASE(explain_prints_each_sinks_plans_and_starts_nothing) {
  TemporaryDirectory directory;
  write_text(directory.file("rate.sql"), kRatePipeline);
  Sluice sluice(directory, {"explain", directory.file("rate.sql")});
  BOOST_TEST(sluice.wait() == 0, sluice.err());
  const std::string out = sluice.out();
  BOOST_TEST(out.rfind("=== CREATE SINK evens ===\n== Parsed Logical Plan ==", 0) == 0u, out);
  BOOST_TEST(out.find("Filter ((value % 2) = 0)") != std::string::npos, out);
  BOOST_TEST(out.find("== Physical Plan ==") != std::string::npos, out);
  BOOST_TEST(out.find("Batch:") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(progress_json_prints_one_report_per_line) {
  TemporaryDirectory directory;
  write_text(directory.file("rate.sql"), kRatePipeline);
  write_text(
      directory.file("noop.sql"),
      "CREATE SOURCE ticks WITH (connector = 'rate', \"rowsPerSecond\" = '200');\n"
      "CREATE SINK nothing WITH (connector = 'noop', trigger = '100ms') AS SELECT * FROM ticks;\n");
  Sluice sluice(directory, {"run", directory.file("noop.sql"), "--progress=json"});
  BOOST_REQUIRE(sluice.wait_for_output("\"batchId\":2"));
  sluice.signal(SIGTERM);
  BOOST_TEST(sluice.wait() == 0, sluice.err());
  std::istringstream lines(sluice.out());
  int reports = 0;
  for (std::string line; std::getline(lines, line);) {
    BOOST_TEST(line.front() == '{', line);
    BOOST_TEST(line.back() == '}', line);
    BOOST_TEST(line.find("\"name\":\"nothing\"") != std::string::npos, line);
    ++reports;
  }
  BOOST_TEST(reports >= 3);
  BOOST_TEST(sluice.err().find("stopped 1 query (SIGTERM)") != std::string::npos, sluice.err());
}

BOOST_AUTO_TEST_CASE(ctrl_c_stops_cleanly_and_the_next_run_resumes_from_the_checkpoint) {
  TemporaryDirectory directory;
  write_text(directory.file("rate.sql"), kRatePipeline);
  const std::string checkpoint = directory.file("checkpoints");

  Sluice first(directory, {"run", directory.file("rate.sql"), "--checkpoint", checkpoint});
  BOOST_REQUIRE_MESSAGE(first.wait_for_output("Batch: 2"), first.err());
  // The checkpoint is in use while the query runs: inspect refuses it, saying why.
  Sluice busy(directory, {"checkpoint", "inspect", checkpoint});
  BOOST_TEST(busy.wait() == 1);
  BOOST_TEST(busy.err().find("is in use by a running query") != std::string::npos, busy.err());
  first.signal(SIGINT);
  BOOST_TEST(first.wait() == 0, first.err());
  BOOST_TEST(first.err().find("stopped 1 query (SIGINT)") != std::string::npos, first.err());
  const int64_t printed = last_batch(first.out());

  Sluice inspect(directory, {"checkpoint", "inspect", checkpoint, "--json"});
  BOOST_TEST(inspect.wait() == 0, inspect.err());
  const std::string report = inspect.out();
  BOOST_TEST(report.find("\"path\":\"" + checkpoint + "/evens\"") != std::string::npos, report);
  const size_t at = report.find("\"latestCommittedEpoch\":");
  BOOST_REQUIRE(at != std::string::npos);
  const int64_t committed = std::stoll(report.substr(at + 23));
  BOOST_TEST(committed >= 2);
  BOOST_TEST(committed <= printed);

  // The second run picks up after the last committed epoch (replaying one that was logged but
  // not committed), reads what the rate produced meanwhile, and ends (available-now).
  Sluice second(directory, {"run", directory.file("rate.sql"), "--checkpoint", checkpoint,
                            "--trigger", "available-now"});
  BOOST_TEST(second.wait() == 0, second.err());
  BOOST_TEST(first_batch(second.out()) == committed + 1, second.out());
  BOOST_TEST(second.err().find("stopped") == std::string::npos, second.err());

  Sluice after(directory, {"checkpoint", "inspect", checkpoint});
  BOOST_TEST(after.wait() == 0, after.err());
  BOOST_TEST(after.out().find("checkpoint " + checkpoint + "/evens") != std::string::npos);
  BOOST_TEST(after.out().find("to " + std::to_string(last_batch(second.out())) + "\n") !=
                 std::string::npos,
             after.out());
}

BOOST_AUTO_TEST_CASE(inspect_says_when_there_is_no_checkpoint) {
  TemporaryDirectory directory;
  Sluice missing(directory, {"checkpoint", "inspect", directory.file("nothing")});
  BOOST_TEST(missing.wait() == 1);
  BOOST_TEST(missing.err() == "sluice: error: no checkpoint at " + directory.file("nothing") +
                                  ": the directory does not exist\n");
  Sluice empty(directory, {"checkpoint", "inspect", directory.path()});
  BOOST_TEST(empty.wait() == 1);
  BOOST_TEST(empty.err().find("is not a Sluice checkpoint") != std::string::npos, empty.err());
}

BOOST_AUTO_TEST_CASE(a_table_sink_is_dumped_from_the_command_line) {
  TemporaryDirectory directory;
  const std::string landing = directory.file("landing");
  const std::string table = directory.file("totals");
  std::filesystem::create_directories(landing);
  write_text(landing + "/a.json",
             "{\"sensor\": \"s1\", \"v\": 3}\n{\"sensor\": \"s2\", \"v\": 4}\n{\"sensor\": \"s1\", \"v\": 5}\n");
  write_text(directory.file("totals.sql"),
             "CREATE SOURCE readings (sensor VARCHAR, v BIGINT)\n"
             "  WITH (connector = 'file', format = 'json', path = '" + landing + "');\n"
             "CREATE SINK totals WITH (connector = 'table', path = '" + table +
                 "', key = 'sensor', output_mode = 'update', trigger = '50ms') AS\n"
                 "  SELECT sensor, count(*) AS n, sum(v) AS total FROM readings GROUP BY sensor;\n");
  Sluice run(directory, {"run", directory.file("totals.sql"), "--until-idle", "--checkpoint",
                         directory.file("checkpoints"), "--ui-port", "off"});
  BOOST_REQUIRE_MESSAGE(run.wait() == 0, run.err());

  Sluice dump(directory, {"table", "dump", table});
  BOOST_TEST(dump.wait() == 0, dump.err());
  BOOST_TEST(dump.out() == "table " + table + ": 2 rows, key (sensor)\n"
                           "+------+---+-----+\n"
                           "|sensor|n  |total|\n"
                           "+------+---+-----+\n"
                           "|s1    |2  |8    |\n"
                           "|s2    |1  |4    |\n"
                           "+------+---+-----+\n",
             dump.out());
  Sluice json(directory, {"table", "dump", table, "--json"});
  BOOST_TEST(json.wait() == 0, json.err());
  BOOST_TEST(json.out() == "{\"sensor\":\"s1\",\"n\":2,\"total\":8}\n{\"sensor\":\"s2\",\"n\":1,\"total\":4}\n");

  Sluice missing(directory, {"table", "dump", directory.file("nothing")});
  BOOST_TEST(missing.wait() == 1);
  BOOST_TEST(missing.err().find("no table at " + directory.file("nothing")) != std::string::npos, missing.err());
}

BOOST_AUTO_TEST_CASE(a_landing_directory_pipeline_survives_ctrl_c_with_every_row_once) {
  TemporaryDirectory directory;
  const std::string landing = directory.file("landing");
  const std::string output = directory.file("output");
  const std::string checkpoint = directory.file("checkpoints");
  std::filesystem::create_directories(landing);
  // Ten orders in five files; orders with an even id have an amount of at least 10.
  auto land = [&](int file) {
    std::string rows;
    for (int id = 2 * file - 1; id <= 2 * file; ++id) {
      rows += "{\"id\": " + std::to_string(id) + ", \"item\": \"item" + std::to_string(id) +
              "\", \"amount\": " + std::to_string(id % 2 == 0 ? 10 + id : id) + "}\n";
    }
    write_text(landing + "/.part", rows);
    std::filesystem::rename(landing + "/.part",
                            landing + "/orders-" + std::to_string(file) + ".json");
  };
  for (int file = 1; file <= 3; ++file)
    land(file);
  write_text(directory.file("orders.sql"),
             "CREATE SOURCE orders (id BIGINT, item VARCHAR, amount BIGINT)\n"
             "  WITH (connector = 'file', format = 'json', path = '" +
                 landing +
                 "');\n"
                 "CREATE SINK big_orders WITH (connector = 'file', format = 'csv', path = '" +
                 output +
                 "', header = 'true', trigger = '200ms') AS\n"
                 "  SELECT id, upper(item) AS item, amount FROM orders WHERE amount >= 10;\n");

  Sluice first(directory, {"run", directory.file("orders.sql"), "--checkpoint", checkpoint,
                           "--progress=json"});
  BOOST_REQUIRE_MESSAGE(first.wait_for_output("\"batchId\":0"), first.err());
  land(4);  // picked up by the running query's next epoch
  BOOST_REQUIRE_MESSAGE(first.wait_for_output("\"batchId\":1"), first.err());
  first.signal(SIGINT);
  BOOST_TEST(first.wait() == 0, first.err());

  land(5);  // arrives while nothing runs
  Sluice second(directory, {"run", directory.file("orders.sql"), "--checkpoint", checkpoint,
                            "--trigger", "available-now"});
  BOOST_TEST(second.wait() == 0, second.err());

  // Read the sink's directory back as a user would: a file source over it (committed files
  // only) into the console.
  write_text(directory.file("check.sql"),
             "CREATE SOURCE written (id BIGINT, item VARCHAR, amount BIGINT)\n"
             "  WITH (connector = 'file', format = 'csv', path = '" +
                 output +
                 "', header = 'true');\n"
                 "CREATE SINK shown WITH (connector = 'console', numRows = '100') AS SELECT * FROM "
                 "written;\n");
  Sluice check(directory, {"run", directory.file("check.sql"), "--trigger", "once"});
  BOOST_TEST(check.wait() == 0, check.err());
  std::vector<std::string> rows;
  std::istringstream lines(check.out());
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > 1 && line[0] == '|' && line.find("|id|") == std::string::npos &&
        line.find(" id|") == std::string::npos) {
      std::string row;
      for (char c : line) {
        if (c != ' ') row += c;
      }
      rows.push_back(row);
    }
  }
  std::sort(rows.begin(), rows.end());
  std::vector<std::string> expected;
  for (int id = 2; id <= 10; id += 2) {
    expected.push_back("|" + std::to_string(id) + "|ITEM" + std::to_string(id) + "|" +
                       std::to_string(10 + id) + "|");
  }
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(rows == expected, check.out());
}

namespace {

// Runs a shell command, returns its stdout; the test fails when it exits non-zero.
std::string shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  BOOST_REQUIRE_MESSAGE(pipe != nullptr, "cannot run " + command);
  char buffer[4096];
  size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, read);
  const int status = ::pclose(pipe);
  BOOST_REQUIRE_MESSAGE(status == 0, command + " failed: " + output);
  return output;
}

// Returns the address `sluice kafka-dev` printed.
std::string bootstrap_of(Sluice& broker) {
  BOOST_REQUIRE_MESSAGE(broker.wait_for_output("\n"), "kafka-dev printed nothing: " + broker.err());
  const std::string out = broker.out();
  const std::string prefix = "bootstrap.servers=";
  BOOST_REQUIRE_MESSAGE(out.rfind(prefix, 0) == 0, out);
  return out.substr(prefix.size(), out.find('\n') - prefix.size());
}

}  // namespace

BOOST_AUTO_TEST_CASE(kafka_dev_serves_a_real_kafka_client) {
  BOOST_REQUIRE_MESSAGE(::access("/usr/bin/kcat", X_OK) == 0, "kcat is missing: run make deps");
  TemporaryDirectory directory;
  Sluice broker(directory, {"kafka-dev", "--brokers", "3", "--topic", "readings:2"});
  const std::string bootstrap = bootstrap_of(broker);
  BOOST_TEST(broker.err().find("created topic readings with 2 partitions") != std::string::npos);
  write_text(directory.file("records.txt"), "s1:one\ns2:two\ns3:three\n");
  shell("kcat -P -b " + bootstrap + " -t readings -K: -l " + directory.file("records.txt") + " 2>&1");
  std::string metadata = shell("kcat -L -b " + bootstrap + " -t readings 2>&1");
  BOOST_TEST(metadata.find("3 brokers") != std::string::npos, metadata);
  BOOST_TEST(metadata.find("2 partitions") != std::string::npos, metadata);
  std::string consumed = shell("kcat -C -b " + bootstrap + " -t readings -e -q -f '%k=%s\\n' 2>&1");
  std::vector<std::string> lines;
  std::istringstream in(consumed);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  BOOST_TEST((lines == std::vector<std::string>{"s1=one", "s2=two", "s3=three"}), consumed);
  broker.signal(SIGINT);
  BOOST_TEST(broker.wait() == 0, broker.err());
  BOOST_TEST(broker.err().find("stopping the development Kafka cluster") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(kafka_dev_refuses_a_bad_topic_spec) {
  TemporaryDirectory directory;
  Sluice broker(directory, {"kafka-dev", "--topic", "readings:zero"});
  BOOST_TEST(broker.wait() == 2);
  BOOST_TEST(broker.err().find("--topic readings:zero: expected name or name:partitions") != std::string::npos, broker.err());
}

// kcat (a real Kafka client) writes JSON readings into the development broker; `sluice run`
// parses and aggregates them and writes JSON totals to another topic; kcat reads them back.
BOOST_AUTO_TEST_CASE(kcat_in_sluice_sql_in_between_kcat_out) {
  BOOST_REQUIRE_MESSAGE(::access("/usr/bin/kcat", X_OK) == 0, "kcat is missing: run make deps");
  TemporaryDirectory directory;
  Sluice broker(directory, {"kafka-dev", "--topic", "readings:2", "--topic", "totals:1"});
  const std::string bootstrap = bootstrap_of(broker);
  write_text(directory.file("readings.json"),
             "{\"sensor\":\"s1\",\"temp\":20.5}\n"
             "{\"sensor\":\"s2\",\"temp\":30.25}\n"
             "{\"sensor\":\"s1\",\"temp\":22.5}\n"
             "not json at all\n"
             "{\"sensor\":\"s2\",\"temp\":-5}\n"
             "{\"sensor\":\"s3\",\"temp\":18}\n");
  shell("kcat -P -b " + bootstrap + " -t readings -l " + directory.file("readings.json") + " 2>&1");
  write_text(directory.file("totals.sql"),
             "CREATE SOURCE readings WITH (connector = 'kafka', \"kafka.bootstrap.servers\" = '" + bootstrap +
                 "',\n  subscribe = 'readings', \"startingOffsets\" = 'earliest');\n"
                 "CREATE VIEW parsed AS SELECT from_json(value, 'sensor STRING, temp DOUBLE') AS r FROM readings;\n"
                 "CREATE SINK totals WITH (connector = 'kafka', \"kafka.bootstrap.servers\" = '" +
                 bootstrap +
                 "',\n  topic = 'totals', output_mode = 'complete') AS\n"
                 "  SELECT to_json(named_struct('sensor', sensor, 'readings', n, 'max_temp', max_temp)) AS value\n"
                 "  FROM (SELECT r.sensor AS sensor, count(*) AS n, max(r.temp) AS max_temp\n"
                 "        FROM parsed WHERE r.sensor IS NOT NULL GROUP BY r.sensor) AS per_sensor;\n");
  Sluice run(directory, {"run", directory.file("totals.sql"), "--trigger", "once", "--ui-port", "off"});
  BOOST_TEST(run.wait(30s) == 0, run.err());
  std::string consumed = shell("kcat -C -b " + bootstrap + " -t totals -e -q -f '%s\\n' 2>&1");
  std::vector<std::string> lines;
  std::istringstream in(consumed);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  BOOST_TEST((lines == std::vector<std::string>{"{\"sensor\":\"s1\",\"readings\":2,\"max_temp\":22.5}",
                                                "{\"sensor\":\"s2\",\"readings\":2,\"max_temp\":30.25}",
                                                "{\"sensor\":\"s3\",\"readings\":1,\"max_temp\":18}"}),
             consumed);
  broker.signal(SIGINT);
  BOOST_TEST(broker.wait() == 0, broker.err());
}

BOOST_AUTO_TEST_CASE(delta_vacuum_and_optimize_maintain_a_table) {
  TemporaryDirectory directory;
  const std::string table = directory.file("table");
  std::filesystem::create_directories(table + "/_delta_log");
  // Version 1 adds a.parquet, version 2 replaces it by b.parquet.
  write_text(table + "/_delta_log/00000000000000000000.json",
             "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
             "{\"metaData\":{\"id\":\"t\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
             "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"a\\\","
             "\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
             "\"partitionColumns\":[],\"configuration\":{},\"createdTime\":0}}\n");
  write_text(table + "/_delta_log/00000000000000000001.json",
             "{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},\"size\":3,\"modificationTime\":0,"
             "\"dataChange\":true}}\n");
  write_text(table + "/_delta_log/00000000000000000002.json",
             "{\"remove\":{\"path\":\"a.parquet\",\"deletionTimestamp\":1,\"dataChange\":true}}\n"
             "{\"add\":{\"path\":\"b.parquet\",\"partitionValues\":{},\"size\":3,\"modificationTime\":0,"
             "\"dataChange\":true}}\n");
  write_text(table + "/a.parquet", "old");
  write_text(table + "/b.parquet", "new");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));

  Sluice kept(directory, {"delta", "vacuum", table});
  BOOST_TEST(kept.wait() == 0, kept.err());
  BOOST_TEST(kept.out().find("deleted 0 files") != std::string::npos, kept.out());
  Sluice vacuum(directory, {"delta", "vacuum", table, "--retention-hours", "0"});
  BOOST_TEST(vacuum.wait() == 0, vacuum.err());
  BOOST_TEST(vacuum.out() == "vacuumed " + table + ": deleted 1 files (3 bytes); versions from 2 on stay readable\n",
             vacuum.out());
  BOOST_TEST(!std::filesystem::exists(table + "/a.parquet"));
  BOOST_TEST(std::filesystem::exists(table + "/b.parquet"));

  Sluice optimize(directory, {"delta", "optimize", table});
  BOOST_TEST(optimize.wait() == 0, optimize.err());
  BOOST_TEST(optimize.out().find("nothing to do") != std::string::npos, optimize.out());
  Sluice missing(directory, {"delta", "vacuum", directory.file("nothing")});
  BOOST_TEST(missing.wait() == 1);
  BOOST_TEST(missing.err().find("no Delta table at " + directory.file("nothing")) != std::string::npos, missing.err());
}
