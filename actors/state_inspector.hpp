#pragma once

#include <string>

#include "core/record_batch.hpp"
#include "core/status.hpp"
#include "plan/dataframe.hpp"
#include "plan/session_context.hpp"

namespace sluice {

/// Tunes inspect_state.
struct InspectStateOptions {
  /// Gives the number of partitions the query ran its stateful operator with (the session's
  /// shuffle_partitions). The checkpoint does not record it: state is stored by key, and a
  /// partition owns the keys that hash to it, so the same state splits differently under
  /// another count. 0 takes the engine's default, the number of cores.
  int num_partitions = 0;
};

/// Reads the committed state of the stopped query whose checkpoint is `checkpoint_dir` as one
/// batch, one row per state entry, in key order:
///   operator STRING      the stateful operator ("stateful aggregate", "deduplicate", ...)
///   partition BIGINT     the partition that owns the entry (see InspectStateOptions)
///   key columns          decoded, with their names and types from the checkpoint's plan
///                        fingerprint; a STRING `key` (hex) when they cannot be recovered
///   aggregate columns    for aggregations: each aggregate's result over the stored buffer
///                        ("count(1)", "sum(v)", ...), as the query would emit it
///   value STRING         the stored value, hex
///   value_bytes BIGINT   its size
/// A query without a stateful operator gives an empty batch of operator, partition, key,
/// value and value_bytes. Takes the checkpoint's lock while reading: a checkpoint in use by a
/// running query is refused with io_error saying so; a missing directory, or one that is no
/// checkpoint, is not_found; unreadable or undecodable state is corrupt; each names the path.
/// Thread-safe (each call opens the checkpoint on its own).
Result<RecordBatchPtr> inspect_state(const std::string& checkpoint_dir,
                                     const InspectStateOptions& options = {});

/// Returns the same rows as a static DataFrame of `session`, to filter, aggregate and
/// collect() like any table; an error becomes the DataFrame's status. Thread-safe.
inline DataFrame inspect_state(SessionContext& session, const std::string& checkpoint_dir,
                               const InspectStateOptions& options = {}) {
  auto rows = inspect_state(checkpoint_dir, options);
  if (!rows.ok()) return DataFrame(session.state(), rows.status());
  return session.create_data_frame(*rows);
}

}  // namespace sluice
