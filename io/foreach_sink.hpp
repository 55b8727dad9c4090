#pragma once

#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "core/record_batch.hpp"
#include "io/sink.hpp"

namespace sluice {

/// One row handed to ForeachWriter::process, read by column index or name. Valid only during
/// that call.
class RowView {
 public:
  RowView(const RecordBatch& batch, int64_t row) : batch_(batch), row_(row) {}
  const Schema& schema() const { return *batch_.schema(); }
  /// Returns the value of column `index` (null when the column is null in this row).
  Value get(int index) const { return batch_.column(index)->value_at(row_); }
  /// Returns the value of the named column; fails naming the column and the closest one.
  Result<Value> get(std::string_view name) const;

 private:
  const RecordBatch& batch_;
  int64_t row_;
};

/// A user's row-at-a-time writer (Spark's ForeachWriter). For each epoch the sink calls
/// `open(partition_id, epoch_id)`; when it returns true, `process` for each of the epoch's
/// rows, then always `close` with the first error (ok when none). A replayed epoch is opened
/// again with the same epoch id, so a writer that remembers the epochs it finished returns
/// false for them and stays exactly-once; one that does not is at-least-once. All calls come
/// from one thread, one epoch at a time.
class ForeachWriter {
 public:
  virtual ~ForeachWriter() = default;
  /// Returns whether to process this epoch's rows of this partition.
  virtual bool open(int64_t partition_id, int64_t epoch_id) = 0;
  /// Handles one row; an error stops the epoch (close gets it) and fails the query.
  virtual Status process(const RowView& row) = 0;
  /// Ends the epoch: `error` is ok, or the error that stopped it.
  virtual void close(const Status& error) = 0;
};

/// Hands each epoch's rows to a ForeachWriter once the epoch's input is complete. The sink
/// is one partition (partition id 0).
class ForeachSink final : public Sink {
 public:
  explicit ForeachSink(std::shared_ptr<ForeachWriter> writer) : writer_(std::move(writer)) {}
  std::string description() const override { return "ForeachSink"; }
  Status write(int64_t epoch, const RecordBatchPtr& batch) override;
  Status finish_epoch(int64_t epoch) override;
  void abort_epoch(int64_t epoch) override { pending_.erase(epoch); }

 private:
  std::shared_ptr<ForeachWriter> writer_;
  std::map<int64_t, std::vector<RecordBatchPtr>> pending_;  // by epoch: epochs may overlap
};

}  // namespace sluice
