#define BOOST_TEST_MODULE scale_out
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <map>
#include <random>
#include <thread>
#include <tuple>

#include <sluice/sluice.hpp>

#include "actors/remote_partition.hpp"
#include "io/kafka_dev_broker.hpp"
#include "io/table_sink.hpp"
#include "sql/sql_context.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/kafka_test_support.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using sluice::testing::TemporaryDirectory;

namespace {

// A `sluice worker --listen 127.0.0.1:0` child; SIGKILLed when the test is done with it.
class WorkerProcess {
 public:
  WorkerProcess() {
    int out = -1;
    pid_ =
        testing::spawn_child_with_stdout(SLUICE_PATH, {"worker", "--listen", "127.0.0.1:0"}, out);
    address_ = testing::read_line(out, 20s);
    ::close(out);
    BOOST_REQUIRE_MESSAGE(address_.rfind("127.0.0.1:", 0) == 0,
                          "worker printed '" + address_ + "'");
  }
  ~WorkerProcess() { kill(); }
  const std::string& address() const { return address_; }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    testing::wait_child(pid_);
    pid_ = -1;
  }
  // Stops the worker with SIGTERM; returns its exit code, or -1 when it took over 10 s.
  int stop() {
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) return -1;  // the destructor kills it
      std::this_thread::sleep_for(5ms);
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  std::string address_;
};

using Row = std::tuple<int64_t, std::string, int64_t, int64_t>;  // window_start, k, n, total

constexpr int64_t kBaseMicros = 1704067200LL * 1'000'000;  // 2024-01-01 00:00:00 UTC
constexpr int64_t kWindowMicros = 10'000'000;
constexpr int kKeys = 7;

struct Event {
  std::string k;
  int64_t v = 0;
  int64_t ts = 0;  // µs since the epoch
};

// Events i in [first, first + count): key, value and event time drawn from the seed.
std::vector<Event> make_events(std::mt19937_64& random, int first, int count) {
  std::vector<Event> events;
  for (int i = first; i < first + count; ++i) {
    Event event;
    event.k = "k" + std::to_string(random() % kKeys);
    event.v = static_cast<int64_t>(random() % 1000);
    event.ts =
        kBaseMicros + static_cast<int64_t>(i) * 37'000 + static_cast<int64_t>(random() % 5'000'000);
    events.push_back(std::move(event));
  }
  return events;
}

std::string json_of(const Event& event) {
  const int64_t micros = event.ts - kBaseMicros;
  const int64_t seconds = micros / 1'000'000;
  char text[96];
  std::snprintf(text, sizeof text,
                "{\"k\":\"%s\",\"v\":%lld,\"ts\":\"2024-01-01 %02lld:%02lld:%02lld.%06lld\"}",
                event.k.c_str(), static_cast<long long>(event.v),
                static_cast<long long>(seconds / 3600), static_cast<long long>(seconds / 60 % 60),
                static_cast<long long>(seconds % 60), static_cast<long long>(micros % 1'000'000));
  return text;
}

void produce(const kafka::DevBroker& broker, const std::vector<Event>& events) {
  std::vector<std::pair<std::string, std::string>> records;
  for (const auto& event : events)
    records.emplace_back(event.k, json_of(event));
  testing::produce_records(broker.bootstrap_servers(), "events", records);
}

// The windowed count and sum computed directly from the events: the independent reference.
std::vector<Row> reference(const std::vector<Event>& events) {
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> groups;
  for (const auto& event : events) {
    auto& group = groups[{event.ts - event.ts % kWindowMicros, event.k}];
    ++group.first;
    group.second += event.v;
  }
  std::vector<Row> rows;
  for (const auto& [key, value] : groups)
    rows.emplace_back(key.first, key.second, value.first, value.second);
  return rows;
}

