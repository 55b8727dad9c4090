#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <set>

#include "actors/state_reader.hpp"

#include "core/fault_injection.hpp"
#include "actors/pipeline_actors.hpp"
#include "actors/query_runtime.hpp"
#include "actors/remote_partition.hpp"

namespace sluice::actors {

namespace {

using Clock = std::chrono::steady_clock;

int64_t elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// Polls sources this often when a zero-interval trigger found no new data.
constexpr auto kIdlePoll = std::chrono::milliseconds(10);

// How many epochs may be in flight at once: epoch e+1 reads while e finishes and commits.
constexpr size_t kMaxMicroBatchFlights = 2;
constexpr size_t kMaxContinuousFlights = 4;

struct InFlight {
  int64_t epoch = 0;
  std::vector<SourceOffset> start;
  std::vector<SourceOffset> end;
  std::vector<SourceOffset> latest;
  Clock::time_point trigger_start;
  Clock::time_point run_start;
  int64_t latest_offset_ms = 0;
  int64_t wal_commit_ms = 0;
  int pending_sources = 0;
  int pending_cuts = 0;        // continuous: source partitions yet to report their cut
  bool offsets_logged = true;  // continuous: false until the cut positions are logged
  int pending_stages = 0;
  int pending_states = 0;
  std::vector<int64_t> rows;  // per pipeline
  bool sink_done = false;
  int64_t output_rows = 0;
  std::optional<int64_t> watermark;  // in force during this epoch
  // The watermark each stage depth runs with: [0] this epoch's, [d] the one d epochs before.
  std::vector<std::optional<int64_t>> depth_watermarks;
  int64_t processing_time = 0;                 // the query's clock at the start of the epoch (logged)
  std::string logged;  // a replay: its offsets entry as logged before the restart
  struct PartitionDelta {
    int stage = 0;
    int partition = 0;
    std::shared_ptr<StateDelta> delta;
    int64_t rows = 0;  // the partition's keys after the epoch
  };
  std::vector<PartitionDelta> deltas;
  std::vector<StateOperatorMetrics> state_metrics;  // per stage
};

// What the coordinator knows of one stage actor's event times, for the watermark.
struct InputTime {
  int pipeline = 0;
  std::optional<int64_t> max_event_time;
  int64_t last_advance_micros = 0;  // processing time when max_event_time last grew
};

struct Waiter {
  std::vector<SourceOffset> target;
  std::shared_ptr<std::promise<Status>> done;
};

struct CoordinatorState {
  std::shared_ptr<QueryRuntime> runtime;
  std::shared_ptr<Recovery> recovery;
  std::vector<std::vector<caf::actor>> source_actors;  // per pipeline, per partition
  std::vector<caf::actor> stage_actors;
  std::vector<caf::actor> stateful_actors;
  std::vector<int> stateful_stage;  // the stage of each stateful actor
  caf::actor sink_actor;
  // The watermarks the last started epochs ran with, newest first, one per stage depth above
  // 0: a stage at depth d runs with the watermark of d epochs before.
  std::vector<std::optional<int64_t>> run_watermarks;
  std::vector<InputTime> inputs;  // per stage actor
  std::optional<int64_t> watermark;
  // The watermark moved past the one the last epoch ran with: run an epoch even without new
  // data, so that windows it finalizes are emitted and their state evicted (as Spark does).
  bool watermark_epoch_due = false;
  // The earliest processing-time timeout the stateful partitions hold (as of the last commit):
  // once the clock passes it, an epoch runs even without new data, to call the timed-out groups.
  int64_t next_processing_timeout = std::numeric_limits<int64_t>::max();
  int alive_stateful = 0;
  // Every actor of the run (sources, stages, stateful partitions, the sink) that has not exited
  // yet: the run ends only when none is left, so no user code (a foreach_batch function, a
  // custom source or sink) still runs once stop() or await_termination() returns.
  std::set<caf::actor_addr> alive;
  // True once every actor is spawned and their exits are watched; a failure before that ends
  // the run at once (the coordinator's behavior is never installed).
  bool running = false;
  std::optional<std::optional<Status>> finishing;  // set once stopping: the outcome
  int64_t next_epoch = 0;             // the next epoch to plan
  std::vector<SourceOffset> committed;  // end offsets of the last committed epoch
  std::vector<SourceOffset> planned;    // end offsets of the last planned epoch
  // Epochs started and not yet committed, oldest first; commits happen in this order.
  std::map<int64_t, InFlight> flights;
  bool continuous = false;  // the Continuous trigger, once replays are planned
  // Continuous: per pipeline, how many of the source's partitions are streamed (by their own
  // actor, or added to one while running), and where each added one started.
  std::vector<int> streamed;
  std::vector<std::map<int, int64_t>> stream_starts;
  bool tick_scheduled = false;
  std::optional<std::vector<SourceOffset>> stop_target;  // Once / AvailableNow
  bool stop_after_epoch = false;
  std::vector<Waiter> waiters;
  Clock::time_point last_trigger;
  // With a manual clock, interval triggers follow that clock: the next tick waits for the
  // clock to pass `manual_due` (in the clock's microseconds) and a ClockAdvanced message.
  ManualClock* manual_clock = nullptr;
  std::optional<int64_t> manual_due;
  int64_t last_manual_trigger = std::numeric_limits<int64_t>::min() / 2;
  std::vector<std::shared_ptr<std::promise<Status>>> clock_waiters;
  std::optional<Clock::time_point> previous_epoch_trigger;
  bool finished = false;
  // When an epoch in flight last made progress (started, or an actor reported on it).
  Clock::time_point last_progress = Clock::now();
};

using coordinator_actor = caf::stateful_actor<CoordinatorState>;

bool reached(const std::vector<SourceOffset>& have, const std::vector<SourceOffset>& target) {
  for (size_t s = 0; s < target.size(); ++s) {
    for (size_t p = 0; p < target[s].size(); ++p) {
      const int64_t position = p < have[s].size() ? have[s][p] : 0;
      if (position < target[s][p]) return false;
    }
  }
  return true;
}

std::string iso_timestamp(int64_t micros) {
  std::string text = format_timestamp(micros - micros % 1000);
  // "YYYY-MM-DD HH:MM:SS[.fff]" -> "YYYY-MM-DDTHH:MM:SS.fffZ"
  text[10] = 'T';
  if (text.size() == 19) text += ".000";
  while (text.size() < 23) text += '0';
  return text.substr(0, 23) + "Z";
}

// Ends the run once every actor that reads the checkpoint has exited.
void complete_finish(coordinator_actor* self) {
  auto& st = self->state;
  std::optional<Status> error = *st.finishing;
  for (auto& waiter : st.waiters) waiter.done->set_value(error ? *error : Status::ok());
  st.waiters.clear();
  for (auto& waiter : st.clock_waiters) waiter->set_value(error ? *error : Status::ok());
  st.clock_waiters.clear();
  // Release the checkpoint lock before anyone waiting for termination can restart the query.
  st.recovery->checkpoint.reset();
  st.runtime->terminated(std::move(error));
  // The runtime holds this actor's handle; dropping ours breaks the cycle at once.
  st.runtime.reset();
  self->quit();
}

void finish(coordinator_actor* self, std::optional<Status> error) {
  auto& st = self->state;
  if (st.finished) return;
  st.finished = true;
  st.finishing = std::move(error);
  for (auto& partitions : st.source_actors) {
    for (auto& actor : partitions) self->send(actor, stop_atom::value);
  }
  for (auto& actor : st.stage_actors) self->send(actor, stop_atom::value);
  for (auto& actor : st.stateful_actors) self->send(actor, stop_atom::value);
  if (st.sink_actor) self->send(st.sink_actor, stop_atom::value);
  if (st.alive.empty() || !st.running) complete_finish(self);
}

void schedule_tick(coordinator_actor* self, std::chrono::milliseconds delay) {
  auto& st = self->state;
  if (st.tick_scheduled || st.finished) return;
  if (st.manual_clock != nullptr && st.runtime->spec().trigger.interval.count() > 0 &&
      delay.count() > 0) {
    st.manual_due = st.manual_clock->now_micros() + delay.count() * 1000;
    return;
  }
  st.tick_scheduled = true;
  if (delay.count() <= 0) {
    self->send(self, tick_atom::value);
  } else {
    self->delayed_send(self, delay, tick_atom::value);
  }
}

// Asks every source how far the next epoch may read from where the last planned one ended
// (capped by the sources' rate limits), or, with everything, how far data exists at all.
Result<std::vector<SourceOffset>> latest_offsets(coordinator_actor* self, bool everything = false) {
  auto& st = self->state;
  std::vector<SourceOffset> latest;
  ReadLimit limit;
  limit.everything = everything;
  for (size_t s = 0; s < st.recovery->sources.size(); ++s) {
    SLUICE_ASSIGN_OR_RETURN(SourceOffset offset,
                            st.recovery->sources[s]->latest_offset(st.planned[s], limit));
    latest.push_back(std::move(offset));
  }
  return latest;
}

// Answers advance_manual_clock callers once no epoch is running any more.
void notify_clock_waiters(coordinator_actor* self) {
  auto& st = self->state;
  if (!st.flights.empty()) return;
  for (auto& waiter : st.clock_waiters) waiter->set_value(Status::ok());
  st.clock_waiters.clear();
}

// Returns true when a stateful partition holds a processing-time timeout the clock has passed.
bool processing_timeout_due(coordinator_actor* self) {
  auto& st = self->state;
  return !st.continuous && st.next_processing_timeout != std::numeric_limits<int64_t>::max() &&
         st.next_processing_timeout < st.runtime->session()->clock()->now_micros();
}

void notify_waiters(coordinator_actor* self) {
  auto& st = self->state;
  if (st.watermark_epoch_due || processing_timeout_due(self)) return;
  auto it = st.waiters.begin();
  while (it != st.waiters.end()) {
    if (reached(st.committed, it->target)) {
      it->done->set_value(Status::ok());
      it = st.waiters.erase(it);
    } else {
      ++it;
    }
  }
}

// Tells every stateful partition the epoch begins: stages fed only by sources run with the
// epoch's watermark, a stage at depth d with the one of d epochs before (see
// StatefulStage::depth).
void send_epoch_start(coordinator_actor* self, InFlight& flight) {
  auto& st = self->state;
  flight.depth_watermarks.assign(1, flight.watermark);
  flight.depth_watermarks.insert(flight.depth_watermarks.end(), st.run_watermarks.begin(),
                                 st.run_watermarks.end());
  if (!st.run_watermarks.empty()) {
    st.run_watermarks.pop_back();
    st.run_watermarks.insert(st.run_watermarks.begin(), flight.watermark);
  }
  const auto& stages = st.runtime->spec().physical.stages;
  for (size_t a = 0; a < st.stateful_actors.size(); ++a) {
    const auto& stage = stages[static_cast<size_t>(st.stateful_stage[a])];
    const auto watermark = flight.depth_watermarks[static_cast<size_t>(stage.depth)];
    // A stage feeding another runs in append mode, passing on final rows only; the query's
    // output mode is that of the stage feeding the sink (see check_output_mode).
    const OutputMode mode = stage.target.stage >= 0 ? OutputMode::Append : st.runtime->spec().output_mode;
    self->send(st.stateful_actors[a], EpochStart{flight.epoch, watermark.value_or(EpochContext::kNoWatermark), flight.processing_time,
                                                 mode});
  }
}

InFlight new_flight(coordinator_actor* self, Clock::time_point trigger_start) {
  auto& st = self->state;
  InFlight flight;
  flight.epoch = st.next_epoch++;
  flight.start = st.planned;
  flight.trigger_start = trigger_start;
  flight.rows.assign(st.recovery->sources.size(), 0);
  flight.watermark = st.watermark;
  flight.processing_time = st.runtime->session()->clock()->now_micros();
  flight.pending_stages = static_cast<int>(st.stage_actors.size());
  flight.pending_states = static_cast<int>(st.stateful_actors.size());
  flight.state_metrics.resize(st.runtime->spec().physical.stages.size());
  return flight;
}

Status log_offsets(coordinator_actor* self, InFlight& flight) {
  auto& st = self->state;
  const auto wal_start = Clock::now();
  OffsetsEntry entry{flight.start, flight.end, {}, flight.watermark, flight.processing_time};
  // Asked on a replay too: a source may follow what it logged (the file source does).
  for (const auto& source : st.recovery->sources)
    entry.source_metadata.push_back(source->save_metadata());
  // A replay logs its entry as it was: the sources may list more partitions since.
  const std::string encoded = flight.logged.empty() ? encode_offsets_entry(entry) : flight.logged;
  Status logged = st.recovery->checkpoint->write_offsets(flight.epoch, encoded);
  if (!logged.is_ok()) return logged.with_context("writing offsets of epoch " + std::to_string(flight.epoch));
  SLUICE_RETURN_NOT_OK(fault_point(FaultPoint::after_offsets_logged, flight.epoch));
  flight.wal_commit_ms = elapsed_ms(wal_start);
  return Status::ok();
}

// Starts a micro-batch epoch over [planned, end): the range is durable in the write-ahead log
// before any record of it is read.
void start_epoch(coordinator_actor* self, const std::vector<SourceOffset>& end,
                 const std::vector<SourceOffset>& latest, Clock::time_point trigger_start,
                 int64_t latest_offset_ms, std::optional<std::optional<int64_t>> watermark = {},
                 std::optional<int64_t> processing_time = {}, std::string logged = {}) {
  auto& st = self->state;
  InFlight flight = new_flight(self, trigger_start);
  flight.logged = std::move(logged);
  if (watermark) flight.watermark = *watermark;  // a replay runs with its logged watermark
  if (processing_time) flight.processing_time = *processing_time;  // and its logged clock
  // A partition the source found since the last epoch starts at its initial offset; the range
  // is logged below like every other, so a replay reads it again exactly.
  for (size_t s = 0; s < flight.start.size() && s < end.size(); ++s) {
    if (flight.start[s].size() >= end[s].size()) continue;
    const SourceOffset initial = st.recovery->sources[s]->initial_offset();
    for (size_t p = flight.start[s].size(); p < end[s].size(); ++p) {
      flight.start[s].push_back(p < initial.size() ? initial[p] : end[s][p]);
    }
  }
  flight.end = end;
  flight.latest = latest;
  flight.latest_offset_ms = latest_offset_ms;
  if (Status logged = log_offsets(self, flight); !logged.is_ok()) return finish(self, logged);
  flight.run_start = Clock::now();
  st.last_progress = flight.run_start;
  self->send(st.sink_actor, OffsetsLogged{flight.epoch});
  send_epoch_start(self, flight);
  for (size_t s = 0; s < st.source_actors.size(); ++s) {
    const size_t actors = st.source_actors[s].size();
    std::vector<EpochRange> ranges(actors, EpochRange{flight.epoch, 0, 0, {}});
    for (size_t p = 0; p < flight.end[s].size() || p < actors; ++p) {
      const int64_t from = p < flight.start[s].size() ? flight.start[s][p] : 0;
      const int64_t to = p < flight.end[s].size() ? flight.end[s][p] : from;
      if (p < actors) {
        ranges[p].start = from;
        ranges[p].end = to;
      } else if (actors > 0 && from < to) {
        // Partitions found while running have no actor of their own: the existing ones read
        // them too, round robin, before their barrier.
        ranges[p % actors].added.push_back(PartitionRange{static_cast<int>(p), from, to});
      }
    }
    for (size_t p = 0; p < actors; ++p) {
      self->send(st.source_actors[s][p], std::move(ranges[p]));
      ++flight.pending_sources;
    }
  }
  st.planned = end;
  st.flights.emplace(flight.epoch, std::move(flight));
}

// Continuous trigger: opens the next epoch while sources keep streaming; its range becomes
// known when the sources cut it (cut_epoch), and is logged before the sink may finish it.
void open_continuous_epoch(coordinator_actor* self) {
  auto& st = self->state;
  InFlight flight = new_flight(self, Clock::now());
  flight.run_start = flight.trigger_start;
  flight.offsets_logged = false;
  flight.end = flight.start;
  flight.latest = flight.start;
  for (int partitions : st.streamed) {
    flight.pending_sources += partitions;
    flight.pending_cuts += partitions;
  }
  send_epoch_start(self, flight);
  st.flights.emplace(flight.epoch, std::move(flight));
}

// Continuous trigger: partitions a source found while running (Kafka topics that grew or newly
// match subscribePattern) are streamed by the existing source actors, round robin, from their
// initial offset and from the newest open epoch on. That epoch's logged range starts them
// there (see the SourceCut handler), so a replay or a restart reads the same records.
void stream_found_partitions(coordinator_actor* self) {
  auto& st = self->state;
  if (!st.continuous || st.flights.empty()) return;
  InFlight& open = st.flights.rbegin()->second;
  for (size_t s = 0; s < st.source_actors.size(); ++s) {
    const auto& actors = st.source_actors[s];
    const int found = st.recovery->sources[s]->num_partitions();
    if (actors.empty() || found <= st.streamed[s]) continue;
    // Read after the count: the source appends partitions and their offsets together.
    const SourceOffset initial = st.recovery->sources[s]->initial_offset();
    for (int p = st.streamed[s]; p < found; ++p) {
      const int64_t start =
          static_cast<size_t>(p) < initial.size() ? initial[static_cast<size_t>(p)] : 0;
      st.stream_starts[s][p] = start;
      self->send(actors[static_cast<size_t>(p) % actors.size()],
                 ContinuousAdd{open.epoch, p, start});
      ++open.pending_cuts;
      ++open.pending_sources;
    }
    st.streamed[s] = found;
  }
}

void start_continuous(coordinator_actor* self) {
  auto& st = self->state;
  st.continuous = true;
  st.streamed.clear();
  st.stream_starts.assign(st.source_actors.size(), {});
  for (size_t s = 0; s < st.source_actors.size(); ++s) {
    st.streamed.push_back(static_cast<int>(st.source_actors[s].size()));
    // Partitions with an actor of their own that no epoch read yet start at their initial offset.
    const SourceOffset initial = st.recovery->sources[s]->initial_offset();
    for (size_t p = st.planned[s].size(); p < st.source_actors[s].size(); ++p) {
      st.planned[s].push_back(p < initial.size() ? initial[p] : 0);
    }
  }
  open_continuous_epoch(self);
  const int64_t epoch = st.flights.rbegin()->first;
  for (size_t s = 0; s < st.source_actors.size(); ++s) {
    for (size_t p = 0; p < st.source_actors[s].size(); ++p) {
      self->send(st.source_actors[s][p], ContinuousStart{epoch, st.planned[s][p]});
    }
  }
  stream_found_partitions(self);
}

// Continuous trigger: every interval, the open epoch is cut at the sources' positions and the
// next one opened, unless too many epochs are still finishing (backpressure).
void cut_epoch(coordinator_actor* self) {
  auto& st = self->state;
  if (st.flights.empty() || st.flights.size() >= kMaxContinuousFlights) return;
  const int64_t epoch = st.flights.rbegin()->first;
  open_continuous_epoch(self);
  for (auto& partitions : st.source_actors) {
    for (auto& actor : partitions) self->send(actor, CutEpoch{epoch});
  }
}

// Returns how long until an interval trigger is due (zero when due now), on the manual clock
// when the session has one. Replays do not wait.
std::chrono::milliseconds until_due(coordinator_actor* self) {
  auto& st = self->state;
  const Trigger& trigger = st.runtime->spec().trigger;
  // Epochs that only move the watermark wait for the trigger too (as Spark's no-data batches).
  if (trigger.kind != Trigger::Kind::processing_time || trigger.interval.count() <= 0 ||
      !st.recovery->replays.empty()) {
    return std::chrono::milliseconds(0);
  }
  if (st.manual_clock) {
    const int64_t remaining =
        st.last_manual_trigger + trigger.interval.count() * 1000 - st.manual_clock->now_micros();
    return std::chrono::milliseconds(remaining > 0 ? (remaining + 999) / 1000 : 0);
  }
  const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
      st.last_trigger + trigger.interval - Clock::now());
  return std::max(remaining, std::chrono::milliseconds(0));
}

void on_tick(coordinator_actor* self) {
  auto& st = self->state;
  st.tick_scheduled = false;
  if (st.finished) return;
  const Trigger& trigger = st.runtime->spec().trigger;
  if (st.continuous) {
    stream_found_partitions(self);
    cut_epoch(self);
    return schedule_tick(self, trigger.interval);
  }
  // A new epoch may start while older ones finish, once the newest one's sources are done.
  if (st.flights.size() >= kMaxMicroBatchFlights) return;
  if (!st.flights.empty() && st.flights.rbegin()->second.pending_sources > 0) return;
  if (auto wait = until_due(self); wait.count() > 0) return schedule_tick(self, wait);
  const auto trigger_start = Clock::now();
  st.last_trigger = trigger_start;
  if (st.manual_clock) st.last_manual_trigger = st.manual_clock->now_micros();

  if (!st.recovery->replays.empty()) {
    // Re-run an epoch that was logged but not committed before the restart, exactly.
    auto replay = st.recovery->replays.front();
    st.recovery->replays.erase(st.recovery->replays.begin());
    start_epoch(self, replay.end, replay.end, trigger_start, 0, replay.watermark,
                replay.processing_time, std::move(replay.logged));
    return schedule_tick(self, std::chrono::milliseconds(0));
  }
  if (trigger.kind == Trigger::Kind::continuous) {
    // Replayed epochs commit before streaming starts, so epochs reach operators in order.
    if (!st.flights.empty()) return;
    start_continuous(self);
    return schedule_tick(self, trigger.interval);
  }
  auto latest = latest_offsets(self);
  if (!latest.ok()) return finish(self, latest.status().with_context("asking sources for new data"));
  const int64_t latest_offset_ms = elapsed_ms(trigger_start);
  // What the progress report shows as latestOffset: how far data exists, before rate limits.
  std::vector<SourceOffset> available = *latest;
  for (size_t s = 0; s < available.size(); ++s) {
    if (auto seen = st.recovery->sources[s]->last_available()) available[s] = std::move(*seen);
  }
  if ((trigger.kind == Trigger::Kind::once || trigger.kind == Trigger::Kind::available_now) &&
      !st.stop_target) {
    // Once reads everything available in one epoch; AvailableNow in as many as limits need.
    auto everything = latest_offsets(self, true);
    if (!everything.ok()) return finish(self, everything.status());
    st.stop_target = *everything;
    if (trigger.kind == Trigger::Kind::once) latest = everything;
  }
  std::vector<SourceOffset> end = *latest;
  if (st.stop_target) {
    // Never read past what was available at start, even if more arrived since (nor partitions
    // found since).
    for (size_t s = 0; s < end.size(); ++s) {
      const SourceOffset& target = (*st.stop_target)[s];
      if (end[s].size() > std::max(target.size(), st.planned[s].size())) {
        end[s].resize(std::max(target.size(), st.planned[s].size()));
      }
      for (size_t p = 0; p < end[s].size() && p < target.size(); ++p) {
        end[s][p] = std::min(end[s][p], target[p]);
      }
    }
  }
  const bool has_data = !reached(st.planned, end);
  if (!has_data && (st.watermark_epoch_due || processing_timeout_due(self)) && st.flights.empty()) {
    st.watermark_epoch_due = false;
    return start_epoch(self, st.planned, available, trigger_start, latest_offset_ms);
  }
  if (!has_data) {
    // Epochs still finishing will tick again when they commit.
    if (!st.flights.empty()) return;
    if (st.stop_target) return finish(self, std::nullopt);
    st.runtime->publish_idle();
    const auto interval = std::max(trigger.interval, std::chrono::milliseconds(kIdlePoll));
    return schedule_tick(self, interval);
  }
  if (trigger.kind == Trigger::Kind::once) {
    if (st.stop_after_epoch) return;  // Once runs exactly one epoch
    st.stop_after_epoch = true;
  }
  start_epoch(self, end, available, trigger_start, latest_offset_ms);
}

void report_progress(coordinator_actor* self, const InFlight& flight, int64_t commit_ms) {
  auto& st = self->state;
  const auto& spec = st.runtime->spec();
  StreamingQueryProgress progress;
  progress.id = st.runtime->id();
  progress.run_id = st.runtime->run_id();
  progress.name = spec.name;
  progress.timestamp = iso_timestamp(st.runtime->session()->clock()->now_micros());
  progress.batch_id = flight.epoch;
  const int64_t total_ms = elapsed_ms(flight.trigger_start);
  int64_t input_rows = 0;
  for (int64_t rows : flight.rows) input_rows += rows;
  progress.num_input_rows = input_rows;
  const double seconds = std::max<double>(static_cast<double>(total_ms), 1.0) / 1000.0;
  progress.processed_rows_per_second = static_cast<double>(input_rows) / seconds;
  // Spark's input rate: rows of this epoch over the time since the previous epoch started.
  const double since_previous =
      st.previous_epoch_trigger
          ? std::max(std::chrono::duration<double>(flight.trigger_start - *st.previous_epoch_trigger).count(), 1e-3)
          : seconds;
  st.previous_epoch_trigger = flight.trigger_start;
  progress.input_rows_per_second = static_cast<double>(input_rows) / since_previous;
  progress.duration_ms = {{"latestOffset", flight.latest_offset_ms},
                          {"walCommit", flight.wal_commit_ms},
                          {"getBatch", 0},
                          {"addBatch", elapsed_ms(flight.run_start) - commit_ms},
                          {"commit", commit_ms},
                          {"triggerExecution", total_ms}};
  for (size_t s = 0; s < st.recovery->sources.size(); ++s) {
    SourceProgress source;
    source.description = st.recovery->sources[s]->description();
    source.start_offset = offset_to_json(flight.start[s]);
    source.end_offset = offset_to_json(flight.end[s]);
    source.latest_offset = offset_to_json(flight.latest[s]);
    source.metrics = st.recovery->sources[s]->progress_metrics(flight.end[s], flight.latest[s]);
    source.num_input_rows = flight.rows[s];
    source.processed_rows_per_second = static_cast<double>(flight.rows[s]) / seconds;
    source.input_rows_per_second = static_cast<double>(flight.rows[s]) / since_previous;
    progress.sources.push_back(std::move(source));
  }
  for (size_t stage = 0; stage < spec.physical.stages.size(); ++stage) {
    const StateOperatorMetrics& metrics = flight.state_metrics[stage];
    StateOperatorProgress state;
    state.operator_name = spec.physical.stages[stage].op->name();
    state.num_rows_total = metrics.num_rows_total;
    state.num_rows_updated = metrics.num_rows_updated;
    state.num_rows_removed = metrics.num_rows_removed;
    state.num_rows_dropped_by_watermark = metrics.num_rows_dropped_by_watermark;
    state.memory_used_bytes = metrics.memory_used_bytes;
    state.custom_metrics = metrics.custom_metrics;
    state.commit_time_ms = commit_ms;
    state.num_shuffle_partitions = std::max(1, spec.shuffle_partitions);
    progress.state_operators.push_back(state);
  }
  if (flight.watermark) progress.event_time["watermark"] = iso_timestamp(*flight.watermark);
  std::optional<int64_t> max_event_time;
  for (const auto& input : st.inputs) {
    if (input.max_event_time) max_event_time = std::max(max_event_time.value_or(*input.max_event_time), *input.max_event_time);
  }
  if (max_event_time) progress.event_time["max"] = iso_timestamp(*max_event_time);
  progress.sink.description = spec.sink->description();
  progress.sink.num_output_rows = flight.output_rows;
  st.runtime->publish_progress(std::move(progress));
}

// Moves the watermark after an epoch: each input's largest event time minus its delay, the
// minimum over inputs (or maximum, by policy), never backwards. Inputs that saw no event time
// yet, or none for longer than the idle timeout, do not hold it back.
void advance_watermark(coordinator_actor* self) {
  auto& st = self->state;
  const auto& spec = st.runtime->spec();
  const int64_t now = st.runtime->session()->clock()->now_micros();
  std::optional<int64_t> candidate;
  for (const auto& input : st.inputs) {
    const auto& delay = spec.physical.pipelines[static_cast<size_t>(input.pipeline)].watermark_delay_micros;
    if (!delay || !input.max_event_time) continue;
    if (spec.watermark_idle_timeout_micros >= 0 &&
        now - input.last_advance_micros > spec.watermark_idle_timeout_micros) {
      continue;
    }
    const int64_t value = *input.max_event_time - *delay;
    if (!candidate) {
      candidate = value;
    } else {
      candidate = spec.watermark_policy_max ? std::max(*candidate, value) : std::min(*candidate, value);
    }
  }
  if (candidate && (!st.watermark || *candidate > *st.watermark)) st.watermark = candidate;
}

bool complete(const InFlight& flight) {
  return flight.pending_sources == 0 && flight.pending_stages == 0 && flight.pending_states == 0 &&
         flight.sink_done && flight.offsets_logged;
}

// Fails the query when the oldest epoch in flight made no progress for epochTimeout: a lost
// message (a barrier, or a batch whose credit never returns) would otherwise hang it.
void check_progress(coordinator_actor* self) {
  auto& st = self->state;
  const int64_t timeout_ms = st.runtime->spec().epoch_timeout_ms;
  if (st.finished || timeout_ms <= 0) return;
  const auto timeout = std::chrono::milliseconds(timeout_ms);
  if (!st.flights.empty() && Clock::now() - st.last_progress >= timeout) {
    const InFlight& flight = st.flights.begin()->second;
    std::string waiting;
    auto add = [&](int pending, int total, const std::string& what) {
      if (pending <= 0) return;
      waiting += (waiting.empty() ? "" : ", ") + std::to_string(pending) + " of " +
                 std::to_string(total) + " " + what;
    };
    int sources = 0;
    for (const auto& partitions : st.source_actors)
      sources += static_cast<int>(partitions.size());
    if (st.continuous) {
      // Continuous epochs wait for a cut of every partition streamed, found ones included.
      sources = 0;
      for (int partitions : st.streamed) sources += partitions;
    }
    add(flight.pending_sources, sources, "source partitions");
    add(flight.pending_stages, static_cast<int>(st.stage_actors.size()), "stages (their barrier)");
    add(flight.pending_states, static_cast<int>(st.stateful_actors.size()),
        "stateful partitions (their barriers)");
    if (!flight.sink_done) waiting += std::string(waiting.empty() ? "" : ", ") + "the sink";
    return finish(
        self, Status::aborted("epoch " + std::to_string(flight.epoch) + " made no progress for " +
                              std::to_string(timeout_ms) + " ms (epochTimeout), waiting for " +
                              waiting + ": a message on an edge may be lost"));
  }
  self->delayed_send(self, std::max(timeout / 4, std::chrono::milliseconds(1)),
                     watchdog_atom::value);
}

// Commits finished epochs in order: state changes and commits/e in one LMDB transaction.
void try_commit(coordinator_actor* self) {
  auto& st = self->state;
  st.last_progress = Clock::now();
  bool committed_any = false;
  while (!st.flights.empty() && complete(st.flights.begin()->second) && !st.finished) {
    InFlight flight = std::move(st.flights.begin()->second);
    st.flights.erase(st.flights.begin());
    if (Status fault = fault_point(FaultPoint::after_sink_write, flight.epoch); !fault.is_ok()) return finish(self, fault);
    const auto commit_start = Clock::now();
    EpochCommit commit;
    commit.epoch = flight.epoch;
    advance_watermark(self);
    commit.commit_metadata = encode_commit_entry(st.watermark);
    // Each partition's changes are one delta record of its operator's logged table.
    const int num_partitions = std::max(1, st.runtime->spec().shuffle_partitions);
    for (const auto& [stage, partition, delta, rows] : flight.deltas) {
      // With the count of keys a partition owns, a restart need not scan the state to count.
      commit.state_changes.push_back({partition_rows_table(operator_state_table(stage)),
                                      std::to_string(partition), encode_partition_rows(num_partitions, rows)});
      if (delta->changes.empty()) continue;
      TableDelta& table_delta = commit.table_deltas.emplace_back();
      table_delta.table = operator_state_table(stage);
      table_delta.partition = partition;
      table_delta.changes = std::move(delta->changes);
    }
    for (size_t s = 0; s < st.recovery->sources.size(); ++s) {
      for (auto& [key, value] : st.recovery->sources[s]->state_changes(flight.end[s])) {
        commit.state_changes.push_back({source_state_table(s), std::move(key), std::move(value)});
      }
    }
    if (Status fault = fault_point(FaultPoint::before_commit, flight.epoch); !fault.is_ok()) return finish(self, fault);
    Status committed = st.recovery->checkpoint->commit_epoch(commit);
    if (committed.is_ok()) committed = fault_point(FaultPoint::after_commit, flight.epoch);
    if (!committed.is_ok()) {
      return finish(self, committed.with_context("committing epoch " + std::to_string(flight.epoch)));
    }
    const int64_t commit_ms = elapsed_ms(commit_start);
    self->send(st.sink_actor, SinkCommit{flight.epoch});
    for (auto& actor : st.stateful_actors) self->send(actor, EpochCommitted{flight.epoch});
    st.committed = flight.end;
    for (size_t s = 0; s < st.recovery->sources.size(); ++s) {
      Status released = st.recovery->sources[s]->commit(st.committed[s]);
      if (!released.is_ok()) return finish(self, released);
    }
    // A stage at depth d sees a watermark d epochs late: epochs run until every stage that
    // uses it has run with the latest one.
    for (const auto& stage : st.runtime->spec().physical.stages) {
      if (st.continuous || !stage.uses_watermark || !st.watermark) continue;
      if (flight.depth_watermarks[static_cast<size_t>(stage.depth)] != st.watermark)
        st.watermark_epoch_due = true;
    }
    if (!flight.state_metrics.empty()) {
      // The partitions' earliest timer after this epoch replaces the one it fired.
      st.next_processing_timeout = std::numeric_limits<int64_t>::max();
      for (const auto& metrics : flight.state_metrics) {
        st.next_processing_timeout = std::min(st.next_processing_timeout, metrics.next_processing_timeout);
      }
    }
    report_progress(self, flight, commit_ms);
    committed_any = true;
  }
  if (!committed_any) return;
  notify_waiters(self);
  notify_clock_waiters(self);
  if (st.continuous) return;
  if (st.stop_after_epoch && st.flights.empty()) return finish(self, std::nullopt);
  // The tick waits out the rest of the interval; a late epoch starts the next one at once,
  // with no burst of catch-up epochs.
  schedule_tick(self, std::chrono::milliseconds(0));
}

caf::behavior coordinator_behavior(coordinator_actor* self, std::shared_ptr<QueryRuntime> runtime,
                                   std::shared_ptr<Recovery> recovery) {
  auto& st = self->state;
  st.runtime = std::move(runtime);
  st.recovery = std::move(recovery);
  st.next_epoch = st.recovery->next_epoch;
  st.committed = st.recovery->committed;
  st.planned = st.committed;
  st.manual_clock = dynamic_cast<ManualClock*>(st.runtime->session()->clock().get());
  const QuerySpec& spec = st.runtime->spec();
  caf::actor_system& system = self->system();
  caf::actor me = caf::actor_cast<caf::actor>(self);

  st.watermark = st.recovery->watermark;
  st.run_watermarks = st.recovery->previous_watermarks;
  st.run_watermarks.resize(static_cast<size_t>(st.runtime->spec().physical.max_depth()));
  // Build the graph: sources -> stages -> stateful stages (each feeding the sink or a later
  // stage) -> sink, every actor reporting to us.
  const PhysicalPlan& physical = spec.physical;
  std::vector<int> pipeline_partitions;
  for (const auto& source : st.recovery->sources) pipeline_partitions.push_back(source->num_partitions());
  const int partitions = physical.stages.empty() ? 0 : std::max(1, spec.shuffle_partitions);
  ResultOrdering ordering;
  ordering.limit = physical.limit;
  for (const auto& key : physical.sort) {
    const int column = key.expr.kind() == ExprKind::column ? physical.output_schema->find(key.expr.column_name()) : -1;
    if (column < 0) {
      finish(self, Status::invalid_argument("order_by supports columns of the result, not " + key.expr.to_string()));
      return {};
    }
    ordering.sort.emplace_back(column, key.ascending);
  }
  st.sink_actor = spawn_sink_actor(system, me, spec.sink, physical.num_senders(-1, pipeline_partitions, partitions),
                                   ordering, spec.trigger.kind == Trigger::Kind::continuous);
  self->monitor(st.sink_actor);
  st.alive.insert(st.sink_actor.address());
  // Stage partitions by stage; a stage's target has a smaller index, so it exists already.
  std::vector<std::vector<caf::actor>> stage_partitions(physical.stages.size());
  auto downstream_of = [&](StageTarget target) {
    Downstream downstream;
    if (target.stage < 0) {
      downstream.actors = {st.sink_actor};
      downstream.edge = FaultPoint::edge_to_sink;
      return downstream;
    }
    downstream.actors = stage_partitions[static_cast<size_t>(target.stage)];
    downstream.key_columns = physical.stages[static_cast<size_t>(target.stage)].op->key_columns(target.input);
    downstream.input = target.input;
    downstream.partial = physical.stages[static_cast<size_t>(target.stage)].op->partial_aggregation(target.input);
    return downstream;
  };
  for (size_t s = 0; s < physical.stages.size(); ++s) {
    const StatefulStage& stage = physical.stages[s];
    auto post = StatelessStage::make(stage.op->output_schema(), stage.post_steps, spec.eval);
    if (!post.ok()) {
      finish(self, post.status().with_context("planning the steps after " + stage.op->name()));
      return {};
    }
    auto reader = make_state_reader(st.recovery->checkpoint, operator_state_table(static_cast<int>(s)));
    const int senders = physical.num_senders(static_cast<int>(s), pipeline_partitions, partitions);
    // Watches a partition of this stage (local or remote) and routes the stage's input to it.
    auto add_stateful = [&](const caf::actor& actor) {
      self->monitor(actor);
      st.alive.insert(actor.address());
      st.stateful_actors.push_back(actor);
      st.stateful_stage.push_back(static_cast<int>(s));
      stage_partitions[s].push_back(actor);
      ++st.alive_stateful;
    };
    const auto& workers = st.recovery->workers;
    HostPartition committed;  // the stage's committed state, handed to its remote partitions
    if (!workers.empty()) {
      Status scanned = st.recovery->checkpoint->scan_state(
          operator_state_table(static_cast<int>(s)), [&](std::string_view key, std::string_view value) {
            committed.committed_keys.emplace_back(key);
            committed.committed_values.emplace_back(value);
            return true;
          });
      if (!scanned.is_ok()) {
        finish(self, scanned.with_context("reading the state of " + stage.op->name() + " for the workers"));
        return {};
      }
    }
    for (int p = 0; p < partitions; ++p) {
      if (!workers.empty()) {
        // Partition p runs on worker p mod n; this stand-in speaks for it here.
        const auto& worker = workers[static_cast<size_t>(p) % workers.size()];
        HostPartition request = committed;
        request.definition = spec.definition;
        request.plan_fingerprint = spec.plan_fingerprint;
        request.stage = static_cast<int32_t>(s);
        request.partition = p;
        request.num_partitions = partitions;
        request.num_senders = senders;
        caf::actor actor = spawn_remote_partition(
            system, me, downstream_of(stage.target), worker.address, worker.actor, std::move(request),
            stage.op->name() + ", partition " + std::to_string(p) + " on worker " + worker.address.to_string());
        add_stateful(actor);
        continue;
      }
      auto state = stage.op->make_state(p, partitions, reader);
      if (!state.ok()) {
        finish(self, state.status().with_context(stage.op->name() + " partition " + std::to_string(p)));
        return {};
      }
      st.next_processing_timeout =
          std::min(st.next_processing_timeout, (*state)->metrics().next_processing_timeout);
      caf::actor actor = spawn_stateful_actor(system, me, downstream_of(stage.target), std::move(*state), *post,
                                              static_cast<int>(s), p, senders,
                                              stage.op->name() + ", partition " + std::to_string(p));
      add_stateful(actor);
    }
  }
  for (size_t s = 0; s < physical.pipelines.size(); ++s) {
    const auto& pipeline = physical.pipelines[s];
    const auto& source = st.recovery->sources[s];
    std::vector<StatelessStep> steps = pipeline.steps;
    // A source that could not prune its columns gets a projection to the planned ones.
    if (!(*source->schema() == *pipeline.source->schema())) {
      std::vector<Expr> columns;
      for (const auto& field : pipeline.source->schema()->fields()) columns.push_back(col(field.name));
      steps.insert(steps.begin(), StatelessStep::project(columns));
    }
    auto stage = StatelessStage::make(source->schema(), steps, spec.eval);
    if (!stage.ok()) {
      finish(self, stage.status().with_context("planning stage of " + source->description()));
      return {};
    }
    std::vector<caf::actor> partition_actors;
    for (int p = 0; p < source->num_partitions(); ++p) {
      const std::string where = "partition " + std::to_string(p) + " of " + source->description();
      const int input = static_cast<int>(st.stage_actors.size());
      caf::actor stage_actor = spawn_stage_actor(system, me, downstream_of(pipeline.target), *stage, input,
                                                 "stage " + std::to_string(s) + ", " + where);
      self->monitor(stage_actor);
      st.alive.insert(stage_actor.address());
      st.stage_actors.push_back(stage_actor);
      st.inputs.push_back(InputTime{static_cast<int>(s), std::nullopt, 0});
      caf::actor source_actor = spawn_source_actor(system, me, stage_actor, source,
                                                   static_cast<int>(s), p, "source " + where);
      self->monitor(source_actor);
      st.alive.insert(source_actor.address());
      partition_actors.push_back(source_actor);
    }
    st.source_actors.push_back(std::move(partition_actors));
  }

  st.running = true;
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    const bool stateful_actor = std::any_of(st.stateful_actors.begin(), st.stateful_actors.end(),
                                            [&](const caf::actor& a) { return a.address() == down.source; });
    if (stateful_actor) --st.alive_stateful;
    st.alive.erase(down.source);
    if (!st.finished && down.reason) {
      finish(self, Status::internal("a query actor died: " + self->system().render(down.reason)));
    } else if (st.finishing && st.alive.empty() && st.recovery->checkpoint) {
      complete_finish(self);
    }
  });
  schedule_tick(self, std::chrono::milliseconds(0));
  check_progress(self);

  return {
      [=](tick_atom) { on_tick(self); },
      [=](watchdog_atom) { check_progress(self); },
      [=](SourceDone done) {
        auto& st = self->state;
        auto it = st.flights.find(done.epoch);
        if (it == st.flights.end()) return;
        it->second.rows[static_cast<size_t>(done.pipeline)] += done.rows;
        --it->second.pending_sources;
        // The newest epoch's sources are done: the next epoch may start reading.
        if (!st.continuous && it->second.pending_sources == 0)
          schedule_tick(self, std::chrono::milliseconds(0));
        try_commit(self);
      },
      [=](SourceCut cut) {
        auto& st = self->state;
        auto it = st.flights.find(cut.epoch);
        if (it == st.flights.end()) return;
        InFlight& flight = it->second;
        auto& end = flight.end[static_cast<size_t>(cut.pipeline)];
        if (end.size() <= static_cast<size_t>(cut.partition))
          end.resize(static_cast<size_t>(cut.partition) + 1, 0);
        end[static_cast<size_t>(cut.partition)] = cut.end;
        flight.latest = flight.end;
        flight.rows[static_cast<size_t>(cut.pipeline)] += cut.rows;
        --flight.pending_sources;
        if (--flight.pending_cuts > 0) return;
        // A partition first streamed in this epoch starts where it was added (every partition
        // past the previous epoch's end was added while running).
        for (size_t s = 0; s < flight.start.size(); ++s) {
          auto& start = flight.start[s];
          const SourceOffset initial = st.recovery->sources[s]->initial_offset();
          for (size_t p = start.size(); p < flight.end[s].size(); ++p) {
            auto added = st.stream_starts[s].find(static_cast<int>(p));
            start.push_back(added != st.stream_starts[s].end() ? added->second
                            : p < initial.size()               ? initial[p]
                                                               : flight.end[s][p]);
          }
        }
        // The epoch's range is known only now: log it before the sink may finish the epoch.
        if (Status logged = log_offsets(self, flight); !logged.is_ok()) return finish(self, logged);
        flight.offsets_logged = true;
        auto next = std::next(it);
        if (next != st.flights.end()) next->second.start = flight.end;
        st.planned = flight.end;
        self->send(st.sink_actor, OffsetsLogged{flight.epoch});
        try_commit(self);
      },
      [=](StageDone done) {
        auto& st = self->state;
        auto it = st.flights.find(done.epoch);
        if (it == st.flights.end()) return;
        InputTime& input = st.inputs[static_cast<size_t>(done.input)];
        if (done.saw_event_time && (!input.max_event_time || done.max_event_time > *input.max_event_time)) {
          input.max_event_time = done.max_event_time;
          input.last_advance_micros = st.runtime->session()->clock()->now_micros();
        }
        --it->second.pending_stages;
        try_commit(self);
      },
      [=](StateDone done) {
        auto& st = self->state;
        auto it = st.flights.find(done.epoch);
        if (it == st.flights.end()) return;
        it->second.deltas.push_back({done.stage, done.partition, done.delta, done.metrics.num_rows_total});
        auto& total = it->second.state_metrics[static_cast<size_t>(done.stage)];
        total.num_rows_total += done.metrics.num_rows_total;
        total.num_rows_updated += done.metrics.num_rows_updated;
        total.num_rows_removed += done.metrics.num_rows_removed;
        total.num_rows_dropped_by_watermark += done.metrics.num_rows_dropped_by_watermark;
        total.memory_used_bytes += done.metrics.memory_used_bytes;
        for (const auto& [name, value] : done.metrics.custom_metrics)
          total.custom_metrics[name] += value;
        total.next_processing_timeout =
            std::min(total.next_processing_timeout, done.metrics.next_processing_timeout);
        --it->second.pending_states;
        try_commit(self);
      },
      [=](SinkDone done) {
        auto& st = self->state;
        auto it = st.flights.find(done.epoch);
        if (it == st.flights.end()) return;
        it->second.sink_done = true;
        it->second.output_rows = done.rows;
        try_commit(self);
      },
      [=](Failure failure) { finish(self, failure.status); },
      [=](AwaitAvailable request) {
        auto& st = self->state;
        auto latest = latest_offsets(self, true);
        if (!latest.ok()) return request.done->set_value(latest.status());
        Waiter waiter{*latest, request.done};
        // Continuous: partitions just found are streamed from now on, so they are waited for too.
        stream_found_partitions(self);
        // As notify_waiters: an epoch the watermark still owes (it closes windows) counts too.
        if (reached(st.committed, waiter.target) && st.recovery->replays.empty() &&
            st.flights.empty() && !st.watermark_epoch_due && !processing_timeout_due(self)) {
          return waiter.done->set_value(Status::ok());
        }
        st.waiters.push_back(std::move(waiter));
        schedule_tick(self, std::chrono::milliseconds(0));
      },
      [=](ClockAdvanced advanced) {
        auto& st = self->state;
        st.clock_waiters.push_back(advanced.done);
        if (st.manual_due && st.manual_clock->now_micros() >= *st.manual_due) {
          st.manual_due.reset();
          on_tick(self);
        }
        if (processing_timeout_due(self) && st.flights.empty()) on_tick(self);
        notify_clock_waiters(self);
      },
      [=](stop_atom) {
        // An epoch in flight is abandoned: its offsets stay logged and it re-runs on restart.
        finish(self, std::nullopt);
      },
  };
}

}  // namespace

caf::actor spawn_coordinator(caf::actor_system& system, std::shared_ptr<QueryRuntime> runtime,
                             std::shared_ptr<Recovery> recovery) {
  return system.spawn(coordinator_behavior, std::move(runtime), std::move(recovery));
}

}  // namespace sluice::actors
