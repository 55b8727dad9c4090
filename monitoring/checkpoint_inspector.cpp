#include "monitoring/checkpoint_inspector.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "core/value.hpp"
#include "plan/progress.hpp"
#include "state/checkpoint_store.hpp"

namespace sluice {

namespace {

namespace fs = std::filesystem;

// Reads the end offsets of every source from an offsets log entry. The coordinator writes a
// version line ("v2"), header lines ("watermark ..."), then per source
// "<start> <end> <length>:<source metadata>\n"; this reads what it recognizes and returns
// nullopt for a layout it does not know, so a newer format degrades the report, not the tool.
std::optional<std::vector<std::string>> end_offsets(std::string_view text) {
  if (text.size() < 3 || text[0] != 'v') return std::nullopt;
  text.remove_prefix(text.find('\n') == std::string_view::npos ? text.size() : text.find('\n') + 1);
  while (!text.empty() && text[0] != '[') {
    const size_t line_end = text.find('\n');
    if (line_end == std::string_view::npos) return std::nullopt;
    text.remove_prefix(line_end + 1);
  }
  std::vector<std::string> ends;
  while (!text.empty()) {
    const size_t first = text.find(' ');
    if (first == std::string_view::npos) return std::nullopt;
    const size_t second = text.find(' ', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    ends.emplace_back(text.substr(first + 1, second - first - 1));
    text.remove_prefix(second + 1);
    const size_t colon = text.find(':');
    size_t length = 0;
    if (colon == std::string_view::npos ||
        std::from_chars(text.data(), text.data() + colon, length).ec != std::errc() ||
        colon + 1 + length + 1 > text.size()) {
      return std::nullopt;
    }
    text.remove_prefix(colon + 1 + length + 1);
  }
  return ends;
}

std::optional<int64_t> commit_watermark(std::string_view text) {
  constexpr std::string_view prefix = "{\"watermark\":";
  if (text.substr(0, prefix.size()) != prefix) return std::nullopt;
  text.remove_prefix(prefix.size());
  int64_t watermark = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), watermark);
  if (error != std::errc()) return std::nullopt;
  return watermark;
}

Result<CheckpointReport> inspect_one(const std::string& path) {
  CheckpointReport report;
  report.path = path;
  auto opened = CheckpointStore::open(path);
  if (!opened.ok()) {
    const Status& status = opened.status();
    if (status.message().find("is in use by") != std::string::npos) {
      return Status(status.code(), "checkpoint " + path +
                                       " is in use by a running query; stop it (Ctrl-C) and "
                                       "inspect again (" +
                                       status.message() + ")");
    }
    return status.with_context("checkpoint " + path);
  }
  std::unique_ptr<CheckpointStore> store = std::move(*opened);
  SLUICE_ASSIGN_OR_RETURN(auto metadata, store->read_metadata());
  if (metadata) report.query_id = metadata->query_id;
  SLUICE_ASSIGN_OR_RETURN(CheckpointStats stats, store->stats());
  report.epochs_retained = stats.epochs_retained;
  report.oldest_committed_epoch = stats.oldest_committed_epoch;
  report.latest_committed_epoch = stats.latest_committed_epoch;
  report.latest_offsets_epoch = stats.latest_offsets_epoch;
  report.state_entries = stats.state_entries;
  report.data_file_bytes = stats.data_file_bytes;
  if (stats.latest_committed_epoch) {
    SLUICE_ASSIGN_OR_RETURN(auto offsets, store->read_offsets(*stats.latest_committed_epoch));
    if (offsets) {
      auto ends = end_offsets(*offsets);
      if (ends) {
        report.source_offsets = *ends;
      } else {
        report.source_offsets = {"\"(offsets log format not understood by this sluice)\""};
      }
    }
    SLUICE_ASSIGN_OR_RETURN(auto commit, store->read_commit(*stats.latest_committed_epoch));
    if (commit) report.watermark = commit_watermark(*commit);
  }
  return report;
}

std::string optional_text(const std::optional<int64_t>& value) {
  return value ? std::to_string(*value) : "none";
}

std::string optional_json(const std::optional<int64_t>& value) {
  return value ? std::to_string(*value) : "null";
}

}  // namespace

