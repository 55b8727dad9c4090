#pragma once

#include <cstdint>
#include <string>

#include "core/status.hpp"
#include "parquet/metadata.hpp"

namespace sluice::parquet {

/// Appends the compressed form of [data, data + size) to out. Supports UNCOMPRESSED, SNAPPY
/// and ZSTD (at zstd_level). Thread-safe.
Status compress(Codec codec, const uint8_t* data, size_t size, int zstd_level, std::string& out);

/// Decompresses [data, data + size) into exactly expected_size bytes at out; fails with a
/// corrupt Status when the codec rejects the input or produces another size. Thread-safe.
Status decompress(Codec codec, const uint8_t* data, size_t size, uint8_t* out,
                  size_t expected_size);

}  // namespace sluice::parquet
