// The demo of `make demo`: first a batch filtered and projected with expressions; then the
// product's main road. An embedded Kafka cluster (the development broker), a generator writing
// JSON sensor readings into a topic, and a query that parses, filters and counts them in
// event-time windows, printing each closed window and appending it to a table (one file per
// epoch). The query is stopped midway and restarted from its checkpoint: the table ends up
// with every window exactly once.
#include <sluice/sluice.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "io/kafka_dev_broker.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

int fail(const Status& status) {
  std::cerr << "demo failed: " << status.to_string() << "\n";
  return 1;
}

// Waits until the query has committed `epochs` epochs in this run.
Status run_epochs(StreamingQuery& query, size_t epochs) {
  while (query.recent_progress().size() < epochs) {
    if (query.await_termination(50ms)) {
      return query.exception().value_or(Status::aborted("the query ended early"));
    }
  }
  return Status::ok();
}


// Writes JSON readings of 6 sensors into the topic: event time advances 100 ms per reading,
// so 10-second windows close every 100 readings. Deterministic: reading n is always the same.
class ReadingGenerator {
 public:
  explicit ReadingGenerator(const std::string& bootstrap) {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof error);
    rd_kafka_conf_set(conf, "linger.ms", "5", error, sizeof error);
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  }
  ~ReadingGenerator() {
    stop();
    rd_kafka_flush(producer_, 10'000);
    rd_kafka_destroy(producer_);
  }
  void start() {
    thread_ = std::thread([this] {
      while (!stopped_) {
        for (int i = 0; i < 20; ++i) send(next_++);
        rd_kafka_poll(producer_, 0);
        std::this_thread::sleep_for(20ms);  // about 1000 readings a second
      }
    });
  }
  void stop() {
    stopped_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t sent() const { return next_; }

 private:
  void send(int64_t n) {
    const int sensor = static_cast<int>(n % 6);
    const double temp = 18.0 + static_cast<double>((n * 7919) % 150) / 10.0;
    const int64_t micros = 1'795'600'000'000'000 + n * 100'000;  // 2026-11-25, 100 ms apart
    const std::time_t seconds = micros / 1'000'000;
    char time[32];
    std::strftime(time, sizeof time, "%Y-%m-%d %H:%M:%S", std::gmtime(&seconds));
    const std::string key = "s" + std::to_string(sensor);
    const std::string value = "{\"sensor\":\"" + key + "\",\"temp\":" + std::to_string(temp) +
                              ",\"ts\":\"" + time + "." + std::to_string(micros % 1'000'000 / 100'000) + "\"}";
    rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC("readings"), RD_KAFKA_V_KEY(key.data(), key.size()),
                      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  }

  rd_kafka_t* producer_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> next_{0};
};

// Starts the windowed count: readings -> from_json -> filter -> 10 s windows per sensor.
Result<StreamingQuery> start_windows(Session& session, const std::string& bootstrap, const std::string& checkpoint,
                                     const std::string& table) {
  return session.read_stream()
      .format("kafka")
      .option("kafka.bootstrap.servers", bootstrap)
      .option("subscribe", "readings")
      .option("startingOffsets", "earliest")
      .load()
      .select(from_json(col("value"), "sensor STRING, temp DOUBLE, ts TIMESTAMP").alias("r"))
      .filter(col("r.temp") < 100.0)
      .with_watermark("r.ts", "2 seconds")
      .group_by(window(col("r.ts"), "10 seconds"), col("r.sensor"))
      .agg(count().alias("readings"), avg(col("r.temp")).alias("avg_temp"), max(col("r.temp")).alias("max_temp"))
      .write_stream()
      .output_mode(OutputMode::Append)
      .foreach_batch([table](const RecordBatchPtr& batch, int64_t epoch) -> Status {
        if (batch->num_rows() == 0) return Status::ok();
        std::cout << "Epoch " << epoch << ": windows closed by the watermark\n" << show(*batch);
        // The table: one file per epoch, written whole then renamed, so a replayed epoch
        // replaces its own file instead of adding rows twice.
        const std::string name = table + "/epoch-" + std::to_string(epoch);
        {
          std::ofstream file(name + ".tmp", std::ios::trunc);
          for (const auto& row : batch->to_rows()) {
            for (const auto& value : row) file << value.to_string() << "\t";
            file << "\n";
          }
          if (!file) return Status::io_error("cannot write " + name + ".tmp");
        }
        std::filesystem::rename(name + ".tmp", name + ".tsv");
        return Status::ok();
      })
      .trigger(Trigger::ProcessingTime(500ms))
      .option("checkpointLocation", checkpoint)
      .start();
}

int kafka_road() {
  auto broker = kafka::DevBroker::start(1);
  if (!broker.ok()) return fail(broker.status());
  if (Status s = (*broker)->create_topic("readings", 3); !s.is_ok()) return fail(s);
  const std::string bootstrap = (*broker)->bootstrap_servers();
  std::string work = (std::filesystem::temp_directory_path() / "sluice-demo-XXXXXX").string();
  if (::mkdtemp(work.data()) == nullptr) return fail(Status::io_error("mkdtemp failed"));
  const std::string checkpoint = work + "/checkpoint";
  const std::string table = work + "/table";
  std::filesystem::create_directories(table);
  std::cout << "Kafka (development broker at " << bootstrap << ") -> from_json -> filter -> 10 s windows per sensor\n"
            << "checkpoint " << checkpoint << ", table " << table << "\n\n";

  ReadingGenerator generator(bootstrap);
  generator.start();
  Session session;
  auto first = start_windows(session, bootstrap, checkpoint, table);
  if (!first.ok()) return fail(first.status());
  std::cout << first->explain() << "\n";
  if (Status s = run_epochs(*first, 8); !s.is_ok()) return fail(s);
  (void)first->stop();
  std::cout << "\nStopped after epoch " << first->last_progress()->batch_id << " (Kafka offsets "
            << first->last_progress()->sources[0].end_offset << "); the generator keeps writing. Restarting...\n\n";

  auto second = start_windows(session, bootstrap, checkpoint, table);
  if (!second.ok()) return fail(second.status());
  if (Status s = run_epochs(*second, 8); !s.is_ok()) return fail(s);
  generator.stop();
  (void)second->stop();
  const auto resumed = second->recent_progress().front();
  std::cout << "\nThe restarted query began at epoch " << resumed.batch_id << " from offsets "
            << resumed.sources[0].start_offset << ".\n";

  // Each (window, sensor) must be in the table once: nothing lost, nothing doubled.
  std::map<std::string, int> windows;
  for (const auto& entry : std::filesystem::directory_iterator(table)) {
    if (entry.path().extension() != ".tsv") continue;
    std::ifstream file(entry.path());
    for (std::string line; std::getline(file, line);) {
      size_t third = line.find('\t', line.find('\t', line.find('\t') + 1) + 1);
      ++windows[line.substr(0, third)];
    }
  }
  int doubled = 0;
  for (const auto& [window, times] : windows) doubled += times > 1;
  std::cout << "The table holds " << windows.size() << " windows of " << generator.sent() << " readings; "
            << doubled << " appear twice.\n\nLast progress report:\n" << second->last_progress()->pretty_json() << "\n";
  std::filesystem::remove_all(work);
  return doubled == 0 && !windows.empty() ? 0 : 1;
}

}  // namespace

int main() {
  // 1. Columnar batches and vectorized expressions.
  auto schema = Schema::make({{"auction", Type::Int64}, {"bidder", Type::String}, {"price", Type::Double}});
  if (!schema.ok()) return fail(schema.status());
  auto bids = RecordBatch::from_rows(*schema, {{1000, "alice", 12.5},
                                               {1001, "bob", 300.0},
                                               {1123, "carol", 7.25},
                                               {2214, nullptr, 99.0},
                                               {2246, "dave", nullptr}});
  if (!bids.ok()) return fail(bids.status());
  std::cout << "Bids:\n" << show(**bids);
  auto filter = bind(col("price") > 10.0, **schema);
  auto euros = bind((col("price") * 0.908).alias("price_eur"), **schema);
  auto name = bind(coalesce({upper(col("bidder")), lit("?")}).alias("bidder"), **schema);
  if (!filter.ok() || !euros.ok() || !name.ok()) return fail(Status::internal("binding failed"));
  std::vector<int32_t> selection;
  if (Status s = filter->select(**bids, selection); !s.is_ok()) return fail(s);
  auto kept = (*bids)->take(selection.data(), static_cast<int64_t>(selection.size()));
  auto price_eur = euros->evaluate(*kept);
  auto bidder = name->evaluate(*kept);
  if (!price_eur.ok() || !bidder.ok()) return fail(Status::internal("evaluation failed"));
  auto out_schema = Schema::make({{"auction", Type::Int64}, {"bidder", Type::String}, {"price_eur", Type::Double}});
  auto result = RecordBatch::make(*out_schema, {kept->column(0), *bidder, *price_eur});
  if (!result.ok()) return fail(result.status());
  std::cout << "\nBids over 10, in euros:\n" << show(**result) << "\n";

  // 2. The main road: Kafka -> Sluice -> a table, exactly once across a restart.
  return kafka_road();
}
