#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/record_batch.hpp"
#include "core/status.hpp"
#include "io/delta_log.hpp"

namespace sluice {

/// Options of a batch read of a Delta table (`session.read().format("delta")`), with Delta's
/// names: the latest version, or one version (`versionAsOf`) or time (`timestampAsOf`).
struct DeltaReadOptions {
  std::string path;                               ///< the table directory (load(path) or `path`)
  std::optional<int64_t> version_as_of;           ///< `versionAsOf`
  std::optional<int64_t> timestamp_as_of_millis;  ///< `timestampAsOf`, ms since the Unix epoch
  int64_t rows_per_batch = 65536;                 ///< `rowsPerBatch`

  /// Reads the options; an unknown option is an error naming it and the closest known one, a
  /// bad value (a negative version, a timestamp that does not parse, both given) one naming it.
  static Result<DeltaReadOptions> parse(std::string path,
                                        std::map<std::string, std::string> options);
};

/// Rebuilds the table state the options select: the latest version, or the one time travel
/// names. Fails when there is no table, or naming the available versions when the one asked
/// for does not exist. Safe while writers commit.
Result<DeltaSnapshot> resolve_delta_read(const DeltaReadOptions& options);

/// Returns the schema of a snapshot's table (its metaData), as a Sluice schema.
Result<SchemaPtr> delta_snapshot_schema(const DeltaSnapshot& snapshot);

/// Reads every row of a snapshot's live files (in path order), partition columns included.
/// A live file that is gone (removed by vacuum) is an error naming it and the version.
Result<RecordBatchPtr> read_delta_snapshot_rows(const std::string& table_path,
                                                const DeltaSnapshot& snapshot,
                                                int64_t rows_per_batch = 65536);

/// Resolves the version the options select and reads its rows.
Result<RecordBatchPtr> read_delta_table(const DeltaReadOptions& options);

}  // namespace sluice
