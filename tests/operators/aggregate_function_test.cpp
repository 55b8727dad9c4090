#define BOOST_TEST_MODULE aggregate_function
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <random>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "operators/aggregate_function.hpp"
#include "tests/operators/stateful_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr AggregateKind kAllKinds[] = {AggregateKind::count_all,
                                       AggregateKind::count,
                                       AggregateKind::count_distinct,
                                       AggregateKind::approx_count_distinct,
                                       AggregateKind::sum,
                                       AggregateKind::avg,
                                       AggregateKind::min,
                                       AggregateKind::max,
                                       AggregateKind::first,
                                       AggregateKind::last};

SchemaPtr all_types() {
  return schema_of({{"b", Type::Bool},
                    {"i", Type::Int64},
                    {"d", Type::Double},
                    {"s", Type::String},
                    {"t", Type::Timestamp}});
}

Value random_value(Type type, std::mt19937_64& random) {
  switch (type) {
    case Type::Bool:
      return Value(random() % 2 == 0);
    case Type::Int64: {
      if (random() % 10 == 0) return Value(std::numeric_limits<int64_t>::max() - 5);
      return Value(static_cast<int64_t>(random() % 41) - 20);
    }
    case Type::Double: {
      if (random() % 25 == 0) return Value(std::numeric_limits<double>::quiet_NaN());
      if (random() % 25 == 0) return Value(-0.0);
      return Value(static_cast<double>(static_cast<int64_t>(random() % 41) - 20) / 4);
    }
    case Type::String:
      return Value(std::string(random() % 20, static_cast<char>('a' + random() % 3)));
    case Type::Timestamp:
      return Value(Timestamp{static_cast<int64_t>(random() % 41) - 20});
  }
  return Value();
}

// Rows of every type with nulls, and the group (0..num_groups-1) of each row. Group 0 gets no
// row, group 1 only nulls.
struct GroupedInput {
  RecordBatchPtr batch;
  std::vector<int> group_of_row;
  int num_groups = 0;
};

GroupedInput random_input(uint64_t seed, int num_rows, int num_groups) {
  std::mt19937_64 random(seed);
  auto schema = all_types();
  Rows rows;
  GroupedInput input;
  input.num_groups = num_groups;
  for (int r = 0; r < num_rows; ++r) {
    const int group = 1 + static_cast<int>(random() % static_cast<uint64_t>(num_groups - 1));
    Row row;
    for (const Field& field : schema->fields()) {
      const bool null = group == 1 || random() % 5 == 0;
      row.push_back(null ? Value() : random_value(field.type, random));
    }
    rows.push_back(std::move(row));
    input.group_of_row.push_back(group);
  }
  input.batch = batch_of(schema, rows);
  return input;
}

// Every (kind, column) pair the aggregate accepts.
std::vector<AggregateSpec> every_spec(const Schema& schema) {
  std::vector<AggregateSpec> specs;
  specs.push_back({AggregateKind::count_all, -1, ""});
  for (AggregateKind kind : kAllKinds) {
    if (kind == AggregateKind::count_all) continue;
    for (int c = 0; c < schema.num_fields(); ++c) {
      if (aggregate_result_type(kind, schema.field(c).type).ok()) {
        specs.push_back({kind, c,
                         aggregate_name(kind) + "_" + schema.field(c).name +
                             (kind == AggregateKind::count_distinct ? "_distinct" : "")});
      }
    }
  }
  return specs;
}

// Holds one zero-filled row per group and releases them at the end.
struct GroupRows {
  const AggregateRow& layout;
  std::vector<std::vector<uint64_t>> rows;
  GroupRows(const AggregateRow& l, int count)
      : layout(l),
        rows(static_cast<size_t>(count), std::vector<uint64_t>(static_cast<size_t>(l.words()), 0)) {
  }
  ~GroupRows() {
    for (auto& row : rows) {
      layout.destroy(row.data());
    }
  }
  uint64_t* operator[](int group) { return rows[static_cast<size_t>(group)].data(); }
};

void update_groups(const AggregateRow& layout, const GroupedInput& input, GroupRows& rows,
                   const std::vector<int32_t>& selection, const int64_t* order = nullptr) {
  std::vector<uint64_t*> states;
  for (int32_t r : selection) {
    states.push_back(rows[input.group_of_row[static_cast<size_t>(r)]]);
  }
  layout.update(*input.batch, selection.data(), states.data(),
                static_cast<int64_t>(selection.size()), order);
}

