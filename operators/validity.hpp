#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/bitmap.hpp"
#include "core/buffer.hpp"
#include "core/column.hpp"

// Word-at-a-time validity bitmap operations for the expression kernels. Inputs are read at any
// bit offset (sliced columns) and never past the last byte holding one of their bits, so
// buffers wrapped without padding are safe; outputs start at bit 0 in buffers this code
// allocated (padded to whole words).
namespace sluice::validity {

/// Views the bits of one bitmap from a bit offset.
struct Bits {
  const uint8_t* data = nullptr;
  int64_t offset = 0;
};

/// Returns the validity bits of a column (data == nullptr when it has no nulls).
inline Bits of(const Column& column) {
  return {column.validity_bits(), column.offset()};
}

/// Reads count (<= 64) bits from bit offset into the low bits of a word, touching only the
/// bytes that hold them.
inline uint64_t load_bits(const uint8_t* bits, int64_t offset, int64_t count) {
  if (count == 64) return bitmap::load_word(bits, offset);
  uint64_t word = 0;
  for (int64_t i = 0; i < count; ++i) {
    word |= static_cast<uint64_t>(bitmap::get(bits, offset + i)) << i;
  }
  return word;
}

/// Returns the number of 64-bit words that hold length bits.
constexpr int64_t words_for(int64_t length) {
  return (length + 63) / 64;
}

/// Allocates a zeroed bitmap of length bits, writable as whole 64-bit words.
std::shared_ptr<Buffer> allocate(int64_t length);

/// Writes bits [offset, offset + length) of src into dst from bit 0, whole words at a time.
void copy(uint64_t* dst, Bits src, int64_t length);

/// Replaces dst with dst AND src over length bits.
void and_into(uint64_t* dst, Bits src, int64_t length);

/// Returns the AND of the columns' validity as a bitmap from bit 0, or nullptr when none has
/// nulls. Shares the buffer of a lone nullable column that starts at bit 0.
BufferPtr intersect(const std::vector<const Column*>& columns, int64_t length);

/// Returns the validity of a single column re-based at bit 0 (shared when already there).
BufferPtr rebase(const Column& column);

/// Packs bytes (each 0 or 1) into bits from bit 0; dst must hold words_for(length) words.
void pack(const uint8_t* bytes, int64_t length, uint64_t* dst);

/// Unpacks length bits from src into bytes 0 or 1; a null data pointer unpacks as all ones.
void unpack(Bits src, int64_t length, uint8_t* bytes);

/// Appends to indices the rows in [0, length) whose byte is 1 and whose bit is set (when bits
/// has data).
void select_rows(const uint8_t* bytes, Bits bits, int64_t length, std::vector<int32_t>& indices);

/// Counts set bits of a word array over length bits.
int64_t count(const uint64_t* words, int64_t length);

}  // namespace sluice::validity
