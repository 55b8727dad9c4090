#include "actors/state_reader.hpp"

#include <charconv>

namespace sluice::actors {

namespace {

class CheckpointStateReader final : public StateReader {
 public:
  CheckpointStateReader(std::shared_ptr<CheckpointStore> store, std::string table)
      : store_(std::move(store)), table_(std::move(table)) {}

  Result<std::optional<std::string>> get(std::string_view key) const override {
    return store_->get_state(table_, key);
  }

  Status scan(std::string_view begin, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    // The store visits in key order from the first key of the table; skip to `begin` and stop
    // at `end`. A prefix scan narrows the walk when the bounds share a prefix.
    size_t shared = 0;
    while (!end.empty() && shared < begin.size() && shared < end.size() && begin[shared] == end[shared]) ++shared;
    const std::string_view prefix = end.empty() ? std::string_view() : begin.substr(0, shared);
    return store_->scan_state_prefix(table_, prefix, [&](std::string_view key, std::string_view value) {
      if (key < begin) return true;
      if (!end.empty() && key >= end) return false;
      return fn(key, value);
    });
  }

  Result<std::optional<int64_t>> partition_rows(int partition, int num_partitions) const override {
    SLUICE_ASSIGN_OR_RETURN(auto stored,
                            store_->get_state(partition_rows_table(table_), std::to_string(partition)));
    if (!stored) return std::optional<int64_t>();
    int recorded_partitions = 0;
    int64_t rows = 0;
    const char* begin = stored->data();
    const char* end = begin + stored->size();
    auto [middle, first_error] = std::from_chars(begin, end, recorded_partitions);
    if (first_error != std::errc() || middle == end || *middle != ' ') {
      return Status::corrupt("row count of partition " + std::to_string(partition) + " of " + table_ +
                             " is malformed: '" + *stored + "'");
    }
    auto [last, second_error] = std::from_chars(middle + 1, end, rows);
    if (second_error != std::errc() || last != end || rows < 0) {
      return Status::corrupt("row count of partition " + std::to_string(partition) + " of " + table_ +
                             " is malformed: '" + *stored + "'");
    }
    if (recorded_partitions != num_partitions) return std::optional<int64_t>();
    return std::optional<int64_t>(rows);
  }

 private:
  std::shared_ptr<CheckpointStore> store_;
  std::string table_;
};

class SourceStateTableReader final : public SourceStateReader {
 public:
  SourceStateTableReader(std::shared_ptr<CheckpointStore> store, std::string table)
      : store_(std::move(store)), table_(std::move(table)) {}
  Result<std::optional<std::string>> get(std::string_view key) const override {
    return store_->get_state(table_, key);
  }
  Status scan_prefix(std::string_view prefix,
                     const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    return store_->scan_state_prefix(table_, prefix, fn);
  }

 private:
  std::shared_ptr<CheckpointStore> store_;
  std::string table_;
};

}  // namespace

std::shared_ptr<const SourceStateReader> make_source_state_reader(std::shared_ptr<CheckpointStore> store,
                                                                  std::string table) {
  return std::make_shared<SourceStateTableReader>(std::move(store), std::move(table));
}

std::shared_ptr<const StateReader> make_state_reader(std::shared_ptr<CheckpointStore> store,
                                                     std::string table) {
  return std::make_shared<CheckpointStateReader>(std::move(store), std::move(table));
}

}  // namespace sluice::actors