Rows finalize_groups(const AggregateRow& layout, GroupRows& rows, int num_groups) {
  std::vector<ColumnBuilder> builders;
  for (const Field& field : layout.output_fields()) {
    builders.emplace_back(field.type);
  }
  for (int g = 0; g < num_groups; ++g) {
    layout.finalize(rows[g], builders.data());
  }
  std::vector<ColumnPtr> columns;
  for (auto& builder : builders) {
    columns.push_back(builder.finish());
  }
  Rows out(static_cast<size_t>(num_groups));
  for (int g = 0; g < num_groups; ++g) {
    for (const auto& column : columns) {
      out[static_cast<size_t>(g)].push_back(column->value_at(g));
    }
  }
  return out;
}

Rows reference_groups(const std::vector<AggregateSpec>& specs, const GroupedInput& input) {
  const Rows rows = input.batch->to_rows();
  Rows out(static_cast<size_t>(input.num_groups));
  for (int g = 0; g < input.num_groups; ++g) {
    for (const AggregateSpec& spec : specs) {
      std::vector<Value> values;
      for (size_t r = 0; r < rows.size(); ++r) {
        if (input.group_of_row[r] != g) continue;
        values.push_back(spec.input_column < 0 ? Value(1)
                                               : rows[r][static_cast<size_t>(spec.input_column)]);
      }
      std::optional<Type> type;
      if (spec.input_column >= 0) type = input.batch->schema()->field(spec.input_column).type;
      out[static_cast<size_t>(g)].push_back(reference_aggregate(spec.kind, values, type));
    }
  }
  return out;
}

// Compares results; approx_count_distinct may be off by 10% (or 1) of the exact count.
void check_groups(const std::vector<AggregateSpec>& specs, const Rows& actual, const Rows& expected,
                  const std::string& what) {
  BOOST_REQUIRE_EQUAL(actual.size(), expected.size());
  for (size_t g = 0; g < actual.size(); ++g) {
    for (size_t a = 0; a < specs.size(); ++a) {
      const Value& got = actual[g][a];
      const Value& want = expected[g][a];
      if (specs[a].kind == AggregateKind::approx_count_distinct) {
        const double error = std::abs(static_cast<double>(got.as_int64() - want.as_int64()));
        BOOST_TEST(error <= std::max(1.0, 0.1 * static_cast<double>(want.as_int64())),
                   what << " group " << g << " " << specs[a].output_name << ": " << got
                        << " vs exact " << want);
        continue;
      }
      BOOST_TEST(same_value(got, want), what << " group " << g << " " << specs[a].output_name
                                             << ": got " << got << ", expected " << want);
    }
  }
}

std::vector<int32_t> all_rows(int64_t count) {
  std::vector<int32_t> rows(static_cast<size_t>(count));
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i] = static_cast<int32_t>(i);
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(result_types_follow_spark_and_errors_name_the_function_and_type) {
  BOOST_TEST(*aggregate_result_type(AggregateKind::count_all, std::nullopt) == Type::Int64);
  BOOST_TEST(*aggregate_result_type(AggregateKind::count, Type::String) == Type::Int64);
  BOOST_TEST(*aggregate_result_type(AggregateKind::count_distinct, Type::Double) == Type::Int64);
  BOOST_TEST(*aggregate_result_type(AggregateKind::approx_count_distinct, Type::Bool) ==
             Type::Int64);
  BOOST_TEST(*aggregate_result_type(AggregateKind::sum, Type::Int64) == Type::Int64);
  BOOST_TEST(*aggregate_result_type(AggregateKind::sum, Type::Double) == Type::Double);
  BOOST_TEST(*aggregate_result_type(AggregateKind::avg, Type::Int64) == Type::Double);
  for (AggregateKind kind :
       {AggregateKind::min, AggregateKind::max, AggregateKind::first, AggregateKind::last}) {
    for (Type type : {Type::Bool, Type::Int64, Type::Double, Type::String, Type::Timestamp}) {
      BOOST_TEST(*aggregate_result_type(kind, type) == type);
    }
  }
  for (AggregateKind kind : {AggregateKind::sum, AggregateKind::avg}) {
    for (Type type : {Type::Bool, Type::String, Type::Timestamp}) {
      auto result = aggregate_result_type(kind, type);
      BOOST_REQUIRE(!result.ok());
      BOOST_TEST(result.status().code() == StatusCode::type_error);
      BOOST_TEST(contains(result.status().message(), aggregate_name(kind)));
      BOOST_TEST(contains(result.status().message(), std::string(type_name(type))));
    }
  }
  BOOST_TEST(!aggregate_result_type(AggregateKind::sum, std::nullopt).ok());
  BOOST_TEST(aggregate_name(AggregateKind::approx_count_distinct) == "approx_count_distinct");
  auto schema = all_types();
  BOOST_TEST(aggregate_column_name({AggregateKind::count_all, -1, ""}, *schema) == "count(1)");
  BOOST_TEST(aggregate_column_name({AggregateKind::count_distinct, 1, ""}, *schema) ==
             "count(DISTINCT i)");
  BOOST_TEST(aggregate_column_name({AggregateKind::avg, 2, ""}, *schema) == "avg(d)");
}

