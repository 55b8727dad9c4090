// Measures the Kafka connectors against plain librdkafka in the same run, on the embedded
// development broker (librdkafka's mock cluster, loopback):
//  - source: records/s reading a topic of 100-byte records into a noop sink, and the same
//    topic read by a plain librdkafka consumer loop (the baseline);
//  - sink: records/s written with one transaction per epoch (1 s trigger), and the same
//    records written by a plain idempotent producer (the baseline);
//  - latency: Kafka -> filter -> Kafka, continuous trigger with exactlyOnce=false, and the
//    same with micro-batches and exactlyOnce=true (records become visible at epoch commit).
#include <sluice/sluice.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "io/kafka_dev_broker.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using BenchClock = std::chrono::steady_clock;

namespace {

// librdkafka's mock keeps about 5 MB per partition (older records are deleted, as retention
// would), so the source topic is spread over enough partitions to hold every record of the
// run: at most kRecordsPerPartition each (about 2 MB), and never fewer than kMinPartitions.
constexpr int kMinPartitions = 64;
constexpr int64_t kRecordsPerPartition = 20'000;
constexpr size_t kRecordBytes = 100;
int g_partitions = kMinPartitions;  // of every topic the run produces into, set by main

double seconds_since(BenchClock::time_point start) {
  return std::chrono::duration<double>(BenchClock::now() - start).count();
}

int64_t now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

rd_kafka_t* client(rd_kafka_type_t type, std::vector<std::pair<std::string, std::string>> properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s: %s\n", key.c_str(), error);
      std::exit(1);
    }
  }
  rd_kafka_t* handle = rd_kafka_new(type, conf, error, sizeof error);
  if (handle == nullptr) {
    std::fprintf(stderr, "%s\n", error);
    std::exit(1);
  }
  return handle;
}

// Produces `count` records of kRecordBytes with a plain idempotent producer; returns seconds.
// `stored` receives how many records the topic holds afterwards.
double produce_plain(const std::string& bootstrap, const std::string& topic, int64_t count, int64_t* stored = nullptr) {
  rd_kafka_t* producer = client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap},
                                                    {"enable.idempotence", "true"},
                                                    {"linger.ms", "5"},
                                                    {"queue.buffering.max.messages", "1000000"}});
  std::string value(kRecordBytes, 'x');
  const auto start = BenchClock::now();
  for (int64_t i = 0; i < count; ++i) {
    std::snprintf(value.data(), value.size(), "%012lld", static_cast<long long>(i));
    value[12] = ' ';
    // Consecutive runs of count / partitions records per partition: librdkafka's sticky
    // partitioner would put ~10 ms of records at a time into a random partition, overflowing
    // some partitions of the mock while others stay half empty.
    const auto partition = static_cast<int32_t>(i * g_partitions / count);
    while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                             RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_VALUE(value.data(), value.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer, 10);
    }
  }
  if (rd_kafka_flush(producer, 600'000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "the plain producer could not deliver every record\n");
    std::exit(1);
  }
  const double seconds = seconds_since(start);
  if (stored != nullptr) {
    *stored = 0;
    for (int p = 0; p < g_partitions; ++p) {
      int64_t low = 0;
      int64_t high = 0;
      rd_kafka_query_watermark_offsets(producer, topic.c_str(), p, &low, &high, 10'000);
      *stored += high - low;
    }
  }
  rd_kafka_destroy(producer);
  return seconds;
}

// Reads every record of the topic with a plain consumer loop: one handle, every partition
// forwarded into one queue, drained in batches until every record has come.
double consume_plain(const std::string& bootstrap, const std::string& topic, int64_t expected) {
  rd_kafka_t* consumer = client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                    {"isolation.level", "read_committed"},
                                                    {"fetch.wait.max.ms", "10"}});
  rd_kafka_topic_t* handle = rd_kafka_topic_new(consumer, topic.c_str(), nullptr);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(consumer);
  const auto start = BenchClock::now();
  for (int p = 0; p < g_partitions; ++p)
    rd_kafka_consume_start_queue(handle, p, RD_KAFKA_OFFSET_BEGINNING, queue);
  int64_t got = 0;
  size_t bytes = 0;
  rd_kafka_message_t* messages[1024];
  while (got < expected) {
    const ssize_t n = rd_kafka_consume_batch_queue(queue, 10, messages, 1024);
    for (ssize_t i = 0; i < n; ++i) {
      if (messages[i]->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++got;
        bytes += messages[i]->len;
      }
      rd_kafka_message_destroy(messages[i]);
    }
  }
  const double seconds = seconds_since(start);
  for (int p = 0; p < g_partitions; ++p)
    rd_kafka_consume_stop(handle, p);
  rd_kafka_queue_destroy(queue);
  rd_kafka_topic_destroy(handle);
  rd_kafka_destroy(consumer);
  if (bytes == 0) std::exit(1);
  return seconds;
}

