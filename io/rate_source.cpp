#include "io/rate_source.hpp"

#include <charconv>
#include <cmath>

namespace sluice {

namespace {

Result<int64_t> parse_positive(const std::string& name, std::string text, int64_t minimum) {
  if (name == "rampUpTime" && !text.empty() && text.back() == 's') text.pop_back();
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < minimum) {
    return Status::invalid_argument("option '" + name + "' of the rate source must be an integer >= " +
                                    std::to_string(minimum) + ", got '" + text + "'");
  }
  return value;
}

SchemaPtr full_schema() {
  return Schema::make({{"timestamp", Type::Timestamp, false}, {"value", Type::Int64, false}}).value();
}

class RateReader final : public PartitionReader {
 public:
  RateReader(const RateSource& source, SchemaPtr schema, int partition, int partitions,
             int64_t start, int64_t end, int64_t rows_per_batch, int64_t start_micros,
             bool emit_timestamp, bool emit_value)
      : source_(source),
        schema_(std::move(schema)),
        partition_(partition),
        partitions_(partitions),
        position_(start),
        end_(end),
        rows_per_batch_(rows_per_batch),
        start_micros_(start_micros),
        emit_timestamp_(emit_timestamp),
        emit_value_(emit_value) {}

  Result<ReadFlow> next(RecordBatchPtr& out) override {
    if (position_ >= end_) return ReadFlow::finished;
    const int64_t rows = std::min(rows_per_batch_, end_ - position_);
    std::vector<ColumnPtr> columns;
    auto values = Buffer::allocate(rows * 8);
    int64_t* v = values->mutable_as<int64_t>();
    for (int64_t i = 0; i < rows; ++i) v[i] = (position_ + i) * partitions_ + partition_;
    if (emit_timestamp_) {
      auto times = Buffer::allocate(rows * 8);
      int64_t* t = times->mutable_as<int64_t>();
      for (int64_t i = 0; i < rows; ++i) t[i] = start_micros_ + source_.elapsed_for(v[i]);
      columns.push_back(Column::make_unchecked(Type::Timestamp, rows, std::move(times), nullptr));
    }
    if (emit_value_) columns.push_back(Column::make_unchecked(Type::Int64, rows, std::move(values), nullptr));
    position_ += rows;
    out = RecordBatch::make_unchecked(schema_, std::move(columns), rows);
    return ReadFlow::have_batch;
  }

  std::optional<int64_t> position() const override { return position_; }

 private:
  const RateSource& source_;
  SchemaPtr schema_;
  int partition_;
  int partitions_;
  int64_t position_;
  int64_t end_;
  int64_t rows_per_batch_;
  int64_t start_micros_;
  bool emit_timestamp_;
  bool emit_value_;
};

}  // namespace

Result<RateSourceOptions> RateSourceOptions::parse(const std::map<std::string, std::string>& options) {
  RateSourceOptions parsed;
  for (const auto& [name, value] : options) {
    if (name == "rowsPerSecond") {
      SLUICE_ASSIGN_OR_RETURN(parsed.rows_per_second, parse_positive(name, value, 1));
    } else if (name == "rampUpTime") {
      SLUICE_ASSIGN_OR_RETURN(parsed.ramp_up_seconds, parse_positive(name, value, 0));
    } else if (name == "numPartitions") {
      SLUICE_ASSIGN_OR_RETURN(int64_t partitions, parse_positive(name, value, 1));
      parsed.num_partitions = static_cast<int>(partitions);
    } else if (name == "rowsPerBatch") {
      SLUICE_ASSIGN_OR_RETURN(parsed.rows_per_batch, parse_positive(name, value, 1));
    } else {
      return Status::invalid_argument("unknown option '" + name +
                                      "' for the rate source (allowed: rowsPerSecond, rampUpTime, "
                                      "numPartitions, rowsPerBatch)");
    }
  }
  return parsed;
}

RateSource::RateSource(RateSourceOptions options, std::shared_ptr<Clock> clock)
    : options_(options), clock_(std::move(clock)), start_micros_(clock_->now_micros()) {
  schema_ = full_schema();
}

