#include "monitoring/monitoring_server.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "monitoring/checkpoint_inspector.hpp"
#include "monitoring/embedded_files.hpp"
#include "monitoring/prometheus_text.hpp"
#include "monitoring/query_monitor.hpp"
#include "plan/progress.hpp"

namespace sluice {

namespace {

constexpr const char* kJson = "application/json; charset=utf-8";

std::string null_or_quote(const std::string& text) {
  return text.empty() ? "null" : json_quote(text);
}

// Renders one query of /api/queries: identity, status, totals and the last report.
std::string query_json(const QueryTotals& query) {
  int64_t dropped = 0;
  int64_t state_rows = 0;
  for (const auto& op : query.operators) {
    dropped += op.rows_dropped_by_watermark_total;
    state_rows += op.num_rows_total;
  }
  std::string out = "{";
  out += "\"id\":" + json_quote(query.id);
  out += ",\"runId\":" + json_quote(query.run_id);
  out += ",\"name\":" + null_or_quote(query.name);
  out += ",\"active\":" + std::string(query.active ? "true" : "false");
  out += ",\"state\":" + json_quote(query.state());
  out += ",\"exception\":" + (query.error ? json_quote(*query.error) : std::string("null"));
  out += ",\"runs\":" + std::to_string(query.runs);
  out += ",\"epochs\":" + std::to_string(query.epochs);
  out += ",\"lastBatchId\":" +
         (query.last_batch_id >= 0 ? std::to_string(query.last_batch_id) : "null");
  out += ",\"inputRowsTotal\":" + std::to_string(query.input_rows_total);
  out += ",\"sinkRowsTotal\":" + std::to_string(query.sink_rows_total);
  out += ",\"numRowsDroppedByWatermarkTotal\":" + std::to_string(dropped);
  out += ",\"stateRows\":" +
         (query.operators.empty() ? std::string("null") : std::to_string(state_rows));
  out += ",\"plan\":" + null_or_quote(query.plan);
  out += ",\"lastProgress\":" +
         (query.history.empty() ? std::string("null") : query.history.back().json());
  out += "}";
  return out;
}

}  // namespace

class MonitoringServer::Impl {
 public:
  Impl(std::shared_ptr<SessionState> session, MonitoringOptions options)
      : session_(std::move(session)),
        options_(std::move(options)),
        monitor_(std::make_shared<QueryMonitor>(options_.history_size)) {}

  ~Impl() { stop(); }

  Status start() {
    // A dashboard polls once a second and a scraper rarely, but a client that stalls holds a
    // worker until its timeout: keep enough workers that a few stalled ones starve nobody.
    const size_t threads = options_.threads;
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_.set_keep_alive_timeout(2);
    server_.set_keep_alive_max_count(100);
    server_.set_read_timeout(options_.read_timeout);
    server_.set_write_timeout(options_.write_timeout);
    // httplib sets SO_REUSEPORT by default, which lets a second server bind a port in use and
    // share its connections; keep only SO_REUSEADDR so a busy port is an error.
    server_.set_socket_options([](socket_t socket) {
      int yes = 1;
      ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    route();
    if (options_.port == 0) {
      port_ = server_.bind_to_any_port(options_.host);
      if (port_ < 0)
        return Status::io_error("monitoring server: cannot bind " + options_.host +
                                " to a free port");
    } else {
      if (!server_.bind_to_port(options_.host, options_.port)) {
        return Status::io_error("monitoring server: cannot bind " + options_.host + ":" +
                                std::to_string(options_.port) +
                                " (in use, or not an address of this host?)");
      }
      port_ = options_.port;
    }
    monitor_->attach(session_->streams());
    // The socket listens from bind on, so requests made before this thread runs wait in the
    // backlog rather than fail.
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      accept_loop_ended_ = true;
    });
    // httplib's stop() does nothing before the accept loop runs; wait for it so that a stop
    // right after start cannot leave the thread accepting forever.
    while (!server_.is_running() && !accept_loop_ended_)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return Status::ok();
  }

