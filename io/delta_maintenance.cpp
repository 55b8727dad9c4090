#include "io/delta_maintenance.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <simdjson.h>

#include "io/delta_log.hpp"
#include "io/delta_sink.hpp"
#include "io/delta_source.hpp"
#include "parquet/writer.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxCommitAttempts = 1000;

int64_t modification_millis(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return int64_t{info.st_mtim.tv_sec} * 1000 + info.st_mtim.tv_nsec / 1'000'000;
}

// Returns numRecords from a file's stats, or -1 when the stats do not say.
int64_t stats_rows(const std::string& stats) {
  if (stats.empty()) return -1;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  int64_t rows = -1;
  if (parser.parse(stats).get(root) != simdjson::SUCCESS) return -1;
  if (root["numRecords"].get_int64().get(rows) != simdjson::SUCCESS) return -1;
  return rows;
}

}  // namespace

Result<DeltaVacuumResult> delta_vacuum(const std::string& table_path,
                                       std::chrono::milliseconds retention) {
  if (retention.count() < 0) {
    return Status::invalid_argument("vacuum's retention must not be negative");
  }
  SLUICE_ASSIGN_OR_RETURN(DeltaVersionRange range, delta_version_range(table_path));
  if (range.latest < 0) return Status::not_found("there is no Delta table at " + table_path);
  const int64_t cutoff = delta_now_millis() - retention.count();
  // The oldest version to keep readable: the one that was current at the cutoff.
  int64_t oldest = range.earliest;
  auto at_cutoff = delta_version_at_timestamp(table_path, cutoff);
  if (at_cutoff.ok()) oldest = *at_cutoff;
  SLUICE_ASSIGN_OR_RETURN(DeltaSnapshot snapshot, read_delta_snapshot_at(table_path, oldest));
  std::set<std::string> referenced;
  for (const auto& [path, file] : snapshot.files)
    referenced.insert(path);
  SLUICE_ASSIGN_OR_RETURN(std::vector<DeltaCommitSummary> later,
                          refresh_delta_snapshot(table_path, snapshot));
  for (const auto& summary : later)
    referenced.insert(summary.added.begin(), summary.added.end());

  DeltaVacuumResult result;
  result.oldest_kept_version = oldest;
  std::error_code error;
  const fs::path root(table_path);
  for (fs::recursive_directory_iterator it(root, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory(error)) {
      if (name.starts_with("_") || name.starts_with(".")) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(error) || name.starts_with(".") || name.starts_with("_")) continue;
    const std::string relative = fs::relative(it->path(), root, error).string();
    if (error || referenced.count(relative)) continue;
    // A file the log no longer (or never) references, old enough to go.
    if (modification_millis(it->path()) > cutoff) continue;
    const auto size = static_cast<int64_t>(it->file_size(error));
    if (fs::remove(it->path(), error)) {
      result.deleted.push_back(relative);
      result.deleted_bytes += size;
    }
    error.clear();
  }
  if (error) return Status::io_error("cannot vacuum " + table_path + ": " + error.message());
  std::sort(result.deleted.begin(), result.deleted.end());
  return result;
}

