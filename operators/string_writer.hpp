#pragma once

#include <cstring>
#include <memory>
#include <string_view>

#include "core/buffer.hpp"
#include "core/column.hpp"

namespace sluice {

/// Writes a STRING column of a known number of rows, one row after the other, into one offsets
/// and one data buffer. Not thread-safe; one writer per kernel call.
class StringColumnWriter {
 public:
  explicit StringColumnWriter(int64_t length, int64_t data_capacity = 0)
      : length_(length),
        offsets_(Buffer::allocate((length + 1) * 8)),
        data_(Buffer::allocate(data_capacity)) {
    data_->set_size(0);
  }

  /// Appends the next row's bytes (an empty string for a null row).
  void append(std::string_view text) {
    char* out = reserve(static_cast<int64_t>(text.size()));
    if (!text.empty()) std::memcpy(out, text.data(), text.size());
    commit(static_cast<int64_t>(text.size()));
  }

  /// Returns room for size bytes of the next row; commit(used) finishes the row.
  char* reserve(int64_t size) {
    if (size_ + size > data_->size()) {
      // Buffer::resize doubles the allocation, so appends stay amortized O(1).
      data_->resize(size_ + size);
    }
    return reinterpret_cast<char*>(data_->mutable_data()) + size_;
  }
  void commit(int64_t used) {
    size_ += used;
    offsets_->mutable_as<int64_t>()[++row_] = size_;
  }

  /// Returns the column; every row must have been appended.
  ColumnPtr finish(BufferPtr validity) {
    data_->set_size(size_);
    return Column::make_unchecked(Type::String, length_, std::move(offsets_), std::move(validity),
                                  std::move(data_));
  }

 private:
  int64_t length_;
  int64_t row_ = 0;
  int64_t size_ = 0;
  std::shared_ptr<Buffer> offsets_;
  std::shared_ptr<Buffer> data_;
};

}  // namespace sluice
