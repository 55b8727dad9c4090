#include "tools/run_command.hpp"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <sluice/sluice.hpp>

#include "monitoring/checkpoint_inspector.hpp"
#include "monitoring/monitoring_server.hpp"
#include "sql/connectors.hpp"
#include "sql/sql_context.hpp"
#include "tools/status_line.hpp"

namespace sluice::tools {

namespace {

std::atomic<int> stop_signal{0};

extern "C" void on_stop_signal(int signal) {
  // A second Ctrl-C while queries stop gives up waiting.
  if (stop_signal.exchange(signal) != 0) _exit(130);
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void report_error(const std::string& message) {
  std::cerr << "sluice: error: " << message << std::endl;
}

bool read_file(const std::string& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    report_error("cannot read " + path);
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  text = buffer.str();
  return true;
}

// Prints every progress report as one JSON line.
class JsonProgressPrinter final : public StreamingQueryListener {
 public:
  void on_progress(const StreamingQueryProgress& progress) override {
    const std::string line = progress.json() + "\n";
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  }

 private:
  std::mutex mutex_;
};

// Tells, per query id, whether the query has run an epoch and a trigger after it found no new
// data: what --until-idle waits for.
class IdleWatcher final : public StreamingQueryListener {
 public:
  void on_progress(const StreamingQueryProgress& progress) override {
    std::lock_guard lock(mutex_);
    ran_epoch_[progress.id] = true;
    idle_[progress.id] = false;
  }
  void on_idle(const std::string& id, const std::string&) override {
    std::lock_guard lock(mutex_);
    if (ran_epoch_[id]) idle_[id] = true;
  }
  bool idle(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = idle_.find(id);
    return it != idle_.end() && it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, bool> ran_epoch_;
  std::map<std::string, bool> idle_;
};

// Reads where the dashboard listens, first found of: the --ui-port flag, the script's
// `SET ui.port`, SLUICE_UI_PORT (a port; 0 or unset: any free port; off: no dashboard); the
// host from `SET ui.host` or SLUICE_UI_HOST (default 127.0.0.1). Returns nullopt when off.
Result<std::optional<MonitoringOptions>> ui_options(const std::string& flag, const Session& session) {
  MonitoringOptions options;
  if (const char* host = std::getenv("SLUICE_UI_HOST"); host != nullptr && *host != '\0')
    options.host = host;
  if (std::string host = session.conf("ui.host"); !host.empty()) options.host = host;
  const char* port = std::getenv("SLUICE_UI_PORT");
  std::string text = port == nullptr ? "" : port;
  if (std::string set = session.conf("ui.port"); !set.empty()) text = set;
  if (!flag.empty()) text = flag;
  if (text == "off") return std::optional<MonitoringOptions>();
  if (!text.empty()) {
    int value = -1;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 0 || value > 65535) {
      return Status::invalid_argument(
          "the dashboard port (--ui-port, ui.port, SLUICE_UI_PORT) must be a port (0 = any free port) or off, got '" +
          text + "'");
    }
    options.port = value;
  }
  return std::optional<MonitoringOptions>(options);
}

struct RunningQuery {
  std::string name;
  StreamingQuery query;
  int64_t last_drawn_batch = -1;
};

}  // namespace

int run_file(const RunOptions& options) {
  std::string text;
  if (!read_file(options.file, text)) return 1;
  auto script = SqlScript::parse(std::move(text), options.file);
  if (!script.ok()) {
    report_error(script.status().message());
    return 1;
  }
  ScriptOptions script_options;
  script_options.checkpoint_root = options.checkpoint;
  if (!options.trigger.empty()) {
    auto trigger = parse_trigger(options.trigger);
    if (!trigger.ok()) {
      report_error("--trigger: " + trigger.status().message());
      return 1;
    }
    script_options.trigger = *trigger;
  }

  install_stop_handlers();
  SessionOptions session_options;
  session_options.scheduler_seed = options.scheduler_seed;
  Session session(session_options);
  SqlContext context(session);
  if (options.progress == "json") {
    session.streams().add_listener(std::make_shared<JsonProgressPrinter>());
  }
  auto idle_watcher = std::make_shared<IdleWatcher>();
  session.streams().add_listener(idle_watcher);
  auto results = context.execute(*script, script_options);
  if (!results.ok()) {
    report_error(results.status().message());
    return 1;
  }
  std::vector<RunningQuery> queries;
  for (const auto& result : *results) {
    if (result.kind == StatementKind::explain) std::cout << result.explain << std::flush;
    if (result.query) {
      queries.push_back({result.name, *result.query});
      std::cerr << "sluice: started " << result.name << " (query id " << result.query->id() << ")"
                << std::endl;
    }
  }
  if (queries.empty()) {
    std::cerr << "sluice: " << options.file
              << " starts no query (CREATE SINK ... AS SELECT or INSERT INTO)" << std::endl;
    return 0;
  }

  // Started once the queries run, so a script with an error prints only the error; the
  // monitor takes in the reports the queries made meanwhile.
  auto ui = ui_options(options.ui_port, session);
  if (!ui.ok()) {
    report_error(ui.status().message());
    return 1;
  }
  std::unique_ptr<MonitoringServer> dashboard;
  if (*ui) {
    // /api/checkpoints reads checkpoints under `SET ui.checkpointRoot`, else under --checkpoint.
    (*ui)->checkpoint_root = session.conf("ui.checkpointRoot");
    if ((*ui)->checkpoint_root.empty()) (*ui)->checkpoint_root = options.checkpoint;
    auto started = MonitoringServer::start(session, **ui);
    if (!started.ok()) {
      report_error(started.status().message() + " (use --ui-port with another port, or off)");
      return 1;
    }
    dashboard = std::move(*started);
    std::cerr << "sluice: dashboard at " << dashboard->url() << " (metrics at " << dashboard->url()
              << "metrics)" << std::endl;
  }

  const bool board_enabled = options.progress != "json" && ::isatty(STDERR_FILENO);
  StatusBoard board(stderr);
  auto last_draw = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  std::string stopped_by;
  while (true) {
    if (int signal = stop_signal.load(); signal != 0) {
      stopped_by = signal == SIGINT ? "SIGINT" : "SIGTERM";
      break;
    }
    bool active = false;
    bool idle = true;
    bool failed = false;
    for (auto& running : queries) {
      active |= running.query.is_active();
      idle &= !running.query.is_active() || idle_watcher->idle(running.query.id());
      failed |= !running.query.is_active() && running.query.exception().has_value();
    }
    if (!active) break;
    if (failed) {
      stopped_by = "a query failed";
      break;
    }
    if (options.until_idle && idle) {
      stopped_by = "--until-idle";
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (board_enabled && now - last_draw >= std::chrono::milliseconds(500)) {
      last_draw = now;
      std::vector<std::string> lines;
      bool printed = false;
      for (auto& running : queries) {
        auto progress = running.query.last_progress();
        if (progress && progress->sink.description == "ConsoleSink" &&
            progress->batch_id != running.last_drawn_batch) {
          printed = true;
        }
        if (progress) running.last_drawn_batch = progress->batch_id;
        lines.push_back(status_line(running.name, progress));
      }
      board.draw(lines, printed);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!stopped_by.empty()) {
    for (auto& running : queries)
      (void)running.query.stop();
    std::cerr << "sluice: stopped " << queries.size()
              << (queries.size() == 1 ? " query" : " queries") << " (" << stopped_by << ")"
              << std::endl;
  }
  int code = 0;
  for (auto& running : queries) {
    if (auto error = running.query.exception()) {
      report_error("query " + running.name + " failed: " + error->to_string());
      code = 1;
    }
  }
  return code;
}

int explain_file(const std::string& file) {
  std::string text;
  if (!read_file(file, text)) return 1;
  auto script = SqlScript::parse(std::move(text), file);
  if (!script.ok()) {
    report_error(script.status().message());
    return 1;
  }
  Session session;
  SqlContext context(session);
  ScriptOptions options;
  options.start_queries = false;
  auto results = context.execute(*script, options);
  if (!results.ok()) {
    report_error(results.status().message());
    return 1;
  }
  bool first = true;
  for (const auto& result : *results) {
    if (result.explain.empty()) continue;
    std::cout << (first ? "" : "\n") << "=== " << statement_kind_name(result.kind)
              << (result.name.empty() ? "" : " " + result.name) << " ===\n"
              << result.explain;
    first = false;
  }
  if (first) std::cout << file << " has no queries to explain\n";
  return 0;
}

int inspect_checkpoint(const std::string& directory, bool json) {
  auto reports = inspect_checkpoints(directory);
  if (!reports.ok()) {
    report_error(reports.status().message());
    return 1;
  }
  std::cout << (json ? render_json(*reports) : render_text(*reports));
  return 0;
}

}  // namespace sluice::tools
