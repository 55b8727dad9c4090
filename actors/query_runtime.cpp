#include "actors/query_runtime.hpp"

#include "actors/seeded_scheduler.hpp"

#include <future>

#include "actors/messages.hpp"
#include "actors/remote_partition.hpp"
#include "actors/state_reader.hpp"

#include <caf/io/all.hpp>

#include <charconv>
#include <filesystem>
#include <random>

namespace sluice::actors {

namespace {

// How long a worker may take to answer CAF's handshake when a run starts.
constexpr auto kWorkerConnectTimeout = std::chrono::milliseconds(3000);

std::string random_uuid() {
  static std::mutex mutex;
  static std::mt19937_64 generator(std::random_device{}());
  std::lock_guard lock(mutex);
  const uint64_t high = generator();
  const uint64_t low = generator();
  char text[37];
  // Version 4 (random) UUID: set the version and variant bits.
  std::snprintf(text, sizeof text, "%08x-%04x-4%03x-%04x-%012llx",
                static_cast<unsigned>(high >> 32), static_cast<unsigned>((high >> 16) & 0xffff),
                static_cast<unsigned>(high & 0x0fff),
                static_cast<unsigned>(((low >> 48) & 0x3fff) | 0x8000),
                static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return text;
}

Result<std::string> make_temporary_directory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "sluice-checkpoint-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Status::io_error("cannot create a temporary checkpoint directory under " +
                            std::filesystem::temp_directory_path().string());
  }
  return pattern;
}

// Describes, line by line, how two plan fingerprints differ.
std::string describe_change(const std::string& before, const std::string& after) {
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      out.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return out;
  };
  auto a = lines(before);
  auto b = lines(after);
  std::string text;
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string was = i < a.size() ? a[i] : "(nothing)";
    const std::string now = i < b.size() ? b[i] : "(nothing)";
    if (was != now) text += "; checkpoint has '" + was + "', query has '" + now + "'";
  }
  return text;
}

}  // namespace

Status QueryRuntime::connect_workers(caf::actor_system& system, QueryRuntime& runtime, Recovery& recovery) {
  const QuerySpec& spec = runtime.spec_;
  if (spec.workers.empty()) return Status::ok();
  if (spec.physical.stages.empty()) {
    runtime.warnings_.push_back("option workers is ignored: the query has no stateful stage to place on workers");
    return Status::ok();
  }
  if (!system.has_middleman()) {
    return Status::invalid_argument(
        "option workers needs CAF's io middleman in the actor system: call "
        "sluice::actors::configure_remote(config) before building the host's actor_system");
  }
  for (const auto& address : spec.workers) {
    auto worker = connect_worker(system, address, kWorkerConnectTimeout);
    if (worker.ok()) {
      recovery.workers.push_back({address, *worker});
      continue;
    }
    const std::string error = "cannot reach worker " + address.to_string() +
                              " (option workers): " + worker.status().message();
    // A first start refuses a wrong address; a restart after a worker died goes on without it
    // (the supervisor probes it and restarts the query once it answers again).
    if (runtime.run_.restarts == 0) return Status::io_error(error);
    runtime.warnings_.push_back(
        error + "; its partitions run on the other workers, or in this process when none is left");
    runtime.absent_workers_.push_back(address);
  }
  return Status::ok();
}

std::string encode_offsets_entry(const OffsetsEntry& entry) {
  std::string text = "v2\nwatermark " + (entry.watermark ? std::to_string(*entry.watermark) : "none") + "\n";
  if (entry.processing_time)
    text += "processing_time " + std::to_string(*entry.processing_time) + "\n";
  for (size_t s = 0; s < entry.start.size(); ++s) {
    const std::string& metadata = entry.source_metadata[s];
    text += offset_to_json(entry.start[s]) + " " + offset_to_json(entry.end[s]) + " " +
            std::to_string(metadata.size()) + ":" + metadata + "\n";
  }
  return text;
}

