#define BOOST_TEST_MODULE key_encoder
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "operators/key_encoder.hpp"
#include "tests/operators/stateful_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

SchemaPtr all_types() {
  return schema_of({{"b", Type::Bool},
                    {"i", Type::Int64},
                    {"d", Type::Double},
                    {"s", Type::String},
                    {"t", Type::Timestamp}});
}

Value random_value(Type type, std::mt19937_64& random) {
  if (random() % 6 == 0) return Value();
  switch (type) {
    case Type::Bool:
      return Value(random() % 2 == 0);
    case Type::Int64: {
      static const int64_t special[] = {std::numeric_limits<int64_t>::min(),
                                        std::numeric_limits<int64_t>::max(),
                                        0,
                                        -1,
                                        1,
                                        255,
                                        256};
      if (random() % 3 == 0) return Value(special[random() % 7]);
      return Value(static_cast<int64_t>(random() % 2001) - 1000);
    }
    case Type::Double: {
      static const double special[] = {-std::numeric_limits<double>::infinity(),
                                       std::numeric_limits<double>::infinity(),
                                       std::numeric_limits<double>::quiet_NaN(),
                                       -std::numeric_limits<double>::quiet_NaN(),
                                       -0.0,
                                       0.0,
                                       std::numeric_limits<double>::denorm_min(),
                                       -std::numeric_limits<double>::denorm_min(),
                                       std::numeric_limits<double>::max(),
                                       std::numeric_limits<double>::lowest()};
      if (random() % 3 == 0) return Value(special[random() % 10]);
      return Value(static_cast<double>(static_cast<int64_t>(random() % 2001) - 1000) / 8);
    }
    case Type::String: {
      // Few distinct bytes, with zeros and 0xFF, so prefixes, escapes and ties are common.
      static const char alphabet[] = {'\0', '\x01', 'a', 'b', '\xFF'};
      std::string s(random() % 5, ' ');
      for (char& c : s) {
        c = alphabet[random() % 5];
      }
      return Value(std::move(s));
    }
    case Type::Timestamp:
      return Value(Timestamp{static_cast<int64_t>(random() % 2001) - 1000});
  }
  return Value();
}

// Compares values of one column: null first, NaN above every double, -0.0 == 0.0, strings
// bytewise (std::string compares bytes as unsigned char).
int compare_values(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) {
    return static_cast<int>(b.is_null()) - static_cast<int>(a.is_null());
  }
  if (a.type() == Type::Double) {
    const double x = a.as_double();
    const double y = b.as_double();
    if (std::isnan(x) || std::isnan(y)) {
      return static_cast<int>(std::isnan(x)) - static_cast<int>(std::isnan(y));
    }
    return x < y ? -1 : (y < x ? 1 : 0);
  }
  if (a < b) return -1;
  if (b < a) return 1;
  return 0;
}

int compare_rows(const Row& a, const Row& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (int c = compare_values(a[i], b[i])) return c;
  }
  return 0;
}

int sign(int v) {
  return (v > 0) - (v < 0);
}

bool same_canonical(const Value& decoded, const Value& original) {
  if (original.type() == Type::Double) {
    if (std::isnan(original.as_double())) return std::isnan(decoded.as_double());
    // -0.0 decodes as 0.0.
    return decoded.type() == Type::Double && decoded.as_double() == original.as_double() &&
           (original.as_double() != 0.0 || !std::signbit(decoded.as_double()));
  }
  return decoded == original;
}

}  // namespace

