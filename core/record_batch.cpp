#include "core/record_batch.hpp"

#include <cstring>

namespace sluice {

Result<RecordBatchPtr> RecordBatch::make(SchemaPtr schema, std::vector<ColumnPtr> columns,
                                         int64_t num_rows) {
  if (!schema) return Status::invalid_argument("record batch without a schema");
  if (static_cast<int>(columns.size()) != schema->num_fields()) {
    return Status::invalid_argument("record batch has " + std::to_string(columns.size()) +
                                    " columns but its schema has " +
                                    std::to_string(schema->num_fields()) + " fields (" +
                                    schema->to_string() + ")");
  }
  for (int i = 0; i < schema->num_fields(); ++i) {
    const Field& field = schema->field(i);
    const ColumnPtr& column = columns[static_cast<size_t>(i)];
    if (!column) return Status::invalid_argument("column '" + field.name + "' is missing");
    if (column->type() != field.type) {
      return Status::type_error("column '" + field.name + "' holds " +
                                std::string(type_name(column->type())) + " but the schema says " +
                                std::string(type_name(field.type)));
    }
    if (column->length() != num_rows) {
      return Status::invalid_argument("column '" + field.name + "' has " +
                                      std::to_string(column->length()) + " rows, expected " +
                                      std::to_string(num_rows));
    }
    if (!field.nullable && column->has_nulls()) {
      return Status::invalid_argument("column '" + field.name + "' is NOT NULL but holds " +
                                      std::to_string(column->null_count()) + " nulls");
    }
  }
  return make_unchecked(std::move(schema), std::move(columns), num_rows);
}

Result<RecordBatchPtr> RecordBatch::make(SchemaPtr schema, std::vector<ColumnPtr> columns) {
  const int64_t num_rows = columns.empty() || !columns[0] ? 0 : columns[0]->length();
  return make(std::move(schema), std::move(columns), num_rows);
}

RecordBatchPtr RecordBatch::make_unchecked(SchemaPtr schema, std::vector<ColumnPtr> columns,
                                           int64_t num_rows) {
  return RecordBatchPtr(new RecordBatch(std::move(schema), std::move(columns), num_rows));
}

Result<RecordBatchPtr> RecordBatch::from_rows(SchemaPtr schema,
                                              const std::vector<std::vector<Value>>& rows) {
  RecordBatchBuilder builder(schema);
  for (size_t r = 0; r < rows.size(); ++r) {
    SLUICE_RETURN_NOT_OK(builder.append_row(rows[r]).with_context("row " + std::to_string(r)));
  }
  return builder.finish();
}

RecordBatchPtr RecordBatch::make_empty(SchemaPtr schema) {
  std::vector<ColumnPtr> columns;
  for (const auto& field : schema->fields()) columns.push_back(ColumnBuilder(field.type).finish());
  return make_unchecked(std::move(schema), std::move(columns), 0);
}

Result<RecordBatchPtr> RecordBatch::concatenate(const std::vector<RecordBatchPtr>& batches) {
  if (batches.empty()) return Status::invalid_argument("concatenate needs at least one batch");
  if (batches.size() == 1) return batches[0];
  const SchemaPtr& schema = batches[0]->schema();
  int64_t total = 0;
  for (const auto& batch : batches) {
    if (!(*batch->schema() == *schema)) {
      return Status::invalid_argument("cannot concatenate batches of schemas (" +
                                      schema->to_string() + ") and (" +
                                      batch->schema()->to_string() + ")");
    }
    total += batch->num_rows();
  }
  std::vector<ColumnPtr> columns;
  for (int c = 0; c < schema->num_fields(); ++c) {
    const Type type = schema->field(c).type;
    bool any_nulls = false;
    int64_t data_total = 0;
    for (const auto& batch : batches) {
      const ColumnPtr& column = batch->column(c);
      any_nulls |= column->has_nulls();
      if (type == Type::String && column->length() > 0) {
        const int64_t* offsets = column->values<int64_t>();
        data_total += offsets[column->length()] - offsets[0];
      }
    }
    std::shared_ptr<Buffer> validity;
    if (any_nulls) validity = Buffer::allocate(bitmap::bytes_for(total));
    std::shared_ptr<Buffer> values =
        Buffer::allocate((type == Type::String ? total + 1 : total) * value_width(type));
    std::shared_ptr<Buffer> data = type == Type::String ? Buffer::allocate(data_total) : nullptr;
    int64_t row = 0;
    int64_t data_position = 0;
    for (const auto& batch : batches) {
      const ColumnPtr& column = batch->column(c);
      const int64_t n = column->length();
      if (validity) {
        uint8_t* bits = validity->mutable_data();
        for (int64_t i = 0; i < n; ++i) {
          if (column->is_valid(i)) bitmap::set(bits, row + i);
        }
      }
      if (type == Type::String) {
        const int64_t* offsets = column->values<int64_t>();
        int64_t* out = values->mutable_as<int64_t>();
        const int64_t base = n > 0 ? offsets[0] : 0;
        for (int64_t i = 0; i < n; ++i) out[row + i] = data_position + offsets[i] - base;
        const int64_t size = n > 0 ? offsets[n] - base : 0;
        if (size > 0) {
          std::memcpy(data->mutable_data() + data_position, column->data_buffer()->data() + base,
                      static_cast<size_t>(size));
        }
        data_position += size;
      } else {
        const int width = value_width(type);
        std::memcpy(values->mutable_data() + row * width,
                    column->values_buffer()->data() + column->offset() * width,
                    static_cast<size_t>(n * width));
      }
      row += n;
    }
    if (type == Type::String) values->mutable_as<int64_t>()[total] = data_position;
    columns.push_back(Column::make_unchecked(type, total, std::move(values), std::move(validity),
                                             std::move(data)));
  }
  return make_unchecked(schema, std::move(columns), total);
}

Result<ColumnPtr> RecordBatch::column(std::string_view name) const {
  SLUICE_ASSIGN_OR_RETURN(int index, schema_->index_of(name));
  return columns_[static_cast<size_t>(index)];
}

RecordBatchPtr RecordBatch::slice(int64_t offset, int64_t length) const {
  std::vector<ColumnPtr> columns;
  columns.reserve(columns_.size());
  for (const auto& column : columns_) columns.push_back(column->slice(offset, length));
  return make_unchecked(schema_, std::move(columns), length);
}

RecordBatchPtr RecordBatch::take(const int32_t* indices, int64_t count) const {
  std::vector<ColumnPtr> columns;
  columns.reserve(columns_.size());
  for (const auto& column : columns_) columns.push_back(column->take(indices, count));
  return make_unchecked(schema_, std::move(columns), count);
}

std::vector<std::vector<Value>> RecordBatch::to_rows() const {
  std::vector<std::vector<Value>> rows(static_cast<size_t>(num_rows_));
  for (int64_t r = 0; r < num_rows_; ++r) {
    rows[static_cast<size_t>(r)].reserve(columns_.size());
    for (const auto& column : columns_) rows[static_cast<size_t>(r)].push_back(column->value_at(r));
  }
  return rows;
}

int64_t RecordBatch::memory_bytes() const {
  int64_t bytes = 0;
  for (const auto& column : columns_) {
    bytes += column->length() * value_width(column->type());
    if (column->validity_bits()) bytes += bitmap::bytes_for(column->length());
    if (column->type() == Type::String && column->length() > 0) {
      const int64_t* offsets = column->values<int64_t>();
      bytes += offsets[column->length()] - offsets[0];
    }
  }
  return bytes;
}

RecordBatchBuilder::RecordBatchBuilder(SchemaPtr schema) : schema_(std::move(schema)) {
  for (const auto& field : schema_->fields()) builders_.emplace_back(field.type);
}

Status RecordBatchBuilder::append_row(const std::vector<Value>& row) {
  if (static_cast<int>(row.size()) != schema_->num_fields()) {
    return Status::invalid_argument("row has " + std::to_string(row.size()) +
                                    " values but the schema has " +
                                    std::to_string(schema_->num_fields()) + " fields (" +
                                    schema_->to_string() + ")");
  }
  // Check every value first so that a failure leaves the builder unchanged.
  for (size_t i = 0; i < row.size(); ++i) {
    const Value& value = row[i];
    const Field& field = schema_->field(static_cast<int>(i));
    if (value.is_null()) {
      if (!field.nullable) {
        return Status::invalid_argument("column '" + field.name + "' is NOT NULL but got null");
      }
      continue;
    }
    const Type given = *value.type();
    const bool fits = given == field.type ||
                      (given == Type::Int64 &&
                       (field.type == Type::Double || field.type == Type::Timestamp));
    if (!fits) {
      return Status::type_error("column '" + field.name + "' is " +
                                std::string(type_name(field.type)) + " but got " +
                                std::string(type_name(given)) + " value " + value.to_string());
    }
  }
  for (size_t i = 0; i < row.size(); ++i) {
    SLUICE_RETURN_NOT_OK(builders_[i].append_value(row[i]));
  }
  if (builders_.empty()) ++rows_without_columns_;
  return Status::ok();
}

Result<RecordBatchPtr> RecordBatchBuilder::finish() {
  std::vector<ColumnPtr> columns;
  for (auto& builder : builders_) columns.push_back(builder.finish());
  const int64_t rows = columns.empty() ? rows_without_columns_ : columns[0]->length();
  rows_without_columns_ = 0;
  return RecordBatch::make(schema_, std::move(columns), rows);
}

}  // namespace sluice
