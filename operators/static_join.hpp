#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/record_batch.hpp"
#include "operators/expression.hpp"
#include "operators/key_encoder.hpp"
#include "operators/stream_join.hpp"

namespace sluice {

/// The static side of a stream–static join: a table read whole (files, a Delta table, a table
/// sink, rows from code) the first time a query start asks for it. Thread-safe.
class StaticTable {
 public:
  using Loader = std::function<Result<RecordBatchPtr>()>;
  StaticTable(SchemaPtr schema, std::string description, Loader loader)
      : schema_(std::move(schema)), description_(std::move(description)), loader_(std::move(loader)) {}

  /// Returns the rows, reading them at the first call; later calls share them. A failed read
  /// is retried at the next call.
  Result<RecordBatchPtr> rows() const;
  const SchemaPtr& schema() const { return schema_; }
  const std::string& description() const { return description_; }

 private:
  SchemaPtr schema_;
  std::string description_;
  Loader loader_;
  mutable std::mutex mutex_;
  mutable RecordBatchPtr rows_;
};

/// A stream–static hash join (Spark's broadcast hash join): the static rows are hashed by the
/// join key once, when the join is made (at query start), and every batch of the stream probes
/// them. Types: inner, left_outer, left_semi, left_anti, the stream on the left. Output: the
/// keys once, the stream's other columns, then the table's (joined_schema), or the stream's
/// columns for semi and anti joins. Rows whose key has a null never match. Immutable after
/// make; join may run on many threads at once.
class StaticHashJoin {
 public:
  /// Reads the table (StaticTable::rows) and hashes it; fails naming a missing key column,
  /// a key whose types differ, a join type the stream cannot drive, or a condition that is not
  /// BOOLEAN over the joined columns.
  static Result<std::shared_ptr<const StaticHashJoin>> make(SchemaPtr left, const StaticTable& right,
                                                            const std::vector<std::string>& keys, JoinType type,
                                                            const std::optional<Expr>& condition,
                                                            const EvalOptions& options = {});

  const SchemaPtr& output_schema() const { return output_; }
  /// Joins one batch of the stream with the table. The probe allocates nothing per row (keys
  /// are encoded into a per-thread buffer and looked up in place). Thread-safe.
  Result<RecordBatchPtr> join(const RecordBatch& left) const;

 private:
  StaticHashJoin() = default;
  // Gathers the joined columns of the pairs (left_rows[i], right_rows[i]); right row -1: nulls.
  Result<RecordBatchPtr> gather(const RecordBatch& left, const std::vector<int32_t>& left_rows,
                                const std::vector<int32_t>& right_rows) const;

  JoinType type_ = JoinType::inner;
  SchemaPtr left_;
  SchemaPtr joined_;
  SchemaPtr output_;
  RecordBatchPtr right_rows_;
  std::vector<int> left_keys_;
  std::vector<int> right_keys_;
  std::vector<int> left_others_;   // left columns that are not keys, in order
  std::vector<int> right_others_;  // right columns that are not keys, in order
  std::optional<KeyEncoder> left_encoder_;
  // Hashes encoded keys so that a probe finds them by std::string_view, without a copy.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  // Encoded key -> right rows.
  std::unordered_map<std::string, std::vector<int32_t>, KeyHash, std::equal_to<>> table_;
  std::optional<BoundExpr> condition_;
};

}  // namespace sluice
