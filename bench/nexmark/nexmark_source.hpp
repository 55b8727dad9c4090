#pragma once

#include <map>

#include "bench/nexmark/generator.hpp"
#include "core/clock.hpp"
#include "io/source.hpp"
#include "plan/dataframe.hpp"

namespace sluice::nexmark {

/// Options of a Nexmark stream (names as `option(...)` takes them).
struct SourceOptions {
  GeneratorConfig generator;
  EventKind kind = EventKind::bid;  ///< `stream`
  int num_partitions = 1;         ///< `numPartitions`: partition p reads event numbers ≡ p mod N
  int64_t max_events = 0;         ///< `maxEvents`: 0 = unbounded
  int64_t events_per_second = 0;  ///< `eventsPerSecond`: wall-clock pace, 0 = as fast as read
  int64_t max_events_per_trigger =
      4'000'000;                    ///< `maxEventsPerTrigger` (all streams' events count)
  int64_t rows_per_batch = 16'384;  ///< `rowsPerBatch`: event numbers per produced batch
  /// `processingTimeColumn`: adds `p_time`, the wall-clock time the reader produced the row
  /// (Flink's PROCTIME(); not replayable by nature).
  bool processing_time_column = false;

  /// Parses the options: `stream`, `seed`, `firstEventRate`, `baseTime` (ms), `maxEvents`,
  /// `eventsPerSecond`, `maxEventsPerTrigger`, `numPartitions`, `rowsPerBatch`,
  /// `outOfOrderGroupSize`, `processingTimeColumn`, `hotAuctionRatio`, `hotSellersRatio`,
  /// `hotBiddersRatio`, `avgPersonByteSize`, `avgAuctionByteSize`, `avgBidByteSize`. An
  /// unknown option or a bad value is an error naming it.
  static Result<SourceOptions> parse(const std::map<std::string, std::string>& options);
};

/// One of the three Nexmark streams, generated in process as columnar batches. Offsets are
/// event numbers (per partition: how many of its numbers were read), counted over all events,
/// so the person, auction and bid streams of one configuration advance together and any range
/// replays identically. Planning is called by one thread; open_reader is thread-safe.
class NexmarkSource final : public Source {
 public:
  /// Creates the source; `clock` paces eventsPerSecond and stamps p_time.
  static Result<std::shared_ptr<NexmarkSource>> make(SourceOptions options,
                                                     std::shared_ptr<Clock> clock);

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

  const Generator& generator() const { return *generator_; }
  const SourceOptions& options() const { return options_; }
  /// Returns the wall-clock time (µs) at which the source started pacing (eventsPerSecond).
  int64_t start_micros() const { return start_micros_; }
  /// Returns the total of event numbers covered by an offset (all partitions).
  static int64_t events_in(const SourceOffset& offset);

 private:
  NexmarkSource(SourceOptions options, std::shared_ptr<const Generator> generator,
                std::shared_ptr<Clock> clock);
  SourceOptions options_;
  std::shared_ptr<const Generator> generator_;
  std::shared_ptr<Clock> clock_;
  SchemaPtr schema_;
  int64_t start_micros_;
};

/// Returns a DataFrame reading a Nexmark stream made from options (see SourceOptions::parse),
/// on the session's clock; errors surface through the DataFrame's status and at start().
/// `created`, when given, receives the source (benchmarks read its pacing start).
DataFrame read_nexmark(SessionContext& session, const std::map<std::string, std::string>& options,
                       std::shared_ptr<NexmarkSource>* created = nullptr);

}  // namespace sluice::nexmark
