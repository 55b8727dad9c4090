#include "core/column_builder.hpp"

#include <algorithm>
#include <cstring>

namespace sluice {

ColumnBuilder::ColumnBuilder(Type type) : type_(type) { reserve(16); }

void ColumnBuilder::reserve(int64_t rows) {
  const int64_t wanted = length_ + rows;
  if (wanted <= capacity_ && values_) return;
  const int64_t capacity = std::max(wanted, capacity_ * 2);
  const int64_t slots = type_ == Type::String ? capacity + 1 : capacity;
  if (!values_) {
    values_ = Buffer::allocate(slots * value_width(type_));
    validity_ = Buffer::allocate(bitmap::bytes_for(capacity));
    if (type_ == Type::String) data_ = Buffer::allocate(0);
  } else {
    values_->resize(slots * value_width(type_));
    validity_->resize(bitmap::bytes_for(capacity));
  }
  capacity_ = capacity;
}

void ColumnBuilder::grow_for_one() {
  if (length_ >= capacity_) reserve(1);
}

void ColumnBuilder::mark_valid() {
  bitmap::set(validity_->mutable_data(), length_);
  ++length_;
  if (type_ == Type::String) values_->mutable_as<int64_t>()[length_] = data_size_;
}

void ColumnBuilder::append_null() {
  grow_for_one();
  has_null_ = true;
  ++length_;
  if (type_ == Type::String) values_->mutable_as<int64_t>()[length_] = data_size_;
}

void ColumnBuilder::append_string(std::string_view v) {
  grow_for_one();
  const int64_t size = static_cast<int64_t>(v.size());
  if (data_size_ + size > data_->size()) data_->resize(std::max(data_size_ + size, data_->size() * 2));
  // An empty string_view may have a null data(), which memcpy must not receive.
  if (size > 0) std::memcpy(data_->mutable_data() + data_size_, v.data(), v.size());
  data_size_ += size;
  mark_valid();
}

Status ColumnBuilder::append_value(const Value& value) {
  if (value.is_null()) {
    append_null();
    return Status::ok();
  }
  const Type given = *value.type();
  if (given == type_) {
    switch (type_) {
      case Type::Bool: append_bool(value.as_bool()); break;
      case Type::Int64: append_int64(value.as_int64()); break;
      case Type::Double: append_double(value.as_double()); break;
      case Type::String: append_string(value.as_string()); break;
      case Type::Timestamp: append_timestamp(value.as_timestamp().micros); break;
    }
    return Status::ok();
  }
  if (given == Type::Int64 && type_ == Type::Double) {
    append_double(static_cast<double>(value.as_int64()));
    return Status::ok();
  }
  if (given == Type::Int64 && type_ == Type::Timestamp) {
    append_timestamp(value.as_int64());
    return Status::ok();
  }
  return Status::type_error("cannot append " + std::string(type_name(given)) + " value " +
                            value.to_string() + " to a " + std::string(type_name(type_)) +
                            " column");
}

ColumnPtr ColumnBuilder::finish() {
  if (type_ == Type::String) {
    data_->set_size(data_size_);
    values_->set_size((length_ + 1) * 8);
  } else {
    values_->set_size(length_ * value_width(type_));
  }
  validity_->set_size(bitmap::bytes_for(length_));
  ColumnPtr column = Column::make_unchecked(type_, length_, std::move(values_),
                                            has_null_ ? std::move(validity_) : nullptr,
                                            std::move(data_));
  values_.reset();
  validity_.reset();
  data_.reset();
  length_ = 0;
  capacity_ = 0;
  data_size_ = 0;
  has_null_ = false;
  reserve(16);
  return column;
}

}  // namespace sluice