// Reads the topic through a Sluice query into a noop sink (AvailableNow).
double consume_sluice(const std::string& bootstrap, const std::string& topic, int64_t expected) {
  Session session;
  const auto start = BenchClock::now();
  auto query = session.read_stream()
                   .format("kafka")
                   .option("kafka.bootstrap.servers", bootstrap)
                   .option("subscribe", topic)
                   .option("startingOffsets", "earliest")
                   .option("commitOffsetsToGroup", "false")
                   .load()
                   .select(col("value"))
                   .write_stream()
                   .format("noop")
                   .trigger(Trigger::AvailableNow())
                   .start();
  if (!query.ok()) {
    std::fprintf(stderr, "%s\n", query.status().to_string().c_str());
    std::exit(1);
  }
  query->await_termination();
  const double seconds = seconds_since(start);
  int64_t rows = 0;
  for (const auto& progress : query->recent_progress()) rows += progress.num_input_rows;
  if (query->exception() || rows != expected) {
    std::fprintf(stderr, "sluice read %lld of %lld records\n", static_cast<long long>(rows), static_cast<long long>(expected));
    std::exit(1);
  }
  return seconds;
}

// Writes `count` records through a Sluice query with the transactional kafka sink.
double produce_sluice(const std::string& bootstrap, const std::string& topic, int64_t count, bool exactly_once) {
  Session session;
  auto schema = Schema::make({{"value", Type::String}}).value();
  MemoryStream input(session, schema);
  std::string value(kRecordBytes, 'x');
  for (int64_t done = 0; done < count;) {
    RecordBatchBuilder builder(schema);
    const int64_t n = std::min<int64_t>(65536, count - done);
    for (int64_t i = 0; i < n; ++i, ++done) {
      std::snprintf(value.data(), value.size(), "%012lld", static_cast<long long>(done));
      value[12] = ' ';
      builder.column(0).append_string(value);
    }
    (void)input.add_data(builder.finish().value());
  }
  const auto start = BenchClock::now();
  auto query = input.to_df()
                   .write_stream()
                   .format("kafka")
                   .option("kafka.bootstrap.servers", bootstrap)
                   .option("kafka.linger.ms", "5")
                   .option("kafka.queue.buffering.max.messages", "1000000")
                   .option("topic", topic)
                   .option("exactlyOnce", exactly_once ? "true" : "false")
                   .trigger(Trigger::ProcessingTime(1s))
                   .start();
  if (!query.ok()) {
    std::fprintf(stderr, "%s\n", query.status().to_string().c_str());
    std::exit(1);
  }
  Status done = query->process_all_available();
  const double seconds = seconds_since(start);
  if (!done.is_ok()) {
    std::fprintf(stderr, "%s\n", done.to_string().c_str());
    std::exit(1);
  }
  (void)query->stop();
  return seconds;
}

