#pragma once

#include <string>

#include "bench/nexmark/generator.hpp"
#include "bench/nexmark/queries.hpp"

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

/// Reads the three streams from the JSON records produce_events wrote into `topic` (RisingWave's
/// published setup: a Kafka source and a JSON parser in front of every query): each stream
/// reads the topic, parses it with from_json, keeps its event_type and has the columns and
/// watermarks of read_streams. At most `max_offsets_per_trigger` records per epoch and stream
/// (0: no limit). With `processing_time`, the bid stream gets `p_time`, the session clock's
/// time when the query reads the record (Flink's PROCTIME(); not replayed the same after a
/// restart), with its watermark instead of date_time's.
Streams read_kafka_streams(SessionContext& session, const std::string& bootstrap_servers,
                           const std::string& topic, int64_t max_offsets_per_trigger = 0,
                           bool processing_time = false);

}  // namespace sluice::nexmark
