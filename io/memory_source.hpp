#pragma once

#include <atomic>
#include <mutex>

#include "io/source.hpp"

namespace sluice {

/// Holds rows added from code (`MemoryStream`) as a replayable, single-partition source whose
/// offsets are row positions. `add` may be called from any thread while a query reads.
class MemorySource final : public Source {
 public:
  explicit MemorySource(SchemaPtr schema, std::string name = "MemoryStream");

  /// Appends a batch; fails when its schema differs. Returns the offset after the batch.
  Result<int64_t> add(RecordBatchPtr batch);
  /// Returns the number of rows added so far.
  int64_t size() const;
  /// Caps each epoch at `rows` rows (the rate limit AvailableNow respects); -1 = no cap.
  void set_max_rows_per_trigger(int64_t rows) { max_rows_per_trigger_ = rows; }

  const SchemaPtr& schema() const override { return schema_; }
  std::string description() const override;
  int num_partitions() const override { return 1; }
  bool replayable() const override { return true; }
  SourceOffset initial_offset() const override { return {0}; }
  Result<SourceOffset> latest_offset(const SourceOffset& start, const ReadLimit& limit) override;
  Result<std::unique_ptr<PartitionReader>> open_reader(int partition, int64_t start,
                                                       int64_t end) override;

 private:
  SchemaPtr schema_;
  std::string name_;
  mutable std::mutex mutex_;
  std::vector<RecordBatchPtr> batches_;
  std::vector<int64_t> starts_;  // row position of each batch's first row
  int64_t size_ = 0;
  std::atomic<int64_t> max_rows_per_trigger_{-1};
};

}  // namespace sluice
