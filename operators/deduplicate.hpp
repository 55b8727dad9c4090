#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/schema.hpp"
#include "core/status.hpp"
#include "operators/stateful_operator.hpp"

namespace sluice {

/// Configures make_deduplicate.
struct DeduplicateOptions {
  /// Input column (TIMESTAMP) carrying the event time, or -1. Rows with an event time below the
  /// watermark are late: dropped and counted. When it is also one of the key columns, a key's
  /// state is evicted once the watermark passes its event time (Spark's dropDuplicates with a
  /// watermark); otherwise the state is kept forever.
  int event_time_column = -1;
  /// >= 0: dropDuplicatesWithinWatermark: a key's state expires at its first event time + this
  /// delay and is evicted once watermark > expiry (after which the key is new again);
  /// event_time_column is required and need not be a key. A row with a null event time never
  /// expires.
  int64_t within_watermark_delay_micros = -1;
  /// Bounds the in-memory working state per partition; the rest is read from the committed
  /// state on demand. Keys added since the last commit always stay in memory.
  int64_t cache_bytes = 256LL << 20;
};

/// Emits the first row of each distinct key (in arrival order within the epoch), drops later
/// duplicates; output schema == input schema; late rows (event time < watermark) dropped and
/// counted. Null key values are compared like any other value. Output does not depend on the
/// output mode.
///
/// State: one entry per key seen and not evicted, key = [event-time encoding, when the event
/// time is a key] + encoded key columns (the routing key), value = format version byte [+ the
/// expiry time for dropDuplicatesWithinWatermark]. Eviction comes from an in-memory time index;
/// committed keys not in memory are found by a range scan over the time prefix (event time in
/// the keys) or one scan of the operator's state (within-watermark), only when one of them may
/// be due. A delta holds each added or removed key once, in key order.
///
/// The operator is immutable and may be shared by all partitions; each state is used by one
/// thread. After a call to a state fails, the runtime must recreate the state from the
/// committed state (its memory may hold part of the failed call's changes).
Result<std::shared_ptr<const StatefulOperator>> make_deduplicate(SchemaPtr input,
                                                                 std::vector<int> key_columns,
                                                                 DeduplicateOptions options = {});

}  // namespace sluice
