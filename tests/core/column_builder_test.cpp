#define BOOST_TEST_MODULE column_builder
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/column_builder.hpp"

using namespace sluice;

namespace {

constexpr Type kAllTypes[] = {Type::Bool, Type::Int64, Type::Double, Type::String, Type::Timestamp};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void check_rows(const Column& column, const std::vector<Value>& expected, const std::string& what) {
  BOOST_REQUIRE_MESSAGE(column.length() == static_cast<int64_t>(expected.size()),
                        what << ": length " << column.length() << " vs " << expected.size());
  int64_t nulls = 0;
  for (const auto& value : expected)
    nulls += value.is_null();
  BOOST_TEST(column.null_count() == nulls, what);
  for (size_t i = 0; i < expected.size(); ++i) {
    const Value actual = column.value_at(static_cast<int64_t>(i));
    if (actual != expected[i]) {
      BOOST_ERROR(what << ": row " << i << " is " << actual << ", expected " << expected[i]);
      return;
    }
  }
}

// Appends through the typed append_* calls rather than append_value.
void append_typed(ColumnBuilder& builder, const Value& value) {
  if (value.is_null()) return builder.append_null();
  switch (builder.type()) {
    case Type::Bool:
      return builder.append_bool(value.as_bool());
    case Type::Int64:
      return builder.append_int64(value.as_int64());
    case Type::Double:
      return builder.append_double(value.as_double());
    case Type::String:
      return builder.append_string(value.as_string());
    case Type::Timestamp:
      return builder.append_timestamp(value.as_timestamp().micros);
  }
}

Value random_value(Type type, std::mt19937_64& random) {
  switch (type) {
    case Type::Bool:
      return Value(random() % 2 == 1);
    case Type::Int64:
      return Value(static_cast<int64_t>(random()));
    case Type::Double:
      return Value(static_cast<double>(static_cast<int64_t>(random() >> 11)) / 3.0);
    case Type::Timestamp:
      return Value(Timestamp{static_cast<int64_t>(random() >> 9)});
    case Type::String:
      return Value(std::string(random() % 12, static_cast<char>('a' + random() % 26)));
  }
  return Value();
}

}  // namespace

BOOST_AUTO_TEST_CASE(new_builder_finishes_an_empty_column) {
  for (Type type : kAllTypes) {
    ColumnBuilder builder(type);
    BOOST_TEST(builder.type() == type);
    BOOST_TEST(builder.length() == 0);
    auto column = builder.finish();
    BOOST_TEST(column->type() == type);
    BOOST_TEST(column->length() == 0);
    BOOST_TEST(column->null_count() == 0);
  }
}

BOOST_AUTO_TEST_CASE(each_type_round_trips_values_and_nulls) {
  const std::vector<std::pair<Type, std::vector<Value>>> cases = {
      {Type::Bool, {Value(true), Value(), Value(false), Value(true)}},
      {Type::Int64, {Value(INT64_MIN), Value(0), Value(), Value(INT64_MAX)}},
      {Type::Double, {Value(-0.5), Value(), Value(1e300), Value(0.0)}},
      {Type::String, {Value("a"), Value(), Value(""), Value("longer string")}},
      {Type::Timestamp, {Value(), Value(Timestamp{-1}), Value(Timestamp{0}), Value(Timestamp{9})}},
  };
  for (const auto& [type, values] : cases) {
    ColumnBuilder typed(type);
    ColumnBuilder generic(type);
    for (const auto& value : values) {
      append_typed(typed, value);
      BOOST_TEST(generic.append_value(value).is_ok());
    }
    BOOST_TEST(typed.length() == 4);
    check_rows(*typed.finish(), values, std::string(type_name(type)) + " typed");
    check_rows(*generic.finish(), values, std::string(type_name(type)) + " append_value");
  }
}

BOOST_AUTO_TEST_CASE(columns_without_nulls_carry_no_bitmap) {
  ColumnBuilder builder(Type::Int64);
  for (int i = 0; i < 100; ++i)
    builder.append_int64(i);
  auto column = builder.finish();
  BOOST_TEST(!column->has_nulls());
  BOOST_TEST((column->validity_bits() == nullptr));
}

BOOST_AUTO_TEST_CASE(long_runs_with_random_nulls_match_a_reference_vector) {
  const uint64_t seed = 100'000;
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  for (Type type : kAllTypes) {
    std::bernoulli_distribution is_null(type == Type::Bool ? 0.5 : 0.1);
    std::vector<Value> expected;
    ColumnBuilder builder(type);
    for (int i = 0; i < 100'000; ++i) {
      // Long runs of nulls and of values, not only scattered ones.
      const bool null_run = (i / 1000) % 7 == 3;
      Value value = null_run || is_null(random) ? Value() : random_value(type, random);
      if (i % 2 == 0) {
        append_typed(builder, value);
      } else {
        BOOST_REQUIRE(builder.append_value(value).is_ok());
      }
      expected.push_back(std::move(value));
    }
    check_rows(*builder.finish(), expected, std::string(type_name(type)) + " 100k");
  }
}

