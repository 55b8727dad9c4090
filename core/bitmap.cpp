#include "core/bitmap.hpp"

namespace sluice::bitmap {

int64_t count_set(const uint8_t* bits, int64_t offset, int64_t length) {
  int64_t count = 0;
  int64_t i = 0;
  // Whole words while at least 64 bits remain and the 9-byte read stays in range.
  for (; i + 64 <= length; i += 64) count += std::popcount(load_word(bits, offset + i));
  for (; i < length; ++i) count += get(bits, offset + i);
  return count;
}

void copy(uint8_t* dst, const uint8_t* src, int64_t src_offset, int64_t length) {
  int64_t i = 0;
  if ((src_offset & 7) == 0) {
    // Whole bytes only: copying the last partial byte would overwrite dst bits past length.
    std::memcpy(dst, src + (src_offset >> 3), static_cast<size_t>(length / 8));
    i = length / 8 * 8;
  }
  for (; i < length; ++i)
    set_to(dst, i, get(src, src_offset + i));
}

void and_into(uint8_t* dst, const uint8_t* a, int64_t a_offset, const uint8_t* b,
              int64_t b_offset, int64_t length) {
  int64_t i = 0;
  if ((a_offset & 7) == 0 && (b_offset & 7) == 0) {
    // Whole bytes only, as in copy: dst bits past length stay as they were.
    const uint8_t* pa = a + (a_offset >> 3);
    const uint8_t* pb = b + (b_offset >> 3);
    for (int64_t n = length / 8; i < n; ++i)
      dst[i] = pa[i] & pb[i];
    i *= 8;
  }
  for (; i < length; ++i)
    set_to(dst, i, get(a, a_offset + i) && get(b, b_offset + i));
}

void set_all(uint8_t* dst, int64_t length) {
  std::memset(dst, 0xff, static_cast<size_t>(length / 8));
  for (int64_t i = length / 8 * 8; i < length; ++i) set(dst, i);
}

}  // namespace sluice::bitmap
