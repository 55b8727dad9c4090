#define BOOST_TEST_MODULE parquet_thrift_compact
#include <boost/test/unit_test.hpp>

#include "parquet/metadata.hpp"
#include "parquet/thrift_compact.hpp"

using namespace sluice;
using namespace sluice::parquet;
using thrift::WireType;

BOOST_AUTO_TEST_CASE(file_metadata_round_trips) {
  FileMetaData metadata;
  SchemaElement root;
  root.name = "schema";
  root.num_children = 2;
  metadata.schema.push_back(root);
  SchemaElement ts;
  ts.name = "t";
  ts.type = PhysicalType::int64;
  ts.repetition = Repetition::optional;
  ts.converted_type = converted_type::timestamp_micros;
  ts.logical_type.kind = LogicalType::Kind::timestamp;
  ts.logical_type.adjusted_to_utc = true;
  ts.logical_type.unit = TimeUnit::micros;
  metadata.schema.push_back(ts);
  SchemaElement s;
  s.type = PhysicalType::byte_array;
  s.repetition = Repetition::required;
  s.name = "s";
  s.logical_type.kind = LogicalType::Kind::string;
  metadata.schema.push_back(s);
  metadata.num_rows = -5;  // zigzag must carry negatives
  RowGroup group;
  group.num_rows = 1ll << 40;
  ColumnMetaData meta;
  meta.encodings = {Encoding::plain, Encoding::rle_dictionary};
  meta.path_in_schema = {"t"};
  meta.codec = Codec::zstd;
  meta.data_page_offset = 123456789;
  meta.dictionary_page_offset = 4;
  meta.statistics.emplace();
  meta.statistics->null_count = 0;
  meta.statistics->max_value = std::string("\xff\x00", 2);
  meta.statistics->min_value = "";
  group.columns.push_back(ColumnChunk{4, meta});
  metadata.row_groups.push_back(group);
  metadata.created_by = "sluice";
  metadata.num_type_defined_orders = 2;

  std::string bytes;
  serialize(metadata, bytes);
  auto parsed = parse_file_metadata(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  BOOST_REQUIRE_MESSAGE(parsed.ok(), parsed.status().to_string());
  BOOST_TEST(parsed->num_rows == -5);
  BOOST_TEST(parsed->schema.size() == 3u);
  BOOST_TEST((parsed->schema[1].logical_type.kind == LogicalType::Kind::timestamp));
  BOOST_TEST(parsed->schema[1].logical_type.adjusted_to_utc);
  BOOST_TEST((parsed->schema[1].logical_type.unit == TimeUnit::micros));
  BOOST_TEST((parsed->schema[2].logical_type.kind == LogicalType::Kind::string));
  BOOST_TEST((parsed->schema[2].repetition == Repetition::required));
  const RowGroup& g = parsed->row_groups.at(0);
  BOOST_TEST(g.num_rows == (1ll << 40));
  const ColumnMetaData& m = *g.columns.at(0).meta_data;
  BOOST_TEST((m.encodings == std::vector<Encoding>{Encoding::plain, Encoding::rle_dictionary}));
  BOOST_TEST(m.data_page_offset == 123456789);
  BOOST_TEST(*m.dictionary_page_offset == 4);
  BOOST_TEST(*m.statistics->max_value == std::string("\xff\x00", 2));
  BOOST_TEST(*m.statistics->min_value == "");
  BOOST_TEST(*parsed->created_by == "sluice");
}

BOOST_AUTO_TEST_CASE(unknown_fields_of_every_kind_are_skipped) {
  std::string bytes;
  thrift::CompactWriter w(bytes);
  w.begin_struct();
  w.field_i32(1, 3);  // PageHeader.type = DATA_PAGE_V2
  w.field_i32(2, 10);
  w.field_i32(3, 9);
  w.field_list(4, WireType::binary, 20);  // unknown: a long list
  for (int i = 0; i < 20; ++i)
    w.element_binary("x");
  w.field_struct(6);  // unknown: nested structs
  w.field_struct(1);
  w.field_bool(2, true);
  w.end_struct();
  w.end_struct();
  w.field_struct(8);
  w.field_i32(1, 7);
  w.field_i32(2, 0);
  w.field_i32(3, 7);
  w.field_i32(4, 0);
  w.field_i32(5, 2);
  w.field_i32(6, 0);
  w.field_i64(300, -1);  // unknown, long-form field id
  w.end_struct();
  w.end_struct();
  size_t consumed = 0;
  auto header =
      parse_page_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), consumed);
  BOOST_REQUIRE_MESSAGE(header.ok(), header.status().to_string());
  BOOST_TEST(consumed == bytes.size());
  BOOST_TEST((header->type == PageType::data_page_v2));
  BOOST_TEST(header->data_page_header_v2->num_values == 7);
  BOOST_TEST(header->data_page_header_v2->definition_levels_byte_length == 2);

  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    auto truncated =
        parse_page_header(reinterpret_cast<const uint8_t*>(bytes.data()), cut, consumed);
    BOOST_TEST(!truncated.ok());
  }
}
