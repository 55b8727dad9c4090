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

/// A streaming sink: the connector interface for writing to a user's own system (a queue, a
/// database); the built-in sinks implement it too. Give one to `write_stream().sink(...)`.
///
/// The names map onto these calls: write(epoch, batch) = `write`; commit(epoch) =
/// `finish_epoch` (make the epoch durable; the checkpoint commits only after it returns ok)
/// followed by `commit_epoch` (the checkpoint committed it); abort(epoch) = `abort_epoch`;
/// idempotent = `idempotent`.
///
/// Calls: all come from one sink actor, one at a time (no locking needed). Batches of
/// overlapping epochs may interleave (e+1 may be written before e finishes); `finish_epoch` is
/// called in increasing epoch order.
///
/// Exactly-once rules a sink keeps:
/// 1. An epoch whose `finish_epoch` returned ok must survive a crash of the process (durable).
/// 2. `finish_epoch` succeeds whole or not at all: after a failure or a crash nothing of the
///    epoch may be visible, or all of it.
/// 3. After a crash an epoch may be replayed: the same epoch id with the same rows, possibly
///    after its `finish_epoch` already succeeded. The sink must not then hold its rows twice:
///    key the write by (query id from `attach`, epoch) and skip or overwrite an epoch already
///    written. A sink that cannot returns `idempotent() == false` and documents that its
///    receiver deduplicates by epoch id.
/// 4. Rows of an epoch that is aborted (or never finished) must not become visible, or must be
///    replaced when the epoch is replayed.
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
  /// Returns true when a replayed epoch cannot leave its rows twice in the sink's system (rule
  /// 3 above); false when the sink hands a replayed epoch on again under the same epoch id and
  /// its receiver deduplicates (foreach_batch, the actor sink). A query warns at start when
  /// its sink is not idempotent.
  virtual bool idempotent() const { return true; }
};

}  // namespace sluice