  void stop() {
    std::lock_guard lock(stop_mutex_);
    monitor_->detach();
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  int port() const { return port_; }
  const std::string& host() const { return options_.host; }
  const QueryMonitor& monitor() const { return *monitor_; }

 private:
  void route() {
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
      response.set_header("Cache-Control", "no-store");
      response.set_content(prometheus_text(monitor_->snapshot()),
                           "text/plain; version=0.0.4; charset=utf-8");
    });
    server_.Get("/api/queries", [this](const httplib::Request&, httplib::Response& response) {
      std::string out = "{\"queries\":[";
      bool first = true;
      for (const auto& query : monitor_->snapshot()) {
        out += (first ? "" : ",") + query_json(query);
        first = false;
      }
      out += "]}";
      response.set_header("Cache-Control", "no-store");
      response.set_content(out, kJson);
    });
    server_.Get(R"(/api/queries/([^/]+)/progress)", [this](const httplib::Request& request,
                                                           httplib::Response& response) {
      response.set_header("Cache-Control", "no-store");
      const std::string id = request.matches[1];
      auto query = monitor_->query(id);
      if (!query) {
        response.status = 404;
        response.set_content("{\"error\":" + json_quote("no query with id '" + id + "'") + "}",
                             kJson);
        return;
      }
      int64_t since = -1;
      if (request.has_param("since")) {
        const std::string text = request.get_param_value("since");
        try {
          size_t used = 0;
          since = std::stoll(text, &used);
          if (used != text.size()) throw std::invalid_argument(text);
        } catch (const std::exception&) {
          response.status = 400;
          response.set_content(
              "{\"error\":" + json_quote("'since' must be an epoch id, got '" + text + "'") + "}",
              kJson);
          return;
        }
      }
      std::string out = "[";
      bool first = true;
      for (const auto& progress : query->history) {
        if (progress.batch_id <= since) continue;
        out += (first ? "" : ",") + progress.json();
        first = false;
      }
      out += "]";
      response.set_content(out, kJson);
    });
    server_.Get("/api/checkpoints",
                [this](const httplib::Request& request, httplib::Response& response) {
                  response.set_header("Cache-Control", "no-store");
                  auto fail = [&](int status, const std::string& message) {
                    response.status = status;
                    response.set_content("{\"error\":" + json_quote(message) + "}", kJson);
                  };
                  if (!request.has_param("path"))
                    return fail(400, "the parameter 'path' names a checkpoint");
                  auto path = checkpoint_path(request.get_param_value("path"));
                  if (!path.ok()) return fail(403, path.status().message());
                  auto reports = inspect_checkpoints(*path);
                  if (!reports.ok()) return fail(404, reports.status().message());
                  response.set_content(render_json(*reports), kJson);
                });
    for (const auto& file : monitoring::embedded_files()) {
      server_.Get(std::string(file.url_path),
                  [&file](const httplib::Request&, httplib::Response& response) {
                    response.set_content(file.content.data(), file.content.size(),
                                         std::string(file.content_type).c_str());
                  });
    }
  }

  // Resolves a requested checkpoint path (relative ones against the root) and admits it only
  // when it lies under the checkpoint root once symbolic links and ".." are resolved.
  Result<std::string> checkpoint_path(const std::string& requested) const {
    namespace fs = std::filesystem;
    if (options_.checkpoint_root.empty())
      return Status::invalid_argument("no checkpoint root is configured (ui.checkpointRoot)");
    std::error_code error;
    const fs::path root = fs::weakly_canonical(options_.checkpoint_root, error);
    if (error) return Status::invalid_argument("the checkpoint root cannot be resolved");
    const fs::path path = fs::weakly_canonical(root / requested, error);
    if (error) return Status::invalid_argument("'" + requested + "' cannot be resolved");
    const fs::path relative = path.lexically_relative(root);
    if (relative.empty() || *relative.begin() == "..")
      return Status::invalid_argument("'" + requested + "' is not under the checkpoint root");
    return path.string();
  }

  std::shared_ptr<SessionState> session_;  // kept alive: the monitor listens to its queries
  MonitoringOptions options_;
  std::shared_ptr<QueryMonitor> monitor_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::atomic<bool> accept_loop_ended_{false};
  std::mutex stop_mutex_;
};

Result<std::unique_ptr<MonitoringServer>> MonitoringServer::start(const SessionContext& session,
                                                                  MonitoringOptions options) {
  if (options.port < 0 || options.port > 65535) {
    return Status::invalid_argument(
        "monitoring server: port must be 0 (any free port) to 65535, got " +
        std::to_string(options.port));
  }
  if (options.history_size == 0) {
    return Status::invalid_argument("monitoring server: history_size must be at least 1");
  }
  auto impl = std::make_unique<Impl>(session.state(), std::move(options));
  SLUICE_RETURN_NOT_OK(impl->start());
  return std::unique_ptr<MonitoringServer>(new MonitoringServer(std::move(impl)));
}

MonitoringServer::MonitoringServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MonitoringServer::~MonitoringServer() = default;

int MonitoringServer::port() const {
  return impl_->port();
}
const std::string& MonitoringServer::host() const {
  return impl_->host();
}
std::string MonitoringServer::url() const {
  const std::string& host = impl_->host();
  const bool ipv6 = host.find(':') != std::string::npos;
  return "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port()) + "/";
}
const QueryMonitor& MonitoringServer::monitor() const {
  return impl_->monitor();
}
void MonitoringServer::stop() {
  impl_->stop();
}

}  // namespace sluice
