#pragma once

// The user functions the tests of map_groups_with_state / flat_map_groups_with_state share
// (operator, query, crash recovery). Sessionization with an event-time timeout: events (user
// STRING, ts TIMESTAMP, v BIGINT) become sessions (user, start, last, count, sum), a session
// closing once an event comes more than `gap` after its last one or the watermark passes last +
// gap; and the reference computation of the same sessions from all events at once.

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "operators/flat_map_groups_with_state.hpp"

namespace sluice::testing {

struct SessionTotals {
  int64_t start = 0;
  int64_t last = 0;
  int64_t count = 0;
  int64_t sum = 0;
};

inline SchemaPtr session_events_schema() {
  return Schema::make({{"user", Type::String}, {"ts", Type::Timestamp}, {"v", Type::Int64}})
      .value();
}

inline SchemaPtr sessions_schema() {
  return Schema::make({{"user", Type::String},
                       {"start", Type::Timestamp},
                       {"last", Type::Timestamp},
                       {"count", Type::Int64},
                       {"sum", Type::Int64}})
      .value();
}

/// Returns the flat_map_groups_with_state function of sessions with an event-time gap (µs).
inline auto session_function(int64_t gap) {
  return [gap](const std::vector<Value>& key, const RecordBatchPtr& rows,
               GroupState<SessionTotals>& state) {
    std::vector<OutputRow> out;
    auto emit = [&](const SessionTotals& s) {
      out.push_back({key[0], Timestamp{s.start}, Timestamp{s.last}, s.count, s.sum});
    };
    if (state.has_timed_out()) {
      emit(state.get());
      state.remove();
      return out;
    }
    // In time order; a row past the open session's deadline closes it first (a group with
    // rows is called for them even when its timeout has also expired, as in Spark).
    std::vector<std::pair<int64_t, int64_t>> events;
    for (int64_t r = 0; r < rows->num_rows(); ++r) {
      events.push_back(
          {rows->column(1)->values<int64_t>()[r], rows->column(2)->values<int64_t>()[r]});
    }
    std::sort(events.begin(), events.end());
    std::optional<SessionTotals> open = state.get_option();
    for (const auto& [ts, v] : events) {
      if (open && ts > open->last + gap) {
        emit(*open);
        open.reset();
      }
      if (!open) open = SessionTotals{ts, ts, 0, 0};
      open->start = std::min(open->start, ts);  // rows of an earlier epoch may be later
      open->last = std::max(open->last, ts);
      ++open->count;
      open->sum += v;
    }
    state.update(*open);
    state.set_timeout_timestamp(open->last + gap);
    return out;
  };
}

inline SchemaPtr expiring_counts_schema() {
  return Schema::make({{"user", Type::String}, {"count", Type::Int64}, {"expired", Type::Bool}})
      .value();
}

/// Returns the map_groups_with_state function that counts each user's events and expires a
/// user silent for 10 s of processing time: (user, count, false) per call with rows, (user,
/// count, true) at the timeout.
inline auto expiring_count_function() {
  return [](const std::vector<Value>& key, const RecordBatchPtr& rows,
            GroupState<int64_t>& state) -> OutputRow {
    if (state.has_timed_out()) {
      const int64_t count = state.get();
      state.remove();
      return {key[0], count, true};
    }
    const int64_t count = state.get_option().value_or(0) + rows->num_rows();
    state.update(count);
    state.set_timeout_duration(std::chrono::seconds(10));
    return {key[0], count, false};
  };
}

/// Computes the sessions of all events at once: every user's events in time order, cut where
/// an event comes more than `gap` after the session's last one.
inline std::vector<std::vector<Value>> reference_sessions(
    const std::vector<std::vector<Value>>& events, int64_t gap) {
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> by_user;
  for (const auto& row : events) {
    by_user[row[0].as_string()].push_back({row[1].as_timestamp().micros, row[2].as_int64()});
  }
  std::vector<std::vector<Value>> out;
  for (auto& [user, list] : by_user) {
    std::sort(list.begin(), list.end());
    std::optional<SessionTotals> open;
    for (const auto& [ts, v] : list) {
      if (open && ts > open->last + gap) {
        out.push_back(
            {user, Timestamp{open->start}, Timestamp{open->last}, open->count, open->sum});
        open.reset();
      }
      if (!open) open = SessionTotals{ts, ts, 0, 0};
      open->last = ts;
      ++open->count;
      open->sum += v;
    }
    if (open)
      out.push_back({user, Timestamp{open->start}, Timestamp{open->last}, open->count, open->sum});
  }
  return out;
}

}  // namespace sluice::testing
