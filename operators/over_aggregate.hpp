#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/schema.hpp"
#include "core/status.hpp"
#include "operators/aggregate_function.hpp"
#include "operators/stateful_operator.hpp"

namespace sluice {

/// One aggregate of an OVER window: count(*), count, sum, avg, min or max of an input column.
struct OverCallSpec {
  AggregateKind kind = AggregateKind::count_all;
  /// Indexes the operator's input schema; -1 for count_all.
  int input_column = -1;
  /// Names the output column.
  std::string output_name;
};

/// Configures make_over_aggregate: `call OVER (PARTITION BY partition_columns ORDER BY
/// order_columns ROWS BETWEEN preceding PRECEDING AND CURRENT ROW)`.
struct OverAggregateOptions {
  static constexpr int64_t kUnboundedPreceding = -1;
  std::vector<int> partition_columns;
  /// The first is the TIMESTAMP the rows are ordered by; the others break its ties. Rows equal
  /// in all of them are ordered by their other columns, so the order never depends on arrival.
  std::vector<int> order_columns;
  /// The watermarked event-time column (TIMESTAMP): rows below the watermark are late.
  int event_time_column = -1;
  /// How far the first order column may trail the event time (µs): a row is final once
  /// watermark - order_lag_micros passes its order time. 0 when it is the event time itself.
  int64_t order_lag_micros = 0;
  /// Rows before the current one in its frame, or kUnboundedPreceding.
  int64_t preceding = 0;
  std::vector<OverCallSpec> calls;
  /// The session's stateCacheSize, accepted like the other operators'; the OVER state is small
  /// per key (the frame and the rows waiting) and stays in memory whole.
  int64_t cache_bytes = 256LL << 20;
};

/// Returns the type of an OVER aggregate over a column of `input` type (BIGINT for count,
/// DOUBLE for avg, the input's type for sum, min and max); fails naming the function and type
/// it does not support.
Result<Type> over_result_type(AggregateKind kind, Type input);

/// Emits every input row exactly once, in append mode, with its own columns followed by one
/// column per call: the aggregate over the row and the `preceding` rows before it in its
/// partition, in order-column order (Flink's rowtime OVER ... ROWS). A row waits in the state
/// until the watermark (less order_lag_micros) passes its order time, so that no row before it
/// can still come; rows whose event time or order time is already behind it on arrival, or is
/// null, are late: dropped and counted. Nulls are skipped by the aggregates as in SQL.
///
/// State: one entry per partition key, key = the encoded partition columns (the routing key),
/// value = format version (2), the argument values of the last `preceding` emitted rows oldest
/// first (or the running totals when unbounded), then the rows still waiting, in frame order,
/// column by column (a null flag, a validity bitmap when some are null, the values). A
/// partition loads its entries at start and keeps them in memory, the waiting rows as one batch
/// grouped by key; a partition key's entry stays for the life of the query (as Flink's OVER
/// without state TTL).
///
/// The operator is immutable and may be shared by all partitions; each state is used by one
/// thread. After a call fails, the runtime recreates the state from the committed state.
Result<std::shared_ptr<const StatefulOperator>> make_over_aggregate(SchemaPtr input,
                                                                    OverAggregateOptions options);

}  // namespace sluice
