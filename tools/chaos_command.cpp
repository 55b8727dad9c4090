#include "tools/chaos_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <sluice/sluice.hpp>

#include "core/fault_injection.hpp"
#include "io/kafka_client.hpp"
#include "io/kafka_dev_broker.hpp"

extern char** environ;

namespace sluice::tools {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Child {
  pid_t pid = -1;
};

// How a child run ended.
struct Ending {
  bool killed = false;     // by our SIGKILL or by an armed crash point
  bool completed = false;  // exit 0: the run finished its input
  int exit_code = 0;       // otherwise
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error("cannot read pipeline file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Status write_text(const fs::path& path, const std::string& text) {
  // Written under a hidden name and renamed, so a source never sees half a file.
  const fs::path hidden = path.parent_path() / ("." + path.filename().string() + ".tmp");
  {
    std::ofstream out(hidden);
    out << text;
    if (!out) return Status::io_error("cannot write " + hidden.string());
  }
  std::error_code error;
  fs::rename(hidden, path, error);
  if (error) return Status::io_error("cannot rename " + hidden.string() + ": " + error.message());
  return Status::ok();
}

// The landing file number `index`: rows id, k, v, ts, with event times growing file by file
// (one second per file), so no row is ever late for a watermark of a second or more.
std::string landing_file(int64_t index, int64_t rows, uint64_t seed) {
  std::mt19937_64 random(seed * 1000003 + static_cast<uint64_t>(index));
  std::string text;
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t id = index * rows + row;
    const int64_t micros = index * 1000000 + row * (1000000 / std::max<int64_t>(rows, 1));
    const int64_t seconds = micros / 1000000;
    char ts[64];
    std::snprintf(ts, sizeof ts, "2026-01-01 %02lld:%02lld:%02lld.%06lld",
                  static_cast<long long>(seconds / 3600 % 24),
                  static_cast<long long>(seconds / 60 % 60), static_cast<long long>(seconds % 60),
                  static_cast<long long>(micros % 1000000));
    text += std::to_string(id) + ",k" + std::to_string(random() % 7) + "," +
            std::to_string(random() % 1000) + "," + ts + "\n";
  }
  return text;
}

// Starts `sluice run` on the pipeline; with a scheduler seed its actors interleave as that
// seed says (sluice run --scheduler-seed), so a crash point fires at the same step on replay.
Result<Child> spawn_run(const std::string& binary, const fs::path& sql, const fs::path& checkpoint,
                        const fs::path& log, const std::string& faults,
                        std::optional<uint64_t> scheduler_seed = std::nullopt) {
  std::vector<std::string> args = {
      binary,      "run",           sql.string(), "--checkpoint", checkpoint.string(),
      "--trigger", "available-now", "--ui-port",  "off"};
  if (scheduler_seed) {
    args.push_back("--scheduler-seed");
    args.push_back(std::to_string(*scheduler_seed));
  }
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    if (text.rfind("SLUICE_FAULTS=", 0) == 0 || text.rfind("SLUICE_CRASH_AT=", 0) == 0) continue;
    environment.push_back(text);
  }
  if (!faults.empty()) environment.push_back("SLUICE_FAULTS=" + faults);
  std::vector<char*> envp;
  for (auto& entry : environment)
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  Child child;
  const int error =
      posix_spawn(&child.pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return Status::io_error("cannot start " + binary + ": " + std::strerror(error));
  return child;
}

// The topic a Kafka pipeline reads ('${kafka}' names the runner's embedded broker).
constexpr const char* kChaosTopic = "events";
constexpr int kChaosTopicPartitions = 3;

// Produces the lines of one landing file as records of the chaos topic, each to partition
// id % partitions, and waits until every record is acknowledged.
Status produce_lines(const std::string& bootstrap, const std::string& text, int64_t first_id) {
  SLUICE_ASSIGN_OR_RETURN(kafka::Client producer,
                          kafka::make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap},
                                                                 {"linger.ms", "1"},
                                                                 {"enable.idempotence", "true"}}));
  int64_t id = first_id;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    const int32_t partition = static_cast<int32_t>(id++ % kChaosTopicPartitions);
    const rd_kafka_resp_err_t error = rd_kafka_producev(
        producer.get(), RD_KAFKA_V_TOPIC(kChaosTopic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_VALUE(line.data(), line.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR)
      return Status::io_error("producing the chaos input: " + kafka::error_text(error));
  }
  const rd_kafka_resp_err_t flushed = rd_kafka_flush(producer.get(), 30'000);
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Status::io_error("producing the chaos input: " + kafka::error_text(flushed));
  return Status::ok();
}

// Waits for the child until `kill_after` (then SIGKILLs it) or `give_up_after` (an error).
Ending await_child(const Child& child, std::optional<std::chrono::milliseconds> kill_after) {
  const auto start = Clock::now();
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(child.pid, &status, WNOHANG);
    if (done == child.pid) break;
    if (kill_after && Clock::now() - start >= *kill_after) {
      ::kill(child.pid, SIGKILL);
      ::waitpid(child.pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  Ending ending;
  if (WIFSIGNALED(status)) {
    ending.killed = WTERMSIG(status) == SIGKILL;
    ending.exit_code = 128 + WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    ending.exit_code = WEXITSTATUS(status);
    ending.killed = ending.exit_code == kFaultCrashExitCode;
    ending.completed = ending.exit_code == 0;
  }
  return ending;
}

std::string tail_of(const fs::path& log) {
  auto text = read_text(log.string());
  if (!text.ok()) return "";
  const std::string& all = *text;
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

// Runs the pipeline uninterrupted to the end of its input (a bounded wait: a hang is an error).
Status run_to_end(const std::string& binary, const fs::path& sql, const fs::path& checkpoint,
                  const fs::path& log, const std::string& what) {
  SLUICE_ASSIGN_OR_RETURN(Child child, spawn_run(binary, sql, checkpoint, log, ""));
  Ending ending = await_child(child, std::chrono::minutes(5));
  if (!ending.completed) {
    return Status::internal(what + " ended with exit code " + std::to_string(ending.exit_code) +
                            ":\n" + tail_of(log));
  }
  return Status::ok();
}

// Reads a sink's committed rows, each rendered as one line: a Delta table through its log, a
// file sink's directory through its manifest (only committed files), a table sink as of its
// last applied epoch.
Result<std::map<std::string, int64_t>> committed_rows(const fs::path& output) {
  std::map<std::string, int64_t> rows;
  if (!fs::exists(output / "_delta_log") && !fs::exists(output / "_sluice_metadata") &&
      fs::exists(output)) {
    auto table = read_table_sink(output.string());
    if (!table.ok())
      return table.status().with_context("reading the table sink " + output.string());
    for (int64_t row = 0; row < table->rows->num_rows(); ++row) {
      std::string line;
      for (int c = 0; c < table->rows->num_columns(); ++c)
        line += (c ? "|" : "") + table->rows->column(c)->value_at(row).to_string();
      ++rows[line];
    }
    return rows;
  }
  Session session;
  const bool delta = fs::exists(output / "_delta_log");
  auto frame = delta ? session.read_stream().format("delta").load(output.string())
                     : session.read_stream().format("text").load(output.string());
  auto query = frame.write_stream()
                   .format("memory")
                   .query_name("chaos_output")
                   .trigger(Trigger::AvailableNow())
                   .start();
  if (!query.ok())
    return query.status().with_context("reading the sink's output in " + output.string());
  query->await_termination();
  if (auto error = query->exception())
    return error->with_context("reading the sink's output in " + output.string());
  for (const auto& row : session.memory_table("chaos_output")->rows()) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c)
      line += (c ? "|" : "") + row[c].to_string();
    ++rows[line];
  }
  return rows;
}

}  // namespace

int run_chaos(const ChaosOptions& options) {
  const uint64_t seed = options.seed ? *options.seed : std::random_device{}();
  auto fail = [&](const Status& status) {
    std::cerr << "sluice chaos: error: " << status.to_string() << " (seed " << seed << ")"
              << std::endl;
    return 1;
  };
  if (options.kills < 0) return fail(Status::invalid_argument("--kills must not be negative"));
  auto text = read_text(options.pipeline);
  if (!text.ok()) return fail(text.status());
  const bool kafka_input = text->find("${kafka}") != std::string::npos;
  if ((!kafka_input && text->find("${input}") == std::string::npos) ||
      text->find("${output}") == std::string::npos) {
    return fail(Status::invalid_argument(
        "pipeline " + options.pipeline +
        " must read '${input}' (a directory the chaos runner fills) or the Kafka cluster "
        "'${kafka}' (topic 'events', which it fills), and write '${output}' (which it checks)"));
  }
  // A Kafka pipeline reads a cluster in this process, which outlives every child run.
  std::unique_ptr<kafka::DevBroker> broker;
  if (kafka_input) {
    auto started = kafka::DevBroker::start(1);
    if (!started.ok()) return fail(started.status().with_context("starting the Kafka cluster"));
    broker = std::move(*started);
    if (Status created = broker->create_topic(kChaosTopic, kChaosTopicPartitions); !created.is_ok())
      return fail(created);
    *text = replace_all(*text, "${kafka}", broker->bootstrap_servers());
  }
  const std::string binary = options.sluice_binary.empty()
                                 ? fs::read_symlink("/proc/self/exe").string()
                                 : options.sluice_binary;
  fs::path work = options.work_directory;
  const bool temporary = work.empty();
  if (temporary) {
    std::string pattern = (fs::temp_directory_path() / "sluice-chaos-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      return fail(Status::io_error("cannot create a work directory"));
    work = pattern;
  }
  const fs::path input = work / "input";
  fs::create_directories(input);
  auto prepare = [&](const std::string& name) -> Result<fs::path> {
    const fs::path sql = work / (name + ".sql");
    const std::string resolved = replace_all(replace_all(*text, "${input}", input.string()),
                                             "${output}", (work / (name + "-output")).string());
    SLUICE_RETURN_NOT_OK(write_text(sql, resolved));
    return sql;
  };
  auto chaos_sql = prepare("chaos");
  auto reference_sql = prepare("reference");
  if (!chaos_sql.ok()) return fail(chaos_sql.status());
  if (!reference_sql.ok()) return fail(reference_sql.status());

  std::mt19937_64 random(seed);
  int64_t files = 0;
  auto add_file = [&]() {
    if (kafka_input) {
      Status produced = produce_lines(broker->bootstrap_servers(),
                                      landing_file(files, options.rows_per_file, seed),
                                      files * options.rows_per_file);
      ++files;
      return produced;
    }
    char name[32];
    std::snprintf(name, sizeof name, "part-%06lld.csv", static_cast<long long>(files));
    Status written = write_text(input / name, landing_file(files, options.rows_per_file, seed));
    ++files;
    return written;
  };
  // The crash points this pipeline reaches: the engine's, and its sink's own.
  std::vector<FaultPoint> points;
  const std::string lowered = [&] {
    std::string lower = *text;
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::erase(lower, ' ');
    return lower;
  }();
  // A connector's own points count only for the sink (the text after CREATE SINK): a Kafka
  // source never reaches kafka_before_txn_commit.
  const size_t sink_at = lowered.find("createsink");
  const std::string sink_text = sink_at == std::string::npos ? "" : lowered.substr(sink_at);
  for (const FaultPoint point : all_fault_points()) {
    if (point == FaultPoint::delta_before_log_publish &&
        sink_text.find("connector='delta'") == std::string::npos)
      continue;
    if (point == FaultPoint::kafka_before_txn_commit &&
        sink_text.find("connector='kafka'") == std::string::npos)
      continue;
    points.push_back(point);
  }
  // Crash-point kills go round a shuffled list of the points, so that kills reach each point;
  // a point moves on once it killed a run, or after twenty runs that never reached it (a
  // windowed query reaches the sink's publish only in the runs where a window closes).
  std::shuffle(points.begin(), points.end(), random);
  size_t point_cursor = 0;
  int point_misses = 0;
  // Random-moment kills fall within a typical run, learnt from the runs that were not killed.
  std::chrono::milliseconds typical_run{options.max_kill_delay_ms};
  int64_t kills = 0;
  int64_t crash_point_kills = 0;
  std::set<std::string> crashed_at;
  int64_t completed_runs = 0;
  const fs::path log = work / "chaos.log";
  while (kills < options.kills) {
    if (Status added = add_file(); !added.is_ok()) return fail(added);
    std::string faults;
    std::optional<std::chrono::milliseconds> kill_after;
    // The first kills go once round every point; later ones are crash points or random moments.
    if (point_cursor < points.size() || random() % 2 == 0) {
      const FaultPoint point = points[point_cursor % points.size()];
      faults = std::string(fault_point_name(point)) + "@hit=" + std::to_string(1 + random() % 2) +
               ":crash";
      kill_after = std::chrono::seconds(30);  // a point never reached: the run ends by itself
    } else {
      const int64_t longest =
          std::min<int64_t>(options.max_kill_delay_ms, typical_run.count() * 5 / 4);
      kill_after = std::chrono::milliseconds(
          static_cast<int64_t>(random() % static_cast<uint64_t>(longest + 1)));
    }
    const auto started = Clock::now();
    auto child = spawn_run(binary, *chaos_sql, work / "chaos-checkpoint", log, faults,
                           seed * 1000003 + static_cast<uint64_t>(files));
    if (!child.ok()) return fail(child.status());
    const Ending ending = await_child(*child, kill_after);
    if (!faults.empty() && (ending.exit_code == kFaultCrashExitCode || ++point_misses >= 20)) {
      ++point_cursor;
      point_misses = 0;
    }
    if (ending.killed) {
      ++kills;
      if (ending.exit_code == kFaultCrashExitCode) {
        ++crash_point_kills;
        crashed_at.insert(
            std::string(fault_point_name(points[(point_cursor - 1) % points.size()])));
      }
    } else if (ending.completed) {
      ++completed_runs;
      typical_run = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    } else {
      return fail(Status::internal(
          "run after " + std::to_string(kills) + " kills ended with exit code " +
          std::to_string(ending.exit_code) + (faults.empty() ? "" : " (armed " + faults + ")") +
          ":\n" + tail_of(log)));
    }
  }
  if (Status added = add_file(); !added.is_ok()) return fail(added);
  if (Status done = run_to_end(binary, *chaos_sql, work / "chaos-checkpoint", log, "the last run");
      !done.is_ok()) {
    return fail(done);
  }
  if (Status done = run_to_end(binary, *reference_sql, work / "reference-checkpoint",
                               work / "reference.log", "the uninterrupted run");
      !done.is_ok()) {
    return fail(done);
  }
  auto expected = committed_rows(work / "reference-output");
  if (!expected.ok()) return fail(expected.status());
  auto actual = committed_rows(work / "chaos-output");
  if (!actual.ok()) return fail(actual.status());

  int64_t lost = 0;
  int64_t duplicated = 0;
  std::string first_difference;
  for (const auto& [row, count] : *expected) {
    auto it = actual->find(row);
    const int64_t found = it == actual->end() ? 0 : it->second;
    if (found < count) lost += count - found;
    if (found > count) duplicated += found - count;
    if (found != count && first_difference.empty()) {
      first_difference = "row '" + row + "' expected " + std::to_string(count) +
                         " time(s), found " + std::to_string(found);
    }
  }
  for (const auto& [row, count] : *actual) {
    if (expected->count(row)) continue;
    duplicated += count;  // a row the uninterrupted run never wrote
    if (first_difference.empty())
      first_difference =
          "row '" + row + "' found " + std::to_string(count) + " time(s), expected none";
  }
  int64_t total = 0;
  for (const auto& [row, count] : *expected)
    total += count;
  std::cout << "kills " << kills << ", lost " << lost << ", duplicated " << duplicated << ", seed "
            << seed << std::endl;
  std::cout << "(" << crash_point_kills << " by crash points, " << completed_runs
            << " runs finished unkilled, " << files
            << (kafka_input ? " input batches in Kafka, " : " input files, ") << total
            << " rows expected)" << std::endl;
  std::string reached;
  for (const auto& point : crashed_at)
    reached += (reached.empty() ? "" : ", ") + point;
  std::cout << "crash points that killed a run: " << (reached.empty() ? "none" : reached)
            << std::endl;
  const bool exact = lost == 0 && duplicated == 0;
  if (!exact) {
    std::cout << "first difference: " << first_difference << std::endl;
    std::cout << "replay: sluice chaos --pipeline " << options.pipeline << " --kills "
              << options.kills << " --seed " << seed << std::endl;
  }
  if (temporary && exact) {
    std::error_code ignored;
    fs::remove_all(work, ignored);
  } else if (!exact) {
    std::cout << "work directory kept: " << work.string() << std::endl;
  }
  return exact ? 0 : 1;
}

}  // namespace sluice::tools
