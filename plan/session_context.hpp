#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "io/memory_sink.hpp"
#include "io/sink.hpp"
#include "operators/expression.hpp"
#include "plan/physical_plan.hpp"
#include "plan/restart_policy.hpp"
#include "plan/streaming_query.hpp"
#include "plan/trigger.hpp"
#include "plan/worker_address.hpp"

namespace sluice {

/// Everything the runtime needs to run one query, prepared by DataStreamWriter::start.
struct QuerySpec {
  std::string name;
  PlanPtr analyzed;
  PlanPtr optimized;
  PhysicalPlan physical;
  std::shared_ptr<Sink> sink;
  OutputMode output_mode = OutputMode::Append;
  Trigger trigger;
  std::string checkpoint_location;  ///< empty: a temporary checkpoint removed at stop
  int64_t min_batches_to_retain = 100;  ///< epochs of offsets/commit logs kept (Spark's name)
  int shuffle_partitions = 1;           ///< partitions of the stateful stage
  bool watermark_policy_max = false;    ///< multipleWatermarkPolicy: min (default) or max
  int64_t watermark_idle_timeout_micros = -1;  ///< an input idle this long stops holding the watermark; -1 = never
  /// epochTimeout: an epoch in flight with no progress message (a source, stage, stateful
  /// partition or the sink reporting) for this long fails the query, so a lost message never
  /// hangs it; 0 = never.
  int64_t epoch_timeout_ms = 300000;
  /// checkpointMaxSize: the checkpoint's LMDB map grows up to this many bytes; an epoch that
  /// does not fit fails the query with "checkpoint ... full" (0: the store's default, 1 TiB).
  int64_t checkpoint_max_bytes = 0;
  EvalOptions eval;
  RestartPolicy restart;            ///< how the query restarts itself after a failure
  std::string plan_fingerprint;     ///< what must match for a checkpoint to be reused
  std::string explain;              ///< explain(extended) text
  /// Worker processes that run the stateful stages' partitions (option `workers`); empty =
  /// everything runs in this process.
  std::vector<WorkerAddress> workers;
  /// The text a worker rebuilds this query from (the SQL script that started it), so that it
  /// runs the very operator planned here; empty for queries built in C++.
  std::string definition;
};

/// Starts queries; implemented by the actor runtime and installed by Session.
class QueryLauncher {
 public:
  virtual ~QueryLauncher() = default;
  virtual Result<StreamingQuery> launch(QuerySpec spec) = 0;
};

/// State shared by a session and every DataFrame made from it. Thread-safe.
class SessionState {
 public:
  SessionState();

  /// Sets a session option; fails naming an unknown option or a bad value. Known options:
  /// `ansi` (true/false), `checkpointLocation` (default root for checkpoints),
  /// `shuffle_partitions` (partitions of stateful operators; default: the number of cores),
  /// `multipleWatermarkPolicy` (min or max), `watermarkIdleTimeout` (a duration after which an
  /// input without new rows stops holding the watermark back; default: never), `epochTimeout`
  /// (a duration without progress after which an epoch in flight fails the query; default
  /// 5 minutes; 0 = never), `checkpointMaxSize` (how large the checkpoint's LMDB map may grow,
  /// e.g. 64m), `restart.*` (plan/restart_policy.hpp), `workers` (host:port,... of `sluice
  /// worker` processes that run the stateful partitions of queries started from SQL;
  /// docs/scale-out.md).
  Status set_conf(const std::string& key, const std::string& value);
  std::string conf(const std::string& key) const;
  /// Returns the session's restart options (restart.*), for the queries it starts.
  std::map<std::string, std::string> restart_conf() const;
  EvalOptions eval_options() const;

  StreamingQueryManager& streams() { return streams_; }
  void set_launcher(QueryLauncher* launcher) { launcher_ = launcher; }
  QueryLauncher* launcher() const { return launcher_; }
  const std::shared_ptr<Clock>& clock() const { return clock_; }
  void set_clock(std::shared_ptr<Clock> clock) { clock_ = std::move(clock); }

  /// Registers the memory sink of a query under its name, replacing an older one.
  void register_memory_sink(const std::string& name, std::shared_ptr<MemorySink> sink);
  std::shared_ptr<MemorySink> memory_sink(const std::string& name) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> conf_;
  std::map<std::string, std::shared_ptr<MemorySink>> memory_sinks_;
  StreamingQueryManager streams_;
  QueryLauncher* launcher_ = nullptr;
  std::shared_ptr<Clock> clock_;
};

class DataFrame;
class DataStreamReader;

/// The part of a session that plan-level code sees: options, readers, queries. `Session`
/// (actors/session.hpp) adds the actor system that runs the queries.
class SessionContext {
 public:
  /// Returns a reader for a streaming source.
  DataStreamReader read_stream();
  /// Returns a reader for a static table (Spark's spark.read): files, a Delta table, a table
  /// sink (format "table"), read whole at each query start; usable as a join's static side.
  DataStreamReader read();
  /// Returns a static table of the given rows (Spark's createDataFrame).
  DataFrame create_data_frame(RecordBatchPtr rows);
  StreamingQueryManager& streams() { return state_->streams(); }
  Status set_conf(const std::string& key, const std::string& value) { return state_->set_conf(key, value); }
  std::string conf(const std::string& key) const { return state_->conf(key); }
  /// Returns the in-memory result table of a query written with format("memory"), by its name.
  std::shared_ptr<MemorySink> memory_table(const std::string& name) const {
    return state_->memory_sink(name);
  }
  const std::shared_ptr<SessionState>& state() const { return state_; }

 protected:
  SessionContext() : state_(std::make_shared<SessionState>()) {}
  std::shared_ptr<SessionState> state_;
};

}  // namespace sluice
