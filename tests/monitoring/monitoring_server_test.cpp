#define BOOST_TEST_MODULE monitoring_server
#include <boost/test/unit_test.hpp>

#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sluice/sluice.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "io/kafka_dev_broker.hpp"
#include "io/source.hpp"
#include "monitoring/monitoring_server.hpp"
#include "monitoring/prometheus_text.hpp"
#include "monitoring/query_monitor.hpp"
#include "tests/support/kafka_test_support.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using sluice::testing::TemporaryDirectory;

namespace {

// ---- a strict reader of the Prometheus text exposition format (version 0.0.4) ----

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family -> counter, gauge, histogram, ...
  std::map<std::string, std::string> help;
  std::vector<Sample> samples;

  // Returns the samples of `name` whose labels include every pair of `labels`.
  std::vector<Sample> find(const std::string& name,
                           const std::map<std::string, std::string>& labels = {}) const {
    std::vector<Sample> found;
    for (const auto& sample : samples) {
      if (sample.name != name) continue;
      bool match = true;
      for (const auto& [key, value] : labels) {
        auto it = sample.labels.find(key);
        match &= it != sample.labels.end() && it->second == value;
      }
      if (match) found.push_back(sample);
    }
    return found;
  }
  // Returns the value of the one sample of `name` with these labels; fails the test otherwise.
  double value(const std::string& name,
               const std::map<std::string, std::string>& labels = {}) const {
    auto found = find(name, labels);
    BOOST_REQUIRE_MESSAGE(found.size() == 1,
                          "expected one sample of " << name << ", found " << found.size());
    return found[0].value;
  }
};

std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return name;
}

// Parses every line or fails the test naming the line: HELP and TYPE once per family and before
// its samples, a family's samples together, each sample exactly `name{labels} value`, counters
// named *_total, no series twice, histogram buckets cumulative up to +Inf = _count.
Exposition parse_exposition(const std::string& text) {
  static const std::regex metric_name("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex label_name("[a-zA-Z_][a-zA-Z0-9_]*");
  BOOST_REQUIRE_MESSAGE(!text.empty() && text.back() == '\n',
                        "the exposition must end with a newline");
  Exposition result;
  std::set<std::string> finished_families;
  std::string current_family;
  std::set<std::string> series;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    const std::string where = "line " + std::to_string(number) + ": '" + line + "'";
    BOOST_REQUIRE_MESSAGE(!line.empty(), where << " is empty");
    if (line.rfind("# ", 0) == 0) {
      std::istringstream words(line.substr(2));
      std::string keyword, name;
      words >> keyword >> name;
      BOOST_REQUIRE_MESSAGE(keyword == "HELP" || keyword == "TYPE", where << ": unknown comment");
      BOOST_REQUIRE_MESSAGE(std::regex_match(name, metric_name), where << ": bad metric name");
      std::string rest;
      std::getline(words, rest);
      BOOST_REQUIRE_MESSAGE(!rest.empty() && rest[0] == ' ', where << ": missing text");
      rest = rest.substr(1);
      if (name != current_family) {
        BOOST_REQUIRE_MESSAGE(!finished_families.count(name),
                              where << ": family " << name << " split up");
        if (!current_family.empty()) finished_families.insert(current_family);
        current_family = name;
      }
      if (keyword == "HELP") {
        BOOST_REQUIRE_MESSAGE(!result.help.count(name), where << ": second HELP");
        BOOST_REQUIRE_MESSAGE(!rest.empty(), where << ": empty HELP");
        result.help[name] = rest;
      } else {
        BOOST_REQUIRE_MESSAGE(!result.types.count(name), where << ": second TYPE");
        BOOST_REQUIRE_MESSAGE(rest == "counter" || rest == "gauge" || rest == "histogram" ||
                                  rest == "summary" || rest == "untyped",
                              where << ": unknown type");
        if (rest == "counter")
          BOOST_CHECK_MESSAGE(name.size() > 6 && name.substr(name.size() - 6) == "_total",
                              where << ": a counter's name must end in _total");
        result.types[name] = rest;
      }
      continue;
    }
    Sample sample;
    size_t pos = 0;
    while (pos < line.size() && line[pos] != '{' && line[pos] != ' ')
      ++pos;
    sample.name = line.substr(0, pos);
    BOOST_REQUIRE_MESSAGE(std::regex_match(sample.name, metric_name), where << ": bad metric name");
    if (pos < line.size() && line[pos] == '{') {
      ++pos;
      while (true) {
        BOOST_REQUIRE_MESSAGE(pos < line.size(), where << ": unterminated labels");
        if (line[pos] == '}') break;
        size_t equals = line.find('=', pos);
        BOOST_REQUIRE_MESSAGE(equals != std::string::npos, where << ": label without '='");
        const std::string key = line.substr(pos, equals - pos);
        BOOST_REQUIRE_MESSAGE(std::regex_match(key, label_name) && key.rfind("__", 0) != 0,
                              where << ": bad label name '" << key << "'");
        pos = equals + 1;
        BOOST_REQUIRE_MESSAGE(pos < line.size() && line[pos] == '"',
                              where << ": label value not quoted");
        ++pos;
        std::string value;
        while (true) {
          BOOST_REQUIRE_MESSAGE(pos < line.size(), where << ": unterminated label value");
          char c = line[pos++];
          if (c == '"') break;
          if (c == '\\') {
            BOOST_REQUIRE_MESSAGE(pos < line.size(), where << ": dangling escape");
            char escaped = line[pos++];
            BOOST_REQUIRE_MESSAGE(escaped == '\\' || escaped == '"' || escaped == 'n',
                                  where << ": bad escape");
            value += escaped == 'n' ? '\n' : escaped;
          } else {
            value += c;
          }
        }
        BOOST_REQUIRE_MESSAGE(sample.labels.emplace(key, value).second,
                              where << ": label " << key << " twice");
        BOOST_REQUIRE_MESSAGE(pos < line.size() && (line[pos] == ',' || line[pos] == '}'),
                              where << ": expected ',' or '}' after a label");
        if (line[pos] == ',') ++pos;
      }
      ++pos;  // the '}'
    }
    BOOST_REQUIRE_MESSAGE(pos < line.size() && line[pos] == ' ',
                          where << ": expected one space before the value");
    const std::string value = line.substr(pos + 1);
    if (value == "+Inf") {
      sample.value = INFINITY;
    } else if (value == "-Inf") {
      sample.value = -INFINITY;
    } else if (value == "NaN") {
      sample.value = NAN;
    } else {
      BOOST_REQUIRE_MESSAGE(!value.empty() && value.find(' ') == std::string::npos,
                            where << ": expected exactly `name{labels} value`");
      size_t used = 0;
      sample.value = std::stod(value, &used);
      BOOST_REQUIRE_MESSAGE(used == value.size(), where << ": bad value '" << value << "'");
    }
    const std::string family = family_of(sample.name, result.types);
    BOOST_REQUIRE_MESSAGE(result.types.count(family), where << ": sample before its TYPE line");
    BOOST_REQUIRE_MESSAGE(family == current_family, where << ": sample outside its family's block");
    std::string key = sample.name;
    for (const auto& [k, v] : sample.labels)
      key += "|" + k + "=" + v;
    BOOST_REQUIRE_MESSAGE(series.insert(key).second, where << ": the same series twice");
    result.samples.push_back(std::move(sample));
  }
  // Histograms: buckets never decrease, +Inf equals _count.
  for (const auto& [family, type] : result.types) {
    if (type != "histogram") continue;
    std::map<std::string, std::vector<std::pair<double, double>>>
        buckets;  // per label set without le
    for (const auto& sample : result.find(family + "_bucket")) {
      auto labels = sample.labels;
      BOOST_REQUIRE_MESSAGE(labels.count("le"), family << "_bucket without le");
      const std::string le = labels["le"];
      labels.erase("le");
      std::string key;
      for (const auto& [k, v] : labels)
        key += k + "=" + v + "|";
      buckets[key].emplace_back(le == "+Inf" ? INFINITY : std::stod(le), sample.value);
    }
    for (auto& [key, points] : buckets) {
      std::sort(points.begin(), points.end());
      for (size_t i = 1; i < points.size(); ++i)
        BOOST_CHECK_MESSAGE(points[i].second >= points[i - 1].second,
                            family << " buckets decrease for " << key);
      BOOST_CHECK_MESSAGE(std::isinf(points.back().first),
                          family << " lacks a +Inf bucket for " << key);
    }
  }
  return result;
}

