#include "parquet/metadata.hpp"

#include "parquet/thrift_compact.hpp"

namespace sluice::parquet {

using thrift::CompactReader;
using thrift::CompactWriter;
using thrift::WireType;

std::string physical_type_name(PhysicalType type) {
  static const char* names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
  const auto index = static_cast<int32_t>(type);
  if (index >= 0 && index < 8) return names[index];
  return "unknown physical type (" + std::to_string(index) + ")";
}

std::string encoding_name(Encoding encoding) {
  switch (encoding) {
    case Encoding::plain:
      return "PLAIN";
    case Encoding::plain_dictionary:
      return "PLAIN_DICTIONARY";
    case Encoding::rle:
      return "RLE";
    case Encoding::bit_packed:
      return "BIT_PACKED";
    case Encoding::delta_binary_packed:
      return "DELTA_BINARY_PACKED";
    case Encoding::delta_length_byte_array:
      return "DELTA_LENGTH_BYTE_ARRAY";
    case Encoding::delta_byte_array:
      return "DELTA_BYTE_ARRAY";
    case Encoding::rle_dictionary:
      return "RLE_DICTIONARY";
    case Encoding::byte_stream_split:
      return "BYTE_STREAM_SPLIT";
  }
  return "unknown encoding (" + std::to_string(static_cast<int32_t>(encoding)) + ")";
}

std::string codec_name(Codec codec) {
  static const char* names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
  const auto index = static_cast<int32_t>(codec);
  if (index >= 0 && index < 8) return names[index];
  return "unknown codec (" + std::to_string(index) + ")";
}

// ---------------------------------------------------------------------------------------------
// Writing

namespace {

void write_statistics(CompactWriter& w, const Statistics& s) {
  if (s.max) w.field_binary(1, *s.max);
  if (s.min) w.field_binary(2, *s.min);
  if (s.null_count) w.field_i64(3, *s.null_count);
  if (s.max_value) w.field_binary(5, *s.max_value);
  if (s.min_value) w.field_binary(6, *s.min_value);
  if (s.nan_count) w.field_i64(9, *s.nan_count);
}

// Writes the member of the LogicalType union; the caller opened the union struct around it.
void write_logical_type(CompactWriter& w, const LogicalType& t) {
  w.field_struct(static_cast<int16_t>(t.kind));
  switch (t.kind) {
    case LogicalType::Kind::timestamp:
    case LogicalType::Kind::time:
      w.field_bool(1, t.adjusted_to_utc);
      w.field_struct(2);  // TimeUnit union
      w.field_struct(t.unit == TimeUnit::millis ? 1 : t.unit == TimeUnit::micros ? 2 : 3);
      w.end_struct();
      w.end_struct();
      break;
    case LogicalType::Kind::integer:
      w.field_i32(1, t.bit_width);  // written as i32 varint; readers accept i8 as any integer
      w.field_bool(2, t.is_signed);
      break;
    default:
      break;
  }
  w.end_struct();
}

void write_schema_element(CompactWriter& w, const SchemaElement& e) {
  w.begin_struct();
  if (e.type) w.field_i32(1, static_cast<int32_t>(*e.type));
  if (e.type_length) w.field_i32(2, *e.type_length);
  if (e.repetition) w.field_i32(3, static_cast<int32_t>(*e.repetition));
  w.field_binary(4, e.name);
  if (e.num_children) w.field_i32(5, *e.num_children);
  if (e.converted_type) w.field_i32(6, *e.converted_type);
  if (e.scale) w.field_i32(7, *e.scale);
  if (e.precision) w.field_i32(8, *e.precision);
  if (e.logical_type.kind != LogicalType::Kind::none) {
    w.field_struct(10);
    write_logical_type(w, e.logical_type);
    w.end_struct();
  }
  w.end_struct();
}

void write_column_meta(CompactWriter& w, const ColumnMetaData& m) {
  w.field_i32(1, static_cast<int32_t>(m.type));
  w.field_list(2, WireType::i32, static_cast<int64_t>(m.encodings.size()));
  for (Encoding e : m.encodings)
    w.element_i32(static_cast<int32_t>(e));
  w.field_list(3, WireType::binary, static_cast<int64_t>(m.path_in_schema.size()));
  for (const auto& p : m.path_in_schema)
    w.element_binary(p);
  w.field_i32(4, static_cast<int32_t>(m.codec));
  w.field_i64(5, m.num_values);
  w.field_i64(6, m.total_uncompressed_size);
  w.field_i64(7, m.total_compressed_size);
  w.field_i64(9, m.data_page_offset);
  if (m.dictionary_page_offset) w.field_i64(11, *m.dictionary_page_offset);
  if (m.statistics) {
    w.field_struct(12);
    write_statistics(w, *m.statistics);
    w.end_struct();
  }
}

}  // namespace

void serialize(const FileMetaData& metadata, std::string& out) {
  CompactWriter w(out);
  w.begin_struct();
  w.field_i32(1, metadata.version);
  w.field_list(2, WireType::struct_, static_cast<int64_t>(metadata.schema.size()));
  for (const auto& element : metadata.schema)
    write_schema_element(w, element);
  w.field_i64(3, metadata.num_rows);
  w.field_list(4, WireType::struct_, static_cast<int64_t>(metadata.row_groups.size()));
  for (const auto& group : metadata.row_groups) {
    w.begin_struct();
    w.field_list(1, WireType::struct_, static_cast<int64_t>(group.columns.size()));
    for (const auto& chunk : group.columns) {
      w.begin_struct();
      w.field_i64(2, chunk.file_offset);
      if (chunk.meta_data) {
        w.field_struct(3);
        write_column_meta(w, *chunk.meta_data);
        w.end_struct();
      }
      w.end_struct();
    }
    w.field_i64(2, group.total_byte_size);
    w.field_i64(3, group.num_rows);
    if (group.file_offset) w.field_i64(5, *group.file_offset);
    if (group.total_compressed_size) w.field_i64(6, *group.total_compressed_size);
    if (group.ordinal) w.field_i32(7, *group.ordinal);
    w.end_struct();
  }
  if (!metadata.key_value_metadata.empty()) {
    w.field_list(5, WireType::struct_, static_cast<int64_t>(metadata.key_value_metadata.size()));
    for (const auto& [key, value] : metadata.key_value_metadata) {
      w.begin_struct();
      w.field_binary(1, key);
      if (value) w.field_binary(2, *value);
      w.end_struct();
    }
  }
  if (metadata.created_by) w.field_binary(6, *metadata.created_by);
  if (metadata.num_type_defined_orders > 0) {
    w.field_list(7, WireType::struct_, metadata.num_type_defined_orders);
    for (int64_t i = 0; i < metadata.num_type_defined_orders; ++i) {
      w.begin_struct();
      w.field_struct(1);  // TYPE_ORDER: TypeDefinedOrder {}
      w.end_struct();
      w.end_struct();
    }
  }
  w.end_struct();
}

void serialize(const PageHeader& header, std::string& out) {
  CompactWriter w(out);
  w.begin_struct();
  w.field_i32(1, static_cast<int32_t>(header.type));
  w.field_i32(2, header.uncompressed_page_size);
  w.field_i32(3, header.compressed_page_size);
  if (const auto& d = header.data_page_header) {
    w.field_struct(5);
    w.field_i32(1, d->num_values);
    w.field_i32(2, static_cast<int32_t>(d->encoding));
    w.field_i32(3, static_cast<int32_t>(d->definition_level_encoding));
    w.field_i32(4, static_cast<int32_t>(d->repetition_level_encoding));
    w.end_struct();
  }
  if (const auto& d = header.dictionary_page_header) {
    w.field_struct(7);
    w.field_i32(1, d->num_values);
    w.field_i32(2, static_cast<int32_t>(d->encoding));
    if (d->is_sorted) w.field_bool(3, *d->is_sorted);
    w.end_struct();
  }
  if (const auto& d = header.data_page_header_v2) {
    w.field_struct(8);
    w.field_i32(1, d->num_values);
    w.field_i32(2, d->num_nulls);
    w.field_i32(3, d->num_rows);
    w.field_i32(4, static_cast<int32_t>(d->encoding));
    w.field_i32(5, d->definition_levels_byte_length);
    w.field_i32(6, d->repetition_levels_byte_length);
    w.field_bool(7, d->is_compressed);
    w.end_struct();
  }
  w.end_struct();
}

// ---------------------------------------------------------------------------------------------
// Reading

namespace {

// Tracks which required fields of a struct were seen, to name a missing one.
class RequiredFields {
 public:
  void seen(int16_t id) {
    if (id >= 0 && id < 64) mask_ |= uint64_t{1} << id;
  }
  Status check(std::initializer_list<std::pair<int16_t, const char*>> fields,
               const char* struct_name) const {
    for (const auto& [id, name] : fields) {
      if ((mask_ >> id & 1) == 0) {
        return Status::corrupt(std::string(struct_name) + " lacks required field " + name);
      }
    }
    return Status::ok();
  }

