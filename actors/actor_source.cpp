#include "actors/actor_source.hpp"

namespace sluice::actors {

namespace {

PushAck acknowledge(const Result<int64_t>& logged) {
  if (!logged.ok()) return PushAck{-1, logged.status()};
  return PushAck{*logged, Status::ok()};
}

}  // namespace

actor_source spawn_actor_source(caf::actor_system& system, std::shared_ptr<PushSource> source) {
  return system.spawn<caf::detached>([source = std::move(source)]() -> actor_source::behavior_type {
    return {
        [source](const PushBatch& push) { return acknowledge(source->push(push.batch)); },
        [source](const PushRows& push) { return acknowledge(source->push(push.rows)); },
    };
  });
}

}  // namespace sluice::actors
