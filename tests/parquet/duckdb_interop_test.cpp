#define BOOST_TEST_MODULE parquet_duckdb_interop
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdio>
#include <map>

#include "parquet/reader.hpp"
#include "parquet/writer.hpp"
#include "tests/parquet/duckdb_process.hpp"
#include "tests/parquet/parquet_test_data.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace sluice::parquet;
using sluice::testing::json_quote;
using sluice::testing::TemporaryDirectory;

namespace {

using Rows = std::vector<std::vector<std::string>>;

sluice::testing::DuckdbOutput duckdb(const std::vector<std::string>& statements,
                                     const TemporaryDirectory& dir) {
  const std::string missing = sluice::testing::duckdb_missing_reason();
  BOOST_REQUIRE_MESSAGE(missing.empty(), missing);
  auto output = sluice::testing::run_duckdb(statements, dir.path());
  BOOST_REQUIRE_MESSAGE(output.ok(), output.status().to_string());
  return *output;
}

// Renders a value as the SQL in select_as_text() makes DuckDB print it.
std::string render(const Value& value) {
  if (value.is_null()) return "null";
  const auto& s = value.storage();
  if (std::holds_alternative<bool>(s)) return json_quote(value.as_bool() ? "true" : "false");
  if (std::holds_alternative<int64_t>(s)) return json_quote(std::to_string(value.as_int64()));
  if (std::holds_alternative<Timestamp>(s))
    return json_quote(std::to_string(value.as_timestamp().micros));
  if (std::holds_alternative<double>(s)) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.17g", value.as_double());
    return json_quote(buffer);
  }
  return json_quote(value.as_string());
}

Rows render(const std::vector<RecordBatchPtr>& batches) {
  Rows rows;
  for (const auto& batch : batches) {
    for (const auto& row : batch->to_rows()) {
      std::vector<std::string> rendered;
      for (const auto& value : row)
        rendered.push_back(render(value));
      rows.push_back(std::move(rendered));
    }
  }
  return rows;
}

// Returns a SELECT printing every column of the file as text, exactly (doubles to 17 digits,
// timestamps as microseconds), in id order.
std::string select_as_text(const std::string& path,
                           const std::vector<std::pair<std::string, Type>>& columns) {
  std::string sql = "SELECT ";
  for (size_t i = 0; i < columns.size(); ++i) {
    const auto& [name, type] = columns[i];
    if (i > 0) sql += ", ";
    switch (type) {
      case Type::Double:
        sql += "printf('%.17g', " + name + ")";
        break;
      case Type::Timestamp:
        sql += "CAST(epoch_us(" + name + ") AS VARCHAR)";
        break;
      case Type::String:
        sql += name;
        break;
      default:
        sql += "CAST(" + name + " AS VARCHAR)";
        break;
    }
  }
  return sql + " FROM read_parquet('" + path + "') ORDER BY id";
}

std::vector<std::pair<std::string, Type>> columns_of(const Schema& schema) {
  std::vector<std::pair<std::string, Type>> columns;
  for (const auto& field : schema.fields())
    columns.emplace_back(field.name, field.type);
  return columns;
}

std::vector<RecordBatchPtr> read_with_sluice(const std::string& path, ReaderOptions options = {}) {
  auto reader = Reader::open(path, options);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  auto batches = (*reader)->read_all();
  BOOST_REQUIRE_MESSAGE(batches.ok(), batches.status().to_string());
  return *batches;
}

}  // namespace

