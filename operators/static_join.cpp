#include "operators/static_join.hpp"

#include <algorithm>

namespace sluice {

namespace {

// Keeps this many versions of a refreshed table: epochs in flight overlap by fewer.
constexpr size_t kVersionsKept = 4;

}  // namespace

Result<RecordBatchPtr> StaticTable::read() const {
  SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr rows, loader_());
  if (!(*rows->schema() == *schema_)) {
    return Status::invalid_argument(description_ + " now has columns (" + rows->schema()->to_string() +
                                    "), the query was defined over (" + schema_->to_string() + ")");
  }
  return rows;
}

Result<RecordBatchPtr> StaticTable::rows() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!rows_) {
    SLUICE_ASSIGN_OR_RETURN(rows_, read());
  }
  return rows_;
}

Result<std::shared_ptr<const StaticHashJoin>> StaticHashJoin::make(SchemaPtr left, std::shared_ptr<const StaticTable> table,
                                                                   const std::vector<std::string>& keys, JoinType type,
                                                                   const std::optional<Expr>& condition,
                                                                   const EvalOptions& options) {
  if (type != JoinType::inner && type != JoinType::left_outer && type != JoinType::left_semi &&
      type != JoinType::left_anti) {
    return Status::invalid_argument(
        "a static hash join drives only inner, left_outer, left_semi and left_anti joins, not " +
        std::string(join_type_name(type)));
  }
  if (!table) return Status::invalid_argument("a static hash join needs a table");
  const StaticTable& right = *table;
  std::shared_ptr<StaticHashJoin> join(new StaticHashJoin());
  join->source_ = table;
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
  SLUICE_ASSIGN_OR_RETURN(join->right_encoder_, KeyEncoder::make(*right_schema, join->right_keys_));
  std::string token;
  if (right.refresh().interval_micros && right.refresh().version) {
    auto version = right.refresh().version();
    if (!version.ok()) return version.status().with_context("checking " + right.description() + " for new data");
    token = std::move(*version);
  }
  SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr rows, right.rows());
  SLUICE_ASSIGN_OR_RETURN(auto first, join->hash(std::move(rows), kNewestVersion, std::move(token)));
  join->versions_.push_back(std::move(first));
  join->last_check_ = std::chrono::steady_clock::now();
  return std::shared_ptr<const StaticHashJoin>(std::move(join));
}

Result<std::shared_ptr<const StaticHashJoin::Version>> StaticHashJoin::hash(RecordBatchPtr rows, int64_t from_epoch,
                                                                           std::string token) const {
  auto version = std::make_shared<Version>();
  version->from_epoch = from_epoch;
  version->token = std::move(token);
  EncodedKeys encoded;
  right_encoder_->encode_flat(*rows, encoded);
  for (int64_t row = 0; row < rows->num_rows(); ++row) {
    bool null_key = false;
    for (int key : right_keys_) null_key |= !rows->column(key)->is_valid(row);
    if (null_key) continue;
    const std::string_view key = encoded.key(row);
    auto found = version->table.find(key);
    if (found == version->table.end()) found = version->table.emplace(std::string(key), std::vector<int32_t>{}).first;
    found->second.push_back(static_cast<int32_t>(row));
  }
  version->rows = std::move(rows);
  return std::shared_ptr<const Version>(std::move(version));
}

Result<std::shared_ptr<const StaticHashJoin::Version>> StaticHashJoin::version_for(int64_t epoch) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const StaticTable::Refresh& refresh = source_->refresh();
  // The first batch of a new epoch decides, for every partition, which version it sees.
  if (refresh.interval_micros && epoch != kNewestVersion && epoch > checked_epoch_) {
    checked_epoch_ = epoch;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_check_ >= std::chrono::microseconds(*refresh.interval_micros)) {
      last_check_ = now;
      std::string token;
      bool changed = true;
      if (refresh.version) {
        auto version = refresh.version();
        if (!version.ok()) return version.status().with_context("checking " + source_->description() + " for new data");
        changed = *version != versions_.back()->token;
        token = std::move(*version);
      }
      if (changed) {
        auto rows = source_->read();
        if (!rows.ok()) return rows.status().with_context("refreshing " + source_->description() + " for epoch " + std::to_string(epoch));
        SLUICE_ASSIGN_OR_RETURN(auto fresh, hash(std::move(*rows), epoch, std::move(token)));
        versions_.push_back(std::move(fresh));
        if (versions_.size() > kVersionsKept) versions_.erase(versions_.begin());
      }
    }
  }
  if (epoch == kNewestVersion) return versions_.back();
  for (auto it = versions_.rbegin(); it != versions_.rend(); ++it) {
    if ((*it)->from_epoch <= epoch) return *it;
  }
  return versions_.front();
}

Result<RecordBatchPtr> StaticHashJoin::gather(const Version& version, const RecordBatch& left, const std::vector<int32_t>& left_rows,
                                              const std::vector<int32_t>& right_rows) const {
  const auto count = static_cast<int64_t>(left_rows.size());
  const bool unmatched = !right_rows.empty() && right_rows.front() < 0;  // all -1, or all matched
  std::vector<ColumnPtr> columns;
  for (int key : left_keys_) columns.push_back(left.column(key)->take(left_rows.data(), count));
  for (int c : left_others_) columns.push_back(left.column(c)->take(left_rows.data(), count));
  for (int c : right_others_) {
    const ColumnPtr& column = version.rows->column(c);
    columns.push_back(unmatched ? Column::make_null(column->type(), count) : column->take(right_rows.data(), count));
  }
  return RecordBatch::make_unchecked(joined_, std::move(columns), count);
}

Result<RecordBatchPtr> StaticHashJoin::join(const RecordBatch& left, int64_t epoch) const {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<const Version> version, version_for(epoch));
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
    auto found = version->table.find(encoded.key(row));
    if (found == version->table.end()) continue;
    for (int32_t match : found->second) {
      left_rows.push_back(static_cast<int32_t>(row));
      right_rows.push_back(match);
    }
  }
  RecordBatchPtr matched;
  if (type_ == JoinType::inner || type_ == JoinType::left_outer || condition_) {
    SLUICE_ASSIGN_OR_RETURN(matched, gather(*version, left, left_rows, right_rows));
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
  SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr unmatched, gather(*version, left, chosen, std::vector<int32_t>(chosen.size(), -1)));
  if (matched->num_rows() == 0) return unmatched;
  return RecordBatch::concatenate({matched, unmatched});
}

}  // namespace sluice
