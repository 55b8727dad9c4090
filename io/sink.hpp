#pragma once

#include <memory>
#include <string>

#include "core/record_batch.hpp"

namespace sluice {

/// Output modes with Spark's meaning.
enum class OutputMode { Append, Update, Complete };

/// Returns "Append", "Update" or "Complete".
std::string_view output_mode_name(OutputMode mode);

/// What a connector learns about the query it serves, when the query starts (and again at
/// each restart from the same checkpoint).
struct ConnectorContext {
  std::string query_id;  ///< stable across restarts from the same checkpoint
  std::string checkpoint_location;
};

/// A streaming sink. All calls come from one sink actor, in order, for epochs in increasing
/// order; an epoch may be replayed after a crash (same epoch id, same rows), and the sink must
/// not then hold its rows twice: `finish_epoch` writes idempotently keyed by epoch.
class Sink {
 public:
  virtual ~Sink() = default;
  /// Describes the sink in progress reports, e.g. "MemorySink[results]".
  virtual std::string description() const = 0;
  /// Tells the sink which query it serves, before any write; called at every (re)start.
  virtual Status attach(const ConnectorContext& context) {
    (void)context;
    return Status::ok();
  }
  /// Receives one batch of `epoch` (batches of one epoch arrive before its finish_epoch).
  virtual Status write(int64_t epoch, const RecordBatchPtr& batch) = 0;
  /// Makes all rows of `epoch` durable and visible (or staged, if commit_epoch publishes).
  virtual Status finish_epoch(int64_t epoch) = 0;
  /// Called after the checkpoint committed `epoch`.
  virtual Status commit_epoch(int64_t epoch) {
    (void)epoch;
    return Status::ok();
  }
  /// Drops the uncommitted rows of `epoch` (the query stopped or failed before its commit).
  virtual void abort_epoch(int64_t epoch) { (void)epoch; }
};

}  // namespace sluice
