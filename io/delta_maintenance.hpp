#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace sluice {

/// What delta_vacuum did.
struct DeltaVacuumResult {
  int64_t oldest_kept_version = 0;   ///< every version from here on stays readable
  std::vector<std::string> deleted;  ///< data files removed, relative to the table
  int64_t deleted_bytes = 0;
};

/// Removes the data files that no version of the table since `retention` ago references: a
/// file stays while it is live in the latest version, in the version that was current
/// `retention` ago, or in any version after it; files the log never mentions (left by failed
/// writes) go once they are older than `retention`. Versions before the oldest kept one may
/// then fail to read (their files are gone), as in Delta. Directories starting with `_` or `.`
/// (the log among them) are left alone. A retention shorter than the longest epoch of a query
/// writing the table may delete files of a commit still in flight: Delta's default is 7 days.
/// Safe to run while writers commit, with that caveat; not concurrently with another vacuum.
Result<DeltaVacuumResult> delta_vacuum(const std::string& table_path,
                                       std::chrono::milliseconds retention);

/// What delta_optimize did.
struct DeltaOptimizeResult {
  int64_t version = -1;       ///< the commit it published, -1 when nothing was compacted
  int64_t files_removed = 0;  ///< small files replaced
  int64_t files_added = 0;    ///< compacted files written
  int64_t rows = 0;           ///< rows rewritten
};

/// Compacts small files: within each partition, the live files of fewer than
/// `target_file_rows` rows (two or more) are rewritten into files of up to that many rows, and
/// one commit with dataChange=false removes them and adds the new ones (the Delta source skips
/// such commits: the rows did not change). Conflicts with a concurrent commit that removed one
/// of the compacted files abort it (nothing changes); other concurrent commits are retried past.
Result<DeltaOptimizeResult> delta_optimize(const std::string& table_path,
                                           int64_t target_file_rows = 1'000'000);

}  // namespace sluice
