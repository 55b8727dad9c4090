#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "io/delta_log.hpp"

namespace sluice {

/// Writers checkpoint the log every this many versions (Delta's default checkpointInterval).
inline constexpr int64_t kDeltaCheckpointInterval = 10;

/// Names a version's checkpoint: `<table>/_delta_log/%020d.checkpoint.parquet`.
std::string delta_checkpoint_file(const std::string& table_path, int64_t version);

/// Writes the snapshot as a classic single-file Parquet checkpoint at its version, with the
/// columns PROTOCOL.md defines (protocol, metaData, txn, add, remove; one action per row), then
/// points `_delta_log/_last_checkpoint` at it. Both files appear whole (written aside, then
/// renamed), so a reader never sees a partial one; rewriting a checkpoint is harmless.
Status write_delta_checkpoint(const std::string& table_path, const DeltaSnapshot& snapshot,
                              bool sync);

/// Reads the checkpoint of `version` into a snapshot (protocol, metadata, live files, txns).
/// Fails naming the file when it is not a valid checkpoint.
Result<DeltaSnapshot> read_delta_checkpoint(const std::string& table_path, int64_t version);

/// Lists the versions that have a checkpoint file, ascending.
Result<std::vector<int64_t>> list_delta_checkpoints(const std::string& table_path);

/// Returns the version `_delta_log/_last_checkpoint` names; nullopt when the file is absent or
/// does not name one (readers then list the log).
std::optional<int64_t> read_last_checkpoint(const std::string& table_path);

}  // namespace sluice