std::string RateSource::description() const {
  return "RateStream[rowsPerSecond=" + std::to_string(options_.rows_per_second) +
         ", rampUpTimeSeconds=" + std::to_string(options_.ramp_up_seconds) +
         ", numPartitions=" + std::to_string(options_.num_partitions) + "]";
}

SourceOffset RateSource::initial_offset() const {
  return SourceOffset(static_cast<size_t>(options_.num_partitions), 0);
}

int64_t RateSource::rows_at(int64_t elapsed_micros) const {
  if (elapsed_micros <= 0) return 0;
  const double seconds = static_cast<double>(elapsed_micros) / 1e6;
  const double rate = static_cast<double>(options_.rows_per_second);
  const double ramp = static_cast<double>(options_.ramp_up_seconds);
  // During ramp-up the rate grows linearly from 0, so rows grow with the square of time.
  const double rows = seconds < ramp ? rate * seconds * seconds / (2 * ramp)
                                     : rate * (seconds - ramp / 2);
  return static_cast<int64_t>(std::floor(rows + 1e-9));
}

int64_t RateSource::elapsed_for(int64_t value) const {
  const double rate = static_cast<double>(options_.rows_per_second);
  const double ramp = static_cast<double>(options_.ramp_up_seconds);
  const double v = static_cast<double>(value);
  const double seconds = v < rate * ramp / 2 ? std::sqrt(2 * ramp * v / rate) : v / rate + ramp / 2;
  return static_cast<int64_t>(std::llround(seconds * 1e6));
}

Result<SourceOffset> RateSource::latest_offset(const SourceOffset& start, const ReadLimit& limit) {
  int64_t total = rows_at(clock_->now_micros() - start_micros_);
  if (limit.max_rows >= 0) {
    int64_t started = 0;
    for (int64_t position : start) started += position;
    total = std::min(total, started + limit.max_rows);
  }
  const int64_t n = options_.num_partitions;
  SourceOffset offset(static_cast<size_t>(n));
  for (int64_t p = 0; p < n; ++p) {
    // Rows below `total` whose value falls in partition p, never moving backwards.
    const int64_t count = total > p ? (total - p + n - 1) / n : 0;
    offset[static_cast<size_t>(p)] =
        std::max(count, start.size() > static_cast<size_t>(p) ? start[static_cast<size_t>(p)] : 0);
  }
  return offset;
}

Result<std::unique_ptr<PartitionReader>> RateSource::open_reader(int partition, int64_t start,
                                                                 int64_t end) {
  if (partition < 0 || partition >= options_.num_partitions) {
    return Status::invalid_argument("rate source has " + std::to_string(options_.num_partitions) +
                                    " partitions, asked for partition " + std::to_string(partition));
  }
  return std::unique_ptr<PartitionReader>(new RateReader(
      *this, schema_, partition, options_.num_partitions, start, end, options_.rows_per_batch,
      start_micros_, emit_timestamp_, emit_value_));
}

std::string RateSource::save_metadata() const { return std::to_string(start_micros_); }

Status RateSource::restore_metadata(std::string_view saved) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(saved.data(), saved.data() + saved.size(), value);
  if (error != std::errc() || end != saved.data() + saved.size()) {
    return Status::corrupt("rate source start time in the checkpoint is '" + std::string(saved) + "'");
  }
  start_micros_ = value;
  return Status::ok();
}

bool RateSource::prune_columns(const std::vector<std::string>& columns) {
  std::vector<Field> fields;
  emit_timestamp_ = emit_value_ = false;
  const SchemaPtr full = full_schema();
  for (const auto& field : full->fields()) {
    for (const auto& name : columns) {
      if (name == field.name) {
        fields.push_back(field);
        (field.name == "timestamp" ? emit_timestamp_ : emit_value_) = true;
      }
    }
  }
  schema_ = Schema::make(std::move(fields)).value();
  return true;
}

}  // namespace sluice