BOOST_AUTO_TEST_CASE(encoded_bytes_order_like_the_values_for_every_type) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  auto schema = all_types();
  Rows rows;
  for (int r = 0; r < 400; ++r) {
    Row row;
    for (const Field& field : schema->fields()) {
      row.push_back(random_value(field.type, random));
    }
    rows.push_back(std::move(row));
  }
  auto batch = batch_of(schema, rows);
  // Every column order, so each type is compared first and after ties in the others.
  const std::vector<std::vector<int>> orders = {{0, 1, 2, 3, 4}, {3, 2, 1}, {2, 3}, {4, 0, 3}};
  for (const auto& columns : orders) {
    auto encoder = KeyEncoder::make(*schema, columns);
    BOOST_REQUIRE(encoder.ok());
    std::vector<std::string> keys;
    encoder->encode(*batch, keys);
    BOOST_REQUIRE_EQUAL(keys.size(), rows.size());
    for (size_t a = 0; a < rows.size(); ++a) {
      Row ra;
      for (int c : columns) {
        ra.push_back(rows[a][static_cast<size_t>(c)]);
      }
      for (size_t b = 0; b < rows.size(); ++b) {
        Row rb;
        for (int c : columns) {
          rb.push_back(rows[b][static_cast<size_t>(c)]);
        }
        const int expected = sign(compare_rows(ra, rb));
        const int actual = sign(keys[a].compare(keys[b]));
        if (expected != actual) {
          BOOST_FAIL("seed " << seed << ": " << row_text(ra) << " vs " << row_text(rb)
                             << " compare " << expected << " but keys compare " << actual);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(decode_returns_the_encoded_values_with_canonical_doubles) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  auto schema = all_types();
  Rows rows;
  for (int r = 0; r < 500; ++r) {
    Row row;
    for (const Field& field : schema->fields()) {
      row.push_back(random_value(field.type, random));
    }
    rows.push_back(std::move(row));
  }
  auto batch = batch_of(schema, rows);
  auto encoder = KeyEncoder::make(*schema, {4, 3, 2, 1, 0, 3});
  BOOST_REQUIRE(encoder.ok());
  EncodedKeys flat;
  encoder->encode_flat(*batch, flat);
  std::vector<std::string> keys;
  encoder->encode(*batch, keys);
  for (size_t r = 0; r < rows.size(); ++r) {
    BOOST_REQUIRE(flat.key(static_cast<int64_t>(r)) == keys[r]);
    auto decoded = encoder->decode(keys[r]);
    BOOST_REQUIRE_MESSAGE(decoded.ok(), decoded.status().to_string());
    const std::vector<int>& columns = encoder->columns();
    for (size_t c = 0; c < columns.size(); ++c) {
      const Value& original = rows[r][static_cast<size_t>(columns[c])];
      BOOST_TEST_REQUIRE(same_canonical((*decoded)[c], original),
                         "seed " << seed << " row " << r << " column " << c << ": " << (*decoded)[c]
                                 << " vs " << original);
    }
  }
}

BOOST_AUTO_TEST_CASE(fixed_width_keys_have_one_length_and_strings_vary) {
  auto schema = all_types();
  BOOST_TEST(KeyEncoder::make(*schema, {0, 1, 2, 4})->fixed_width() == 2 + 9 + 9 + 9);
  BOOST_TEST(KeyEncoder::make(*schema, {1, 3})->fixed_width() == -1);
  auto batch = batch_of(
      schema, {{Value(), Value(), Value(), Value(), Value()}, {true, 5, 1.5, "x", Timestamp{3}}});
  std::vector<std::string> keys;
  KeyEncoder::make(*schema, {0, 1, 2, 4})->encode(*batch, keys);
  BOOST_TEST(keys[0].size() == 29u);
  BOOST_TEST(keys[1].size() == 29u);
  BOOST_TEST(keys[0] < keys[1]);
}

BOOST_AUTO_TEST_CASE(equal_values_encode_to_equal_bytes) {
  auto schema = schema_of({{"d", Type::Double}, {"s", Type::String}});
  auto batch = batch_of(schema, {{-0.0, "a"},
                                 {0.0, "a"},
                                 {std::numeric_limits<double>::quiet_NaN(), ""},
                                 {-std::numeric_limits<double>::quiet_NaN(), ""},
                                 {std::nan("7"), ""}});
  std::vector<std::string> keys;
  KeyEncoder::make(*schema, {0, 1})->encode(*batch, keys);
  BOOST_TEST(keys[0] == keys[1]);
  BOOST_TEST(keys[2] == keys[3]);
  BOOST_TEST(keys[2] == keys[4]);
  BOOST_TEST(keys[0] != keys[2]);
}

BOOST_AUTO_TEST_CASE(decode_rejects_corrupt_bytes_as_corrupt) {
  auto schema = all_types();
  auto encoder = KeyEncoder::make(*schema, {0, 3, 1});
  BOOST_REQUIRE(encoder.ok());
  auto batch = batch_of(schema, {{true, 7, 1.0, std::string("a\0b", 3), Timestamp{1}}});
  std::vector<std::string> keys;
  encoder->encode(*batch, keys);
  const std::string key = keys[0];
  BOOST_REQUIRE(encoder->decode(key).ok());
  for (size_t length = 0; length < key.size(); ++length) {
    auto truncated = encoder->decode(key.substr(0, length));
    BOOST_REQUIRE(!truncated.ok());
    BOOST_TEST(truncated.status().code() == StatusCode::corrupt);
  }
  auto expect_corrupt = [&](std::string bytes, const std::string& what) {
    auto decoded = encoder->decode(bytes);
    BOOST_TEST(!decoded.ok(), what);
    if (!decoded.ok()) BOOST_TEST(decoded.status().code() == StatusCode::corrupt, what);
  };
  expect_corrupt(key + "x", "trailing byte");
  std::string bad_marker = key;
  bad_marker[0] = 2;
  expect_corrupt(bad_marker, "marker 2");
  std::string bad_bool = key;
  bad_bool[1] = 5;
  expect_corrupt(bad_bool, "boolean 5");
  std::string bad_escape = key;
  bad_escape[5] = 0x01;  // the byte after the escaped zero of "a\0b"
  expect_corrupt(bad_escape, "escape 0x00 0x01");
  std::string null_payload = key;
  null_payload[0] = 0;  // a null boolean must carry a zero payload
  expect_corrupt(null_payload, "null with payload");
}

BOOST_AUTO_TEST_CASE(make_rejects_a_column_outside_the_schema) {
  auto encoder = KeyEncoder::make(*all_types(), {0, 5});
  BOOST_REQUIRE(!encoder.ok());
  BOOST_TEST(encoder.status().code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(encoder.status().message(), "5"));
}

BOOST_AUTO_TEST_CASE(key_partition_is_xxhash64_with_seed_zero_modulo_the_partitions) {
  for (std::string key : {std::string(), std::string("abc"), std::string(40, '\x07')}) {
    for (int n : {1, 2, 7, 1000}) {
      BOOST_TEST(key_partition(key, n) ==
                 static_cast<int>(XXH64(key.data(), key.size(), 0) % static_cast<uint64_t>(n)));
    }
  }
}

BOOST_AUTO_TEST_CASE(partition_rows_agrees_with_key_partition_of_each_encoded_row) {
  const uint64_t seed = test_seed();
  std::mt19937_64 random(seed);
  auto schema = all_types();
  Rows rows;
  Rows rows_without_nulls;
  for (int r = 0; r < 300; ++r) {
    Row row;
    for (const Field& field : schema->fields()) {
      row.push_back(random_value(field.type, random));
    }
    rows.push_back(row);
    row[1] = Value(static_cast<int64_t>(random()));
    row[4] = Value(Timestamp{static_cast<int64_t>(random())});
    rows_without_nulls.push_back(row);
  }
  for (const auto& input : {rows, rows_without_nulls}) {
    auto batch = batch_of(schema, input);
    for (const std::vector<int>& columns :
         std::vector<std::vector<int>>{{1}, {4}, {3}, {0, 1, 2, 3, 4}, {4, 1}}) {
      std::vector<std::string> keys;
      KeyEncoder::make(*schema, columns)->encode(*batch, keys);
      for (int n : {1, 2, 7, 64}) {
        std::vector<int32_t> partitions;
        partition_rows(*batch, columns, n, partitions);
        BOOST_REQUIRE_EQUAL(partitions.size(), input.size());
        for (size_t r = 0; r < input.size(); ++r) {
          BOOST_REQUIRE_MESSAGE(partitions[r] == key_partition(keys[r], n),
                                "seed " << seed << " row " << r << " partitions " << n);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(sliced_columns_encode_their_own_rows) {
  auto schema = schema_of({{"i", Type::Int64}, {"s", Type::String}});
  auto batch = batch_of(schema, {{1, "a"}, {Value(), "bb"}, {3, Value()}, {4, "d"}});
  auto slice = batch->slice(1, 3);
  auto encoder = KeyEncoder::make(*schema, {0, 1});
  std::vector<std::string> all;
  std::vector<std::string> part;
  encoder->encode(*batch, all);
  encoder->encode(*slice, part);
  BOOST_REQUIRE_EQUAL(part.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    BOOST_TEST(part[i] == all[i + 1]);
  }
  std::vector<int32_t> partitions;
  partition_rows(*slice, {0}, 5, partitions);
  std::vector<std::string> single;
  KeyEncoder::make(*schema, {0})->encode(*slice, single);
  for (size_t i = 0; i < 3; ++i) {
    BOOST_TEST(partitions[i] == key_partition(single[i], 5));
  }
}
