#include "core/wire.hpp"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "wire_generated.h"

namespace sluice::wire {

namespace {

// Column bytes go onto the wire exactly as they sit in memory.
static_assert(std::endian::native == std::endian::little,
              "the wire format stores little-endian values and copies columns as they are");

static_assert(static_cast<int>(fb::Type::Bool) == static_cast<int>(Type::Bool) &&
                  static_cast<int>(fb::Type::Int64) == static_cast<int>(Type::Int64) &&
                  static_cast<int>(fb::Type::Double) == static_cast<int>(Type::Double) &&
                  static_cast<int>(fb::Type::String) == static_cast<int>(Type::String) &&
                  static_cast<int>(fb::Type::Timestamp) == static_cast<int>(Type::Timestamp) &&
                  static_cast<int>(fb::Type::MAX) == kNumTypes - 1,
              "core/wire.fbs enum Type must mirror sluice::Type value for value");

// Eight-byte values keep their natural alignment inside the buffer, so a reader that maps
// the bytes could use them in place.
constexpr size_t kValueAlignment = 8;

// The largest buffer FlatBuffers can address with its 32-bit offsets, and the smallest that
// can hold the size prefix, the root offset, the file identifier and an empty table.
constexpr uint64_t kMaxBufferSize = FLATBUFFERS_MAX_BUFFER_SIZE;
constexpr size_t kPrefixSize = sizeof(flatbuffers::uoffset_t);
constexpr size_t kMinBufferSize =
    kPrefixSize + sizeof(flatbuffers::uoffset_t) + flatbuffers::kFileIdentifierLength +
    sizeof(flatbuffers::soffset_t) + 2 * sizeof(flatbuffers::voffset_t);

// Generous per-object overheads for the size bound: vtables, table fields, length prefixes
// and alignment padding. The bound only has to be large enough, never exact.
constexpr uint64_t kBufferOverhead = 1024;
constexpr uint64_t kFieldOverhead = 96;
constexpr uint64_t kColumnOverhead = 192;

// ----------------------------------------------------------------------------------------------
// Encoding

uint64_t schema_size_bound(const Schema& schema) {
  uint64_t bound = kBufferOverhead;
  for (const Field& field : schema.fields())
    bound += kFieldOverhead + field.name.size();
  return bound;
}

int64_t string_data_size(const Column& column) {
  if (column.length() == 0) return 0;
  const int64_t* offsets = column.values<int64_t>();
  return offsets[column.length()] - offsets[0];
}

// Checks that the batch agrees with its schema (a batch built with make_unchecked may not)
// and returns an upper bound of its encoded size.
Result<uint64_t> batch_size_bound(const RecordBatch& batch) {
  const Schema& schema = *batch.schema();
  const int64_t num_rows = batch.num_rows();
  if (num_rows < 0 || num_rows > kMaxRows) {
    return Status::out_of_range("cannot encode a batch of " + std::to_string(num_rows) +
                                " rows: the wire format holds 0 to " + std::to_string(kMaxRows) +
                                " rows per batch");
  }
  if (batch.num_columns() != schema.num_fields()) {
    return Status::invalid_argument(
        "cannot encode a batch of " + std::to_string(batch.num_columns()) +
        " columns under a schema of " + std::to_string(schema.num_fields()) + " fields");
  }
  uint64_t bound = schema_size_bound(schema);
  for (int i = 0; i < batch.num_columns(); ++i) {
    const Field& field = schema.field(i);
    const Column* column = batch.column(i).get();
    const auto where = [&] {
      return "cannot encode column " + std::to_string(i) + " '" + field.name + "'";
    };
    if (column == nullptr) return Status::invalid_argument(where() + ": the column is missing");
    if (column->type() != field.type) {
      return Status::invalid_argument(where() + ": it holds " +
                                      std::string(type_name(column->type())) +
                                      " but the schema says " + std::string(type_name(field.type)));
    }
    if (column->length() != num_rows) {
      return Status::invalid_argument(where() + ": it has " + std::to_string(column->length()) +
                                      " rows, the batch " + std::to_string(num_rows));
    }
    if (!field.nullable && column->has_nulls()) {
      return Status::invalid_argument(where() + ": it is NOT NULL but holds " +
                                      std::to_string(column->null_count()) + " nulls");
    }
    const int64_t values =
        field.type == Type::String ? (num_rows + 1) * 8 : num_rows * value_width(field.type);
    const int64_t validity = column->has_nulls() ? bitmap::bytes_for(num_rows) : 0;
    const int64_t data = field.type == Type::String ? string_data_size(*column) : 0;
    bound += kColumnOverhead + static_cast<uint64_t>(values + validity + data);
  }
  if (bound >= kMaxBufferSize) {
    return Status::out_of_range("cannot encode a batch of " + std::to_string(num_rows) +
                                " rows: it needs about " + std::to_string(bound) +
                                " bytes, past the 2 GiB FlatBuffers limit; split it");
  }
  return bound;
}

// Copies length bits starting at bit src_offset of src into dst from bit 0, writing exactly
// bytes_for(length) bytes, with the unused high bits of the last byte zero.
void copy_bits(uint8_t* dst, const uint8_t* src, int64_t src_offset, int64_t length) {
  const int64_t bytes = bitmap::bytes_for(length);
  if ((src_offset & 7) == 0) {
    std::memcpy(dst, src + (src_offset >> 3), static_cast<size_t>(bytes));
  } else {
    int64_t i = 0;
    // load_word reads only bytes that hold bits [offset, offset + 64), all inside the source.
    for (; i + 64 <= length; i += 64) {
      const uint64_t word = bitmap::load_word(src, src_offset + i);
      std::memcpy(dst + (i >> 3), &word, 8);
    }
    std::memset(dst + (i >> 3), 0, static_cast<size_t>(bytes - (i >> 3)));
    for (; i < length; ++i) {
      if (bitmap::get(src, src_offset + i)) bitmap::set(dst, i);
    }
  }
  if ((length & 7) != 0) dst[bytes - 1] &= static_cast<uint8_t>((1u << (length & 7)) - 1);
}

// Returns true when every byte is 0 or 1, eight bytes at a time.
bool all_bytes_boolean(const uint8_t* bytes, int64_t count) {
  uint64_t seen = 0;
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    seen |= word;
  }
  for (; i < count; ++i)
    seen |= bytes[i];
  return (seen & 0xfefefefefefefefeull) == 0;
}

using ByteVector = flatbuffers::Offset<flatbuffers::Vector<uint8_t>>;

ByteVector create_bytes(flatbuffers::FlatBufferBuilder& builder, int64_t size, size_t alignment,
                        uint8_t** out) {
  if (alignment > 1) builder.ForceVectorAlignment(static_cast<size_t>(size), 1, alignment);
  return builder.CreateUninitializedVector<uint8_t>(static_cast<size_t>(size), out);
}

flatbuffers::Offset<fb::Column> encode_column(flatbuffers::FlatBufferBuilder& builder,
                                              const Column& column) {
  const int64_t n = column.length();
  const Type type = column.type();
  uint8_t* out = nullptr;

  ByteVector validity = 0;
  if (column.has_nulls()) {
    validity = create_bytes(builder, bitmap::bytes_for(n), 1, &out);
    copy_bits(out, column.validity_bits(), column.offset(), n);
  }

  ByteVector data = 0;
  ByteVector values = 0;
  if (type == Type::String) {
    // An empty column may come without buffers; it encodes as the single offset 0.
    const int64_t* offsets = n > 0 ? column.values<int64_t>() : nullptr;
    const int64_t base = n > 0 ? offsets[0] : 0;
    const int64_t data_size = n > 0 ? offsets[n] - base : 0;
    data = create_bytes(builder, data_size, 1, &out);
    if (data_size > 0) {
      std::memcpy(out, column.data_buffer()->data() + base, static_cast<size_t>(data_size));
    }
    values = create_bytes(builder, (n + 1) * 8, kValueAlignment, &out);
    std::memset(out, 0, 8);
    for (int64_t i = 1; i <= n; ++i) {
      const int64_t rebased = offsets[i] - base;
      std::memcpy(out + i * 8, &rebased, 8);
    }
  } else {
    const int64_t size = n * value_width(type);
    values = create_bytes(builder, size, kValueAlignment, &out);
    if (size > 0) {
      const uint8_t* in = column.values_buffer()->data() + column.offset() * value_width(type);
      std::memcpy(out, in, static_cast<size_t>(size));
      // Column::make admits only 0 and 1, but an unchecked kernel might leave another byte;
      // the decoder would refuse it, so it is normalized here.
      if (type == Type::Bool && !all_bytes_boolean(out, size)) {
        for (int64_t i = 0; i < size; ++i)
          out[i] = out[i] != 0;
      }
    }
  }
  return fb::CreateColumn(builder, static_cast<fb::Type>(type), validity, values, data);
}

flatbuffers::Offset<fb::Schema> encode_schema_table(flatbuffers::FlatBufferBuilder& builder,
                                                    const Schema& schema) {
  std::vector<flatbuffers::Offset<fb::Field>> fields;
  fields.reserve(static_cast<size_t>(schema.num_fields()));
  for (const Field& field : schema.fields()) {
    auto name = builder.CreateString(field.name);
    fields.push_back(
        fb::CreateField(builder, name, static_cast<fb::Type>(field.type), field.nullable));
  }
  return fb::CreateSchema(builder, kFormatVersion, builder.CreateVector(fields));
}

// Writes a finished batch buffer into the builder; the batch was checked by batch_size_bound.
void encode_batch_into(flatbuffers::FlatBufferBuilder& builder, const RecordBatch& batch) {
  auto schema = encode_schema_table(builder, *batch.schema());
  std::vector<flatbuffers::Offset<fb::Column>> columns;
  columns.reserve(static_cast<size_t>(batch.num_columns()));
  for (const ColumnPtr& column : batch.columns())
    columns.push_back(encode_column(builder, *column));
  auto root = fb::CreateRecordBatch(builder, kFormatVersion, schema, batch.num_rows(),
                                    builder.CreateVector(columns));
  builder.FinishSizePrefixed(root, kBatchFileIdentifier);
}

// ----------------------------------------------------------------------------------------------
// Decoding

std::string printable(const uint8_t* bytes, size_t count) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    const uint8_t c = bytes[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Checks what can be checked before the Verifier runs: presence, size and file identifier.
// `what` names the expected content ("record batch", "schema").
Status check_envelope(const uint8_t* data, size_t size, const char* identifier,
                      const char* other_identifier, const std::string& what,
                      const std::string& other_what) {
  if (data == nullptr) {
    if (size == 0) return Status::corrupt("empty buffer (null pointer): expected a " + what);
    return Status::corrupt("null pointer with a size of " + std::to_string(size) +
                           " bytes: expected a " + what);
  }
  if (size == 0) return Status::corrupt("empty buffer: expected a " + what);
  if (size < kMinBufferSize) {
    return Status::corrupt("buffer of " + std::to_string(size) + " bytes is too short for a " +
                           what + " (truncated?)");
  }
  if (size >= kMaxBufferSize) {
    return Status::corrupt("buffer of " + std::to_string(size) +
                           " bytes passes the 2 GiB FlatBuffers limit: expected a " + what);
  }
  if (!flatbuffers::BufferHasIdentifier(data, identifier, /*size_prefixed=*/true)) {
    const uint8_t* found = data + kPrefixSize + sizeof(flatbuffers::uoffset_t);
    if (flatbuffers::BufferHasIdentifier(data, other_identifier, /*size_prefixed=*/true)) {
      return Status::corrupt("buffer holds a Sluice " + other_what + " (identifier \"" +
                             other_identifier + "\"), not a " + what);
    }
    return Status::corrupt("wrong file identifier \"" +
                           printable(found, flatbuffers::kFileIdentifierLength) +
                           "\": expected \"" + identifier + "\" (a Sluice " + what + ")");
  }
  // The prefix makes every truncation and every appended byte visible, even where the
  // FlatBuffer itself ends in padding that no offset covers.
  uint32_t prefix;
  std::memcpy(&prefix, data, sizeof(prefix));
  if (prefix != size - kPrefixSize) {
    return Status::corrupt("buffer of " + std::to_string(size) + " bytes has a size prefix of " +
                           std::to_string(prefix) + " + 4 bytes: the " + what + " is " +
                           (prefix > size - kPrefixSize ? "truncated" : "followed by extra bytes"));
  }
  return Status::ok();
}

template <typename Root>
Status verify_buffer(const uint8_t* data, size_t size, const char* identifier,
                     const std::string& what) {
  flatbuffers::Verifier::Options options;
  // Our tables nest three deep; anything deeper is not ours.
  options.max_depth = 16;
  // Every table takes at least four bytes, so a buffer holding more tables than that
  // revisits shared ones and would make verification cost more than the buffer's size.
  options.max_tables = static_cast<flatbuffers::uoffset_t>(size / 4 + 16);
  options.check_alignment = true;
  flatbuffers::Verifier verifier(data, size, options);
  if (!verifier.VerifySizePrefixedBuffer<Root>(identifier)) {
    return Status::corrupt(what + " of " + std::to_string(size) +
                           " bytes fails FlatBuffers verification: it is truncated, or an offset "
                           "or length points outside the buffer");
  }
  return Status::ok();
}

// Names a column in messages: "column 2 'price'". Built only when a message needs it.
std::string column_place(int index, const Field& field) {
  return "column " + std::to_string(index) + " '" + field.name + "'";
}

std::string type_label(uint8_t raw) {
  return raw < kNumTypes ? std::string(type_name(static_cast<Type>(raw)))
                         : "type " + std::to_string(raw);
}

Result<SchemaPtr> decode_schema_table(const fb::Schema* table) {
  if (table == nullptr) return Status::corrupt("record batch has no schema");
  if (table->format_version() != kFormatVersion) {
    return Status::corrupt("schema has format version " + std::to_string(table->format_version()) +
                           "; this build reads version " + std::to_string(kFormatVersion));
  }
  std::vector<Field> fields;
  if (const auto* fb_fields = table->fields()) {
    fields.reserve(fb_fields->size());
    for (flatbuffers::uoffset_t i = 0; i < fb_fields->size(); ++i) {
      const fb::Field* fb_field = fb_fields->Get(i);
      const auto where = [i] { return "schema field " + std::to_string(i); };
      if (fb_field->name() == nullptr) return Status::corrupt(where() + " has no name");
      Field field;
      field.name = fb_field->name()->str();
      const auto raw_type = static_cast<uint8_t>(fb_field->type());
      if (raw_type >= kNumTypes) {
        return Status::corrupt(where() + " '" + field.name + "': type " + std::to_string(raw_type) +
                               " is not a Sluice type (0 to " + std::to_string(kNumTypes - 1) +
                               ")");
      }
      field.type = static_cast<Type>(raw_type);
      field.nullable = fb_field->nullable();
      fields.push_back(std::move(field));
    }
  }
  auto schema = Schema::make(std::move(fields));
  if (!schema.ok()) return Status::corrupt(schema.status().message());
  return std::move(schema).value();
}

// Calls decode on data, first copied to 8-byte aligned memory when it is not aligned:
// FlatBuffers reads its int64 and offset fields in place.
template <typename Decode>
auto with_aligned(const uint8_t* data, size_t size, Decode decode) {
  if (reinterpret_cast<uintptr_t>(data) % alignof(int64_t) == 0) return decode(data);
  auto aligned = std::make_unique_for_overwrite<uint64_t[]>((size + 7) / 8);
  std::memcpy(aligned.get(), data, size);
  return decode(reinterpret_cast<const uint8_t*>(aligned.get()));
}

size_t vector_size(const flatbuffers::Vector<uint8_t>* vector) {
  return vector == nullptr ? 0 : vector->size();
}

std::shared_ptr<Buffer> copy_to_buffer(const flatbuffers::Vector<uint8_t>* vector) {
  const size_t size = vector_size(vector);
  auto buffer = Buffer::allocate(static_cast<int64_t>(size));
  if (size > 0) std::memcpy(buffer->mutable_data(), vector->data(), size);
  return buffer;
}

// Checks every size of a column against the row count; touches no value.
Status check_column_sizes(const fb::Column& column, int index, const Field& field,
                          int64_t num_rows) {
  const auto where = [&] { return column_place(index, field); };
  const auto raw_type = static_cast<uint8_t>(column.type());
  if (raw_type != static_cast<uint8_t>(field.type)) {
    if (raw_type >= kNumTypes) {
      return Status::corrupt(where() + ": type " + std::to_string(raw_type) +
                             " is not a Sluice type (0 to " + std::to_string(kNumTypes - 1) + ")");
    }
    return Status::corrupt(where() + ": column holds " + type_label(raw_type) +
                           " but the schema says " + std::string(type_name(field.type)));
  }
  const bool is_string = field.type == Type::String;
  const int64_t expected = is_string ? (num_rows + 1) * 8 : num_rows * value_width(field.type);
  const auto values = static_cast<int64_t>(vector_size(column.values()));
  if (values != expected) {
    return Status::corrupt(where() + ": values buffer holds " + std::to_string(values) +
                           " bytes, expected " + std::to_string(expected) + " for " +
                           std::to_string(num_rows) + " " + std::string(type_name(field.type)) +
                           " rows" +
                           (is_string ? " (" + std::to_string(num_rows + 1) + " offsets)" : ""));
  }
  if (column.validity() != nullptr) {
    const auto validity = static_cast<int64_t>(column.validity()->size());
    if (validity != bitmap::bytes_for(num_rows)) {
      return Status::corrupt(where() + ": validity bitmap holds " + std::to_string(validity) +
                             " bytes, expected " + std::to_string(bitmap::bytes_for(num_rows)) +
                             " for " + std::to_string(num_rows) + " rows");
    }
  }
  if (!is_string && column.data() != nullptr) {
    return Status::corrupt(where() + ": a " + std::string(type_name(field.type)) +
                           " column carries " + std::to_string(column.data()->size()) +
                           " bytes of string data");
  }
  return Status::ok();
}

// Checks that string offsets start at 0, never decrease and end at the data size.
Status check_string_offsets(const int64_t* offsets, int64_t num_rows, int64_t data_size, int index,
                            const Field& field) {
  const auto where = [&] { return column_place(index, field); };
  if (offsets[0] != 0) {
    return Status::corrupt(where() + ": first string offset is " + std::to_string(offsets[0]) +
                           ", expected 0");
  }
  // One pass without branches; the failing row is looked up only on failure.
  bool decreasing = false;
  for (int64_t i = 0; i < num_rows; ++i)
    decreasing |= offsets[i + 1] < offsets[i];
  if (decreasing) {
    for (int64_t i = 0; i < num_rows; ++i) {
      if (offsets[i + 1] < offsets[i]) {
        return Status::corrupt(where() + ": string offsets decrease at row " + std::to_string(i) +
                               " (from " + std::to_string(offsets[i]) + " to " +
                               std::to_string(offsets[i + 1]) + ")");
      }
    }
  }
  const int64_t last = offsets[num_rows];
  if (last > data_size) {
    return Status::corrupt(where() + ": string offsets end at byte " + std::to_string(last) +
                           ", past the " + std::to_string(data_size) + " bytes of string data");
  }
  if (last < data_size) {
    return Status::corrupt(where() + ": string offsets end at byte " + std::to_string(last) +
                           " but the string data holds " + std::to_string(data_size) + " bytes");
  }
  return Status::ok();
}

Result<ColumnPtr> decode_column(const fb::Column& column, int index, const Field& field,
                                int64_t num_rows) {
  const auto where = [&] { return column_place(index, field); };
  std::shared_ptr<Buffer> validity;
  if (column.validity() != nullptr) {
    validity = copy_to_buffer(column.validity());
    // Bits past the last row mean nothing; clearing them keeps the bitmap canonical.
    if ((num_rows & 7) != 0) {
      validity->mutable_data()[validity->size() - 1] &=
          static_cast<uint8_t>((1u << (num_rows & 7)) - 1);
    }
  }
  std::shared_ptr<Buffer> values = copy_to_buffer(column.values());
  std::shared_ptr<Buffer> data;
  if (field.type == Type::String) {
    data = copy_to_buffer(column.data());
    SLUICE_RETURN_NOT_OK(
        check_string_offsets(values->as<int64_t>(), num_rows, data->size(), index, field));
  } else if (field.type == Type::Bool && !all_bytes_boolean(values->data(), num_rows)) {
    for (int64_t i = 0; i < num_rows; ++i) {
      if (values->data()[i] > 1) {
        return Status::corrupt(where() + ": boolean value " + std::to_string(values->data()[i]) +
                               " at row " + std::to_string(i) + " (must be 0 or 1)");
      }
    }
  }
  ColumnPtr result = Column::make_unchecked(field.type, num_rows, std::move(values),
                                            std::move(validity), std::move(data));
  if (!field.nullable && result->has_nulls()) {
    return Status::corrupt(where() + " is NOT NULL but holds " +
                           std::to_string(result->null_count()) + " nulls");
  }
  return result;
}

Result<RecordBatchPtr> decode_batch_aligned(const uint8_t* data, size_t size) {
  SLUICE_RETURN_NOT_OK(
      verify_buffer<fb::RecordBatch>(data, size, kBatchFileIdentifier, "record batch"));
  const fb::RecordBatch* root = flatbuffers::GetSizePrefixedRoot<fb::RecordBatch>(data);
  if (root->format_version() != kFormatVersion) {
    return Status::corrupt("record batch has format version " +
                           std::to_string(root->format_version()) + "; this build reads version " +
                           std::to_string(kFormatVersion));
  }
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr schema, decode_schema_table(root->schema()));
  const int64_t num_rows = root->num_rows();
  if (num_rows < 0 || num_rows > kMaxRows) {
    return Status::corrupt("record batch claims " + std::to_string(num_rows) +
                           " rows; the wire format holds 0 to " + std::to_string(kMaxRows));
  }
  const auto* columns = root->columns();
  const int num_columns = columns == nullptr ? 0 : static_cast<int>(columns->size());
  if (num_columns != schema->num_fields()) {
    return Status::corrupt("record batch holds " + std::to_string(num_columns) +
                           " columns but its schema has " + std::to_string(schema->num_fields()) +
                           " fields (" + schema->to_string() + ")");
  }

  // Every size is checked before any column is copied or read.
  uint64_t total_bytes = 0;
  for (int i = 0; i < num_columns; ++i) {
    const fb::Column& column = *columns->Get(static_cast<flatbuffers::uoffset_t>(i));
    const Field& field = schema->field(i);
    SLUICE_RETURN_NOT_OK(check_column_sizes(column, i, field, num_rows));
    total_bytes +=
        vector_size(column.values()) + vector_size(column.validity()) + vector_size(column.data());
  }
  // Distinct vectors cannot overlap in a well-formed buffer; shared ones would let a small
  // buffer decode into many times its size.
  if (total_bytes > size) {
    return Status::corrupt("record batch columns claim " + std::to_string(total_bytes) +
                           " bytes in all, more than the " + std::to_string(size) +
                           "-byte buffer holds (columns share their bytes)");
  }

  std::vector<ColumnPtr> decoded;
  decoded.reserve(static_cast<size_t>(num_columns));
  for (int i = 0; i < num_columns; ++i) {
    const fb::Column& column = *columns->Get(static_cast<flatbuffers::uoffset_t>(i));
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr result, decode_column(column, i, schema->field(i), num_rows));
    decoded.push_back(std::move(result));
  }
  return RecordBatch::make_unchecked(std::move(schema), std::move(decoded), num_rows);
}

