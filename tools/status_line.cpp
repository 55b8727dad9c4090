#include "tools/status_line.hpp"

#include <cinttypes>

#include "io/source.hpp"

namespace sluice::tools {

namespace {

std::string rate(double rows_per_second) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", rows_per_second);
  return text;
}

// Sums the partitions of a JSON offset ("[3,4]"); -1 when it does not parse.
int64_t offset_total(const std::string& json) {
  auto offset = offset_from_json(json);
  if (!offset.ok()) return -1;
  int64_t total = 0;
  for (int64_t position : *offset)
    total += position;
  return total;
}

}  // namespace

std::string status_line(const std::string& name,
                        const std::optional<StreamingQueryProgress>& progress) {
  if (!progress) return name + ": starting";
  std::string line = name + ": epoch " + std::to_string(progress->batch_id) + ", input " +
                     rate(progress->input_rows_per_second) + " rows/s, processed " +
                     rate(progress->processed_rows_per_second) + " rows/s";
  if (auto it = progress->event_time.find("watermark"); it != progress->event_time.end()) {
    line += ", watermark " + it->second;
  }
  int64_t lag = 0;
  bool known = !progress->sources.empty();
  for (const auto& source : progress->sources) {
    const int64_t latest = offset_total(source.latest_offset);
    const int64_t end = offset_total(source.end_offset);
    if (latest < 0 || end < 0) {
      known = false;
      break;
    }
    lag += latest - end;
  }
  if (known) line += ", lag " + std::to_string(lag) + " rows";
  int64_t state_rows = 0;
  for (const auto& op : progress->state_operators)
    state_rows += op.num_rows_total;
  if (!progress->state_operators.empty()) line += ", state " + std::to_string(state_rows) + " rows";
  return line;
}

void StatusBoard::draw(const std::vector<std::string>& lines, bool printed_since_last_draw) {
  std::string text;
  if (drawn_ > 0 && !printed_since_last_draw) {
    // Back to the first line of the block, which is then rewritten line by line.
    text += "\x1b[" + std::to_string(drawn_) + "A\r";
  }
  for (const auto& line : lines)
    text += "\x1b[2K" + line + "\n";
  std::fputs(text.c_str(), out_);
  std::fflush(out_);
  drawn_ = lines.size();
}

}  // namespace sluice::tools