std::vector<Row> table_rows(const std::string& path) {
  auto snapshot = read_table_sink(path);
  BOOST_REQUIRE_MESSAGE(snapshot.ok(), snapshot.status().to_string());
  const RecordBatch& rows = *snapshot->rows;
  const int window = rows.schema()->find("window_start");
  const int k = rows.schema()->find("k");
  const int n = rows.schema()->find("n");
  const int total = rows.schema()->find("total");
  std::vector<Row> out;
  for (int64_t r = 0; r < rows.num_rows(); ++r) {
    out.emplace_back(
        rows.column(window)->values<int64_t>()[r], std::string(rows.column(k)->string_at(r)),
        rows.column(n)->values<int64_t>()[r], rows.column(total)->values<int64_t>()[r]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Kafka → windowed count and sum per key → table, with `placement` (e.g. "workers = '...',")
// among the sink's options.
std::string pipeline(const kafka::DevBroker& broker, const TemporaryDirectory& directory,
                     const std::string& name, const std::string& placement) {
  return "SET shuffle_partitions = 4;\n"
         "CREATE SOURCE events WITH (connector = 'kafka', \"kafka.bootstrap.servers\" = '" +
         broker.bootstrap_servers() +
         "', subscribe = 'events', \"startingOffsets\" = 'earliest', \"maxOffsetsPerTrigger\" = "
         "'400');\n"
         "CREATE VIEW parsed AS SELECT r.k AS k, r.v AS v, r.ts AS ts\n"
         "  FROM (SELECT from_json(value, 'k STRING, v BIGINT, ts TIMESTAMP') AS r FROM events) AS "
         "j;\n"
         "CREATE SINK " +
         name + " WITH (connector = 'table', path = '" + directory.file(name) +
         "', key = 'window_start,k', output_mode = 'update', trigger = '20ms', checkpoint_location "
         "= '" +
         directory.file(name + "-checkpoint") + "', " + placement +
         "\"restart.strategy\" = 'fixed-delay', \"restart.attempts\" = '5', \"restart.delay\" = "
         "'50 ms') AS\n"
         "  SELECT window_start, k, count(*) AS n, sum(v) AS total\n"
         "  FROM TUMBLE(parsed, DESCRIPTOR(ts), INTERVAL '10' SECOND) GROUP BY window_start, k;\n";
}

StreamingQuery start_pipeline(SqlContext& sql, const std::string& script) {
  auto results = sql.execute(script);
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  BOOST_REQUIRE(results->back().query.has_value());
  return *results->back().query;
}

// Waits until the query committed every record available now, across its restarts.
void await_all_processed(StreamingQuery& query) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    Status status = query.process_all_available();
    if (status.is_ok() && query.is_active()) return;
    BOOST_REQUIRE_MESSAGE(query.is_active(), "the query ended: " + status.to_string());
    std::this_thread::sleep_for(20ms);  // a run failed and the supervisor restarts it
  }
  BOOST_FAIL("the query did not catch up within 60 s");
}

std::unique_ptr<kafka::DevBroker> start_broker() {
  auto broker = kafka::DevBroker::start(1);
  BOOST_REQUIRE_MESSAGE(broker.ok(), broker.status().to_string());
  BOOST_REQUIRE((*broker)->create_topic("events", 3).is_ok());
  return std::move(*broker);
}

// Returns a loopback port nothing listens on (bound, then released).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  BOOST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

// Three processes: this one coordinates (Kafka in, checkpoint, table sink), two `sluice
// worker` children run the aggregation's partitions. One worker is SIGKILLed mid-run; the
// query rolls back to its last committed epoch, goes on with the other worker, and the table
// ends up equal to the reference and to an uninterrupted single-process run: nothing lost,
// nothing counted twice.
BOOST_AUTO_TEST_CASE(a_worker_killed_mid_run_leaves_the_result_exactly_once) {
  const uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  TemporaryDirectory directory;
  auto broker = start_broker();
  WorkerProcess first;
  WorkerProcess second;

  std::vector<Event> events = make_events(random, 0, 4000);
  produce(*broker, events);
  Session session;
  SqlContext sql(session);
  StreamingQuery query = start_pipeline(
      sql, pipeline(*broker, directory, "scaled",
                    "workers = '" + first.address() + "," + second.address() + "', "));

  // Kill the first worker once an epoch has committed and more remain to run.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!query.last_progress() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  BOOST_REQUIRE_MESSAGE(query.last_progress().has_value(), "no epoch committed within 30 s");
  // A moment drawn from the seed: before, during or after the next epoch's prepare.
  std::this_thread::sleep_for(std::chrono::microseconds(random() % 20'000));
  const actors::RemoteTraffic before_kill = actors::remote_traffic();
  BOOST_TEST(before_kill.bytes_sent > 0);  // the partitions ran on the workers
  const int64_t epoch_at_kill = query.last_progress()->batch_id;
  first.kill();

  std::vector<Event> more = make_events(random, 4000, 2000);
  produce(*broker, more);
  events.insert(events.end(), more.begin(), more.end());
  await_all_processed(query);
  BOOST_TEST(query.last_progress()->num_restarts >= 1);
  BOOST_TEST_MESSAGE("killed a worker after epoch "
                     << epoch_at_kill << "; the query ended at epoch "
                     << query.last_progress()->batch_id << " after "
                     << query.last_progress()->num_restarts << " restart(s)");
  const actors::RemoteTraffic after = actors::remote_traffic();
  BOOST_TEST(after.bytes_sent > before_kill.bytes_sent);  // the second worker went on
  BOOST_REQUIRE(query.stop().is_ok());
  BOOST_TEST(second.stop() == 0);  // a worker stops cleanly on SIGTERM

  const std::vector<Row> expected = reference(events);
  const std::vector<Row> scaled = table_rows(directory.file("scaled"));
  BOOST_TEST(scaled.size() == expected.size());
  BOOST_TEST((scaled == expected), "the scaled-out table differs from the reference");

  // The same pipeline in one process, uninterrupted.
  Session local_session;
  SqlContext local_sql(local_session);
  StreamingQuery local = start_pipeline(local_sql, pipeline(*broker, directory, "local", ""));
  await_all_processed(local);
  BOOST_REQUIRE(local.stop().is_ok());
  BOOST_TEST((table_rows(directory.file("local")) == scaled));
}

BOOST_AUTO_TEST_CASE(an_unreachable_worker_is_named_at_start) {
  TemporaryDirectory directory;
  auto broker = start_broker();
  Session session;
  SqlContext sql(session);
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  auto results =
      sql.execute(pipeline(*broker, directory, "unreachable", "workers = '" + address + "', "));
  BOOST_REQUIRE(!results.ok());
  BOOST_TEST(results.status().message().find("cannot reach worker " + address +
                                             " (option workers)") != std::string::npos,
             results.status().to_string());
}

BOOST_AUTO_TEST_CASE(a_malformed_workers_option_is_refused_at_start) {
  TemporaryDirectory directory;
  auto broker = start_broker();
  for (const auto& [value, problem] : std::vector<std::pair<std::string, std::string>>{
           {"localhost", "'localhost' is not host:port (e.g. 10.0.0.5:7070): the port is missing"},
           {"10.0.0.5:99999", "the port '99999' is not a number from 1 to 65535"},
           {"10.0.0.5:7070,,10.0.0.6:7070", "'' is not host:port"},
           {"a:1,a:1", "lists a:1 twice"}}) {
    Session session;
    SqlContext sql(session);
    auto results =
        sql.execute(pipeline(*broker, directory, "malformed", "workers = '" + value + "', "));
    BOOST_REQUIRE(!results.ok());
    BOOST_TEST(results.status().message().find("option workers") != std::string::npos,
               results.status().to_string());
    BOOST_TEST(results.status().message().find(problem) != std::string::npos,
               results.status().to_string());
  }
  Session session;
  auto set = SqlContext(session).execute("SET workers = 'nowhere'");
  BOOST_REQUIRE(!set.ok());
  BOOST_TEST(set.status().message().find("'nowhere' is not host:port") != std::string::npos,
             set.status().to_string());
}

BOOST_AUTO_TEST_CASE(a_query_built_in_cpp_cannot_use_workers) {
  Session session;
  MemoryStream clicks(session, Schema::make({{"page", Type::String}}).value());
  auto query = clicks.to_df()
                   .group_by("page")
                   .agg(count().alias("n"))
                   .write_stream()
                   .format("memory")
                   .query_name("pages")
                   .output_mode(OutputMode::Complete)
                   .option("workers", "127.0.0.1:7070")
                   .start();
  BOOST_REQUIRE(!query.ok());
  BOOST_TEST(query.status().message().find(
                 "option workers needs a query the workers can rebuild") != std::string::npos,
             query.status().to_string());
}
