#include "operators/static_join.hpp"

#include <algorithm>

namespace sluice {

Result<RecordBatchPtr> StaticTable::rows() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!rows_) {
    SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr rows, loader_());
    if (!(*rows->schema() == *schema_)) {
      return Status::invalid_argument(description_ + " now has columns (" + rows->schema()->to_string() +
                                      "), the query was defined over (" + schema_->to_string() + ")");
    }
    rows_ = std::move(rows);
  }
  return rows_;
}

Result<std::shared_ptr<const StaticHashJoin>> StaticHashJoin::make(SchemaPtr left, const StaticTable& right,
                                                                   const std::vector<std::string>& keys, JoinType type,
                                                                   const std::optional<Expr>& condition,
                                                                   const EvalOptions& options) {
  if (type != JoinType::inner && type != JoinType::left_outer && type != JoinType::left_semi &&
      type != JoinType::left_anti) {
    return Status::invalid_argument(
        "a static hash join drives only inner, left_outer, left_semi and left_anti joins, not " +
        std::string(join_type_name(type)));
  }
  std::shared_ptr<StaticHashJoin> join(new StaticHashJoin());
  join->type_ = type;
  join->left_ = left;
  const SchemaPtr& right_schema = right.schema();
  for (const auto& key : keys) {
    auto left_index = left->index_of(key);
    if (!left_index.ok()) return left_index.status().with_context("join key of the stream");
    auto right_index = right_schema->index_of(key);
    if (!right_index.ok()) return right_index.status().with_context("join key of " + right.description());
    join->left_keys_.push_back(*left_index);
    join->right_keys_.push_back(*right_index);
  }
  SLUICE_ASSIGN_OR_RETURN(join->joined_, joined_schema(*left, *right_schema, join->left_keys_, join->right_keys_,
                                                       type == JoinType::left_outer ? type : JoinType::inner));
  auto is_key = [](const std::vector<int>& keys, int c) { return std::find(keys.begin(), keys.end(), c) != keys.end(); };
  for (int c = 0; c < left->num_fields(); ++c)
    if (!is_key(join->left_keys_, c)) join->left_others_.push_back(c);
  for (int c = 0; c < right_schema->num_fields(); ++c)
    if (!is_key(join->right_keys_, c)) join->right_others_.push_back(c);
  join->output_ = type == JoinType::left_semi || type == JoinType::left_anti ? left : join->joined_;
  if (condition) {
    auto bound = bind(*condition, *join->joined_, options);
    if (!bound.ok()) return bound.status().with_context("join condition");
    if (bound->type() != Type::Bool) {
      return Status::type_error("join condition " + condition->to_string() + " is " +
                                std::string(type_name(bound->type())) + ", not BOOLEAN");
    }
    join->condition_ = std::move(*bound);
  }
  SLUICE_ASSIGN_OR_RETURN(join->left_encoder_, KeyEncoder::make(*left, join->left_keys_));
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder right_encoder, KeyEncoder::make(*right_schema, join->right_keys_));
  SLUICE_ASSIGN_OR_RETURN(join->right_rows_, right.rows());
  const RecordBatch& rows = *join->right_rows_;
  std::vector<std::string> encoded;
  right_encoder.encode(rows, encoded);
  for (int64_t row = 0; row < rows.num_rows(); ++row) {
    bool null_key = false;
    for (int key : join->right_keys_) null_key |= !rows.column(key)->is_valid(row);
    if (!null_key) join->table_[encoded[static_cast<size_t>(row)]].push_back(static_cast<int32_t>(row));
  }
  return std::shared_ptr<const StaticHashJoin>(std::move(join));
}

Result<RecordBatchPtr> StaticHashJoin::gather(const RecordBatch& left, const std::vector<int32_t>& left_rows,
                                              const std::vector<int32_t>& right_rows) const {
  const auto count = static_cast<int64_t>(left_rows.size());
  const bool unmatched = !right_rows.empty() && right_rows.front() < 0;  // all -1, or all matched
  std::vector<ColumnPtr> columns;
  for (int key : left_keys_) columns.push_back(left.column(key)->take(left_rows.data(), count));
  for (int c : left_others_) columns.push_back(left.column(c)->take(left_rows.data(), count));
  for (int c : right_others_) {
    const ColumnPtr& column = right_rows_->column(c);
    columns.push_back(unmatched ? Column::make_null(column->type(), count) : column->take(right_rows.data(), count));
  }
  return RecordBatch::make_unchecked(joined_, std::move(columns), count);
}

Result<RecordBatchPtr> StaticHashJoin::join(const RecordBatch& left) const {
  // One buffer per thread: join runs on many threads at once, and a steady stream of batches
  // then encodes its keys without allocating.
  thread_local EncodedKeys encoded;
  left_encoder_->encode_flat(left, encoded);
  std::vector<int32_t> left_rows;
  std::vector<int32_t> right_rows;
  for (int64_t row = 0; row < left.num_rows(); ++row) {
    bool null_key = false;
    for (int key : left_keys_) null_key |= !left.column(key)->is_valid(row);
    if (null_key) continue;
    auto found = table_.find(encoded.key(row));
    if (found == table_.end()) continue;
    for (int32_t match : found->second) {
      left_rows.push_back(static_cast<int32_t>(row));
      right_rows.push_back(match);
    }
  }
  RecordBatchPtr matched;
  if (type_ == JoinType::inner || type_ == JoinType::left_outer || condition_) {
    SLUICE_ASSIGN_OR_RETURN(matched, gather(left, left_rows, right_rows));
  }
  if (condition_) {
    std::vector<int32_t> selection;
    SLUICE_RETURN_NOT_OK(condition_->select(*matched, selection));
    if (static_cast<int64_t>(selection.size()) != matched->num_rows()) {
      matched = matched->take(selection.data(), static_cast<int64_t>(selection.size()));
      std::vector<int32_t> kept;
      for (int32_t index : selection) kept.push_back(left_rows[static_cast<size_t>(index)]);
      left_rows = std::move(kept);
    }
  }
  if (type_ == JoinType::inner) return matched;
  // Left rows with at least one match, in order (left_rows is ascending).
  std::vector<bool> has_match(static_cast<size_t>(left.num_rows()), false);
  for (int32_t row : left_rows) has_match[static_cast<size_t>(row)] = true;
  std::vector<int32_t> chosen;
  const bool want_matched = type_ == JoinType::left_semi;
  for (int64_t row = 0; row < left.num_rows(); ++row) {
    if (has_match[static_cast<size_t>(row)] == want_matched) chosen.push_back(static_cast<int32_t>(row));
  }
  if (type_ == JoinType::left_semi || type_ == JoinType::left_anti) {
    if (static_cast<int64_t>(chosen.size()) == left.num_rows()) return left.slice(0, left.num_rows());
    return left.take(chosen.data(), static_cast<int64_t>(chosen.size()));
  }
  // left_outer: the matched pairs, then each unmatched stream row with nulls for the table.
  if (chosen.empty()) return matched;
  SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr unmatched, gather(left, chosen, std::vector<int32_t>(chosen.size(), -1)));
  if (matched->num_rows() == 0) return unmatched;
  return RecordBatch::concatenate({matched, unmatched});
}

}  // namespace sluice
