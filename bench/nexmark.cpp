// Nexmark on Sluice: for each query the engine runs (and q6's SQL form, q6-sql), events/s with 1
// and 2 worker threads, events per CPU-second (the whole process, generator included), p50/p99
// latency from event creation to the sink at half the maximum rate, peak RSS, and the throughput
// with a durable checkpoint per epoch against a single epoch. The generator alone, in a plain
// loop, is the baseline of the same run. Prints a table next to the published per-core figures
// and `bench <name> <value> <unit>` lines. `--quick` is what `make bench` runs; `--source kafka`
// reads the events as JSON records from a topic of the embedded Kafka broker instead.
#include <malloc.h>
#include <sys/resource.h>
#include <sluice/sluice.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "bench/nexmark/kafka_events.hpp"
#include "bench/nexmark/nexmark_source.hpp"
#include "bench/nexmark/queries.hpp"
#include "io/kafka_dev_broker.hpp"

using namespace sluice;
using namespace sluice::nexmark;
using namespace std::chrono_literals;
using BenchClock = std::chrono::steady_clock;

namespace {

struct Reference {
  const char* flink;       // Flink 1.13, nexmark README, 8 cores, per core
  const char* feldera;     // Feldera README, 16 cores, per core
  const char* risingwave;  // RisingWave vs Flink 1.16, Kafka JSON, per vCPU
};

const std::map<std::string, Reference> kReferences = {
    {"q0", {"155K", "436K", "143K"}}, {"q1", {"158K", "412K", "-"}},
    {"q2", {"175K", "422K", "-"}},    {"q3", {"152K", "413K", "-"}},
    {"q4", {"34K", "265K", "-"}},     {"q5", {"22K", "412K", "11K"}},
    {"q6", {"-", "250K", "-"}},       {"q7", {"12K", "196K", "37K"}},
    {"q8", {"146K", "415K", "78K"}},  {"q11", {"40K", "-", "-"}},
    {"q12", {"76K", "418K", "-"}},    {"q17", {"-", "-", "-"}},
};

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Returns freed memory to the kernel, then resets the peak RSS it reports (VmHWM), so that
// the peak is this run's; false when the kernel does not allow the reset.
bool reset_peak_rss() {
  malloc_trim(0);
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

int64_t wall_micros() {
  return SystemClock().now_micros();
}

// A blackhole sink that notes when each epoch's output was complete at the sink.
class TimingSink final : public Sink {
 public:
  std::string description() const override { return "NexmarkBlackhole"; }
  Status write(int64_t, const RecordBatchPtr& batch) override {
    rows_ += batch->num_rows();
    return Status::ok();
  }
  Status finish_epoch(int64_t epoch) override {
    std::lock_guard lock(mutex_);
    finished_[epoch] = wall_micros();
    return Status::ok();
  }
  std::map<int64_t, int64_t> finished() const {
    std::lock_guard lock(mutex_);
    return finished_;
  }
  int64_t rows() const { return rows_; }

 private:
  mutable std::mutex mutex_;
  std::map<int64_t, int64_t> finished_;
  std::atomic<int64_t> rows_{0};
};

// Records, per epoch, which event numbers it read (the bid source's offsets), and the largest
// state the stateful operators reported after an epoch.
class RangeListener final : public StreamingQueryListener {
 public:
  void on_progress(const StreamingQueryProgress& progress) override {
    int64_t rows = 0, bytes = 0;
    for (const auto& state : progress.state_operators) {
      rows += state.num_rows_total;
      bytes += state.memory_used_bytes;
    }
    {
      std::lock_guard lock(mutex_);
      max_state_rows_ = std::max(max_state_rows_, rows);
      max_state_bytes_ = std::max(max_state_bytes_, bytes);
    }
    if (progress.sources.empty()) return;
    auto start = offset_from_json(progress.sources[0].start_offset);
    auto end = offset_from_json(progress.sources[0].end_offset);
    if (!end.ok()) return;
    std::lock_guard lock(mutex_);
    ranges_[progress.batch_id] = {start.ok() ? NexmarkSource::events_in(*start) : 0,
                                  NexmarkSource::events_in(*end)};
    last_end_ = std::max(last_end_, NexmarkSource::events_in(*end));
  }
  std::map<int64_t, std::pair<int64_t, int64_t>> ranges() const {
    std::lock_guard lock(mutex_);
    return ranges_;
  }
  int64_t last_end() const {
    std::lock_guard lock(mutex_);
    return last_end_;
  }
  std::pair<int64_t, int64_t> max_state() const {
    std::lock_guard lock(mutex_);
    return {max_state_rows_, max_state_bytes_};
  }

 private:
  mutable std::mutex mutex_;
  std::map<int64_t, std::pair<int64_t, int64_t>> ranges_;
  int64_t last_end_ = 0;
  int64_t max_state_rows_ = 0;
  int64_t max_state_bytes_ = 0;
};

struct RunOptions {
  int threads = 1;
  int64_t events = 0;
  int64_t events_per_second = 0;  // 0: unpaced, as fast as the query goes
  int64_t events_per_epoch = 4'000'000;
  std::string checkpoint;  // "" = a temporary one
  std::string kafka_servers;  // "": the in-process generator; else read kKafkaTopic there
  bool sql = false;           // the query's SQL form instead of its DataFrame form
};

constexpr const char* kKafkaTopic = "nexmark";

struct RunResult {
  double seconds = 0;
  double cpu = 0;
  double rss_mb = 0;
  int64_t rows = 0;
  int64_t state_rows = 0;   // the most the stateful operators held after an epoch
  int64_t state_bytes = 0;  // their own estimate of the memory it took
  std::vector<std::pair<double, double>> latencies_ms;  // (latency, weight)
};

Result<RunResult> run(const Query& query, const RunOptions& options) {
  Session session(SessionOptions{.worker_threads = options.threads});
  SLUICE_RETURN_NOT_OK(session.set_conf("shuffle_partitions", std::to_string(options.threads)));
  const int64_t rate = options.events_per_second;
  std::map<std::string, std::string> source_options{
      {"seed", "1"},
      {"maxEvents", std::to_string(options.events)},
      {"numPartitions", std::to_string(options.threads)},
      {"maxEventsPerTrigger", std::to_string(options.events_per_epoch)}};
  if (rate > 0) {
    // Event time runs with wall time, so that windows close as they would live.
    source_options["eventsPerSecond"] = std::to_string(rate);
    source_options["firstEventRate"] = std::to_string(rate);
  }
  const bool rss_reset = reset_peak_rss();
  std::map<EventKind, std::shared_ptr<NexmarkSource>> sources;
  Streams streams = options.kafka_servers.empty()
                        ? read_streams(session, source_options, query.processing_time, &sources)
                        : read_kafka_streams(session, options.kafka_servers, kKafkaTopic,
                                             options.events_per_epoch, query.processing_time);
  auto sink = std::make_shared<TimingSink>();
  auto listener = std::make_shared<RangeListener>();
  session.streams().add_listener(listener);
  SLUICE_ASSIGN_OR_RETURN(DataFrame frame, options.sql
                                               ? sql_frame(session, query, streams)
                                               : Result<DataFrame>(query.dataframe(streams)));
  DataStreamWriter writer =
      frame.write_stream()
          .output_mode(options.sql && query.sql_mode ? *query.sql_mode : query.mode)
          .sink(sink);
  if (!options.checkpoint.empty()) writer.option("checkpointLocation", options.checkpoint);
  const double cpu_before = cpu_seconds();
  const auto started_at = BenchClock::now();
  SLUICE_ASSIGN_OR_RETURN(StreamingQuery started, writer.start());
  if (rate > 0) {
    // A paced run ends once the last event has been read; awaited, not slept through.
    while (listener->last_end() < options.events && started.is_active())
      std::this_thread::sleep_for(5ms);
  }
  SLUICE_RETURN_NOT_OK(started.process_all_available());
  RunResult result;
  result.seconds = std::chrono::duration<double>(BenchClock::now() - started_at).count();
  result.cpu = cpu_seconds() - cpu_before;
  SLUICE_RETURN_NOT_OK(started.stop());
  result.rss_mb = rss_reset ? peak_rss_mb() : -1;
  result.rows = sink->rows();
  std::tie(result.state_rows, result.state_bytes) = listener->max_state();
  if (rate > 0) {
    // Every stream paces the same event numbers from its start; the first input's is the clock.
    const std::shared_ptr<NexmarkSource>& paced = sources.at(query.inputs.front());
    const auto finished = sink->finished();
    const double warm_up = 0.5 * static_cast<double>(rate);  // skip the first half second
    for (const auto& [epoch, range] : listener->ranges()) {
      auto at = finished.find(epoch);
      if (at == finished.end() || range.second <= range.first) continue;
      // Events of an epoch were created evenly over its range: sample 16 points of it.
      const double count = static_cast<double>(range.second - range.first);
      for (int j = 0; j < 16; ++j) {
        const double number = static_cast<double>(range.first) + count * (j + 0.5) / 16;
        if (number < warm_up) continue;
        const double created = static_cast<double>(paced->start_micros()) +
                               number * 1e6 / static_cast<double>(rate);
        result.latencies_ms.emplace_back((static_cast<double>(at->second) - created) / 1000.0,
                                         count / 16);
      }
    }
  }
  return result;
}

double percentile(std::vector<std::pair<double, double>> samples, double fraction) {
  if (samples.empty()) return -1;
  std::sort(samples.begin(), samples.end());
  double total = 0;
  for (const auto& s : samples)
    total += s.second;
  double seen = 0;
  for (const auto& s : samples) {
    seen += s.second;
    if (seen >= fraction * total) return s.first;
  }
  return samples.back().first;
}

// The generator alone, in a plain loop: event numbers covered per second when producing the
// given kinds (the bid stream alone is what q0-q2, q11 and q12 read).
double generator_events_per_second(int64_t events, const std::vector<EventKind>& kinds) {
  auto generator = Generator::make(GeneratorConfig{.seed = 1}).value();
  const auto start = BenchClock::now();
  for (int64_t first = 0; first < events; first += 16'384) {
    const int64_t end = std::min(events, first + 16'384);
    for (EventKind kind : kinds)
      (void)generator->make_batch(kind, first, end);
  }
  const double seconds = std::chrono::duration<double>(BenchClock::now() - start).count();
  return static_cast<double>(events) / seconds;
}

std::string thousands(double value) {
  char text[32];
  if (value >= 1e6) {
    std::snprintf(text, sizeof text, "%.2fM", value / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.0fK", value / 1e3);
  }
  return text;
}

void fail(const std::string& what, const Status& status) {
  std::fprintf(stderr, "bench_nexmark: %s: %s\n", what.c_str(), status.to_string().c_str());
  std::exit(1);
}


// The Kafka variant (RisingWave's published setup): the events are first produced as JSON
// records into a topic of the embedded broker (librdkafka's mock cluster, in process), then
// every query reads them through the Kafka source and from_json, as fast as it can. The
// producer's time is not counted; the JSON parsing is.
int run_kafka(bool quick, int64_t events_wanted, const std::vector<std::string>& only,
              const std::string& servers) {
  const int64_t events = events_wanted > 0 ? events_wanted : quick ? 500'000 : 2'000'000;
  // librdkafka's mock broker keeps the newest ~5 MB of each partition and deletes older records:
  // one partition per 10 000 events (~3.5 MB of JSON) keeps them all.
  const int partitions = static_cast<int>(std::max<int64_t>(2, events / 10'000));
  // The broker runs in this process unless given (`sluice kafka-dev --topic nexmark:N` in
  // another process keeps its CPU time out of the figures, as a separate Kafka cluster would).
  std::unique_ptr<kafka::DevBroker> owned;
  std::string bootstrap = servers;
  if (bootstrap.empty()) {
    auto broker = kafka::DevBroker::start();
    if (!broker.ok()) fail("starting the Kafka broker", broker.status());
    owned = std::move(*broker);
    if (Status created = owned->create_topic(kKafkaTopic, partitions); !created.is_ok()) {
      fail("creating the topic", created);
    }
    bootstrap = owned->bootstrap_servers();
  }
  auto generator = Generator::make(GeneratorConfig{.seed = 1}).value();
  const auto produce_start = BenchClock::now();
  if (Status produced = produce_events(*generator, bootstrap, kKafkaTopic, 0, events);
      !produced.is_ok()) {
    fail("producing the events", produced);
  }
  const double produce_seconds = std::chrono::duration<double>(BenchClock::now() - produce_start).count();
  std::printf("bench nexmark_kafka_produce %.0f events/s\n", static_cast<double>(events) / produce_seconds);
  std::vector<std::string> table;
  for (const Query& query : queries()) {
    if (!only.empty() && std::find(only.begin(), only.end(), query.name) == only.end()) continue;
    const Reference& reference = kReferences.at(query.name);
    char line[512];
    if (!query.pending.empty()) {
      std::snprintf(line, sizeof line, "%-4s | %-44s | %10s", query.name.c_str(),
                    ("pending: " + query.pending).substr(0, 44).c_str(), reference.risingwave);
      table.push_back(line);
      continue;
    }
    RunOptions options{.events = events, .kafka_servers = bootstrap};
    options.threads = 1;
    auto one = run(query, options);
    if (!one.ok()) fail(query.name + " from Kafka with 1 thread", one.status());
    options.threads = 2;
    auto two = run(query, options);
    if (!two.ok()) fail(query.name + " from Kafka with 2 threads", two.status());
    if (query.name == "q0" && one->rows != generator->make_batch(EventKind::bid, 0, events)->num_rows()) {
      fail("q0 from Kafka", Status::internal("read " + std::to_string(one->rows) +
                                             " bids: the broker lost records"));
    }
    const double rate_one = static_cast<double>(events) / one->seconds;
    const double rate_two = static_cast<double>(events) / two->seconds;
    const double per_cpu = static_cast<double>(events) / one->cpu;
    std::printf("bench nexmark_kafka_%s_events_per_s_1_thread %.0f events/s\n", query.name.c_str(), rate_one);
    std::printf("bench nexmark_kafka_%s_events_per_s_2_threads %.0f events/s\n", query.name.c_str(), rate_two);
    std::printf("bench nexmark_kafka_%s_events_per_cpu_s %.0f events/cpu-s\n", query.name.c_str(), per_cpu);
    std::printf("bench nexmark_kafka_%s_peak_rss %.0f MB\n", query.name.c_str(), one->rss_mb);
    std::printf("bench nexmark_kafka_%s_output_rows %lld rows\n", query.name.c_str(),
                static_cast<long long>(one->rows));
    std::fflush(stdout);
    std::snprintf(line, sizeof line, "%-4s | %8s %8s %8s | %6.0f | %10s", query.name.c_str(),
                  thousands(rate_one).c_str(), thousands(rate_two).c_str(), thousands(per_cpu).c_str(),
                  one->rss_mb, reference.risingwave);
    table.push_back(line);
  }
  std::printf("\nNexmark on Sluice from Kafka: %lld events as JSON records in a %d-partition topic of the "
              "broker (seed 1), produced first (%.0fK events/s, not counted); each stream of a "
              "query reads the topic and parses it with from_json\n",
              static_cast<long long>(events), partitions, static_cast<double>(events) / produce_seconds / 1e3);
  std::printf("%-4s | %8s %8s %8s | %6s | %10s\n", "", "ev/s 1T", "ev/s 2T", "ev/CPU-s", "RSS MB",
              "RisingWave");
  for (const auto& row : table) std::printf("%s\n", row.c_str());
  std::printf("RisingWave: events/s per vCPU, Kafka JSON source, 8 vCPU (RisingWave vs Flink 1.16).\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  bool kafka = false;
  bool throughput_only = false;  // --throughput: no latency and checkpoint runs
  std::string servers;
  int64_t events_wanted = 0;  // 0: 20 M, or 1 M with --quick
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--throughput") == 0) {
      throughput_only = true;
    } else if (std::strcmp(argv[i], "--query") == 0 && i + 1 < argc) {
      only.push_back(argv[++i]);
    } else if (std::strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
      events_wanted = std::atoll(argv[++i]);
      if (events_wanted <= 0) {
        std::fprintf(stderr, "bench_nexmark: --events needs a positive count, got '%s'\n", argv[i]);
        return 2;
      }
    } else if (std::strcmp(argv[i], "--bootstrap-servers") == 0 && i + 1 < argc) {
      servers = argv[++i];
    } else if (std::strcmp(argv[i], "--source") == 0 && i + 1 < argc &&
               (std::strcmp(argv[i + 1], "kafka") == 0 ||
                std::strcmp(argv[i + 1], "generator") == 0)) {
      kafka = std::strcmp(argv[++i], "kafka") == 0;
    } else {
      std::fprintf(
          stderr,
          "usage: bench_nexmark [--quick] [--throughput] [--events N] [--query qN|q6-sql]... "
          "[--source generator|kafka "
          "[--bootstrap-servers HOST:PORT (a topic 'nexmark' of 50 partitions per 500 K "
          "events)]]\n");
      return 2;
    }
  }

  const int64_t events = events_wanted > 0 ? events_wanted : quick ? 1'000'000 : 20'000'000;
  const double latency_seconds = quick ? 2 : 10;
  const std::string checkpoint_root =
      (std::filesystem::temp_directory_path() / ("sluice-nexmark-" + std::to_string(::getpid())))
          .string();

  // glibc's default thresholds hand freed batch buffers back to the kernel and fault them in
  // again (half the time of a generator loop on the main thread); keep them, for the baseline
  // and the queries alike.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  if (kafka) return run_kafka(quick, events_wanted, only, servers);
  const double generator_rate = generator_events_per_second(events / 2, {EventKind::bid});
  const double generator_all_rate = generator_events_per_second(
      events / 2, {EventKind::person, EventKind::auction, EventKind::bid});
  std::printf("bench nexmark_generator_alone_bids %.0f events/s\n", generator_rate);
  std::printf("bench nexmark_generator_alone_all_kinds %.0f events/s\n", generator_all_rate);

  // Each query's DataFrame form, and the SQL form of those whose SQL plans differ (q6: an OVER
  // over the join and the aggregation, where the DataFrame form keeps each seller's last ten
  // wins in flat_map_groups_with_state). `--query q6` runs both forms, `--query q6-sql` one.
  struct Form {
    const Query* query;
    bool sql;
    std::string name;    // in the table: q6, q6-sql
    std::string metric;  // in the bench lines: q6, q6_sql
  };
  const std::set<std::string> sql_forms = {"q6"};
  std::vector<Form> forms;
  for (const Query& query : queries()) {
    forms.push_back({&query, false, query.name, query.name});
    if (sql_forms.contains(query.name))
      forms.push_back({&query, true, query.name + "-sql", query.name + "_sql"});
  }
  const auto wanted = [&](const std::string& name) {
    return std::find(only.begin(), only.end(), name) != only.end();
  };
  std::vector<std::string> table;
  for (const Form& form : forms) {
    const Query& query = *form.query;
    if (!only.empty() && !wanted(form.name) && !wanted(query.name)) continue;
    const Reference& reference = kReferences.at(query.name);
    const char* name = form.name.c_str();
    const char* metric = form.metric.c_str();
    char line[512];
    if (!query.pending.empty()) {
      std::snprintf(line, sizeof line, "%-6s | %-58s | %6s | %7s | %10s", name,
                    ("pending: " + query.pending).substr(0, 58).c_str(), reference.flink,
                    reference.feldera, reference.risingwave);
      table.push_back(line);
      continue;
    }
    auto one = run(query, {.threads = 1, .events = events, .sql = form.sql});
    if (!one.ok()) fail(form.name + " with 1 thread", one.status());
    auto two = run(query, {.threads = 2, .events = events, .sql = form.sql});
    if (!two.ok()) fail(form.name + " with 2 threads", two.status());
    const double rate_one = static_cast<double>(events) / one->seconds;
    const double rate_two = static_cast<double>(events) / two->seconds;
    const double per_cpu = static_cast<double>(events) / one->cpu;
    const int64_t half_rate = static_cast<int64_t>(std::max(rate_one, rate_two) / 2);
    double p50 = -1, p99 = -1, checkpoint_ratio = -1, commit_interval = -1;
    if (!throughput_only) {
      auto paced = run(query, {.threads = 2,
                               .events = static_cast<int64_t>(half_rate * latency_seconds),
                               .events_per_second = half_rate,
                               .events_per_epoch = half_rate * 10,
                               .sql = form.sql});
      if (!paced.ok()) fail(form.name + " paced", paced.status());
      p50 = percentile(paced->latencies_ms, 0.5);
      p99 = percentile(paced->latencies_ms, 0.99);
      // Ten epochs, each committed durably to a checkpoint on disk, against one epoch; the best
      // of two alternating runs of each, since the machine may be shared.
      double with_seconds = 1e9, without_seconds = 1e9;
      for (int repeat = 0; repeat < 2; ++repeat) {
        std::filesystem::remove_all(checkpoint_root);
        auto with = run(query, {.threads = 1,
                                .events = events,
                                .events_per_epoch = events / 10,
                                .checkpoint = checkpoint_root + "/" + form.metric,
                                .sql = form.sql});
        if (!with.ok()) fail(form.name + " with checkpoints", with.status());
        auto without = run(
            query, {.threads = 1, .events = events, .events_per_epoch = events, .sql = form.sql});
        if (!without.ok()) fail(form.name + " in one epoch", without.status());
        with_seconds = std::min(with_seconds, with->seconds);
        without_seconds = std::min(without_seconds, without->seconds);
      }
      std::filesystem::remove_all(checkpoint_root);
      checkpoint_ratio = without_seconds / with_seconds;
      commit_interval = with_seconds / 10;
    }
    std::printf("bench nexmark_%s_events_per_s_1_thread %.0f events/s\n", metric, rate_one);
    std::printf("bench nexmark_%s_events_per_s_2_threads %.0f events/s\n", metric, rate_two);
    std::printf("bench nexmark_%s_events_per_cpu_s %.0f events/cpu-s\n", metric, per_cpu);
    std::printf("bench nexmark_%s_vs_generator_alone %.3f ratio\n", metric,
                rate_one / generator_rate);
    std::printf("bench nexmark_%s_peak_rss %.0f MB\n", metric, one->rss_mb);
    std::printf("bench nexmark_%s_state_rows %lld rows\n", metric,
                static_cast<long long>(one->state_rows));
    std::printf("bench nexmark_%s_state_memory %.0f MB\n", metric,
                static_cast<double>(one->state_bytes) / (1 << 20));
    if (!throughput_only) {
      std::printf("bench nexmark_%s_latency_p50 %.1f ms\n", metric, p50);
      std::printf("bench nexmark_%s_latency_p99 %.1f ms\n", metric, p99);
      std::printf("bench nexmark_%s_checkpoint_throughput_ratio %.3f ratio\n", metric,
                  checkpoint_ratio);
    }
    std::fflush(stdout);
    std::snprintf(
        line, sizeof line,
        "%-6s | %8s %8s %8s | %7.1f %7.1f @%-6s | %6.0f | %5.2f (%4.1fs) | %6s | %7s | %10s", name,
        thousands(rate_one).c_str(), thousands(rate_two).c_str(), thousands(per_cpu).c_str(), p50,
        p99, thousands(static_cast<double>(half_rate)).c_str(), one->rss_mb, checkpoint_ratio,
        commit_interval, reference.flink, reference.feldera, reference.risingwave);
    table.push_back(line);
  }
  std::printf(
      "\nNexmark on Sluice, %lld events per run (seed 1, 10M events/s of event time); generator "
      "alone: %s "
      "events/s producing the bids, %s producing all three kinds\n",
      static_cast<long long>(events), thousands(generator_rate).c_str(),
      thousands(generator_all_rate).c_str());
  std::printf("%-6s | %8s %8s %8s | %7s %7s %-7s | %6s | %12s | %6s | %7s | %10s\n", "", "ev/s 1T",
              "ev/s 2T", "ev/CPU-s", "p50 ms", "p99 ms", "@rate", "RSS MB", "ckpt (every)", "Flink",
              "Feldera", "RisingWave");
  for (const auto& row : table)
    std::printf("%s\n", row.c_str());
  std::printf(
      "glibc malloc: mmap threshold 64 MiB, trim threshold 256 MiB. Events are event numbers (all "
      "kinds); a query over bids generates only the bids (92%% of the events;\n"
      "Flink's single datagen table generates persons and auctions too, then filters them out).\n"
      "Flink, Feldera: events/s per core, generator in process, blackhole sink; RisingWave: per "
      "vCPU, Kafka JSON.\n"
      "Latency: event creation to its epoch's output at the sink, at half the best rate. ckpt: "
      "throughput\n"
      "with ten durable epoch commits (one every ~N s shown) over one epoch.\n");
  return 0;
}
