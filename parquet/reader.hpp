#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/record_batch.hpp"
#include "core/status.hpp"
#include "core/value.hpp"
#include "parquet/metadata.hpp"

namespace sluice::parquet {

/// Names the comparison of a pushed-down predicate.
enum class CompareOp : uint8_t { equal, not_equal, less, less_equal, greater, greater_equal };

/// States `column op literal`. The reader uses predicates only to skip whole row groups whose
/// statistics prove that no row matches; rows of the groups it reads are not filtered.
struct Predicate {
  std::string column;
  CompareOp op = CompareOp::equal;
  Value literal;
};

/// Configures a Reader.
struct ReaderOptions {
  /// Reads only these columns, in this order; empty reads every column.
  std::vector<std::string> columns;
  /// Skips row groups that cannot satisfy all of these (a conjunction).
  std::vector<Predicate> predicates;
  /// Splits each row group into batches of at most this many rows (0: one batch per group).
  int64_t batch_rows = 0;
};

/// Reads flat Parquet files into RecordBatches: BOOLEAN, INT32 (widened to Int64), INT64,
/// FLOAT (widened to Double), DOUBLE, BYTE_ARRAY (as String) and INT64 timestamps (millis,
/// micros, nanos; as Timestamp in micros); PLAIN and dictionary encodings; data pages v1 and
/// v2; UNCOMPRESSED, SNAPPY and ZSTD. Other types (DATE, DECIMAL, INT96, nested) are refused
/// with an error naming the column when that column is read. Corrupt or truncated files yield
/// a corrupt Status naming the file and what is wrong. Not thread-safe: one reader per thread.
class Reader {
 public:
  /// Opens the file and decodes its footer; checks the projection and predicates.
  static Result<std::unique_ptr<Reader>> open(const std::string& path, ReaderOptions options = {});

  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  /// Returns the schema of the batches this reader returns (the projection).
  const SchemaPtr& schema() const { return schema_; }
  const FileMetaData& metadata() const { return metadata_; }
  int64_t num_rows() const { return metadata_.num_rows; }
  int num_row_groups() const { return static_cast<int>(metadata_.row_groups.size()); }

  /// Returns false when the statistics of the row group prove no row satisfies the predicates.
  bool row_group_may_match(int index) const;

  /// Reads the projected columns of one row group (ignores predicates and batch_rows).
  Result<RecordBatchPtr> read_row_group(int index);

  /// Returns the next batch, skipping row groups the predicates rule out; nullopt at the end.
  Result<std::optional<RecordBatchPtr>> next();

  /// Reads all remaining batches.
  Result<std::vector<RecordBatchPtr>> read_all();

  /// Returns how many row groups next() skipped because of the predicates.
  int64_t row_groups_skipped() const { return row_groups_skipped_; }

  struct Leaf;

 private:
  Reader(std::string path, int fd, int64_t file_size, ReaderOptions options);
  Status load_footer();
  Status resolve_columns();
  Result<ColumnPtr> read_column_chunk(int row_group, const Leaf& leaf);

  std::string path_;
  int fd_;
  int64_t file_size_;
  int64_t data_end_ = 0;
  ReaderOptions options_;
  FileMetaData metadata_;
  std::vector<Leaf> leaves_;
  std::vector<int> projection_;  // leaf index per output column
  struct ResolvedPredicate;
  std::vector<ResolvedPredicate> predicates_;
  SchemaPtr schema_;
  int next_row_group_ = 0;
  RecordBatchPtr pending_;
  int64_t pending_offset_ = 0;
  int64_t row_groups_skipped_ = 0;
};

}  // namespace sluice::parquet
