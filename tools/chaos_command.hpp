#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::tools {

/// The options of `sluice chaos`.
struct ChaosOptions {
  /// A SQL pipeline whose file source reads '${input}' (a directory the runner fills with CSV
  /// files of `id BIGINT, k STRING, v BIGINT, ts TIMESTAMP`), or whose Kafka source reads
  /// '${kafka}' (a cluster in the runner's process whose topic `events`, 3 partitions, gets the
  /// same lines as record values), and whose one file, Delta or table sink writes to
  /// '${output}'. Each child runs on the seeded scheduler (`sluice run --scheduler-seed`).
  std::string pipeline;
  int64_t kills = 10;            ///< SIGKILLs and crash points to survive
  std::optional<uint64_t> seed;  ///< replays a run; random (and printed) when absent
  std::string
      work_directory;  ///< kept for inspection when given; a removed temporary one otherwise
  int64_t rows_per_file = 40;       ///< rows of each landing file
  int64_t max_kill_delay_ms = 400;  ///< a random-moment kill comes 0..this after the start
  /// The `sluice` binary to run the pipeline with; empty: this process's own binary.
  std::string sluice_binary;
};

/// Runs the pipeline in child processes (`sluice run`), kills each with SIGKILL at a random
/// moment or by an armed crash point (SLUICE_FAULTS), restarts it from its checkpoint with more
/// input, and compares the sink's committed rows with an uninterrupted run on the same input.
/// Prints `kills N, lost L, duplicated D, seed S` (and the first difference with the command to
/// replay it). Returns the exit code: 0 exactly-once, 1 a difference or an error.
int run_chaos(const ChaosOptions& options);

}  // namespace sluice::tools