Result<SchemaPtr> decode_schema_aligned(const uint8_t* data, size_t size) {
  SLUICE_RETURN_NOT_OK(verify_buffer<fb::Schema>(data, size, kSchemaFileIdentifier, "schema"));
  return decode_schema_table(flatbuffers::GetSizePrefixedRoot<fb::Schema>(data));
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// Public API

Result<std::vector<uint8_t>> encode_batch(const RecordBatch& batch) {
  SLUICE_ASSIGN_OR_RETURN(uint64_t bound, batch_size_bound(batch));
  flatbuffers::FlatBufferBuilder builder(static_cast<size_t>(bound));
  encode_batch_into(builder, batch);
  const uint8_t* begin = builder.GetBufferPointer();
  return std::vector<uint8_t>(begin, begin + builder.GetSize());
}

Result<RecordBatchPtr> decode_batch(const uint8_t* data, size_t size) {
  SLUICE_RETURN_NOT_OK(check_envelope(data, size, kBatchFileIdentifier, kSchemaFileIdentifier,
                                      "record batch", "schema"));
  return with_aligned(
      data, size, [size](const uint8_t* aligned) { return decode_batch_aligned(aligned, size); });
}

Result<std::vector<uint8_t>> encode_schema(const Schema& schema) {
  const uint64_t bound = schema_size_bound(schema);
  if (bound >= kMaxBufferSize) {
    return Status::out_of_range("cannot encode a schema of " + std::to_string(schema.num_fields()) +
                                " fields: it passes the 2 GiB FlatBuffers limit");
  }
  flatbuffers::FlatBufferBuilder builder(static_cast<size_t>(bound));
  builder.FinishSizePrefixed(encode_schema_table(builder, schema), kSchemaFileIdentifier);
  const uint8_t* begin = builder.GetBufferPointer();
  return std::vector<uint8_t>(begin, begin + builder.GetSize());
}

Result<SchemaPtr> decode_schema(const uint8_t* data, size_t size) {
  SLUICE_RETURN_NOT_OK(check_envelope(data, size, kSchemaFileIdentifier, kBatchFileIdentifier,
                                      "schema", "record batch"));
  return with_aligned(
      data, size, [size](const uint8_t* aligned) { return decode_schema_aligned(aligned, size); });
}

BatchEncoder::BatchEncoder() = default;
BatchEncoder::~BatchEncoder() = default;
BatchEncoder::BatchEncoder(BatchEncoder&&) noexcept = default;
BatchEncoder& BatchEncoder::operator=(BatchEncoder&&) noexcept = default;

Result<std::span<const uint8_t>> BatchEncoder::encode(const RecordBatch& batch) {
  SLUICE_ASSIGN_OR_RETURN(uint64_t bound, batch_size_bound(batch));
  if (builder_ == nullptr || bound > capacity_) {
    // Growing inside FlatBuffers would copy the half-built buffer; starting over with room
    // for the whole batch (and some slack for the next, larger one) does not.
    capacity_ = std::max<size_t>(static_cast<size_t>(bound), capacity_ + capacity_ / 4);
    capacity_ = std::min<size_t>(capacity_, kMaxBufferSize);
    builder_ = std::make_unique<flatbuffers::FlatBufferBuilder>(capacity_);
  } else {
    builder_->Clear();
  }
  encode_batch_into(*builder_, batch);
  return std::span<const uint8_t>(builder_->GetBufferPointer(), builder_->GetSize());
}

}  // namespace sluice::wire