BOOST_AUTO_TEST_CASE(every_aggregate_of_every_type_matches_the_reference_with_nulls) {
  const uint64_t seed = test_seed();
  const GroupedInput input = random_input(seed, 2000, 12);
  const auto specs = every_spec(*input.batch->schema());
  auto layout = AggregateRow::make(*input.batch->schema(), specs);
  BOOST_REQUIRE_MESSAGE(layout.ok(), layout.status().to_string());
  // Two update calls over halves of the rows, in arrival order.
  GroupRows rows(*layout, input.num_groups);
  const auto every = all_rows(input.batch->num_rows());
  update_groups(*layout, input, rows, std::vector<int32_t>(every.begin(), every.begin() + 700));
  update_groups(*layout, input, rows, std::vector<int32_t>(every.begin() + 700, every.end()));
  const Rows expected = reference_groups(specs, input);
  check_groups(specs, finalize_groups(*layout, rows, input.num_groups), expected, "updated");
  // Spot checks of the special groups: no rows, only nulls.
  BOOST_TEST(expected[0][0] == Value(int64_t{0}));
  BOOST_TEST(expected[1][0].as_int64() > 0);
}

BOOST_AUTO_TEST_CASE(states_survive_serialization_byte_for_byte) {
  const uint64_t seed = test_seed();
  const GroupedInput input = random_input(seed, 1500, 9);
  const auto specs = every_spec(*input.batch->schema());
  auto layout = AggregateRow::make(*input.batch->schema(), specs);
  BOOST_REQUIRE(layout.ok());
  GroupRows rows(*layout, input.num_groups);
  update_groups(*layout, input, rows, all_rows(input.batch->num_rows()));
  GroupRows copies(*layout, input.num_groups);
  for (int g = 0; g < input.num_groups; ++g) {
    std::string bytes;
    layout->serialize(rows[g], bytes);
    std::string again;
    layout->serialize(rows[g], again);
    BOOST_TEST(bytes == again);
    std::string_view in = bytes;
    Status status = layout->deserialize(in, copies[g]);
    BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
    BOOST_TEST(in.empty());
    std::string round_trip;
    layout->serialize(copies[g], round_trip);
    BOOST_TEST(round_trip == bytes, "group " << g);
    BOOST_TEST(layout->heap_bytes(copies[g]) >= 0);
  }
  check_groups(specs, finalize_groups(*layout, copies, input.num_groups),
               finalize_groups(*layout, rows, input.num_groups), "deserialized");
}

