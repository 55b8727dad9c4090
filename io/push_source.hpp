#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/value.hpp"
#include "io/source.hpp"
#include "state/input_log.hpp"

namespace sluice {

/// A source the host pushes rows into from code (the actor source's engine, usable on its own):
/// every push is appended to a durable input log (state/input_log.hpp) before it returns, so an
/// acknowledged push is replayed exactly after a crash. One partition; offsets are log
/// positions, one per push: an epoch reads the pushes [start, end). Once an epoch commits, the
/// pushes it read are trimmed from the log.
///
/// The log lives in a directory of its own, given by the host (a sibling or a subdirectory of
/// the query's checkpoint, say `<checkpoint>/input/<name>`): see InputLog for why it is not
/// inside the checkpoint's LMDB environment. One PushSource per directory at a time (locked),
/// read by one query at a time (a commit trims what that query read).
///
/// Delivery: a push whose call returned (or whose actor reply arrived) is in the output exactly
/// once. A host that crashed before seeing the reply does not know whether the push was logged;
/// pushing again may then deliver those rows twice (at-least-once from the host's side).
///
/// Threading: push may be called from any thread, concurrently with each other and with a
/// running query; the Source methods follow Source's contract.
class PushSource final : public Source {
 public:
  /// Opens (or creates) the input log of `schema` in `directory`; fails when the directory holds
  /// the log of another schema, is locked by another PushSource, or cannot be created.
  static Result<std::shared_ptr<PushSource>> open(SchemaPtr schema, const std::string& directory,
                                                  const InputLogOptions& options = {},
                                                  std::string name = "PushSource");

  /// Appends `batch` durably and returns its position (the offset an epoch reading it ends
  /// after). Fails naming the schemas when the batch's schema differs from the source's.
  Result<int64_t> push(const RecordBatchPtr& batch);
  /// Appends rows durably; fails naming the row and column of a value of the wrong type.
  Result<int64_t> push(const std::vector<std::vector<Value>>& rows);
  /// Appends batches durably in one transaction (one fsync for all: a group commit), all or
  /// none, at consecutive positions; returns the position of the first. Fails as push does.
  Result<int64_t> push_all(const std::vector<RecordBatchPtr>& batches);
  /// Returns ok when `batch` may be pushed (its schema is the source's), else the error push
  /// would give.
  Status check(const RecordBatchPtr& batch) const;
  /// Returns the position the next push gets.
  int64_t end() const { return log_->end(); }
  /// Returns the first position still in the log (earlier ones were committed and trimmed).
  int64_t begin() const { return log_->begin(); }
  /// Caps each epoch at about `rows` rows (whole pushes, at least one); -1 = no cap.
  void set_max_rows_per_trigger(int64_t rows) { max_rows_per_trigger_ = rows; }

  const SchemaPtr& schema() const override { return schema_; }
  std::string description() const override;
  int num_partitions() const override { return 1; }
  bool replayable() const override { return true; }
  /// Returns the first position still logged: a new query over an old log starts there.
  SourceOffset initial_offset() const override { return {log_->begin()}; }
  Result<SourceOffset> latest_offset(const SourceOffset& start, const ReadLimit& limit) override;
  Result<std::unique_ptr<PartitionReader>> open_reader(int partition, int64_t start,
                                                       int64_t end) override;
  /// Trims the log below `end`: those pushes are committed and never read again.
  Status commit(const SourceOffset& end) override;

 private:
  PushSource(SchemaPtr schema, std::unique_ptr<InputLog> log, std::string name)
      : schema_(std::move(schema)), log_(std::move(log)), name_(std::move(name)) {}

  SchemaPtr schema_;
  std::unique_ptr<InputLog> log_;
  std::string name_;
  std::atomic<int64_t> max_rows_per_trigger_{-1};
};

}  // namespace sluice
