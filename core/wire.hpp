#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "core/record_batch.hpp"
#include "core/schema.hpp"
#include "core/status.hpp"

namespace flatbuffers {
class FlatBufferBuilder;
}

namespace sluice::wire {

// The FlatBuffers wire format of schemas and record batches (core/wire.fbs). Every buffer is
// self-contained: a batch carries its schema. Decoding runs the FlatBuffers Verifier, then
// checks every size, offset and value that a reader could trip over, and copies the column
// bytes into fresh aligned buffers, so a decoded batch never points into the input. Any
// failure is a `corrupt` Status naming the column or field and what is wrong.

/// Identifies the layout rules; a decoder refuses buffers of any other version.
inline constexpr uint32_t kFormatVersion = 1;

/// Names the FlatBuffers file identifiers (bytes 4..7) of batch and schema buffers.
inline constexpr char kBatchFileIdentifier[] = "SLRB";
inline constexpr char kSchemaFileIdentifier[] = "SLSC";

/// Caps the rows of one encoded batch: row indices are int32 throughout Sluice.
inline constexpr int64_t kMaxRows = std::numeric_limits<int32_t>::max();

/// Encodes a batch (schema included) into a self-contained byte buffer. Sliced columns are
/// normalized (row 0 at bit and byte 0, string offsets from 0). Fails with out_of_range when
/// the encoding would pass the 2 GiB FlatBuffers limit or kMaxRows, and with invalid_argument
/// when the batch disagrees with its own schema. Thread-safe.
Result<std::vector<uint8_t>> encode_batch(const RecordBatch& batch);

/// Decodes a buffer written by encode_batch or BatchEncoder; the result owns copies of the
/// bytes. `data` may have any alignment (a misaligned buffer is copied once first). Fails with
/// corrupt, naming what is wrong and where, on any buffer that is not a valid batch of this
/// format version. String bytes are taken as they are (not checked to be UTF-8), as Sluice
/// strings are everywhere. Thread-safe.
Result<RecordBatchPtr> decode_batch(const uint8_t* data, size_t size);

/// Encodes a schema into a self-contained byte buffer. Thread-safe.
Result<std::vector<uint8_t>> encode_schema(const Schema& schema);

/// Decodes a buffer written by encode_schema; fails with corrupt as decode_batch does.
/// Thread-safe.
Result<SchemaPtr> decode_schema(const uint8_t* data, size_t size);

/// Encodes batches into one reused buffer, so a steady stream of batches allocates nothing
/// and copies each column once. Not thread-safe: use one encoder per thread.
class BatchEncoder {
 public:
  BatchEncoder();
  ~BatchEncoder();
  BatchEncoder(BatchEncoder&&) noexcept;
  BatchEncoder& operator=(BatchEncoder&&) noexcept;

  /// Encodes a batch as encode_batch does. The returned bytes live inside the encoder and
  /// stay valid until the next call to encode or the encoder's destruction.
  Result<std::span<const uint8_t>> encode(const RecordBatch& batch);

 private:
  std::unique_ptr<flatbuffers::FlatBufferBuilder> builder_;
  size_t capacity_ = 0;
};

}  // namespace sluice::wire