// Measures records sent at a steady pace into `in` until they appear in `out`, while
// `relay` (running on its own thread until `stop`) moves them from `in` to `out`.
std::pair<double, double> measure_latency(const std::string& bootstrap, const std::string& in, const std::string& out,
                                          std::chrono::milliseconds duration) {
  rd_kafka_t* consumer = client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}, {"isolation.level", "read_committed"},
                                                    {"fetch.wait.max.ms", "1"}});
  rd_kafka_topic_t* handle = rd_kafka_topic_new(consumer, out.c_str(), nullptr);
  rd_kafka_consume_start(handle, 0, RD_KAFKA_OFFSET_END);
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    rd_kafka_t* producer = client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}, {"linger.ms", "0"}});
    while (!stop) {
      const std::string value = std::to_string(now_micros());
      rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(in.c_str()), RD_KAFKA_V_PARTITION(0),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      rd_kafka_poll(producer, 0);
      std::this_thread::sleep_for(2ms);  // the pace of the input, not a wait for a condition
    }
    rd_kafka_flush(producer, 10'000);
    rd_kafka_destroy(producer);
  });
  std::vector<double> samples;
  const auto until = BenchClock::now() + duration;
  const auto warmup = BenchClock::now() + duration / 5;
  while (BenchClock::now() < until) {
    rd_kafka_message_t* message = rd_kafka_consume(handle, 0, 100);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && BenchClock::now() > warmup) {
      const int64_t sent = std::atoll(std::string(static_cast<const char*>(message->payload), message->len).c_str());
      samples.push_back(static_cast<double>(now_micros() - sent) / 1000.0);
    }
    rd_kafka_message_destroy(message);
  }
  stop = true;
  sender.join();
  rd_kafka_consume_stop(handle, 0);
  rd_kafka_topic_destroy(handle);
  rd_kafka_destroy(consumer);
  if (samples.empty()) {
    std::fprintf(stderr, "no record came through\n");
    std::exit(1);
  }
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], samples[samples.size() * 99 / 100]};
}

// The baseline relay: a plain consumer loop producing each record on as it comes.
std::pair<double, double> plain_relay_latency(const std::string& bootstrap, const std::string& in, const std::string& out,
                                              std::chrono::milliseconds duration) {
  std::atomic<bool> stop{false};
  std::thread relay([&] {
    rd_kafka_t* consumer = client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}, {"fetch.wait.max.ms", "10"}});
    rd_kafka_t* producer = client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}, {"linger.ms", "0"}});
    rd_kafka_topic_t* handle = rd_kafka_topic_new(consumer, in.c_str(), nullptr);
    rd_kafka_consume_start(handle, 0, RD_KAFKA_OFFSET_END);
    while (!stop) {
      rd_kafka_message_t* message = rd_kafka_consume(handle, 0, 10);
      if (message == nullptr) continue;
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(out.c_str()), RD_KAFKA_V_VALUE(message->payload, message->len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        rd_kafka_poll(producer, 0);
      }
      rd_kafka_message_destroy(message);
    }
    rd_kafka_consume_stop(handle, 0);
    rd_kafka_topic_destroy(handle);
    rd_kafka_flush(producer, 10'000);
    rd_kafka_destroy(producer);
    rd_kafka_destroy(consumer);
  });
  auto result = measure_latency(bootstrap, in, out, duration);
  stop = true;
  relay.join();
  return result;
}

