#pragma once

// The rows and the reference of the OVER tests: each row's frame, computed straight from the
// definition.

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "core/schema.hpp"
#include "core/value.hpp"

namespace sluice::testing {

/// Returns the schema of the OVER tests' rows: partition key k, event time ts, a unique id (the
/// tie-breaker), a nullable BIGINT v and a DOUBLE d.
inline SchemaPtr over_events_schema() {
  return Schema::make({{"k", Type::Int64},
                       {"ts", Type::Timestamp},
                       {"id", Type::Int64},
                       {"v", Type::Int64},
                       {"d", Type::Double}})
      .value();
}

/// Returns, for every row of `rows` (columns k BIGINT, ts TIMESTAMP, id BIGINT, ...), the row
/// and its frame: the rows of its k ordered by (ts, id), from `preceding` rows before it (all
/// of them when negative) to itself.
inline std::vector<std::pair<std::vector<Value>, std::vector<std::vector<Value>>>> over_frames(
    const std::vector<std::vector<Value>>& rows, int64_t preceding) {
  std::map<int64_t, std::vector<std::vector<Value>>> by_key;
  for (const auto& row : rows)
    by_key[row[0].as_int64()].push_back(row);
  std::vector<std::pair<std::vector<Value>, std::vector<std::vector<Value>>>> out;
  for (auto& [key, ordered] : by_key) {
    std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
      return std::make_pair(a[1].as_timestamp().micros, a[2].as_int64()) <
             std::make_pair(b[1].as_timestamp().micros, b[2].as_int64());
    });
    for (size_t i = 0; i < ordered.size(); ++i) {
      const size_t first = preceding < 0 || static_cast<int64_t>(i) < preceding
                               ? 0
                               : i - static_cast<size_t>(preceding);
      out.emplace_back(ordered[i], std::vector<std::vector<Value>>(
                                       ordered.begin() + static_cast<std::ptrdiff_t>(first),
                                       ordered.begin() + static_cast<std::ptrdiff_t>(i) + 1));
    }
  }
  return out;
}

}  // namespace sluice::testing
