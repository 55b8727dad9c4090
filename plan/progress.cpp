#include "plan/progress.hpp"

#include <cmath>
#include <cstdio>

namespace sluice {

namespace {

// Builds JSON text with optional indentation; values are written as they come.
class JsonWriter {
 public:
  explicit JsonWriter(bool pretty) : pretty_(pretty) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(const std::string& name) {
    separator();
    out_ += json_quote(name) + (pretty_ ? ": " : ":");
    after_key_ = true;
  }
  void value(const std::string& text) { raw(json_quote(text)); }
  void value(int64_t number) { raw(std::to_string(number)); }
  void value(double number) {
    if (!std::isfinite(number)) return raw("null");
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.15g", number);
    raw(buffer);
  }
  void raw(const std::string& text) {
    separator();
    out_ += text;
  }
  std::string take() { return std::move(out_); }

 private:
  void separator() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_ += ",";
    if (pretty_ && depth_ > 0) out_ += "\n" + std::string(static_cast<size_t>(depth_) * 2, ' ');
    first_ = false;
  }
  void open(char bracket) {
    separator();
    out_ += bracket;
    ++depth_;
    first_ = true;
  }
  void close(char bracket) {
    --depth_;
    if (pretty_ && !first_) out_ += "\n" + std::string(static_cast<size_t>(depth_) * 2, ' ');
    out_ += bracket;
    first_ = false;
  }
  bool pretty_;
  bool first_ = true;
  bool after_key_ = false;
  int depth_ = 0;
  std::string out_;
};

std::string render(const StreamingQueryProgress& p, bool pretty) {
  JsonWriter w(pretty);
  w.begin_object();
  w.key("id"), w.value(p.id);
  w.key("runId"), w.value(p.run_id);
  w.key("name"), p.name.empty() ? w.raw("null") : w.value(p.name);
  w.key("timestamp"), w.value(p.timestamp);
  w.key("batchId"), w.value(p.batch_id);
  w.key("numInputRows"), w.value(p.num_input_rows);
  w.key("numRestarts"), w.value(p.num_restarts);
  w.key("inputRowsPerSecond"), w.value(p.input_rows_per_second);
  w.key("processedRowsPerSecond"), w.value(p.processed_rows_per_second);
  w.key("durationMs");
  w.begin_object();
  for (const auto& [name, ms] : p.duration_ms) w.key(name), w.value(ms);
  w.end_object();
  if (!p.event_time.empty()) {
    w.key("eventTime");
    w.begin_object();
    for (const auto& [name, time] : p.event_time) w.key(name), w.value(time);
    w.end_object();
  }
  w.key("stateOperators");
  w.begin_array();
  for (const auto& s : p.state_operators) {
    w.begin_object();
    w.key("operatorName"), w.value(s.operator_name);
    w.key("numRowsTotal"), w.value(s.num_rows_total);
    w.key("numRowsUpdated"), w.value(s.num_rows_updated);
    w.key("numRowsRemoved"), w.value(s.num_rows_removed);
    w.key("numRowsDroppedByWatermark"), w.value(s.num_rows_dropped_by_watermark);
    w.key("commitTimeMs"), w.value(s.commit_time_ms);
    w.key("memoryUsedBytes"), w.value(s.memory_used_bytes);
    w.key("numShufflePartitions"), w.value(s.num_shuffle_partitions);
    if (!s.custom_metrics.empty()) {
      w.key("customMetrics");
      w.begin_object();
      for (const auto& [name, value] : s.custom_metrics) w.key(name), w.value(value);
      w.end_object();
    }
    w.end_object();
  }
  w.end_array();
  w.key("sources");
  w.begin_array();
  for (const auto& s : p.sources) {
    w.begin_object();
    w.key("description"), w.value(s.description);
    w.key("startOffset"), s.start_offset.empty() ? w.raw("null") : w.raw(s.start_offset);
    w.key("endOffset"), s.end_offset.empty() ? w.raw("null") : w.raw(s.end_offset);
    w.key("latestOffset"), s.latest_offset.empty() ? w.raw("null") : w.raw(s.latest_offset);
    w.key("numInputRows"), w.value(s.num_input_rows);
    w.key("inputRowsPerSecond"), w.value(s.input_rows_per_second);
    w.key("processedRowsPerSecond"), w.value(s.processed_rows_per_second);
    if (!s.metrics.empty()) {
      w.key("metrics");
      w.begin_object();
      for (const auto& [name, value] : s.metrics) w.key(name), w.value(value);
      w.end_object();
    }
    w.end_object();
  }
  w.end_array();
  w.key("sink");
  w.begin_object();
  w.key("description"), w.value(p.sink.description);
  w.key("numOutputRows"), w.value(p.sink.num_output_rows);
  w.end_object();
  w.end_object();
  return w.take();
}

}  // namespace

std::string json_quote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string StreamingQueryProgress::json() const { return render(*this, false); }
std::string StreamingQueryProgress::pretty_json() const { return render(*this, true); }

}  // namespace sluice