Result<std::vector<CheckpointReport>> inspect_checkpoints(const std::string& path) {
  std::error_code error;
  if (!fs::is_directory(path, error)) {
    return Status::not_found("no checkpoint at " + path + ": the directory does not exist");
  }
  std::vector<std::string> directories;
  if (fs::exists(fs::path(path) / "data.mdb", error)) {
    directories.push_back(path);
  } else {
    // A root such as `sluice run --checkpoint DIR` makes: one checkpoint per sink.
    for (const auto& entry : fs::directory_iterator(path, error)) {
      if (entry.is_directory() && fs::exists(entry.path() / "data.mdb", error)) {
        directories.push_back(entry.path().string());
      }
    }
    std::sort(directories.begin(), directories.end());
  }
  if (directories.empty()) {
    return Status::not_found(path +
                             " is not a Sluice checkpoint (no data.mdb in it or in its "
                             "subdirectories)");
  }
  std::vector<CheckpointReport> reports;
  for (const auto& directory : directories) {
    SLUICE_ASSIGN_OR_RETURN(CheckpointReport report, inspect_one(directory));
    reports.push_back(std::move(report));
  }
  return reports;
}

std::string render_text(const std::vector<CheckpointReport>& reports) {
  std::string text;
  for (const auto& report : reports) {
    if (!text.empty()) text += "\n";
    text += "checkpoint " + report.path + "\n";
    text += "  query id:          " + (report.query_id.empty() ? "(none)" : report.query_id) + "\n";
    text += "  committed epochs:  " + std::to_string(report.epochs_retained) + " retained, " +
            optional_text(report.oldest_committed_epoch) + " to " +
            optional_text(report.latest_committed_epoch) + "\n";
    if (report.latest_offsets_epoch &&
        report.latest_offsets_epoch != report.latest_committed_epoch) {
      text += "  pending epoch:     " + std::to_string(*report.latest_offsets_epoch) +
              " (offsets logged, not committed: the next run replays it)\n";
    }
    for (size_t s = 0; s < report.source_offsets.size(); ++s) {
      text += "  source " + std::to_string(s) + " offsets: " + report.source_offsets[s] + "\n";
    }
    text += "  watermark:         " +
            (report.watermark ? format_timestamp(*report.watermark) + " (" +
                                    std::to_string(*report.watermark) + " us)"
                              : std::string("none")) +
            "\n";
    text += "  state entries:     " + std::to_string(report.state_entries) + "\n";
    text += "  data file:         " + std::to_string(report.data_file_bytes) + " bytes\n";
  }
  return text;
}

std::string render_json(const std::vector<CheckpointReport>& reports) {
  std::string json = "[";
  for (size_t r = 0; r < reports.size(); ++r) {
    const CheckpointReport& report = reports[r];
    std::string offsets = "[";
    for (size_t s = 0; s < report.source_offsets.size(); ++s) {
      offsets += (s ? "," : "") + report.source_offsets[s];
    }
    offsets += "]";
    json += std::string(r ? "," : "") + "{\"path\":" + json_quote(report.path) +
            ",\"queryId\":" + json_quote(report.query_id) +
            ",\"epochsRetained\":" + std::to_string(report.epochs_retained) +
            ",\"oldestCommittedEpoch\":" + optional_json(report.oldest_committed_epoch) +
            ",\"latestCommittedEpoch\":" + optional_json(report.latest_committed_epoch) +
            ",\"latestOffsetsEpoch\":" + optional_json(report.latest_offsets_epoch) +
            ",\"sourceOffsets\":" + offsets + ",\"watermark\":" + optional_json(report.watermark) +
            ",\"stateEntries\":" + std::to_string(report.state_entries) +
            ",\"dataFileBytes\":" + std::to_string(report.data_file_bytes) + "}";
  }
  return json + "]\n";
}

}  // namespace sluice
