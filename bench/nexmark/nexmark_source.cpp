#include "bench/nexmark/nexmark_source.hpp"

#include <charconv>

#include "core/clock.hpp"
#include "plan/logical_plan.hpp"
#include "plan/session_context.hpp"

namespace sluice::nexmark {

namespace {

Result<int64_t> parse_integer(const std::string& name, const std::string& text, int64_t minimum) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < minimum) {
    return Status::invalid_argument("option '" + name +
                                    "' of the Nexmark source must be an integer >= " +
                                    std::to_string(minimum) + ", got '" + text + "'");
  }
  return value;
}

class NexmarkReader final : public PartitionReader {
 public:
  NexmarkReader(std::shared_ptr<const Generator> generator, const SourceOptions& options,
                SchemaPtr schema, std::shared_ptr<Clock> clock, int partition, int64_t start,
                int64_t end)
      : generator_(std::move(generator)),
        clock_(std::move(clock)),
        kind_(options.kind),
        schema_(std::move(schema)),
        partition_(partition),
        partitions_(options.num_partitions),
        position_(start),
        end_(end),
        rows_per_batch_(options.rows_per_batch),
        processing_time_(options.processing_time_column) {}

  Result<ReadFlow> next(RecordBatchPtr& out) override {
    // A range may hold no event of this stream's kind (persons are 1 in 50): skip ahead.
    while (position_ < end_) {
      const int64_t stop = std::min(end_, position_ + rows_per_batch_);
      RecordBatchBuilder builder(schema_of(kind_));
      const int64_t rows = generator_->append_events(kind_, position_ * partitions_ + partition_,
                                                     stop * partitions_, partitions_, builder);
      position_ = stop;
      if (rows == 0) continue;
      SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr batch, builder.finish());
      if (processing_time_) {
        std::vector<ColumnPtr> columns = batch->columns();
        SLUICE_ASSIGN_OR_RETURN(
            ColumnPtr now,
            Column::make_constant(Type::Timestamp, Value(Timestamp{clock_->now_micros()}), rows));
        columns.push_back(std::move(now));
        batch = RecordBatch::make_unchecked(schema_, std::move(columns), rows);
      }
      out = std::move(batch);
      return ReadFlow::have_batch;
    }
    return ReadFlow::finished;
  }

  std::optional<int64_t> position() const override { return position_; }

 private:
  std::shared_ptr<const Generator> generator_;
  std::shared_ptr<Clock> clock_;
  EventKind kind_;
  SchemaPtr schema_;
  int partition_;
  int64_t partitions_;
  int64_t position_;
  int64_t end_;
  int64_t rows_per_batch_;
  bool processing_time_;
};

}  // namespace

