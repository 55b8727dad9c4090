#define BOOST_TEST_MODULE parquet_round_trip
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <iostream>

#include "parquet/reader.hpp"
#include "parquet/writer.hpp"
#include "tests/parquet/parquet_test_data.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace sluice::parquet;
using sluice::testing::parquet_test_batch;
using sluice::testing::parquet_test_schema;
using sluice::testing::TemporaryDirectory;

namespace {

std::vector<std::vector<Value>> rows_of(const std::vector<RecordBatchPtr>& batches) {
  std::vector<std::vector<Value>> rows;
  for (const auto& batch : batches) {
    auto more = batch->to_rows();
    rows.insert(rows.end(), more.begin(), more.end());
  }
  return rows;
}

// Writes batches and returns what close() reported.
WrittenFile write_file(const std::string& path, const std::vector<RecordBatchPtr>& batches,
                       WriterOptions options) {
  auto writer = Writer::open(path, batches.front()->schema(), options);
  BOOST_REQUIRE_MESSAGE(writer.ok(), writer.status().to_string());
  for (const auto& batch : batches) {
    Status status = (*writer)->write(*batch);
    BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
  }
  auto file = (*writer)->close();
  BOOST_REQUIRE_MESSAGE(file.ok(), file.status().to_string());
  return *file;
}

std::vector<RecordBatchPtr> read_file(const std::string& path, ReaderOptions options = {}) {
  auto reader = Reader::open(path, options);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  auto batches = (*reader)->read_all();
  BOOST_REQUIRE_MESSAGE(batches.ok(), batches.status().to_string());
  return *batches;
}

std::vector<RecordBatchPtr> test_batches(int64_t rows, int64_t batch_rows, uint32_t seed) {
  std::vector<RecordBatchPtr> batches;
  for (int64_t first = 0; first < rows; first += batch_rows) {
    batches.push_back(parquet_test_batch(first, std::min(batch_rows, rows - first), seed));
  }
  return batches;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_type_round_trips_under_every_codec_and_encoding) {
  TemporaryDirectory dir;
  const uint32_t seed = 20240611;
  std::cout << "seed " << seed << "\n";
  const auto batches = test_batches(30000, 7000, seed);
  const auto expected = rows_of(batches);
  for (Compression codec : {Compression::snappy, Compression::zstd, Compression::uncompressed}) {
    for (bool dictionary : {true, false}) {
      for (int64_t page_bytes : {int64_t{1} << 20, int64_t{4096}}) {
        WriterOptions options;
        options.compression = codec;
        options.dictionary = dictionary;
        options.page_bytes = page_bytes;
        options.row_group_bytes = 200 * 1024;
        const std::string path = dir.file("f.parquet");
        const WrittenFile written = write_file(path, batches, options);
        BOOST_TEST(written.num_rows == 30000);
        BOOST_TEST(written.num_row_groups > 1);
        const auto read = read_file(path);
        BOOST_REQUIRE(!read.empty());
        BOOST_TEST(read.front()->schema()->to_string() == parquet_test_schema()->to_string());
        BOOST_TEST_CONTEXT("codec " << int(codec) << " dictionary " << dictionary << " page "
                                    << page_bytes) {
          BOOST_TEST((rows_of(read) == expected));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(close_reports_rows_size_and_column_statistics) {
  TemporaryDirectory dir;
  const auto batches = test_batches(5000, 1000, 7);
  const auto rows = rows_of(batches);
  WriterOptions options;
  options.row_group_bytes = 30 * 1024;
  const WrittenFile written = write_file(dir.file("s.parquet"), batches, options);
  BOOST_TEST(written.num_rows == 5000);
  BOOST_TEST(written.file_bytes ==
             static_cast<int64_t>(std::filesystem::file_size(dir.file("s.parquet"))));
  BOOST_REQUIRE(written.columns.size() == 7u);
  for (size_t c = 0; c < 7; ++c) {
    int64_t nulls = 0;
    std::optional<Value> min, max;
    for (const auto& row : rows) {
      const Value& v = row[c];
      if (v.is_null()) {
        ++nulls;
        continue;
      }
      if (!min || v < *min) min = v;
      if (!max || *max < v) max = v;
    }
    BOOST_TEST_CONTEXT("column " << written.columns[c].name) {
      BOOST_TEST(written.columns[c].null_count == nulls);
      BOOST_TEST((written.columns[c].min == min));
      BOOST_TEST((written.columns[c].max == max));
    }
  }
}

BOOST_AUTO_TEST_CASE(projection_returns_the_chosen_columns_in_the_chosen_order) {
  TemporaryDirectory dir;
  const auto batches = test_batches(3000, 3000, 3);
  write_file(dir.file("p.parquet"), batches, {});
  ReaderOptions options;
  options.columns = {"t", "id"};
  const auto read = read_file(dir.file("p.parquet"), options);
  BOOST_REQUIRE(read.size() == 1u);
  BOOST_TEST(read[0]->schema()->to_string() == "t TIMESTAMP, id BIGINT NOT NULL");
  const auto expected = rows_of(batches);
  const auto actual = read[0]->to_rows();
  BOOST_REQUIRE(actual.size() == expected.size());
  for (size_t r = 0; r < actual.size(); ++r) {
    BOOST_TEST((actual[r] == std::vector<Value>{expected[r][6], expected[r][0]}));
  }

  options.columns = {"idd"};
  auto missing = Reader::open(dir.file("p.parquet"), options);
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.status().code() == StatusCode::not_found);
  BOOST_TEST(missing.status().message().find("did you mean 'id'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(predicates_skip_row_groups_their_statistics_rule_out) {
  TemporaryDirectory dir;
  const auto batches = test_batches(20000, 1000, 11);
  WriterOptions options;
  options.row_group_bytes = 64 * 1024;
  const WrittenFile written = write_file(dir.file("g.parquet"), batches, options);
  BOOST_REQUIRE(written.num_row_groups >= 4);

  ReaderOptions read_options;
  read_options.predicates = {{"id", CompareOp::greater_equal, Value(int64_t{19990})}};
  auto reader = Reader::open(dir.file("g.parquet"), read_options);
  BOOST_REQUIRE(reader.ok());
  const auto read = (*reader)->read_all().value();
  BOOST_TEST((*reader)->row_groups_skipped() == written.num_row_groups - 1);
  const auto rows = rows_of(read);
  // Rows are not filtered: the last group comes back whole, and holds ids 19990..19999.
  BOOST_TEST(rows.back()[0] == Value(int64_t{19999}));
  BOOST_TEST(std::count_if(rows.begin(), rows.end(),
                           [](const auto& r) { return r[0].as_int64() >= 19990; }) == 10);

  read_options.predicates = {{"id", CompareOp::less, Value(int64_t{0})}};
  auto none = Reader::open(dir.file("g.parquet"), read_options);
  BOOST_TEST((*none)->read_all().value().empty());
  BOOST_TEST((*none)->row_groups_skipped() == written.num_row_groups);

  // Every string sorts below the byte 0xff (UTF-8 never uses it).
  read_options.predicates = {{"s", CompareOp::greater_equal, Value(std::string("\xff"))}};
  auto strings = Reader::open(dir.file("g.parquet"), read_options);
  BOOST_TEST((*strings)->read_all().value().empty());

  read_options.predicates = {{"d", CompareOp::less_equal, Value(1e12)}};
  auto all = Reader::open(dir.file("g.parquet"), read_options);
  BOOST_TEST(rows_of((*all)->read_all().value()).size() == 20000u);

  read_options.predicates = {{"s", CompareOp::equal, Value(int64_t{1})}};
  auto mismatch = Reader::open(dir.file("g.parquet"), read_options);
  BOOST_REQUIRE(!mismatch.ok());
  BOOST_TEST(mismatch.status().code() == StatusCode::type_error);
}

BOOST_AUTO_TEST_CASE(dictionary_falls_back_to_plain_when_it_grows_too_large) {
  TemporaryDirectory dir;
  auto schema = Schema::make({{"s", Type::String, true}}).value();
  RecordBatchBuilder builder(schema);
  // The first 20000 rows repeat 10 values, then every value is new.
  for (int i = 0; i < 60000; ++i) {
    builder.column(0).append_string(i < 20000 ? "k" + std::to_string(i % 10)
                                              : "fresh-" + std::to_string(i));
  }
  auto batch = builder.finish().value();
  WriterOptions options;
  options.dictionary_max_bytes = 16 * 1024;
  options.page_bytes = 8 * 1024;
  write_file(dir.file("d.parquet"), {batch}, options);
  auto reader = Reader::open(dir.file("d.parquet")).value();
  const auto& meta = *reader->metadata().row_groups.at(0).columns.at(0).meta_data;
  BOOST_TEST(meta.dictionary_page_offset.has_value());
  BOOST_TEST((std::find(meta.encodings.begin(), meta.encodings.end(), Encoding::rle_dictionary) !=
              meta.encodings.end()));
  BOOST_TEST((rows_of(reader->read_all().value()) == batch->to_rows()));

  // Unique strings from the start never pay for a dictionary.
  RecordBatchBuilder unique(schema);
  for (int i = 0; i < 5000; ++i)
    unique.column(0).append_string("u" + std::to_string(i));
  write_file(dir.file("u.parquet"), {unique.finish().value()}, {});
  auto unique_reader = Reader::open(dir.file("u.parquet")).value();
  BOOST_TEST(!unique_reader->metadata()
                  .row_groups.at(0)
                  .columns.at(0)
                  .meta_data->dictionary_page_offset.has_value());
}

BOOST_AUTO_TEST_CASE(an_empty_file_and_batch_slices_round_trip) {
  TemporaryDirectory dir;
  auto schema = parquet_test_schema();
  auto writer = Writer::open(dir.file("e.parquet"), schema).value();
  auto file = writer->close();
  BOOST_REQUIRE(file.ok());
  BOOST_TEST(file->num_rows == 0);
  auto reader = Reader::open(dir.file("e.parquet")).value();
  BOOST_TEST(reader->schema()->to_string() == schema->to_string());
  BOOST_TEST(reader->read_all().value().empty());

  // A sliced batch (non-zero column offsets) writes only its own rows.
  auto batch = parquet_test_batch(0, 1000, 5)->slice(123, 456);
  write_file(dir.file("slice.parquet"), {batch}, {});
  ReaderOptions options;
  options.batch_rows = 100;
  const auto read = read_file(dir.file("slice.parquet"), options);
  BOOST_TEST(read.size() == 5u);
  BOOST_TEST((rows_of(read) == batch->to_rows()));
}

BOOST_AUTO_TEST_CASE(writer_refuses_batches_of_another_schema) {
  TemporaryDirectory dir;
  auto writer = Writer::open(dir.file("w.parquet"), parquet_test_schema()).value();
  auto other =
      RecordBatch::from_rows(Schema::make({{"x", Type::Int64, true}}).value(), {{1}}).value();
  Status status = writer->write(*other);
  BOOST_TEST(status.code() == StatusCode::invalid_argument);
  BOOST_TEST(status.message().find("w.parquet") != std::string::npos);

  auto missing_dir = Writer::open(dir.file("no/such/dir.parquet"), parquet_test_schema());
  BOOST_TEST(missing_dir.status().code() == StatusCode::io_error);
}
