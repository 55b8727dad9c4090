#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/record_batch.hpp"
#include "core/status.hpp"
#include "core/value.hpp"

namespace sluice::parquet {

/// Names the page compression codecs Sluice writes.
enum class Compression : uint8_t { uncompressed, snappy, zstd };

/// Configures a Writer. The defaults suit files read by DuckDB, Spark and Delta Lake.
struct WriterOptions {
  Compression compression = Compression::snappy;
  int zstd_level = 3;
  /// Cuts a row group once its encoded (compressed) column data reaches this many bytes.
  int64_t row_group_bytes = 128ll << 20;
  /// Ends a data page once its uncompressed values reach this many bytes.
  int64_t page_bytes = 1 << 20;
  /// Dictionary-encodes string columns while the dictionary pays off.
  bool dictionary = true;
  /// Falls back to PLAIN for the rest of a column chunk once its dictionary exceeds this size.
  int64_t dictionary_max_bytes = 1 << 20;
  /// Calls fsync on the file before close() returns.
  bool fsync_on_close = false;
  std::string created_by = "sluice version 0.1.0";
};

/// Summarizes one column of a written file, over all its row groups.
struct ColumnSummary {
  std::string name;
  Type type = Type::Int64;
  int64_t null_count = 0;
  /// Smallest and largest non-null value (NaN ignored); nullopt when the column holds no value,
  /// or, for strings, when a bound exceeds the statistics size limit.
  std::optional<Value> min;
  std::optional<Value> max;
};

/// Describes a file after close(): what a table format (Delta) records about it.
struct WrittenFile {
  std::string path;
  int64_t num_rows = 0;
  int64_t file_bytes = 0;
  int64_t num_row_groups = 0;
  std::vector<ColumnSummary> columns;
};

/// Writes RecordBatches of one schema into a Parquet file: Sluice types map to INT64, DOUBLE,
/// BOOLEAN, BYTE_ARRAY (STRING) and INT64 TIMESTAMP(isAdjustedToUTC, MICROS); nullable fields
/// are OPTIONAL with RLE definition levels, non-nullable ones REQUIRED. Data pages are v1;
/// every column chunk carries min/max/null-count statistics. Not thread-safe: one thread
/// writes a file. Writing to a temporary name and renaming is the caller's business.
class Writer {
 public:
  /// Creates (truncating) the file at path and writes the leading magic.
  static Result<std::unique_ptr<Writer>> open(const std::string& path, SchemaPtr schema,
                                              WriterOptions options = {});

  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  /// Appends the rows of batch; fails when its schema differs from the writer's (by name and
  /// type), or on an I/O error. After an error the file is unusable; close() reports it.
  Status write(const RecordBatch& batch);

  /// Flushes the last row group, writes the footer, optionally fsyncs, and closes the file.
  /// Returns what was written. Calling it twice is an error.
  Result<WrittenFile> close();

 private:
  class ColumnWriter;
  Writer(std::string path, SchemaPtr schema, WriterOptions options, int fd);
  Status flush_row_group();
  Status write_bytes(const std::string& bytes);

  std::string path_;
  SchemaPtr schema_;
  WriterOptions options_;
  int fd_;
  int64_t file_offset_ = 0;
  int64_t buffered_rows_ = 0;
  int64_t total_rows_ = 0;
  bool closed_ = false;
  Status failed_;
  std::vector<std::unique_ptr<ColumnWriter>> columns_;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sluice::parquet
