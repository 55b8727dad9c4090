#pragma once

#include <functional>
#include <map>
#include <mutex>

#include "io/sink.hpp"

namespace sluice {

/// Keeps a query's result as an in-memory table readable from code. Idempotent per epoch: the
/// rows of a replayed epoch replace that epoch's rows. In complete mode each epoch replaces
/// the whole table. `rows`/`batches` may be called from any thread while the query runs.
class MemorySink final : public Sink {
 public:
  MemorySink(std::string name, OutputMode mode) : name_(std::move(name)), mode_(mode) {}

  std::string description() const override { return "MemorySink[" + name_ + "]"; }
  Status write(int64_t epoch, const RecordBatchPtr& batch) override;
  Status finish_epoch(int64_t epoch) override;
  void abort_epoch(int64_t epoch) override;

  const std::string& name() const { return name_; }
  OutputMode mode() const { return mode_; }
  /// Returns every committed row, epoch by epoch, in arrival order.
  std::vector<std::vector<Value>> rows() const;
  /// Returns the rows of one finished epoch (empty when it produced none).
  std::vector<std::vector<Value>> epoch_rows(int64_t epoch) const;
  /// Returns every finished batch in order.
  std::vector<RecordBatchPtr> batches() const;
  /// Returns the batches of one finished epoch (empty when it produced none).
  std::vector<RecordBatchPtr> epoch_batches(int64_t epoch) const;
  /// Returns the epochs finished so far.
  std::vector<int64_t> epochs() const;

 private:
  std::string name_;
  OutputMode mode_;
  mutable std::mutex mutex_;
  std::map<int64_t, std::vector<RecordBatchPtr>> pending_;
  std::map<int64_t, std::vector<RecordBatchPtr>> finished_;
};

/// Prints each epoch as "Batch: N" and a table, like Spark's console sink.
class ConsoleSink final : public Sink {
 public:
  /// `out` receives the text (stdout when null); num_rows and truncate as in `show()`.
  ConsoleSink(int64_t num_rows, int truncate, std::function<void(const std::string&)> out = {});
  std::string description() const override { return "ConsoleSink"; }
  Status write(int64_t epoch, const RecordBatchPtr& batch) override;
  Status finish_epoch(int64_t epoch) override;
  void abort_epoch(int64_t epoch) override { pending_.erase(epoch); }

 private:
  int64_t num_rows_;
  int truncate_;
  std::function<void(const std::string&)> out_;
  std::map<int64_t, std::vector<RecordBatchPtr>> pending_;  // by epoch: epochs may overlap
};

/// Calls a user function with each epoch's rows as one batch and the epoch id. The user's
/// function sees a replayed epoch again with the same id and deduplicates by it (the
/// documented contract of foreach_batch, as in Spark).
class ForeachBatchSink final : public Sink {
 public:
  using Function = std::function<Status(const RecordBatchPtr& batch, int64_t epoch_id)>;
  ForeachBatchSink(SchemaPtr schema, Function fn) : schema_(std::move(schema)), fn_(std::move(fn)) {}
  std::string description() const override { return "ForeachBatchSink"; }
  Status write(int64_t epoch, const RecordBatchPtr& batch) override;
  Status finish_epoch(int64_t epoch) override;
  void abort_epoch(int64_t epoch) override { pending_.erase(epoch); }
  bool idempotent() const override { return false; }

 private:
  SchemaPtr schema_;
  Function fn_;
  std::map<int64_t, std::vector<RecordBatchPtr>> pending_;  // by epoch: epochs may overlap
};

/// Discards every row (Spark's "noop" format): for benchmarks.
class NoopSink final : public Sink {
 public:
  std::string description() const override { return "NoopSink"; }
  Status write(int64_t, const RecordBatchPtr&) override { return Status::ok(); }
  Status finish_epoch(int64_t) override { return Status::ok(); }
};

}  // namespace sluice
