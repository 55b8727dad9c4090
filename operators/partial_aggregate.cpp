#include "operators/partial_aggregate.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/column_builder.hpp"
#include "operators/group_table.hpp"

namespace sluice {

namespace {

constexpr const char* kRowsColumn = "__partial_rows";
constexpr const char* kStateColumn = "__partial_state";

// Compares column types only: a stage's output may differ from the operator's input in names
// or nullability, never in the types the aggregate reads.
bool same_types(const Schema& a, const Schema& b) {
  if (a.num_fields() != b.num_fields()) return false;
  for (int i = 0; i < a.num_fields(); ++i) {
    if (a.field(i).type != b.field(i).type) return false;
  }
  return true;
}

}  // namespace

Result<PartialAggregationMode> parse_partial_aggregation_mode(const std::string& text) {
  if (text == "auto") return PartialAggregationMode::adaptive;
  if (text == "always") return PartialAggregationMode::always;
  if (text == "off") return PartialAggregationMode::off;
  return Status::invalid_argument("partialAggregation must be auto, always or off, got '" + text + "'");
}

Result<std::shared_ptr<const PartialAggregation>> PartialAggregation::make(
    SchemaPtr input, std::vector<int> key_columns, std::shared_ptr<const AggregateRow> aggregates,
    PartialAggregationMode mode) {
  if (!input || !aggregates) return Status::invalid_argument("partial aggregation without an input");
  std::vector<Field> fields;
  for (int column : key_columns) {
    if (column < 0 || column >= input->num_fields()) {
      return Status::invalid_argument("grouping column index " + std::to_string(column) +
                                      " is outside the input schema (" + input->to_string() + ")");
    }
    fields.push_back(input->field(column));
  }
  fields.push_back({kRowsColumn, Type::Int64, false});
  fields.push_back({kStateColumn, Type::String, false});
  auto schema = Schema::make(std::move(fields));
  if (!schema.ok()) return schema.status().with_context("schema of the partial aggregates");
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder encoder, KeyEncoder::make(*input, key_columns));
  std::shared_ptr<PartialAggregation> partial(new PartialAggregation());
  partial->input_ = std::move(input);
  partial->partial_schema_ = *schema;
  partial->key_columns_ = std::move(key_columns);
  for (size_t i = 0; i < partial->key_columns_.size(); ++i) {
    partial->partial_key_columns_.push_back(static_cast<int>(i));
  }
  partial->aggregates_ = std::move(aggregates);
  partial->encoder_ = std::make_shared<const KeyEncoder>(std::move(encoder));
  partial->mode_ = mode;
  return std::shared_ptr<const PartialAggregation>(std::move(partial));
}

bool PartialAggregation::is_partial(const RecordBatch& batch) const {
  const SchemaPtr& schema = batch.schema();
  if (schema == partial_schema_) return true;
  // A batch decoded from the wire has its own schema object.
  return schema->num_fields() == partial_schema_->num_fields() &&
         schema->field(schema->num_fields() - 1).name == kStateColumn && *schema == *partial_schema_;
}

PartialCombiner::~PartialCombiner() {
  release_groups();
}

void PartialCombiner::release_groups() {
  const AggregateRow& aggregates = *definition_->aggregates_;
  if (!aggregates.has_heap_state()) return;
  const auto words = static_cast<size_t>(aggregates.words());
  for (size_t offset = 0; offset + words <= states_.size(); offset += words) {
    aggregates.destroy(states_.data() + offset);
  }
  states_.clear();
}

