#pragma once

#include <memory>
#include <vector>

#include "core/column.hpp"
#include "core/column_builder.hpp"
#include "core/schema.hpp"

namespace sluice {

class RecordBatch;
using RecordBatchPtr = std::shared_ptr<const RecordBatch>;

/// Holds rows as columns under one schema. Immutable, shared by pointer between actors in a
/// process without copies; slicing shares the columns' buffers. Safe to read from many threads.
class RecordBatch {
 public:
  /// Builds a batch; fails when the column count, a column's type or length, or a non-nullable
  /// field with nulls disagrees with the schema (the message names the column).
  static Result<RecordBatchPtr> make(SchemaPtr schema, std::vector<ColumnPtr> columns,
                                     int64_t num_rows);
  /// Builds a batch whose row count is the length of its first column (0 without columns).
  static Result<RecordBatchPtr> make(SchemaPtr schema, std::vector<ColumnPtr> columns);

  /// Builds a batch without verification; for operators that derived the columns themselves.
  static RecordBatchPtr make_unchecked(SchemaPtr schema, std::vector<ColumnPtr> columns,
                                       int64_t num_rows);

  /// Builds a batch from rows of Values; fails naming the row and column of a value whose type
  /// does not fit. Meant for tests, examples and small inputs.
  static Result<RecordBatchPtr> from_rows(SchemaPtr schema,
                                          const std::vector<std::vector<Value>>& rows);

  /// Builds an empty batch of the schema.
  static RecordBatchPtr make_empty(SchemaPtr schema);

  /// Concatenates batches of one schema into one batch.
  static Result<RecordBatchPtr> concatenate(const std::vector<RecordBatchPtr>& batches);

  const SchemaPtr& schema() const { return schema_; }
  int64_t num_rows() const { return num_rows_; }
  int num_columns() const { return static_cast<int>(columns_.size()); }
  const ColumnPtr& column(int index) const { return columns_[static_cast<size_t>(index)]; }
  const std::vector<ColumnPtr>& columns() const { return columns_; }

  /// Returns the named column, or a not_found error suggesting the closest name.
  Result<ColumnPtr> column(std::string_view name) const;

  /// Returns rows [offset, offset + length) without copying.
  RecordBatchPtr slice(int64_t offset, int64_t length) const;

  /// Returns the rows at the given indices as a new batch.
  RecordBatchPtr take(const int32_t* indices, int64_t count) const;

  /// Returns all rows as Values (for tests and small results).
  std::vector<std::vector<Value>> to_rows() const;

  /// Returns the approximate number of bytes the batch references.
  int64_t memory_bytes() const;

 private:
  RecordBatch(SchemaPtr schema, std::vector<ColumnPtr> columns, int64_t num_rows)
      : schema_(std::move(schema)), columns_(std::move(columns)), num_rows_(num_rows) {}
  SchemaPtr schema_;
  std::vector<ColumnPtr> columns_;
  int64_t num_rows_;
};

/// Builds a batch row by row (`append_row`) or column by column (`column(i).append_*`).
class RecordBatchBuilder {
 public:
  explicit RecordBatchBuilder(SchemaPtr schema);

  /// Appends one row; fails naming the column whose value has the wrong type, or when the row
  /// has the wrong number of values. On failure the builder is unchanged.
  [[nodiscard]] Status append_row(const std::vector<Value>& row);

  ColumnBuilder& column(int index) { return builders_[static_cast<size_t>(index)]; }
  int64_t num_rows() const { return builders_.empty() ? rows_without_columns_ : builders_[0].length(); }

  /// Returns the built batch and resets the builder; fails when columns differ in length.
  Result<RecordBatchPtr> finish();

 private:
  SchemaPtr schema_;
  std::vector<ColumnBuilder> builders_;
  int64_t rows_without_columns_ = 0;
};

}  // namespace sluice