BOOST_AUTO_TEST_CASE(merging_partial_states_equals_aggregating_all_rows) {
  const uint64_t seed = test_seed();
  const GroupedInput input = random_input(seed, 1200, 8);
  // Exact sums need integral doubles: merging adds partial sums in another order.
  const auto schema = input.batch->schema();
  std::vector<AggregateSpec> specs;
  for (const auto& spec : every_spec(*schema)) {
    const bool double_sum = spec.input_column == 2 &&
                            (spec.kind == AggregateKind::sum || spec.kind == AggregateKind::avg);
    if (!double_sum) specs.push_back(spec);
  }
  auto layout = AggregateRow::make(*schema, specs);
  BOOST_REQUIRE(layout.ok());
  const int64_t n = input.batch->num_rows();
  std::vector<int64_t> rank(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    rank[static_cast<size_t>(r)] = 1000 + r;
  }
  // Interleave rows into two partial states; fold the later half in reverse to prove that
  // first/last follow the rank, not the update order.
  std::vector<int32_t> even;
  std::vector<int32_t> odd;
  for (int32_t r = 0; r < n; ++r) {
    (r % 2 ? odd : even).push_back(r);
  }
  std::reverse(odd.begin(), odd.end());
  auto ranks_of = [&](const std::vector<int32_t>& rows) {
    std::vector<int64_t> out;
    for (int32_t r : rows) {
      out.push_back(rank[static_cast<size_t>(r)]);
    }
    return out;
  };
  GroupRows left(*layout, input.num_groups);
  GroupRows right(*layout, input.num_groups);
  const auto even_ranks = ranks_of(even);
  const auto odd_ranks = ranks_of(odd);
  update_groups(*layout, input, left, even, even_ranks.data());
  update_groups(*layout, input, right, odd, odd_ranks.data());
  GroupRows merged_left(*layout, input.num_groups);
  GroupRows merged_right(*layout, input.num_groups);
  for (int g = 0; g < input.num_groups; ++g) {
    layout->merge(merged_left[g], left[g]);
    layout->merge(merged_left[g], right[g]);
    layout->merge(merged_right[g], right[g]);
    layout->merge(merged_right[g], left[g]);
  }
  const Rows expected = reference_groups(specs, input);
  check_groups(specs, finalize_groups(*layout, merged_left, input.num_groups), expected,
               "left then right");
  check_groups(specs, finalize_groups(*layout, merged_right, input.num_groups), expected,
               "right then left");
}

BOOST_AUTO_TEST_CASE(sum_of_bigint_wraps_around_like_spark_non_ansi) {
  auto schema = schema_of({{"v", Type::Int64}});
  auto batch = batch_of(schema, {{std::numeric_limits<int64_t>::max()}, {int64_t{2}}});
  auto layout = AggregateRow::make(*schema, {{AggregateKind::sum, 0, "s"}});
  BOOST_REQUIRE(layout.ok());
  std::vector<uint64_t> row(static_cast<size_t>(layout->words()), 0);
  uint64_t* states[] = {row.data(), row.data()};
  layout->update(*batch, nullptr, states, 2);
  ColumnBuilder builder(Type::Int64);
  layout->finalize(row.data(), &builder);
  BOOST_TEST(builder.finish()->value_at(0) == Value(std::numeric_limits<int64_t>::min() + 1));
}

BOOST_AUTO_TEST_CASE(first_and_last_keep_null_values_in_arrival_order) {
  auto schema = schema_of({{"s", Type::String}, {"i", Type::Int64}});
  auto batch = batch_of(schema, {{Value(), 1}, {"x", Value()}, {"y", 3}, {"z", Value()}});
  auto layout = AggregateRow::make(*schema, {{AggregateKind::first, 0, "fs"},
                                             {AggregateKind::last, 0, "ls"},
                                             {AggregateKind::first, 1, "fi"},
                                             {AggregateKind::last, 1, "li"}});
  BOOST_REQUIRE(layout.ok());
  std::vector<uint64_t> row(static_cast<size_t>(layout->words()), 0);
  std::vector<uint64_t*> states(4, row.data());
  layout->update(*batch, nullptr, states.data(), 4);
  std::vector<ColumnBuilder> builders = {ColumnBuilder(Type::String), ColumnBuilder(Type::String),
                                         ColumnBuilder(Type::Int64), ColumnBuilder(Type::Int64)};
  layout->finalize(row.data(), builders.data());
  BOOST_TEST(builders[0].finish()->is_null(0));
  BOOST_TEST(builders[1].finish()->value_at(0) == Value("z"));
  BOOST_TEST(builders[2].finish()->value_at(0) == Value(1));
  BOOST_TEST(builders[3].finish()->is_null(0));
  layout->destroy(row.data());
}

