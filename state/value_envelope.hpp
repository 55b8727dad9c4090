#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace sluice {

/// Names the database a stored value belongs to. The tag is part of the checksum, so a value
/// copied into another database (or under another key) fails verification.
enum class EnvelopeTag : uint8_t {
  meta = 1,
  offsets = 2,
  commits = 3,
  state = 4,
  input_log = 5,
  state_delta = 6,
  delta_progress = 7
};

/// Counts the bytes of the header every stored value starts with: magic (2), envelope version
/// (1), tag (1), xxHash64 of tag, key and payload (8, little-endian).
inline constexpr size_t kEnvelopeHeaderSize = 12;

/// Returns `payload` prefixed with a header whose checksum binds it to `tag` and `key`.
/// Thread-safe (pure function).
std::string seal_value(EnvelopeTag tag, std::string_view key, std::string_view payload);

/// Verifies the header and checksum of `stored` (as written by seal_value for `tag` and `key`)
/// and returns a view of its payload inside `stored`. A mismatch is a corrupt Status saying
/// what failed; the caller adds which database and entry. Thread-safe (pure function).
Result<std::string_view> unseal_value(EnvelopeTag tag, std::string_view key,
                                      std::string_view stored);

}  // namespace sluice
