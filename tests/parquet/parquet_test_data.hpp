#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/record_batch.hpp"

namespace sluice::testing {

/// Returns the schema the Parquet tests write: every Sluice type, nullable and not.
inline SchemaPtr parquet_test_schema() {
  return Schema::make({{"id", Type::Int64, false},
                       {"i", Type::Int64, true},
                       {"d", Type::Double, true},
                       {"s", Type::String, true},
                       {"u", Type::String, true},
                       {"b", Type::Bool, true},
                       {"t", Type::Timestamp, true}})
      .value();
}

/// Builds rows [first, first + count) of the test data from a seed: ids ascending, ~10% nulls,
/// a low-cardinality string column `s` (dictionary-friendly) and a unique one `u`, strings with
/// quotes, tabs, newlines and non-ASCII text, extreme integers and pre-1970 timestamps.
inline RecordBatchPtr parquet_test_batch(int64_t first, int64_t count, uint32_t seed) {
  std::mt19937_64 random(seed * 1000003ull + static_cast<uint64_t>(first));
  static const std::vector<std::string> words = {"alpha",        "",           "b\u00e9ta",
                                                 "\u65e5\u672c", "quote\"d",   "tab\there",
                                                 "line\nbreak",  "back\\slash"};
  RecordBatchBuilder builder(parquet_test_schema());
  auto null_now = [&] { return random() % 10 == 0; };
  for (int64_t row = first; row < first + count; ++row) {
    builder.column(0).append_int64(row);
    if (null_now()) {
      builder.column(1).append_null();
    } else if (row % 997 == 1) {
      builder.column(1).append_int64(row % 2 ? INT64_MAX : INT64_MIN);
    } else {
      builder.column(1).append_int64(static_cast<int64_t>(random() % 2000001) - 1000000);
    }
    if (null_now()) {
      builder.column(2).append_null();
    } else {
      builder.column(2).append_double((static_cast<double>(random() % 2000001) - 1e6) / 7.0);
    }
    if (null_now()) {
      builder.column(3).append_null();
    } else {
      builder.column(3).append_string(words[random() % words.size()]);
    }
    if (null_now()) {
      builder.column(4).append_null();
    } else {
      builder.column(4).append_string("unique-" + std::to_string(row * 7919 % 1000003) + "-" +
                                      std::to_string(random() % 100000));
    }
    if (null_now()) {
      builder.column(5).append_null();
    } else {
      builder.column(5).append_bool(random() % 3 == 0);
    }
    if (null_now()) {
      builder.column(6).append_null();
    } else {
      builder.column(6).append_timestamp(static_cast<int64_t>(random() % 4000000000000000ull) -
                                         1000000000000000ll);
    }
  }
  return builder.finish().value();
}

}  // namespace sluice::testing
