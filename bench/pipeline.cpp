// Measures the streaming runtime: the same filter + project run through the actor pipeline
// (memory source -> stage -> noop sink, micro-batch) and called in a plain loop, in one run;
// and the end-to-end latency of ProcessingTime(0) micro-batches.
#include <sluice/sluice.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

using namespace sluice;
using namespace std::chrono_literals;
using BenchClock = std::chrono::steady_clock;

namespace {

std::vector<RecordBatchPtr> make_batches(const SchemaPtr& schema, int64_t rows, int64_t batch_rows) {
  std::mt19937_64 random(1);
  std::vector<RecordBatchPtr> batches;
  for (int64_t done = 0; done < rows; done += batch_rows) {
    const int64_t n = std::min(batch_rows, rows - done);
    RecordBatchBuilder builder(schema);
    for (int c = 0; c < 3; ++c) builder.column(c).reserve(n);
    for (int64_t i = 0; i < n; ++i) {
      auto& a = builder.column(0);
      auto& b = builder.column(1);
      auto& c = builder.column(2);
      random() % 10 == 0 ? a.append_null() : a.append_int64(static_cast<int64_t>(random() % 1000));
      random() % 10 == 0 ? b.append_null() : b.append_int64(static_cast<int64_t>(random() % 1000));
      random() % 10 == 0 ? c.append_null() : c.append_double(static_cast<double>(random() % 100000) / 100);
    }
    batches.push_back(builder.finish().value());
  }
  return batches;
}

std::vector<StatelessStep> steps() {
  return {StatelessStep::filter(col("a") > 500),
          StatelessStep::project({(col("a") * 2 + col("b")).alias("x"), (col("c") * 0.908).alias("y")})};
}

double seconds_since(BenchClock::time_point start) {
  return std::chrono::duration<double>(BenchClock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int64_t rows = quick ? 2'000'000 : 10'000'000;
  auto schema = Schema::make({{"a", Type::Int64}, {"b", Type::Int64}, {"c", Type::Double}}).value();
  auto batches = make_batches(schema, rows, 65536);

  // Baseline: the same fused stage called in a plain loop.
  auto stage = StatelessStage::make(schema, steps()).value();
  double best_loop = 1e9;
  int64_t loop_rows_out = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    auto start = BenchClock::now();
    loop_rows_out = 0;
    for (const auto& batch : batches) loop_rows_out += stage->process(batch).value()->num_rows();
    best_loop = std::min(best_loop, seconds_since(start));
  }

  // The actor runtime: every batch through source, stage and sink actors with credits, epochs
  // and a checkpoint (with fsync) per epoch; the time includes starting and stopping the query.
  double best_runtime = 1e9;
  int64_t runtime_rows_out = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    Session session;
    MemoryStream input(session, schema);
    for (const auto& batch : batches) (void)input.add_data(batch);
    std::atomic<int64_t> out{0};
    auto start = BenchClock::now();
    auto query = input.to_df()
                     .filter(col("a") > 500)
                     .select((col("a") * 2 + col("b")).alias("x"), (col("c") * 0.908).alias("y"))
                     .write_stream()
                     .format("noop")
                     .trigger(Trigger::AvailableNow())
                     .start();
    if (!query.ok()) {
      std::fprintf(stderr, "%s\n", query.status().to_string().c_str());
      return 1;
    }
    query->await_termination();
    best_runtime = std::min(best_runtime, seconds_since(start));
    for (const auto& progress : query->recent_progress()) out += progress.sink.num_output_rows;
    runtime_rows_out = out;
  }
  if (runtime_rows_out != loop_rows_out) {
    std::fprintf(stderr, "mismatch: runtime produced %lld rows, loop %lld\n",
                 static_cast<long long>(runtime_rows_out), static_cast<long long>(loop_rows_out));
    return 1;
  }
  // Checkpoint cost: the same job cut into 100 epochs instead of one; the extra time per epoch
  // is what each epoch's write-ahead log and commit (two fsyncs) cost.
  double best_many = 1e9;
  const int64_t many_epochs = 100;
  for (int repeat = 0; repeat < 3; ++repeat) {
    Session session;
    MemoryStream input(session, schema);
    for (const auto& batch : batches) (void)input.add_data(batch);
    input.set_max_rows_per_trigger(rows / many_epochs);
    auto start = BenchClock::now();
    auto query = input.to_df()
                     .filter(col("a") > 500)
                     .select((col("a") * 2 + col("b")).alias("x"), (col("c") * 0.908).alias("y"))
                     .write_stream()
                     .format("noop")
                     .trigger(Trigger::AvailableNow())
                     .start();
    if (!query.ok()) return 1;
    query->await_termination();
    best_many = std::min(best_many, seconds_since(start));
  }
  const double epoch_cost_ms = std::max(0.0, (best_many - best_runtime) / static_cast<double>(many_epochs - 1)) * 1000;
  std::printf("bench checkpoint_cost_per_epoch %.2f ms\n", epoch_cost_ms);
  // With a 1 s trigger interval each second of work pays one epoch's cost.
  std::printf("bench checkpoint_every_1s_throughput_ratio %.4f ratio\n", 1000.0 / (1000.0 + epoch_cost_ms));
  std::printf("bench pipeline_rows_per_second %.0f rows/s\n", static_cast<double>(rows) / best_runtime);
  std::printf("bench pipeline_loop_rows_per_second %.0f rows/s\n", static_cast<double>(rows) / best_loop);
  std::printf("bench pipeline_ratio %.3f ratio\n", best_loop / best_runtime);

