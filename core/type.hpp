#pragma once

#include <cstdint>
#include <iosfwd>
#include <string_view>

namespace sluice {

/// Names the logical type of a column. Every column is nullable through a validity bitmap.
enum class Type : uint8_t {
  Bool,       ///< one byte per value, 0 or 1
  Int64,      ///< signed 64-bit integer
  Double,     ///< IEEE 754 double
  String,     ///< UTF-8 bytes, int64 offsets into one data buffer
  Timestamp,  ///< microseconds since the Unix epoch, UTC, stored as int64
};

inline constexpr int kNumTypes = 5;

/// Returns the SQL-style name of a type: BOOLEAN, BIGINT, DOUBLE, STRING, TIMESTAMP.
std::string_view type_name(Type type);

/// Prints the type's name.
std::ostream& operator<<(std::ostream& out, Type type);

/// Returns true for types whose values are stored as fixed-width int64 (Int64, Timestamp).
constexpr bool is_int64_backed(Type type) { return type == Type::Int64 || type == Type::Timestamp; }

/// Returns true for Int64 and Double.
constexpr bool is_numeric(Type type) { return type == Type::Int64 || type == Type::Double; }

/// Returns the width in bytes of one value in the values buffer (strings: one offset).
constexpr int value_width(Type type) { return type == Type::Bool ? 1 : 8; }

}  // namespace sluice
