#pragma once

#include <cstdint>
#include <string_view>

#include "core/record_batch.hpp"
#include "core/schema.hpp"
#include "core/status.hpp"

namespace sluice {

/// Describes tumbling (slide == size) or sliding time windows, in microseconds.
struct WindowDefinition {
  int64_t size_micros;
  int64_t slide_micros;
  int64_t start_offset_micros = 0;
};

/// Checks a window definition as Spark does: size and slide positive, slide <= size, and
/// |start offset| < slide; the error names the offending duration. Thread-safe.
Status validate_window(const WindowDefinition& window);

/// Parses Spark durations into microseconds: "10 seconds", "1 minute", "500 milliseconds",
/// "2 hours", "1 day", "1 second 500 milliseconds" (an optional leading "interval"; units from
/// microseconds to weeks; a leading '-' negates an amount). The error names the text.
/// Thread-safe.
Result<int64_t> parse_duration(std::string_view text);

/// Returns the batch with two TIMESTAMP columns appended, named "window.start" and
/// "window.end" (Spark's window struct fields), one output row per window containing the
/// row's event time: sliding windows repeat a row ceil(size / slide) times (fewer when the size
/// is not a multiple of the slide and a candidate window does not contain the time), rows in
/// input order and each row's windows from the latest start to the earliest, as Spark's Expand
/// emits them. Window start = t - ((t - offset) mod slide) - k * slide with a non-negative mod,
/// as Spark computes it (negative times included). Rows with a null event time are dropped
/// (Spark drops them). Without null times, tumbling windows reuse the input columns. Times
/// within 2^62 µs of the int64 limits may wrap. Thread-safe.
Result<RecordBatchPtr> assign_windows(const RecordBatch& batch, int time_column,
                                      const WindowDefinition& window);

/// Returns the schema assign_windows produces: input's fields, then "window.start" and
/// "window.end" (TIMESTAMP NOT NULL); fails when input already has one of those names.
/// Thread-safe.
Result<SchemaPtr> windowed_schema(const Schema& input);

}  // namespace sluice