  // Latency: rows stamped when added, measured when the sink receives them, micro-batch
  // (ProcessingTime(0)) and continuous.
  for (const bool continuous : {false, true}) {
    auto latency_schema = Schema::make({{"sent", Type::Int64}}).value();
    Session session;
    MemoryStream input(session, latency_schema);
    auto now_micros = [] {
      return std::chrono::duration_cast<std::chrono::microseconds>(BenchClock::now().time_since_epoch()).count();
    };
    // Records, for every row, the time from being added to reaching the sink's write().
    struct LatencySink final : Sink {
      std::mutex mutex;
      std::vector<int64_t> latencies;
      std::function<int64_t()> now;
      std::string description() const override { return "LatencySink"; }
      Status write(int64_t, const RecordBatchPtr& batch) override {
        const int64_t received = now();
        const int64_t* sent = batch->column(0)->values<int64_t>();
        std::lock_guard lock(mutex);
        for (int64_t i = 0; i < batch->num_rows(); ++i) latencies.push_back(received - sent[i]);
        return Status::ok();
      }
      Status finish_epoch(int64_t) override { return Status::ok(); }
    };
    auto sink = std::make_shared<LatencySink>();
    sink->now = now_micros;
    auto query = input.to_df()
                     .write_stream()
                     .sink(sink)
                     .trigger(continuous ? Trigger::Continuous(100ms) : Trigger::ProcessingTime(0ms))
                     .start();
    if (!query.ok()) return 1;
    const auto until = BenchClock::now() + (quick ? 1s : 3s);
    // 100 rows every millisecond: 100k rows/s.
    while (BenchClock::now() < until) {
      const int64_t sent = now_micros();
      std::vector<std::vector<Value>> rows(100, std::vector<Value>{Value(sent)});
      (void)input.add_data(rows);
      std::this_thread::sleep_for(1ms);
    }
    (void)query->process_all_available();
    (void)query->stop();
    auto& latencies = sink->latencies;
    std::sort(latencies.begin(), latencies.end());
    if (latencies.empty()) return 1;
    auto percentile = [&](double p) {
      return static_cast<double>(latencies[static_cast<size_t>(p * static_cast<double>(latencies.size() - 1))]) / 1000.0;
    };
    const char* name = continuous ? "continuous" : "microbatch";
    std::printf("bench %s_latency_p50 %.2f ms\n", name, percentile(0.50));
    std::printf("bench %s_latency_p99 %.2f ms\n", name, percentile(0.99));
  }
  return 0;
}
