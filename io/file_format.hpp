#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_batch.hpp"
#include "core/value.hpp"
#include "operators/record_parsing.hpp"

namespace sluice {

/// Names the text formats the file source reads and the file sink writes.
enum class FileFormat { csv, json, text };

/// Returns "csv", "json" or "text".
std::string_view file_format_name(FileFormat format);

/// Says what happens to a record that does not parse (Spark's `mode`).
enum class ParseMode { permissive, drop_malformed, fail_fast };

/// Options of the CSV / JSON / text readers, with Spark's names.
struct FileFormatOptions {
  FileFormat format = FileFormat::csv;
  bool header = false;
  char delimiter = ',';
  char quote = '"';
  char escape = '\\';
  std::string null_value;        ///< CSV text read as null (default: the empty field)
  std::string timestamp_format;  ///< "" = ISO forms
  ParseMode mode = ParseMode::permissive;
  std::string bad_records_path;  ///< when set, bad records go there and are dropped
  std::string corrupt_column = "_corrupt_record";
  /// `maxRecordLength`: a longer line is a bad record (its text kept only in part), so that one
  /// runaway line cannot exhaust memory. 1 GiB by default.
  int64_t max_record_length = int64_t{1} << 30;

  /// Reads the format options out of `options`, erasing each one it knows; fails naming a
  /// bad value.
  static Result<FileFormatOptions> parse(FileFormat format,
                                         std::map<std::string, std::string>& options);
};

/// A record that did not parse: where it is, why, and its text.
struct BadRecord {
  std::string file;
  int64_t line = 0;
  std::string reason;
  std::string text;
};

/// Where an output column of a parsed file comes from.
struct ColumnSource {
  enum class Kind { field, partition, corrupt_record } kind = Kind::field;
  int field_index = -1;  ///< CSV: position in the record; JSON: index into the field names
  std::string name;      ///< JSON key or partition key
  Type type = Type::String;
};

/// Turns the bytes of one file into rows. Immutable after make(); `parse` may be called from
/// several threads at once with their own builders.
class RecordParser {
 public:
  /// Plans parsing `data_schema` (the file's columns, in order for CSV) into the columns of
  /// `output` (a subset of the data columns, partition columns and the corrupt-record column).
  static Result<std::shared_ptr<const RecordParser>> make(
      FileFormatOptions options, const SchemaPtr& data_schema,
      const std::vector<std::string>& partition_keys, SchemaPtr output);

  /// Parses `bytes` (the whole content of `file`; the buffer must be followed by at least
  /// kPadding readable bytes) and appends its rows to `out`, filling partition columns from
  /// `partition_values`. Bad records go to `bad` as the mode says; FAILFAST returns an error
  /// naming file, line and field.
  Status parse(const std::string& file, std::string_view bytes,
               const std::map<std::string, std::string>& partition_values, RecordBatchBuilder& out,
               std::vector<BadRecord>& bad) const;

  const SchemaPtr& output_schema() const { return output_; }
  const FileFormatOptions& options() const { return options_; }
  static constexpr size_t kPadding = 64;

 private:
  RecordParser() = default;
  FileFormatOptions options_;
  SchemaPtr output_;
  std::vector<ColumnSource> columns_;
  int num_data_fields_ = 0;
  std::optional<TimestampParser> timestamps_;
};

/// Guesses a schema from sample file contents: CSV (header names or _c0, _c1, ...) or JSON
/// lines (keys in order of first appearance). Types widen BIGINT -> DOUBLE -> STRING.
Result<SchemaPtr> infer_schema(const FileFormatOptions& options,
                               const std::vector<std::string>& samples);

/// Appends one row of `batch` as a CSV record or a JSON object (columns in `columns`, named by
/// the batch's schema) followed by '\n'. JSON omits null fields, as Spark does.
void append_csv_record(const RecordBatch& batch, int64_t row, const std::vector<int>& columns,
                       const FileFormatOptions& options, std::string& out);
void append_json_record(const RecordBatch& batch, int64_t row, const std::vector<int>& columns,
                        std::string& out);

}  // namespace sluice
