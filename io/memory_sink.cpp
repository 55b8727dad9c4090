#include "io/memory_sink.hpp"

#include <cstdio>

#include "core/pretty_print.hpp"

namespace sluice {

Status MemorySink::write(int64_t epoch, const RecordBatchPtr& batch) {
  std::lock_guard lock(mutex_);
  pending_[epoch].push_back(batch);
  return Status::ok();
}

Status MemorySink::finish_epoch(int64_t epoch) {
  std::lock_guard lock(mutex_);
  std::vector<RecordBatchPtr> batches;
  if (auto it = pending_.find(epoch); it != pending_.end()) {
    batches = std::move(it->second);
    pending_.erase(it);
  }
  if (mode_ == OutputMode::Complete) finished_.clear();
  // Assignment, not append: a replayed epoch replaces its earlier rows.
  finished_[epoch] = std::move(batches);
  return Status::ok();
}

void MemorySink::abort_epoch(int64_t epoch) {
  std::lock_guard lock(mutex_);
  pending_.erase(epoch);
}

std::vector<std::vector<Value>> MemorySink::rows() const {
  std::vector<std::vector<Value>> rows;
  for (const auto& batch : batches()) {
    auto batch_rows = batch->to_rows();
    rows.insert(rows.end(), std::make_move_iterator(batch_rows.begin()),
                std::make_move_iterator(batch_rows.end()));
  }
  return rows;
}

std::vector<RecordBatchPtr> MemorySink::epoch_batches(int64_t epoch) const {
  std::lock_guard lock(mutex_);
  if (auto it = finished_.find(epoch); it != finished_.end()) return it->second;
  return {};
}

std::vector<std::vector<Value>> MemorySink::epoch_rows(int64_t epoch) const {
  std::vector<std::vector<Value>> rows;
  for (const auto& batch : epoch_batches(epoch)) {
    auto batch_rows = batch->to_rows();
    rows.insert(rows.end(), batch_rows.begin(), batch_rows.end());
  }
  return rows;
}

std::vector<RecordBatchPtr> MemorySink::batches() const {
  std::lock_guard lock(mutex_);
  std::vector<RecordBatchPtr> all;
  for (const auto& [epoch, batches] : finished_) all.insert(all.end(), batches.begin(), batches.end());
  return all;
}

std::vector<int64_t> MemorySink::epochs() const {
  std::lock_guard lock(mutex_);
  std::vector<int64_t> epochs;
  for (const auto& entry : finished_) epochs.push_back(entry.first);
  return epochs;
}

ConsoleSink::ConsoleSink(int64_t num_rows, int truncate, std::function<void(const std::string&)> out)
    : num_rows_(num_rows), truncate_(truncate), out_(std::move(out)) {
  if (!out_) {
    out_ = [](const std::string& text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
  }
}

Status ConsoleSink::write(int64_t epoch, const RecordBatchPtr& batch) {
  pending_[epoch].push_back(batch);
  return Status::ok();
}

Status ConsoleSink::finish_epoch(int64_t epoch) {
  std::string text = "-------------------------------------------\nBatch: " + std::to_string(epoch) +
                     "\n-------------------------------------------\n";
  std::vector<RecordBatchPtr> batches = std::move(pending_[epoch]);
  pending_.erase(epoch);
  if (!batches.empty()) {
    SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr all, RecordBatch::concatenate(batches));
    text += show(*all, ShowOptions{num_rows_, truncate_});
  }
  out_(text + "\n");
  return Status::ok();
}

Status ForeachBatchSink::write(int64_t epoch, const RecordBatchPtr& batch) {
  pending_[epoch].push_back(batch);
  return Status::ok();
}

Status ForeachBatchSink::finish_epoch(int64_t epoch) {
  std::vector<RecordBatchPtr> batches = std::move(pending_[epoch]);
  pending_.erase(epoch);
  RecordBatchPtr all = RecordBatch::make_empty(schema_);
  if (!batches.empty()) {
    SLUICE_ASSIGN_OR_RETURN(all, RecordBatch::concatenate(batches));
  }
  return fn_(all, epoch).with_context("foreach_batch function at epoch " + std::to_string(epoch));
}

}  // namespace sluice
