#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/bitmap.hpp"
#include "core/buffer.hpp"
#include "core/status.hpp"
#include "core/type.hpp"
#include "core/value.hpp"

namespace sluice {

class Column;
using ColumnPtr = std::shared_ptr<const Column>;

/// Holds one column of values of a single type: a contiguous values buffer (one byte per BOOL,
/// eight per INT64 / DOUBLE / TIMESTAMP, `length + 1` int64 offsets for STRING with the bytes in
/// a data buffer) and an optional validity bitmap (absent = no nulls). Immutable and shared by
/// pointer; slices share the buffers of their parent. Safe to read from many threads.
class Column {
 public:
  /// Builds a column over existing buffers at `offset` rows into them; verifies that every
  /// buffer is large enough and, for strings, that offsets are monotonic and inside the data.
  static Result<ColumnPtr> make(Type type, int64_t length, BufferPtr values, BufferPtr validity,
                                BufferPtr data = nullptr, int64_t offset = 0);

  /// Builds a column without verification. For kernels that sized the buffers themselves.
  static ColumnPtr make_unchecked(Type type, int64_t length, BufferPtr values, BufferPtr validity,
                                  BufferPtr data = nullptr, int64_t offset = 0);

  /// Builds a column of length nulls.
  static ColumnPtr make_null(Type type, int64_t length);

  /// Builds a column holding value repeated length times (null when value is null).
  static Result<ColumnPtr> make_constant(Type type, const Value& value, int64_t length);

  Type type() const { return type_; }
  int64_t length() const { return length_; }
  int64_t offset() const { return offset_; }
  int64_t null_count() const { return null_count_; }
  bool has_nulls() const { return null_count_ > 0; }

  bool is_valid(int64_t i) const {
    return validity_ == nullptr || bitmap::get(validity_->data(), offset_ + i);
  }
  bool is_null(int64_t i) const { return !is_valid(i); }

  /// Returns the fixed-width values, already advanced by the column's offset.
  template <typename T>
  const T* values() const { return values_->as<T>() + offset_; }

  /// Returns the raw validity bits (nullptr when there are no nulls); bit offset() is row 0.
  const uint8_t* validity_bits() const { return validity_ ? validity_->data() : nullptr; }

  /// Returns the string at row i (undefined for null rows).
  std::string_view string_at(int64_t i) const {
    const int64_t* offsets = values_->as<int64_t>() + offset_;
    return {reinterpret_cast<const char*>(data_->data()) + offsets[i],
            static_cast<size_t>(offsets[i + 1] - offsets[i])};
  }

  /// Returns row i as a Value (null when invalid). For tests and printing, not hot paths.
  Value value_at(int64_t i) const;

  /// Returns rows [offset, offset + length) without copying.
  ColumnPtr slice(int64_t offset, int64_t length) const;

  /// Returns the rows at the given indices, in order, as a new column.
  ColumnPtr take(const int32_t* indices, int64_t count) const;

  const BufferPtr& values_buffer() const { return values_; }
  const BufferPtr& validity_buffer() const { return validity_; }
  const BufferPtr& data_buffer() const { return data_; }

 private:
  Column(Type type, int64_t length, int64_t offset, BufferPtr values, BufferPtr validity,
         BufferPtr data);
  Type type_;
  int64_t length_;
  int64_t offset_;
  int64_t null_count_ = 0;
  BufferPtr values_;
  BufferPtr validity_;
  BufferPtr data_;
};

}  // namespace sluice
