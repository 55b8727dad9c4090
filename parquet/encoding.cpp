#include "parquet/encoding.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace sluice::parquet {

int bit_width_for(uint64_t max_value) {
  return max_value == 0 ? 0 : std::bit_width(max_value);
}

namespace {

void write_varint(uint64_t value, std::string& out) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

template <typename T>
void pack_bits_impl(const T* values, int64_t count, int bit_width, std::string& out) {
  if (bit_width == 0) return;
  const size_t start = out.size();
  out.resize(start + static_cast<size_t>((count * bit_width + 7) / 8));
  auto* dst = reinterpret_cast<uint8_t*>(out.data() + start);
  uint64_t accumulator = 0;
  int filled = 0;
  for (int64_t i = 0; i < count; ++i) {
    accumulator |= static_cast<uint64_t>(values[i]) << filled;
    filled += bit_width;
    while (filled >= 8) {
      *dst++ = static_cast<uint8_t>(accumulator);
      accumulator >>= 8;
      filled -= 8;
    }
  }
  if (filled > 0) *dst = static_cast<uint8_t>(accumulator);
}

// Writes a bit-packed run of values[0, count), padding the last group of 8 with zeros.
template <typename T>
void write_packed_run(const T* values, int64_t count, int bit_width, std::string& out) {
  if (count == 0) return;
  const int64_t groups = (count + 7) / 8;
  write_varint(static_cast<uint64_t>(groups) << 1 | 1, out);
  const size_t start = out.size();
  pack_bits_impl(values, count, bit_width, out);
  out.resize(start + static_cast<size_t>(groups * bit_width), '\0');
}

void write_repeated_run(uint32_t value, int64_t count, int bit_width, std::string& out) {
  write_varint(static_cast<uint64_t>(count) << 1, out);
  for (int bytes = (bit_width + 7) / 8; bytes > 0; --bytes) {
    out.push_back(static_cast<char>(value & 0xff));
    value >>= 8;
  }
}

template <typename T>
void encode_rle_hybrid_impl(const T* values, int64_t count, int bit_width, std::string& out) {
  int64_t literal_start = 0;
  int64_t i = 0;
  while (i < count) {
    const T value = values[i];
    int64_t j = i + 1;
    while (j < count && values[j] == value)
      ++j;
    const int64_t run = j - i;
    if (run >= 8) {
      // A bit-packed run holds whole groups of 8, so borrow values from this run to fill the
      // last group of the pending literals.
      const int64_t literals = i - literal_start;
      const int64_t pad = (8 - literals % 8) % 8;
      if (run - pad >= 8) {
        write_packed_run(values + literal_start, literals + pad, bit_width, out);
        write_repeated_run(static_cast<uint32_t>(value), run - pad, bit_width, out);
        literal_start = j;
      }
    }
    i = j;
  }
  write_packed_run(values + literal_start, count - literal_start, bit_width, out);
}

}  // namespace

void pack_bits(const uint32_t* values, int64_t count, int bit_width, std::string& out) {
  pack_bits_impl(values, count, bit_width, out);
}

void encode_rle_hybrid(const uint32_t* values, int64_t count, int bit_width, std::string& out) {
  encode_rle_hybrid_impl(values, count, bit_width, out);
}

void encode_rle_hybrid(const uint8_t* values, int64_t count, int bit_width, std::string& out) {
  encode_rle_hybrid_impl(values, count, bit_width, out);
}

void unpack_bits(const uint8_t* data, int64_t first, int64_t count, int bit_width, uint32_t* out) {
  if (bit_width == 0) {
    std::fill(out, out + count, 0u);
    return;
  }
  const uint64_t mask = bit_width == 32 ? 0xffffffffull : (uint64_t{1} << bit_width) - 1;
  const int64_t end_byte = ((first + count) * bit_width + 7) / 8;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t bit = (first + i) * bit_width;
    const int64_t byte = bit >> 3;
    const int shift = static_cast<int>(bit & 7);
    uint64_t word = 0;
    // Load up to 8 bytes without reading past the range the caller vouched for.
    const int64_t available = std::min<int64_t>(8, end_byte - byte);
    if (available == 8) {
      std::memcpy(&word, data + byte, 8);
    } else {
      std::memcpy(&word, data + byte, static_cast<size_t>(available));
    }
    out[i] = static_cast<uint32_t>((word >> shift) & mask);
  }
}

Status RleHybridDecoder::next_run() {
  uint64_t header = 0;
  for (int shift = 0;; shift += 7) {
    if (position_ >= size_)
      return Status::corrupt("RLE/bit-packed run header past the end of data");
    if (shift > 35) return Status::corrupt("RLE/bit-packed run header too long");
    const uint8_t byte = data_[position_++];
    header |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (header & 1) {
    const int64_t groups = static_cast<int64_t>(header >> 1);
    const int64_t bytes = groups * bit_width_;
    // Groups may be cut short at the end of a page: keep whatever whole values remain.
    const int64_t available = static_cast<int64_t>(size_ - position_);
    const int64_t usable_bytes = std::min(bytes, available);
    packed_data_ = data_ + position_;
    packed_index_ = 0;
    packed_left_ =
        bit_width_ == 0 ? groups * 8 : std::min(groups * 8, usable_bytes * 8 / bit_width_);
    position_ += static_cast<size_t>(usable_bytes);
  } else {
    repeat_left_ = static_cast<int64_t>(header >> 1);
    const int bytes = (bit_width_ + 7) / 8;
    if (static_cast<size_t>(bytes) > size_ - position_) {
      return Status::corrupt("RLE run value past the end of data");
    }
    uint32_t value = 0;
    for (int b = 0; b < bytes; ++b)
      value |= static_cast<uint32_t>(data_[position_ + b]) << (8 * b);
    position_ += static_cast<size_t>(bytes);
    if (bit_width_ < 32 && (value >> bit_width_) != 0) {
      return Status::corrupt("RLE run value " + std::to_string(value) + " exceeds bit width " +
                             std::to_string(bit_width_));
    }
    repeat_value_ = value;
  }
  return Status::ok();
}

Status RleHybridDecoder::decode(uint32_t* out, int64_t count) {
  if (bit_width_ < 0 || bit_width_ > 32) {
    return Status::corrupt("RLE bit width " + std::to_string(bit_width_) + " is above 32");
  }
  while (count > 0) {
    if (repeat_left_ > 0) {
      const int64_t n = std::min(repeat_left_, count);
      std::fill(out, out + n, repeat_value_);
      out += n;
      count -= n;
      repeat_left_ -= n;
    } else if (packed_left_ > 0) {
      const int64_t n = std::min(packed_left_, count);
      unpack_bits(packed_data_, packed_index_, n, bit_width_, out);
      packed_index_ += n;
      out += n;
      count -= n;
      packed_left_ -= n;
    } else {
      SLUICE_RETURN_NOT_OK(next_run());
    }
  }
  return Status::ok();
}

}  // namespace sluice::parquet
