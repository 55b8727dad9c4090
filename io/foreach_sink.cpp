#include "io/foreach_sink.hpp"

namespace sluice {

Result<Value> RowView::get(std::string_view name) const {
  SLUICE_ASSIGN_OR_RETURN(int index, schema().index_of(name));
  return get(index);
}

Status ForeachSink::write(int64_t epoch, const RecordBatchPtr& batch) {
  if (batch->num_rows() > 0) pending_[epoch].push_back(batch);
  return Status::ok();
}

Status ForeachSink::finish_epoch(int64_t epoch) {
  std::vector<RecordBatchPtr> batches = std::move(pending_[epoch]);
  pending_.erase(epoch);
  if (!writer_->open(0, epoch)) return Status::ok();
  Status status;
  for (const auto& batch : batches) {
    for (int64_t row = 0; row < batch->num_rows() && status.is_ok(); ++row) {
      status = writer_->process(RowView(*batch, row));
    }
  }
  writer_->close(status);
  return status.with_context("foreach writer at epoch " + std::to_string(epoch));
}

}  // namespace sluice
