#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include <caf/all.hpp>

#include "plan/session_context.hpp"
#include "state/checkpoint_store.hpp"

namespace sluice::actors {

struct Recovery;

/// How one run of a query is supervised (actors/supervised_query.hpp); empty for a plain run.
struct RunOptions {
  int64_t restarts = 0;  ///< restarts before this run, shown in its progress reports
  /// Called once when the run ends, from the coordinator's thread, before listeners hear of
  /// it; returns true when the supervisor restarts the query, so listeners are not told it
  /// terminated. Must not block.
  std::function<bool(const std::optional<Status>& error)> on_end;
};

/// The state of one run of a query shared between its coordinator actor and user threads:
/// lifecycle, error, progress. Implements the QueryHandle behind StreamingQuery. Thread-safe.
class QueryRuntime final : public QueryHandle, public std::enable_shared_from_this<QueryRuntime> {
 public:
  /// Opens (or creates) the checkpoint, checks it belongs to this query, recovers its position
  /// and spawns the query's actors in `system`. Fails before anything runs when the checkpoint
  /// is in use, corrupt or written by an incompatible query.
  static Result<std::shared_ptr<QueryRuntime>> start(caf::actor_system& system, QuerySpec spec,
                                                     std::shared_ptr<SessionState> session,
                                                     RunOptions run = {});

  ~QueryRuntime() override;

  const std::string& id() const override { return id_; }
  const std::string& run_id() const override { return run_id_; }
  const std::string& name() const override { return spec_.name; }
  bool is_active() const override;
  Status stop() override;
  bool await_termination(std::optional<std::chrono::milliseconds> timeout) override;
  Status process_all_available() override;
  std::optional<Status> exception() const override;
  std::optional<StreamingQueryProgress> last_progress() const override;
  std::vector<StreamingQueryProgress> recent_progress() const override;
  std::string explain() const override { return spec_.explain; }
  std::vector<std::string> warnings() const override { return warnings_; }
  /// Returns the workers of option `workers` this run could not reach at its start (their
  /// partitions run elsewhere). Thread-safe (fixed before the run starts).
  const std::vector<WorkerAddress>& absent_workers() const { return absent_workers_; }

  /// Tells the query its manual clock moved; returns once the epoch this triggers (if any)
  /// is committed, or the query ended.
  Status clock_advanced();

  // Called by the coordinator actor.
  void publish_progress(StreamingQueryProgress progress);
  void publish_idle();
  void terminated(std::optional<Status> error);
  const QuerySpec& spec() const { return spec_; }
  const std::shared_ptr<SessionState>& session() const { return session_; }

 private:
  QueryRuntime(QuerySpec spec, std::shared_ptr<SessionState> session);
  // Connects to the query's workers (option workers), filling recovery.workers.
  [[nodiscard]] static Status connect_workers(caf::actor_system& system, QueryRuntime& runtime,
                                              Recovery& recovery);
  QuerySpec spec_;
  std::shared_ptr<SessionState> session_;
  std::string id_;
  std::string run_id_;
  std::string temporary_checkpoint_;
  caf::actor coordinator_;
  mutable std::mutex mutex_;
  std::condition_variable terminated_cv_;
  bool active_ = true;
  std::optional<Status> error_;
  std::deque<StreamingQueryProgress> progress_;
  std::vector<std::string> warnings_;  // written before the coordinator starts, then read-only
  std::vector<WorkerAddress> absent_workers_;  // likewise
  RunOptions run_;
};

/// What the coordinator starts from, read from the checkpoint by QueryRuntime::start.
struct Recovery {
  /// Shared with the stateful partitions' state readers; the coordinator waits for them to end
  /// before it lets go, so the checkpoint's lock is free when the query has terminated.
  std::shared_ptr<CheckpointStore> checkpoint;
  /// The watermark in force after the last committed epoch, if any.
  std::optional<int64_t> watermark;
  /// The watermarks the last committed epochs ran with, newest first, one per stage depth
  /// above 0 (a stage at depth d runs with the watermark of d epochs before); nullopt before
  /// the first epoch.
  std::vector<std::optional<int64_t>> previous_watermarks;
  std::vector<std::shared_ptr<Source>> sources;     ///< one per pipeline
  std::vector<SourceOffset> committed;              ///< end offsets of the last committed epoch
  int64_t next_epoch = 0;
  /// Epochs logged but not committed before the restart, from next_epoch on: each re-runs
  /// with exactly its logged range and watermark.
  struct Replay {
    std::vector<SourceOffset> start;
    std::vector<SourceOffset> end;
    std::optional<int64_t> watermark;
    std::optional<int64_t> processing_time;  ///< the epoch's clock reading, when logged
    /// The offsets entry as logged: the re-run logs it again unchanged, though the sources may
    /// list more partitions now (start and end above are widened to them, with empty ranges).
    std::string logged;
  };
  std::vector<Replay> replays;
  /// The workers reached for option `workers` (those that answered, at a restart): stateful
  /// partition p runs on workers[p % size]; empty = all partitions run in this process.
  struct Worker {
    WorkerAddress address;
    caf::actor actor;
  };
  std::vector<Worker> workers;
};

/// Encodes and decodes the commit log entry of an epoch (the watermark for the next epoch).
std::string encode_commit_entry(std::optional<int64_t> watermark);
Result<std::optional<int64_t>> decode_commit_watermark(std::string_view text);

/// The state table of the query's stateful operator in the checkpoint (stage 0's).
inline constexpr const char* kOperatorStateTable = "operator0";

/// Returns the state table of stateful stage `stage` ("operator<stage>").
inline std::string operator_state_table(int stage) { return "operator" + std::to_string(stage); }

/// Spawns the coordinator of a query; it spawns the query's other actors.
caf::actor spawn_coordinator(caf::actor_system& system, std::shared_ptr<QueryRuntime> runtime,
                             std::shared_ptr<Recovery> recovery);

/// The offsets write-ahead entry of one epoch: the start and end of every source, the
/// watermark the epoch runs with, and the sources' own restart metadata.
struct OffsetsEntry {
  std::vector<SourceOffset> start;
  std::vector<SourceOffset> end;
  std::vector<std::string> source_metadata;
  std::optional<int64_t> watermark;
  /// The processing time (µs) the epoch runs with, so that a replay expires the same
  /// processing-time timeouts; absent in entries written before it was logged.
  std::optional<int64_t> processing_time;
};
std::string encode_offsets_entry(const OffsetsEntry& entry);
/// Decodes encode_offsets_entry's text; fails naming the malformed part.
Result<OffsetsEntry> decode_offsets_entry(std::string_view text);

}  // namespace sluice::actors
