#pragma once

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "io/delta_sink.hpp"

namespace sluice::testing {

using Rows = std::vector<std::vector<Value>>;

/// Returns the schema of the Delta test tables: id, name (nullable), day (a partition key).
inline SchemaPtr delta_test_schema() {
  return Schema::make({{"id", Type::Int64}, {"name", Type::String}, {"day", Type::Int64}}).value();
}

inline Rows sorted(Rows rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

/// Returns 0-39 rows of the test schema with fresh ids from next_id.
inline Rows random_delta_rows(std::mt19937_64& random, int64_t& next_id) {
  Rows rows;
  const int count = static_cast<int>(random() % 40);
  for (int i = 0; i < count; ++i) {
    const int64_t id = next_id++;
    rows.push_back({Value(id),
                    random() % 6 == 0 ? Value() : Value("n" + std::to_string(random() % 100)),
                    Value(static_cast<int64_t>(random() % 3))});
  }
  return rows;
}

/// Writes epochs straight through the delta sink (query id "writer") and records, per table
/// version, the rows a reader of that version must see: the reference for time travel.
class VersionedDeltaWriter {
 public:
  VersionedDeltaWriter(std::string table, OutputMode mode,
                       std::vector<std::string> partition_by = {})
      : table_(std::move(table)), mode_(mode) {
    DeltaSinkOptions options;
    options.path = table_;
    options.partition_by = std::move(partition_by);
    options.sync = false;
    sink_ = DeltaSink::make(options, delta_test_schema(), mode).value();
    BOOST_REQUIRE(sink_->attach({"writer", ""}).is_ok());
    expected_[sink_->table_version()] = {};
  }

  void write_epoch(const Rows& rows) {
    const int64_t epoch = epoch_++;
    if (!rows.empty()) {
      BOOST_REQUIRE(
          sink_->write(epoch, RecordBatch::from_rows(delta_test_schema(), rows).value()).is_ok());
    }
    const Status finished = sink_->finish_epoch(epoch);
    BOOST_REQUIRE_MESSAGE(finished.is_ok(), finished.to_string());
    if (mode_ == OutputMode::Complete) {
      current_ = rows;
    } else {
      current_.insert(current_.end(), rows.begin(), rows.end());
    }
    expected_[sink_->table_version()] = sorted(current_);
  }

  const std::map<int64_t, Rows>& expected() const { return expected_; }
  int64_t epochs() const { return epoch_; }
  DeltaSink& sink() { return *sink_; }

 private:
  std::string table_;
  OutputMode mode_;
  std::shared_ptr<DeltaSink> sink_;
  int64_t epoch_ = 0;
  Rows current_;
  std::map<int64_t, Rows> expected_;
};

}  // namespace sluice::testing
