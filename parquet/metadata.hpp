#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.hpp"

/// Mirrors the parts of parquet.thrift that Sluice writes and reads, with their Thrift
/// compact encoding. Enum values are kept as read (an unknown value is not an error until a
/// reader needs to act on it).
namespace sluice::parquet {

enum class PhysicalType : int32_t {
  boolean = 0,
  int32 = 1,
  int64 = 2,
  int96 = 3,
  float_ = 4,
  double_ = 5,
  byte_array = 6,
  fixed_len_byte_array = 7,
};

enum class Encoding : int32_t {
  plain = 0,
  plain_dictionary = 2,
  rle = 3,
  bit_packed = 4,
  delta_binary_packed = 5,
  delta_length_byte_array = 6,
  delta_byte_array = 7,
  rle_dictionary = 8,
  byte_stream_split = 9,
};

enum class Codec : int32_t {
  uncompressed = 0,
  snappy = 1,
  gzip = 2,
  lzo = 3,
  brotli = 4,
  lz4 = 5,
  zstd = 6,
  lz4_raw = 7,
};

enum class PageType : int32_t {
  data_page = 0,
  index_page = 1,
  dictionary_page = 2,
  data_page_v2 = 3,
};

enum class Repetition : int32_t { required = 0, optional = 1, repeated = 2 };

/// ConvertedType values Sluice writes or recognizes.
namespace converted_type {
inline constexpr int32_t utf8 = 0;
inline constexpr int32_t enum_ = 4;
inline constexpr int32_t decimal = 5;
inline constexpr int32_t date = 6;
inline constexpr int32_t time_millis = 7;
inline constexpr int32_t time_micros = 8;
inline constexpr int32_t timestamp_millis = 9;
inline constexpr int32_t timestamp_micros = 10;
inline constexpr int32_t json = 19;
}  // namespace converted_type

/// Returns a readable name of an enum value, or "unknown (n)".
std::string physical_type_name(PhysicalType type);
std::string encoding_name(Encoding encoding);
std::string codec_name(Codec codec);

enum class TimeUnit : uint8_t { millis, micros, nanos };

/// Holds the union LogicalType, flattened: `kind` says which member was set (its field id).
struct LogicalType {
  enum class Kind : int16_t {
    none = 0,
    string = 1,
    map = 2,
    list = 3,
    enum_ = 4,
    decimal = 5,
    date = 6,
    time = 7,
    timestamp = 8,
    integer = 10,
    unknown = 11,
    json = 12,
    bson = 13,
    uuid = 14,
    other = 99,
  };
  Kind kind = Kind::none;
  bool adjusted_to_utc = false;      ///< time and timestamp
  TimeUnit unit = TimeUnit::micros;  ///< time and timestamp
  int8_t bit_width = 0;              ///< integer
  bool is_signed = true;             ///< integer
};

struct SchemaElement {
  std::optional<PhysicalType> type;
  std::optional<int32_t> type_length;
  std::optional<Repetition> repetition;
  std::string name;
  std::optional<int32_t> num_children;
  std::optional<int32_t> converted_type;
  std::optional<int32_t> scale;
  std::optional<int32_t> precision;
  LogicalType logical_type;
};

struct Statistics {
  std::optional<std::string> max;  ///< deprecated signed-order bound
  std::optional<std::string> min;  ///< deprecated signed-order bound
  std::optional<int64_t> null_count;
  std::optional<std::string> max_value;
  std::optional<std::string> min_value;
  std::optional<int64_t> nan_count;
};

struct ColumnMetaData {
  PhysicalType type = PhysicalType::int64;
  std::vector<Encoding> encodings;
  std::vector<std::string> path_in_schema;
  Codec codec = Codec::uncompressed;
  int64_t num_values = 0;
  int64_t total_uncompressed_size = 0;
  int64_t total_compressed_size = 0;
  int64_t data_page_offset = 0;
  std::optional<int64_t> dictionary_page_offset;
  std::optional<Statistics> statistics;
};

struct ColumnChunk {
  int64_t file_offset = 0;
  std::optional<ColumnMetaData> meta_data;
};

struct RowGroup {
  std::vector<ColumnChunk> columns;
  int64_t total_byte_size = 0;
  int64_t num_rows = 0;
  std::optional<int64_t> file_offset;
  std::optional<int64_t> total_compressed_size;
  std::optional<int16_t> ordinal;
};

struct FileMetaData {
  int32_t version = 1;
  std::vector<SchemaElement> schema;
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::vector<std::pair<std::string, std::optional<std::string>>> key_value_metadata;
  std::optional<std::string> created_by;
  /// Number of column orders listed; Sluice writes TYPE_ORDER for every leaf column.
  int64_t num_type_defined_orders = 0;
};

struct DataPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::plain;
  Encoding definition_level_encoding = Encoding::rle;
  Encoding repetition_level_encoding = Encoding::rle;
};

struct DictionaryPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::plain;
  std::optional<bool> is_sorted;
};

struct DataPageHeaderV2 {
  int32_t num_values = 0;
  int32_t num_nulls = 0;
  int32_t num_rows = 0;
  Encoding encoding = Encoding::plain;
  int32_t definition_levels_byte_length = 0;
  int32_t repetition_levels_byte_length = 0;
  bool is_compressed = true;
};

struct PageHeader {
  PageType type = PageType::data_page;
  int32_t uncompressed_page_size = 0;
  int32_t compressed_page_size = 0;
  std::optional<DataPageHeader> data_page_header;
  std::optional<DictionaryPageHeader> dictionary_page_header;
  std::optional<DataPageHeaderV2> data_page_header_v2;
};

/// Appends the compact-protocol encoding of the footer to out.
void serialize(const FileMetaData& metadata, std::string& out);
/// Appends the compact-protocol encoding of a page header to out.
void serialize(const PageHeader& header, std::string& out);

/// Decodes a footer; fails with a corrupt Status naming the struct and field that is wrong.
Result<FileMetaData> parse_file_metadata(const uint8_t* data, size_t size);
/// Decodes a page header from the front of [data, data + size); sets consumed to its length.
Result<PageHeader> parse_page_header(const uint8_t* data, size_t size, size_t& consumed);

}  // namespace sluice::parquet
