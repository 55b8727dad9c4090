#pragma once

#include <string>

#include "bench/nexmark/generator.hpp"

namespace sluice::nexmark {

/// Returns the schema (Spark DDL) of the JSON records produce_events writes: every field of
/// the three kinds, flat, with `event_type` (0 person, 1 auction, 2 bid) telling which apply.
std::string json_record_schema();

/// Produces events [first, end) as JSON records (Generator::to_json) into `topic` of the
/// Kafka cluster at `bootstrap_servers`, keyed by event number, and waits for their delivery.
/// Fails naming the topic and the error. Call from one thread at a time per topic.
[[nodiscard]] Status produce_events(const Generator& generator,
                                    const std::string& bootstrap_servers, const std::string& topic,
                                    int64_t first, int64_t end);

}  // namespace sluice::nexmark
