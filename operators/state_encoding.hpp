#pragma once

// Byte encodings of the values the stateful operators write to their state tables: LEB128
// varints, zigzag for signed numbers, little-endian fixed 8-byte words and length-prefixed
// bytes. Readers take the input by reference, advance it, and return false on truncation.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sluice::state_encoding {

/// Versions the layout of every stateful operator's state values (their first byte).
inline constexpr uint8_t kFormatVersion = 1;

inline void put_byte(std::string& out, uint8_t v) {
  out.push_back(static_cast<char>(v));
}

inline void put_varint(std::string& out, uint64_t v) {
  char buffer[10];
  int size = 0;
  while (v >= 0x80) {
    buffer[size++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buffer[size++] = static_cast<char>(v);
  out.append(buffer, static_cast<size_t>(size));
}

inline void put_zigzag(std::string& out, int64_t v) {
  put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

inline void put_fixed64(std::string& out, uint64_t v) {
  char buffer[8];
  std::memcpy(buffer, &v, 8);
  out.append(buffer, 8);
}

inline void put_double(std::string& out, double v) {
  put_fixed64(out, std::bit_cast<uint64_t>(v));
}

inline void put_bytes(std::string& out, std::string_view v) {
  put_varint(out, v.size());
  out.append(v);
}

[[nodiscard]] inline bool get_byte(std::string_view& in, uint8_t& v) {
  if (in.empty()) return false;
  v = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  return true;
}

[[nodiscard]] inline bool get_varint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const auto byte = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

[[nodiscard]] inline bool get_zigzag(std::string_view& in, int64_t& v) {
  uint64_t u;
  if (!get_varint(in, u)) return false;
  v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

[[nodiscard]] inline bool get_fixed64(std::string_view& in, uint64_t& v) {
  if (in.size() < 8) return false;
  std::memcpy(&v, in.data(), 8);
  in.remove_prefix(8);
  return true;
}

[[nodiscard]] inline bool get_double(std::string_view& in, double& v) {
  uint64_t bits;
  if (!get_fixed64(in, bits)) return false;
  v = std::bit_cast<double>(bits);
  return true;
}

[[nodiscard]] inline bool get_bytes(std::string_view& in, std::string_view& v) {
  uint64_t size;
  if (!get_varint(in, size) || size > in.size()) return false;
  v = in.substr(0, static_cast<size_t>(size));
  in.remove_prefix(static_cast<size_t>(size));
  return true;
}

}  // namespace sluice::state_encoding
