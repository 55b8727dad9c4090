#pragma once

#include <cstdint>
#include <cstring>
#include <memory>

namespace sluice {

/// Owns (or borrows, with a keep-alive owner) a contiguous block of bytes. Allocated blocks are
/// 64-byte aligned and padded to a multiple of 64 bytes, zero-filled, so vectorized loops may
/// read whole words past the logical end. A Buffer is mutable only until it is shared as
/// `std::shared_ptr<const Buffer>`.
class Buffer {
 public:
  /// Allocates size bytes, zero-filled.
  static std::shared_ptr<Buffer> allocate(int64_t size);

  /// Allocates size bytes for a caller that writes every one of them (kernels, gathers): only
  /// the padding past `size` is zeroed, saving a pass over the memory.
  static std::shared_ptr<Buffer> allocate_for_overwrite(int64_t size);

  /// Wraps memory owned elsewhere; owner keeps it alive as long as the buffer lives.
  static std::shared_ptr<const Buffer> wrap(const void* data, int64_t size,
                                            std::shared_ptr<const void> owner);

  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  const uint8_t* data() const { return data_; }
  uint8_t* mutable_data() { return data_; }
  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }

  template <typename T>
  const T* as() const { return reinterpret_cast<const T*>(data_); }
  template <typename T>
  T* mutable_as() { return reinterpret_cast<T*>(data_); }

  /// Changes the logical size, growing the allocation (amortized doubling) when needed;
  /// new bytes are zero. Only for buffers this object allocated.
  void resize(int64_t size);

  /// Sets the logical size without touching the allocation; size must not exceed capacity.
  void set_size(int64_t size) { size_ = size; }

 private:
  Buffer() = default;
  uint8_t* data_ = nullptr;
  int64_t size_ = 0;
  int64_t capacity_ = 0;
  bool owned_ = false;
  std::shared_ptr<const void> owner_;
};

using BufferPtr = std::shared_ptr<const Buffer>;

}  // namespace sluice
