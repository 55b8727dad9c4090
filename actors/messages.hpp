#pragma once

#include <future>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "core/record_batch.hpp"
#include "io/source.hpp"
#include "operators/stateful_operator.hpp"

namespace sluice::actors {

// Atoms (at most ten characters in CAF 0.17).
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
/// An actor's own reminder that a delayed output link may send again (edge fault delay).
using resume_atom = caf::atom_constant<caf::atom("resume")>;
/// The coordinator's own reminder to check that epochs in flight make progress (epochTimeout).
using watchdog_atom = caf::atom_constant<caf::atom("watchdog")>;

/// [start, end) of source partition `partition`.
struct PartitionRange {
  int partition = 0;
  int64_t start = 0;
  int64_t end = 0;
};

/// Coordinator → source actor: read [start, end) of this actor's partition as epoch `epoch`,
/// then the `added` ranges (partitions the source found after its actors were spawned), and
/// only then close the epoch with one barrier.
struct EpochRange {
  int64_t epoch = 0;
  int64_t start = 0;
  int64_t end = 0;
  std::vector<PartitionRange> added;
};

/// Rows of one epoch moving along an edge. The batch is shared, never copied.
struct BatchMessage {
  int64_t epoch = 0;
  RecordBatchPtr batch;
  /// Which input of the receiving stateful operator the rows feed (a join: 0 left, 1 right).
  int input = 0;
  /// The message's number on its edge, from 1 (set by OutputLink; 0: not numbered), so the
  /// receiver refuses a duplicate and notices a gap (EdgeSequences).
  int64_t sequence = 0;
  /// The sending actor's name, for errors naming the edge.
  std::shared_ptr<const std::string> sender;
};

/// End of an epoch on an edge: every batch of `epoch` on this edge came before it.
struct BarrierMessage {
  int64_t epoch = 0;
  int64_t sequence = 0;  ///< numbered with the batches of its edge (see BatchMessage)
  std::shared_ptr<const std::string> sender;
};

/// Receiver → sender: the receiver consumed `credits` batches, the sender may send as many more.
struct CreditMessage {
  int32_t credits = 0;
};

/// Source actor → coordinator: the partition finished reading its range of `epoch`.
struct SourceDone {
  int64_t epoch = 0;
  int pipeline = 0;
  int64_t rows = 0;
};

/// Sink actor → coordinator: every row of `epoch` was written and made durable.
struct SinkDone {
  int64_t epoch = 0;
  int64_t rows = 0;
};

/// Coordinator → sink actor: the checkpoint committed `epoch`.
struct SinkCommit {
  int64_t epoch = 0;
};

/// Any actor → coordinator: a source, operator or sink failed; the query stops with `status`.
struct Failure {
  Status status;
};

/// Caller → coordinator: fulfil `done` once every row available now is committed.
struct AwaitAvailable {
  std::shared_ptr<std::promise<Status>> done;
};

/// Test kit → coordinator: the manual clock moved; fulfil `done` when the epoch it triggers
/// (if any) is committed.
struct ClockAdvanced {
  std::shared_ptr<std::promise<Status>> done;
};

/// Stage actor → coordinator: the stage finished its part of `epoch`, having seen event times
/// up to max_event_time (when saw_event_time).
struct StageDone {
  int64_t epoch = 0;
  int input = 0;  ///< index of the stage actor among all of the query's stage actors
  int64_t max_event_time = 0;
  bool saw_event_time = false;
};

/// Coordinator → stateful actors: epoch `epoch` begins with this watermark; sent before any
/// source reads the epoch.
struct EpochStart {
  int64_t epoch = 0;
  int64_t watermark = 0;
  int64_t processing_time = 0;
  OutputMode mode = OutputMode::Append;
};

/// Stateful actor → coordinator: the partition finished `epoch`; its state changes to commit.
struct StateDone {
  int64_t epoch = 0;
  int stage = 0;  ///< the stateful stage's index in the physical plan
  int partition = 0;
  std::shared_ptr<StateDelta> delta;
  StateOperatorMetrics metrics;
};

/// Coordinator → stateful actors: the checkpoint committed `epoch`.
struct EpochCommitted {
  int64_t epoch = 0;
};

/// Coordinator → source actor (continuous trigger): stream this partition from `start` on,
/// tagging rows with `epoch` until told to cut.
struct ContinuousStart {
  int64_t epoch = 0;
  int64_t start = 0;
};

/// Coordinator → source actor (continuous trigger): also stream source partition `partition`,
/// one the source found while running (a Kafka topic that grew or newly matches
/// subscribePattern), from `start` on. Its rows belong to the epoch the actor streams now,
/// `epoch` (the newest the coordinator opened), and every later cut reports it too.
struct ContinuousAdd {
  int64_t epoch = 0;
  int partition = 0;
  int64_t start = 0;
};

/// Coordinator → source actor (continuous trigger): end epoch `epoch` at the current position.
struct CutEpoch {
  int64_t epoch = 0;
};

/// Source actor → coordinator (continuous trigger): where a partition the actor streams cut epoch
/// `epoch`; an actor streaming several partitions sends one per partition, `rows` (all of the
/// actor's rows in the epoch) with the first.
struct SourceCut {
  int64_t epoch = 0;
  int pipeline = 0;
  int partition = 0;
  int64_t end = 0;
  int64_t rows = 0;
};

/// Coordinator → sink actor (continuous trigger): the range of `epoch` is in the write-ahead
/// log, so the sink may make the epoch visible.
struct OffsetsLogged {
  int64_t epoch = 0;
};

/// Credits each edge starts with: how many batches may be in flight on one link.
inline constexpr int32_t kLinkCredits = 4;

}  // namespace sluice::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::EpochRange)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::BatchMessage)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::BarrierMessage)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::CreditMessage)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::SourceDone)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::SinkDone)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::SinkCommit)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::Failure)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::AwaitAvailable)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::ClockAdvanced)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::StageDone)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::EpochStart)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::StateDone)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::EpochCommitted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::ContinuousStart)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::ContinuousAdd)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::CutEpoch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::SourceCut)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::OffsetsLogged)