Result<RecordBatchPtr> PartialCombiner::combine(const RecordBatchPtr& batch) {
  const PartialAggregation& definition = *definition_;
  if (definition.mode_ == PartialAggregationMode::off || batch->num_rows() == 0) return batch;
  if (definition.mode_ == PartialAggregationMode::adaptive && skip_remaining_ > 0) {
    --skip_remaining_;
    ++stats_.batches_passed;
    return batch;
  }
  if (!same_types(*batch->schema(), *definition.input_)) {
    return Status::invalid_argument("partial aggregation expects rows of schema " +
                                    definition.input_->to_string() + ", got " +
                                    batch->schema()->to_string());
  }
  RecordBatchPtr partial = fold(batch);
  const int64_t rows = batch->num_rows();
  const int64_t groups = partial->num_rows();
  ++stats_.batches_combined;
  stats_.rows_in += rows;
  stats_.groups_out += groups;
  if (definition.mode_ == PartialAggregationMode::adaptive) {
    if (static_cast<double>(groups) > kMaxGroupFraction * static_cast<double>(rows)) {
      skip_remaining_ = next_skip_;
      next_skip_ = std::min(kMaxSkippedBatches, next_skip_ * 2);
    } else {
      next_skip_ = 1;
    }
  }
  return partial;
}

RecordBatchPtr PartialCombiner::fold(const RecordBatchPtr& batch) {
  const PartialAggregation& definition = *definition_;
  const AggregateRow& aggregates = *definition.aggregates_;
  const int64_t n = batch->num_rows();
  const auto words = static_cast<size_t>(aggregates.words());
  definition.encoder_->encode_flat(*batch, keys_);
  // Open addressing over a table of at least twice the rows: every row finds its group.
  const size_t capacity = std::bit_ceil(static_cast<size_t>(2 * n));
  const size_t mask = capacity - 1;
  slots_.assign(capacity, 0);
  group_hashes_.clear();
  first_rows_.clear();
  group_rows_.clear();
  group_of_row_.resize(static_cast<size_t>(n));
  uint32_t previous_group = 0;
  std::string_view previous_key;
  for (int64_t r = 0; r < n; ++r) {
    const std::string_view key = keys_.key(r);
    // Runs of one key (sorted or bursty input) skip the hash table.
    if (r > 0 && key == previous_key) {
      group_of_row_[static_cast<size_t>(r)] = previous_group;
      ++group_rows_[previous_group];
      continue;
    }
    const uint64_t hash = GroupTable::hash_key(key);
    size_t i = hash & mask;
    uint32_t group;
    while (true) {
      const uint32_t slot = slots_[i];
      if (slot == 0) {
        group = static_cast<uint32_t>(first_rows_.size());
        slots_[i] = group + 1;
        group_hashes_.push_back(hash);
        first_rows_.push_back(static_cast<int32_t>(r));
        group_rows_.push_back(0);
        break;
      }
      if (group_hashes_[slot - 1] == hash && keys_.key(first_rows_[slot - 1]) == key) {
        group = slot - 1;
        break;
      }
      i = (i + 1) & mask;
    }
    group_of_row_[static_cast<size_t>(r)] = group;
    ++group_rows_[group];
    previous_group = group;
    previous_key = key;
  }
  const size_t num_groups = first_rows_.size();
  states_.assign(num_groups * words, 0);
  row_states_.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    row_states_[static_cast<size_t>(r)] = states_.data() + group_of_row_[static_cast<size_t>(r)] * words;
  }
  // Rows fold in arrival order, so first and last keep the batch's first and last row.
  aggregates.update(*batch, nullptr, row_states_.data(), n);
  std::vector<ColumnPtr> columns;
  const auto count = static_cast<int64_t>(num_groups);
  for (int column : definition.key_columns_) {
    columns.push_back(batch->column(column)->take(first_rows_.data(), count));
  }
  ColumnBuilder rows_column(Type::Int64);
  rows_column.reserve(count);
  ColumnBuilder state_column(Type::String);
  state_column.reserve(count);
  std::string bytes;
  for (size_t group = 0; group < num_groups; ++group) {
    rows_column.append_int64(group_rows_[group]);
    bytes.clear();
    aggregates.serialize(states_.data() + group * words, bytes);
    state_column.append_string(bytes);
  }
  release_groups();
  columns.push_back(rows_column.finish());
  columns.push_back(state_column.finish());
  return RecordBatch::make_unchecked(definition.partial_schema_, std::move(columns), count);
}

}  // namespace sluice