 private:
  uint64_t mask_ = 0;
};

template <typename E>
Result<E> read_enum(CompactReader& r, WireType type) {
  SLUICE_ASSIGN_OR_RETURN(int32_t value, r.read_i32(type));
  return static_cast<E>(value);
}

Status read_statistics(CompactReader& r, Statistics& s) {
  return r.read_struct([&](int16_t id, WireType type) -> Status {
    switch (id) {
      case 1: {
        SLUICE_ASSIGN_OR_RETURN(s.max, r.read_binary(type));
        return Status::ok();
      }
      case 2: {
        SLUICE_ASSIGN_OR_RETURN(s.min, r.read_binary(type));
        return Status::ok();
      }
      case 3: {
        SLUICE_ASSIGN_OR_RETURN(s.null_count, r.read_i64(type));
        return Status::ok();
      }
      case 5: {
        SLUICE_ASSIGN_OR_RETURN(s.max_value, r.read_binary(type));
        return Status::ok();
      }
      case 6: {
        SLUICE_ASSIGN_OR_RETURN(s.min_value, r.read_binary(type));
        return Status::ok();
      }
      case 9: {
        SLUICE_ASSIGN_OR_RETURN(s.nan_count, r.read_i64(type));
        return Status::ok();
      }
      default:
        return r.skip(type);
    }
  });
}

Status read_time_unit(CompactReader& r, TimeUnit& unit) {
  return r.read_struct([&](int16_t id, WireType type) -> Status {
    if (id == 1) unit = TimeUnit::millis;
    if (id == 2) unit = TimeUnit::micros;
    if (id == 3) unit = TimeUnit::nanos;
    return r.skip(type);
  });
}

Status read_logical_type(CompactReader& r, LogicalType& t) {
  return r.read_struct([&](int16_t kind, WireType type) -> Status {
    if (type != WireType::struct_) return r.skip(type);
    switch (kind) {
      case 7:
      case 8:
        t.kind = static_cast<LogicalType::Kind>(kind);
        return r.read_struct([&](int16_t id, WireType field_type) -> Status {
          if (id == 1) {
            SLUICE_ASSIGN_OR_RETURN(t.adjusted_to_utc, r.read_bool(field_type));
            return Status::ok();
          }
          if (id == 2 && field_type == WireType::struct_) return read_time_unit(r, t.unit);
          return r.skip(field_type);
        });
      case 10:
        t.kind = LogicalType::Kind::integer;
        return r.read_struct([&](int16_t id, WireType field_type) -> Status {
          if (id == 1) {
            SLUICE_ASSIGN_OR_RETURN(int64_t width, r.read_i64(field_type));
            t.bit_width = static_cast<int8_t>(width);
            return Status::ok();
          }
          if (id == 2) {
            SLUICE_ASSIGN_OR_RETURN(t.is_signed, r.read_bool(field_type));
            return Status::ok();
          }
          return r.skip(field_type);
        });
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
      case 6:
      case 11:
      case 12:
      case 13:
      case 14:
        t.kind = static_cast<LogicalType::Kind>(kind);
        return r.skip(type);
      default:
        t.kind = LogicalType::Kind::other;
        return r.skip(type);
    }
  });
}

Status read_schema_element(CompactReader& r, SchemaElement& e) {
  RequiredFields required;
  SLUICE_RETURN_NOT_OK(r.read_struct([&](int16_t id, WireType type) -> Status {
    required.seen(id);
    switch (id) {
      case 1: {
        SLUICE_ASSIGN_OR_RETURN(e.type, read_enum<PhysicalType>(r, type));
        return Status::ok();
      }
      case 2: {
        SLUICE_ASSIGN_OR_RETURN(e.type_length, r.read_i32(type));
        return Status::ok();
      }
      case 3: {
        SLUICE_ASSIGN_OR_RETURN(e.repetition, read_enum<Repetition>(r, type));
        return Status::ok();
      }
      case 4: {
        SLUICE_ASSIGN_OR_RETURN(e.name, r.read_binary(type));
        return Status::ok();
      }
      case 5: {
        SLUICE_ASSIGN_OR_RETURN(e.num_children, r.read_i32(type));
        return Status::ok();
      }
      case 6: {
        SLUICE_ASSIGN_OR_RETURN(e.converted_type, r.read_i32(type));
        return Status::ok();
      }
      case 7: {
        SLUICE_ASSIGN_OR_RETURN(e.scale, r.read_i32(type));
        return Status::ok();
      }
      case 8: {
        SLUICE_ASSIGN_OR_RETURN(e.precision, r.read_i32(type));
        return Status::ok();
      }
      case 10:
        if (type != WireType::struct_) return r.skip(type);
        return read_logical_type(r, e.logical_type);
      default:
        return r.skip(type);
    }
  }));
  return required.check({{4, "name"}}, "SchemaElement");
}

Status read_column_meta(CompactReader& r, ColumnMetaData& m) {
  RequiredFields required;
  SLUICE_RETURN_NOT_OK(r.read_struct([&](int16_t id, WireType type) -> Status {
    required.seen(id);
    switch (id) {
      case 1: {
        SLUICE_ASSIGN_OR_RETURN(m.type, read_enum<PhysicalType>(r, type));
        return Status::ok();
      }
      case 2: {
        WireType element;
        int64_t count;
        SLUICE_RETURN_NOT_OK(r.read_list_header(type, element, count));
        for (int64_t i = 0; i < count; ++i) {
          SLUICE_ASSIGN_OR_RETURN(int64_t value, r.read_integer_element(element));
          m.encodings.push_back(static_cast<Encoding>(value));
        }
        return Status::ok();
      }
      case 3: {
        WireType element;
        int64_t count;
        SLUICE_RETURN_NOT_OK(r.read_list_header(type, element, count));
        for (int64_t i = 0; i < count; ++i) {
          SLUICE_ASSIGN_OR_RETURN(std::string part, r.read_binary_element(element));
          m.path_in_schema.push_back(std::move(part));
        }
        return Status::ok();
      }
      case 4: {
        SLUICE_ASSIGN_OR_RETURN(m.codec, read_enum<Codec>(r, type));
        return Status::ok();
      }
      case 5: {
        SLUICE_ASSIGN_OR_RETURN(m.num_values, r.read_i64(type));
        return Status::ok();
      }
      case 6: {
        SLUICE_ASSIGN_OR_RETURN(m.total_uncompressed_size, r.read_i64(type));
        return Status::ok();
      }
      case 7: {
        SLUICE_ASSIGN_OR_RETURN(m.total_compressed_size, r.read_i64(type));
        return Status::ok();
      }
      case 9: {
        SLUICE_ASSIGN_OR_RETURN(m.data_page_offset, r.read_i64(type));
        return Status::ok();
      }
      case 11: {
        SLUICE_ASSIGN_OR_RETURN(m.dictionary_page_offset, r.read_i64(type));
        return Status::ok();
      }
      case 12: {
        if (type != WireType::struct_) return r.skip(type);
        m.statistics.emplace();
        return read_statistics(r, *m.statistics);
      }
      default:
        return r.skip(type);
    }
  }));
  return required.check({{1, "type"},
                         {4, "codec"},
                         {5, "num_values"},
                         {7, "total_compressed_size"},
                         {9, "data_page_offset"}},
                        "ColumnMetaData");
}

Status read_column_chunk(CompactReader& r, ColumnChunk& c) {
  return r.read_struct([&](int16_t id, WireType type) -> Status {
    switch (id) {
      case 2: {
        SLUICE_ASSIGN_OR_RETURN(c.file_offset, r.read_i64(type));
        return Status::ok();
      }
      case 3:
        if (type != WireType::struct_) return r.skip(type);
        c.meta_data.emplace();
        return read_column_meta(r, *c.meta_data).with_context("ColumnMetaData");
      default:
        return r.skip(type);
    }
  });
}

Status read_row_group(CompactReader& r, RowGroup& g) {
  RequiredFields required;
  SLUICE_RETURN_NOT_OK(r.read_struct([&](int16_t id, WireType type) -> Status {
    required.seen(id);
    switch (id) {
      case 1: {
        WireType element;
        int64_t count;
        SLUICE_RETURN_NOT_OK(r.read_list_header(type, element, count));
        if (element != WireType::struct_) return Status::corrupt("column chunks are not structs");
        g.columns.resize(static_cast<size_t>(count));
        for (auto& chunk : g.columns) {
          SLUICE_RETURN_NOT_OK(read_column_chunk(r, chunk).with_context("ColumnChunk"));
        }
        return Status::ok();
      }
      case 2: {
        SLUICE_ASSIGN_OR_RETURN(g.total_byte_size, r.read_i64(type));
        return Status::ok();
      }
      case 3: {
        SLUICE_ASSIGN_OR_RETURN(g.num_rows, r.read_i64(type));
        return Status::ok();
      }
      case 5: {
        SLUICE_ASSIGN_OR_RETURN(g.file_offset, r.read_i64(type));
        return Status::ok();
      }
      case 6: {
        SLUICE_ASSIGN_OR_RETURN(g.total_compressed_size, r.read_i64(type));
        return Status::ok();
      }
      default:
        return r.skip(type);
    }
  }));
  return required.check({{1, "columns"}, {3, "num_rows"}}, "RowGroup");
}

}  // namespace

Result<FileMetaData> parse_file_metadata(const uint8_t* data, size_t size) {
  FileMetaData metadata;
  CompactReader r(data, size);
  RequiredFields required;
  Status status = r.read_struct([&](int16_t id, WireType type) -> Status {
    required.seen(id);
    switch (id) {
      case 1: {
        SLUICE_ASSIGN_OR_RETURN(metadata.version, r.read_i32(type));
        return Status::ok();
      }
      case 2: {
        WireType element;
        int64_t count;
        SLUICE_RETURN_NOT_OK(r.read_list_header(type, element, count));
        if (element != WireType::struct_) return Status::corrupt("schema elements are not structs");
        metadata.schema.resize(static_cast<size_t>(count));
        for (auto& e : metadata.schema) {
          SLUICE_RETURN_NOT_OK(read_schema_element(r, e).with_context("SchemaElement"));
        }
        return Status::ok();
      }
      case 3: {
        SLUICE_ASSIGN_OR_RETURN(metadata.num_rows, r.read_i64(type));
        return Status::ok();
      }
      case 4: {
        WireType element;
        int64_t count;
        SLUICE_RETURN_NOT_OK(r.read_list_header(type, element, count));
        if (element != WireType::struct_) return Status::corrupt("row groups are not structs");
        metadata.row_groups.resize(static_cast<size_t>(count));
        for (size_t i = 0; i < metadata.row_groups.size(); ++i) {
          SLUICE_RETURN_NOT_OK(read_row_group(r, metadata.row_groups[i])
                                   .with_context("RowGroup " + std::to_string(i)));
        }
        return Status::ok();
      }
      case 6: {
        SLUICE_ASSIGN_OR_RETURN(metadata.created_by, r.read_binary(type));
        return Status::ok();
      }
      default:
        return r.skip(type);
    }
  });
  if (!status.is_ok()) return status.with_context("FileMetaData");
  SLUICE_RETURN_NOT_OK(required.check(
      {{1, "version"}, {2, "schema"}, {3, "num_rows"}, {4, "row_groups"}}, "FileMetaData"));
  return metadata;
}

Result<PageHeader> parse_page_header(const uint8_t* data, size_t size, size_t& consumed) {
  PageHeader header;
  CompactReader r(data, size);
  RequiredFields required;
  Status status = r.read_struct([&](int16_t id, WireType type) -> Status {
    required.seen(id);
    switch (id) {
      case 1: {
        SLUICE_ASSIGN_OR_RETURN(header.type, read_enum<PageType>(r, type));
        return Status::ok();
      }
      case 2: {
        SLUICE_ASSIGN_OR_RETURN(header.uncompressed_page_size, r.read_i32(type));
        return Status::ok();
      }
      case 3: {
        SLUICE_ASSIGN_OR_RETURN(header.compressed_page_size, r.read_i32(type));
        return Status::ok();
      }
      case 5: {
        if (type != WireType::struct_) return r.skip(type);
        auto& d = header.data_page_header.emplace();
        RequiredFields inner;
        SLUICE_RETURN_NOT_OK(r.read_struct([&](int16_t field, WireType t) -> Status {
          inner.seen(field);
          switch (field) {
            case 1: {
              SLUICE_ASSIGN_OR_RETURN(d.num_values, r.read_i32(t));
              return Status::ok();
            }
            case 2: {
              SLUICE_ASSIGN_OR_RETURN(d.encoding, read_enum<Encoding>(r, t));
              return Status::ok();
            }
            case 3: {
              SLUICE_ASSIGN_OR_RETURN(d.definition_level_encoding, read_enum<Encoding>(r, t));
              return Status::ok();
            }
            case 4: {
              SLUICE_ASSIGN_OR_RETURN(d.repetition_level_encoding, read_enum<Encoding>(r, t));
              return Status::ok();
            }
            default:
              return r.skip(t);
          }
        }));
        return inner.check({{1, "num_values"}, {2, "encoding"}}, "DataPageHeader");
      }
      case 7: {
        if (type != WireType::struct_) return r.skip(type);
        auto& d = header.dictionary_page_header.emplace();
        RequiredFields inner;
        SLUICE_RETURN_NOT_OK(r.read_struct([&](int16_t field, WireType t) -> Status {
          inner.seen(field);
          switch (field) {
            case 1: {
              SLUICE_ASSIGN_OR_RETURN(d.num_values, r.read_i32(t));
              return Status::ok();
            }
            case 2: {
              SLUICE_ASSIGN_OR_RETURN(d.encoding, read_enum<Encoding>(r, t));
              return Status::ok();
            }
            case 3: {
              SLUICE_ASSIGN_OR_RETURN(d.is_sorted, r.read_bool(t));
              return Status::ok();
            }
            default:
              return r.skip(t);
          }
        }));
        return inner.check({{1, "num_values"}}, "DictionaryPageHeader");
      }
      case 8: {
        if (type != WireType::struct_) return r.skip(type);
        auto& d = header.data_page_header_v2.emplace();
        RequiredFields inner;
        SLUICE_RETURN_NOT_OK(r.read_struct([&](int16_t field, WireType t) -> Status {
          inner.seen(field);
          switch (field) {
            case 1: {
              SLUICE_ASSIGN_OR_RETURN(d.num_values, r.read_i32(t));
              return Status::ok();
            }
            case 2: {
              SLUICE_ASSIGN_OR_RETURN(d.num_nulls, r.read_i32(t));
              return Status::ok();
            }
            case 3: {
              SLUICE_ASSIGN_OR_RETURN(d.num_rows, r.read_i32(t));
              return Status::ok();
            }
            case 4: {
              SLUICE_ASSIGN_OR_RETURN(d.encoding, read_enum<Encoding>(r, t));
              return Status::ok();
            }
            case 5: {
              SLUICE_ASSIGN_OR_RETURN(d.definition_levels_byte_length, r.read_i32(t));
              return Status::ok();
            }
            case 6: {
              SLUICE_ASSIGN_OR_RETURN(d.repetition_levels_byte_length, r.read_i32(t));
              return Status::ok();
            }
            case 7: {
              SLUICE_ASSIGN_OR_RETURN(d.is_compressed, r.read_bool(t));
              return Status::ok();
            }
            default:
              return r.skip(t);
          }
        }));
        return inner.check({{1, "num_values"},
                            {4, "encoding"},
                            {5, "definition_levels_byte_length"},
                            {6, "repetition_levels_byte_length"}},
                           "DataPageHeaderV2");
      }
      default:
        return r.skip(type);
    }
  });
  if (!status.is_ok()) return status.with_context("PageHeader");
  SLUICE_RETURN_NOT_OK(required.check(
      {{1, "type"}, {2, "uncompressed_page_size"}, {3, "compressed_page_size"}}, "PageHeader"));
  consumed = r.position();
  return header;
}

}  // namespace sluice::parquet
