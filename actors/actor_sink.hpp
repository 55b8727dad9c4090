#pragma once

#include <chrono>
#include <map>
#include <memory>

#include <caf/all.hpp>

#include "core/record_batch.hpp"
#include "io/sink.hpp"

namespace sluice::actors {

/// Actor sink → host: a batch of the query's output for `epoch`.
struct EpochBatch {
  int64_t epoch = 0;
  RecordBatchPtr batch;
};

/// Actor sink → host: every batch of `epoch` (`rows` rows in all) was sent. The epoch is
/// finished, and may commit, only once the host replies with EpochAck.
struct EpochEnd {
  int64_t epoch = 0;
  int64_t rows = 0;
};

/// Host → actor sink, the reply to EpochEnd: the host has applied (or durably staged) `epoch`.
struct EpochAck {
  int64_t epoch = 0;
};

/// Actor sink → host: the query stopped or failed before `epoch` committed; drop what was
/// received of it but not applied (it is delivered again, whole, if the query restarts).
struct EpochAbort {
  int64_t epoch = 0;
};

/// The interface a host actor implements to receive a query's output.
///
/// Contract (at-least-once delivery, exactly-once for a host that deduplicates by epoch):
/// - the batches of an epoch arrive before its EpochEnd; EpochEnd messages come in increasing
///   epoch order, but batches of the next epoch may arrive before the previous EpochEnd
///   (epochs overlap), so stage batches by epoch;
/// - the host acknowledges EpochEnd after it applied the epoch; the query's checkpoint commits
///   the epoch only after that acknowledgement;
/// - after a crash or a failure, an epoch the host acknowledged but the checkpoint did not
///   commit is delivered again with the same epoch number and the same rows: a host that
///   remembers the last epoch it applied (with the applied rows, atomically) skips
///   `epoch <= last_applied` and so applies every epoch exactly once;
/// - batches of an epoch not yet ended may be followed by EpochAbort, or by the same epoch
///   again from its start after a restart: stage batches per epoch, apply them on EpochEnd.
using epoch_receiver =
    caf::typed_actor<caf::reacts_to<EpochBatch>, caf::replies_to<EpochEnd>::with<EpochAck>,
                     caf::reacts_to<EpochAbort>>;

/// Tunes an ActorSink.
struct ActorSinkOptions {
  /// Fails the query when the host does not acknowledge an epoch within this time.
  std::chrono::milliseconds ack_timeout{60'000};
};

/// Delivers each epoch's output to a host actor as (epoch, batch) messages and finishes the
/// epoch when the host acknowledges it (see epoch_receiver for the contract). Give it to
/// `write_stream().sink(...)`. While it waits for an acknowledgement it blocks the sink actor's
/// scheduler thread, so the host's receiver must answer without waiting on the query itself.
/// Called by one sink actor at a time, as Sink requires.
class ActorSink final : public Sink {
 public:
  ActorSink(caf::actor_system& system, epoch_receiver receiver, ActorSinkOptions options = {});

  std::string description() const override { return "ActorSink"; }
  Status write(int64_t epoch, const RecordBatchPtr& batch) override;
  /// Sends EpochEnd and waits for the host's EpochAck; fails when the host is gone, answers
  /// with an error or another epoch, or does not answer within ack_timeout.
  Status finish_epoch(int64_t epoch) override;
  void abort_epoch(int64_t epoch) override;
  /// Returns false: a replayed epoch reaches the host again; the host deduplicates by epoch.
  bool idempotent() const override { return false; }

 private:
  caf::actor_system& system_;
  epoch_receiver receiver_;
  ActorSinkOptions options_;
  std::map<int64_t, int64_t> rows_;  // rows sent per epoch not yet ended
};

}  // namespace sluice::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::EpochBatch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::EpochEnd)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::EpochAck)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::EpochAbort)