// The same through a Sluice query: Kafka -> filter -> Kafka.
std::pair<double, double> latency(const std::string& bootstrap, const std::string& in, const std::string& out,
                                  bool continuous, std::chrono::milliseconds duration) {
  Session session;
  auto query = session.read_stream()
                   .format("kafka")
                   .option("kafka.bootstrap.servers", bootstrap)
                   .option("subscribe", in)
                   .option("startingOffsets", "latest")
                   .load()
                   .filter(col("value") != lit("drop"))
                   .select(col("value"))
                   .write_stream()
                   .format("kafka")
                   .option("kafka.bootstrap.servers", bootstrap)
                   .option("kafka.linger.ms", "0")
                   .option("topic", out)
                   .option("exactlyOnce", continuous ? "false" : "true")
                   .trigger(continuous ? Trigger::Continuous(100ms) : Trigger::ProcessingTime(0ms))
                   .start();
  if (!query.ok()) {
    std::fprintf(stderr, "%s\n", query.status().to_string().c_str());
    std::exit(1);
  }
  auto result = measure_latency(bootstrap, in, out, duration);
  (void)query->stop();
  return result;
}

}  // namespace
int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  // 10M records (1 GB) fit the mock over 500 partitions of about 2 MB each.
  const int64_t records = argc > 2 ? std::atoll(argv[2]) : quick ? 300'000 : 10'000'000;
  g_partitions = static_cast<int>(std::max<int64_t>(
      kMinPartitions, (records + kRecordsPerPartition - 1) / kRecordsPerPartition));
  auto broker = kafka::DevBroker::start(1);
  if (!broker.ok()) {
    std::fprintf(stderr, "%s\n", broker.status().to_string().c_str());
    return 1;
  }
  const std::string bootstrap = (*broker)->bootstrap_servers();
  for (const char* topic : {"source", "sink-plain", "sink-txn", "lat-in", "lat-out", "lat-in2", "lat-out2", "lat-in3", "lat-out3"}) {
    (void)(*broker)->create_topic(topic, std::string(topic).starts_with("lat") ? 1 : g_partitions);
  }
  std::fprintf(stderr, "topics of %d partitions\n", g_partitions);

  std::fprintf(stderr, "producing %lld records\n", static_cast<long long>(records));
  int64_t held = 0;
  produce_plain(bootstrap, "source", records, &held);
  std::fprintf(stderr, "the topic holds %lld records; reading them\n", static_cast<long long>(held));
  const double plain_read = consume_plain(bootstrap, "source", held);
  const double sluice_read = consume_sluice(bootstrap, "source", held);
  const double megabytes = static_cast<double>(held) * kRecordBytes / 1e6;
  std::printf("bench kafka_source_records %.0f records/s\n", held / sluice_read);
  std::printf("bench kafka_source_mb %.1f MB/s\n", megabytes / sluice_read);
  std::printf("bench kafka_source_plain_loop_records %.0f records/s\n", held / plain_read);
  std::printf("bench kafka_source_ratio %.2f ratio\n", plain_read / sluice_read);

  // The sink figures are rates over several 1 s epochs: two million records are enough.
  const int64_t sink_records = std::min<int64_t>(records / 2, 2'000'000);
  const double plain_write = produce_plain(bootstrap, "sink-plain", sink_records);
  const double sluice_write = produce_sluice(bootstrap, "sink-txn", sink_records, true);
  std::printf("bench kafka_sink_transactional_records %.0f records/s\n", sink_records / sluice_write);
  std::printf("bench kafka_sink_plain_idempotent_records %.0f records/s\n", sink_records / plain_write);
  std::printf("bench kafka_sink_ratio %.2f ratio\n", plain_write / sluice_write);

  const auto duration = quick ? 3s : 10s;
  auto [b50, b99] = plain_relay_latency(bootstrap, "lat-in3", "lat-out3", duration);
  std::printf("bench kafka_e2e_plain_relay_p50 %.2f ms\n", b50);
  std::printf("bench kafka_e2e_plain_relay_p99 %.2f ms\n", b99);
  auto [p50, p99] = latency(bootstrap, "lat-in", "lat-out", true, duration);
  std::printf("bench kafka_e2e_continuous_p50 %.2f ms\n", p50);
  std::printf("bench kafka_e2e_continuous_p99 %.2f ms\n", p99);
  auto [t50, t99] = latency(bootstrap, "lat-in2", "lat-out2", false, duration);
  std::printf("bench kafka_e2e_exactly_once_p50 %.2f ms\n", t50);
  std::printf("bench kafka_e2e_exactly_once_p99 %.2f ms\n", t99);
  return 0;
}
