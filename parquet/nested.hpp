#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "parquet/metadata.hpp"

/// Writes and reads Parquet files with nested columns (groups, maps, lists) as shredded leaf
/// columns: each leaf holds its repetition and definition levels and the values present, as
/// the Dremel encoding defines them. For files of metadata such as Delta log checkpoints, whose
/// schema is a tree of structs, maps and lists of a few primitive types; the columnar
/// RecordBatch path (writer.hpp, reader.hpp) stays flat.
namespace sluice::parquet {

/// One leaf column of a nested schema, with its levels and the values whose definition level
/// is the leaf's maximum, in order. Only the vector matching `type` is used: `integers` for
/// INT32 and INT64, `booleans` for BOOLEAN, `strings` for BYTE_ARRAY.
struct LeafColumn {
  std::vector<std::string> path;  ///< names from the root's child down to the leaf
  PhysicalType type = PhysicalType::int64;
  int16_t max_definition = 0;
  int16_t max_repetition = 0;
  std::vector<uint8_t> definition_levels;
  std::vector<uint8_t> repetition_levels;  ///< empty when max_repetition is 0
  std::vector<int64_t> integers;
  std::vector<bool> booleans;
  std::vector<std::string> strings;

  /// Appends one level entry, with its value when `definition == max_definition`.
  void append_null(uint8_t definition, uint8_t repetition = 0);
  void append_integer(int64_t value, uint8_t repetition = 0);
  void append_boolean(bool value, uint8_t repetition = 0);
  void append_string(std::string value, uint8_t repetition = 0);
};

/// Writes one row group holding `num_rows` records: `schema` is the flattened schema tree
/// (root first, as FileMetaData holds it) and `leaves` its leaf columns in schema order, with
/// levels already computed. Each leaf becomes one PLAIN data page (v1) compressed with `codec`
/// (uncompressed or snappy or zstd). Writes to a unique temporary name and renames it into
/// place, so readers never see a partial file; fsyncs when `sync`.
Status write_nested_file(const std::string& path, const std::vector<SchemaElement>& schema,
                         const std::vector<LeafColumn>& leaves, int64_t num_rows, Codec codec,
                         bool sync);

/// What read_nested_file returns: the schema tree, the leaves with their levels and values
/// (all row groups concatenated), and the number of records.
struct NestedFile {
  std::vector<SchemaElement> schema;
  std::vector<LeafColumn> leaves;
  int64_t num_rows = 0;
};

/// Reads every leaf of a nested file: data pages v1 and v2, PLAIN and dictionary encodings,
/// UNCOMPRESSED, SNAPPY and ZSTD; BOOLEAN, INT32, INT64 and BYTE_ARRAY leaves (others are
/// refused naming the column). A corrupt or truncated file is a corrupt error naming it.
Result<NestedFile> read_nested_file(const std::string& path);

/// Lists the leaves of a flattened schema tree (root first) with their paths and maximum
/// levels, empty of data; fails when the tree is malformed.
Result<std::vector<LeafColumn>> nested_leaves(const std::vector<SchemaElement>& schema);

/// Returns the leaf at `path` (dotted, e.g. "add.partitionValues.key_value.key"), or null.
const LeafColumn* find_leaf(const NestedFile& file, const std::string& dotted_path);

}  // namespace sluice::parquet
