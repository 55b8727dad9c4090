#include "operators/window_assigner.hpp"

#include <vector>

#include "operators/expression.hpp"

namespace sluice {

namespace {

// Wrapping arithmetic: extreme times give meaningless windows instead of undefined behaviour.
inline int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
inline int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// Returns the start of the latest window containing t.
inline int64_t last_start(int64_t t, int64_t slide, int64_t offset) {
  int64_t remainder = wrap_sub(t, offset) % slide;
  if (remainder < 0) remainder += slide;
  return wrap_sub(t, remainder);
}

std::shared_ptr<Buffer> allocate_int64(int64_t count) {
  return Buffer::allocate(count * 8);
}

}  // namespace

Status validate_window(const WindowDefinition& window) {
  if (window.size_micros <= 0) {
    return Status::invalid_argument("window duration must be positive, not " +
                                    std::to_string(window.size_micros) + " microseconds");
  }
  if (window.slide_micros <= 0) {
    return Status::invalid_argument("slide duration must be positive, not " +
                                    std::to_string(window.slide_micros) + " microseconds");
  }
  if (window.slide_micros > window.size_micros) {
    return Status::invalid_argument(
        "slide duration (" + std::to_string(window.slide_micros) +
        " microseconds) must be less than or equal to the window duration (" +
        std::to_string(window.size_micros) + " microseconds)");
  }
  if (window.start_offset_micros <= -window.slide_micros ||
      window.start_offset_micros >= window.slide_micros) {
    return Status::invalid_argument("the absolute value of the start time (" +
                                    std::to_string(window.start_offset_micros) +
                                    " microseconds) must be less than the slide duration (" +
                                    std::to_string(window.slide_micros) + " microseconds)");
  }
  return Status::ok();
}

Result<int64_t> parse_duration(std::string_view text) {
  return parse_interval(text);
}

Result<SchemaPtr> windowed_schema(const Schema& input) {
  std::vector<Field> fields = input.fields();
  fields.push_back(Field{"window.start", Type::Timestamp, false});
  fields.push_back(Field{"window.end", Type::Timestamp, false});
  auto schema = Schema::make(std::move(fields));
  if (!schema.ok()) return schema.status().with_context("adding window columns");
  return *schema;
}

Result<RecordBatchPtr> assign_windows(const RecordBatch& batch, int time_column,
                                      const WindowDefinition& window) {
  SLUICE_RETURN_NOT_OK(validate_window(window));
  const Schema& input = *batch.schema();
  if (time_column < 0 || time_column >= input.num_fields()) {
    return Status::invalid_argument("event-time column index " + std::to_string(time_column) +
                                    " is outside the schema (" + input.to_string() + ")");
  }
  if (input.field(time_column).type != Type::Timestamp) {
    return Status::type_error("window needs a TIMESTAMP event-time column, but '" +
                              input.field(time_column).name + "' is " +
                              std::string(type_name(input.field(time_column).type)));
  }
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr schema, windowed_schema(input));
  const Column& time = *batch.column(time_column);
  const int64_t* t = time.values<int64_t>();
  const int64_t n = batch.num_rows();
  const int64_t size = window.size_micros;
  const int64_t slide = window.slide_micros;
  const int64_t offset = window.start_offset_micros;
  const int64_t per_row = (size + slide - 1) / slide;

  if (per_row == 1 && !time.has_nulls()) {
    // Tumbling windows over non-null times: one window per row, input columns shared.
    auto starts = allocate_int64(n);
    auto ends = allocate_int64(n);
    int64_t* s = starts->mutable_as<int64_t>();
    int64_t* e = ends->mutable_as<int64_t>();
    for (int64_t r = 0; r < n; ++r) {
      s[r] = last_start(t[r], slide, offset);
      e[r] = wrap_add(s[r], size);
    }
    std::vector<ColumnPtr> columns = batch.columns();
    columns.push_back(Column::make_unchecked(Type::Timestamp, n, std::move(starts), nullptr));
    columns.push_back(Column::make_unchecked(Type::Timestamp, n, std::move(ends), nullptr));
    return RecordBatch::make_unchecked(std::move(schema), std::move(columns), n);
  }

  // Count the output rows first so every buffer is allocated once.
  const bool exact = size % slide == 0;
  int64_t total = 0;
  for (int64_t r = 0; r < n; ++r) {
    if (!time.is_valid(r)) continue;
    if (exact) {
      total += per_row;
      continue;
    }
    const int64_t into = t[r] - last_start(t[r], slide, offset);  // in [0, slide)
    for (int64_t k = 0; k < per_row; ++k) {
      total += into + k * slide < size;
    }
  }
  std::vector<int32_t> indices(static_cast<size_t>(total));
  auto starts = allocate_int64(total);
  auto ends = allocate_int64(total);
  int64_t* s = starts->mutable_as<int64_t>();
  int64_t* e = ends->mutable_as<int64_t>();
  int64_t position = 0;
  for (int64_t r = 0; r < n; ++r) {
    if (!time.is_valid(r)) continue;
    const int64_t latest = last_start(t[r], slide, offset);
    const int64_t into = t[r] - latest;
    for (int64_t k = 0; k < per_row; ++k) {
      if (!exact && into + k * slide >= size) continue;
      indices[static_cast<size_t>(position)] = static_cast<int32_t>(r);
      s[position] = wrap_sub(latest, k * slide);
      e[position] = wrap_add(s[position], size);
      ++position;
    }
  }
  std::vector<ColumnPtr> columns;
  columns.reserve(static_cast<size_t>(schema->num_fields()));
  for (const auto& column : batch.columns()) {
    columns.push_back(column->take(indices.data(), total));
  }
  columns.push_back(Column::make_unchecked(Type::Timestamp, total, std::move(starts), nullptr));
  columns.push_back(Column::make_unchecked(Type::Timestamp, total, std::move(ends), nullptr));
  return RecordBatch::make_unchecked(std::move(schema), std::move(columns), total);
}

}  // namespace sluice
