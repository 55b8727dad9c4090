#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/column_builder.hpp"
#include "core/record_batch.hpp"
#include "core/schema.hpp"
#include "core/status.hpp"
#include "core/value.hpp"

namespace sluice {

/// Holds the encoded keys of every row of a batch in one buffer: row i is
/// bytes[offsets[i], offsets[i + 1]). Reused from batch to batch so the hot path allocates
/// nothing once the buffers are large enough.
struct EncodedKeys {
  std::vector<uint8_t> bytes;
  std::vector<int64_t> offsets;

  int64_t num_rows() const {
    return offsets.empty() ? 0 : static_cast<int64_t>(offsets.size()) - 1;
  }
  std::string_view key(int64_t row) const {
    const auto begin = offsets[static_cast<size_t>(row)];
    return {reinterpret_cast<const char*>(bytes.data()) + begin,
            static_cast<size_t>(offsets[static_cast<size_t>(row) + 1] - begin)};
  }
};

/// Encodes the values of key columns of each row into bytes: equal keys <=> equal bytes; bytes
/// compare (memcmp) in the order of the values (nulls first; int64/timestamp big-endian with
/// sign flipped; doubles order-preserving with -0.0 == 0.0 and one NaN, greater than every
/// other value; strings escaped so that prefixes order correctly). Immutable, thread-safe.
///
/// Layout per column: a marker byte (0 null, 1 value) then the payload. BOOLEAN: one byte;
/// BIGINT, TIMESTAMP, DOUBLE: eight bytes (all zero for null, so keys of fixed-width columns
/// all have one width); STRING: the bytes with 0x00 written as 0x00 0xFF, then 0x00 0x00 (null:
/// the marker alone). Every column's encoding is self-delimiting, so no key is a proper prefix
/// of another key of the same encoder.
class KeyEncoder {
 public:
  /// Builds an encoder of the given columns of schema (a column may appear more than once);
  /// fails naming a column index outside the schema.
  static Result<KeyEncoder> make(const Schema& schema, std::vector<int> columns);

  /// Encodes every row of batch (whose schema is the one given to make) into keys, resized to
  /// the number of rows. Thread-safe.
  void encode(const RecordBatch& batch, std::vector<std::string>& keys) const;

  /// Encodes every row of batch into one buffer, the operators' hot path (no allocation per
  /// row). Thread-safe.
  void encode_flat(const RecordBatch& batch, EncodedKeys& keys) const;

  /// Decodes a key into one Value per column; a corrupt Status names what is wrong with the
  /// bytes. Thread-safe.
  Result<std::vector<Value>> decode(std::string_view key) const;

  /// Decodes a key, appending column i's value to builders[i] (skipped when null); builders
  /// must have the columns' types. On a corrupt key some builders may have been appended to.
  /// Thread-safe.
  Status decode_into(std::string_view key, ColumnBuilder* const* builders) const;

  const std::vector<int>& columns() const { return columns_; }
  const std::vector<Type>& types() const { return types_; }

  /// Returns the length of every key when all columns are fixed-width, else -1.
  int fixed_width() const { return fixed_width_; }

  /// Returns the bytes a value of the type takes in every key (marker included), or -1 for
  /// STRING.
  static int encoded_width(Type type) {
    return type == Type::String ? -1 : 1 + (type == Type::Bool ? 1 : 8);
  }

 private:
  KeyEncoder(std::vector<int> columns, std::vector<Type> types);
  std::vector<int> columns_;
  std::vector<Type> types_;
  int fixed_width_ = -1;
};

/// Renders key columns as "name TYPE, name TYPE": the keys=[...] of the stateful operators'
/// fingerprints, which inspect_state reads back. Columns must index the schema.
std::string key_columns_text(const Schema& schema, const std::vector<int>& columns);

/// Returns the partition that owns an encoded key: a hash of the bytes modulo num_partitions
/// (xxHash64, seed 0). Every stateful operator and the shuffle router must agree on this.
/// Thread-safe.
int key_partition(std::string_view encoded_key, int num_partitions);

/// Computes the owning partition of every row (the shuffle router's hot path); equals
/// key_partition(encode(row)) for each row, with key_columns encoded in the given order.
/// key_columns must index the batch's schema. Resizes partition_of_row to the number of rows.
/// Thread-safe.
void partition_rows(const RecordBatch& batch, const std::vector<int>& key_columns,
                    int num_partitions, std::vector<int32_t>& partition_of_row);

/// Appends the 9-byte key encoding of a non-null TIMESTAMP or BIGINT value (marker and
/// order-preserving big-endian payload).
void append_encoded_int64(std::string& out, int64_t value);

/// Writes the 9-byte key encoding of a non-null TIMESTAMP or BIGINT value to out.
void write_encoded_int64(uint8_t* out, int64_t value);

/// Reads the value of a 9-byte encoding of a BIGINT or TIMESTAMP column (the marker must be 1).
int64_t read_encoded_int64(const uint8_t* in);

}  // namespace sluice
