#pragma once

#include <string>

namespace sluice::tools {

/// Removes the data files of the Delta table at `path` that no version of the last
/// `retention_hours` references, printing how many files and bytes went and the oldest version
/// still readable. Returns the process exit code: 0 done, 1 no table or an error (on stderr).
int vacuum_delta_table(const std::string& path, double retention_hours);

/// Compacts the small files of the Delta table at `path` in one dataChange=false commit,
/// printing what it did. Returns the exit code: 0 done (or nothing to compact), 1 an error.
int optimize_delta_table(const std::string& path, int64_t target_file_rows);

}  // namespace sluice::tools
