#include "operators/key_encoder.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sluice {

namespace {

constexpr uint8_t kNullMarker = 0;
constexpr uint8_t kValueMarker = 1;
constexpr uint64_t kSignBit = uint64_t{1} << 63;

inline void store_big_endian(uint8_t* out, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(out, &v, 8);
}

inline uint64_t load_big_endian(const uint8_t* in) {
  uint64_t v;
  std::memcpy(&v, in, 8);
  return __builtin_bswap64(v);
}

inline uint64_t order_int64(int64_t v) {
  return static_cast<uint64_t>(v) ^ kSignBit;
}

// Maps a double to unsigned bits whose order is the value order: negative numbers have every
// bit flipped, positive ones only the sign. -0.0 folds into 0.0 and every NaN into one quiet NaN
// (which then sorts above +infinity, as Spark orders NaN).
inline uint64_t order_double(double v) {
  if (v == 0.0) v = 0.0;
  if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  return (bits & kSignBit) ? ~bits : bits | kSignBit;
}

inline double unorder_double(uint64_t bits) {
  return std::bit_cast<double>((bits & kSignBit) ? bits & ~kSignBit : ~bits);
}

// Counts the bytes a string takes once escaped (not counting marker and terminator).
inline int64_t escaped_size(std::string_view v) {
  int64_t zeros = 0;
  const char* p = v.data();
  const char* end = p + v.size();
  while (p < end) {
    const void* hit = std::memchr(p, 0, static_cast<size_t>(end - p));
    if (hit == nullptr) break;
    ++zeros;
    p = static_cast<const char*>(hit) + 1;
  }
  return static_cast<int64_t>(v.size()) + zeros;
}

inline uint8_t* write_string(uint8_t* out, std::string_view v) {
  *out++ = kValueMarker;
  const char* p = v.data();
  const char* end = p + v.size();
  while (p < end) {
    const void* hit = std::memchr(p, 0, static_cast<size_t>(end - p));
    const char* stop = hit ? static_cast<const char*>(hit) : end;
    std::memcpy(out, p, static_cast<size_t>(stop - p));
    out += stop - p;
    if (hit == nullptr) break;
    *out++ = 0x00;
    *out++ = 0xFF;
    p = stop + 1;
  }
  *out++ = 0x00;
  *out++ = 0x00;
  return out;
}

// Writes one fixed-width column into every row's key: row r's value at base + r * stride.
void write_fixed_column(const Column& column, Type type, int64_t num_rows, uint8_t* base,
                        int64_t stride) {
  const bool nulls = column.has_nulls();
  if (type == Type::Bool) {
    const uint8_t* v = column.values<uint8_t>();
    for (int64_t r = 0; r < num_rows; ++r) {
      uint8_t* p = base + r * stride;
      const bool valid = !nulls || column.is_valid(r);
      p[0] = valid ? kValueMarker : kNullMarker;
      p[1] = valid ? v[r] : 0;
    }
    return;
  }
  if (type == Type::Double) {
    const double* v = column.values<double>();
    for (int64_t r = 0; r < num_rows; ++r) {
      uint8_t* p = base + r * stride;
      const bool valid = !nulls || column.is_valid(r);
      p[0] = valid ? kValueMarker : kNullMarker;
      store_big_endian(p + 1, valid ? order_double(v[r]) : 0);
    }
    return;
  }
  const int64_t* v = column.values<int64_t>();
  if (!nulls) {
    for (int64_t r = 0; r < num_rows; ++r) {
      uint8_t* p = base + r * stride;
      p[0] = kValueMarker;
      store_big_endian(p + 1, order_int64(v[r]));
    }
    return;
  }
  for (int64_t r = 0; r < num_rows; ++r) {
    uint8_t* p = base + r * stride;
    const bool valid = column.is_valid(r);
    p[0] = valid ? kValueMarker : kNullMarker;
    store_big_endian(p + 1, valid ? order_int64(v[r]) : 0);
  }
}

// Reads one column's value from in[pos...]; appends it to builder when given.
Status decode_column(std::string_view key, size_t& pos, Type type, ColumnBuilder* builder,
                     Value* value, int index) {
  auto corrupt = [&](const std::string& why) {
    return Status::corrupt("encoded key of " + std::to_string(key.size()) + " bytes, column " +
                           std::to_string(index) + " (" + std::string(type_name(type)) +
                           "): " + why);
  };
  const auto* bytes = reinterpret_cast<const uint8_t*>(key.data());
  if (pos >= key.size()) return corrupt("truncated before the null marker");
  const uint8_t marker = bytes[pos++];
  if (marker != kNullMarker && marker != kValueMarker) {
    return corrupt("null marker is " + std::to_string(marker) + ", expected 0 or 1");
  }
  if (type == Type::String) {
    if (marker == kNullMarker) {
      if (builder) builder->append_null();
      if (value) *value = Value();
      return Status::ok();
    }
    std::string text;
    for (;;) {
      const void* hit = pos < key.size() ? std::memchr(bytes + pos, 0, key.size() - pos) : nullptr;
      if (hit == nullptr) return corrupt("string without terminator");
      const size_t zero = static_cast<size_t>(static_cast<const uint8_t*>(hit) - bytes);
      text.append(key.data() + pos, zero - pos);
      if (zero + 1 >= key.size()) return corrupt("string escape truncated");
      const uint8_t next = bytes[zero + 1];
      pos = zero + 2;
      if (next == 0x00) break;
      if (next != 0xFF) return corrupt("invalid string escape 0x00 " + std::to_string(next));
      text.push_back('\0');
    }
    if (builder) builder->append_string(text);
    if (value) *value = Value(std::move(text));
    return Status::ok();
  }
  const size_t width = type == Type::Bool ? 1 : 8;
  if (pos + width > key.size()) return corrupt("truncated value");
  const uint8_t* p = bytes + pos;
  pos += width;
  if (marker == kNullMarker) {
    for (size_t i = 0; i < width; ++i) {
      if (p[i] != 0) return corrupt("null with a non-zero payload");
    }
    if (builder) builder->append_null();
    if (value) *value = Value();
    return Status::ok();
  }
  switch (type) {
    case Type::Bool:
      if (p[0] > 1) return corrupt("boolean byte " + std::to_string(p[0]));
      if (builder) builder->append_bool(p[0] != 0);
      if (value) *value = Value(p[0] != 0);
      break;
    case Type::Double: {
      const double d = unorder_double(load_big_endian(p));
      if (builder) builder->append_double(d);
      if (value) *value = Value(d);
      break;
    }
    case Type::Int64: {
      const int64_t v = static_cast<int64_t>(load_big_endian(p) ^ kSignBit);
      if (builder) builder->append_int64(v);
      if (value) *value = Value(v);
      break;
    }
    case Type::Timestamp: {
      const int64_t v = static_cast<int64_t>(load_big_endian(p) ^ kSignBit);
      if (builder) builder->append_timestamp(v);
      if (value) *value = Value(Timestamp{v});
      break;
    }
    case Type::String:
      break;
  }
  return Status::ok();
}

inline int partition_of_hash(uint64_t hash, int num_partitions) {
  return static_cast<int>(hash % static_cast<uint64_t>(num_partitions));
}

}  // namespace

