#pragma once

#include <cstdint>
#include <string>

#include "core/status.hpp"

/// Implements Parquet's RLE / bit-packed hybrid encoding (definition levels, dictionary
/// indices, booleans) and LSB-first bit packing.
namespace sluice::parquet {

/// Returns the number of bits needed to store max_value (0 for 0).
int bit_width_for(uint64_t max_value);

/// Appends the hybrid encoding of values (each < 2^bit_width) to out, without a length
/// prefix: runs of 8 or more equal values become RLE runs, the rest bit-packed groups of 8.
void encode_rle_hybrid(const uint32_t* values, int64_t count, int bit_width, std::string& out);
void encode_rle_hybrid(const uint8_t* values, int64_t count, int bit_width, std::string& out);

/// Appends count values packed LSB-first with bit_width bits each (the last byte zero-padded).
void pack_bits(const uint32_t* values, int64_t count, int bit_width, std::string& out);

/// Decodes an RLE / bit-packed hybrid stream. Reads never pass the given range; a stream that
/// ends before the requested values yields a corrupt Status. Not thread-safe.
class RleHybridDecoder {
 public:
  RleHybridDecoder(const uint8_t* data, size_t size, int bit_width)
      : data_(data), size_(size), bit_width_(bit_width) {}

  /// Writes the next count values to out.
  Status decode(uint32_t* out, int64_t count);

 private:
  Status next_run();

  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
  int bit_width_;
  // Current run: either `repeat_left` copies of `repeat_value`, or `packed_left` values
  // bit-packed from `packed_data` starting at value index `packed_index`.
  int64_t repeat_left_ = 0;
  uint32_t repeat_value_ = 0;
  int64_t packed_left_ = 0;
  const uint8_t* packed_data_ = nullptr;
  int64_t packed_index_ = 0;
};

/// Unpacks count values of bit_width bits (LSB-first) starting at value index first from data;
/// the caller guarantees that data holds bytes up to bit (first + count) * bit_width.
void unpack_bits(const uint8_t* data, int64_t first, int64_t count, int bit_width, uint32_t* out);

}  // namespace sluice::parquet
