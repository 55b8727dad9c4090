#pragma once

#include <chrono>
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
/// sink, rows from code) the first time a query start asks for it, and again when its source
/// has new data if the user asked for refreshes (`option("refresh", interval)`). Thread-safe.
class StaticTable {
 public:
  using Loader = std::function<Result<RecordBatchPtr>()>;
  /// How the table follows its source while a query runs.
  struct Refresh {
    /// The least time between two checks for new data (µs; 0 = at every epoch), or nullopt
    /// for a table read once per query start.
    std::optional<int64_t> interval_micros;
    /// Returns a token that changes when the source has new data (the end offset of its
    /// files or Delta commits); empty = the table is re-read at every check.
    std::function<Result<std::string>()> version;
  };
  StaticTable(SchemaPtr schema, std::string description, Loader loader, Refresh refresh = {})
      : schema_(std::move(schema)),
        description_(std::move(description)),
        loader_(std::move(loader)),
        refresh_(std::move(refresh)) {}

  /// Returns the rows, reading them at the first call; later calls share them. A failed read
  /// is retried at the next call.
  Result<RecordBatchPtr> rows() const;
  /// Reads the rows afresh (a refresh), failing when the columns changed. Thread-safe.
  Result<RecordBatchPtr> read() const;
  const SchemaPtr& schema() const { return schema_; }
  const std::string& description() const { return description_; }
  const Refresh& refresh() const { return refresh_; }

 private:
  SchemaPtr schema_;
  std::string description_;
  Loader loader_;
  Refresh refresh_;
  mutable std::mutex mutex_;
  mutable RecordBatchPtr rows_;
};

/// A stream–static hash join (Spark's broadcast hash join): the static rows are hashed by the
/// join key when the join is made (at query start), and every batch of the stream probes
/// them. A table with a refresh interval is checked for new data when the first batch of an
/// epoch reaches the join and at least the interval passed since the last check; new data is
/// read and hashed then, and that epoch and the later ones see it (every batch of one epoch
/// sees one version of the table). Types: inner, left_outer, left_semi, left_anti, the stream on the left. Output: the
/// keys once, the stream's other columns, then the table's (joined_schema), or the stream's
/// columns for semi and anti joins. Rows whose key has a null never match. Immutable after
/// make; join may run on many threads at once.
class StaticHashJoin {
 public:
  /// Reads the table (StaticTable::rows) and hashes it; fails naming a missing key column,
  /// a key whose types differ, a join type the stream cannot drive, or a condition that is not
  /// BOOLEAN over the joined columns.
  static Result<std::shared_ptr<const StaticHashJoin>> make(SchemaPtr left, std::shared_ptr<const StaticTable> right,
                                                            const std::vector<std::string>& keys, JoinType type,
                                                            const std::optional<Expr>& condition,
                                                            const EvalOptions& options = {});

  const SchemaPtr& output_schema() const { return output_; }
  /// Marks a batch whose epoch is unknown: it sees the newest version of the table.
  static constexpr int64_t kNewestVersion = -1;

  /// Joins one batch of epoch `epoch` of the stream with the version of the table that epoch
  /// sees (refreshing it first when due). The probe allocates nothing per row (keys are
  /// encoded into a per-thread buffer and looked up in place). Fails naming the table when a
  /// refresh cannot read it. Thread-safe.
  Result<RecordBatchPtr> join(const RecordBatch& left, int64_t epoch = kNewestVersion) const;

 private:
  // Hashes encoded keys so that a probe finds them by std::string_view, without a copy.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  // One version of the table, hashed; seen by epochs from `from_epoch` on.
  struct Version {
    int64_t from_epoch = kNewestVersion;
    std::string token;
    RecordBatchPtr rows;
    // Encoded key -> right rows.
    std::unordered_map<std::string, std::vector<int32_t>, KeyHash, std::equal_to<>> table;
  };
  StaticHashJoin() = default;
  Result<std::shared_ptr<const Version>> hash(RecordBatchPtr rows, int64_t from_epoch, std::string token) const;
  // Returns the version epoch `epoch` sees, checking the source first when it is due.
  Result<std::shared_ptr<const Version>> version_for(int64_t epoch) const;
  // Gathers the joined columns of the pairs (left_rows[i], right_rows[i]); right row -1: nulls.
  Result<RecordBatchPtr> gather(const Version& version, const RecordBatch& left, const std::vector<int32_t>& left_rows,
                                const std::vector<int32_t>& right_rows) const;

  JoinType type_ = JoinType::inner;
  SchemaPtr left_;
  SchemaPtr joined_;
  SchemaPtr output_;
  std::shared_ptr<const StaticTable> source_;
  std::vector<int> left_keys_;
  std::vector<int> right_keys_;
  std::vector<int> left_others_;   // left columns that are not keys, in order
  std::vector<int> right_others_;  // right columns that are not keys, in order
  std::optional<KeyEncoder> left_encoder_;
  std::optional<KeyEncoder> right_encoder_;
  std::optional<BoundExpr> condition_;
  // The versions epochs in flight may still ask for, oldest first (a few: epochs overlap by
  // a small bound), and when the source was last checked.
  mutable std::mutex mutex_;
  mutable std::vector<std::shared_ptr<const Version>> versions_;
  mutable int64_t checked_epoch_ = kNewestVersion;
  mutable std::chrono::steady_clock::time_point last_check_;
};

}  // namespace sluice