KeyEncoder::KeyEncoder(std::vector<int> columns, std::vector<Type> types)
    : columns_(std::move(columns)), types_(std::move(types)) {
  int width = 0;
  for (Type type : types_) {
    if (type == Type::String) {
      width = -1;
      break;
    }
    width += encoded_width(type);
  }
  fixed_width_ = width;
}

Result<KeyEncoder> KeyEncoder::make(const Schema& schema, std::vector<int> columns) {
  std::vector<Type> types;
  for (int column : columns) {
    if (column < 0 || column >= schema.num_fields()) {
      return Status::invalid_argument("key column index " + std::to_string(column) +
                                      " is outside the schema (" + schema.to_string() + ")");
    }
    types.push_back(schema.field(column).type);
  }
  return KeyEncoder(std::move(columns), std::move(types));
}

void KeyEncoder::encode_flat(const RecordBatch& batch, EncodedKeys& keys) const {
  const int64_t n = batch.num_rows();
  keys.offsets.resize(static_cast<size_t>(n + 1));
  int64_t* offsets = keys.offsets.data();
  if (fixed_width_ >= 0) {
    const int64_t width = fixed_width_;
    for (int64_t r = 0; r <= n; ++r) {
      offsets[r] = r * width;
    }
    keys.bytes.resize(static_cast<size_t>(n * width));
    int64_t position = 0;
    for (size_t c = 0; c < columns_.size(); ++c) {
      write_fixed_column(*batch.column(columns_[c]), types_[c], n, keys.bytes.data() + position,
                         width);
      position += encoded_width(types_[c]);
    }
    return;
  }
  // Variable width: size every row first, then write column by column through a cursor.
  for (int64_t r = 0; r <= n; ++r) {
    offsets[r] = 0;
  }
  for (size_t c = 0; c < columns_.size(); ++c) {
    const Column& column = *batch.column(columns_[c]);
    if (types_[c] != Type::String) {
      const int width = encoded_width(types_[c]);
      for (int64_t r = 0; r < n; ++r) {
        offsets[r + 1] += width;
      }
      continue;
    }
    for (int64_t r = 0; r < n; ++r) {
      offsets[r + 1] += column.is_valid(r) ? 3 + escaped_size(column.string_at(r)) : 1;
    }
  }
  for (int64_t r = 0; r < n; ++r) {
    offsets[r + 1] += offsets[r];
  }
  keys.bytes.resize(static_cast<size_t>(offsets[n]));
  uint8_t* bytes = keys.bytes.data();
  std::vector<int64_t> cursor(offsets, offsets + n);
  for (size_t c = 0; c < columns_.size(); ++c) {
    const Column& column = *batch.column(columns_[c]);
    const Type type = types_[c];
    if (type == Type::String) {
      for (int64_t r = 0; r < n; ++r) {
        uint8_t* p = bytes + cursor[static_cast<size_t>(r)];
        if (column.is_valid(r)) {
          cursor[static_cast<size_t>(r)] += write_string(p, column.string_at(r)) - p;
        } else {
          *p = kNullMarker;
          cursor[static_cast<size_t>(r)] += 1;
        }
      }
      continue;
    }
    const int width = encoded_width(type);
    for (int64_t r = 0; r < n; ++r) {
      uint8_t* p = bytes + cursor[static_cast<size_t>(r)];
      const bool valid = column.is_valid(r);
      p[0] = valid ? kValueMarker : kNullMarker;
      switch (type) {
        case Type::Bool:
          p[1] = valid ? column.values<uint8_t>()[r] : 0;
          break;
        case Type::Double:
          store_big_endian(p + 1, valid ? order_double(column.values<double>()[r]) : 0);
          break;
        default:
          store_big_endian(p + 1, valid ? order_int64(column.values<int64_t>()[r]) : 0);
          break;
      }
      cursor[static_cast<size_t>(r)] += width;
    }
  }
}

