#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/schema.hpp"
#include "core/status.hpp"
#include "operators/aggregate_function.hpp"
#include "operators/partial_aggregate.hpp"
#include "operators/stateful_operator.hpp"

namespace sluice {

/// Configures make_hash_aggregate.
struct HashAggregateOptions {
  /// Index into key_columns of a TIMESTAMP key that orders groups in event time: the window
  /// end column for windowed aggregations ("window.end"), or an event-time grouping column.
  /// -1 = none (no watermark eviction; append mode impossible).
  int event_time_key = -1;
  /// If the event-time key is a window end, a group is final when watermark >= end; otherwise
  /// when watermark > key value.
  bool event_time_is_window_end = true;
  /// Bounds the in-memory working state per partition; the rest is read from the committed
  /// state on demand. Groups changed since the last commit always stay in memory.
  int64_t cache_bytes = 256LL << 20;
  /// Whether senders pre-aggregate each batch before the shuffle (partial_aggregation()).
  /// The partitions merge partial batches whatever this says.
  PartialAggregationMode partial_aggregation = PartialAggregationMode::adaptive;
};

/// Groups rows by key_columns and computes aggregates, keeping per-group state across epochs.
/// Output schema: the key columns (input names and types) then one column per aggregate.
/// Output per mode:
/// - Append: only groups final under the watermark (each emitted exactly once, then evicted);
/// - Update: groups changed in this epoch (current values), then evicts final groups without
///   emitting;
/// - Complete: every group (whole result) each epoch, never evicting, and late rows are
///   aggregated (Spark keeps all state in complete mode).
/// In append and update mode, rows whose event-time key is already final (late) are dropped
/// and counted in num_rows_dropped_by_watermark. Null keys are a group like any other (SQL
/// GROUP BY); a group whose event-time key is null is never final. Output rows are sorted by
/// (event-time key, key columns) in the key encoder's order, so replaying an epoch from the
/// same committed state emits the same rows in the same order.
///
/// State: one entry per group, key = [event-time key encoding, when there is one] + encoded
/// key columns (KeyEncoder, in key_columns order: the routing key, whose key_partition is the
/// owning partition), value = format version byte + the serialized aggregate states. Eviction
/// and append output come from an in-memory event-time index; committed groups not in memory
/// (state beyond cache_bytes, or not loaded at start) are found by a range scan over the time
/// prefix, only when one of them may be final. A delta holds each changed or removed group
/// once, in key order.
///
/// Partial aggregation: partial_aggregation(0) describes the batches senders may send instead
/// of raw rows (one row per grouping key and sender batch, see PartialAggregation); add_input
/// takes either kind. A late partial row is dropped whole and counts its input rows. The
/// state and its format do not depend on which kind arrived.
///
/// The operator is immutable and may be shared by all partitions; each state is used by one
/// thread. After a call to a state fails, the runtime must recreate the state from the
/// committed state (its memory may hold part of the failed call's changes).
Result<std::shared_ptr<const StatefulOperator>> make_hash_aggregate(
    SchemaPtr input, std::vector<int> key_columns, std::vector<AggregateSpec> aggregates,
    HashAggregateOptions options = {});

}  // namespace sluice
