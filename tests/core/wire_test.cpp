#define BOOST_TEST_MODULE wire
#include <boost/test/unit_test.hpp>

#include <flatbuffers/flatbuffers.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/record_batch.hpp"
#include "core/wire.hpp"
#include "wire_generated.h"

using namespace sluice;

namespace {

using Rows = std::vector<std::vector<Value>>;

SchemaPtr all_types_schema() {
  return Schema::make({{"flag", Type::Bool},
                       {"id", Type::Int64},
                       {"price", Type::Double},
                       {"name", Type::String},
                       {"at", Type::Timestamp}})
      .value();
}

// Builds rows of every type, with a null in every column at a different period.
Rows all_types_rows(int64_t count) {
  Rows rows;
  for (int64_t i = 0; i < count; ++i) {
    std::vector<Value> row(5);
    if (i % 7 != 3) row[0] = Value(i % 3 == 0);
    if (i % 5 != 1) row[1] = Value(int64_t{i * 1000003 - 77});
    if (i % 11 != 2) row[2] = Value(static_cast<double>(i) * 0.25 - 3.5);
    if (i % 4 != 0) row[3] = Value("s" + std::to_string(i * i));
    if (i % 13 != 5) row[4] = Value(Timestamp{1'700'000'000'000'000 + i});
    rows.push_back(std::move(row));
  }
  return rows;
}

RecordBatchPtr make_batch(const SchemaPtr& schema, const Rows& rows) {
  auto batch = RecordBatch::from_rows(schema, rows);
  BOOST_REQUIRE_MESSAGE(batch.ok(), batch.status().to_string());
  return *batch;
}

std::vector<uint8_t> encode(const RecordBatch& batch) {
  auto bytes = wire::encode_batch(batch);
  BOOST_REQUIRE_MESSAGE(bytes.ok(), bytes.status().to_string());
  return *bytes;
}

RecordBatchPtr round_trip(const RecordBatch& batch) {
  std::vector<uint8_t> bytes = encode(batch);
  auto decoded = wire::decode_batch(bytes.data(), bytes.size());
  BOOST_REQUIRE_MESSAGE(decoded.ok(), decoded.status().to_string());
  return *decoded;
}

void check_same(const RecordBatch& decoded, const RecordBatch& original) {
  BOOST_TEST((*decoded.schema() == *original.schema()), decoded.schema()->to_string());
  BOOST_TEST(decoded.num_rows() == original.num_rows());
  BOOST_TEST(decoded.num_columns() == original.num_columns());
  BOOST_TEST((decoded.to_rows() == original.to_rows()));
}

// Expects decoding to fail as corrupt with a message holding every given piece.
void expect_corrupt(const std::vector<uint8_t>& bytes, const std::vector<std::string>& pieces) {
  auto decoded = wire::decode_batch(bytes.data(), bytes.size());
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.status().code() == StatusCode::corrupt);
  for (const std::string& piece : pieces) {
    BOOST_TEST(decoded.status().message().find(piece) != std::string::npos,
               "message \"" << decoded.status().message() << "\" lacks \"" << piece << "\"");
  }
}

// Describes a batch buffer field by field, so tests can write what encode_batch never would.
struct RawField {
  std::string name;
  uint8_t type;
  bool nullable = true;
};

struct RawColumn {
  uint8_t type;
  std::optional<std::vector<uint8_t>> validity;
  std::optional<std::vector<uint8_t>> values;
  std::optional<std::vector<uint8_t>> data;
};

struct RawBatch {
  uint32_t format_version = wire::kFormatVersion;
  uint32_t schema_format_version = wire::kFormatVersion;
  std::vector<RawField> fields;
  int64_t num_rows = 0;
  std::vector<RawColumn> columns;
};

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::vector<uint8_t> build(const RawBatch& raw) {
  flatbuffers::FlatBufferBuilder builder;
  std::vector<flatbuffers::Offset<wire::fb::Field>> fields;
  for (const RawField& field : raw.fields) {
    auto name = builder.CreateString(field.name);
    fields.push_back(wire::fb::CreateField(builder, name, static_cast<wire::fb::Type>(field.type),
                                           field.nullable));
  }
  auto schema =
      wire::fb::CreateSchema(builder, raw.schema_format_version, builder.CreateVector(fields));
  std::vector<flatbuffers::Offset<wire::fb::Column>> columns;
  for (const RawColumn& column : raw.columns) {
    auto vector = [&](const std::optional<std::vector<uint8_t>>& bytes) {
      return bytes ? builder.CreateVector(*bytes)
                   : flatbuffers::Offset<flatbuffers::Vector<uint8_t>>();
    };
    auto validity = vector(column.validity);
    auto values = vector(column.values);
    auto data = vector(column.data);
    columns.push_back(wire::fb::CreateColumn(builder, static_cast<wire::fb::Type>(column.type),
                                             validity, values, data));
  }
  auto root = wire::fb::CreateRecordBatch(builder, raw.format_version, schema, raw.num_rows,
                                          builder.CreateVector(columns));
  builder.FinishSizePrefixed(root, wire::kBatchFileIdentifier);
  return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

constexpr uint8_t kBool = 0, kInt64 = 1, kDouble = 2, kString = 3;

// A valid three-row batch: flag BOOLEAN, id BIGINT NOT NULL, name STRING with row 1 null.
RawBatch valid_raw_batch() {
  RawBatch raw;
  raw.fields = {{"flag", kBool}, {"id", kInt64, false}, {"name", kString}};
  raw.num_rows = 3;
  raw.columns.push_back({kBool, std::nullopt, std::vector<uint8_t>{1, 0, 1}, std::nullopt});
  raw.columns.push_back(
      {kInt64, std::nullopt, bytes_of(std::vector<int64_t>{10, 20, 30}), std::nullopt});
  raw.columns.push_back({kString, std::vector<uint8_t>{0b101},
                         bytes_of(std::vector<int64_t>{0, 3, 3, 8}),
                         std::vector<uint8_t>{'a', 'b', 'c', 'h', 'e', 'l', 'l', 'o'}});
  return raw;
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// Round trips

BOOST_AUTO_TEST_CASE(every_type_round_trips_with_nulls) {
  auto batch = make_batch(all_types_schema(), all_types_rows(300));
  auto decoded = round_trip(*batch);
  check_same(*decoded, *batch);
  for (int c = 0; c < decoded->num_columns(); ++c) {
    BOOST_TEST(decoded->column(c)->null_count() == batch->column(c)->null_count());
    BOOST_TEST(decoded->column(c)->type() == batch->column(c)->type());
  }
}

BOOST_AUTO_TEST_CASE(each_type_alone_round_trips) {
  const std::vector<std::pair<Type, std::vector<Value>>> cases = {
      {Type::Bool, {true, false, Value(), true}},
      {Type::Int64, {int64_t{INT64_MIN}, int64_t{INT64_MAX}, Value(), int64_t{0}}},
      {Type::Double, {1.5, -0.0, Value(), 1e308}},
      {Type::String, {"a", "", Value(), "longer string value"}},
      {Type::Timestamp, {Timestamp{-1}, Timestamp{0}, Value(), Timestamp{INT64_MAX}}},
  };
  for (const auto& [type, values] : cases) {
    BOOST_TEST_CONTEXT("type " << type) {
      auto schema = Schema::make({{"v", type}}).value();
      Rows rows;
      for (const Value& value : values)
        rows.push_back({value});
      auto batch = make_batch(schema, rows);
      check_same(*round_trip(*batch), *batch);
    }
  }
}

BOOST_AUTO_TEST_CASE(special_doubles_keep_their_bits) {
  auto schema = Schema::make({{"v", Type::Double}}).value();
  const std::vector<double> values = {
      std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(), -0.0, std::numeric_limits<double>::denorm_min()};
  ColumnBuilder builder(Type::Double);
  for (double v : values)
    builder.append_double(v);
  auto batch = RecordBatch::make(schema, {builder.finish()}).value();
  auto decoded = round_trip(*batch);
  BOOST_TEST(std::memcmp(decoded->column(0)->values<double>(), values.data(),
                         values.size() * sizeof(double)) == 0);
}

BOOST_AUTO_TEST_CASE(empty_batch_round_trips) {
  auto batch = RecordBatch::make_empty(all_types_schema());
  auto decoded = round_trip(*batch);
  check_same(*decoded, *batch);
  BOOST_TEST(decoded->num_rows() == 0);
}

BOOST_AUTO_TEST_CASE(all_null_columns_round_trip) {
  Rows rows(37, std::vector<Value>(5));
  auto batch = make_batch(all_types_schema(), rows);
  auto decoded = round_trip(*batch);
  check_same(*decoded, *batch);
  for (const ColumnPtr& column : decoded->columns())
    BOOST_TEST(column->null_count() == 37);
}

BOOST_AUTO_TEST_CASE(single_row_round_trips) {
  auto batch = make_batch(all_types_schema(), all_types_rows(1));
  check_same(*round_trip(*batch), *batch);
}

BOOST_AUTO_TEST_CASE(million_row_batch_of_mixed_types_round_trips) {
  constexpr int64_t kRows = 1'000'000;
  ColumnBuilder ids(Type::Int64), prices(Type::Double), names(Type::String), flags(Type::Bool);
  for (int64_t i = 0; i < kRows; ++i) {
    ids.append_int64(i * 31);
    if (i % 10 == 9) {
      prices.append_null();
    } else {
      prices.append_double(static_cast<double>(i) / 8);
    }
    names.append_string(std::string_view("abcdefghijklmnopqrstuvwxyz").substr(0, i % 27));
    flags.append_bool(i % 3 == 0);
  }
  auto schema = Schema::make({{"id", Type::Int64, false},
                              {"price", Type::Double},
                              {"name", Type::String},
                              {"flag", Type::Bool}})
                    .value();
  auto batch =
      RecordBatch::make(schema, {ids.finish(), prices.finish(), names.finish(), flags.finish()})
          .value();
  auto decoded = round_trip(*batch);
  BOOST_REQUIRE(decoded->num_rows() == kRows);
  BOOST_TEST(decoded->column(1)->null_count() == kRows / 10);
  // Every row is compared through the raw accessors (Value rows for a million rows are slow
  // under sanitizers), and slices at both ends and the middle through to_rows.
  int64_t mismatches = 0;
  for (int c = 0; c < batch->num_columns(); ++c) {
    const Column& expected = *batch->column(c);
    const Column& actual = *decoded->column(c);
    for (int64_t i = 0; i < kRows; ++i) {
      bool same = expected.is_valid(i) == actual.is_valid(i);
      if (same && expected.is_valid(i)) {
        switch (expected.type()) {
          case Type::Bool:
            same = expected.values<uint8_t>()[i] == actual.values<uint8_t>()[i];
            break;
          case Type::String:
            same = expected.string_at(i) == actual.string_at(i);
            break;
          default:
            same = expected.values<int64_t>()[i] == actual.values<int64_t>()[i];
            break;
        }
      }
      mismatches += same ? 0 : 1;
    }
  }
  BOOST_TEST(mismatches == 0);
  for (int64_t start : {int64_t{0}, kRows / 2 - 5'000, kRows - 10'000}) {
    BOOST_TEST((decoded->slice(start, 10'000)->to_rows() == batch->slice(start, 10'000)->to_rows()),
               "rows from " << start);
  }
}

BOOST_AUTO_TEST_CASE(batch_without_columns_keeps_its_row_count) {
  auto schema = Schema::make({}).value();
  for (int64_t rows : {0, 1, 12345}) {
    auto batch = RecordBatch::make(schema, {}, rows).value();
    auto decoded = round_trip(*batch);
    BOOST_TEST(decoded->num_columns() == 0);
    BOOST_TEST(decoded->num_rows() == rows);
  }
}

BOOST_AUTO_TEST_CASE(sliced_batches_encode_like_their_copies) {
  auto batch = make_batch(all_types_schema(), all_types_rows(500));
  for (int64_t offset : {1, 3, 13, 64, 65, 200}) {
    for (int64_t length : {0, 1, 7, 64, 100, 150}) {
      BOOST_TEST_CONTEXT("offset " << offset << " length " << length) {
        auto slice = batch->slice(offset, length);
        auto decoded = round_trip(*slice);
        check_same(*decoded, *slice);
        // A slice encodes to the very bytes of a fresh batch holding the same rows: the
        // encoder normalizes bit offsets, string offsets and the unused bits of the bitmap.
        auto copy = make_batch(slice->schema(), slice->to_rows());
        BOOST_TEST((encode(*slice) == encode(*copy)));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(string_slices_drop_the_bytes_outside_the_slice) {
  auto schema = Schema::make({{"s", Type::String}}).value();
  Rows rows;
  for (int i = 0; i < 100; ++i)
    rows.push_back({std::string(1000, static_cast<char>('a' + i % 26))});
  auto batch = make_batch(schema, rows);
  auto slice = batch->slice(50, 2);
  const std::vector<uint8_t> bytes = encode(*slice);
  BOOST_TEST(bytes.size() < 2500u);
  auto decoded = wire::decode_batch(bytes.data(), bytes.size()).value();
  BOOST_TEST(decoded->column(0)->values<int64_t>()[0] == 0);
  BOOST_TEST(decoded->column(0)->data_buffer()->size() == 2000);
  check_same(*decoded, *slice);
}

BOOST_AUTO_TEST_CASE(unicode_and_empty_strings_round_trip) {
  auto schema = Schema::make({{"text", Type::String}, {"ünïcödé 名前", Type::Int64}}).value();
  const Rows rows = {{"", 1},
                     {"héllo wörld", 2},
                     {"日本語のテキスト", 3},
                     {"emoji 🚀🌊 mixed", 4},
                     {std::string("nul\0inside", 10), 5},
                     {"", Value()},
                     {Value(), 7},
                     {"", 8}};
  auto batch = make_batch(schema, rows);
  auto decoded = round_trip(*batch);
  check_same(*decoded, *batch);
  BOOST_TEST(decoded->column(0)->string_at(4).size() == 10u);
  BOOST_TEST(decoded->schema()->field(1).name == "ünïcödé 名前");
}

BOOST_AUTO_TEST_CASE(not_null_fields_keep_their_flag) {
  auto schema = Schema::make({{"id", Type::Int64, false}, {"name", Type::String, true}}).value();
  auto batch = make_batch(schema, {{1, "a"}, {2, Value()}});
  auto decoded = round_trip(*batch);
  BOOST_TEST(decoded->schema()->field(0).nullable == false);
  BOOST_TEST(decoded->schema()->field(1).nullable == true);
}

BOOST_AUTO_TEST_CASE(decoded_columns_own_their_bytes) {
  auto batch = make_batch(all_types_schema(), all_types_rows(50));
  std::vector<uint8_t> bytes = encode(*batch);
  auto decoded = wire::decode_batch(bytes.data(), bytes.size()).value();
  const Rows expected = decoded->to_rows();
  std::fill(bytes.begin(), bytes.end(), 0xab);
  bytes.clear();
  bytes.shrink_to_fit();
  BOOST_TEST((decoded->to_rows() == expected));
  for (const ColumnPtr& column : decoded->columns()) {
    BOOST_TEST(reinterpret_cast<uintptr_t>(column->values_buffer()->data()) % 64 == 0u);
  }
}

BOOST_AUTO_TEST_CASE(misaligned_input_decodes) {
  auto batch = make_batch(all_types_schema(), all_types_rows(40));
  const std::vector<uint8_t> bytes = encode(*batch);
  for (size_t shift = 1; shift < 8; ++shift) {
    std::vector<uint8_t> shifted(bytes.size() + shift);
    std::memcpy(shifted.data() + shift, bytes.data(), bytes.size());
    auto decoded = wire::decode_batch(shifted.data() + shift, bytes.size());
    BOOST_REQUIRE_MESSAGE(decoded.ok(), decoded.status().to_string());
    check_same(**decoded, *batch);
  }
}

BOOST_AUTO_TEST_CASE(encoder_reuse_gives_the_same_bytes_as_one_shot_encoding) {
  wire::BatchEncoder encoder;
  for (int64_t rows : {10, 1000, 3, 5000, 0}) {
    auto batch = make_batch(all_types_schema(), all_types_rows(rows));
    auto span = encoder.encode(*batch);
    BOOST_REQUIRE(span.ok());
    const std::vector<uint8_t> reused(span->begin(), span->end());
    BOOST_TEST((reused == encode(*batch)));
    check_same(*wire::decode_batch(reused.data(), reused.size()).value(), *batch);
  }
}

BOOST_AUTO_TEST_CASE(batch_buffers_carry_the_identifier_and_version) {
  auto batch = make_batch(all_types_schema(), all_types_rows(3));
  const std::vector<uint8_t> bytes = encode(*batch);
  BOOST_TEST(std::string(wire::fb::RecordBatchIdentifier()) == wire::kBatchFileIdentifier);
  BOOST_TEST(flatbuffers::BufferHasIdentifier(bytes.data(), wire::kBatchFileIdentifier, true));
  const auto* root = wire::fb::GetSizePrefixedRecordBatch(bytes.data());
  BOOST_TEST(root->format_version() == wire::kFormatVersion);
  BOOST_TEST(root->schema()->format_version() == wire::kFormatVersion);
}

BOOST_AUTO_TEST_CASE(hand_built_valid_buffer_decodes) {
  // The baseline for the corruption cases below: untouched, the raw batch is valid.
  const std::vector<uint8_t> bytes = build(valid_raw_batch());
  auto decoded = wire::decode_batch(bytes.data(), bytes.size());
  BOOST_REQUIRE_MESSAGE(decoded.ok(), decoded.status().to_string());
  const Rows expected = {{true, 10, "abc"}, {false, 20, Value()}, {true, 30, "hello"}};
  BOOST_TEST(((*decoded)->to_rows() == expected));
}

// ----------------------------------------------------------------------------------------------
// Schemas

BOOST_AUTO_TEST_CASE(schema_round_trips) {
  auto schema = Schema::make({{"a", Type::Bool, false},
                              {"b", Type::Int64},
                              {"c", Type::Double, false},
                              {"d é", Type::String},
                              {"e", Type::Timestamp, false}})
                    .value();
  auto bytes = wire::encode_schema(*schema).value();
  BOOST_TEST(flatbuffers::BufferHasIdentifier(bytes.data(), wire::kSchemaFileIdentifier, true));
  auto decoded = wire::decode_schema(bytes.data(), bytes.size());
  BOOST_REQUIRE_MESSAGE(decoded.ok(), decoded.status().to_string());
  BOOST_TEST((**decoded == *schema), (*decoded)->to_string());
}

BOOST_AUTO_TEST_CASE(empty_schema_round_trips) {
  auto schema = Schema::make({}).value();
  auto bytes = wire::encode_schema(*schema).value();
  auto decoded = wire::decode_schema(bytes.data(), bytes.size());
  BOOST_REQUIRE(decoded.ok());
  BOOST_TEST((*decoded)->num_fields() == 0);
}

BOOST_AUTO_TEST_CASE(schema_and_batch_buffers_are_not_confused) {
  auto batch = make_batch(all_types_schema(), all_types_rows(3));
  auto schema_bytes = wire::encode_schema(*batch->schema()).value();
  const std::vector<uint8_t> batch_bytes = encode(*batch);
  auto as_batch = wire::decode_batch(schema_bytes.data(), schema_bytes.size());
  BOOST_REQUIRE(!as_batch.ok());
  BOOST_TEST(as_batch.status().code() == StatusCode::corrupt);
  BOOST_TEST(as_batch.status().message().find("holds a Sluice schema") != std::string::npos);
  auto as_schema = wire::decode_schema(batch_bytes.data(), batch_bytes.size());
  BOOST_REQUIRE(!as_schema.ok());
  BOOST_TEST(as_schema.status().message().find("holds a Sluice record batch") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(truncated_schema_is_corrupt) {
  auto schema = all_types_schema();
  auto bytes = wire::encode_schema(*schema).value();
  for (size_t size = 0; size < bytes.size(); ++size) {
    auto decoded = wire::decode_schema(bytes.data(), size);
    BOOST_REQUIRE(!decoded.ok());
    BOOST_TEST(decoded.status().code() == StatusCode::corrupt);
  }
}

// ----------------------------------------------------------------------------------------------
// Corrupt buffers

BOOST_AUTO_TEST_CASE(empty_buffer_is_corrupt) {
  const uint8_t byte = 0;
  auto decoded = wire::decode_batch(&byte, 0);
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.status().code() == StatusCode::corrupt);
  BOOST_TEST(decoded.status().message().find("empty buffer") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(null_pointer_is_corrupt) {
  auto decoded = wire::decode_batch(nullptr, 0);
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.status().code() == StatusCode::corrupt);
  BOOST_TEST(decoded.status().message().find("empty buffer") != std::string::npos);
  auto with_size = wire::decode_batch(nullptr, 100);
  BOOST_REQUIRE(!with_size.ok());
  BOOST_TEST(with_size.status().message().find("null pointer") != std::string::npos);
  BOOST_TEST(!wire::decode_schema(nullptr, 0).ok());
}

BOOST_AUTO_TEST_CASE(truncated_buffer_is_corrupt_at_every_length) {
  auto batch = make_batch(all_types_schema(), all_types_rows(20));
  const std::vector<uint8_t> bytes = encode(*batch);
  for (size_t size = 0; size < bytes.size(); ++size) {
    // A fresh copy of exactly `size` bytes, so reading past it is an ASan error.
    const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<long>(size));
    auto decoded = wire::decode_batch(prefix.data(), prefix.size());
    BOOST_REQUIRE_MESSAGE(!decoded.ok(), "prefix of " << size << " bytes decoded");
    BOOST_TEST(decoded.status().code() == StatusCode::corrupt);
  }
  const std::vector<uint8_t> half(bytes.begin(),
                                  bytes.begin() + static_cast<long>(bytes.size() / 2));
  expect_corrupt(half, {"the record batch is truncated"});
  expect_corrupt({bytes.begin(), bytes.begin() + 5}, {"5 bytes is too short"});
}

BOOST_AUTO_TEST_CASE(appended_bytes_are_corrupt) {
  auto batch = make_batch(all_types_schema(), all_types_rows(3));
  std::vector<uint8_t> bytes = encode(*batch);
  bytes.push_back(0);
  expect_corrupt(bytes, {"the record batch is followed by extra bytes"});
}

BOOST_AUTO_TEST_CASE(wrong_identifier_is_corrupt) {
  auto batch = make_batch(all_types_schema(), all_types_rows(3));
  std::vector<uint8_t> bytes = encode(*batch);
  std::memcpy(bytes.data() + 8, "XY\x01Z", 4);
  expect_corrupt(bytes, {"wrong file identifier \"XY\\x01Z\"", "expected \"SLRB\""});
}

BOOST_AUTO_TEST_CASE(other_format_version_is_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.format_version = 2;
  expect_corrupt(build(raw), {"format version 2", "reads version 1"});
  raw = valid_raw_batch();
  raw.schema_format_version = 0;
  expect_corrupt(build(raw), {"schema has format version 0"});
}

BOOST_AUTO_TEST_CASE(values_length_off_by_one_is_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.columns[1].values->push_back(0);
  expect_corrupt(build(raw), {"column 1 'id'", "values buffer holds 25 bytes",
                              "expected 24 for 3 BIGINT rows"});
  raw = valid_raw_batch();
  raw.columns[0].values->pop_back();
  expect_corrupt(build(raw), {"column 0 'flag'", "holds 2 bytes", "expected 3 for 3 BOOLEAN"});
  raw = valid_raw_batch();
  raw.columns[2].values->resize(3 * 8);
  expect_corrupt(build(raw), {"column 2 'name'", "holds 24 bytes", "expected 32", "(4 offsets)"});
  raw = valid_raw_batch();
  raw.columns[1].values.reset();
  expect_corrupt(build(raw), {"column 1 'id'", "holds 0 bytes", "expected 24"});
}

BOOST_AUTO_TEST_CASE(validity_of_wrong_size_is_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.columns[2].validity->push_back(0);
  expect_corrupt(build(raw), {"column 2 'name'", "validity bitmap holds 2 bytes", "expected 1"});
}

BOOST_AUTO_TEST_CASE(string_offset_past_data_is_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.columns[2].values = bytes_of(std::vector<int64_t>{0, 3, 3, 9});
  expect_corrupt(build(raw), {"column 2 'name'", "end at byte 9", "past the 8 bytes"});
  raw.columns[2].values = bytes_of(std::vector<int64_t>{0, 3, 3, 7});
  expect_corrupt(build(raw), {"column 2 'name'", "end at byte 7", "holds 8 bytes"});
  raw.columns[2].values = bytes_of(std::vector<int64_t>{2, 3, 3, 8});
  expect_corrupt(build(raw), {"column 2 'name'", "first string offset is 2"});
}

BOOST_AUTO_TEST_CASE(decreasing_string_offsets_are_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.columns[2].values = bytes_of(std::vector<int64_t>{0, 5, 3, 8});
  expect_corrupt(build(raw), {"column 2 'name'", "decrease at row 1", "from 5 to 3"});
  raw.columns[2].values = bytes_of(std::vector<int64_t>{0, INT64_MIN, 3, 8});
  expect_corrupt(build(raw), {"decrease at row 0"});
}

BOOST_AUTO_TEST_CASE(boolean_byte_other_than_zero_or_one_is_corrupt) {
  RawBatch raw = valid_raw_batch();
  (*raw.columns[0].values)[2] = 7;
  expect_corrupt(build(raw), {"column 0 'flag'", "boolean value 7 at row 2"});
}

BOOST_AUTO_TEST_CASE(type_enum_out_of_range_is_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.fields[1].type = 9;
  expect_corrupt(build(raw), {"schema field 1 'id'", "type 9 is not a Sluice type"});
  raw = valid_raw_batch();
  raw.columns[1].type = 200;
  expect_corrupt(build(raw), {"column 1 'id'", "type 200 is not a Sluice type"});
}

BOOST_AUTO_TEST_CASE(column_type_other_than_schema_type_is_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.columns[1].type = kDouble;
  expect_corrupt(build(raw), {"column 1 'id'", "holds DOUBLE but the schema says BIGINT"});
}

BOOST_AUTO_TEST_CASE(column_count_mismatch_is_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.columns.pop_back();
  expect_corrupt(build(raw), {"holds 2 columns but its schema has 3 fields"});
  raw = valid_raw_batch();
  raw.columns.clear();
  expect_corrupt(build(raw), {"holds 0 columns but its schema has 3 fields"});
}

BOOST_AUTO_TEST_CASE(negative_or_huge_row_count_is_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.num_rows = -1;
  expect_corrupt(build(raw), {"claims -1 rows"});
  raw = RawBatch();
  raw.num_rows = int64_t{1} << 40;
  expect_corrupt(build(raw), {"claims 1099511627776 rows"});
}

BOOST_AUTO_TEST_CASE(nulls_in_a_not_null_field_are_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.columns[1].validity = std::vector<uint8_t>{0b011};
  expect_corrupt(build(raw), {"column 1 'id' is NOT NULL but holds 1 nulls"});
}

BOOST_AUTO_TEST_CASE(string_data_in_a_fixed_width_column_is_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.columns[1].data = std::vector<uint8_t>{1, 2};
  expect_corrupt(build(raw), {"column 1 'id'", "carries 2 bytes of string data"});
}

BOOST_AUTO_TEST_CASE(bad_field_names_are_corrupt) {
  RawBatch raw = valid_raw_batch();
  raw.fields[2].name = "flag";
  expect_corrupt(build(raw), {"two fields named 'flag'"});
  raw = valid_raw_batch();
  raw.fields[0].name = "";
  expect_corrupt(build(raw), {"field 0 has an empty name"});
}

BOOST_AUTO_TEST_CASE(columns_sharing_bytes_are_corrupt) {
  // Many columns pointing at one values vector would let a small buffer decode huge.
  flatbuffers::FlatBufferBuilder builder;
  std::vector<flatbuffers::Offset<wire::fb::Field>> fields;
  for (int i = 0; i < 64; ++i) {
    auto name = builder.CreateString("c" + std::to_string(i));
    fields.push_back(wire::fb::CreateField(builder, name, wire::fb::Type::Int64));
  }
  auto schema = wire::fb::CreateSchema(builder, wire::kFormatVersion, builder.CreateVector(fields));
  const std::vector<uint8_t> values(8 * 1000, 0);
  auto column =
      wire::fb::CreateColumn(builder, wire::fb::Type::Int64, 0, builder.CreateVector(values));
  std::vector<flatbuffers::Offset<wire::fb::Column>> columns(64, column);
  auto root = wire::fb::CreateRecordBatch(builder, wire::kFormatVersion, schema, 1000,
                                          builder.CreateVector(columns));
  builder.FinishSizePrefixed(root, wire::kBatchFileIdentifier);
  const std::vector<uint8_t> bytes(builder.GetBufferPointer(),
                                   builder.GetBufferPointer() + builder.GetSize());
  expect_corrupt(bytes, {"columns claim 512000 bytes", "share their bytes"});
}

BOOST_AUTO_TEST_CASE(encoding_a_batch_that_disagrees_with_its_schema_fails) {
  auto schema = Schema::make({{"id", Type::Int64, false}}).value();
  ColumnBuilder builder(Type::Int64);
  builder.append_null();
  auto with_null = RecordBatch::make_unchecked(schema, {builder.finish()}, 1);
  auto result = wire::encode_batch(*with_null);
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(result.status().code() == StatusCode::invalid_argument);
  BOOST_TEST(result.status().message().find("NOT NULL") != std::string::npos);

  auto short_column = RecordBatch::make_unchecked(schema, {Column::make_null(Type::Int64, 2)}, 3);
  BOOST_TEST(!wire::encode_batch(*short_column).ok());
  auto wrong_type = RecordBatch::make_unchecked(schema, {Column::make_null(Type::Double, 0)}, 0);
  BOOST_TEST(!wire::encode_batch(*wrong_type).ok());
  auto too_many_rows =
      RecordBatch::make_unchecked(Schema::make({}).value(), {}, wire::kMaxRows + 1);
  auto too_many = wire::encode_batch(*too_many_rows);
  BOOST_REQUIRE(!too_many.ok());
  BOOST_TEST(too_many.status().code() == StatusCode::out_of_range);
}