Result<SourceOptions> SourceOptions::parse(const std::map<std::string, std::string>& options) {
  SourceOptions parsed;
  GeneratorConfig& g = parsed.generator;
  for (const auto& [name, value] : options) {
    auto integer = [&, &name = name, &value = value](int64_t minimum) {
      return parse_integer(name, value, minimum);
    };
    auto small = [&](int& target, int64_t minimum) -> Status {
      SLUICE_ASSIGN_OR_RETURN(int64_t v, integer(minimum));
      if (v > 1'000'000'000)
        return Status::invalid_argument("option '" + name +
                                        "' of the Nexmark source is too large: " + value);
      target = static_cast<int>(v);
      return Status::ok();
    };
    if (name == "stream") {
      SLUICE_ASSIGN_OR_RETURN(parsed.kind, parse_event_kind(value));
    } else if (name == "seed") {
      SLUICE_ASSIGN_OR_RETURN(int64_t seed, integer(0));
      g.seed = static_cast<uint64_t>(seed);
    } else if (name == "firstEventRate") {
      SLUICE_ASSIGN_OR_RETURN(g.first_event_rate, integer(1));
    } else if (name == "baseTime") {
      SLUICE_ASSIGN_OR_RETURN(g.base_time_ms, integer(0));
    } else if (name == "maxEvents") {
      SLUICE_ASSIGN_OR_RETURN(parsed.max_events, integer(0));
    } else if (name == "eventsPerSecond") {
      SLUICE_ASSIGN_OR_RETURN(parsed.events_per_second, integer(0));
    } else if (name == "maxEventsPerTrigger") {
      SLUICE_ASSIGN_OR_RETURN(parsed.max_events_per_trigger, integer(1));
    } else if (name == "rowsPerBatch") {
      SLUICE_ASSIGN_OR_RETURN(parsed.rows_per_batch, integer(1));
    } else if (name == "outOfOrderGroupSize") {
      SLUICE_ASSIGN_OR_RETURN(g.out_of_order_group_size, integer(1));
    } else if (name == "numPartitions") {
      SLUICE_RETURN_NOT_OK(small(parsed.num_partitions, 1));
    } else if (name == "hotAuctionRatio") {
      SLUICE_RETURN_NOT_OK(small(g.hot_auction_ratio, 1));
    } else if (name == "hotSellersRatio") {
      SLUICE_RETURN_NOT_OK(small(g.hot_sellers_ratio, 1));
    } else if (name == "hotBiddersRatio") {
      SLUICE_RETURN_NOT_OK(small(g.hot_bidders_ratio, 1));
    } else if (name == "avgPersonByteSize") {
      SLUICE_RETURN_NOT_OK(small(g.avg_person_byte_size, 0));
    } else if (name == "avgAuctionByteSize") {
      SLUICE_RETURN_NOT_OK(small(g.avg_auction_byte_size, 0));
    } else if (name == "avgBidByteSize") {
      SLUICE_RETURN_NOT_OK(small(g.avg_bid_byte_size, 0));
    } else if (name == "processingTimeColumn") {
      if (value != "true" && value != "false") {
        return Status::invalid_argument(
            "option 'processingTimeColumn' of the Nexmark source must be true or false, got '" +
            value + "'");
      }
      parsed.processing_time_column = value == "true";
    } else {
      return Status::invalid_argument("unknown option '" + name +
                                      "' for the Nexmark source (allowed: stream, seed, "
                                      "firstEventRate, baseTime, maxEvents, eventsPerSecond, "
                                      "maxEventsPerTrigger, rowsPerBatch, outOfOrderGroupSize, "
                                      "numPartitions, processingTimeColumn, "
                                      "hotAuctionRatio, hotSellersRatio, hotBiddersRatio, "
                                      "avgPersonByteSize, avgAuctionByteSize, "
                                      "avgBidByteSize)");
    }
  }
  SLUICE_RETURN_NOT_OK(g.validate());
  return parsed;
}

Result<std::shared_ptr<NexmarkSource>> NexmarkSource::make(SourceOptions options,
                                                           std::shared_ptr<Clock> clock) {
  SLUICE_ASSIGN_OR_RETURN(auto generator, Generator::make(options.generator));
  if (options.num_partitions < 1) {
    return Status::invalid_argument("option 'numPartitions' of the Nexmark source must be >= 1");
  }
  return std::shared_ptr<NexmarkSource>(
      new NexmarkSource(std::move(options), std::move(generator), std::move(clock)));
}

NexmarkSource::NexmarkSource(SourceOptions options, std::shared_ptr<const Generator> generator,
                             std::shared_ptr<Clock> clock)
    : options_(std::move(options)),
      generator_(std::move(generator)),
      clock_(std::move(clock)),
      start_micros_(clock_->now_micros()) {
  std::vector<Field> fields = schema_of(options_.kind)->fields();
  if (options_.processing_time_column) fields.push_back({"p_time", Type::Timestamp, false});
  schema_ = Schema::make(std::move(fields)).value();
}

std::string NexmarkSource::description() const {
  return "Nexmark[stream=" + std::string(event_kind_name(options_.kind)) +
         ", seed=" + std::to_string(options_.generator.seed) +
         ", numPartitions=" + std::to_string(options_.num_partitions) + "]";
}

SourceOffset NexmarkSource::initial_offset() const {
  return SourceOffset(static_cast<size_t>(options_.num_partitions), 0);
}

int64_t NexmarkSource::events_in(const SourceOffset& offset) {
  int64_t total = 0;
  for (int64_t position : offset)
    total += position;
  return total;
}

Result<SourceOffset> NexmarkSource::latest_offset(const SourceOffset& start,
                                                  const ReadLimit& limit) {
  const int64_t started = events_in(start);
  int64_t total = options_.max_events > 0 ? options_.max_events : INT64_MAX;
  if (options_.events_per_second > 0) {
    const double elapsed = static_cast<double>(clock_->now_micros() - start_micros_) / 1e6;
    total = std::min(
        total, static_cast<int64_t>(elapsed * static_cast<double>(options_.events_per_second)));
  }
  if (!limit.everything) {
    const int64_t cap = limit.max_rows >= 0 ? limit.max_rows : options_.max_events_per_trigger;
    total = std::min(total, started + cap);
  } else if (total == INT64_MAX) {
    total = started + options_.max_events_per_trigger;  // an endless stream has no "everything"
  }
  const int64_t n = options_.num_partitions;
  SourceOffset offset(static_cast<size_t>(n));
  for (int64_t p = 0; p < n; ++p) {
    const int64_t count = total > p ? (total - p + n - 1) / n : 0;
    const auto index = static_cast<size_t>(p);
    offset[index] = std::max(count, index < start.size() ? start[index] : 0);
  }
  return offset;
}

Result<std::unique_ptr<PartitionReader>> NexmarkSource::open_reader(int partition, int64_t start,
                                                                    int64_t end) {
  if (partition < 0 || partition >= options_.num_partitions) {
    return Status::invalid_argument(
        "Nexmark source has " + std::to_string(options_.num_partitions) +
        " partitions, asked for partition " + std::to_string(partition));
  }
  return std::unique_ptr<PartitionReader>(
      new NexmarkReader(generator_, options_, schema_, clock_, partition, start, end));
}

std::string NexmarkSource::save_metadata() const {
  return std::to_string(start_micros_);
}

Status NexmarkSource::restore_metadata(std::string_view saved) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(saved.data(), saved.data() + saved.size(), value);
  if (error != std::errc() || end != saved.data() + saved.size()) {
    return Status::corrupt("Nexmark source start time in the checkpoint is '" + std::string(saved) +
                           "'");
  }
  start_micros_ = value;
  return Status::ok();
}

DataFrame read_nexmark(SessionContext& session, const std::map<std::string, std::string>& options,
                       std::shared_ptr<NexmarkSource>* created) {
  auto parsed = SourceOptions::parse(options);
  if (!parsed.ok()) return DataFrame(session.state(), parsed.status());
  auto source = NexmarkSource::make(*parsed, session.state()->clock());
  if (!source.ok()) return DataFrame(session.state(), source.status());
  auto spec = std::make_shared<SourceSpec>();
  spec->format = "nexmark";
  spec->options = options;
  spec->schema = (*source)->schema();
  if (created != nullptr) *created = *source;
  std::shared_ptr<Source> shared = *source;
  spec->create = [shared]() -> Result<std::shared_ptr<Source>> { return shared; };
  return DataFrame(session.state(), LogicalPlan::make_source(spec));
}

}  // namespace sluice::nexmark
