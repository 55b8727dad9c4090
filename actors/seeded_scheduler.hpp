#pragma once

#include <cstdint>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

namespace sluice::actors {

/// Installs in `config`, before an actor system is built from it, a scheduler that runs every
/// (non-detached) actor on one thread and picks the next actor to run, among those with
/// messages, with a generator seeded by `seed`; timers and delayed messages fire one at a time,
/// when due and only while no actor has work. Given the same inputs from outside (the test
/// kit's steps with a manual clock), a run's interleavings then follow from the seed: the same
/// seed replays them, another seed tries others. Actors that block their thread (the actor
/// sink waiting for its host) must not run on it. Not thread-safe (a config is built on one
/// thread).
void use_seeded_scheduler(caf::actor_system_config& config, uint64_t seed);

/// Waits (up to a second) until no actor of `system` has work, when it runs on the seeded
/// scheduler; returns at once otherwise. The test kit's steps call it before they message a
/// query, so that their messages arrive at the same point of every replay. Thread-safe.
void await_quiet_scheduler(caf::actor_system& system);

}  // namespace sluice::actors
