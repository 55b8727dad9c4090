#include "operators/validity.hpp"

#include <array>
#include <bit>
#include <cstring>

namespace sluice::validity {

namespace {

// Maps a byte of bits to eight bytes holding 0 or 1, least significant bit first.
constexpr std::array<uint64_t, 256> make_unpack_table() {
  std::array<uint64_t, 256> table{};
  for (unsigned byte = 0; byte < 256; ++byte) {
    uint64_t word = 0;
    for (unsigned bit = 0; bit < 8; ++bit)
      word |= static_cast<uint64_t>((byte >> bit) & 1) << (8 * bit);
    table[byte] = word;
  }
  return table;
}

constexpr std::array<uint64_t, 256> kUnpackTable = make_unpack_table();

uint64_t tail_mask(int64_t length) {
  const int64_t rest = length & 63;
  return rest == 0 ? ~uint64_t{0} : (uint64_t{1} << rest) - 1;
}

}  // namespace

std::shared_ptr<Buffer> allocate(int64_t length) {
  auto buffer = Buffer::allocate(words_for(length) * 8);
  buffer->set_size(bitmap::bytes_for(length));
  return buffer;
}

void copy(uint64_t* dst, Bits src, int64_t length) {
  const int64_t full = length / 64;
  if (src.data == nullptr) {
    for (int64_t w = 0; w < full; ++w)
      dst[w] = ~uint64_t{0};
    if (length & 63) dst[full] = tail_mask(length);
    return;
  }
  if ((src.offset & 7) == 0) {
    std::memcpy(dst, src.data + (src.offset >> 3), static_cast<size_t>(bitmap::bytes_for(length)));
    if (length & 63) dst[full] &= tail_mask(length);
    return;
  }
  for (int64_t w = 0; w < full; ++w)
    dst[w] = bitmap::load_word(src.data, src.offset + w * 64);
  if (length & 63) dst[full] = load_bits(src.data, src.offset + full * 64, length & 63);
}

void and_into(uint64_t* dst, Bits src, int64_t length) {
  if (src.data == nullptr) return;
  const int64_t full = length / 64;
  for (int64_t w = 0; w < full; ++w)
    dst[w] &= bitmap::load_word(src.data, src.offset + w * 64);
  if (length & 63) dst[full] &= load_bits(src.data, src.offset + full * 64, length & 63);
}

BufferPtr rebase(const Column& column) {
  if (!column.has_nulls()) return nullptr;
  if (column.offset() == 0) return column.validity_buffer();
  auto buffer = allocate(column.length());
  copy(buffer->mutable_as<uint64_t>(), of(column), column.length());
  return buffer;
}

BufferPtr intersect(const std::vector<const Column*>& columns, int64_t length) {
  const Column* first = nullptr;
  int nullable = 0;
  for (const Column* column : columns) {
    if (column->has_nulls()) {
      if (first == nullptr) first = column;
      ++nullable;
    }
  }
  if (nullable == 0) return nullptr;
  if (nullable == 1) return rebase(*first);
  auto buffer = allocate(length);
  uint64_t* words = buffer->mutable_as<uint64_t>();
  copy(words, of(*first), length);
  for (const Column* column : columns) {
    if (column != first && column->has_nulls()) and_into(words, of(*column), length);
  }
  return buffer;
}

void pack(const uint8_t* bytes, int64_t length, uint64_t* dst) {
  uint8_t* out = reinterpret_cast<uint8_t*>(dst);
  const int64_t full = length / 8;
  for (int64_t b = 0; b < full; ++b) {
    uint64_t eight;
    std::memcpy(&eight, bytes + b * 8, 8);
    // Gathers the low bit of each byte into the top byte (see the multiplication table in
    // "Hacker's Delight", 7-1): byte i lands on bit 56 + i without carries.
    out[b] = static_cast<uint8_t>((eight * 0x0102040810204080ULL) >> 56);
  }
  if (length & 7) {
    uint8_t last = 0;
    for (int64_t i = full * 8; i < length; ++i)
      last |= static_cast<uint8_t>(bytes[i] << (i & 7));
    out[full] = last;
  }
}

void unpack(Bits src, int64_t length, uint8_t* bytes) {
  if (src.data == nullptr) {
    std::memset(bytes, 1, static_cast<size_t>(length));
    return;
  }
  const int64_t full = length / 64;
  for (int64_t w = 0; w < full; ++w) {
    uint64_t word = bitmap::load_word(src.data, src.offset + w * 64);
    for (int b = 0; b < 8; ++b) {
      std::memcpy(bytes + w * 64 + b * 8, &kUnpackTable[(word >> (8 * b)) & 0xff], 8);
    }
  }
  for (int64_t i = full * 64; i < length; ++i)
    bytes[i] = bitmap::get(src.data, src.offset + i);
}

void select_rows(const uint8_t* bytes, Bits bits, int64_t length, std::vector<int32_t>& indices) {
  // Packs the bytes 64 rows at a time, ANDs in the validity word, and counts the rows first so
  // the output is sized once; then writes the set bits' positions.
  const int64_t num_words = words_for(length);
  std::vector<uint64_t> mask(static_cast<size_t>(num_words) + 1, 0);
  pack(bytes, length, mask.data());
  if (bits.data != nullptr) and_into(mask.data(), bits, length);
  int64_t selected = 0;
  for (int64_t w = 0; w < num_words; ++w)
    selected += std::popcount(mask[static_cast<size_t>(w)]);
  const size_t start = indices.size();
  indices.resize(start + static_cast<size_t>(selected));
  int32_t* out = indices.data() + start;
  for (int64_t w = 0; w < num_words; ++w) {
    uint64_t word = mask[static_cast<size_t>(w)];
    const int32_t base = static_cast<int32_t>(w * 64);
    while (word != 0) {
      *out++ = base + std::countr_zero(word);
      word &= word - 1;
    }
  }
}

int64_t count(const uint64_t* words, int64_t length) {
  const int64_t full = length / 64;
  int64_t total = 0;
  for (int64_t w = 0; w < full; ++w)
    total += std::popcount(words[w]);
  if (length & 63) total += std::popcount(words[full] & tail_mask(length));
  return total;
}

}  // namespace sluice::validity
