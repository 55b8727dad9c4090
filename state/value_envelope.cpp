#include "state/value_envelope.hpp"

#include <xxhash.h>

#include <cstring>

namespace sluice {
namespace {

constexpr uint8_t kMagic0 = 'S';
constexpr uint8_t kMagic1 = 'L';
constexpr uint8_t kEnvelopeVersion = 1;

uint64_t checksum(EnvelopeTag tag, std::string_view key, std::string_view payload) {
  // Chaining the key hash into the payload seed binds the value to its key and database.
  const uint64_t header_seed = (uint64_t{kMagic0} << 24) | (uint64_t{kMagic1} << 16) |
                               (uint64_t{kEnvelopeVersion} << 8) | static_cast<uint64_t>(tag);
  const uint64_t key_hash = XXH64(key.data(), key.size(), header_seed);
  return XXH64(payload.data(), payload.size(), key_hash);
}

std::string hex(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 60; shift >= 0; shift -= 4)
    out += kDigits[(value >> shift) & 0xF];
  return out;
}

}  // namespace

std::string seal_value(EnvelopeTag tag, std::string_view key, std::string_view payload) {
  std::string out(kEnvelopeHeaderSize + payload.size(), '\0');
  out[0] = static_cast<char>(kMagic0);
  out[1] = static_cast<char>(kMagic1);
  out[2] = static_cast<char>(kEnvelopeVersion);
  out[3] = static_cast<char>(tag);
  uint64_t sum = checksum(tag, key, payload);
  for (int i = 0; i < 8; ++i)
    out[4 + i] = static_cast<char>((sum >> (8 * i)) & 0xFF);
  if (!payload.empty())
    std::memcpy(out.data() + kEnvelopeHeaderSize, payload.data(), payload.size());
  return out;
}

Result<std::string_view> unseal_value(EnvelopeTag tag, std::string_view key,
                                      std::string_view stored) {
  if (stored.size() < kEnvelopeHeaderSize) {
    return Status::corrupt("value is " + std::to_string(stored.size()) +
                           " bytes, shorter than its " + std::to_string(kEnvelopeHeaderSize) +
                           "-byte header");
  }
  auto byte = [&](size_t i) { return static_cast<uint8_t>(stored[i]); };
  if (byte(0) != kMagic0 || byte(1) != kMagic1) {
    return Status::corrupt("value header has a wrong magic number");
  }
  if (byte(2) != kEnvelopeVersion) {
    return Status::corrupt("value header has unknown envelope version " + std::to_string(byte(2)) +
                           " (this build reads version " + std::to_string(kEnvelopeVersion) + ")");
  }
  if (byte(3) != static_cast<uint8_t>(tag)) {
    return Status::corrupt("value header is tagged for database " + std::to_string(byte(3)) +
                           ", not " + std::to_string(static_cast<int>(tag)));
  }
  uint64_t stored_sum = 0;
  for (int i = 0; i < 8; ++i)
    stored_sum |= uint64_t{byte(4 + i)} << (8 * i);
  std::string_view payload = stored.substr(kEnvelopeHeaderSize);
  uint64_t computed_sum = checksum(tag, key, payload);
  if (stored_sum != computed_sum) {
    return Status::corrupt("value fails its checksum (stored " + hex(stored_sum) + ", computed " +
                           hex(computed_sum) + ")");
  }
  return payload;
}

}  // namespace sluice
