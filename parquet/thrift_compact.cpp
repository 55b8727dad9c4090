#include "parquet/thrift_compact.hpp"

#include <cstring>

namespace sluice::parquet::thrift {

namespace {

constexpr int kMaxDepth = 32;

int64_t unzigzag(uint64_t value) {
  return static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
}

std::string wire_type_name(WireType type) {
  static const char* names[] = {"stop",   "bool",   "bool", "i8",  "i16", "i32",   "i64",
                                "double", "binary", "list", "set", "map", "struct"};
  const auto index = static_cast<uint8_t>(type);
  return index < 13 ? names[index] : "unknown type " + std::to_string(index);
}

Status unexpected(WireType type, const char* wanted) {
  return Status::corrupt("thrift field has wire type " + wire_type_name(type) + " where " + wanted +
                         " was expected");
}

}  // namespace

void CompactWriter::write_varint(uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void CompactWriter::field_header(int16_t id, WireType type) {
  const int delta = id - last_id_;
  if (delta > 0 && delta <= 15) {
    out_.push_back(static_cast<char>((delta << 4) | static_cast<int>(type)));
  } else {
    out_.push_back(static_cast<char>(type));
    write_varint(zigzag(id));
  }
  last_id_ = id;
}

void CompactWriter::begin_struct() {
  enclosing_last_ids_.push_back(last_id_);
  last_id_ = 0;
}

void CompactWriter::end_struct() {
  out_.push_back(static_cast<char>(WireType::stop));
  last_id_ = enclosing_last_ids_.back();
  enclosing_last_ids_.pop_back();
}

void CompactWriter::field_bool(int16_t id, bool value) {
  field_header(id, value ? WireType::bool_true : WireType::bool_false);
}

void CompactWriter::field_i32(int16_t id, int32_t value) {
  field_header(id, WireType::i32);
  write_varint(zigzag(value));
}

void CompactWriter::field_i64(int16_t id, int64_t value) {
  field_header(id, WireType::i64);
  write_varint(zigzag(value));
}

void CompactWriter::field_binary(int16_t id, std::string_view value) {
  field_header(id, WireType::binary);
  element_binary(value);
}

void CompactWriter::element_binary(std::string_view value) {
  write_varint(value.size());
  out_.append(value);
}

void CompactWriter::field_struct(int16_t id) {
  field_header(id, WireType::struct_);
  begin_struct();
}

void CompactWriter::field_list(int16_t id, WireType element_type, int64_t size) {
  field_header(id, WireType::list);
  if (size < 15) {
    out_.push_back(static_cast<char>((size << 4) | static_cast<int>(element_type)));
  } else {
    out_.push_back(static_cast<char>(0xf0 | static_cast<int>(element_type)));
    write_varint(static_cast<uint64_t>(size));
  }
}

Result<uint64_t> CompactReader::read_varint() {
  uint64_t value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (position_ >= size_) return Status::corrupt("thrift varint runs past the end of its data");
    const uint8_t byte = data_[position_++];
    if (shift == 63 && byte > 1) return Status::corrupt("thrift varint overflows 64 bits");
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return Status::corrupt("thrift varint longer than 10 bytes");
}

Status CompactReader::read_struct(const std::function<Status(int16_t, WireType)>& on_field) {
  return read_struct_at_depth(on_field, depth_);
}

Status CompactReader::read_struct_at_depth(const std::function<Status(int16_t, WireType)>& on_field,
                                           int depth) {
  if (depth >= kMaxDepth) return Status::corrupt("thrift structs nested deeper than 32 levels");
  const int saved_depth = depth_;
  depth_ = depth + 1;
  int16_t last_id = 0;
  while (true) {
    if (position_ >= size_) return Status::corrupt("thrift struct runs past the end of its data");
    const uint8_t header = data_[position_++];
    const auto type = static_cast<WireType>(header & 0x0f);
    if (type == WireType::stop) break;
    if (static_cast<uint8_t>(type) > static_cast<uint8_t>(WireType::struct_)) {
      return Status::corrupt("thrift field has unknown wire type " +
                             std::to_string(static_cast<int>(type)));
    }
    int16_t id;
    if ((header >> 4) != 0) {
      id = static_cast<int16_t>(last_id + (header >> 4));
    } else {
      SLUICE_ASSIGN_OR_RETURN(uint64_t raw, read_varint());
      const int64_t value = unzigzag(raw);
      if (value < INT16_MIN || value > INT16_MAX) {
        return Status::corrupt("thrift field id " + std::to_string(value) + " out of range");
      }
      id = static_cast<int16_t>(value);
    }
    last_id = id;
    Status status = on_field(id, type);
    if (!status.is_ok()) {
      depth_ = saved_depth;
      return status.with_context("thrift field " + std::to_string(id));
    }
  }
  depth_ = saved_depth;
  return Status::ok();
}

Result<bool> CompactReader::read_bool(WireType type) {
  if (type == WireType::bool_true) return true;
  if (type == WireType::bool_false) return false;
  return unexpected(type, "bool");
}

Result<int32_t> CompactReader::read_i32(WireType type) {
  SLUICE_ASSIGN_OR_RETURN(int64_t value, read_integer_element(type));
  if (value < INT32_MIN || value > INT32_MAX) {
    return Status::corrupt("thrift i32 value " + std::to_string(value) + " out of range");
  }
  return static_cast<int32_t>(value);
}

Result<int64_t> CompactReader::read_i64(WireType type) {
  return read_integer_element(type);
}

Result<int64_t> CompactReader::read_integer_element(WireType type) {
  switch (type) {
    case WireType::i8:
      if (position_ >= size_) return Status::corrupt("thrift i8 runs past the end of its data");
      return static_cast<int64_t>(static_cast<int8_t>(data_[position_++]));
    case WireType::i16:
    case WireType::i32:
    case WireType::i64: {
      SLUICE_ASSIGN_OR_RETURN(uint64_t raw, read_varint());
      return unzigzag(raw);
    }
    default:
      return unexpected(type, "an integer");
  }
}

Result<double> CompactReader::read_double(WireType type) {
  if (type != WireType::double_) return unexpected(type, "double");
  if (size_ - position_ < 8) return Status::corrupt("thrift double runs past the end of its data");
  double value;
  std::memcpy(&value, data_ + position_, 8);
  position_ += 8;
  return value;
}

Result<std::string> CompactReader::read_binary(WireType type) {
  return read_binary_element(type);
}

Result<std::string> CompactReader::read_binary_element(WireType type) {
  if (type != WireType::binary) return unexpected(type, "binary");
  SLUICE_ASSIGN_OR_RETURN(uint64_t length, read_varint());
  if (length > size_ - position_) {
    return Status::corrupt("thrift binary of " + std::to_string(length) +
                           " bytes runs past the end of its data");
  }
  std::string value(reinterpret_cast<const char*>(data_ + position_), length);
  position_ += length;
  return value;
}

Status CompactReader::read_list_header(WireType type, WireType& element_type, int64_t& size) {
  if (type != WireType::list && type != WireType::set) return unexpected(type, "list");
  if (position_ >= size_) return Status::corrupt("thrift list runs past the end of its data");
  const uint8_t header = data_[position_++];
  element_type = static_cast<WireType>(header & 0x0f);
  uint64_t count = header >> 4;
  if (count == 15) {
    SLUICE_ASSIGN_OR_RETURN(count, read_varint());
  }
  // Every element takes at least one byte, so a larger count is a lie.
  if (count > size_ - position_) {
    return Status::corrupt("thrift list claims " + std::to_string(count) + " elements in " +
                           std::to_string(size_ - position_) + " remaining bytes");
  }
  size = static_cast<int64_t>(count);
  return Status::ok();
}

Status CompactReader::skip(WireType type) {
  return skip_at_depth(type, depth_);
}

Status CompactReader::skip_at_depth(WireType type, int depth) {
  if (depth >= kMaxDepth) return Status::corrupt("thrift values nested deeper than 32 levels");
  switch (type) {
    case WireType::bool_true:
    case WireType::bool_false:
      return Status::ok();
    case WireType::i8:
    case WireType::i16:
    case WireType::i32:
    case WireType::i64:
      return read_integer_element(type).status();
    case WireType::double_:
      return read_double(type).status();
    case WireType::binary: {
      SLUICE_ASSIGN_OR_RETURN(uint64_t length, read_varint());
      if (length > size_ - position_) {
        return Status::corrupt("thrift binary runs past the end of its data");
      }
      position_ += length;
      return Status::ok();
    }
    case WireType::list:
    case WireType::set: {
      WireType element_type;
      int64_t count;
      SLUICE_RETURN_NOT_OK(read_list_header(type, element_type, count));
      for (int64_t i = 0; i < count; ++i) {
        // Booleans inside containers take one byte each.
        if (element_type == WireType::bool_true || element_type == WireType::bool_false) {
          if (position_ >= size_) return Status::corrupt("thrift list runs past its data");
          ++position_;
        } else {
          SLUICE_RETURN_NOT_OK(skip_at_depth(element_type, depth + 1));
        }
      }
      return Status::ok();
    }
    case WireType::map: {
      SLUICE_ASSIGN_OR_RETURN(uint64_t count, read_varint());
      if (count == 0) return Status::ok();
      if (count > size_ - position_) return Status::corrupt("thrift map runs past its data");
      if (position_ >= size_) return Status::corrupt("thrift map runs past its data");
      const uint8_t types = data_[position_++];
      for (uint64_t i = 0; i < count; ++i) {
        SLUICE_RETURN_NOT_OK(skip_at_depth(static_cast<WireType>(types >> 4), depth + 1));
        SLUICE_RETURN_NOT_OK(skip_at_depth(static_cast<WireType>(types & 0x0f), depth + 1));
      }
      return Status::ok();
    }
    case WireType::struct_:
      return read_struct_at_depth(
          [&](int16_t, WireType field_type) { return skip_at_depth(field_type, depth + 1); },
          depth);
    case WireType::stop:
      break;
  }
  return Status::corrupt("thrift value of unknown wire type " +
                         std::to_string(static_cast<int>(type)));
}

}  // namespace sluice::parquet::thrift