Result<DeltaOptimizeResult> delta_optimize(const std::string& table_path,
                                           int64_t target_file_rows) {
  if (target_file_rows < 1) {
    return Status::invalid_argument("optimize's target file rows must be at least 1");
  }
  SLUICE_ASSIGN_OR_RETURN(DeltaSnapshot snapshot, read_delta_snapshot(table_path));
  if (snapshot.version < 0) return Status::not_found("there is no Delta table at " + table_path);
  const DeltaMetadata& metadata = *snapshot.metadata;
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr table_schema, Schema::make(metadata.fields));
  std::vector<Field> data_fields;
  std::vector<int> data_columns;
  for (int i = 0; i < table_schema->num_fields(); ++i) {
    const Field& field = table_schema->field(i);
    if (std::find(metadata.partition_columns.begin(), metadata.partition_columns.end(),
                  field.name) == metadata.partition_columns.end()) {
      data_fields.push_back(field);
      data_columns.push_back(i);
    }
  }
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr data_schema, Schema::make(std::move(data_fields)));

  // Small files per partition (their partition values, as the log holds them).
  std::map<std::map<std::string, std::optional<std::string>>, std::vector<DeltaFile>> groups;
  for (const auto& [path, file] : snapshot.files) {
    const int64_t rows = stats_rows(file.stats);
    if (rows >= 0 && rows < target_file_rows) groups[file.partition_values].push_back(file);
  }
  DeltaOptimizeResult result;
  std::vector<DeltaFile> removed;
  std::vector<DeltaFile> added;
  std::vector<std::string> created;
  auto cleanup = [&] {
    for (const auto& relative : created) {
      std::error_code ignored;
      fs::remove(fs::path(table_path) / relative, ignored);
    }
  };
  for (auto& [values, files] : groups) {
    if (files.size() < 2) continue;
    std::vector<DeltaSource::Entry> entries;
    for (const auto& file : files)
      entries.push_back(DeltaSource::Entry{snapshot.version, file});
    auto reader = open_delta_files_reader(table_path, table_schema, metadata.partition_columns,
                                          65536, std::move(entries));
    const std::string directory = fs::path(files.front().path).parent_path().string();
    std::unique_ptr<parquet::Writer> writer;
    std::string relative;
    int64_t in_file = 0;
    auto close = [&]() -> Status {
      if (!writer) return Status::ok();
      SLUICE_ASSIGN_OR_RETURN(parquet::WrittenFile written, writer->close());
      writer.reset();
      DeltaFile file;
      file.path = relative;
      file.partition_values = values;
      file.size = written.file_bytes;
      file.modification_time = delta_now_millis();
      file.stats = delta_file_stats(written);
      added.push_back(std::move(file));
      in_file = 0;
      return Status::ok();
    };
    Status status;
    for (RecordBatchPtr batch;;) {
      auto flow = reader->next(batch);
      if (!flow.ok()) {
        status = flow.status();
        break;
      }
      if (*flow == ReadFlow::finished) break;
      std::vector<ColumnPtr> columns;
      for (int index : data_columns)
        columns.push_back(batch->column(index));
      RecordBatchPtr data =
          RecordBatch::make_unchecked(data_schema, std::move(columns), batch->num_rows());
      for (int64_t offset = 0; offset < data->num_rows() && status.is_ok();) {
        if (!writer) {
          relative = (directory.empty() ? "" : directory + "/") + "part-optimized-" +
                     random_uuid() + ".c000.snappy.parquet";
          created.push_back(relative);
          parquet::WriterOptions options;
          options.fsync_on_close = true;
          auto opened = parquet::Writer::open((fs::path(table_path) / relative).string(),
                                              data_schema, options);
          if (!opened.ok()) {
            status = opened.status();
            break;
          }
          writer = std::move(opened).value();
        }
        const int64_t count = std::min(data->num_rows() - offset, target_file_rows - in_file);
        status = writer->write(*data->slice(offset, count));
        offset += count;
        in_file += count;
        result.rows += count;
        if (status.is_ok() && in_file >= target_file_rows) status = close();
      }
      if (!status.is_ok()) break;
    }
    if (status.is_ok()) status = close();
    if (!status.is_ok()) {
      cleanup();
      return status.with_context("optimizing " + table_path);
    }
    removed.insert(removed.end(), files.begin(), files.end());
  }
  if (removed.empty()) return result;

  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    const int64_t now = delta_now_millis();
    std::string content =
        delta_commit_info_action(now, "OPTIMIZE",
                                 {{"targetFileRows", std::to_string(target_file_rows)}}, false) +
        "\n";
    for (const auto& file : removed)
      content += delta_remove_action(file, now, false) + "\n";
    for (const auto& file : added)
      content += delta_add_action(file, false) + "\n";
    const int64_t version = snapshot.version + 1;
    auto published = publish_delta_commit(table_path, version, content, true);
    if (!published.ok()) {
      cleanup();
      return published.status();
    }
    if (*published) {
      result.version = version;
      result.files_removed = static_cast<int64_t>(removed.size());
      result.files_added = static_cast<int64_t>(added.size());
      return result;
    }
    auto winners = refresh_delta_snapshot(table_path, snapshot);
    if (!winners.ok()) {
      cleanup();
      return winners.status();
    }
    for (const auto& file : removed) {
      if (!snapshot.files.count(file.path)) {
        cleanup();
        return Status::aborted("optimize of " + table_path +
                               " gave up: a concurrent commit at "
                               "version " +
                               std::to_string(snapshot.version) + " or before removed " +
                               file.path + ", one of the files it compacted");
      }
    }
  }
  cleanup();
  return Status::aborted("optimize of " + table_path + " gave up after " +
                         std::to_string(kMaxCommitAttempts) + " concurrent commits");
}

}  // namespace sluice
