#include "core/column.hpp"

#include <cstring>

#include "core/column_builder.hpp"

namespace sluice {

Column::Column(Type type, int64_t length, int64_t offset, BufferPtr values, BufferPtr validity,
               BufferPtr data)
    : type_(type),
      length_(length),
      offset_(offset),
      values_(std::move(values)),
      validity_(std::move(validity)),
      data_(std::move(data)) {
  if (validity_) {
    null_count_ = length_ - bitmap::count_set(validity_->data(), offset_, length_);
    // A bitmap with every bit set says nothing; dropping it lets kernels take the fast path.
    if (null_count_ == 0) validity_ = nullptr;
  }
}

ColumnPtr Column::make_unchecked(Type type, int64_t length, BufferPtr values, BufferPtr validity,
                                 BufferPtr data, int64_t offset) {
  return ColumnPtr(new Column(type, length, offset, std::move(values), std::move(validity),
                              std::move(data)));
}

Result<ColumnPtr> Column::make(Type type, int64_t length, BufferPtr values, BufferPtr validity,
                               BufferPtr data, int64_t offset) {
  const std::string where = std::string(type_name(type)) + " column of " +
                            std::to_string(length) + " rows";
  if (length < 0) return Status::invalid_argument(where + ": negative length");
  if (offset < 0) {
    return Status::invalid_argument(where + ": negative offset " + std::to_string(offset));
  }
  if (!values) return Status::invalid_argument(where + ": missing values buffer");
  const int64_t value_count = type == Type::String ? offset + length + 1 : offset + length;
  if (values->size() / value_width(type) < value_count) {
    return Status::invalid_argument(where + ": values buffer holds " +
                                    std::to_string(values->size()) + " bytes, needs " +
                                    std::to_string(value_count * value_width(type)));
  }
  if (validity && validity->size() < bitmap::bytes_for(offset + length)) {
    return Status::invalid_argument(where + ": validity bitmap holds " +
                                    std::to_string(validity->size()) + " bytes, needs " +
                                    std::to_string(bitmap::bytes_for(offset + length)));
  }
  if (type == Type::String) {
    if (!data) return Status::invalid_argument(where + ": missing string data buffer");
    const int64_t* offsets = values->as<int64_t>() + offset;
    if (offsets[0] < 0) return Status::invalid_argument(where + ": negative string offset");
    for (int64_t i = 0; i < length; ++i) {
      if (offsets[i + 1] < offsets[i]) {
        return Status::invalid_argument(where + ": string offsets decrease at row " +
                                        std::to_string(i));
      }
    }
    if (offsets[length] > data->size()) {
      return Status::invalid_argument(where + ": string offsets reach byte " +
                                      std::to_string(offsets[length]) + " of a " +
                                      std::to_string(data->size()) + "-byte data buffer");
    }
  } else if (type == Type::Bool) {
    const uint8_t* bytes = values->data() + offset;
    for (int64_t i = 0; i < length; ++i) {
      if (bytes[i] > 1) {
        return Status::invalid_argument(where + ": boolean value " + std::to_string(bytes[i]) +
                                        " at row " + std::to_string(i));
      }
    }
  }
  return make_unchecked(type, length, std::move(values), std::move(validity), std::move(data),
                        offset);
}

ColumnPtr Column::make_null(Type type, int64_t length) {
  auto values = Buffer::allocate((type == Type::String ? length + 1 : length) * value_width(type));
  auto validity = Buffer::allocate(bitmap::bytes_for(length));
  BufferPtr data = type == Type::String ? Buffer::allocate(0) : nullptr;
  return make_unchecked(type, length, std::move(values), std::move(validity), std::move(data));
}

Result<ColumnPtr> Column::make_constant(Type type, const Value& value, int64_t length) {
  if (value.is_null()) return make_null(type, length);
  ColumnBuilder builder(type);
  builder.reserve(length);
  for (int64_t i = 0; i < length; ++i) SLUICE_RETURN_NOT_OK(builder.append_value(value));
  return builder.finish();
}

Value Column::value_at(int64_t i) const {
  if (is_null(i)) return Value();
  switch (type_) {
    case Type::Bool: return Value(values<uint8_t>()[i] != 0);
    case Type::Int64: return Value(values<int64_t>()[i]);
    case Type::Double: return Value(values<double>()[i]);
    case Type::String: return Value(std::string(string_at(i)));
    case Type::Timestamp: return Value(Timestamp{values<int64_t>()[i]});
  }
  return Value();
}

ColumnPtr Column::slice(int64_t offset, int64_t length) const {
  return ColumnPtr(new Column(type_, length, offset_ + offset, values_, validity_, data_));
}

ColumnPtr Column::take(const int32_t* indices, int64_t count) const {
  std::shared_ptr<Buffer> validity;
  if (validity_) {
    validity = Buffer::allocate(bitmap::bytes_for(count));
    uint8_t* out = validity->mutable_data();
    const uint8_t* in = validity_->data();
    // Branch-free: assemble each output byte from eight gathered bits.
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
      unsigned byte = 0;
      for (int bit = 0; bit < 8; ++bit) {
        byte |= static_cast<unsigned>(bitmap::get(in, offset_ + indices[i + bit])) << bit;
      }
      out[i >> 3] = static_cast<uint8_t>(byte);
    }
    for (; i < count; ++i) {
      if (bitmap::get(in, offset_ + indices[i])) bitmap::set(out, i);
    }
  }
  if (type_ == Type::String) {
    const int64_t* offsets = values<int64_t>();
    int64_t total = 0;
    for (int64_t i = 0; i < count; ++i) total += offsets[indices[i] + 1] - offsets[indices[i]];
    auto out_offsets = Buffer::allocate_for_overwrite((count + 1) * 8);
    auto out_data = Buffer::allocate_for_overwrite(total);
    int64_t* o = out_offsets->mutable_as<int64_t>();
    uint8_t* d = out_data->mutable_data();
    const uint8_t* src = data_->data();
    int64_t position = 0;
    for (int64_t i = 0; i < count; ++i) {
      const int64_t begin = offsets[indices[i]];
      const int64_t size = offsets[indices[i] + 1] - begin;
      o[i] = position;
      std::memcpy(d + position, src + begin, static_cast<size_t>(size));
      position += size;
    }
    o[count] = position;
    return make_unchecked(type_, count, std::move(out_offsets), std::move(validity),
                          std::move(out_data));
  }
  auto out = Buffer::allocate_for_overwrite(count * value_width(type_));
  if (type_ == Type::Bool) {
    const uint8_t* in = values<uint8_t>();
    uint8_t* o = out->mutable_data();
    for (int64_t i = 0; i < count; ++i) o[i] = in[indices[i]];
  } else {
    const int64_t* in = values<int64_t>();
    int64_t* o = out->mutable_as<int64_t>();
    for (int64_t i = 0; i < count; ++i) o[i] = in[indices[i]];
  }
  return make_unchecked(type_, count, std::move(out), std::move(validity));
}

}  // namespace sluice
