#include "parquet/compression.hpp"

#include <snappy.h>
#include <zstd.h>

#include <cstring>

namespace sluice::parquet {

Status compress(Codec codec, const uint8_t* data, size_t size, int zstd_level, std::string& out) {
  const size_t start = out.size();
  switch (codec) {
    case Codec::uncompressed:
      out.append(reinterpret_cast<const char*>(data), size);
      return Status::ok();
    case Codec::snappy: {
      out.resize(start + snappy::MaxCompressedLength(size));
      size_t written = 0;
      snappy::RawCompress(reinterpret_cast<const char*>(data), size, out.data() + start, &written);
      out.resize(start + written);
      return Status::ok();
    }
    case Codec::zstd: {
      out.resize(start + ZSTD_compressBound(size));
      const size_t written =
          ZSTD_compress(out.data() + start, out.size() - start, data, size, zstd_level);
      if (ZSTD_isError(written)) {
        out.resize(start);
        return Status::internal(std::string("zstd compression failed: ") +
                                ZSTD_getErrorName(written));
      }
      out.resize(start + written);
      return Status::ok();
    }
    default:
      break;
  }
  return Status::invalid_argument("Sluice does not write compression codec " + codec_name(codec));
}

Status decompress(Codec codec, const uint8_t* data, size_t size, uint8_t* out,
                  size_t expected_size) {
  switch (codec) {
    case Codec::uncompressed:
      if (size != expected_size) {
        return Status::corrupt("uncompressed page holds " + std::to_string(size) +
                               " bytes but claims " + std::to_string(expected_size));
      }
      if (size > 0) std::memcpy(out, data, size);
      return Status::ok();
    case Codec::snappy: {
      size_t length = 0;
      const auto* input = reinterpret_cast<const char*>(data);
      if (!snappy::GetUncompressedLength(input, size, &length)) {
        return Status::corrupt("snappy decompression failed: bad length header");
      }
      if (length != expected_size) {
        return Status::corrupt("snappy data decompresses to " + std::to_string(length) +
                               " bytes, page header says " + std::to_string(expected_size));
      }
      if (!snappy::RawUncompress(input, size, reinterpret_cast<char*>(out))) {
        return Status::corrupt("snappy decompression failed: corrupt input");
      }
      return Status::ok();
    }
    case Codec::zstd: {
      const unsigned long long content = ZSTD_getFrameContentSize(data, size);
      if (content == ZSTD_CONTENTSIZE_ERROR) {
        return Status::corrupt("zstd decompression failed: not a zstd frame");
      }
      if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != expected_size) {
        return Status::corrupt("zstd data decompresses to " + std::to_string(content) +
                               " bytes, page header says " + std::to_string(expected_size));
      }
      const size_t written = ZSTD_decompress(out, expected_size, data, size);
      if (ZSTD_isError(written)) {
        return Status::corrupt(std::string("zstd decompression failed: ") +
                               ZSTD_getErrorName(written));
      }
      if (written != expected_size) {
        return Status::corrupt("zstd data decompresses to " + std::to_string(written) +
                               " bytes, page header says " + std::to_string(expected_size));
      }
      return Status::ok();
    }
    default:
      break;
  }
  return Status::invalid_argument("Sluice does not read compression codec " + codec_name(codec));
}

}  // namespace sluice::parquet
