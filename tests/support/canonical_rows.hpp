#pragma once

// Renders query output the way the tests' DuckDB queries print it, so that both sides compare
// as strings.

#include <cmath>
#include <string>
#include <vector>

#include "core/record_batch.hpp"

namespace sluice::testing {

using CanonicalRow = std::vector<std::string>;

/// Renders one cell: integers and timestamps (µs) in decimal, doubles as round(x * 1000),
/// strings as they are, booleans as true/false, null as "null".
inline std::string canonical_cell(const Column& column, int64_t row) {
  if (column.is_null(row)) return "null";
  switch (column.type()) {
    case Type::Int64:
    case Type::Timestamp:
      return std::to_string(column.values<int64_t>()[row]);
    case Type::Double:
      return std::to_string(std::llround(column.values<double>()[row] * 1000));
    case Type::String:
      return std::string(column.string_at(row));
    case Type::Bool:
      return column.values<uint8_t>()[row] ? "true" : "false";
  }
  return "?";
}

/// Appends every row of `batch`, rendered cell by cell, to `rows`.
inline void append_canonical_rows(const RecordBatch& batch, std::vector<CanonicalRow>& rows) {
  for (int64_t r = 0; r < batch.num_rows(); ++r) {
    CanonicalRow row;
    for (int c = 0; c < batch.num_columns(); ++c) row.push_back(canonical_cell(*batch.column(c), r));
    rows.push_back(std::move(row));
  }
}

}  // namespace sluice::testing