BOOST_AUTO_TEST_CASE(append_value_refuses_other_types_naming_both_and_appends_nothing) {
  ColumnBuilder ints(Type::Int64);
  ints.append_int64(1);
  Status status = ints.append_value(Value(true));
  BOOST_TEST(status.code() == StatusCode::type_error);
  BOOST_TEST(status.message() == "cannot append BOOLEAN value true to a BIGINT column");
  BOOST_TEST(ints.append_value(Value(1.5)).code() == StatusCode::type_error);
  BOOST_TEST(ints.append_value(Value(Timestamp{1})).code() == StatusCode::type_error);
  BOOST_TEST(ints.length() == 1);

  ColumnBuilder strings(Type::String);
  status = strings.append_value(Value(42));
  BOOST_TEST(contains(status.message(), "BIGINT value 42 to a STRING column"), status.message());
  BOOST_TEST(strings.length() == 0);

  ColumnBuilder bools(Type::Bool);
  BOOST_TEST(bools.append_value(Value(1)).code() == StatusCode::type_error);
  ColumnBuilder doubles(Type::Double);
  BOOST_TEST(doubles.append_value(Value("1.0")).code() == StatusCode::type_error);
  ColumnBuilder timestamps(Type::Timestamp);
  BOOST_TEST(timestamps.append_value(Value(1.0)).code() == StatusCode::type_error);
}

BOOST_AUTO_TEST_CASE(append_value_widens_integers_to_double_and_timestamp) {
  ColumnBuilder doubles(Type::Double);
  BOOST_TEST(doubles.append_value(Value(3)).is_ok());
  BOOST_TEST(doubles.finish()->value_at(0) == Value(3.0));
  ColumnBuilder timestamps(Type::Timestamp);
  BOOST_TEST(timestamps.append_value(Value(int64_t{-7})).is_ok());
  BOOST_TEST(timestamps.finish()->value_at(0) == Value(Timestamp{-7}));
}

BOOST_AUTO_TEST_CASE(builder_is_reusable_after_finish_and_earlier_columns_stay_intact) {
  for (Type type : kAllTypes) {
    std::mt19937_64 random(5);
    ColumnBuilder builder(type);
    std::vector<Value> first;
    for (int i = 0; i < 40; ++i)
      first.push_back(i % 5 == 0 ? Value() : random_value(type, random));
    for (const auto& value : first)
      append_typed(builder, value);
    auto first_column = builder.finish();
    BOOST_TEST(builder.length() == 0);

    // The second column starts clean: no nulls left over from the first.
    std::vector<Value> second;
    for (int i = 0; i < 70; ++i)
      second.push_back(random_value(type, random));
    for (const auto& value : second)
      append_typed(builder, value);
    auto second_column = builder.finish();

    check_rows(*first_column, first, std::string(type_name(type)) + " first");
    check_rows(*second_column, second, std::string(type_name(type)) + " second");
    BOOST_TEST((second_column->validity_bits() == nullptr));
    BOOST_TEST(second_column->values_buffer() != first_column->values_buffer());
  }
}

BOOST_AUTO_TEST_CASE(strings_keep_non_ascii_and_empty_values_byte_for_byte) {
  const std::vector<std::string> texts = {
      "", "héllo", "", "日本語テキスト", "emoji 🎉", std::string("nul\0byte", 8), "", "x"};
  ColumnBuilder builder(Type::String);
  for (const auto& text : texts)
    builder.append_string(text);
  builder.append_string(std::string_view());  // empty view with a null data pointer
  auto column = builder.finish();
  BOOST_REQUIRE(column->length() == static_cast<int64_t>(texts.size()) + 1);
  for (size_t i = 0; i < texts.size(); ++i) {
    BOOST_TEST(column->string_at(static_cast<int64_t>(i)) == texts[i], "row " << i);
  }
  BOOST_TEST(column->string_at(static_cast<int64_t>(texts.size())).empty());
  BOOST_TEST(column->null_count() == 0);
}

BOOST_AUTO_TEST_CASE(many_long_strings_grow_the_data_buffer_correctly) {
  ColumnBuilder builder(Type::String);
  std::vector<Value> expected;
  for (int i = 0; i < 3000; ++i) {
    std::string text(static_cast<size_t>(i % 300), static_cast<char>('A' + i % 26));
    if (i % 11 == 0) {
      builder.append_null();
      expected.emplace_back();
    } else {
      builder.append_string(text);
      expected.emplace_back(text);
    }
  }
  check_rows(*builder.finish(), expected, "long strings");
}

BOOST_AUTO_TEST_CASE(reserve_does_not_change_the_length_or_values) {
  ColumnBuilder builder(Type::Int64);
  builder.append_int64(1);
  builder.reserve(1000);
  BOOST_TEST(builder.length() == 1);
  for (int i = 2; i <= 1500; ++i)
    builder.append_int64(i);
  builder.reserve(0);
  auto column = builder.finish();
  BOOST_REQUIRE(column->length() == 1500);
  for (int64_t i = 0; i < 1500; ++i) {
    if (column->values<int64_t>()[i] != i + 1) BOOST_FAIL("row " << i);
  }
}

BOOST_AUTO_TEST_CASE(all_null_builder_gives_an_all_null_column) {
  for (Type type : kAllTypes) {
    ColumnBuilder builder(type);
    for (int i = 0; i < 33; ++i)
      builder.append_null();
    auto column = builder.finish();
    BOOST_TEST(column->null_count() == 33);
    BOOST_TEST(column->value_at(32).is_null());
  }
}