// ---- HTTP over a real loopback socket ----

struct Response {
  int status = 0;
  std::string content_type;
  std::string body;
};

Response get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  auto result = client.Get(path.c_str());
  BOOST_REQUIRE_MESSAGE(result,
                        "GET " << path << " failed: " << httplib::to_string(result.error()));
  return {result->status, result->get_header_value("Content-Type"), result->body};
}

Exposition scrape(const MonitoringServer& server) {
  Response response = get(server.port(), "/metrics");
  BOOST_REQUIRE_EQUAL(response.status, 200);
  BOOST_TEST(response.content_type.find("text/plain; version=0.0.4") == 0u, response.content_type);
  return parse_exposition(response.body);
}

// Scrapes until `done` holds: a report reaches the monitor on the runtime's thread, possibly a
// moment after process_all_available returned.
Exposition scrape_until(const MonitoringServer& server,
                        const std::function<bool(const Exposition&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (true) {
    Exposition metrics = scrape(server);
    if (done(metrics) || std::chrono::steady_clock::now() > deadline) return metrics;
    std::this_thread::sleep_for(20ms);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " << path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// ---- the query under watch ----

SchemaPtr events() {
  return Schema::make({{"k", Type::String}, {"v", Type::Int64}, {"ts", Type::Timestamp}}).value();
}

Value ts(int64_t seconds) {
  return Value(Timestamp{seconds * 1'000'000});
}

DataFrame windowed_counts(const MemoryStream& input) {
  return input.to_df()
      .with_watermark("ts", "10 seconds")
      .group_by(window(col("ts"), "10 seconds"), col("k"))
      .agg(count().alias("n"));
}

// Rounds of rows; the last round holds a row behind the watermark (max event time 25 s minus
// 10 s puts it at 15 s; the row at 3 s is late).
const std::vector<std::vector<std::vector<Value>>> kRounds = {
    {{"a", 1, ts(1)}, {"a", 2, ts(5)}, {"b", 3, ts(12)}},
    {{"a", 4, ts(25)}, {"c", 5, ts(21)}},
    {{"a", 6, ts(26)}, {"a", 7, ts(3)}},
};
constexpr int64_t kLateRows = 1;

int64_t rows_in(const std::vector<std::vector<std::vector<Value>>>& rounds) {
  int64_t rows = 0;
  for (const auto& round : rounds)
    rows += static_cast<int64_t>(round.size());
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(metrics_count_every_fed_row_in_the_prometheus_text_format) {
  Session session;
  auto server = MonitoringServer::start(session);
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().to_string());
  BOOST_TEST((*server)->port() > 0);
  BOOST_TEST((*server)->url() == "http://127.0.0.1:" + std::to_string((*server)->port()) + "/");

  MemoryStream input(session, events());
  auto query =
      windowed_counts(input).write_stream().format("memory").query_name("windowed_counts").start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  for (const auto& round : kRounds) {
    BOOST_REQUIRE(input.add_data(round).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  const int64_t fed = rows_in(kRounds);
  const std::map<std::string, std::string> labels = {{"query", "windowed_counts"},
                                                     {"query_id", query->id()}};
  // Wait until the server saw every report the query kept (a watermark-only epoch may follow the
  // last data epoch), then compare against those reports.
  std::vector<StreamingQueryProgress> reports;
  Exposition metrics = scrape_until(**server, [&](const Exposition& m) {
    reports = query->recent_progress();
    auto found = m.find("sluice_query_epochs_total", labels);
    return found.size() == 1 && found[0].value == static_cast<double>(reports.size());
  });
  BOOST_REQUIRE(!reports.empty());
  const int64_t epochs = static_cast<int64_t>(reports.size());
  const StreamingQueryProgress last = reports.back();

  // Every family the issue asks for is there, with HELP and TYPE.
  const std::map<std::string, std::string> expected_types = {
      {"sluice_query_input_rows_total", "counter"},
      {"sluice_query_input_rows_per_second", "gauge"},
      {"sluice_query_processed_rows_per_second", "gauge"},
      {"sluice_query_epochs_total", "counter"},
      {"sluice_query_epoch_duration_seconds", "histogram"},
      {"sluice_query_last_epoch_duration_seconds", "gauge"},
      {"sluice_query_last_epoch_phase_duration_seconds", "gauge"},
      {"sluice_query_epoch_phase_duration_seconds_total", "counter"},
      {"sluice_query_last_commit_duration_seconds", "gauge"},
      {"sluice_query_watermark_timestamp_seconds", "gauge"},
      {"sluice_query_watermark_lag_seconds", "gauge"},
      {"sluice_query_sink_rows_total", "counter"},
      {"sluice_query_restarts_total", "counter"},
      {"sluice_query_active", "gauge"},
      {"sluice_source_input_rows_total", "counter"},
      {"sluice_state_rows", "gauge"},
      {"sluice_state_memory_bytes", "gauge"},
      {"sluice_state_rows_dropped_by_watermark_total", "counter"},
  };
  for (const auto& [name, type] : expected_types) {
    BOOST_TEST(metrics.types[name] == type, name);
    BOOST_TEST(!metrics.help[name].empty(), name);
  }

  // Counters against what the test fed and what the sink holds.
  BOOST_TEST(metrics.value("sluice_query_input_rows_total", labels) == static_cast<double>(fed));
  BOOST_TEST(metrics.value("sluice_source_input_rows_total", labels) == static_cast<double>(fed));
  BOOST_TEST(metrics.value("sluice_query_epochs_total", labels) == static_cast<double>(epochs));
  auto table = session.memory_table("windowed_counts");
  BOOST_REQUIRE(table);
  BOOST_TEST(metrics.value("sluice_query_sink_rows_total", labels) ==
             static_cast<double>(table->rows().size()));
  BOOST_TEST(metrics.value("sluice_state_rows_dropped_by_watermark_total", labels) ==
             static_cast<double>(kLateRows));
  BOOST_TEST(metrics.value("sluice_query_restarts_total", labels) == 0.0);
  BOOST_TEST(metrics.value("sluice_query_active", labels) == 1.0);
  BOOST_TEST(metrics.value("sluice_query_last_epoch_id", labels) ==
             static_cast<double>(last.batch_id));

  // Gauges against the last progress report.
  BOOST_REQUIRE_EQUAL(last.state_operators.size(), 1u);
  const std::string op = last.state_operators[0].operator_name;
  BOOST_TEST(metrics.value("sluice_state_rows", {{"query_id", query->id()}, {"operator", op}}) ==
             static_cast<double>(last.state_operators[0].num_rows_total));
  BOOST_TEST(
      metrics.value("sluice_state_memory_bytes", {{"query_id", query->id()}, {"operator", op}}) ==
      static_cast<double>(last.state_operators[0].memory_used_bytes));
  // The watermark trails the largest event time (25 s, then 26 s) by 10 s.
  const double watermark = metrics.value("sluice_query_watermark_timestamp_seconds", labels);
  BOOST_TEST((watermark == 15.0 || watermark == 16.0), watermark);
  BOOST_TEST(watermark * 1e6 ==
             static_cast<double>(parse_iso_timestamp(last.event_time.at("watermark")).value()));
  BOOST_TEST(metrics.value("sluice_query_watermark_lag_seconds", labels) ==
             static_cast<double>(parse_iso_timestamp(last.timestamp).value()) / 1e6 - watermark);
  for (const char* phase :
       {"triggerExecution", "walCommit", "addBatch", "commit", "latestOffset"}) {
    auto found = metrics.find("sluice_query_last_epoch_phase_duration_seconds",
                              {{"query_id", query->id()}, {"phase", phase}});
    BOOST_TEST(found.size() == 1u, phase);
  }
  BOOST_TEST(metrics.value("sluice_query_epoch_duration_seconds_count", labels) ==
             static_cast<double>(epochs));
  BOOST_TEST(metrics.value("sluice_query_epoch_duration_seconds_bucket",
                           {{"query_id", query->id()}, {"le", "+Inf"}}) ==
             static_cast<double>(epochs));

  BOOST_REQUIRE(query->stop().is_ok());
  metrics = scrape_until(**server, [&](const Exposition& m) {
    return m.find("sluice_query_active", labels).size() == 1 &&
           m.value("sluice_query_active", labels) == 0.0;
  });
  BOOST_TEST(metrics.value("sluice_query_active", labels) == 0.0);
  BOOST_TEST(metrics.value("sluice_query_input_rows_total", labels) == static_cast<double>(fed));
}

BOOST_AUTO_TEST_CASE(the_json_api_serves_queries_and_their_recent_progress) {
  Session session;
  auto server = MonitoringServer::start(session, {.history_size = 2});
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().to_string());
  MemoryStream input(session, events());
  auto query = windowed_counts(input).write_stream().format("memory").query_name("api").start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  for (const auto& round : kRounds) {
    BOOST_REQUIRE(input.add_data(round).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  int64_t last_batch = -1;
  const int port = (*server)->port();
  simdjson::dom::parser parser;

  // /api/queries: the query with its totals, once every report arrived.
  simdjson::dom::element query_json;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;;) {
    Response response = get(port, "/api/queries");
    BOOST_REQUIRE_EQUAL(response.status, 200);
    BOOST_TEST(response.content_type.find("application/json") == 0u);
    simdjson::dom::element document;
    BOOST_REQUIRE_MESSAGE(!parser.parse(response.body).get(document),
                          "not JSON: " << response.body);
    simdjson::dom::array queries;
    BOOST_REQUIRE(!document["queries"].get(queries));
    BOOST_REQUIRE_EQUAL(queries.size(), 1u);
    query_json = queries.at(0).value();
    int64_t seen = -1;
    if (query_json["lastBatchId"].get(seen) != simdjson::SUCCESS) seen = -1;
    last_batch = query->last_progress()->batch_id;
    if (seen == last_batch || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(std::string_view(query_json["id"].get_string().value()) == query->id());
  BOOST_TEST(std::string_view(query_json["runId"].get_string().value()) == query->run_id());
  BOOST_TEST(std::string_view(query_json["name"].get_string().value()) == "api");
  BOOST_TEST(query_json["active"].get_bool().value());
  BOOST_TEST(query_json["exception"].is_null());
  BOOST_TEST(query_json["lastBatchId"].get_int64().value() == last_batch);
  BOOST_TEST(query_json["inputRowsTotal"].get_int64().value() == rows_in(kRounds));
  BOOST_TEST(query_json["numRowsDroppedByWatermarkTotal"].get_int64().value() == kLateRows);
  BOOST_TEST(query_json["lastProgress"]["batchId"].get_int64().value() == last_batch);

  // /api/queries/{id}/progress: the last history_size reports, exactly as the API renders them.
  const auto recent = query->recent_progress();
  BOOST_REQUIRE_GE(recent.size(), 2u);
  Response response = get(port, "/api/queries/" + query->id() + "/progress");
  BOOST_REQUIRE_EQUAL(response.status, 200);
  BOOST_TEST(response.body ==
             "[" + recent[recent.size() - 2].json() + "," + recent.back().json() + "]");
  simdjson::dom::element progress;
  BOOST_REQUIRE(!parser.parse(response.body).get(progress));
  BOOST_TEST(progress.get_array().value().size() == 2u);

  // ?since=N keeps later epochs only; bad input and unknown ids are errors, not crashes.
  response = get(
      port, "/api/queries/" + query->id() + "/progress?since=" + std::to_string(last_batch - 1));
  BOOST_TEST(response.body == "[" + recent.back().json() + "]");
  response =
      get(port, "/api/queries/" + query->id() + "/progress?since=" + std::to_string(last_batch));
  BOOST_TEST(response.body == "[]");
  response = get(port, "/api/queries/" + query->id() + "/progress?since=x");
  BOOST_TEST(response.status == 400);
  response = get(port, "/api/queries/no-such-query/progress");
  BOOST_TEST(response.status == 404);
  BOOST_TEST(response.body.find("no-such-query") != std::string::npos);
  BOOST_TEST(get(port, "/no/such/page").status == 404);
  (void)query->stop();
}

BOOST_AUTO_TEST_CASE(the_dashboard_and_upLot_are_served_from_the_binary) {
  Session session;
  auto server = MonitoringServer::start(session);
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().to_string());
  const int port = (*server)->port();
  const std::string root = SLUICE_SOURCE_DIR;
  const std::map<std::string, std::pair<std::string, std::string>> files = {
      {"/", {root + "/monitoring/dashboard.html", "text/html"}},
      {"/assets/dashboard.js", {root + "/monitoring/dashboard.js", "text/javascript"}},
      {"/assets/dashboard.css", {root + "/monitoring/dashboard.css", "text/css"}},
      {"/assets/uPlot.iife.min.js",
       {root + "/node_modules/uplot/dist/uPlot.iife.min.js", "text/javascript"}},
      {"/assets/uPlot.min.css", {root + "/node_modules/uplot/dist/uPlot.min.css", "text/css"}},
  };
  for (const auto& [path, file] : files) {
    Response response = get(port, path);
    BOOST_TEST(response.status == 200, path);
    BOOST_TEST(response.content_type.find(file.second) == 0u,
               path << ": " << response.content_type);
    BOOST_TEST((response.body == read_file(file.first)), path << " differs from " << file.first);
  }
  // The page loads nothing from elsewhere: no CDN, so it works offline.
  const std::string page = get(port, "/").body;
  BOOST_TEST(page.find("http://") == std::string::npos);
  BOOST_TEST(page.find("https://") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_server_started_after_the_query_counts_its_earlier_epochs_once) {
  Session session;
  MemoryStream input(session, events());
  auto query =
      windowed_counts(input).write_stream().format("noop").query_name("late_server").start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data(kRounds[0]).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());

  auto server = MonitoringServer::start(session);
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().to_string());
  BOOST_REQUIRE(input.add_data(kRounds[1]).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  const double fed = static_cast<double>(kRounds[0].size() + kRounds[1].size());
  const std::map<std::string, std::string> labels = {{"query", "late_server"}};
  Exposition metrics = scrape_until(**server, [&](const Exposition& m) {
    auto found = m.find("sluice_query_input_rows_total", labels);
    return found.size() == 1 && found[0].value >= fed;
  });
  BOOST_TEST(metrics.value("sluice_query_input_rows_total", labels) == fed);
  BOOST_TEST(metrics.value("sluice_query_epochs_total", labels) ==
             static_cast<double>(query->recent_progress().size()));
  (void)query->stop();
}

BOOST_AUTO_TEST_CASE(a_restart_from_the_checkpoint_counts_as_a_restart_of_the_same_query) {
  TemporaryDirectory directory;
  Session session;
  auto server = MonitoringServer::start(session);
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().to_string());
  MemoryStream input(session, events());
  auto start = [&] {
    return windowed_counts(input)
        .write_stream()
        .format("noop")
        .query_name("restarted")
        .option("checkpointLocation", directory.path())
        .start();
  };
  auto first = start();
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().to_string());
  BOOST_REQUIRE(input.add_data(kRounds[0]).is_ok());
  BOOST_REQUIRE(first->process_all_available().is_ok());
  BOOST_REQUIRE(first->stop().is_ok());
  auto second = start();
  BOOST_REQUIRE_MESSAGE(second.ok(), second.status().to_string());
  BOOST_REQUIRE(second->id() == first->id());
  BOOST_REQUIRE(input.add_data(kRounds[1]).is_ok());
  BOOST_REQUIRE(second->process_all_available().is_ok());

  const double fed = static_cast<double>(kRounds[0].size() + kRounds[1].size());
  const std::map<std::string, std::string> labels = {{"query_id", first->id()}};
  Exposition metrics = scrape_until(**server, [&](const Exposition& m) {
    auto found = m.find("sluice_query_input_rows_total", labels);
    return found.size() == 1 && found[0].value >= fed;
  });
  BOOST_TEST(metrics.value("sluice_query_input_rows_total", labels) == fed);
  BOOST_TEST(metrics.value("sluice_query_restarts_total", labels) == 1.0);
  BOOST_TEST(
      metrics.find("sluice_query_info", {{"query_id", first->id()}, {"run_id", second->run_id()}})
          .size() == 1u);
  (void)second->stop();
}

BOOST_AUTO_TEST_CASE(a_port_in_use_is_an_error_naming_the_address) {
  Session session;
  auto first = MonitoringServer::start(session);
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().to_string());
  auto second = MonitoringServer::start(session, {.port = (*first)->port()});
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.status().message().find("127.0.0.1:" + std::to_string((*first)->port())) !=
                 std::string::npos,
             second.status().message());
  BOOST_TEST(!MonitoringServer::start(session, {.port = 70000}).ok());
  (*first)->stop();
  (*first)->stop();  // idempotent
}

BOOST_AUTO_TEST_CASE(progress_timestamps_parse_to_unix_microseconds) {
  BOOST_TEST(parse_iso_timestamp("1970-01-01T00:00:00.000Z").value() == 0);
  BOOST_TEST(parse_iso_timestamp("1970-01-01T00:00:16.250Z").value() == 16'250'000);
  BOOST_TEST(parse_iso_timestamp("2026-11-25T15:16:19.123Z").value() == 1'795'619'779'123'000);
  BOOST_TEST(parse_iso_timestamp("1969-12-31T23:59:59.000Z").value() == -1'000'000);
  BOOST_TEST(!parse_iso_timestamp("2026-11-25 15:16:19").has_value());
  BOOST_TEST(!parse_iso_timestamp("2026-13-25T15:16:19.123Z").has_value());
}

BOOST_AUTO_TEST_CASE(label_values_are_escaped_and_the_text_stays_parseable) {
  BOOST_TEST(prometheus_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  QueryTotals query;
  query.id = "id-1";
  query.name = "odd \"name\"\\\nhere";
  query.runs = 1;
  query.epoch_duration_buckets.assign(std::size(kEpochDurationBuckets), 0);
  query.operators = {{.name = "agg", .num_rows_total = 3}, {.name = "agg", .num_rows_total = 4}};
  query.sources = {{.description = "Memory[\"x\"]", .input_rows_total = 5}};
  Exposition metrics = parse_exposition(prometheus_text({query}));
  BOOST_TEST(metrics.value("sluice_state_rows", {{"query", query.name}, {"operator", "agg"}}) ==
             3.0);
  BOOST_TEST(metrics.value("sluice_state_rows", {{"query", query.name}, {"operator", "agg#2"}}) ==
             4.0);
  BOOST_TEST(metrics.value("sluice_source_input_rows_total", {{"source", "Memory[\"x\"]"}}) == 5.0);
  // Gauges of the last epoch are left out, not made up, before the first epoch.
  BOOST_TEST(metrics.find("sluice_query_input_rows_per_second").empty());
  BOOST_TEST(metrics.value("sluice_query_input_rows_total", {{"query_id", "id-1"}}) == 0.0);
}

namespace {

// Fetches /api/queries until `done` holds for the query with this id; returns that query's JSON
// text (or the last one seen when the deadline passed).
std::string query_json_until(int port, const std::string& id,
                             const std::function<bool(simdjson::dom::element)>& done) {
  simdjson::dom::parser parser;
  std::string last;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (true) {
    Response response = get(port, "/api/queries");
    BOOST_REQUIRE_EQUAL(response.status, 200);
    simdjson::dom::element document;
    BOOST_REQUIRE_MESSAGE(!parser.parse(response.body).get(document), "not JSON: " << response.body);
    simdjson::dom::array queries;
    BOOST_REQUIRE(!document["queries"].get(queries));
    for (simdjson::dom::element query : queries) {
      if (std::string_view(query["id"].get_string().value()) != id) continue;
      last = simdjson::minify(query);
      if (done(query)) return last;
    }
    if (std::chrono::steady_clock::now() > deadline) return last;
    std::this_thread::sleep_for(20ms);
  }
}

std::string string_field(simdjson::dom::element object, const char* key) {
  std::string_view text;
  return object[key].get_string().get(text) == simdjson::SUCCESS ? std::string(text) : "";
}

// A raw loopback TCP connection that sends what the test says and reads only when asked.
class RawClient {
 public:
  RawClient(int port, int receive_buffer = 0) {
    socket_ = ::socket(AF_INET, SOCK_STREAM, 0);
    BOOST_REQUIRE(socket_ >= 0);
    // A tiny receive window makes a response larger than it stall in the server's write.
    if (receive_buffer > 0)
      ::setsockopt(socket_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::connect(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~RawClient() { ::close(socket_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void send(const std::string& text) {
    BOOST_REQUIRE(::send(socket_, text.data(), text.size(), MSG_NOSIGNAL) ==
                  static_cast<ssize_t>(text.size()));
  }
  // Reads and drops everything until the server closes the connection; false if it is still
  // open after `timeout`.
  bool closed_by_server_within(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd ready{socket_, POLLIN, 0};
      if (::poll(&ready, 1, 50) <= 0) continue;
      const ssize_t got = ::recv(socket_, buffer, sizeof buffer, 0);
      if (got <= 0) return true;
    }
    return false;
  }

 private:
  int socket_ = -1;
};

int64_t last_batch_id(const StreamingQuery& query) {
  auto last = query.last_progress();
  return last ? last->batch_id : -1;
}

}  // namespace

namespace {

// A Kafka query held back by maxOffsetsPerTrigger: ten records an epoch of the 300 + 100 in the
// topic's two partitions keep it behind for seconds.
struct KafkaLagQuery {
  std::unique_ptr<kafka::DevBroker> broker;
  Session session;
  std::unique_ptr<MonitoringServer> server;
  std::optional<StreamingQuery> query;

  KafkaLagQuery() {
    auto started = kafka::DevBroker::start();
    BOOST_REQUIRE_MESSAGE(started.ok(), started.status().to_string());
    broker = std::move(*started);
    const std::string bootstrap = broker->bootstrap_servers();
    BOOST_REQUIRE(broker->create_topic("events", 2).is_ok());
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = 0; i < 300; ++i)
      records.emplace_back("k" + std::to_string(i), "v" + std::to_string(i));
    testing::produce_records(bootstrap, "events", records, 0);
    testing::produce_records(bootstrap, "events", {records.begin(), records.begin() + 100}, 1);
    auto monitoring = MonitoringServer::start(session);
    BOOST_REQUIRE_MESSAGE(monitoring.ok(), monitoring.status().to_string());
    server = std::move(*monitoring);
    auto running = session.read_stream()
                       .format("kafka")
                       .option("kafka.bootstrap.servers", bootstrap)
                       .option("subscribe", "events")
                       .option("startingOffsets", "earliest")
                       .option("maxOffsetsPerTrigger", "10")
                       .load()
                       .write_stream()
                       .format("noop")
                       .trigger(Trigger::ProcessingTime(200ms))
                       .query_name("kafka_lag")
                       .start();
    BOOST_REQUIRE_MESSAGE(running.ok(), running.status().to_string());
    query = *running;
  }
  ~KafkaLagQuery() {
    if (query) (void)query->stop();
  }

  // Scrapes once the server has a report, and returns the scrape with the report it was made
  // from (the one of its last epoch id).
  std::pair<Exposition, StreamingQueryProgress> scrape_with_report() {
    const std::map<std::string, std::string> labels = {{"query_id", query->id()}};
    StreamingQueryProgress report;
    Exposition metrics = scrape_until(*server, [&](const Exposition& m) {
      auto last = m.find("sluice_query_last_epoch_id", labels);
      if (last.size() != 1) return false;
      for (const auto& progress : query->recent_progress()) {
        if (progress.batch_id == static_cast<int64_t>(last[0].value)) {
          report = progress;
          return true;
        }
      }
      return false;
    });
    BOOST_REQUIRE_EQUAL(report.sources.size(), 1u);
    return {std::move(metrics), std::move(report)};
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(source_lag_per_kafka_partition_is_latest_minus_end_offset_of_the_last_report) {
  KafkaLagQuery kafka;
  auto [metrics, report] = kafka.scrape_with_report();
  BOOST_TEST(metrics.types["sluice_source_lag_records"] == "gauge");
  const SourceOffset end = offset_from_json(report.sources[0].end_offset).value();
  const SourceOffset latest = offset_from_json(report.sources[0].latest_offset).value();
  BOOST_REQUIRE_EQUAL(end.size(), 2u);
  BOOST_REQUIRE_EQUAL(latest.size(), 2u);
  for (size_t p = 0; p < end.size(); ++p) {
    const double lag = metrics.value("sluice_source_lag_records",
                                     {{"query_id", kafka.query->id()},
                                      {"source", report.sources[0].description},
                                      {"source_index", "0"},
                                      {"partition", std::to_string(p)}});
    BOOST_TEST(lag == static_cast<double>(latest[p] - end[p]), "partition " << p);
  }
  BOOST_TEST(metrics.find("sluice_source_lag_records", {{"query_id", kafka.query->id()}}).size() ==
             2u);
}

// latestOffset is the source's real latest offset (as in Spark), not the rate-limited end of
// the epoch: that is what makes the lag visible.
BOOST_AUTO_TEST_CASE(kafka_lag_shows_the_records_max_offsets_per_trigger_holds_back) {
  KafkaLagQuery kafka;
  auto [metrics, report] = kafka.scrape_with_report();
  const SourceOffset latest = offset_from_json(report.sources[0].latest_offset).value();
  // What the broker holds, counted independently of the source.
  BOOST_TEST((latest == SourceOffset{300, 100}));
  double total = 0;
  for (const auto& sample :
       metrics.find("sluice_source_lag_records", {{"query_id", kafka.query->id()}}))
    total += sample.value;
  BOOST_TEST(total > 0, "no lag although the query reads 10 of 400 records an epoch");
}

BOOST_AUTO_TEST_CASE(lag_is_latest_minus_end_for_every_partition_of_array_offsets) {
  QueryTotals query;
  query.id = "q";
  query.name = "lagging";
  StreamingQueryProgress report;
  report.id = "q";
  report.sources.push_back({"KafkaV2[Subscribe[a]]", "[0,0]", "[3,7]", "[10,7]", 10, 0, 0, {}});
  report.sources.push_back({"FileStreamSource[/in]", "{}", "{\"files\":1}", "{\"files\":2}", 1, 0, 0, {}});
  report.sources.push_back({"RateStreamV2", "[5]", "[9]", "[12]", 4, 0, 0, {}});
  query.sources = {{report.sources[0].description}, {report.sources[1].description},
                   {report.sources[2].description}};
  query.history.push_back(report);
  const Exposition metrics = parse_exposition(prometheus_text({query}));
  auto lag = [&](const std::string& source, const std::string& partition) {
    return metrics.value("sluice_source_lag_records",
                         {{"query", "lagging"}, {"source_index", source}, {"partition", partition}});
  };
  BOOST_TEST(lag("0", "0") == 10.0 - 3.0);
  BOOST_TEST(lag("0", "1") == 0.0);
  BOOST_TEST(lag("2", "0") == 12.0 - 9.0);
  // A source whose offsets are not arrays has no partitions to speak of.
  BOOST_TEST(metrics.find("sluice_source_lag_records", {{"source_index", "1"}}).empty());
  BOOST_TEST(metrics.find("sluice_source_lag_records").size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_failed_query_shows_its_state_error_and_plan_in_the_json_api) {
  Session session;
  auto server = MonitoringServer::start(session);
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().to_string());
  MemoryStream input(session, events());
  auto doomed = input.to_df()
                    .write_stream()
                    .foreach_batch([](const RecordBatchPtr&, int64_t) {
                      return Status::io_error("disk on fire");
                    })
                    .query_name("doomed")
                    .start();
  BOOST_REQUIRE_MESSAGE(doomed.ok(), doomed.status().to_string());
  MemoryStream other_input(session, events());
  auto stopped = windowed_counts(other_input).write_stream().format("memory").query_name("stopped").start();
  BOOST_REQUIRE_MESSAGE(stopped.ok(), stopped.status().to_string());

  // The API shows each query's state while it runs.
  const int port = (*server)->port();
  std::string json = query_json_until(port, doomed->id(), [](simdjson::dom::element q) {
    return string_field(q, "state") == "active";
  });
  BOOST_TEST(json.find("\"state\":\"active\"") != std::string::npos, json);

  BOOST_REQUIRE(input.add_data({{"a", 1, ts(1)}}).is_ok());
  BOOST_TEST(!doomed->process_all_available().is_ok());
  BOOST_REQUIRE(doomed->await_termination(10s));
  BOOST_REQUIRE(stopped->stop().is_ok());

  const std::string error = doomed->exception().value().to_string();
  simdjson::dom::parser parser;
  json = query_json_until(port, doomed->id(), [](simdjson::dom::element q) {
    return string_field(q, "state") == "failed";
  });
  simdjson::dom::element failed = parser.parse(json).value();
  BOOST_TEST(string_field(failed, "state") == "failed", json);
  BOOST_TEST(!failed["active"].get_bool().value());
  BOOST_TEST(string_field(failed, "exception") == error);
  BOOST_TEST(error.find("disk on fire") != std::string::npos, error);
  BOOST_TEST(string_field(failed, "plan") == doomed->explain());
  BOOST_TEST(string_field(failed, "plan").find("== Physical Plan ==") != std::string::npos);

  json = query_json_until(port, stopped->id(), [](simdjson::dom::element q) {
    return string_field(q, "state") == "stopped";
  });
  simdjson::dom::element ended = parser.parse(json).value();
  BOOST_TEST(string_field(ended, "state") == "stopped", json);
  BOOST_TEST(ended["exception"].is_null());
  BOOST_TEST(string_field(ended, "plan") == stopped->explain());

  const Exposition metrics = scrape(**server);
  BOOST_TEST(metrics.value("sluice_query_failures_total", {{"query_id", doomed->id()}}) == 1.0);
  BOOST_TEST(metrics.value("sluice_query_active", {{"query_id", doomed->id()}}) == 0.0);
}

BOOST_AUTO_TEST_CASE(clients_that_stall_block_neither_the_query_nor_other_clients) {
  Session session;
  MonitoringOptions options;
  options.read_timeout = 1s;
  options.write_timeout = 1s;
  auto server = MonitoringServer::start(session, options);
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().to_string());
  auto query = session.read_stream()
                   .format("rate")
                   .option("rowsPerSecond", "1000")
                   .load()
                   .write_stream()
                   .format("noop")
                   .trigger(Trigger::ProcessingTime(100ms))
                   .query_name("steady")
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  const int port = (*server)->port();
  // Wait for a few epochs, so that the progress response is larger than the stalled reader's
  // window.
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       last_batch_id(*query) < 5 && std::chrono::steady_clock::now() < deadline;)
    std::this_thread::sleep_for(20ms);
  BOOST_REQUIRE_GE(last_batch_id(*query), 5);

  // Clients that ask and never read, and clients that never finish asking.
  std::vector<std::unique_ptr<RawClient>> stalled;
  for (int i = 0; i < 3; ++i) {
    stalled.push_back(std::make_unique<RawClient>(port));
    stalled.back()->send("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stalled.push_back(std::make_unique<RawClient>(port, 1024));
    stalled.back()->send("GET /api/queries/" + query->id() +
                         "/progress HTTP/1.1\r\nHost: localhost\r\n\r\n");
    // uPlot (about 50 kB) does not fit the socket buffers: the server's write waits.
    stalled.push_back(std::make_unique<RawClient>(port, 1024));
    stalled.back()->send("GET /assets/uPlot.iife.min.js HTTP/1.1\r\nHost: localhost\r\n\r\n");
  }
  std::vector<std::unique_ptr<RawClient>> unfinished;
  for (int i = 0; i < 4; ++i) {
    unfinished.push_back(std::make_unique<RawClient>(port));
    unfinished.back()->send("GET /metrics HTTP/1.1\r\nHost: loc");
  }

  // The query goes on at its pace: 10 epochs of 100 ms take about a second.
  const int64_t before = last_batch_id(*query);
  const auto started = std::chrono::steady_clock::now();
  while (last_batch_id(*query) < before + 10 && std::chrono::steady_clock::now() < started + 5s)
    std::this_thread::sleep_for(10ms);
  const auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(last_batch_id(*query) >= before + 10,
             "epochs " << before << " -> " << last_batch_id(*query) << " in 5 s");
  BOOST_TEST((took < 4s));

  // Another client is served at once, and sees the query's latest epochs.
  const auto asked = std::chrono::steady_clock::now();
  const Exposition metrics = scrape(**server);
  BOOST_TEST((std::chrono::steady_clock::now() - asked < 1s));
  BOOST_TEST(metrics.value("sluice_query_last_epoch_id", {{"query_id", query->id()}}) >=
             static_cast<double>(before + 10));

  // The server lets every stalled client go, freeing its worker: a request left unfinished
  // after the read timeout, an answered one after the keep-alive timeout (2 s).
  for (auto& client : unfinished)
    BOOST_TEST(client->closed_by_server_within(3s));
  for (auto& client : stalled)
    BOOST_TEST(client->closed_by_server_within(3s));
  BOOST_REQUIRE(query->stop().is_ok());
}

BOOST_AUTO_TEST_CASE(checkpoints_under_the_root_are_inspected_and_others_are_forbidden) {
  TemporaryDirectory root;
  TemporaryDirectory elsewhere;
  Session session;
  MonitoringOptions options;
  options.checkpoint_root = root.path();
  auto server = MonitoringServer::start(session, options);
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().to_string());
  const int port = (*server)->port();

  MemoryStream input(session, events());
  auto query = windowed_counts(input)
                   .write_stream()
                   .format("memory")
                   .query_name("checkpointed")
                   .option("checkpointLocation", root.file("counts"))
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  for (const auto& round : kRounds) {
    BOOST_REQUIRE(input.add_data(round).is_ok());
    BOOST_REQUIRE(query->process_all_available().is_ok());
  }
  // A running query holds its checkpoint: it is not read under it.
  Response busy = get(port, "/api/checkpoints?path=counts");
  BOOST_TEST(busy.status == 404, busy.body);
  BOOST_TEST(busy.body.find("in use") != std::string::npos, busy.body);

  const StreamingQueryProgress last = query->last_progress().value();
  BOOST_REQUIRE(query->stop().is_ok());
  Response response = get(port, "/api/checkpoints?path=counts");
  BOOST_REQUIRE_MESSAGE(response.status == 200, response.body);
  BOOST_TEST(response.content_type.find("application/json") == 0u);
  simdjson::dom::parser parser;
  simdjson::dom::array reports = parser.parse(response.body).get_array().value();
  BOOST_REQUIRE_EQUAL(reports.size(), 1u);
  simdjson::dom::element report = reports.at(0).value();
  BOOST_TEST(string_field(report, "queryId") == query->id());
  BOOST_TEST(report["latestCommittedEpoch"].get_int64().value() == last.batch_id);
  BOOST_TEST(simdjson::minify(report["sourceOffsets"]) == "[" + last.sources[0].end_offset + "]");
  BOOST_TEST(report["watermark"].get_int64().value() ==
             parse_iso_timestamp(last.event_time.at("watermark")).value());
  BOOST_TEST(report["stateEntries"].get_int64().value() > 0);
  // The same answer by absolute path.
  BOOST_TEST(get(port, "/api/checkpoints?path=" + root.file("counts")).body == response.body);

  // Nothing outside the root: not by "..", not by an absolute path, not through a link.
  std::filesystem::create_directory_symlink(elsewhere.path(), root.file("link"));
  for (const std::string& path :
       std::vector<std::string>{"../", "counts/../..", elsewhere.path(), "link", "/"}) {
    Response refused = get(port, "/api/checkpoints?path=" + httplib::detail::encode_query_param(path));
    BOOST_TEST(refused.status == 403, path << ": " << refused.status << " " << refused.body);
  }
  BOOST_TEST(get(port, "/api/checkpoints").status == 400);
  BOOST_TEST(get(port, "/api/checkpoints?path=missing").status == 404);
  auto unguarded = MonitoringServer::start(session);
  BOOST_REQUIRE(unguarded.ok());
  BOOST_TEST(get((*unguarded)->port(), "/api/checkpoints?path=" + root.file("counts")).status == 403);
}
