#include "parquet/nested.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/file_contents.hpp"
#include "parquet/compression.hpp"
#include "parquet/encoding.hpp"

namespace sluice::parquet {

namespace {

void append_u32(std::string& out, uint32_t value) {
  out.append(reinterpret_cast<const char*>(&value), 4);
}

// Appends levels as data page v1 holds them: a 4-byte length, then the RLE/bit-packed hybrid.
void append_levels(std::string& out, const std::vector<uint8_t>& levels, int16_t max_level) {
  std::string encoded;
  encode_rle_hybrid(levels.data(), static_cast<int64_t>(levels.size()),
                    bit_width_for(static_cast<uint64_t>(max_level)), encoded);
  append_u32(out, static_cast<uint32_t>(encoded.size()));
  out += encoded;
}

void append_plain_values(std::string& out, const LeafColumn& leaf) {
  switch (leaf.type) {
    case PhysicalType::int32:
      for (int64_t value : leaf.integers) {
        const auto narrow = static_cast<int32_t>(value);
        out.append(reinterpret_cast<const char*>(&narrow), 4);
      }
      break;
    case PhysicalType::int64:
      for (int64_t value : leaf.integers)
        out.append(reinterpret_cast<const char*>(&value), 8);
      break;
    case PhysicalType::boolean: {
      std::vector<uint32_t> bits(leaf.booleans.begin(), leaf.booleans.end());
      pack_bits(bits.data(), static_cast<int64_t>(bits.size()), 1, out);
      break;
    }
    default:
      for (const std::string& value : leaf.strings) {
        append_u32(out, static_cast<uint32_t>(value.size()));
        out += value;
      }
      break;
  }
}

}  // namespace

void LeafColumn::append_null(uint8_t definition, uint8_t repetition) {
  definition_levels.push_back(definition);
  if (max_repetition > 0) repetition_levels.push_back(repetition);
}

void LeafColumn::append_integer(int64_t value, uint8_t repetition) {
  append_null(static_cast<uint8_t>(max_definition), repetition);
  integers.push_back(value);
}

void LeafColumn::append_boolean(bool value, uint8_t repetition) {
  append_null(static_cast<uint8_t>(max_definition), repetition);
  booleans.push_back(value);
}

void LeafColumn::append_string(std::string value, uint8_t repetition) {
  append_null(static_cast<uint8_t>(max_definition), repetition);
  strings.push_back(std::move(value));
}

Status write_nested_file(const std::string& path, const std::vector<SchemaElement>& schema,
                         const std::vector<LeafColumn>& leaves, int64_t num_rows, Codec codec,
                         bool sync) {
  std::string file = "PAR1";
  RowGroup group;
  group.num_rows = num_rows;
  group.file_offset = 4;
  group.ordinal = 0;
  int64_t compressed_total = 0;
  for (const LeafColumn& leaf : leaves) {
    std::string body;
    if (leaf.max_repetition > 0) append_levels(body, leaf.repetition_levels, leaf.max_repetition);
    if (leaf.max_definition > 0) append_levels(body, leaf.definition_levels, leaf.max_definition);
    append_plain_values(body, leaf);
    std::string compressed;
    SLUICE_RETURN_NOT_OK(
        compress(codec, reinterpret_cast<const uint8_t*>(body.data()), body.size(), 3, compressed));
    PageHeader header;
    header.type = PageType::data_page;
    header.uncompressed_page_size = static_cast<int32_t>(body.size());
    header.compressed_page_size = static_cast<int32_t>(compressed.size());
    header.data_page_header = DataPageHeader{static_cast<int32_t>(leaf.definition_levels.size()),
                                             Encoding::plain, Encoding::rle, Encoding::rle};
    std::string header_bytes;
    serialize(header, header_bytes);
    ColumnChunk chunk;
    chunk.file_offset = static_cast<int64_t>(file.size());
    ColumnMetaData meta;
    meta.type = leaf.type;
    meta.encodings = {Encoding::plain, Encoding::rle};
    meta.path_in_schema = leaf.path;
    meta.codec = codec;
    meta.num_values = static_cast<int64_t>(leaf.definition_levels.size());
    meta.total_uncompressed_size = static_cast<int64_t>(header_bytes.size() + body.size());
    meta.total_compressed_size = static_cast<int64_t>(header_bytes.size() + compressed.size());
    meta.data_page_offset = static_cast<int64_t>(file.size());
    group.total_byte_size += meta.total_uncompressed_size;
    compressed_total += meta.total_compressed_size;
    chunk.meta_data = std::move(meta);
    group.columns.push_back(std::move(chunk));
    file += header_bytes;
    file += compressed;
  }
  group.total_compressed_size = compressed_total;
  FileMetaData metadata;
  metadata.schema = schema;
  metadata.num_rows = num_rows;
  if (num_rows > 0) metadata.row_groups.push_back(std::move(group));
  metadata.created_by = "sluice version 0.1.0";
  metadata.num_type_defined_orders = static_cast<int64_t>(leaves.size());
  std::string footer;
  serialize(metadata, footer);
  file += footer;
  append_u32(file, static_cast<uint32_t>(footer.size()));
  file += "PAR1";

  // A unique hidden name beside the target: concurrent writers of one file never share it.
  const std::filesystem::path target(path);
  std::string temporary =
      (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0) return Status::io_error("cannot create " + temporary + ": " + std::strerror(errno));
  (void)::fchmod(fd, 0644);  // mkostemp creates 0600; readers in other accounts need to read
  Status written = write_fully(fd, file, temporary);
  if (written.is_ok() && sync && ::fsync(fd) != 0) {
    written = Status::io_error("cannot sync " + temporary + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (written.is_ok() && ::rename(temporary.c_str(), path.c_str()) != 0) {
    written = Status::io_error("cannot rename " + temporary + " to " + path + ": " +
                               std::strerror(errno));
  }
  if (!written.is_ok()) ::unlink(temporary.c_str());
  return written;
}

namespace {

// Decodes one column chunk's pages into a leaf (levels and values appended).
class ChunkDecoder {
 public:
  ChunkDecoder(LeafColumn& leaf, Codec codec) : leaf_(leaf), codec_(codec) {}

  Status page(const PageHeader& header, const uint8_t* data, size_t size) {
    switch (header.type) {
      case PageType::dictionary_page: {
        if (!header.dictionary_page_header)
          return Status::corrupt("dictionary page lacks its header");
        SLUICE_ASSIGN_OR_RETURN(const uint8_t* body,
                                inflate(data, size, header.uncompressed_page_size, true));
        dictionary_ = LeafColumn{};
        dictionary_.type = leaf_.type;
        return decode_plain(body, static_cast<size_t>(header.uncompressed_page_size),
                            header.dictionary_page_header->num_values, dictionary_);
      }
      case PageType::data_page: {
        if (!header.data_page_header) return Status::corrupt("data page lacks its header");
        const DataPageHeader& d = *header.data_page_header;
        SLUICE_ASSIGN_OR_RETURN(const uint8_t* body,
                                inflate(data, size, header.uncompressed_page_size, true));
        size_t position = 0;
        const auto total = static_cast<size_t>(header.uncompressed_page_size);
        auto prefixed = [&](int16_t max_level, std::vector<uint8_t>* out) -> Status {
          if (max_level == 0) return Status::ok();
          if (total - position < 4) return Status::corrupt("levels run past the page");
          uint32_t length = 0;
          std::memcpy(&length, body + position, 4);
          position += 4;
          if (length > total - position) return Status::corrupt("levels run past the page");
          SLUICE_RETURN_NOT_OK(levels(body + position, length, max_level, d.num_values, out));
          position += length;
          return Status::ok();
        };
        SLUICE_RETURN_NOT_OK(prefixed(leaf_.max_repetition, &leaf_.repetition_levels));
        SLUICE_RETURN_NOT_OK(prefixed(leaf_.max_definition, &leaf_.definition_levels));
        return values(d.encoding, body + position, total - position, d.num_values);
      }
      case PageType::data_page_v2: {
        if (!header.data_page_header_v2) return Status::corrupt("data page v2 lacks its header");
        const DataPageHeaderV2& d = *header.data_page_header_v2;
        const size_t repetition = static_cast<size_t>(std::max(0, d.repetition_levels_byte_length));
        const size_t definition = static_cast<size_t>(std::max(0, d.definition_levels_byte_length));
        if (repetition + definition > size ||
            repetition + definition > static_cast<size_t>(header.uncompressed_page_size)) {
          return Status::corrupt("data page v2 levels exceed the page");
        }
        if (leaf_.max_repetition > 0) {
          SLUICE_RETURN_NOT_OK(levels(data, repetition, leaf_.max_repetition, d.num_values,
                                      &leaf_.repetition_levels));
        }
        if (leaf_.max_definition > 0) {
          SLUICE_RETURN_NOT_OK(levels(data + repetition, definition, leaf_.max_definition,
                                      d.num_values, &leaf_.definition_levels));
        }
        const size_t levels_size = repetition + definition;
        const size_t expected = static_cast<size_t>(header.uncompressed_page_size) - levels_size;
        SLUICE_ASSIGN_OR_RETURN(const uint8_t* body,
                                inflate(data + levels_size, size - levels_size,
                                        static_cast<int32_t>(expected), d.is_compressed));
        return values(d.encoding, body, expected, d.num_values);
      }
      default:
        return Status::ok();
    }
  }

 private:
  Result<const uint8_t*> inflate(const uint8_t* data, size_t size, int32_t expected,
                                 bool compressed) {
    if (expected < 0) return Status::corrupt("negative page size");
    if (!compressed || codec_ == Codec::uncompressed) {
      if (size != static_cast<size_t>(expected)) return Status::corrupt("page size mismatch");
      return data;
    }
    buffer_.resize(static_cast<size_t>(std::max(expected, 1)));
    SLUICE_RETURN_NOT_OK(
        decompress(codec_, data, size, buffer_.data(), static_cast<size_t>(expected)));
    return static_cast<const uint8_t*>(buffer_.data());
  }

  Status levels(const uint8_t* data, size_t size, int16_t max_level, int32_t count,
                std::vector<uint8_t>* out) {
    std::vector<uint32_t> decoded(static_cast<size_t>(std::max(count, 0)));
    RleHybridDecoder decoder(data, size, bit_width_for(static_cast<uint64_t>(max_level)));
    SLUICE_RETURN_NOT_OK(decoder.decode(decoded.data(), count));
    for (uint32_t level : decoded) {
      if (level > static_cast<uint32_t>(max_level))
        return Status::corrupt("level above its maximum");
      out->push_back(static_cast<uint8_t>(level));
    }
    return Status::ok();
  }

  // The number of values present in the entries just decoded.
  int64_t present(int32_t count) const {
    if (leaf_.max_definition == 0) return count;
    int64_t found = 0;
    const size_t end = leaf_.definition_levels.size();
    for (size_t i = end - static_cast<size_t>(count); i < end; ++i)
      found += leaf_.definition_levels[i] == leaf_.max_definition;
    return found;
  }

  Status values(Encoding encoding, const uint8_t* data, size_t size, int32_t count) {
    if (count < 0 || leaf_.definition_levels.size() < static_cast<size_t>(count)) {
      if (leaf_.max_definition > 0) return Status::corrupt("page level count mismatch");
    }
    const int64_t wanted = present(count);
    if (encoding == Encoding::plain) return decode_plain(data, size, wanted, leaf_);
    if (encoding != Encoding::plain_dictionary && encoding != Encoding::rle_dictionary) {
      return Status::invalid_argument("encoding " + encoding_name(encoding) + " is not supported");
    }
    if (size < 1) return Status::corrupt("dictionary indices lack their bit width");
    std::vector<uint32_t> indices(static_cast<size_t>(wanted));
    RleHybridDecoder decoder(data + 1, size - 1, data[0]);
    SLUICE_RETURN_NOT_OK(decoder.decode(indices.data(), wanted));
    for (uint32_t index : indices) {
      switch (leaf_.type) {
        case PhysicalType::boolean:
          if (index >= dictionary_.booleans.size())
            return Status::corrupt("dictionary index out of range");
          leaf_.booleans.push_back(dictionary_.booleans[index]);
          break;
        case PhysicalType::byte_array:
          if (index >= dictionary_.strings.size())
            return Status::corrupt("dictionary index out of range");
          leaf_.strings.push_back(dictionary_.strings[index]);
          break;
        default:
          if (index >= dictionary_.integers.size())
            return Status::corrupt("dictionary index out of range");
          leaf_.integers.push_back(dictionary_.integers[index]);
          break;
      }
    }
    return Status::ok();
  }

  static Status decode_plain(const uint8_t* data, size_t size, int64_t count, LeafColumn& out) {
    size_t position = 0;
    for (int64_t i = 0; i < count; ++i) {
      switch (out.type) {
        case PhysicalType::int32: {
          if (size - position < 4 || position > size)
            return Status::corrupt("values run past the page");
          int32_t value = 0;
          std::memcpy(&value, data + position, 4);
          position += 4;
          out.integers.push_back(value);
          break;
        }
        case PhysicalType::int64: {
          if (position > size || size - position < 8)
            return Status::corrupt("values run past the page");
          int64_t value = 0;
          std::memcpy(&value, data + position, 8);
          position += 8;
          out.integers.push_back(value);
          break;
        }
        case PhysicalType::boolean: {
          if (static_cast<size_t>(i / 8) >= size)
            return Status::corrupt("values run past the page");
          out.booleans.push_back(((data[i / 8] >> (i % 8)) & 1) != 0);
          break;
        }
        case PhysicalType::byte_array: {
          if (position > size || size - position < 4)
            return Status::corrupt("values run past the page");
          uint32_t length = 0;
          std::memcpy(&length, data + position, 4);
          position += 4;
          if (length > size - position) return Status::corrupt("a string runs past the page");
          out.strings.emplace_back(reinterpret_cast<const char*>(data + position), length);
          position += length;
          break;
        }
        default:
          return Status::invalid_argument("physical type " + physical_type_name(out.type) +
                                          " is not supported in nested files");
      }
    }
    return Status::ok();
  }

  LeafColumn& leaf_;
  Codec codec_;
  LeafColumn dictionary_;
  std::vector<uint8_t> buffer_;
};

// Walks the schema tree from element `index`, computing each leaf's path and maximum levels.
Result<size_t> collect_leaves(const std::vector<SchemaElement>& schema, size_t index,
                              std::vector<std::string> path, int16_t definition, int16_t repetition,
                              std::vector<LeafColumn>& leaves) {
  if (index >= schema.size()) return Status::corrupt("the schema tree is truncated");
  const SchemaElement& element = schema[index];
  path.push_back(element.name);
  const Repetition kind = element.repetition.value_or(Repetition::required);
  if (kind != Repetition::required) ++definition;
  if (kind == Repetition::repeated) ++repetition;
  if (!element.num_children || *element.num_children == 0) {
    if (!element.type) return Status::corrupt("leaf '" + element.name + "' has no type");
    LeafColumn leaf;
    leaf.path = std::move(path);
    leaf.type = *element.type;
    leaf.max_definition = definition;
    leaf.max_repetition = repetition;
    leaves.push_back(std::move(leaf));
    return index + 1;
  }
  size_t next = index + 1;
  for (int32_t child = 0; child < *element.num_children; ++child) {
    SLUICE_ASSIGN_OR_RETURN(next,
                            collect_leaves(schema, next, path, definition, repetition, leaves));
  }
  return next;
}

}  // namespace

Result<std::vector<LeafColumn>> nested_leaves(const std::vector<SchemaElement>& schema) {
  if (schema.empty()) return Status::corrupt("the schema is empty");
  std::vector<LeafColumn> leaves;
  size_t next = 1;
  for (int32_t child = 0; child < schema[0].num_children.value_or(0); ++child) {
    SLUICE_ASSIGN_OR_RETURN(next, collect_leaves(schema, next, {}, 0, 0, leaves));
  }
  return leaves;
}

Result<NestedFile> read_nested_file(const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> content, read_file_if_exists(path));
  if (!content) return Status::not_found("there is no file " + path);
  const std::string& bytes = *content;
  auto corrupt = [&](const std::string& what) { return Status::corrupt(path + ": " + what); };
  if (bytes.size() < 12 || bytes.compare(0, 4, "PAR1") != 0 ||
      bytes.compare(bytes.size() - 4, 4, "PAR1") != 0) {
    return corrupt("not a Parquet file (no PAR1 magic at both ends)");
  }
  uint32_t footer_length = 0;
  std::memcpy(&footer_length, bytes.data() + bytes.size() - 8, 4);
  if (footer_length > bytes.size() - 12) return corrupt("the footer length exceeds the file");
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t footer_start = bytes.size() - 8 - footer_length;
  auto metadata = parse_file_metadata(data + footer_start, footer_length);
  if (!metadata.ok()) return metadata.status().with_context(path);
  NestedFile file;
  file.schema = metadata->schema;
  file.num_rows = metadata->num_rows;
  auto leaves = nested_leaves(file.schema);
  if (!leaves.ok()) return leaves.status().with_context(path);
  file.leaves = std::move(leaves).value();
  for (const RowGroup& group : metadata->row_groups) {
    if (group.columns.size() != file.leaves.size()) {
      return corrupt("a row group has " + std::to_string(group.columns.size()) + " columns for " +
                     std::to_string(file.leaves.size()) + " leaves");
    }
    for (size_t c = 0; c < group.columns.size(); ++c) {
      LeafColumn& leaf = file.leaves[c];
      std::string name;
      for (const auto& part : leaf.path)
        name += (name.empty() ? "" : ".") + part;
      if (!group.columns[c].meta_data) return corrupt("column " + name + " has no metadata");
      const ColumnMetaData& meta = *group.columns[c].meta_data;
      int64_t start = meta.data_page_offset;
      if (meta.dictionary_page_offset && *meta.dictionary_page_offset > 0 &&
          *meta.dictionary_page_offset < start) {
        start = *meta.dictionary_page_offset;
      }
      const int64_t length = meta.total_compressed_size;
      if (start < 4 || length < 0 || static_cast<size_t>(start) > footer_start ||
          static_cast<size_t>(length) > footer_start - static_cast<size_t>(start)) {
        return corrupt("column " + name + " lies outside the data section");
      }
      ChunkDecoder decoder(leaf, meta.codec);
      size_t position = static_cast<size_t>(start);
      const size_t end = position + static_cast<size_t>(length);
      while (position < end) {
        size_t consumed = 0;
        auto header = parse_page_header(data + position, end - position, consumed);
        if (!header.ok()) return header.status().with_context(path + ": column " + name);
        position += consumed;
        if (header->compressed_page_size < 0 ||
            static_cast<size_t>(header->compressed_page_size) > end - position) {
          return corrupt("a page of column " + name + " runs past its chunk");
        }
        Status status = decoder.page(*header, data + position,
                                     static_cast<size_t>(header->compressed_page_size));
        if (!status.is_ok()) return status.with_context(path + ": column " + name);
        position += static_cast<size_t>(header->compressed_page_size);
      }
    }
  }
  return file;
}

const LeafColumn* find_leaf(const NestedFile& file, const std::string& dotted_path) {
  for (const LeafColumn& leaf : file.leaves) {
    std::string name;
    for (const auto& part : leaf.path)
      name += (name.empty() ? "" : ".") + part;
    if (name == dotted_path) return &leaf;
  }
  return nullptr;
}

}  // namespace sluice::parquet
