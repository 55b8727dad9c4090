#pragma once

// Shared by the join tests (operator and runtime): two random streams (key, event time, value)
// arriving out of order within a delay, and the same join computed as a batch over all rows.

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/record_batch.hpp"
#include "operators/stream_join.hpp"

namespace sluice::testing {

using JoinRow = std::vector<Value>;
using JoinRows = std::vector<JoinRow>;

inline constexpr int64_t kJoinSecond = 1'000'000;
/// The condition of the tests' joins: rts BETWEEN lts AND lts + 10 seconds.
inline constexpr int64_t kJoinBound = 10 * kJoinSecond;

inline SchemaPtr join_left_schema() {
  return Schema::make({{"k", Type::Int64}, {"lts", Type::Timestamp}, {"lv", Type::String}}).value();
}
inline SchemaPtr join_right_schema() {
  return Schema::make({{"k", Type::Int64}, {"rts", Type::Timestamp}, {"rv", Type::Int64}}).value();
}
inline Expr join_range_condition() {
  return col("rts") >= col("lts") && col("rts") <= col("lts") + interval("10 seconds");
}

/// One row of one side (0 left, 1 right) and when it arrives.
struct JoinEvent {
  int side;
  JoinRow row;
  int64_t arrival;
};

inline int64_t join_time_of(const JoinRow& row) { return row[1].as_timestamp().micros; }

/// Returns rows_per_side rows per side with keys 0..max_key (null_percent of them null) and
/// whole-second event times in [0, max_seconds], in an arrival order where a row comes at most
/// `delay` µs after rows with a later event time.
inline std::vector<JoinEvent> random_join_events(std::mt19937_64& random, int rows_per_side, int64_t max_seconds,
                                                 int64_t max_key, int null_percent, int64_t delay) {
  std::vector<JoinEvent> events;
  std::uniform_int_distribution<int64_t> time(0, max_seconds);
  std::uniform_int_distribution<int64_t> key(0, max_key);
  std::uniform_int_distribution<int64_t> jitter(0, delay);
  std::uniform_int_distribution<int> percent(0, 99);
  for (int side = 0; side < 2; ++side) {
    for (int i = 0; i < rows_per_side; ++i) {
      const int64_t ts = time(random) * kJoinSecond;
      Value k = percent(random) < null_percent ? Value() : Value(key(random));
      JoinRow row = side == 0 ? JoinRow{k, Value(Timestamp{ts}), Value("l" + std::to_string(i))}
                              : JoinRow{k, Value(Timestamp{ts}), Value(int64_t{i})};
      events.push_back({side, std::move(row), ts + jitter(random)});
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const JoinEvent& a, const JoinEvent& b) { return a.arrival < b.arrival; });
  return events;
}

/// Adds events [begin, end) to the two streams in arrival order, one add_data per run of rows
/// of one side. A query running meanwhile may start an epoch after any of these calls; each
/// then holds a prefix of the arrival order, where no row is behind the watermark. (Adding a
/// range's left rows, then its right rows, let an epoch see left rows that arrived after right
/// rows still to come, and drop those right rows as late.)
template <typename Stream>
[[nodiscard]] Status add_in_arrival_order(Stream& left, Stream& right, const std::vector<JoinEvent>& events,
                                          size_t begin, size_t end) {
  size_t run = begin;
  while (run < end) {
    const int side = events[run].side;
    JoinRows rows;
    size_t i = run;
    for (; i < end && events[i].side == side; ++i) rows.push_back(events[i].row);
    SLUICE_RETURN_NOT_OK((side == 0 ? left : right).add_data(rows));
    run = i;
  }
  return Status::ok();
}

/// Computes the join of all events' rows as a batch: pairs with equal non-null keys (and, with
/// the condition, right time within [left time, left time + kJoinBound]), plus unmatched rows
/// with nulls per the type; sorted.
inline JoinRows reference_join(JoinType type, const std::vector<JoinEvent>& events, bool with_condition = true) {
  std::vector<const JoinRow*> left;
  std::vector<const JoinRow*> right;
  for (const auto& event : events) (event.side == 0 ? left : right).push_back(&event.row);
  auto matches = [&](const JoinRow& l, const JoinRow& r) {
    if (l[0].is_null() || r[0].is_null() || !(l[0] == r[0])) return false;
    return !with_condition ||
           (join_time_of(r) >= join_time_of(l) && join_time_of(r) <= join_time_of(l) + kJoinBound);
  };
  JoinRows out;
  std::vector<bool> right_matched(right.size(), false);
  for (const JoinRow* l : left) {
    bool matched = false;
    for (size_t j = 0; j < right.size(); ++j) {
      if (!matches(*l, *right[j])) continue;
      matched = true;
      right_matched[j] = true;
      if (type != JoinType::left_semi) out.push_back({(*l)[0], (*l)[1], (*l)[2], (*right[j])[1], (*right[j])[2]});
    }
    if (type == JoinType::left_semi && matched) out.push_back(*l);
    if (!matched && (type == JoinType::left_outer || type == JoinType::full_outer)) {
      out.push_back({(*l)[0], (*l)[1], (*l)[2], Value(), Value()});
    }
  }
  if (type == JoinType::right_outer || type == JoinType::full_outer) {
    for (size_t j = 0; j < right.size(); ++j) {
      if (!right_matched[j]) out.push_back({(*right[j])[0], Value(), Value(), (*right[j])[1], (*right[j])[2]});
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::testing
