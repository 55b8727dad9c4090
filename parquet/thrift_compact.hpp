#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

/// Encodes and decodes Thrift's compact protocol, the subset Parquet metadata uses: structs,
/// lists, bools, i8/i16/i32/i64 (zigzag varints), doubles and binary. No sets or maps are
/// written; unknown fields of any type are skipped when reading.
namespace sluice::parquet::thrift {

/// Names the wire types of the compact protocol.
enum class WireType : uint8_t {
  stop = 0,
  bool_true = 1,
  bool_false = 2,
  i8 = 3,
  i16 = 4,
  i32 = 5,
  i64 = 6,
  double_ = 7,
  binary = 8,
  list = 9,
  set = 10,
  map = 11,
  struct_ = 12,
};

/// Appends compact-protocol bytes to a string. Not thread-safe. Callers pair every
/// `begin_struct` with `end_struct`, and write fields in increasing id order within a struct.
class CompactWriter {
 public:
  explicit CompactWriter(std::string& out) : out_(out) {}

  void begin_struct();
  void end_struct();

  void field_bool(int16_t id, bool value);
  void field_i32(int16_t id, int32_t value);
  void field_i64(int16_t id, int64_t value);
  void field_binary(int16_t id, std::string_view value);
  /// Writes the header of a struct field and opens the struct.
  void field_struct(int16_t id);
  /// Writes the header of a list field; the caller then writes `size` elements.
  void field_list(int16_t id, WireType element_type, int64_t size);

  void element_i32(int32_t value) { write_varint(zigzag(value)); }
  void element_i64(int64_t value) { write_varint(zigzag(value)); }
  void element_binary(std::string_view value);

 private:
  static uint64_t zigzag(int64_t value) {
    return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  }
  void write_varint(uint64_t value);
  void field_header(int16_t id, WireType type);

  std::string& out_;
  std::vector<int16_t> enclosing_last_ids_;
  int16_t last_id_ = 0;
};

/// Reads compact-protocol bytes from a bounded range. Every read checks the bounds and the wire
/// type, so corrupt input yields a `corrupt` Status naming the field, never a crash.
class CompactReader {
 public:
  CompactReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  /// Reads one struct, calling on_field for each field; on_field must consume the field's
  /// value with one of the read_* calls or `skip`. Nesting deeper than 32 structs is refused.
  Status read_struct(const std::function<Status(int16_t id, WireType type)>& on_field);

  Result<bool> read_bool(WireType type);
  Result<int32_t> read_i32(WireType type);
  Result<int64_t> read_i64(WireType type);
  Result<double> read_double(WireType type);
  Result<std::string> read_binary(WireType type);
  /// Reads a list header; checks that size elements can fit in the remaining bytes.
  Status read_list_header(WireType type, WireType& element_type, int64_t& size);
  /// Reads one list element of a scalar type (bool, integers, binary).
  Result<int64_t> read_integer_element(WireType element_type);
  Result<std::string> read_binary_element(WireType element_type);
  /// Skips a value of the given type, including nested structs and containers.
  Status skip(WireType type);

  size_t position() const { return position_; }

 private:
  Result<uint64_t> read_varint();
  Status skip_at_depth(WireType type, int depth);
  Status read_struct_at_depth(const std::function<Status(int16_t, WireType)>& on_field, int depth);

  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
  int depth_ = 0;
};

}  // namespace sluice::parquet::thrift