BOOST_AUTO_TEST_CASE(duckdb_reads_files_sluice_writes_with_identical_rows_types_and_nulls) {
  TemporaryDirectory dir;
  const uint32_t seed = 4242;
  BOOST_TEST_MESSAGE("seed " << seed);
  std::vector<RecordBatchPtr> batches;
  for (int64_t first = 0; first < 24000; first += 6000) {
    batches.push_back(sluice::testing::parquet_test_batch(first, 6000, seed));
  }
  const auto schema = batches.front()->schema();
  const Rows expected = render(batches);
  // Null counts computed from the batches, independently of the writer.
  std::map<std::string, int64_t> expected_nulls;
  for (const auto& batch : batches) {
    for (int c = 0; c < batch->num_columns(); ++c) {
      expected_nulls[schema->field(c).name] += batch->column(c)->null_count();
    }
  }

  struct Variant {
    std::string name;
    Compression compression;
    bool dictionary;
    int64_t row_group_bytes;
  };
  const std::vector<Variant> variants = {
      {"snappy_dictionary", Compression::snappy, true, 128ll << 20},
      {"zstd_dictionary_row_groups", Compression::zstd, true, 100 * 1024},
      {"snappy_plain_row_groups", Compression::snappy, false, 150 * 1024},
      {"uncompressed_plain", Compression::uncompressed, false, 128ll << 20},
  };
  for (const auto& variant : variants) {
    BOOST_TEST_CONTEXT("variant " << variant.name) {
      const std::string path = dir.file(variant.name + ".parquet");
      WriterOptions options;
      options.compression = variant.compression;
      options.dictionary = variant.dictionary;
      options.row_group_bytes = variant.row_group_bytes;
      options.page_bytes = 64 * 1024;
      auto writer = Writer::open(path, schema, options).value();
      for (const auto& batch : batches)
        BOOST_REQUIRE(writer->write(*batch).is_ok());
      const WrittenFile written = writer->close().value();

      const auto output = duckdb(
          {select_as_text(path, columns_of(*schema)),
           "SELECT column_name, column_type, \"null\" FROM (DESCRIBE SELECT * FROM read_parquet('" +
               path + "'))",
           "SELECT path_in_schema, CAST(sum(stats_null_count) AS VARCHAR), "
           "CAST(count(DISTINCT row_group_id) AS VARCHAR), "
           "CAST(bool_or(encodings LIKE '%RLE_DICTIONARY%') AS VARCHAR), "
           "CAST(min(CASE WHEN path_in_schema = 'i' THEN stats_min_value END) AS VARCHAR) "
           "FROM parquet_metadata('" +
               path + "') GROUP BY path_in_schema ORDER BY path_in_schema",
           "SELECT DISTINCT compression FROM parquet_metadata('" + path + "')"},
          dir);
      BOOST_REQUIRE(output.results.size() == 4u);
      const Rows& rows = output.results[0];
      BOOST_REQUIRE_EQUAL(rows.size(), expected.size());
      for (size_t r = 0; r < rows.size(); ++r) {
        BOOST_TEST_CONTEXT("row " << r) {
          BOOST_TEST(rows[r] == expected[r]);
        }
      }

      const Rows expected_types = {{"\"id\"", "\"BIGINT\"", "\"NO\""},
                                   {"\"i\"", "\"BIGINT\"", "\"YES\""},
                                   {"\"d\"", "\"DOUBLE\"", "\"YES\""},
                                   {"\"s\"", "\"VARCHAR\"", "\"YES\""},
                                   {"\"u\"", "\"VARCHAR\"", "\"YES\""},
                                   {"\"b\"", "\"BOOLEAN\"", "\"YES\""},
                                   {"\"t\"", "\"TIMESTAMP WITH TIME ZONE\"", "\"YES\""}};
      // DuckDB reports every Parquet column as nullable; compare names and types only.
      BOOST_REQUIRE(output.results[1].size() == expected_types.size());
      for (size_t c = 0; c < expected_types.size(); ++c) {
        BOOST_TEST(output.results[1][c][0] == expected_types[c][0]);
        BOOST_TEST(output.results[1][c][1] == expected_types[c][1]);
      }

      for (const auto& row : output.results[2]) {
        const std::string name = row[0].substr(1, row[0].size() - 2);
        BOOST_TEST_CONTEXT("column " << name) {
          BOOST_TEST(row[1] == json_quote(std::to_string(expected_nulls[name])));
          BOOST_TEST(row[2] == json_quote(std::to_string(written.num_row_groups)));
          const bool dictionary_expected = variant.dictionary && name == "s";
          if (name == "s" || name == "u") {
            BOOST_TEST(row[3] == json_quote(dictionary_expected ? "true" : "false"));
          }
          if (name == "i") {
            std::optional<Value> min = written.columns[1].min;
            BOOST_REQUIRE(min.has_value());
            BOOST_TEST(row[4] == json_quote(std::to_string(min->as_int64())));
          }
        }
      }
      if (variant.row_group_bytes < (1 << 20)) BOOST_TEST(written.num_row_groups > 1);
      const std::string codec = variant.compression == Compression::snappy ? "SNAPPY"
                                : variant.compression == Compression::zstd ? "ZSTD"
                                                                           : "UNCOMPRESSED";
      BOOST_TEST((output.results[3] == Rows{{json_quote(codec)}}));
    }
  }
}