Result<OffsetsEntry> decode_offsets_entry(std::string_view text) {
  auto fail = [](const std::string& what) {
    return Status::corrupt("offsets log entry: " + what);
  };
  if (text.substr(0, 3) != "v2\n") return fail("unknown version");
  text.remove_prefix(3);
  OffsetsEntry entry;
  const size_t line_end = text.find('\n');
  if (text.substr(0, 10) != "watermark " || line_end == std::string_view::npos) return fail("missing watermark");
  const std::string_view watermark = text.substr(10, line_end - 10);
  if (watermark != "none") {
    int64_t value = 0;
    auto [end, error] = std::from_chars(watermark.data(), watermark.data() + watermark.size(), value);
    if (error != std::errc() || end != watermark.data() + watermark.size()) return fail("malformed watermark");
    entry.watermark = value;
  }
  text.remove_prefix(line_end + 1);
  constexpr std::string_view kProcessingTime = "processing_time ";
  if (text.substr(0, kProcessingTime.size()) == kProcessingTime) {
    const size_t end_of_line = text.find('\n');
    int64_t value = 0;
    const char* first = text.data() + kProcessingTime.size();
    const char* last =
        text.data() + (end_of_line == std::string_view::npos ? text.size() : end_of_line);
    auto [end, error] = std::from_chars(first, last, value);
    if (end_of_line == std::string_view::npos || error != std::errc() || end != last) {
      return fail("malformed processing_time");
    }
    entry.processing_time = value;
    text.remove_prefix(end_of_line + 1);
  }
  while (!text.empty()) {
    const size_t first = text.find(' ');
    if (first == std::string_view::npos) return fail("missing end offset");
    SLUICE_ASSIGN_OR_RETURN(SourceOffset start, offset_from_json(text.substr(0, first)));
    text.remove_prefix(first + 1);
    const size_t second = text.find(' ');
    if (second == std::string_view::npos) return fail("missing source metadata");
    SLUICE_ASSIGN_OR_RETURN(SourceOffset end, offset_from_json(text.substr(0, second)));
    text.remove_prefix(second + 1);
    const size_t colon = text.find(':');
    size_t length = 0;
    if (colon == std::string_view::npos ||
        std::from_chars(text.data(), text.data() + colon, length).ec != std::errc() ||
        colon + 1 + length + 1 > text.size() || text[colon + 1 + length] != '\n') {
      return fail("malformed source metadata");
    }
    entry.start.push_back(std::move(start));
    entry.end.push_back(std::move(end));
    entry.source_metadata.emplace_back(text.substr(colon + 1, length));
    text.remove_prefix(colon + 1 + length + 1);
  }
  return entry;
}

std::string encode_commit_entry(std::optional<int64_t> watermark) {
  return watermark ? "{\"watermark\":" + std::to_string(*watermark) + "}" : "{\"watermark\":null}";
}

Result<std::optional<int64_t>> decode_commit_watermark(std::string_view text) {
  constexpr std::string_view prefix = "{\"watermark\":";
  if (text.substr(0, prefix.size()) != prefix || text.empty() || text.back() != '}') {
    return Status::corrupt("malformed commit log entry '" + std::string(text) + "'");
  }
  std::string_view value = text.substr(prefix.size(), text.size() - prefix.size() - 1);
  if (value == "null") return std::optional<int64_t>();
  int64_t watermark = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), watermark);
  if (error != std::errc() || end != value.data() + value.size()) {
    return Status::corrupt("malformed watermark in commit log entry '" + std::string(text) + "'");
  }
  return std::optional<int64_t>(watermark);
}

QueryRuntime::QueryRuntime(QuerySpec spec, std::shared_ptr<SessionState> session)
    : spec_(std::move(spec)), session_(std::move(session)), run_id_(random_uuid()) {}

QueryRuntime::~QueryRuntime() {
  if (!temporary_checkpoint_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(temporary_checkpoint_, ignored);
  }
}

