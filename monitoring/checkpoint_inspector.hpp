#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace sluice {

/// What `sluice checkpoint inspect` shows of one checkpoint directory.
struct CheckpointReport {
  std::string path;
  std::string query_id;
  int64_t epochs_retained = 0;
  std::optional<int64_t> oldest_committed_epoch;
  std::optional<int64_t> latest_committed_epoch;
  std::optional<int64_t> latest_offsets_epoch;
  /// The end offsets of every source after the latest committed epoch (JSON arrays, one
  /// number per source partition).
  std::vector<std::string> source_offsets;
  /// The watermark in force after the latest committed epoch (microseconds), if any.
  std::optional<int64_t> watermark;
  int64_t state_entries = 0;
  int64_t data_file_bytes = 0;
};

/// Reads a checkpoint directory written by a query (or, for a directory of checkpoints such as
/// `sluice run --checkpoint DIR` makes, every checkpoint in it). Takes the checkpoint's lock
/// for the time of reading, so a checkpoint in use by a running query is refused with an error
/// saying so; a missing directory or one that is no checkpoint is an error too.
Result<std::vector<CheckpointReport>> inspect_checkpoints(const std::string& path);

/// Renders reports for people (one block per checkpoint) or as one JSON document.
std::string render_text(const std::vector<CheckpointReport>& reports);
std::string render_json(const std::vector<CheckpointReport>& reports);

}  // namespace sluice
