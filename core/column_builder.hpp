#pragma once

#include <memory>
#include <string_view>

#include "core/buffer.hpp"
#include "core/column.hpp"

namespace sluice {

/// Builds a column one value at a time. Not thread-safe; `finish` leaves the builder empty and
/// ready for the next column of the same type.
class ColumnBuilder {
 public:
  explicit ColumnBuilder(Type type);

  Type type() const { return type_; }
  int64_t length() const { return length_; }

  /// Reserves room for `rows` more rows (strings: offsets only).
  void reserve(int64_t rows);

  void append_null();
  void append_bool(bool v) { append_fixed<uint8_t>(v ? 1 : 0); }
  void append_int64(int64_t v) { append_fixed<int64_t>(v); }
  void append_double(double v) { append_fixed<double>(v); }
  void append_timestamp(int64_t micros) { append_fixed<int64_t>(micros); }
  void append_string(std::string_view v);

  /// Appends a Value; fails when its type differs from the builder's (Int64 is accepted for
  /// Double and Timestamp columns, as a literal would be).
  [[nodiscard]] Status append_value(const Value& value);

  /// Returns the built column and resets the builder.
  ColumnPtr finish();

 private:
  template <typename T>
  void append_fixed(T v) {
    grow_for_one();
    values_->mutable_as<T>()[length_] = v;
    mark_valid();
  }
  void grow_for_one();
  void mark_valid();

  Type type_;
  int64_t length_ = 0;
  int64_t capacity_ = 0;
  int64_t data_size_ = 0;
  bool has_null_ = false;
  std::shared_ptr<Buffer> values_;
  std::shared_ptr<Buffer> validity_;
  std::shared_ptr<Buffer> data_;
};

}  // namespace sluice
