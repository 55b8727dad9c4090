#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/status.hpp"
#include "plan/session_context.hpp"

namespace sluice {

/// Where and how a MonitoringServer listens.
struct MonitoringOptions {
  /// The address to bind; the loopback interface unless asked otherwise, since the endpoint
  /// has no authentication.
  std::string host = "127.0.0.1";
  /// How long a connection may take to send a request, or to read its response.
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  /// The directory under which /api/checkpoints may read checkpoints (`ui.checkpointRoot`);
  /// empty: none may be read.
  std::string checkpoint_root{};
  /// The TCP port; 0 picks a free one (read it back with MonitoringServer::port()).
  int port = 0;
  /// Progress reports kept per query for the JSON API and the dashboard's charts.
  size_t history_size = 100;
  /// Worker threads answering requests; a client that sends nothing, or reads nothing, holds
  /// one of them until a timeout lets it go, never a query.
  size_t threads = 16;
};

class QueryMonitor;

/// Serves a session's queries over HTTP, in the process:
///   GET /metrics                      Prometheus text exposition format
///   GET /api/queries                  every query seen, with totals and its last progress (JSON)
///   GET /api/queries/{id}/progress    its recent progress reports, oldest first (JSON; `?since=N`
///                                     keeps those of epochs after N)
///   GET /api/checkpoints?path=DIR     `sluice checkpoint inspect --json` of a checkpoint that no
///                                     query holds, under options.checkpoint_root only (else 403)
///   GET /                             a live dashboard (charts drawn with uPlot, served from the
///                                     binary, no network needed)
/// The Session cannot own it (actors/ sits below monitoring/), so the caller keeps it next to
/// the session: `auto server = MonitoringServer::start(session, {})`. It counts every epoch of
/// queries started after it, and of queries already running as far as their recent progress
/// reaches. Destroying it stops the server; it may outlive the session. Thread-safe.
class MonitoringServer {
 public:
  /// Binds the port and starts serving; fails naming the address when it cannot bind.
  [[nodiscard]] static Result<std::unique_ptr<MonitoringServer>> start(
      const SessionContext& session, MonitoringOptions options = {});
  ~MonitoringServer();
  MonitoringServer(const MonitoringServer&) = delete;
  MonitoringServer& operator=(const MonitoringServer&) = delete;

  /// Returns the port the server listens on (the one picked when asked for port 0).
  int port() const;
  const std::string& host() const;
  /// Returns the dashboard's address, e.g. "http://127.0.0.1:40123/".
  std::string url() const;
  /// Returns what the server knows about the session's queries.
  const QueryMonitor& monitor() const;
  /// Stops serving and waits for requests in flight; idempotent.
  void stop();

 private:
  class Impl;
  explicit MonitoringServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