Result<std::shared_ptr<QueryRuntime>> QueryRuntime::start(caf::actor_system& system, QuerySpec spec,
                                                          std::shared_ptr<SessionState> session,
                                                          RunOptions run) {
  if (spec.trigger.kind == Trigger::Kind::continuous && spec.trigger.interval.count() <= 0) {
    return Status::invalid_argument("the continuous trigger needs a positive checkpoint interval");
  }
  std::shared_ptr<QueryRuntime> runtime(new QueryRuntime(std::move(spec), std::move(session)));
  runtime->run_ = std::move(run);
  std::string location = runtime->spec_.checkpoint_location;
  if (location.empty()) {
    SLUICE_ASSIGN_OR_RETURN(location, make_temporary_directory());
    runtime->temporary_checkpoint_ = location;
  }
  auto recovery = std::make_shared<Recovery>();
  CheckpointOptions checkpoint_options;
  checkpoint_options.min_batches_to_retain = runtime->spec_.min_batches_to_retain;
  if (const int64_t max_bytes = runtime->spec_.checkpoint_max_bytes; max_bytes > 0) {
    checkpoint_options.max_map_size_bytes = max_bytes;
    checkpoint_options.map_size_bytes = std::min(checkpoint_options.map_size_bytes, max_bytes);
  }
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointStore> store,
                          CheckpointStore::open(location, checkpoint_options));
  recovery->checkpoint = std::move(store);
  CheckpointStore& checkpoint = *recovery->checkpoint;

  runtime->warnings_ = runtime->spec_.physical.warnings;
  for (const auto& pipeline : runtime->spec_.physical.pipelines) {
    SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Source> source, pipeline.source->source()->create());
    if (!pipeline.source->pushed_filters().empty()) source->push_filters(pipeline.source->pushed_filters());
    if (!pipeline.source->required_columns().empty()) {
      source->prune_columns(pipeline.source->required_columns());
    }
    if (!source->replayable()) {
      runtime->warnings_.push_back(source->description() +
                                   " cannot replay its input: after a crash the query is "
                                   "at-most-once for this source's rows");
    }
    recovery->sources.push_back(std::move(source));
  }

  if (!runtime->spec_.sink->idempotent()) {
    runtime->warnings_.push_back(runtime->spec_.sink->description() +
                                 " delivers a replayed epoch again under the same epoch id: its "
                                 "receiver must skip epochs it already applied");
  }

  SLUICE_ASSIGN_OR_RETURN(auto metadata, checkpoint.read_metadata());
  if (metadata) {
    if (metadata->plan_fingerprint != runtime->spec_.plan_fingerprint) {
      return Status::invalid_argument(
          "checkpoint " + location + " was written by an incompatible query" +
          describe_change(metadata->plan_fingerprint, runtime->spec_.plan_fingerprint));
    }
    runtime->id_ = metadata->query_id;
  } else {
    runtime->id_ = random_uuid();
    CheckpointMetadata fresh;
    fresh.query_id = runtime->id_;
    fresh.plan_fingerprint = runtime->spec_.plan_fingerprint;
    SLUICE_RETURN_NOT_OK(checkpoint.write_metadata(fresh));
  }

  const ConnectorContext context{runtime->id_, location};
  for (const auto& source : recovery->sources) SLUICE_RETURN_NOT_OK(source->attach(context));
  SLUICE_RETURN_NOT_OK(runtime->spec_.sink->attach(context));
  for (const auto& source : recovery->sources) recovery->committed.push_back(source->initial_offset());
  SLUICE_ASSIGN_OR_RETURN(auto last_committed, checkpoint.latest_committed_epoch());
  SLUICE_ASSIGN_OR_RETURN(auto last_logged, checkpoint.latest_offsets_epoch());
  recovery->next_epoch = last_committed ? *last_committed + 1 : 0;
  auto restore = [&](int64_t epoch, std::string* logged = nullptr) -> Result<OffsetsEntry> {
    SLUICE_ASSIGN_OR_RETURN(auto text, checkpoint.read_offsets(epoch));
    if (!text) {
      return Status::corrupt("checkpoint " + location + " has no offsets for epoch " +
                             std::to_string(epoch));
    }
    auto entry = decode_offsets_entry(*text);
    if (!entry.ok()) return entry.status().with_context("epoch " + std::to_string(epoch));
    if (logged != nullptr) *logged = *text;
    if (entry->end.size() != recovery->sources.size()) {
      return Status::corrupt("offsets of epoch " + std::to_string(epoch) + " list " +
                             std::to_string(entry->end.size()) + " sources, the query has " +
                             std::to_string(recovery->sources.size()));
    }
    for (size_t s = 0; s < recovery->sources.size(); ++s) {
      SLUICE_RETURN_NOT_OK(recovery->sources[s]->restore_metadata(entry->source_metadata[s]));
    }
    return entry;
  };
  if (last_committed) {
    SLUICE_ASSIGN_OR_RETURN(OffsetsEntry entry, restore(*last_committed));
    recovery->committed = entry.end;
    recovery->previous_watermarks.push_back(entry.watermark);
    // Deeper stages run with older watermarks: those of the epochs before, from their offsets.
    const int max_depth = runtime->spec_.physical.max_depth();
    for (int64_t epoch = *last_committed - 1;
         static_cast<int>(recovery->previous_watermarks.size()) < max_depth; --epoch) {
      // Before epoch 0 there was none; an entry purged by retention counts as none too (a
      // stage without a watermark drops nothing as late).
      std::optional<int64_t> watermark;
      if (epoch >= 0) {
        SLUICE_ASSIGN_OR_RETURN(auto text, checkpoint.read_offsets(epoch));
        if (text) {
          auto older = decode_offsets_entry(*text);
          if (!older.ok()) return older.status().with_context("epoch " + std::to_string(epoch));
          watermark = older->watermark;
        }
      }
      recovery->previous_watermarks.push_back(watermark);
    }
    SLUICE_ASSIGN_OR_RETURN(auto commit, checkpoint.read_commit(*last_committed));
    if (commit) {
      auto watermark = decode_commit_watermark(*commit);
      if (!watermark.ok()) return watermark.status().with_context("commit of epoch " + std::to_string(*last_committed));
      recovery->watermark = *watermark;
    }
  }
  if (last_logged && (!last_committed || *last_logged > *last_committed)) {
    // Epochs may overlap, so several may be logged past the last commit: re-run them all.
    for (int64_t epoch = recovery->next_epoch; epoch <= *last_logged; ++epoch) {
      std::string logged;
      SLUICE_ASSIGN_OR_RETURN(OffsetsEntry entry, restore(epoch, &logged));
      if (epoch == recovery->next_epoch) recovery->committed = entry.start;
      recovery->replays.push_back(
          {entry.start, entry.end, entry.watermark, entry.processing_time, std::move(logged)});
    }
  }

  // A source may have gained partitions since the checkpoint was written (Kafka topics grow):
  // they start at the source's initial offsets.
  auto widen = [&](SourceOffset& offset, size_t s) {
    const SourceOffset initial = recovery->sources[s]->initial_offset();
    for (size_t p = offset.size(); p < initial.size(); ++p) offset.push_back(initial[p]);
  };
  for (size_t s = 0; s < recovery->sources.size(); ++s) {
    widen(recovery->committed[s], s);
    for (auto& replay : recovery->replays) {
      widen(replay.start[s], s);
      widen(replay.end[s], s);
    }
  }
  for (size_t s = 0; s < recovery->sources.size(); ++s) {
    SLUICE_RETURN_NOT_OK(recovery->sources[s]->recover(
        make_source_state_reader(recovery->checkpoint, source_state_table(s))));
  }
  SLUICE_RETURN_NOT_OK(connect_workers(system, *runtime, *recovery));
  runtime->coordinator_ = spawn_coordinator(system, runtime, recovery);
  return runtime;
}

