#define BOOST_TEST_MODULE column
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/column.hpp"

using namespace sluice;

namespace {

constexpr Type kAllTypes[] = {Type::Bool, Type::Int64, Type::Double, Type::String, Type::Timestamp};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

BufferPtr int64_buffer(const std::vector<int64_t>& values) {
  auto buffer = Buffer::allocate(static_cast<int64_t>(values.size() * 8));
  if (!values.empty()) std::memcpy(buffer->mutable_data(), values.data(), values.size() * 8);
  return buffer;
}

BufferPtr byte_buffer(const std::vector<uint8_t>& bytes) {
  auto buffer = Buffer::allocate(static_cast<int64_t>(bytes.size()));
  if (!bytes.empty()) std::memcpy(buffer->mutable_data(), bytes.data(), bytes.size());
  return buffer;
}

BufferPtr string_data(const std::string& text) {
  auto buffer = Buffer::allocate(static_cast<int64_t>(text.size()));
  if (!text.empty()) std::memcpy(buffer->mutable_data(), text.data(), text.size());
  return buffer;
}

BufferPtr validity_buffer(const std::vector<bool>& valid) {
  auto buffer = Buffer::allocate(bitmap::bytes_for(static_cast<int64_t>(valid.size())));
  for (size_t i = 0; i < valid.size(); ++i) {
    if (valid[i]) buffer->mutable_data()[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  return buffer;
}

// Lays out values by hand (no ColumnBuilder) and checks them through Column::make.
ColumnPtr column_from(Type type, const std::vector<Value>& values) {
  const size_t n = values.size();
  std::vector<bool> valid(n);
  bool any_null = false;
  for (size_t i = 0; i < n; ++i) {
    valid[i] = !values[i].is_null();
    any_null |= values[i].is_null();
  }
  BufferPtr data;
  std::shared_ptr<Buffer> buffer;
  if (type == Type::String) {
    std::vector<int64_t> offsets{0};
    std::string bytes;
    for (const auto& value : values) {
      if (!value.is_null()) bytes += value.as_string();
      offsets.push_back(static_cast<int64_t>(bytes.size()));
    }
    data = string_data(bytes);
    return Column::make(type, static_cast<int64_t>(n), int64_buffer(offsets),
                        any_null ? validity_buffer(valid) : nullptr, data)
        .value();
  }
  buffer = Buffer::allocate(static_cast<int64_t>(n) * value_width(type));
  for (size_t i = 0; i < n; ++i) {
    if (values[i].is_null()) continue;
    switch (type) {
      case Type::Bool:
        buffer->mutable_data()[i] = values[i].as_bool();
        break;
      case Type::Int64:
        buffer->mutable_as<int64_t>()[i] = values[i].as_int64();
        break;
      case Type::Double:
        buffer->mutable_as<double>()[i] = values[i].as_double();
        break;
      case Type::Timestamp:
        buffer->mutable_as<int64_t>()[i] = values[i].as_timestamp().micros;
        break;
      case Type::String:
        break;
    }
  }
  return Column::make(type, static_cast<int64_t>(n), buffer,
                      any_null ? validity_buffer(valid) : nullptr)
      .value();
}

Value random_value(Type type, std::mt19937_64& random) {
  switch (type) {
    case Type::Bool:
      return Value(random() % 2 == 1);
    case Type::Int64:
      return Value(static_cast<int64_t>(random()));
    case Type::Double:
      return Value(static_cast<double>(static_cast<int64_t>(random())) / 1e6);
    case Type::Timestamp:
      return Value(Timestamp{static_cast<int64_t>(random() >> 8)});
    case Type::String: {
      static const char* const kPieces[] = {"a", "bc", "é", "日本", "", "xyz", " "};
      std::string text;
      for (auto pieces = random() % 5; pieces > 0; --pieces)
        text += kPieces[random() % 7];
      return Value(text);
    }
  }
  return Value();
}

std::vector<Value> random_values(Type type, size_t n, double null_share, std::mt19937_64& random) {
  std::bernoulli_distribution is_null(null_share);
  std::vector<Value> values;
  for (size_t i = 0; i < n; ++i)
    values.push_back(is_null(random) ? Value() : random_value(type, random));
  return values;
}

int64_t count_nulls(const std::vector<Value>& values, size_t begin, size_t end) {
  int64_t nulls = 0;
  for (size_t i = begin; i < end; ++i)
    nulls += values[i].is_null();
  return nulls;
}

void check_rows(const Column& column, const std::vector<Value>& expected, const std::string& what) {
  BOOST_REQUIRE_MESSAGE(column.length() == static_cast<int64_t>(expected.size()), what);
  BOOST_TEST(column.null_count() == count_nulls(expected, 0, expected.size()), what);
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto row = static_cast<int64_t>(i);
    if (column.value_at(row) != expected[i] || column.is_null(row) != expected[i].is_null()) {
      BOOST_ERROR(what << ": row " << i << " is " << column.value_at(row) << ", expected "
                       << expected[i]);
      return;
    }
  }
}

Status make_error(Result<ColumnPtr> result) {
  BOOST_REQUIRE(!result.ok());
  return result.status();
}

}  // namespace

BOOST_AUTO_TEST_CASE(make_refuses_a_values_buffer_too_short_for_the_rows) {
  Status status = make_error(Column::make(Type::Int64, 3, Buffer::allocate(16), nullptr));
  BOOST_TEST(status.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(status.message(), "BIGINT column of 3 rows"), status.message());
  BOOST_TEST(contains(status.message(), "values buffer holds 16 bytes, needs 24"),
             status.message());

  // The offset counts: rows 2..3 of a DOUBLE buffer need 32 bytes.
  status = make_error(Column::make(Type::Double, 2, Buffer::allocate(24), nullptr, nullptr, 2));
  BOOST_TEST(contains(status.message(), "needs 32"), status.message());

  // Strings need one offset more than rows.
  status =
      make_error(Column::make(Type::String, 3, Buffer::allocate(24), nullptr, string_data("")));
  BOOST_TEST(contains(status.message(), "STRING column of 3 rows"), status.message());
  BOOST_TEST(contains(status.message(), "needs 32"), status.message());

  status = make_error(Column::make(Type::Bool, 5, Buffer::allocate(4), nullptr));
  BOOST_TEST(contains(status.message(), "holds 4 bytes, needs 5"), status.message());
}

BOOST_AUTO_TEST_CASE(make_refuses_a_missing_values_buffer) {
  Status status = make_error(Column::make(Type::Int64, 1, nullptr, nullptr));
  BOOST_TEST(contains(status.message(), "missing values buffer"), status.message());
}

BOOST_AUTO_TEST_CASE(make_refuses_a_validity_bitmap_too_short_for_the_rows) {
  Status status =
      make_error(Column::make(Type::Int64, 20, Buffer::allocate(160), Buffer::allocate(2)));
  BOOST_TEST(status.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(status.message(), "validity bitmap holds 2 bytes, needs 3"),
             status.message());
  // Rows 5..16 end in the third byte of the bitmap.
  status = make_error(
      Column::make(Type::Int64, 12, Buffer::allocate(17 * 8), Buffer::allocate(2), nullptr, 5));
  BOOST_TEST(contains(status.message(), "needs 3"), status.message());
}

BOOST_AUTO_TEST_CASE(make_refuses_negative_lengths_and_offsets_naming_which) {
  Status status = make_error(Column::make(Type::Int64, -1, Buffer::allocate(8), nullptr));
  BOOST_TEST(contains(status.message(), "negative length"), status.message());
  status = make_error(Column::make(Type::Int64, 1, Buffer::allocate(8), nullptr, nullptr, -2));
  BOOST_TEST(contains(status.message(), "negative offset -2"), status.message());
}

BOOST_AUTO_TEST_CASE(make_refuses_strings_without_a_data_buffer) {
  Status status = make_error(Column::make(Type::String, 1, int64_buffer({0, 0}), nullptr));
  BOOST_TEST(contains(status.message(), "missing string data buffer"), status.message());
}

BOOST_AUTO_TEST_CASE(make_refuses_decreasing_string_offsets_naming_the_row) {
  Status status = make_error(
      Column::make(Type::String, 3, int64_buffer({0, 3, 2, 5}), nullptr, string_data("hello")));
  BOOST_TEST(status.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(status.message(), "string offsets decrease at row 1"), status.message());
}

BOOST_AUTO_TEST_CASE(make_refuses_string_offsets_past_the_data) {
  Status status = make_error(
      Column::make(Type::String, 2, int64_buffer({0, 2, 10}), nullptr, string_data("hello")));
  BOOST_TEST(contains(status.message(), "string offsets reach byte 10 of a 5-byte data buffer"),
             status.message());
  status = make_error(
      Column::make(Type::String, 1, int64_buffer({-1, 2}), nullptr, string_data("hello")));
  BOOST_TEST(contains(status.message(), "negative string offset"), status.message());
}

BOOST_AUTO_TEST_CASE(make_checks_string_offsets_only_inside_the_window) {
  // Offsets before the window may decrease; rows 1..2 span "ell".
  auto column =
      Column::make(Type::String, 2, int64_buffer({4, 1, 2, 4}), nullptr, string_data("hello"), 1);
  BOOST_REQUIRE(column.ok());
  BOOST_TEST((*column)->string_at(0) == "e");
  BOOST_TEST((*column)->string_at(1) == "ll");
}

BOOST_AUTO_TEST_CASE(make_refuses_boolean_bytes_other_than_zero_and_one) {
  Status status = make_error(Column::make(Type::Bool, 3, byte_buffer({0, 1, 2}), nullptr));
  BOOST_TEST(contains(status.message(), "boolean value 2 at row 2"), status.message());
  // A 2 before the window is not looked at.
  BOOST_TEST(Column::make(Type::Bool, 2, byte_buffer({2, 0, 1}), nullptr, nullptr, 1).ok());
}

BOOST_AUTO_TEST_CASE(make_reads_rows_from_the_given_offset) {
  std::vector<int64_t> raw(10);
  for (int64_t i = 0; i < 10; ++i)
    raw[static_cast<size_t>(i)] = i * 11;
  //                         rows:    0     1     2     3      4     5     6      7  ...
  auto validity = validity_buffer({true, true, true, false, true, true, false, true, true, true});
  auto column = Column::make(Type::Int64, 4, int64_buffer(raw), validity, nullptr, 3).value();
  BOOST_TEST(column->offset() == 3);
  BOOST_TEST(column->length() == 4);
  BOOST_TEST(column->null_count() == 2);
  check_rows(*column, {Value(), Value(44), Value(55), Value()}, "offset 3");
  BOOST_TEST(column->values<int64_t>()[1] == 44);
}

BOOST_AUTO_TEST_CASE(null_count_counts_cleared_validity_bits_and_full_bitmaps_are_dropped) {
  std::vector<bool> valid(100, true);
  for (size_t i : {0u, 7u, 8u, 63u, 64u, 99u})
    valid[i] = false;
  auto column =
      Column::make(Type::Int64, 100, Buffer::allocate(800), validity_buffer(valid)).value();
  BOOST_TEST(column->null_count() == 6);
  BOOST_TEST(column->has_nulls());
  BOOST_TEST(column->is_null(63));
  BOOST_TEST(column->is_valid(62));

  auto all_valid = Column::make(Type::Int64, 100, Buffer::allocate(800),
                                validity_buffer(std::vector<bool>(100, true)))
                       .value();
  BOOST_TEST(all_valid->null_count() == 0);
  BOOST_TEST(!all_valid->has_nulls());
  BOOST_TEST((all_valid->validity_bits() == nullptr));
  BOOST_TEST(all_valid->validity_buffer() == nullptr);
}

BOOST_AUTO_TEST_CASE(make_null_gives_all_null_columns_of_every_type) {
  for (Type type : kAllTypes) {
    for (int64_t length : {0, 1, 13, 100}) {
      auto column = Column::make_null(type, length);
      BOOST_TEST(column->type() == type);
      BOOST_TEST(column->length() == length);
      BOOST_TEST(column->null_count() == length);
      BOOST_TEST(column->has_nulls() == (length > 0));
      for (int64_t i = 0; i < length; ++i)
        BOOST_TEST(column->value_at(i).is_null());
    }
  }
}

BOOST_AUTO_TEST_CASE(all_null_column_slices_stay_all_null) {
  auto column = Column::make_null(Type::String, 50)->slice(13, 20);
  BOOST_TEST(column->null_count() == 20);
  BOOST_TEST(column->value_at(19).is_null());
}

BOOST_AUTO_TEST_CASE(make_constant_repeats_the_value_for_each_type) {
  const std::vector<std::pair<Type, Value>> cases = {
      {Type::Bool, Value(true)},
      {Type::Int64, Value(-7)},
      {Type::Double, Value(2.5)},
      {Type::String, Value("héllo")},
      {Type::Timestamp, Value(Timestamp{1'700'000'000'000'000})},
  };
  for (const auto& [type, value] : cases) {
    auto column = Column::make_constant(type, value, 37);
    BOOST_REQUIRE(column.ok());
    BOOST_TEST((*column)->type() == type);
    check_rows(**column, std::vector<Value>(37, value), std::string(type_name(type)));
  }
}

BOOST_AUTO_TEST_CASE(make_constant_of_null_gives_nulls_and_of_zero_length_gives_empty) {
  auto nulls = Column::make_constant(Type::Double, Value(), 9).value();
  BOOST_TEST(nulls->null_count() == 9);
  auto empty = Column::make_constant(Type::String, Value("x"), 0).value();
  BOOST_TEST(empty->length() == 0);
}

BOOST_AUTO_TEST_CASE(make_constant_widens_integers_and_refuses_other_types) {
  auto doubles = Column::make_constant(Type::Double, Value(3), 2).value();
  BOOST_TEST(doubles->value_at(1) == Value(3.0));
  auto timestamps = Column::make_constant(Type::Timestamp, Value(5), 2).value();
  BOOST_TEST(timestamps->value_at(0) == Value(Timestamp{5}));
  auto refused = Column::make_constant(Type::Int64, Value("seven"), 2);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.status().code() == StatusCode::type_error);
  BOOST_TEST(contains(refused.status().message(), "STRING"));
  BOOST_TEST(contains(refused.status().message(), "BIGINT"));
}

BOOST_AUTO_TEST_CASE(value_at_reads_each_type) {
  auto bools = Column::make(Type::Bool, 2, byte_buffer({1, 0}), nullptr).value();
  BOOST_TEST(bools->value_at(0) == Value(true));
  BOOST_TEST(bools->value_at(1) == Value(false));

  auto ints = Column::make(Type::Int64, 2, int64_buffer({-5, 1ll << 40}), nullptr).value();
  BOOST_TEST(ints->value_at(1) == Value(int64_t{1} << 40));

  auto doubles_buffer = Buffer::allocate(16);
  doubles_buffer->mutable_as<double>()[0] = 0.25;
  doubles_buffer->mutable_as<double>()[1] = -1e300;
  auto doubles = Column::make(Type::Double, 2, doubles_buffer, nullptr).value();
  BOOST_TEST(doubles->value_at(0) == Value(0.25));
  BOOST_TEST(doubles->value_at(1) == Value(-1e300));

  auto strings =
      Column::make(Type::String, 3, int64_buffer({0, 3, 3, 9}), nullptr, string_data("abcdé日"))
          .value();
  BOOST_TEST(strings->value_at(0) == Value("abc"));
  BOOST_TEST(strings->value_at(1) == Value(""));
  BOOST_TEST(strings->value_at(2) == Value("dé日"));
  BOOST_TEST(strings->string_at(2) == "dé日");

  auto timestamps = Column::make(Type::Timestamp, 1, int64_buffer({-1}), nullptr).value();
  BOOST_TEST(timestamps->value_at(0) == Value(Timestamp{-1}));
  // A timestamp is not a BIGINT even with the same bits.
  BOOST_TEST(timestamps->value_at(0) != Value(int64_t{-1}));
}

BOOST_AUTO_TEST_CASE(slice_shares_buffers_and_keeps_values_and_nulls_at_unaligned_offsets) {
  const uint64_t seed = 8;
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  for (Type type : kAllTypes) {
    const auto values = random_values(type, 150, 0.3, random);
    auto column = column_from(type, values);
    for (int64_t offset = 0; offset <= 40; ++offset) {
      for (int64_t length : {0, 1, 7, 8, 9, 63, 64, 65, 100}) {
        if (offset + length > 150) continue;
        auto slice = column->slice(offset, length);
        const std::vector<Value> expected(values.begin() + offset,
                                          values.begin() + offset + length);
        check_rows(*slice, expected,
                   std::string(type_name(type)) + " slice " + std::to_string(offset) + "+" +
                       std::to_string(length));
        BOOST_TEST(slice->values_buffer() == column->values_buffer());
        BOOST_TEST(slice->data_buffer() == column->data_buffer());
        if (slice->has_nulls()) BOOST_TEST(slice->validity_buffer() == column->validity_buffer());
        if (!slice->has_nulls()) BOOST_TEST((slice->validity_bits() == nullptr));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(slice_of_a_slice_adds_the_offsets) {
  std::mt19937_64 random(9);
  const auto values = random_values(Type::String, 100, 0.2, random);
  auto column = column_from(Type::String, values);
  auto inner = column->slice(5, 80)->slice(11, 30);
  BOOST_TEST(inner->offset() == 16);
  check_rows(*inner, std::vector<Value>(values.begin() + 16, values.begin() + 46), "nested");
}

BOOST_AUTO_TEST_CASE(take_gathers_rows_with_duplicates_and_nulls) {
  const uint64_t seed = 10;
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  for (Type type : kAllTypes) {
    const auto values = random_values(type, 120, 0.25, random);
    auto column = column_from(type, values);
    // Indices repeat, run backwards and include nulls; taken from a slice at offset 3.
    auto slice = column->slice(3, 100);
    std::vector<int32_t> indices;
    for (int i = 0; i < 250; ++i)
      indices.push_back(static_cast<int32_t>(random() % 100));
    indices.push_back(0);
    indices.push_back(0);
    indices.push_back(99);
    auto taken = slice->take(indices.data(), static_cast<int64_t>(indices.size()));
    std::vector<Value> expected;
    for (int32_t index : indices)
      expected.push_back(values[static_cast<size_t>(index) + 3]);
    BOOST_TEST(taken->offset() == 0);
    check_rows(*taken, expected, std::string(type_name(type)) + " take");
    BOOST_TEST(taken->values_buffer() != column->values_buffer());
  }
}

BOOST_AUTO_TEST_CASE(take_of_nothing_is_an_empty_column) {
  std::mt19937_64 random(11);
  for (Type type : kAllTypes) {
    auto column = column_from(type, random_values(type, 10, 0.5, random));
    auto taken = column->take(nullptr, 0);
    BOOST_TEST(taken->length() == 0);
    BOOST_TEST(taken->type() == type);
    BOOST_TEST(taken->null_count() == 0);
  }
}

BOOST_AUTO_TEST_CASE(take_of_only_valid_rows_drops_the_bitmap) {
  auto column = column_from(Type::Int64, {Value(1), Value(), Value(3)});
  const int32_t indices[] = {2, 0, 2};
  auto taken = column->take(indices, 3);
  BOOST_TEST(!taken->has_nulls());
  BOOST_TEST((taken->validity_bits() == nullptr));
  check_rows(*taken, {Value(3), Value(1), Value(3)}, "valid only");
}

BOOST_AUTO_TEST_CASE(columns_over_unpadded_wrapped_buffers_read_only_their_own_bytes) {
  // Exact-size heap blocks: under AddressSanitizer a read past the last byte fails the test.
  std::mt19937_64 random(12);
  const auto values = random_values(Type::Int64, 77, 0.3, random);
  auto raw = std::make_shared<std::vector<int64_t>>(values.size());
  auto bits = std::make_shared<std::vector<uint8_t>>(bitmap::bytes_for(77));
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].is_null()) continue;
    (*raw)[i] = values[i].as_int64();
    (*bits)[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  auto column = Column::make(Type::Int64, 70, Buffer::wrap(raw->data(), 77 * 8, raw),
                             Buffer::wrap(bits->data(), static_cast<int64_t>(bits->size()), bits),
                             nullptr, 7);
  BOOST_REQUIRE(column.ok());
  check_rows(**column, std::vector<Value>(values.begin() + 7, values.end()), "wrapped");
  auto slice = (*column)->slice(3, 67);
  check_rows(*slice, std::vector<Value>(values.begin() + 10, values.end()), "wrapped slice");
  const int32_t indices[] = {66, 0, 33};
  auto taken = slice->take(indices, 3);
  check_rows(*taken, {values[76], values[10], values[43]}, "wrapped take");
}
