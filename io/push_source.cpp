#include "io/push_source.hpp"

#include "core/wire.hpp"

namespace sluice {

namespace {

// Reads the logged pushes [start, end) one by one.
class PushReader final : public PartitionReader {
 public:
  PushReader(const InputLog& log, int64_t start, int64_t end)
      : log_(log), position_(start), end_(end) {}

  Result<ReadFlow> next(RecordBatchPtr& out) override {
    while (position_ < end_) {
      SLUICE_ASSIGN_OR_RETURN(std::string bytes, log_.read(position_));
      auto batch = wire::decode_batch(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      if (!batch.ok()) {
        return batch.status().with_context("input log '" + log_.directory() + "' entry " +
                                           std::to_string(position_));
      }
      ++position_;
      if ((*batch)->num_rows() == 0) continue;
      out = std::move(batch).value();
      return ReadFlow::have_batch;
    }
    return ReadFlow::finished;
  }

  std::optional<int64_t> position() const override { return position_; }

 private:
  const InputLog& log_;
  int64_t position_;
  int64_t end_;
};

}  // namespace

Result<std::shared_ptr<PushSource>> PushSource::open(SchemaPtr schema, const std::string& directory,
                                                     const InputLogOptions& options,
                                                     std::string name) {
  if (!schema) return Status::invalid_argument(name + ": no schema given");
  SLUICE_ASSIGN_OR_RETURN(std::vector<uint8_t> header, wire::encode_schema(*schema));
  auto describe = [](std::string_view bytes) -> std::string {
    auto decoded =
        wire::decode_schema(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    return decoded.ok() ? "schema (" + (*decoded)->to_string() + ")" : "an unreadable schema";
  };
  auto log = InputLog::open(
      directory, std::string_view(reinterpret_cast<const char*>(header.data()), header.size()),
      options, describe);
  if (!log.ok()) return log.status().with_context(name);
  return std::shared_ptr<PushSource>(
      new PushSource(std::move(schema), std::move(log).value(), std::move(name)));
}

Status PushSource::check(const RecordBatchPtr& batch) const {
  if (!batch) return Status::invalid_argument("cannot push a null batch to " + name_);
  if (!(*batch->schema() == *schema_)) {
    return Status::invalid_argument("cannot push rows of schema (" + batch->schema()->to_string() +
                                    ") to " + name_ + " of schema (" + schema_->to_string() + ")");
  }
  return Status::ok();
}

Result<int64_t> PushSource::push(const RecordBatchPtr& batch) {
  return push_all({batch});
}

Result<int64_t> PushSource::push_all(const std::vector<RecordBatchPtr>& batches) {
  std::vector<std::vector<uint8_t>> encoded;
  std::vector<std::pair<std::string_view, int64_t>> entries;
  encoded.reserve(batches.size());
  for (const auto& batch : batches) {
    SLUICE_RETURN_NOT_OK(check(batch));
    SLUICE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, wire::encode_batch(*batch));
    encoded.push_back(std::move(bytes));
    entries.emplace_back(std::string_view(reinterpret_cast<const char*>(encoded.back().data()),
                                          encoded.back().size()),
                         batch->num_rows());
  }
  return log_->append_all(entries);
}

Result<int64_t> PushSource::push(const std::vector<std::vector<Value>>& rows) {
  auto batch = RecordBatch::from_rows(schema_, rows);
  if (!batch.ok()) return batch.status().with_context("pushing to " + name_);
  return push(*batch);
}

std::string PushSource::description() const {
  std::string columns;
  for (const auto& field : schema_->fields())
    columns += (columns.empty() ? "" : ",") + field.name;
  return name_ + "[" + columns + "]";
}

Result<SourceOffset> PushSource::latest_offset(const SourceOffset& start, const ReadLimit& limit) {
  const int64_t from = start.empty() ? log_->begin() : start[0];
  const int64_t max_rows = limit.everything      ? -1
                           : limit.max_rows >= 0 ? limit.max_rows
                                                 : max_rows_per_trigger_.load();
  SLUICE_ASSIGN_OR_RETURN(int64_t end, log_->end_within_rows(from, max_rows));
  return SourceOffset{end};
}

Result<std::unique_ptr<PartitionReader>> PushSource::open_reader(int partition, int64_t start,
                                                                 int64_t end) {
  if (partition != 0) {
    return Status::invalid_argument(name_ + " has one partition, asked for partition " +
                                    std::to_string(partition));
  }
  const int64_t begin = log_->begin();
  const int64_t last = log_->end();
  if (start < begin || end > last || start > end) {
    return Status::out_of_range(name_ + " holds pushes [" + std::to_string(begin) + ", " +
                                std::to_string(last) + ") in '" + log_->directory() +
                                "', asked for [" + std::to_string(start) + ", " +
                                std::to_string(end) + "): was the log given to another query?");
  }
  return std::unique_ptr<PartitionReader>(new PushReader(*log_, start, end));
}

Status PushSource::commit(const SourceOffset& end) {
  if (end.empty()) return Status::ok();
  return log_->trim(end[0]);
}

}  // namespace sluice
