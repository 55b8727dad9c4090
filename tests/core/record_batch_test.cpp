#define BOOST_TEST_MODULE record_batch
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <vector>

#include "core/record_batch.hpp"

using namespace sluice;

namespace {

using Rows = std::vector<std::vector<Value>>;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

SchemaPtr people_schema() {
  return Schema::make({{"id", Type::Int64, false},
                       {"name", Type::String},
                       {"score", Type::Double},
                       {"active", Type::Bool},
                       {"seen", Type::Timestamp}})
      .value();
}

Rows random_people(std::mt19937_64& random, int count, int first_id) {
  static const char* const kNames[] = {"alice", "bob", "çelik", "", "日本", "dmitri"};
  Rows rows;
  for (int i = 0; i < count; ++i) {
    auto maybe = [&](Value value) { return random() % 4 == 0 ? Value() : value; };
    rows.push_back({Value(first_id + i), maybe(Value(kNames[random() % 6])),
                    maybe(Value(static_cast<double>(random() % 1000) / 8.0)),
                    maybe(Value(random() % 2 == 1)),
                    maybe(Value(Timestamp{static_cast<int64_t>(random() % 1'000'000'000)}))});
  }
  return rows;
}

RecordBatchPtr batch_of(const SchemaPtr& schema, const Rows& rows) {
  auto batch = RecordBatch::from_rows(schema, rows);
  BOOST_REQUIRE_MESSAGE(batch.ok(), batch.status().to_string());
  return *batch;
}

void check_rows(const RecordBatch& batch, const Rows& expected, const std::string& what) {
  BOOST_REQUIRE_MESSAGE(batch.num_rows() == static_cast<int64_t>(expected.size()),
                        what << ": " << batch.num_rows() << " rows, expected " << expected.size());
  const Rows actual = batch.to_rows();
  for (size_t r = 0; r < expected.size(); ++r) {
    if (actual[r] != expected[r]) {
      BOOST_ERROR(what << ": row " << r << " differs");
      return;
    }
  }
}

ColumnPtr ints(const std::vector<Value>& values) {
  ColumnBuilder builder(Type::Int64);
  for (const auto& value : values)
    BOOST_REQUIRE(builder.append_value(value).is_ok());
  return builder.finish();
}

ColumnPtr strings(const std::vector<Value>& values) {
  ColumnBuilder builder(Type::String);
  for (const auto& value : values)
    BOOST_REQUIRE(builder.append_value(value).is_ok());
  return builder.finish();
}

SchemaPtr id_name_schema() {
  return Schema::make({{"id", Type::Int64, false}, {"name", Type::String}}).value();
}

Status make_error(Result<RecordBatchPtr> result) {
  BOOST_REQUIRE(!result.ok());
  return result.status();
}

}  // namespace

BOOST_AUTO_TEST_CASE(make_accepts_matching_columns) {
  auto batch = RecordBatch::make(id_name_schema(), {ints({1, 2}), strings({"a", Value()})});
  BOOST_REQUIRE(batch.ok());
  BOOST_TEST((*batch)->num_rows() == 2);
  BOOST_TEST((*batch)->num_columns() == 2);
  check_rows(**batch, {{Value(1), Value("a")}, {Value(2), Value()}}, "make");
}

BOOST_AUTO_TEST_CASE(make_refuses_a_wrong_column_count_listing_the_schema) {
  Status status = make_error(RecordBatch::make(id_name_schema(), {ints({1})}));
  BOOST_TEST(status.code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(status.message(), "1 columns but its schema has 2 fields"), status.message());
  BOOST_TEST(contains(status.message(), "id BIGINT NOT NULL, name STRING"), status.message());
}

BOOST_AUTO_TEST_CASE(make_refuses_a_wrong_type_naming_the_column) {
  Status status = make_error(RecordBatch::make(id_name_schema(), {ints({1}), ints({2})}));
  BOOST_TEST(status.code() == StatusCode::type_error);
  BOOST_TEST(status.message() == "column 'name' holds BIGINT but the schema says STRING");
}

BOOST_AUTO_TEST_CASE(make_refuses_a_wrong_length_naming_the_column) {
  Status status =
      make_error(RecordBatch::make(id_name_schema(), {ints({1, 2}), strings({"a"})}, 2));
  BOOST_TEST(status.message() == "column 'name' has 1 rows, expected 2");
  status = make_error(RecordBatch::make(id_name_schema(), {ints({1, 2}), strings({"a", "b"})}, 3));
  BOOST_TEST(contains(status.message(), "column 'id'"), status.message());
}

BOOST_AUTO_TEST_CASE(make_refuses_nulls_in_a_not_null_column_naming_it) {
  Status status =
      make_error(RecordBatch::make(id_name_schema(), {ints({1, Value()}), strings({"a", "b"})}));
  BOOST_TEST(status.message() == "column 'id' is NOT NULL but holds 1 nulls");
}

BOOST_AUTO_TEST_CASE(make_refuses_a_missing_schema_or_column) {
  BOOST_TEST(!RecordBatch::make(nullptr, {}).ok());
  Status status = make_error(RecordBatch::make(id_name_schema(), {ints({1}), nullptr}));
  BOOST_TEST(contains(status.message(), "column 'name' is missing"), status.message());
}

BOOST_AUTO_TEST_CASE(from_rows_and_to_rows_round_trip_every_type) {
  std::mt19937_64 random(1);
  const Rows rows = random_people(random, 50, 0);
  auto batch = batch_of(people_schema(), rows);
  BOOST_TEST(batch->num_columns() == 5);
  check_rows(*batch, rows, "from_rows");
  BOOST_TEST(batch->column(2)->type() == Type::Double);
}

BOOST_AUTO_TEST_CASE(from_rows_widens_integer_literals) {
  auto schema = Schema::make({{"x", Type::Double}, {"t", Type::Timestamp}}).value();
  auto batch = batch_of(schema, {{Value(2), Value(5)}});
  check_rows(*batch, {{Value(2.0), Value(Timestamp{5})}}, "widened");
}

BOOST_AUTO_TEST_CASE(from_rows_errors_name_the_row_and_the_column) {
  auto result =
      RecordBatch::from_rows(id_name_schema(), {{Value(1), Value("a")}, {Value(2), Value(5)}});
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(result.status().code() == StatusCode::type_error);
  BOOST_TEST(result.status().message() == "row 1: column 'name' is STRING but got BIGINT value 5");

  result = RecordBatch::from_rows(id_name_schema(), {{Value(), Value("a")}});
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(result.status().message() == "row 0: column 'id' is NOT NULL but got null");

  result = RecordBatch::from_rows(id_name_schema(), {{Value(1)}});
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(contains(result.status().message(), "row 0: row has 1 values but the schema has 2"),
             result.status().message());
}

BOOST_AUTO_TEST_CASE(failed_append_row_leaves_the_builder_unchanged) {
  RecordBatchBuilder builder(id_name_schema());
  BOOST_TEST(builder.append_row({Value(1), Value("one")}).is_ok());
  // The first value fits; the second does not: nothing of this row may remain.
  BOOST_TEST(builder.append_row({Value(2), Value(2.0)}).code() == StatusCode::type_error);
  BOOST_TEST(builder.append_row({Value(3)}).code() == StatusCode::invalid_argument);
  BOOST_TEST(builder.append_row({Value(), Value("x")}).code() == StatusCode::invalid_argument);
  BOOST_TEST(builder.num_rows() == 1);
  BOOST_TEST(builder.append_row({Value(4), Value()}).is_ok());
  auto batch = builder.finish();
  BOOST_REQUIRE(batch.ok());
  check_rows(**batch, {{Value(1), Value("one")}, {Value(4), Value()}}, "after failures");
}

BOOST_AUTO_TEST_CASE(builder_finish_resets_for_the_next_batch) {
  RecordBatchBuilder builder(id_name_schema());
  BOOST_TEST(builder.append_row({Value(1), Value("a")}).is_ok());
  auto first = builder.finish().value();
  BOOST_TEST(builder.num_rows() == 0);
  BOOST_TEST(builder.append_row({Value(2), Value("b")}).is_ok());
  auto second = builder.finish().value();
  check_rows(*first, {{Value(1), Value("a")}}, "first");
  check_rows(*second, {{Value(2), Value("b")}}, "second");
}

BOOST_AUTO_TEST_CASE(builder_finish_refuses_columns_of_different_lengths) {
  RecordBatchBuilder builder(id_name_schema());
  builder.column(0).append_int64(1);
  builder.column(0).append_int64(2);
  builder.column(1).append_string("only one");
  auto batch = builder.finish();
  BOOST_REQUIRE(!batch.ok());
  BOOST_TEST(batch.status().message() == "column 'name' has 1 rows, expected 2");
}

BOOST_AUTO_TEST_CASE(column_by_name_finds_it_or_suggests_the_closest_name) {
  std::mt19937_64 random(2);
  auto batch = batch_of(people_schema(), random_people(random, 3, 0));
  auto score = batch->column("score");
  BOOST_REQUIRE(score.ok());
  BOOST_TEST(*score == batch->column(2));
  auto missing = batch->column("scroe");
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.status().code() == StatusCode::not_found);
  BOOST_TEST(contains(missing.status().message(), "no column named 'scroe'"));
  BOOST_TEST(contains(missing.status().message(), "did you mean 'score'?"),
             missing.status().message());
  BOOST_TEST(contains(missing.status().message(), "id, name, score, active, seen"));
}

BOOST_AUTO_TEST_CASE(slice_shares_buffers_and_returns_the_row_range) {
  std::mt19937_64 random(3);
  const Rows rows = random_people(random, 100, 0);
  auto batch = batch_of(people_schema(), rows);
  for (int64_t offset : {0, 1, 5, 13, 64, 99}) {
    for (int64_t length : {0, 1, 9, 30}) {
      if (offset + length > 100) continue;
      auto slice = batch->slice(offset, length);
      check_rows(*slice, Rows(rows.begin() + offset, rows.begin() + offset + length),
                 "slice " + std::to_string(offset));
      BOOST_TEST(slice->schema() == batch->schema());
      for (int c = 0; c < 5; ++c) {
        BOOST_TEST(slice->column(c)->values_buffer() == batch->column(c)->values_buffer());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(take_returns_the_chosen_rows_in_order) {
  std::mt19937_64 random(4);
  const Rows rows = random_people(random, 40, 0);
  auto batch = batch_of(people_schema(), rows)->slice(3, 30);
  const std::vector<int32_t> indices = {29, 0, 0, 7, 15, 15, 15, 2};
  auto taken = batch->take(indices.data(), static_cast<int64_t>(indices.size()));
  Rows expected;
  for (int32_t index : indices)
    expected.push_back(rows[static_cast<size_t>(index) + 3]);
  check_rows(*taken, expected, "take");
}

BOOST_AUTO_TEST_CASE(concatenate_joins_slices_strings_and_nulls_in_order) {
  const uint64_t seed = 5;
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  auto schema = people_schema();
  const Rows a = random_people(random, 37, 0);
  const Rows b = random_people(random, 50, 100);
  const Rows c = random_people(random, 3, 200);
  std::vector<RecordBatchPtr> parts = {
      batch_of(schema, a)->slice(5, 20),  // unaligned slice
      RecordBatch::make_empty(schema),    // nothing
      batch_of(schema, b),                // whole batch
      batch_of(schema, b)->slice(49, 1),  // last row only
      batch_of(schema, c)->slice(1, 0),   // empty slice
      batch_of(schema, c)->slice(1, 2),
  };
  Rows expected(a.begin() + 5, a.begin() + 25);
  expected.insert(expected.end(), b.begin(), b.end());
  expected.push_back(b[49]);
  expected.insert(expected.end(), c.begin() + 1, c.end());
  auto joined = RecordBatch::concatenate(parts);
  BOOST_REQUIRE_MESSAGE(joined.ok(), joined.status().to_string());
  check_rows(**joined, expected, "concatenate");
  BOOST_TEST((*joined)->schema() == schema);
  for (const auto& column : (*joined)->columns())
    BOOST_TEST(column->offset() == 0);
}

BOOST_AUTO_TEST_CASE(concatenate_without_nulls_gives_columns_without_bitmaps) {
  auto schema = id_name_schema();
  auto a = batch_of(schema, {{Value(1), Value("x")}});
  auto b = batch_of(schema, {{Value(2), Value("yz")}});
  auto joined = RecordBatch::concatenate({a, b}).value();
  BOOST_TEST((joined->column(1)->validity_bits() == nullptr));
  check_rows(*joined, {{Value(1), Value("x")}, {Value(2), Value("yz")}}, "no nulls");
}

BOOST_AUTO_TEST_CASE(concatenate_refuses_mismatched_schemas_and_no_batches) {
  auto a = batch_of(id_name_schema(), {{Value(1), Value("x")}});
  auto renamed =
      batch_of(Schema::make({{"id", Type::Int64, false}, {"label", Type::String}}).value(),
               {{Value(1), Value("x")}});
  auto nullable = batch_of(Schema::make({{"id", Type::Int64}, {"name", Type::String}}).value(),
                           {{Value(1), Value("x")}});
  auto result = RecordBatch::concatenate({a, renamed});
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(result.status().code() == StatusCode::invalid_argument);
  BOOST_TEST(contains(result.status().message(), "(id BIGINT NOT NULL, name STRING)"));
  BOOST_TEST(contains(result.status().message(), "(id BIGINT NOT NULL, label STRING)"));
  BOOST_TEST(!RecordBatch::concatenate({a, nullable}).ok());
  BOOST_TEST(!RecordBatch::concatenate({}).ok());
}

BOOST_AUTO_TEST_CASE(concatenate_of_one_batch_returns_it) {
  auto a = batch_of(id_name_schema(), {{Value(1), Value("x")}});
  BOOST_TEST(RecordBatch::concatenate({a}).value() == a);
}

BOOST_AUTO_TEST_CASE(make_empty_gives_zero_rows_of_each_field_type) {
  auto schema = people_schema();
  auto batch = RecordBatch::make_empty(schema);
  BOOST_TEST(batch->num_rows() == 0);
  BOOST_REQUIRE(batch->num_columns() == 5);
  for (int c = 0; c < 5; ++c) {
    BOOST_TEST(batch->column(c)->type() == schema->field(c).type);
    BOOST_TEST(batch->column(c)->length() == 0);
  }
  BOOST_TEST(batch->to_rows().empty());
}

BOOST_AUTO_TEST_CASE(zero_column_batches_still_count_rows) {
  auto schema = Schema::make({}).value();
  BOOST_TEST(RecordBatch::make(schema, {}).value()->num_rows() == 0);
  auto batch = RecordBatch::make(schema, {}, 5).value();
  BOOST_TEST(batch->num_rows() == 5);
  BOOST_TEST(batch->num_columns() == 0);
  BOOST_TEST(batch->to_rows().size() == 5u);
  BOOST_TEST(batch->slice(1, 3)->num_rows() == 3);
  const int32_t indices[] = {0, 0};
  BOOST_TEST(batch->take(indices, 2)->num_rows() == 2);
  auto from_rows = RecordBatch::from_rows(schema, {{}, {}, {}}).value();
  BOOST_TEST(from_rows->num_rows() == 3);
  BOOST_TEST(RecordBatch::concatenate({batch, from_rows}).value()->num_rows() == 8);
  BOOST_TEST(RecordBatch::make_empty(schema)->num_rows() == 0);
}

BOOST_AUTO_TEST_CASE(memory_bytes_counts_values_bitmaps_and_string_bytes) {
  auto batch = batch_of(id_name_schema(), {{Value(1), Value("abc")}, {Value(2), Value()}});
  // ids: 2 * 8; names: 2 offsets * 8 + one bitmap byte + 3 string bytes.
  BOOST_TEST(batch->memory_bytes() == 16 + 16 + 1 + 3);
}