BOOST_AUTO_TEST_CASE(sluice_reads_files_duckdb_writes_with_identical_content) {
  TemporaryDirectory dir;
  const std::string query =
      "SELECT i::BIGINT AS id,"
      " CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 37) % 1000 - 500 END::BIGINT AS n,"
      " CASE WHEN i % 9 = 0 THEN NULL ELSE (i * 13) % 100000 - 50000 END::INTEGER AS i32,"
      " CASE WHEN i % 11 = 0 THEN NULL ELSE i / 7.0 - 1000 END::DOUBLE AS d,"
      " CASE WHEN i % 13 = 0 THEN NULL ELSE 'v' || (i % 50) || CASE WHEN i % 3 = 0 THEN ' "
      "\u00e9\t\"x\"' ELSE '' END END AS s,"
      " md5(i::VARCHAR) AS u,"
      " CASE WHEN i % 5 = 0 THEN NULL ELSE i % 3 = 0 END AS b,"
      " CASE WHEN i % 17 = 0 THEN NULL ELSE TIMESTAMP '1960-01-01' + INTERVAL (i * 100003) SECOND "
      "END AS t,"
      " TIMESTAMPTZ '2024-03-01 12:00:00+00' + INTERVAL (i) MILLISECOND AS tz"
      " FROM range(25000) r(i)";
  const std::vector<std::pair<std::string, Type>> columns = {
      {"id", Type::Int64}, {"n", Type::Int64},     {"i32", Type::Int64},
      {"d", Type::Double}, {"s", Type::String},    {"u", Type::String},
      {"b", Type::Bool},   {"t", Type::Timestamp}, {"tz", Type::Timestamp}};
  for (const std::string codec : {"snappy", "zstd", "uncompressed"}) {
    BOOST_TEST_CONTEXT("codec " << codec) {
      const std::string path = dir.file("duck_" + codec + ".parquet");
      const auto output =
          duckdb({"COPY (" + query + ") TO '" + path + "' (FORMAT parquet, COMPRESSION " + codec +
                      ", ROW_GROUP_SIZE 10000)",
                  select_as_text(path, columns)},
                 dir);
      const auto batches = read_with_sluice(path);
      BOOST_REQUIRE(!batches.empty());
      BOOST_TEST(batches.front()->schema()->to_string() ==
                 "id BIGINT, n BIGINT, i32 BIGINT, d DOUBLE, s STRING, u STRING, b BOOLEAN, "
                 "t TIMESTAMP, tz TIMESTAMP");
      const Rows actual = render(batches);
      const Rows& expected = output.results[1];
      BOOST_REQUIRE_EQUAL(actual.size(), expected.size());
      for (size_t r = 0; r < actual.size(); ++r) {
        BOOST_TEST_CONTEXT("row " << r) {
          BOOST_TEST(actual[r] == expected[r]);
        }
      }

      // Statistics written by DuckDB let a predicate skip all but the last row group.
      ReaderOptions options;
      options.columns = {"id", "s"};
      options.predicates = {{"id", CompareOp::greater, Value(int64_t{24000})}};
      auto reader = Reader::open(path, options).value();
      const auto some = reader->read_all().value();
      BOOST_TEST(reader->num_row_groups() >= 3);
      BOOST_TEST(reader->row_groups_skipped() == reader->num_row_groups() - 1);
      BOOST_TEST(some.back()->to_rows().back()[0] == Value(int64_t{24999}));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_duckdb_date_column_is_refused_by_name_unless_projected_away) {
  TemporaryDirectory dir;
  const std::string path = dir.file("date.parquet");
  duckdb({"COPY (SELECT 1::BIGINT AS id, DATE '2024-01-02' AS day) TO '" + path +
          "' (FORMAT parquet)"},
         dir);
  auto refused = Reader::open(path);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.status().message().find("'day'") != std::string::npos);
  BOOST_TEST(refused.status().message().find("DATE") != std::string::npos);
  ReaderOptions options;
  options.columns = {"id"};
  const auto batches = read_with_sluice(path, options);
  BOOST_REQUIRE(batches.size() == 1u);
  BOOST_TEST(batches[0]->to_rows() == (std::vector<std::vector<Value>>{{Value(int64_t{1})}}));
}
