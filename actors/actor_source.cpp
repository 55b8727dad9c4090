#include "actors/actor_source.hpp"

namespace sluice::actors {

namespace {

using flush_atom = caf::atom_constant<caf::atom("flush")>;

// Pushes received since the last flush, each with the promise of its reply.
struct PendingPushes {
  std::vector<RecordBatchPtr> batches;
  std::vector<caf::response_promise> replies;
};

// Takes a valid push into the next group commit; a flush message queued behind the pushes
// already in the mailbox writes them all in one transaction.
caf::response_promise take(caf::event_based_actor* self, PendingPushes& pending,
                           RecordBatchPtr batch) {
  if (pending.batches.empty()) self->send(self, flush_atom::value);
  pending.batches.push_back(std::move(batch));
  pending.replies.push_back(self->make_response_promise());
  return pending.replies.back();
}

// Replies at once to a push that cannot be logged.
caf::response_promise refuse(caf::event_based_actor* self, Status status) {
  auto reply = self->make_response_promise();
  reply.deliver(PushAck{-1, std::move(status)});
  return reply;
}

}  // namespace

actor_source spawn_actor_source(caf::actor_system& system, std::shared_ptr<PushSource> source) {
  auto actor = system.spawn<caf::detached>([source = std::move(source)](
                                               caf::event_based_actor* self) -> caf::behavior {
    auto pending = std::make_shared<PendingPushes>();
    return {
        [=](const PushBatch& push) {
          Status valid = source->check(push.batch);
          if (!valid.is_ok()) return refuse(self, std::move(valid));
          return take(self, *pending, push.batch);
        },
        [=](const PushRows& push) {
          auto batch = RecordBatch::from_rows(source->schema(), push.rows);
          if (!batch.ok())
            return refuse(self, batch.status().with_context("pushing to " + source->description()));
          return take(self, *pending, std::move(batch).value());
        },
        [=](flush_atom) {
          Result<int64_t> first = source->push_all(pending->batches);
          for (size_t i = 0; i < pending->replies.size(); ++i) {
            pending->replies[i].deliver(
                first.ok() ? PushAck{*first + static_cast<int64_t>(i), Status::ok()}
                           : PushAck{-1, first.status()});
          }
          pending->batches.clear();
          pending->replies.clear();
        },
    };
  });
  return caf::actor_cast<actor_source>(actor);
}

}  // namespace sluice::actors
