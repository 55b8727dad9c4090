#define BOOST_TEST_MODULE buffer
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "core/buffer.hpp"

using namespace sluice;

namespace {

bool all_zero(const uint8_t* data, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    if (data[i] != 0) return false;
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(allocation_is_64_byte_aligned_padded_and_zero_filled) {
  for (int64_t size : {0, 1, 7, 8, 55, 56, 57, 63, 64, 65, 1000, 4096}) {
    auto buffer = Buffer::allocate(size);
    BOOST_TEST(buffer->size() == size);
    BOOST_TEST(reinterpret_cast<uintptr_t>(buffer->data()) % 64 == 0u, "size " << size);
    BOOST_TEST(buffer->capacity() % 64 == 0, "size " << size);
    // Word-at-a-time readers rely on at least eight readable bytes past the end.
    BOOST_TEST(buffer->capacity() >= size + 8, "size " << size);
    BOOST_TEST(all_zero(buffer->data(), 0, buffer->capacity()), "size " << size);
  }
}

BOOST_AUTO_TEST_CASE(typed_views_read_what_was_written) {
  auto buffer = Buffer::allocate(4 * 8);
  int64_t* values = buffer->mutable_as<int64_t>();
  for (int i = 0; i < 4; ++i)
    values[i] = int64_t{1} << (i * 20);
  const Buffer& view = *buffer;
  BOOST_TEST(view.as<int64_t>()[3] == int64_t{1} << 60);
  BOOST_TEST(static_cast<const void*>(view.data()) == buffer->mutable_data());
}

BOOST_AUTO_TEST_CASE(resize_grows_preserving_contents_and_zeroing_new_bytes) {
  auto buffer = Buffer::allocate(10);
  for (int i = 0; i < 10; ++i)
    buffer->mutable_data()[i] = static_cast<uint8_t>(i + 1);
  for (int64_t size : {20, 100, 1000, 100000}) {
    buffer->resize(size);
    BOOST_TEST(buffer->size() == size);
    BOOST_TEST(buffer->capacity() >= size + 8);
    BOOST_TEST(reinterpret_cast<uintptr_t>(buffer->data()) % 64 == 0u);
    for (int i = 0; i < 10; ++i)
      BOOST_TEST(buffer->data()[i] == i + 1);
    BOOST_TEST(all_zero(buffer->data(), 10, buffer->capacity()));
  }
}

BOOST_AUTO_TEST_CASE(resize_growth_is_amortized) {
  auto buffer = Buffer::allocate(0);
  int reallocations = 0;
  const uint8_t* last = buffer->data();
  for (int64_t size = 1; size <= 100000; ++size) {
    buffer->resize(size);
    if (buffer->data() != last) ++reallocations;
    last = buffer->data();
  }
  // Doubling from 64 bytes to 100 kB takes about 11 steps; linear growth would take thousands.
  BOOST_TEST(reallocations <= 16);
}

BOOST_AUTO_TEST_CASE(shrinking_clears_the_bytes_past_the_new_end) {
  auto buffer = Buffer::allocate(64);
  std::memset(buffer->mutable_data(), 0xab, 64);
  buffer->resize(10);
  BOOST_TEST(buffer->size() == 10);
  BOOST_TEST(buffer->data()[9] == 0xab);
  BOOST_TEST(all_zero(buffer->data(), 10, 64));
  buffer->resize(64);
  BOOST_TEST(all_zero(buffer->data(), 10, 64));
}

BOOST_AUTO_TEST_CASE(growing_after_set_size_zeroes_the_regained_bytes) {
  auto buffer = Buffer::allocate(32);
  std::memset(buffer->mutable_data(), 0xff, 32);
  buffer->set_size(8);
  BOOST_TEST(buffer->size() == 8);
  buffer->resize(32);
  BOOST_TEST(buffer->data()[7] == 0xff);
  BOOST_TEST(all_zero(buffer->data(), 8, 32));
}

BOOST_AUTO_TEST_CASE(wrap_borrows_the_memory_and_keeps_its_owner_alive) {
  auto bytes = std::make_shared<std::vector<uint8_t>>(100);
  std::iota(bytes->begin(), bytes->end(), uint8_t{0});
  std::weak_ptr<std::vector<uint8_t>> watch = bytes;
  BufferPtr buffer = Buffer::wrap(bytes->data() + 10, 50, bytes);
  bytes.reset();
  BOOST_TEST(!watch.expired());
  BOOST_TEST(buffer->size() == 50);
  BOOST_TEST(buffer->data()[0] == 10);
  BOOST_TEST(buffer->data()[49] == 59);
  buffer.reset();
  BOOST_TEST(watch.expired());
}

BOOST_AUTO_TEST_CASE(wrap_does_not_copy) {
  static const uint8_t kStatic[4] = {1, 2, 3, 4};
  BufferPtr buffer = Buffer::wrap(kStatic, 4, nullptr);
  BOOST_TEST(static_cast<const void*>(buffer->data()) == static_cast<const void*>(kStatic));
  BOOST_TEST(buffer->capacity() == 4);
}

BOOST_AUTO_TEST_CASE(allocate_for_overwrite_zeroes_only_the_padding) {
  auto buffer = Buffer::allocate_for_overwrite(100);
  BOOST_TEST(buffer->size() == 100);
  BOOST_TEST(reinterpret_cast<uintptr_t>(buffer->data()) % 64 == 0u);
  BOOST_TEST(buffer->capacity() >= 108);
  for (int64_t i = 100; i < buffer->capacity(); ++i) BOOST_TEST(buffer->data()[i] == 0);
}
