// File source ingestion: JSON lines and CSV through the file source into a noop sink, in MB/s
// of input per core (one source partition), with simdjson parsing the same JSON bytes alone
// (on-demand, the same fields) as the baseline measured in the same run.
#include <sluice/sluice.hpp>

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/temporary_directory.hpp"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double ingest(const std::string& format, const std::string& directory, SchemaPtr schema) {
  Session session;
  auto frame = session.read_stream().format(format).schema(schema).load(directory);
  const auto start = std::chrono::steady_clock::now();
  auto query = frame.select(col("id"), col("score"), col("name"))
                   .write_stream()
                   .format("noop")
                   .trigger(Trigger::AvailableNow())
                   .start();
  if (!query.ok()) {
    std::fprintf(stderr, "%s\n", query.status().to_string().c_str());
    return 0;
  }
  query->await_termination();
  return seconds_since(start);
}

// Baseline: simdjson alone over the same lines, reading the same three fields; returns seconds.
double simdjson_alone(const std::string& all_json, int64_t& checksum) {
  simdjson::padded_string padded(all_json);
  simdjson::ondemand::parser parser;
  const auto start = std::chrono::steady_clock::now();
  size_t pos = 0;
  while (pos < all_json.size()) {
    const size_t end = all_json.find('\n', pos);
    simdjson::padded_string_view line(padded.data() + pos, end - pos,
                                      padded.size() + simdjson::SIMDJSON_PADDING - pos);
    auto document = parser.iterate(line);
    int64_t id = 0;
    double score = 0;
    std::string_view name;
    for (auto field : document.get_object()) {
      std::string_view key = field.unescaped_key();
      if (key == "id")
        id = field.value().get_int64();
      else if (key == "score")
        score = field.value().get_double();
      else if (key == "name")
        name = field.value().get_string();
    }
    checksum += id + static_cast<int64_t>(score) + static_cast<int64_t>(name.size());
    pos = end + 1;
  }
  return seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const int files = quick ? 4 : 16;
  const int rows_per_file = quick ? 100'000 : 250'000;
  sluice::testing::TemporaryDirectory dir;
  fs::create_directories(dir.file("json"));
  fs::create_directories(dir.file("csv"));
  int64_t json_bytes = 0, csv_bytes = 0;
  std::string all_json;
  for (int f = 0; f < files; ++f) {
    std::string json, csv;
    for (int r = 0; r < rows_per_file; ++r) {
      const int64_t id = int64_t{f} * rows_per_file + r;
      json += "{\"id\":" + std::to_string(id) + ",\"score\":" + std::to_string(id % 1000) +
              ".25,\"name\":\"device-" + std::to_string(id % 977) +
              "\",\"site\":\"north\",\"ok\":true}\n";
      csv += std::to_string(id) + "," + std::to_string(id % 1000) + ".25,device-" +
             std::to_string(id % 977) + ",north,true\n";
    }
    std::ofstream(dir.file("json/f" + std::to_string(f) + ".json")) << json;
    std::ofstream(dir.file("csv/f" + std::to_string(f) + ".csv")) << csv;
    json_bytes += static_cast<int64_t>(json.size());
    csv_bytes += static_cast<int64_t>(csv.size());
    all_json += json;
  }
  auto schema = Schema::make({{"id", Type::Int64},
                              {"score", Type::Double},
                              {"name", Type::String},
                              {"site", Type::String},
                              {"ok", Type::Bool}})
                    .value();

  // Baseline and Sluice alternate, best of each, so that a busy machine skews both alike.
  int64_t checksum = 0;
  double baseline_seconds = 1e300, json_seconds = 1e300;
  for (int round = 0; round < (quick ? 1 : 3); ++round) {
    baseline_seconds = std::min(baseline_seconds, simdjson_alone(all_json, checksum));
    json_seconds = std::min(json_seconds, ingest("json", dir.file("json"), schema));
  }
  const double mb = 1024.0 * 1024.0;
  const double baseline = static_cast<double>(json_bytes) / mb / baseline_seconds;

  const double csv_seconds = ingest("csv", dir.file("csv"), schema);
  const double json_rate = static_cast<double>(json_bytes) / mb / json_seconds;
  std::printf("bench simdjson_alone_mb_per_s %.1f MB/s (checksum %lld)\n", baseline,
              static_cast<long long>(checksum % 10));
  std::printf("bench json_file_source_mb_per_s_per_core %.1f MB/s\n", json_rate);
  std::printf("bench json_file_source_vs_simdjson %.2f ratio\n", json_rate / baseline);
  std::printf("bench csv_file_source_mb_per_s_per_core %.1f MB/s\n",
              static_cast<double>(csv_bytes) / mb / csv_seconds);
  return 0;
}
