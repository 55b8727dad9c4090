#define BOOST_TEST_MODULE socket_source
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sluice/sluice.hpp>

#include <chrono>
#include <thread>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

// A TCP server on 127.0.0.1 with a port chosen by the kernel, like `nc -lk` in Spark's guide.
class LineServer {
 public:
  LineServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    BOOST_REQUIRE(::listen(listener_, 4) == 0);
    socklen_t length = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~LineServer() {
    if (client_ >= 0) ::close(client_);
    if (listener_ >= 0) ::close(listener_);
  }
  int port() const { return port_; }
  /// Closes the listener, so that connecting to the port is refused.
  void close_listener() {
    ::close(listener_);
    listener_ = -1;
  }
  void send(const std::string& text) {
    if (client_ < 0) client_ = ::accept(listener_, nullptr, nullptr);
    BOOST_REQUIRE(client_ >= 0);
    BOOST_REQUIRE(::write(client_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }

 private:
  int listener_ = -1;
  int client_ = -1;
  int port_ = 0;
};

// Runs epochs until the memory sink holds `rows` rows or five seconds passed.
std::vector<std::vector<Value>> await_rows(Session& session, StreamingQuery& query, const std::string& name,
                                           size_t rows) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    BOOST_REQUIRE(query.process_all_available().is_ok());
    auto held = session.memory_table(name)->rows();
    if (held.size() >= rows) return held;
    std::this_thread::sleep_for(5ms);  // lines travel through the kernel: nothing to await on
  }
  return session.memory_table(name)->rows();
}

}  // namespace

BOOST_AUTO_TEST_CASE(lines_from_a_tcp_server_become_value_rows_with_an_at_most_once_warning) {
  LineServer server;
  Session session;
  auto query = session.read_stream()
                   .format("socket")
                   .option("host", "127.0.0.1")
                   .option("port", std::to_string(server.port()))
                   .load()
                   .write_stream()
                   .format("memory")
                   .query_name("lines")
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  server.send("first line\nsecond\r\n");
  server.send("thi");
  server.send("rd\n");
  auto rows = await_rows(session, *query, "lines", 3);
  BOOST_TEST((rows == std::vector<std::vector<Value>>{{"first line"}, {"second"}, {"third"}}));
  bool warned = false;
  for (const auto& warning : query->warnings()) warned |= warning.find("at-most-once") != std::string::npos;
  BOOST_TEST(warned);
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(include_timestamp_adds_the_arrival_time) {
  LineServer server;
  Session session;
  auto frame = session.read_stream()
                   .format("socket")
                   .option("host", "localhost")
                   .option("port", std::to_string(server.port()))
                   .option("includeTimestamp", "true")
                   .load();
  BOOST_REQUIRE(frame.status().is_ok());
  BOOST_TEST(frame.schema()->to_string() == "value STRING NOT NULL, timestamp TIMESTAMP NOT NULL");
  const int64_t before = system_clock()->now_micros();
  auto query = frame.write_stream().format("memory").query_name("stamped").start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  server.send("x\n");
  auto rows = await_rows(session, *query, "stamped", 1);
  BOOST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0][1].as_timestamp().micros >= before);
  BOOST_TEST(rows[0][1].as_timestamp().micros <= system_clock()->now_micros());
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(a_refused_connection_fails_the_query_naming_the_address) {
  LineServer server;
  const int port = server.port();
  server.close_listener();
  Session session;
  auto query = session.read_stream()
                   .format("socket")
                   .option("host", "127.0.0.1")
                   .option("port", std::to_string(port))
                   .load()
                   .write_stream()
                   .format("noop")
                   .start();
  BOOST_REQUIRE(query.ok());
  BOOST_REQUIRE(query->await_termination(10s));
  auto error = query->exception();
  BOOST_REQUIRE(error.has_value());
  BOOST_TEST(error->message().find("cannot connect to 127.0.0.1:" + std::to_string(port)) != std::string::npos,
             error->message());
}

BOOST_AUTO_TEST_CASE(bad_options_are_named) {
  Session session;
  auto no_port = session.read_stream().format("socket").option("host", "localhost").load();
  BOOST_TEST(no_port.status().message().find("needs option port") != std::string::npos, no_port.status().message());
  auto typo = session.read_stream().format("socket").option("host", "localhost").option("prot", "9").load();
  BOOST_TEST(typo.status().message().find("prot") != std::string::npos, typo.status().message());
  auto no_host = session.read_stream().format("socket").option("port", "9999").load();
  BOOST_TEST(no_host.status().message().find("needs option host") != std::string::npos);
}
