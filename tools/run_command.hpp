#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::tools {

/// The options of `sluice run`.
struct RunOptions {
  std::string file;
  /// Checkpoints each sink in <checkpoint>/<sink name>, so a second run resumes.
  std::string checkpoint;
  /// Stops once every query is idle: it ran an epoch, and a trigger after it found no new data.
  bool until_idle = false;
  /// Replaces every sink's trigger (1s, 500ms, once, available-now); empty: as the file says.
  std::string trigger;
  /// "json": prints every progress report as one JSON line on stdout.
  std::string progress;
  /// The dashboard's port ("0" = any free one, "off" = none); empty: `SET ui.port`, else
  /// SLUICE_UI_PORT, else any free port.
  std::string ui_port;
  /// Runs the actors on one thread in an order drawn from this seed (SessionOptions).
  std::optional<uint64_t> scheduler_seed;
};

/// Runs the pipelines of a SQL file until they end, SIGINT/SIGTERM stops them cleanly, or
/// (with until_idle) they are idle. Prints results of console sinks and EXPLAIN to stdout,
/// status and errors to stderr. Returns the process exit code: 0 done or stopped, 1 an error.
int run_file(const RunOptions& options);

/// Prints the plans of every EXPLAIN and every sink's query in a SQL file, starting nothing.
int explain_file(const std::string& file);

/// Prints what a checkpoint directory holds, as text or JSON.
int inspect_checkpoint(const std::string& directory, bool json);

}  // namespace sluice::tools
