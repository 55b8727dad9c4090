#include "io/memory_source.hpp"

#include <algorithm>

namespace sluice {

namespace {

// Replays a list of batches restricted to rows [start, end), as zero-copy slices.
class MemoryReader final : public PartitionReader {
 public:
  MemoryReader(std::vector<RecordBatchPtr> batches, std::vector<int64_t> starts, int64_t start,
               int64_t end)
      : batches_(std::move(batches)), starts_(std::move(starts)), position_(start), end_(end) {}

  Result<ReadFlow> next(RecordBatchPtr& out) override {
    while (position_ < end_) {
      auto it = std::upper_bound(starts_.begin(), starts_.end(), position_);
      const size_t index = static_cast<size_t>(it - starts_.begin()) - 1;
      const RecordBatchPtr& batch = batches_[index];
      const int64_t offset = position_ - starts_[index];
      const int64_t length = std::min(batch->num_rows() - offset, end_ - position_);
      position_ += length;
      if (length <= 0) continue;
      out = offset == 0 && length == batch->num_rows() ? batch : batch->slice(offset, length);
      return ReadFlow::have_batch;
    }
    return ReadFlow::finished;
  }

  std::optional<int64_t> position() const override { return position_; }

 private:
  std::vector<RecordBatchPtr> batches_;
  std::vector<int64_t> starts_;
  int64_t position_;
  int64_t end_;
};

}  // namespace

MemorySource::MemorySource(SchemaPtr schema, std::string name)
    : schema_(std::move(schema)), name_(std::move(name)) {}

Result<int64_t> MemorySource::add(RecordBatchPtr batch) {
  if (!(*batch->schema() == *schema_)) {
    return Status::invalid_argument("cannot add rows of schema (" + batch->schema()->to_string() +
                                    ") to " + name_ + " of schema (" + schema_->to_string() + ")");
  }
  std::lock_guard lock(mutex_);
  if (batch->num_rows() > 0) {
    starts_.push_back(size_);
    size_ += batch->num_rows();
    batches_.push_back(std::move(batch));
  }
  return size_;
}

int64_t MemorySource::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

std::string MemorySource::description() const {
  std::string columns;
  for (const auto& field : schema_->fields()) columns += (columns.empty() ? "" : ",") + field.name;
  return name_ + "[" + columns + "]";
}

Result<SourceOffset> MemorySource::latest_offset(const SourceOffset& start,
                                                 const ReadLimit& limit) {
  const int64_t available = size();
  const int64_t cap = limit.everything ? -1 : limit.max_rows >= 0 ? limit.max_rows : max_rows_per_trigger_.load();
  if (cap >= 0 && !start.empty()) return SourceOffset{std::min(available, start[0] + cap)};
  return SourceOffset{available};
}

Result<std::unique_ptr<PartitionReader>> MemorySource::open_reader(int partition, int64_t start,
                                                                   int64_t end) {
  if (partition != 0) {
    return Status::invalid_argument(name_ + " has one partition, asked for partition " +
                                    std::to_string(partition));
  }
  std::lock_guard lock(mutex_);
  if (start < 0 || end > size_ || start > end) {
    return Status::out_of_range(name_ + " holds rows [0, " + std::to_string(size_) +
                                "), asked for [" + std::to_string(start) + ", " +
                                std::to_string(end) + ")");
  }
  return std::unique_ptr<PartitionReader>(new MemoryReader(batches_, starts_, start, end));
}

}  // namespace sluice
