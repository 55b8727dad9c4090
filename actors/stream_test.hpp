#pragma once

#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "actors/session.hpp"

namespace sluice::testing {

// A public harness in the shape of Spark's StreamTest: a list of actions run in order against
// a query written to a memory sink, each checked, with a manual clock for deterministic time.

using Rows = std::vector<std::vector<Value>>;

struct AddData {
  MemoryStream* source;
  Rows rows;
};
struct CheckAnswer {
  Rows rows;
};
struct CheckNewAnswer {
  Rows rows;
};
struct CheckLastBatch {
  Rows rows;
};
struct StopStream {};
struct StartStream {
  Trigger trigger;
  std::shared_ptr<ManualClock> clock;
};
struct AdvanceManualClock {
  int64_t milliseconds;
};
struct ProcessAllAvailable {};
struct ExpectFailure {
  StatusCode code;
  std::string message_part;
};
struct AssertOnQuery {
  std::function<bool(StreamingQuery&)> check;
  std::string message;
};

using StreamAction = std::variant<AddData, CheckAnswer, CheckNewAnswer, CheckLastBatch, StopStream,
                                  StartStream, AdvanceManualClock, ProcessAllAvailable,
                                  ExpectFailure, AssertOnQuery>;

/// Adds rows to a MemoryStream (the query picks them up at its next epoch).
inline StreamAction add_data(MemoryStream& source, Rows rows) { return AddData{&source, std::move(rows)}; }
/// Processes everything available, then compares the whole result (Append and Update: every
/// row emitted so far; Complete: the last epoch's rows) with `rows`, ignoring order.
inline StreamAction check_answer(Rows rows) { return CheckAnswer{std::move(rows)}; }
/// Like check_answer, for the rows emitted since the previous check only.
inline StreamAction check_new_answer(Rows rows) { return CheckNewAnswer{std::move(rows)}; }
/// Compares the rows of the last epoch with `rows`, ignoring order.
inline StreamAction check_last_batch(Rows rows) { return CheckLastBatch{std::move(rows)}; }
/// Stops the query (the next start_stream resumes from its checkpoint).
inline StreamAction stop_stream() { return StopStream{}; }
/// (Re)starts the query; with a clock, interval triggers and the rate source follow it.
inline StreamAction start_stream(Trigger trigger = Trigger::ProcessingTime(std::chrono::milliseconds(0)),
                                 std::shared_ptr<ManualClock> clock = nullptr) {
  return StartStream{trigger, std::move(clock)};
}
/// Moves the manual clock and waits for the epoch it triggers.
inline StreamAction advance_manual_clock(int64_t milliseconds) { return AdvanceManualClock{milliseconds}; }
inline StreamAction process_all_available() { return ProcessAllAvailable{}; }
/// Expects the query to fail with `code` and a message containing `message_part`.
inline StreamAction expect_failure(StatusCode code, std::string message_part = "") {
  return ExpectFailure{code, std::move(message_part)};
}
/// Runs `check` on the query; fails with `message` when it returns false.
inline StreamAction assert_on_query(std::function<bool(StreamingQuery&)> check, std::string message) {
  return AssertOnQuery{std::move(check), std::move(message)};
}

/// Runs the actions in order against `frame` written in `mode` to a memory sink, starting the
/// query first unless the first action is start_stream. The query's checkpoint lives in a
/// temporary directory for the whole test, so stop_stream/start_stream resume. Returns ok, or
/// an error naming the failing action (its index) with the expected and actual rows.
Status test_stream(Session& session, const DataFrame& frame, OutputMode mode,
                   std::vector<StreamAction> actions);

}  // namespace sluice::testing
