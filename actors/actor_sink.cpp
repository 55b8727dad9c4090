#include "actors/actor_sink.hpp"

namespace sluice::actors {

ActorSink::ActorSink(caf::actor_system& system, epoch_receiver receiver, ActorSinkOptions options)
    : system_(system), receiver_(std::move(receiver)), options_(options) {}

Status ActorSink::write(int64_t epoch, const RecordBatchPtr& batch) {
  if (!receiver_) return Status::invalid_argument("ActorSink has no receiver actor");
  rows_[epoch] += batch->num_rows();
  // Sent from this thread before finish_epoch's request: the host's mailbox keeps that order.
  caf::anon_send(receiver_, EpochBatch{epoch, batch});
  return Status::ok();
}

Status ActorSink::finish_epoch(int64_t epoch) {
  if (!receiver_) return Status::invalid_argument("ActorSink has no receiver actor");
  const int64_t rows = rows_[epoch];
  rows_.erase(epoch);
  Status result = Status::ok();
  caf::scoped_actor self{system_};
  self->request(receiver_, options_.ack_timeout, EpochEnd{epoch, rows})
      .receive(
          [&](const EpochAck& ack) {
            if (ack.epoch != epoch) {
              result =
                  Status::internal("the host acknowledged epoch " + std::to_string(ack.epoch) +
                                   " when asked to acknowledge epoch " + std::to_string(epoch));
            }
          },
          [&](const caf::error& error) {
            result = Status::aborted(
                "the host did not acknowledge epoch " + std::to_string(epoch) + " (" +
                std::to_string(rows) + " rows): " + system_.render(error) +
                (error == caf::sec::request_timeout
                     ? " after " + std::to_string(options_.ack_timeout.count()) + " ms"
                     : ""));
          });
  return result;
}

void ActorSink::abort_epoch(int64_t epoch) {
  rows_.erase(epoch);
  if (receiver_) caf::anon_send(receiver_, EpochAbort{epoch});
}

}  // namespace sluice::actors
