#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/schema.hpp"
#include "core/status.hpp"
#include "operators/aggregate_function.hpp"
#include "operators/stateful_operator.hpp"

namespace sluice {

/// Configures make_session_window_aggregate.
struct SessionWindowOptions {
  /// Gap of every session in microseconds (must be positive unless gap_column is set).
  int64_t gap_micros = 0;
  /// Input column holding each row's gap as BIGINT microseconds (Spark's dynamic gap), or -1.
  /// Rows whose gap is null or <= 0 are dropped, as Spark drops them.
  int gap_column = -1;
  /// Bounds the in-memory working state per partition; the rest is read from the committed
  /// state on demand. Keys changed since the last commit always stay in memory.
  int64_t cache_bytes = 256LL << 20;
};

/// Session windows per key (Spark's session_window): every row opens [t, t + gap); sessions of
/// one key that overlap or touch (start <= other end, as Spark merges them) merge into one,
/// also across epochs and when rows arrive out of order. Rows with a null event time are
/// dropped. Output schema: the key columns, "session_window.start", "session_window.end"
/// (TIMESTAMP NOT NULL), then one column per aggregate (first/last follow arrival order even
/// when sessions merge). Output per mode:
/// - Append: a session is emitted once when watermark >= its end, then evicted;
/// - Update: the sessions changed in this epoch with their current bounds and values; a
///   session that absorbed others is emitted with its new (wider) bounds and the absorbed
///   sessions are not retracted: a consumer that upserts by (key, session_window.start) must
///   drop its rows of the same key whose window lies inside a newly emitted one. Final
///   sessions are then evicted without output;
/// - Complete: every session each epoch, never evicting, late rows aggregated.
/// In append and update mode a row whose own session [t, t + gap) is already final
/// (t + gap <= watermark) is late: dropped and counted. Output rows are sorted by key (encoder
/// order) and session start.
///
/// State: one entry per key (key = encoded key columns, the routing key), value = format
/// version byte, the number of sessions, then each session's start, length and aggregate
/// states in start order. Eviction comes from an in-memory index of each key's earliest
/// session end; when keys are not in memory (state beyond cache_bytes) and one of them may hold
/// a final session, eviction scans the whole committed state of the operator once. A delta
/// holds each changed or removed key once, in key order.
///
/// The operator is immutable and may be shared by all partitions; each state is used by one
/// thread. After a call to a state fails, the runtime must recreate the state from the
/// committed state (its memory may hold part of the failed call's changes).
Result<std::shared_ptr<const StatefulOperator>> make_session_window_aggregate(
    SchemaPtr input, std::vector<int> key_columns, int time_column,
    std::vector<AggregateSpec> aggregates, SessionWindowOptions options);

}  // namespace sluice
