#include "core/buffer.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace sluice {

namespace {

constexpr int64_t kAlignment = 64;

int64_t padded(int64_t size) { return (size + kAlignment - 1) / kAlignment * kAlignment; }

uint8_t* allocate_zeroed(int64_t capacity) {
  void* memory = std::aligned_alloc(kAlignment, static_cast<size_t>(capacity));
  if (memory == nullptr) throw std::bad_alloc();
  std::memset(memory, 0, static_cast<size_t>(capacity));
  return static_cast<uint8_t*>(memory);
}

}  // namespace

std::shared_ptr<Buffer> Buffer::allocate(int64_t size) {
  std::shared_ptr<Buffer> buffer(new Buffer());
  // Eight spare bytes let word-at-a-time bitmap reads run past the last byte safely.
  buffer->capacity_ = padded(size + 8);
  buffer->data_ = allocate_zeroed(buffer->capacity_);
  buffer->size_ = size;
  buffer->owned_ = true;
  return buffer;
}

std::shared_ptr<Buffer> Buffer::allocate_for_overwrite(int64_t size) {
  std::shared_ptr<Buffer> buffer(new Buffer());
  buffer->capacity_ = padded(size + 8);
  void* memory = std::aligned_alloc(kAlignment, static_cast<size_t>(buffer->capacity_));
  if (memory == nullptr) throw std::bad_alloc();
  buffer->data_ = static_cast<uint8_t*>(memory);
  const int64_t used = std::max<int64_t>(size, 0);
  std::memset(buffer->data_ + used, 0, static_cast<size_t>(buffer->capacity_ - used));
  buffer->size_ = size;
  buffer->owned_ = true;
  return buffer;
}

std::shared_ptr<const Buffer> Buffer::wrap(const void* data, int64_t size,
                                           std::shared_ptr<const void> owner) {
  std::shared_ptr<Buffer> buffer(new Buffer());
  buffer->data_ = const_cast<uint8_t*>(static_cast<const uint8_t*>(data));
  buffer->size_ = size;
  buffer->capacity_ = size;
  buffer->owner_ = std::move(owner);
  return buffer;
}

Buffer::~Buffer() {
  if (owned_) std::free(data_);
}

void Buffer::resize(int64_t size) {
  if (size > capacity_) {
    int64_t capacity = padded(std::max(size, capacity_ * 2) + 8);
    uint8_t* data = allocate_zeroed(capacity);
    std::memcpy(data, data_, static_cast<size_t>(size_));
    if (owned_) std::free(data_);
    data_ = data;
    capacity_ = capacity;
    owned_ = true;
  } else if (size < size_ && owned_) {
    // Keep the padding promise: bytes past the logical end read as zero.
    std::memset(data_ + size, 0, static_cast<size_t>(size_ - size));
  } else if (size > size_ && owned_) {
    // set_size may have shrunk the buffer without clearing, so the regained bytes can be stale.
    std::memset(data_ + size_, 0, static_cast<size_t>(size - size_));
  }
  size_ = size;
}

}  // namespace sluice
