#pragma once

#include <map>

#include "core/clock.hpp"
#include "io/source.hpp"

namespace sluice {

/// Options of the rate source, with Spark's names and meaning.
struct RateSourceOptions {
  int64_t rows_per_second = 1;
  int64_t ramp_up_seconds = 0;
  int num_partitions = 1;
  int64_t rows_per_batch = 65536;  ///< largest batch a reader produces

  /// Parses `rowsPerSecond`, `rampUpTime` (seconds, "10" or "10s"), `numPartitions`; an unknown
  /// option or a bad value is an error naming it and what is allowed.
  static Result<RateSourceOptions> parse(const std::map<std::string, std::string>& options);
};

/// Generates rows (timestamp TIMESTAMP, value BIGINT) at a fixed rate. Deterministic: value v
/// belongs to partition v % numPartitions and carries the timestamp at which the rate reached
/// it, relative to the start time kept in the checkpoint; replaying a range gives the same rows.
class RateSource final : public Source {
 public:
  RateSource(RateSourceOptions options, std::shared_ptr<Clock> clock);

  const SchemaPtr& schema() const override { return schema_; }
  std::string description() const override;
  int num_partitions() const override { return options_.num_partitions; }
  bool replayable() const override { return true; }
  SourceOffset initial_offset() const override;
  Result<SourceOffset> latest_offset(const SourceOffset& start, const ReadLimit& limit) override;
  Result<std::unique_ptr<PartitionReader>> open_reader(int partition, int64_t start,
                                                       int64_t end) override;
  std::string save_metadata() const override;
  Status restore_metadata(std::string_view saved) override;
  bool prune_columns(const std::vector<std::string>& columns) override;

  /// Returns the total number of rows the rate reaches `elapsed_micros` after the start.
  int64_t rows_at(int64_t elapsed_micros) const;
  /// Returns the microseconds after the start at which the rate reaches row `value`.
  int64_t elapsed_for(int64_t value) const;

 private:
  RateSourceOptions options_;
  std::shared_ptr<Clock> clock_;
  SchemaPtr schema_;
  int64_t start_micros_;
  bool emit_timestamp_ = true;
  bool emit_value_ = true;
};

}  // namespace sluice
