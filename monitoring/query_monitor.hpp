#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "plan/session_context.hpp"
#include "plan/streaming_query.hpp"

namespace sluice {

/// Upper bounds, in seconds, of the epoch duration histogram's buckets (+Inf comes on top).
inline constexpr double kEpochDurationBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                   0.5,   1,    2.5,   5,    10,  30};

/// What a monitor knows about one stateful operator of a query: the last report's gauges and
/// counters summed over every report seen.
struct OperatorTotals {
  std::string name;
  int64_t num_rows_total = 0;     ///< state rows after the last epoch
  int64_t memory_used_bytes = 0;  ///< state bytes after the last epoch
  int64_t num_shuffle_partitions = 0;
  int64_t commit_time_ms = 0;  ///< of the last epoch
  int64_t rows_updated_total = 0;
  int64_t rows_removed_total = 0;
  int64_t rows_dropped_by_watermark_total = 0;
};

/// What a monitor knows about one source of a query.
struct SourceTotals {
  std::string description;
  int64_t input_rows_total = 0;
  double input_rows_per_second = 0;      ///< of the last epoch
  double processed_rows_per_second = 0;  ///< of the last epoch
};

/// What a monitor knows about one query (by query id, so across restarts from its checkpoint):
/// counters summed over the epochs it saw, and the recent progress reports.
struct QueryTotals {
  std::string id;
  std::string run_id;  ///< of the latest run
  std::string name;
  bool active = false;
  std::optional<std::string> error;  ///< why the latest run failed
  std::string plan;                  ///< the latest run's plans as explain(extended) prints them
  int64_t runs = 0;                  ///< runs started while monitored (restarts = runs - 1)
  int64_t failures = 0;              ///< runs that ended with an error
  int64_t epochs = 0;
  int64_t last_batch_id = -1;
  int64_t input_rows_total = 0;
  int64_t sink_rows_total = 0;
  std::map<std::string, int64_t> phase_ms_total;  ///< durationMs phases, summed
  int64_t epoch_ms_total = 0;                     ///< triggerExecution, summed
  std::vector<int64_t>
      epoch_duration_buckets;  ///< cumulative counts per kEpochDurationBuckets bound
  std::vector<SourceTotals> sources;
  std::vector<OperatorTotals> operators;
  std::deque<StreamingQueryProgress> history;  ///< oldest first

  /// Returns "active", "failed" (the latest run ended with an error) or "stopped".
  std::string state() const { return active ? "active" : error ? "failed" : "stopped"; }
};

/// How far a source trails its input in one partition after an epoch: latestOffset - endOffset.
struct PartitionLag {
  size_t source_index = 0;
  size_t partition = 0;  ///< the index in the source's offset arrays (a Kafka topic partition)
  int64_t records = 0;
};

/// Returns the lag of every partition of every source whose offsets in the report are arrays of
/// the same length (Kafka, rate, files, memory); other sources are left out.
std::vector<PartitionLag> source_lag(const StreamingQueryProgress& progress);

/// Watches the queries of a session and keeps, per query id, counters over every progress
/// report and the last `history_size` reports: what /metrics and the JSON API serve. Every
/// method may be called from any thread.
class QueryMonitor final : public StreamingQueryListener,
                           public std::enable_shared_from_this<QueryMonitor> {
 public:
  explicit QueryMonitor(size_t history_size = 100) : history_size_(history_size) {}

  /// Starts listening to the session's queries and takes in what its active queries reported
  /// already, so that a monitor started after a query still counts every epoch it can see.
  void attach(StreamingQueryManager& streams);
  /// Stops listening; idempotent.
  void detach();

  /// Returns every query seen, in the order first seen; `history` empty unless asked for.
  std::vector<QueryTotals> snapshot(bool with_history = false) const;
  /// Returns one query by id, if seen.
  std::optional<QueryTotals> query(const std::string& id) const;

  void on_started(const std::string& id, const std::string& run_id,
                  const std::string& name) override;
  void on_progress(const StreamingQueryProgress& progress) override;
  void on_terminated(const std::string& id, const std::string& run_id,
                     const std::optional<Status>& error) override;
  void on_restarting(const std::string& id, const std::string& run_id, int64_t restart,
                     const Status& error) override;

 private:
  QueryTotals& record(const std::string& id, const std::string& run_id, const std::string& name);
  void take(const StreamingQueryProgress& progress);

  const size_t history_size_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<QueryTotals>> queries_;
  std::map<std::string, std::set<std::string>> run_ids_;  ///< per query id
  StreamingQueryManager* streams_ = nullptr;
};

/// Parses the ISO 8601 timestamps of progress reports ("2026-11-25T15:16:19.123Z") into
/// microseconds since the Unix epoch; nullopt for any other text.
std::optional<int64_t> parse_iso_timestamp(const std::string& text);

/// Returns how far the watermark of a report trails its processing time, in seconds; nullopt
/// when the report has no watermark.
std::optional<double> watermark_lag_seconds(const StreamingQueryProgress& progress);

}  // namespace sluice