bool QueryRuntime::is_active() const {
  std::lock_guard lock(mutex_);
  return active_;
}

Status QueryRuntime::stop() {
  caf::anon_send(coordinator_, stop_atom::value);
  await_termination(std::nullopt);
  return Status::ok();
}

bool QueryRuntime::await_termination(std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(mutex_);
  if (!timeout) {
    terminated_cv_.wait(lock, [&] { return !active_; });
    return true;
  }
  return terminated_cv_.wait_for(lock, *timeout, [&] { return !active_; });
}

Status QueryRuntime::process_all_available() {
  {
    std::lock_guard lock(mutex_);
    if (!active_) return error_ ? *error_ : Status::ok();
  }
  auto done = std::make_shared<std::promise<Status>>();
  auto future = done->get_future();
  await_quiet_scheduler(coordinator_.home_system());
  caf::anon_send(coordinator_, AwaitAvailable{done});
  // The coordinator answers every waiter, also when the query ends, so this cannot hang; a
  // message sent after the coordinator quit is dropped, which the loop below notices.
  while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    std::lock_guard lock(mutex_);
    if (!active_) return error_ ? *error_ : Status::ok();
  }
  return future.get();
}

Status QueryRuntime::clock_advanced() {
  auto done = std::make_shared<std::promise<Status>>();
  auto future = done->get_future();
  await_quiet_scheduler(coordinator_.home_system());
  caf::anon_send(coordinator_, ClockAdvanced{done});
  while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    std::lock_guard lock(mutex_);
    if (!active_) return error_ ? *error_ : Status::ok();
  }
  return future.get();
}

std::optional<Status> QueryRuntime::exception() const {
  std::lock_guard lock(mutex_);
  return error_;
}

std::optional<StreamingQueryProgress> QueryRuntime::last_progress() const {
  std::lock_guard lock(mutex_);
  if (progress_.empty()) return std::nullopt;
  return progress_.back();
}

std::vector<StreamingQueryProgress> QueryRuntime::recent_progress() const {
  std::lock_guard lock(mutex_);
  return {progress_.begin(), progress_.end()};
}

void QueryRuntime::publish_progress(StreamingQueryProgress progress) {
  progress.num_restarts = run_.restarts;
  {
    std::lock_guard lock(mutex_);
    progress_.push_back(progress);
    // Spark keeps the last 100 reports (spark.sql.streaming.numRecentProgressUpdates).
    if (progress_.size() > 100) progress_.pop_front();
  }
  session_->streams().query_progress(progress);
}

void QueryRuntime::publish_idle() { session_->streams().query_idle(id_, run_id_); }

void QueryRuntime::terminated(std::optional<Status> error) {
  const bool restarting = run_.on_end && run_.on_end(error);
  {
    std::lock_guard lock(mutex_);
    active_ = false;
    error_ = error;
  }
  terminated_cv_.notify_all();
  if (!restarting) session_->streams().query_terminated(id_, run_id_, error);
}

}  // namespace sluice::actors
