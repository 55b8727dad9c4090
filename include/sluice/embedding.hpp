#pragma once

// What a host that embeds Sluice in its own CAF actors includes besides <sluice/sluice.hpp>:
// the actor source and sink, their messages, and sluice::actors::configure. Includes CAF.
#include "actors/actor_sink.hpp"
#include "actors/actor_source.hpp"
#include "actors/session.hpp"
#include "io/push_source.hpp"
