#pragma once

// What the scale-out tests share: worker child processes, a Kafka topic of random events, and
// the windowed count and sum per key computed directly from the events (the reference).

#include <signal.h>
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>

#include <map>
#include <random>
#include <thread>
#include <tuple>

#include <sluice/sluice.hpp>

#include "io/kafka_dev_broker.hpp"
#include "io/table_sink.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/kafka_test_support.hpp"
#include "tests/support/temporary_directory.hpp"

namespace sluice::scale_out_test {

using namespace std::chrono_literals;

// A worker child (`program args...`, which prints its address first); SIGKILLed when the test
// is done with it.
class WorkerProcess {
 public:
  WorkerProcess(const std::string& program, const std::vector<std::string>& args) {
    int out = -1;
    pid_ = testing::spawn_child_with_stdout(program, args, out);
    address_ = testing::read_line(out, 20s);
    ::close(out);
    BOOST_REQUIRE_MESSAGE(address_.rfind("127.0.0.1:", 0) == 0,
                          "worker printed '" + address_ + "'");
  }
  ~WorkerProcess() { kill(); }
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;
  const std::string& address() const { return address_; }
  std::string port() const { return address_.substr(address_.find(':') + 1); }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    testing::wait_child(pid_);
    pid_ = -1;
  }
  // Stops the process without closing its connections, as a hung machine would.
  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }
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
inline std::vector<Event> make_events(std::mt19937_64& random, int first, int count) {
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

inline std::string json_of(const Event& event) {
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

inline void produce(const kafka::DevBroker& broker, const std::vector<Event>& events) {
  std::vector<std::pair<std::string, std::string>> records;
  for (const auto& event : events)
    records.emplace_back(event.k, json_of(event));
  testing::produce_records(broker.bootstrap_servers(), "events", records);
}

// The windowed count and sum computed directly from the events: the independent reference.
inline std::vector<Row> reference(const std::vector<Event>& events) {
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

inline std::vector<Row> table_rows(const std::string& path) {
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

inline std::string to_text(const Row& row) {
  return "(" + std::to_string(std::get<0>(row)) + ", " + std::get<1>(row) + ", " +
         std::to_string(std::get<2>(row)) + ", " + std::to_string(std::get<3>(row)) + ")";
}

// Checks that the table equals the reference, naming the first row that differs.
inline void check_exactly_once(const std::vector<Row>& table, const std::vector<Row>& expected) {
  auto [in_table, in_expected] =
      std::mismatch(table.begin(), table.end(), expected.begin(), expected.end());
  BOOST_TEST((in_table == table.end() && in_expected == expected.end()),
             "the table (" << table.size() << " rows) differs from the reference ("
                           << expected.size() << " rows) first at table row "
                           << (in_table == table.end() ? "(none)" : to_text(*in_table))
                           << ", reference row "
                           << (in_expected == expected.end() ? "(none)" : to_text(*in_expected)));
}

// Waits until the query committed every record available now, across its restarts.
inline void await_all_processed(StreamingQuery& query) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    Status status = query.process_all_available();
    if (status.is_ok() && query.is_active()) return;
    BOOST_REQUIRE_MESSAGE(query.is_active(), "the query ended: " + status.to_string());
    std::this_thread::sleep_for(20ms);  // a run failed and the supervisor restarts it
  }
  BOOST_FAIL("the query did not catch up within 60 s");
}

// Waits until an epoch of the query committed.
inline void await_first_commit(const StreamingQuery& query) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!query.last_progress() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  BOOST_REQUIRE_MESSAGE(query.last_progress().has_value(), "no epoch committed within 30 s");
}

inline std::unique_ptr<kafka::DevBroker> start_broker() {
  auto broker = kafka::DevBroker::start(1);
  BOOST_REQUIRE_MESSAGE(broker.ok(), broker.status().to_string());
  BOOST_REQUIRE((*broker)->create_topic("events", 3).is_ok());
  return std::move(*broker);
}

// What each scale-out case starts from: a generator from a printed seed, a temporary directory
// and a Kafka broker with the topic `events`, and the events produced so far.
struct ScaleOutFixture {
  ScaleOutFixture() { BOOST_TEST_MESSAGE("seed " << seed); }
  // Produces `count` more random events into the topic.
  void add_events(int count) {
    std::vector<Event> more = make_events(random, static_cast<int>(events.size()), count);
    produce(*broker, more);
    events.insert(events.end(), more.begin(), more.end());
  }

  uint64_t seed = std::random_device{}();
  std::mt19937_64 random{seed};
  testing::TemporaryDirectory directory;
  std::unique_ptr<kafka::DevBroker> broker = start_broker();
  std::vector<Event> events;
};

}  // namespace sluice::scale_out_test