void KeyEncoder::encode(const RecordBatch& batch, std::vector<std::string>& keys) const {
  EncodedKeys flat;
  encode_flat(batch, flat);
  const int64_t n = batch.num_rows();
  keys.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    keys[static_cast<size_t>(r)].assign(flat.key(r));
  }
}

Result<std::vector<Value>> KeyEncoder::decode(std::string_view key) const {
  std::vector<Value> values(columns_.size());
  size_t pos = 0;
  for (size_t c = 0; c < columns_.size(); ++c) {
    SLUICE_RETURN_NOT_OK(
        decode_column(key, pos, types_[c], nullptr, &values[c], static_cast<int>(c)));
  }
  if (pos != key.size()) {
    return Status::corrupt("encoded key has " + std::to_string(key.size() - pos) +
                           " bytes after its last column");
  }
  return values;
}

Status KeyEncoder::decode_into(std::string_view key, ColumnBuilder* const* builders) const {
  size_t pos = 0;
  for (size_t c = 0; c < columns_.size(); ++c) {
    SLUICE_RETURN_NOT_OK(
        decode_column(key, pos, types_[c], builders[c], nullptr, static_cast<int>(c)));
  }
  if (pos != key.size()) {
    return Status::corrupt("encoded key has " + std::to_string(key.size() - pos) +
                           " bytes after its last column");
  }
  return Status::ok();
}

int key_partition(std::string_view encoded_key, int num_partitions) {
  return partition_of_hash(XXH64(encoded_key.data(), encoded_key.size(), 0), num_partitions);
}

void partition_rows(const RecordBatch& batch, const std::vector<int>& key_columns,
                    int num_partitions, std::vector<int32_t>& partition_of_row) {
  const int64_t n = batch.num_rows();
  partition_of_row.resize(static_cast<size_t>(n));
  int32_t* out = partition_of_row.data();
  if (num_partitions <= 1) {
    std::fill(out, out + n, 0);
    return;
  }
  // The router's common case: one BIGINT or TIMESTAMP key without nulls, hashed straight from
  // a 9-byte stack buffer.
  if (key_columns.size() == 1 && is_int64_backed(batch.column(key_columns[0])->type()) &&
      !batch.column(key_columns[0])->has_nulls()) {
    const int64_t* v = batch.column(key_columns[0])->values<int64_t>();
    uint8_t key[9];
    key[0] = kValueMarker;
    for (int64_t r = 0; r < n; ++r) {
      store_big_endian(key + 1, order_int64(v[r]));
      out[r] = partition_of_hash(XXH64(key, 9, 0), num_partitions);
    }
    return;
  }
  auto encoder = KeyEncoder::make(*batch.schema(), key_columns);
  if (!encoder.ok()) {
    // A column outside the schema is the caller's bug (the planner checked the columns).
    std::fill(out, out + n, 0);
    return;
  }
  EncodedKeys keys;
  encoder->encode_flat(batch, keys);
  for (int64_t r = 0; r < n; ++r) {
    const std::string_view key = keys.key(r);
    out[r] = partition_of_hash(XXH64(key.data(), key.size(), 0), num_partitions);
  }
}

void write_encoded_int64(uint8_t* out, int64_t value) {
  out[0] = kValueMarker;
  store_big_endian(out + 1, order_int64(value));
}

void append_encoded_int64(std::string& out, int64_t value) {
  uint8_t bytes[9];
  write_encoded_int64(bytes, value);
  out.append(reinterpret_cast<const char*>(bytes), 9);
}

int64_t read_encoded_int64(const uint8_t* in) {
  return static_cast<int64_t>(load_big_endian(in + 1) ^ kSignBit);
}

std::string key_columns_text(const Schema& schema, const std::vector<int>& columns) {
  std::string text;
  for (int column : columns) {
    if (!text.empty()) text += ", ";
    text += schema.field(column).name + " " + std::string(type_name(schema.field(column).type));
  }
  return text;
}

}  // namespace sluice
