#include "monitoring/query_monitor.hpp"

#include <algorithm>
#include <cstdio>

#include "io/source.hpp"

namespace sluice {

void QueryMonitor::attach(StreamingQueryManager& streams) {
  // Hold the lock while subscribing and reading the reports already made: a report published
  // meanwhile is either in that history or delivered to on_progress after we let go, and
  // take() keeps each batch once.
  std::lock_guard lock(mutex_);
  if (streams_ != nullptr) return;
  streams_ = &streams;
  streams.add_listener(shared_from_this());
  for (const auto& query : streams.active()) {
    record(query.id(), query.run_id(), query.name()).plan = query.explain();
    for (const auto& progress : query.recent_progress())
      take(progress);
  }
}

void QueryMonitor::detach() {
  StreamingQueryManager* streams = nullptr;
  {
    std::lock_guard lock(mutex_);
    std::swap(streams, streams_);
  }
  if (streams != nullptr) streams->remove_listener(shared_from_this());
}

std::vector<QueryTotals> QueryMonitor::snapshot(bool with_history) const {
  std::lock_guard lock(mutex_);
  std::vector<QueryTotals> result;
  result.reserve(queries_.size());
  for (const auto& query : queries_) {
    if (with_history) {
      result.push_back(*query);
    } else {
      // Copy everything but the history, which only the JSON API needs.
      QueryTotals copy;
      copy.id = query->id;
      copy.run_id = query->run_id;
      copy.name = query->name;
      copy.active = query->active;
      copy.error = query->error;
      copy.plan = query->plan;
      copy.runs = query->runs;
      copy.failures = query->failures;
      copy.epochs = query->epochs;
      copy.last_batch_id = query->last_batch_id;
      copy.input_rows_total = query->input_rows_total;
      copy.sink_rows_total = query->sink_rows_total;
      copy.phase_ms_total = query->phase_ms_total;
      copy.epoch_ms_total = query->epoch_ms_total;
      copy.epoch_duration_buckets = query->epoch_duration_buckets;
      copy.sources = query->sources;
      copy.operators = query->operators;
      if (!query->history.empty()) copy.history.push_back(query->history.back());
      result.push_back(std::move(copy));
    }
  }
  return result;
}

std::optional<QueryTotals> QueryMonitor::query(const std::string& id) const {
  std::lock_guard lock(mutex_);
  for (const auto& query : queries_) {
    if (query->id == id) return *query;
  }
  return std::nullopt;
}

void QueryMonitor::on_started(const std::string& id, const std::string& run_id,
                              const std::string& name) {
  // A report, or even the end, of this run may have come first (a fast first epoch); record()
  // marks a run active only when it first hears of it, so a late start does not revive it.
  std::lock_guard lock(mutex_);
  auto& query = record(id, run_id, name);
  // The manager calls listeners outside its lock, and attach() takes the locks in this order
  // (ours, then the manager's), so asking it for the handle here cannot deadlock. A run that
  // already ended is gone from the manager: its plan stays unknown.
  if (streams_ != nullptr && query.run_id == run_id) {
    if (auto handle = streams_->get(id); handle && handle->run_id() == run_id)
      query.plan = handle->explain();
  }
}

void QueryMonitor::on_progress(const StreamingQueryProgress& progress) {
  std::lock_guard lock(mutex_);
  take(progress);
}

void QueryMonitor::on_terminated(const std::string& id, const std::string& run_id,
                                 const std::optional<Status>& error) {
  std::lock_guard lock(mutex_);
  auto& query = record(id, run_id, "");
  if (query.run_id != run_id) return;  // an older run; the newer one is what we show
  query.active = false;
  if (error) {
    query.error = error->to_string();
    ++query.failures;
  }
}

void QueryMonitor::on_restarting(const std::string& id, const std::string& run_id, int64_t restart,
                                 const Status& error) {
  (void)restart;
  on_terminated(id, run_id, error);
}

QueryTotals& QueryMonitor::record(const std::string& id, const std::string& run_id,
                                  const std::string& name) {
  auto it =
      std::find_if(queries_.begin(), queries_.end(), [&](const auto& q) { return q->id == id; });
  if (it == queries_.end()) {
    auto query = std::make_unique<QueryTotals>();
    query->id = id;
    query->epoch_duration_buckets.assign(std::size(kEpochDurationBuckets), 0);
    queries_.push_back(std::move(query));
    it = std::prev(queries_.end());
  }
  QueryTotals& query = **it;
  if (run_ids_[id].insert(run_id).second) {
    ++query.runs;
    query.run_id = run_id;
    query.active = true;
    query.error.reset();
  }
  if (!name.empty()) query.name = name;
  return query;
}

void QueryMonitor::take(const StreamingQueryProgress& progress) {
  QueryTotals& query = record(progress.id, progress.run_id, progress.name);
  // Epoch ids grow within a run and go on from the checkpoint across runs, so an id not above
  // the last one is a report already counted.
  if (progress.batch_id <= query.last_batch_id) return;
  query.last_batch_id = progress.batch_id;
  ++query.epochs;
  query.input_rows_total += progress.num_input_rows;
  query.sink_rows_total += progress.sink.num_output_rows;
  for (const auto& [phase, ms] : progress.duration_ms)
    query.phase_ms_total[phase] += ms;
  if (auto it = progress.duration_ms.find("triggerExecution"); it != progress.duration_ms.end()) {
    const double seconds = static_cast<double>(it->second) / 1000.0;
    query.epoch_ms_total += it->second;
    for (size_t b = 0; b < std::size(kEpochDurationBuckets); ++b) {
      if (seconds <= kEpochDurationBuckets[b]) ++query.epoch_duration_buckets[b];
    }
  }
  for (size_t s = 0; s < progress.sources.size(); ++s) {
    const auto& report = progress.sources[s];
    if (query.sources.size() <= s) query.sources.push_back({report.description});
    auto& source = query.sources[s];
    source.description = report.description;
    source.input_rows_total += report.num_input_rows;
    source.input_rows_per_second = report.input_rows_per_second;
    source.processed_rows_per_second = report.processed_rows_per_second;
  }
  for (size_t o = 0; o < progress.state_operators.size(); ++o) {
    const auto& report = progress.state_operators[o];
    if (query.operators.size() <= o) query.operators.push_back({report.operator_name});
    auto& op = query.operators[o];
    op.name = report.operator_name;
    op.num_rows_total = report.num_rows_total;
    op.memory_used_bytes = report.memory_used_bytes;
    op.num_shuffle_partitions = report.num_shuffle_partitions;
    op.commit_time_ms = report.commit_time_ms;
    op.rows_updated_total += report.num_rows_updated;
    op.rows_removed_total += report.num_rows_removed;
    op.rows_dropped_by_watermark_total += report.num_rows_dropped_by_watermark;
  }
  query.history.push_back(progress);
  while (query.history.size() > history_size_)
    query.history.pop_front();
}

std::vector<PartitionLag> source_lag(const StreamingQueryProgress& progress) {
  std::vector<PartitionLag> lags;
  for (size_t s = 0; s < progress.sources.size(); ++s) {
    const auto& source = progress.sources[s];
    auto end = offset_from_json(source.end_offset);
    auto latest = offset_from_json(source.latest_offset);
    if (!end.ok() || !latest.ok() || end->size() != latest->size()) continue;
    for (size_t p = 0; p < end->size(); ++p)
      lags.push_back({s, p, std::max<int64_t>((*latest)[p] - (*end)[p], 0)});
  }
  return lags;
}

std::optional<int64_t> parse_iso_timestamp(const std::string& text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &year, &month, &day, &hour,
                  &minute, &second, &millis, &consumed) != 7 ||
      static_cast<size_t>(consumed) != text.size() || month < 1 || month > 12 || day < 1 ||
      day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  // Days from 1970-01-01 to the civil date (Howard Hinnant's days_from_civil).
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int year_of_era = y - era * 400;
  const int day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  const int64_t days = static_cast<int64_t>(era) * 146097 + day_of_era - 719468;
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second;
  return seconds * 1'000'000 + static_cast<int64_t>(millis) * 1000;
}

std::optional<double> watermark_lag_seconds(const StreamingQueryProgress& progress) {
  auto it = progress.event_time.find("watermark");
  if (it == progress.event_time.end()) return std::nullopt;
  auto watermark = parse_iso_timestamp(it->second);
  auto now = parse_iso_timestamp(progress.timestamp);
  if (!watermark || !now) return std::nullopt;
  return static_cast<double>(*now - *watermark) / 1e6;
}

}  // namespace sluice
