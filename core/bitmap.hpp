#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace sluice::bitmap {

// Validity bitmaps: bit i (least significant bit first) is 1 when row i holds a value.

inline bool get(const uint8_t* bits, int64_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }
inline void set(uint8_t* bits, int64_t i) { bits[i >> 3] |= static_cast<uint8_t>(1u << (i & 7)); }
inline void clear(uint8_t* bits, int64_t i) {
  bits[i >> 3] &= static_cast<uint8_t>(~(1u << (i & 7)));
}
inline void set_to(uint8_t* bits, int64_t i, bool v) {
  bits[i >> 3] = static_cast<uint8_t>((bits[i >> 3] & ~(1u << (i & 7))) | (unsigned(v) << (i & 7)));
}

/// Returns the number of bytes a bitmap of length bits needs.
constexpr int64_t bytes_for(int64_t length) { return (length + 7) / 8; }

/// Reads 64 bits starting at bit position `offset` (unaligned allowed). The buffer must be
/// readable up to the byte holding bit offset+63, or padded (Buffer pads to 64 bytes).
inline uint64_t load_word(const uint8_t* bits, int64_t offset) {
  const uint8_t* p = bits + (offset >> 3);
  const int shift = static_cast<int>(offset & 7);
  uint64_t word;
  std::memcpy(&word, p, 8);
  if (shift == 0) return word;
  return (word >> shift) | (static_cast<uint64_t>(p[8]) << (64 - shift));
}

/// Counts the set bits in [offset, offset + length).
int64_t count_set(const uint8_t* bits, int64_t offset, int64_t length);

/// Copies length bits starting at src_offset into dst starting at bit 0; dst bits from length on
/// are left unchanged.
void copy(uint8_t* dst, const uint8_t* src, int64_t src_offset, int64_t length);

/// Writes a AND b (each at its own bit offset) into dst starting at bit 0; dst bits from length
/// on are left unchanged.
void and_into(uint8_t* dst, const uint8_t* a, int64_t a_offset, const uint8_t* b,
              int64_t b_offset, int64_t length);

/// Fills dst bits [0, length) with 1.
void set_all(uint8_t* dst, int64_t length);

}  // namespace sluice::bitmap