BOOST_AUTO_TEST_CASE(hyperloglog_estimates_100k_distinct_values_within_three_standard_errors) {
  const double rsd = HyperLogLog::relative_standard_error();
  BOOST_TEST(rsd <= 0.05);
  for (int64_t distinct : {0, 1, 10, 100, 1000, 5000, 100'000}) {
    std::vector<uint8_t> registers(HyperLogLog::kNumRegisters, 0);
    for (int64_t v = 0; v < distinct; ++v) {
      // Every value twice: duplicates must not count.
      for (int repeat = 0; repeat < 2; ++repeat) {
        HyperLogLog::add(registers.data(), XXH64(&v, sizeof v, 42));
      }
    }
    const double estimate = HyperLogLog::estimate(registers.data());
    const double error = std::abs(estimate - static_cast<double>(distinct));
    BOOST_TEST(error <= std::max(1.0, 3 * rsd * static_cast<double>(distinct)),
               distinct << " distinct values estimated as " << estimate);
  }
}

BOOST_AUTO_TEST_CASE(approx_count_distinct_of_strings_counts_100k_values_within_three_rsd) {
  auto schema = schema_of({{"s", Type::String}});
  ColumnBuilder builder(Type::String);
  const int64_t distinct = 100'000;
  for (int64_t v = 0; v < distinct; ++v) {
    builder.append_string("value-" + std::to_string(v * 7919));
  }
  auto batch = RecordBatch::make(schema, {builder.finish()});
  BOOST_REQUIRE(batch.ok());
  auto layout = AggregateRow::make(*schema, {{AggregateKind::approx_count_distinct, 0, "a"}});
  BOOST_REQUIRE(layout.ok());
  std::vector<uint64_t> row(static_cast<size_t>(layout->words()), 0);
  std::vector<uint64_t*> states(static_cast<size_t>(distinct), row.data());
  layout->update(**batch, nullptr, states.data(), distinct);
  ColumnBuilder out(Type::Int64);
  layout->finalize(row.data(), &out);
  const int64_t estimate = out.finish()->value_at(0).as_int64();
  BOOST_TEST(std::abs(static_cast<double>(estimate - distinct)) <=
                 3 * HyperLogLog::relative_standard_error() * distinct,
             "estimate " << estimate);
  BOOST_TEST(layout->heap_bytes(row.data()) == HyperLogLog::kNumRegisters);
  layout->destroy(row.data());
}

BOOST_AUTO_TEST_CASE(corrupt_state_bytes_are_reported_as_corrupt) {
  const GroupedInput input = random_input(7, 300, 4);
  const auto specs = every_spec(*input.batch->schema());
  auto layout = AggregateRow::make(*input.batch->schema(), specs);
  BOOST_REQUIRE(layout.ok());
  GroupRows rows(*layout, input.num_groups);
  update_groups(*layout, input, rows, all_rows(input.batch->num_rows()));
  std::string bytes;
  layout->serialize(rows[2], bytes);
  // Every truncation fails (each state's last byte is needed), and so does a bad flag byte.
  for (size_t length = 0; length < bytes.size(); length += 1 + bytes.size() / 50) {
    std::vector<uint64_t> row(static_cast<size_t>(layout->words()), 0);
    std::string_view in(bytes.data(), length);
    Status status = layout->deserialize(in, row.data());
    BOOST_TEST(status.code() == StatusCode::corrupt, "truncated to " << length);
    for (uint64_t word : row) {
      BOOST_TEST(word == 0u);
    }
  }
  auto single = AggregateRow::make(*input.batch->schema(), {{AggregateKind::sum, 1, "s"}});
  std::vector<uint64_t> row(static_cast<size_t>(single->words()), 0);
  std::string_view bad("\x07", 1);
  BOOST_TEST(single->deserialize(bad, row.data()).code() == StatusCode::corrupt);
}

BOOST_AUTO_TEST_CASE(make_rejects_columns_outside_the_input_and_wrong_types) {
  auto schema = all_types();
  auto outside = AggregateRow::make(*schema, {{AggregateKind::max, 9, ""}});
  BOOST_REQUIRE(!outside.ok());
  BOOST_TEST(outside.status().code() == StatusCode::invalid_argument);
  auto wrong = AggregateRow::make(*schema, {{AggregateKind::avg, 3, ""}});
  BOOST_REQUIRE(!wrong.ok());
  BOOST_TEST(wrong.status().code() == StatusCode::type_error);
  BOOST_TEST(contains(wrong.status().message(), "avg(s)"));
  auto layout = AggregateRow::make(
      *schema, {{AggregateKind::count_all, -1, ""}, {AggregateKind::sum, 1, "total"}});
  BOOST_REQUIRE(layout.ok());
  BOOST_TEST(layout->output_fields()[0].name == "count(1)");
  BOOST_TEST(!layout->output_fields()[0].nullable);
  BOOST_TEST(layout->output_fields()[1].name == "total");
  BOOST_TEST(layout->output_fields()[1].nullable);
}
