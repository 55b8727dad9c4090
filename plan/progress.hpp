#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sluice {

/// Progress of one source in one epoch (Spark's SourceProgress).
struct SourceProgress {
  std::string description;
  std::string start_offset;   ///< JSON
  std::string end_offset;     ///< JSON
  std::string latest_offset;  ///< JSON
  int64_t num_input_rows = 0;
  double input_rows_per_second = 0;
  double processed_rows_per_second = 0;
  /// Source-specific figures, e.g. Kafka's maxOffsetsBehindLatest (rendered as "metrics").
  std::vector<std::pair<std::string, std::string>> metrics;
};

/// Progress of the sink in one epoch (Spark's SinkProgress).
struct SinkProgress {
  std::string description;
  int64_t num_output_rows = 0;
};

/// Progress of one stateful operator in one epoch (Spark's StateOperatorProgress).
struct StateOperatorProgress {
  std::string operator_name;
  int64_t num_rows_total = 0;
  int64_t num_rows_updated = 0;
  int64_t num_rows_removed = 0;
  int64_t num_rows_dropped_by_watermark = 0;
  int64_t commit_time_ms = 0;
  int64_t memory_used_bytes = 0;
  int64_t num_shuffle_partitions = 0;
  /// Operator-specific counters (Spark's customMetrics), e.g. a join's rows per side.
  std::map<std::string, int64_t> custom_metrics;
};

/// Describes one completed epoch with Spark's field names (StreamingQueryProgress).
struct StreamingQueryProgress {
  std::string id;
  std::string run_id;
  std::string name;
  std::string timestamp;  ///< ISO 8601, UTC, e.g. "2026-11-25T15:16:19.123Z"
  int64_t batch_id = 0;
  int64_t num_restarts = 0;  ///< times the query restarted itself after a failure (restart.strategy)
  int64_t num_input_rows = 0;
  double input_rows_per_second = 0;
  double processed_rows_per_second = 0;
  std::map<std::string, int64_t> duration_ms;  ///< latestOffset, walCommit, getBatch, addBatch, commit, triggerExecution
  std::map<std::string, std::string> event_time;  ///< watermark, min, max, avg when known
  std::vector<StateOperatorProgress> state_operators;
  std::vector<SourceProgress> sources;
  SinkProgress sink;

  /// Renders the report as compact JSON with Spark's field names.
  std::string json() const;
  /// Renders the report as indented JSON.
  std::string pretty_json() const;
};

/// Escapes a string for a JSON document (quotes included).
std::string json_quote(const std::string& text);

}  // namespace sluice
