#define BOOST_TEST_MODULE scale_out
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <mutex>

#include "actors/remote_partition.hpp"
#include "sql/sql_context.hpp"
#include "tests/actors/scale_out_support.hpp"

using namespace sluice;
using namespace sluice::scale_out_test;
using namespace std::chrono_literals;
using sluice::testing::TemporaryDirectory;

namespace {

// A `sluice worker --listen 127.0.0.1:PORT` child (port 0: any free port).
class SluiceWorker : public WorkerProcess {
 public:
  explicit SluiceWorker(const std::string& port = "0")
      : WorkerProcess(SLUICE_PATH, {"worker", "--listen", "127.0.0.1:" + port}) {}
};

// Records why the query restarted, as listeners hear it.
class RestartLog final : public StreamingQueryListener {
 public:
  void on_restarting(const std::string&, const std::string&, int64_t,
                     const Status& error) override {
    std::lock_guard lock(mutex_);
    reasons_.push_back(error.to_string());
  }
  std::vector<std::string> reasons() const {
    std::lock_guard lock(mutex_);
    return reasons_;
  }
  bool any_contains(const std::string& text) const {
    for (const auto& reason : reasons())
      if (reason.find(text) != std::string::npos) return true;
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> reasons_;
};

// The coordinator's session, whose restarts are logged.
struct LoggedSession {
  LoggedSession() { session.streams().add_listener(restarts); }
  Session session;
  std::shared_ptr<RestartLog> restarts = std::make_shared<RestartLog>();
  SqlContext sql{session};
};

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

StreamingQuery start_script(SqlContext& sql, const std::string& script) {
  auto results = sql.execute(script);
  BOOST_REQUIRE_MESSAGE(results.ok(), results.status().to_string());
  BOOST_REQUIRE(results->back().query.has_value());
  return *results->back().query;
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
BOOST_FIXTURE_TEST_CASE(a_worker_killed_mid_run_leaves_the_result_exactly_once, ScaleOutFixture) {
  SluiceWorker first;
  SluiceWorker second;

  add_events(4000);
  Session session;
  SqlContext sql(session);
  StreamingQuery query =
      start_script(sql, pipeline(*broker, directory, "scaled",
                                 "workers = '" + first.address() + "," + second.address() + "', "));

  // Kill the first worker once an epoch has committed and more remain to run.
  await_first_commit(query);
  // A moment drawn from the seed: before, during or after the next epoch's prepare.
  std::this_thread::sleep_for(std::chrono::microseconds(random() % 20'000));
  const actors::RemoteTraffic before_kill = actors::remote_traffic();
  BOOST_TEST(before_kill.bytes_sent > 0);  // the partitions ran on the workers
  const int64_t epoch_at_kill = query.last_progress()->batch_id;
  first.kill();

  add_events(2000);
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
  check_exactly_once(scaled, expected);

  // The same pipeline in one process, uninterrupted.
  Session local_session;
  SqlContext local_sql(local_session);
  StreamingQuery local = start_script(local_sql, pipeline(*broker, directory, "local", ""));
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
  BOOST_TEST(query.status().message().find("sluice::register_pipeline(name, function)") !=
                 std::string::npos,
             query.status().to_string());
}

// A worker that hangs (SIGSTOP: its connections stay open, so no down message comes) misses
// its heartbeats; after 5 s the epoch fails, the query restarts from its last commit, leaves
// the hung worker out (it does not answer CAF's handshake either) and goes on with the other,
// exactly once.
BOOST_FIXTURE_TEST_CASE(a_hung_worker_is_left_out_after_the_heartbeat_timeout, ScaleOutFixture) {
  SluiceWorker hung;
  SluiceWorker healthy;
  add_events(2000);
  LoggedSession coordinator;
  StreamingQuery query = start_script(
      coordinator.sql, pipeline(*broker, directory, "hung",
                                "workers = '" + hung.address() + "," + healthy.address() + "', "));
  await_first_commit(query);
  hung.pause();
  const auto paused = std::chrono::steady_clock::now();
  add_events(1000);
  await_all_processed(query);
  BOOST_TEST_MESSAGE("the query went on without the hung worker "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - paused)
                            .count()
                     << " ms after SIGSTOP");
  BOOST_TEST(coordinator.restarts->any_contains("worker " + hung.address() +
                                                " did not answer a heartbeat within 5 s"));
  bool named = false;
  for (const auto& warning : query.warnings())
    named = named || warning.find("cannot reach worker " + hung.address()) != std::string::npos;
  BOOST_TEST(named, "no warning names the hung worker");
  BOOST_REQUIRE(query.stop().is_ok());
  hung.kill();
  check_exactly_once(table_rows(directory.file("hung")), reference(events));
}

// With its only worker gone, the query restarts and runs the partitions in this process, from
// the state the checkpoint committed, exactly once.
BOOST_FIXTURE_TEST_CASE(with_every_worker_gone_the_partitions_run_in_process, ScaleOutFixture) {
  SluiceWorker only;
  add_events(2000);
  Session session;
  SqlContext sql(session);
  StreamingQuery query = start_script(
      sql, pipeline(*broker, directory, "alone", "workers = '" + only.address() + "', "));
  await_first_commit(query);
  std::this_thread::sleep_for(std::chrono::microseconds(random() % 20'000));
  only.kill();
  await_all_processed(query);
  const actors::RemoteTraffic after_fallback = actors::remote_traffic();
  add_events(1000);
  await_all_processed(query);
  BOOST_TEST(query.last_progress()->num_restarts >= 1);
  // Nothing crossed to a worker since: every partition ran here.
  BOOST_TEST(actors::remote_traffic().bytes_sent == after_fallback.bytes_sent);
  BOOST_REQUIRE(query.stop().is_ok());
  check_exactly_once(table_rows(directory.file("alone")), reference(events));
}

// A worker that comes back (a new process on the same address) gets its partitions again
// without anyone restarting the query: the supervisor probes it, and once it answers the
// query restarts from its last commit with it (a planned restart, reported with the reason).
BOOST_FIXTURE_TEST_CASE(a_worker_that_comes_back_gets_its_partitions_again, ScaleOutFixture) {
  auto worker = std::make_unique<SluiceWorker>();
  const std::string address = worker->address();
  const std::string port = worker->port();
  add_events(2000);
  LoggedSession coordinator;
  StreamingQuery query = start_script(
      coordinator.sql, pipeline(*broker, directory, "back", "workers = '" + address + "', "));
  await_first_commit(query);
  worker->kill();
  await_all_processed(query);  // in process now

  const auto restarted = std::chrono::steady_clock::now();
  worker = std::make_unique<SluiceWorker>(port);  // the same address again
  const std::string reason = "worker " + address + " (option workers) answers again";
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!coordinator.restarts->any_contains(reason) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  BOOST_REQUIRE_MESSAGE(coordinator.restarts->any_contains(reason),
                        "the query did not take the worker back");
  BOOST_TEST_MESSAGE("the query took the worker back "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - restarted)
                            .count()
                     << " ms after it started again");
  await_all_processed(query);
  const actors::RemoteTraffic before = actors::remote_traffic();
  add_events(1000);
  await_all_processed(query);
  BOOST_TEST(actors::remote_traffic().bytes_sent > before.bytes_sent);  // the worker runs them
  BOOST_TEST(query.last_progress()->num_restarts >= 2);
  BOOST_REQUIRE(query.stop().is_ok());
  BOOST_TEST(worker->stop() == 0);
  check_exactly_once(table_rows(directory.file("back")), reference(events));
}
