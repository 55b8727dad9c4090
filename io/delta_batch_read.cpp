#include "io/delta_batch_read.hpp"

#include <filesystem>

#include "io/delta_source.hpp"
#include "io/option_map.hpp"
#include "operators/calendar.hpp"

namespace sluice {

namespace fs = std::filesystem;

Result<DeltaReadOptions> DeltaReadOptions::parse(std::string path,
                                                 std::map<std::string, std::string> raw) {
  OptionMap options("a delta batch read", std::move(raw));
  DeltaReadOptions parsed;
  std::optional<std::string> path_option = options.take("path");
  if (!path.empty() && path_option && *path_option != path) {
    return Status::invalid_argument("a delta batch read got two paths: load('" + path +
                                    "') and option path '" + *path_option + "'");
  }
  parsed.path = !path.empty() ? std::move(path) : path_option.value_or("");
  if (parsed.path.empty()) {
    return Status::invalid_argument("a delta batch read needs the table's path: load(path)");
  }
  if (auto text = options.take("versionAsOf")) {
    OptionMap one("a delta batch read", {{"versionAsOf", *text}});
    SLUICE_ASSIGN_OR_RETURN(int64_t version, one.take_int("versionAsOf", 0, 0));
    parsed.version_as_of = version;
  }
  if (auto timestamp = options.take("timestampAsOf")) {
    std::optional<int64_t> micros = calendar::parse_timestamp(*timestamp);
    if (!micros) {
      return Status::invalid_argument(
          "option timestampAsOf of a delta batch read must be a timestamp such as "
          "'2024-05-01 12:00:00', got '" +
          *timestamp + "'");
    }
    parsed.timestamp_as_of_millis = calendar::floor_div(*micros, 1000);
  }
  if (parsed.version_as_of && parsed.timestamp_as_of_millis) {
    return Status::invalid_argument(
        "a delta batch read takes versionAsOf or timestampAsOf, not both");
  }
  SLUICE_ASSIGN_OR_RETURN(parsed.rows_per_batch,
                          options.take_int("rowsPerBatch", parsed.rows_per_batch, 1));
  SLUICE_RETURN_NOT_OK(options.check_all_used());
  return parsed;
}

Result<DeltaSnapshot> resolve_delta_read(const DeltaReadOptions& options) {
  if (options.version_as_of) return read_delta_snapshot_at(options.path, *options.version_as_of);
  if (options.timestamp_as_of_millis) {
    SLUICE_ASSIGN_OR_RETURN(
        int64_t version, delta_version_at_timestamp(options.path, *options.timestamp_as_of_millis));
    return read_delta_snapshot_at(options.path, version);
  }
  SLUICE_ASSIGN_OR_RETURN(DeltaSnapshot latest, read_delta_snapshot(options.path));
  if (latest.version < 0) {
    return Status::not_found("there is no Delta table at " + options.path + " (" +
                             delta_log_directory(options.path) + " holds no commit)");
  }
  return latest;
}

Result<SchemaPtr> delta_snapshot_schema(const DeltaSnapshot& snapshot) {
  if (!snapshot.metadata) {
    return Status::corrupt("the Delta table has no metaData by version " +
                           std::to_string(snapshot.version));
  }
  return Schema::make(snapshot.metadata->fields);
}

Result<RecordBatchPtr> read_delta_snapshot_rows(const std::string& table_path,
                                                const DeltaSnapshot& snapshot,
                                                int64_t rows_per_batch) {
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr schema, delta_snapshot_schema(snapshot));
  std::vector<DeltaSource::Entry> entries;
  for (const auto& [path, file] : snapshot.files) {
    std::error_code error;
    if (!fs::exists(fs::path(table_path) / path, error)) {
      return Status::not_found("version " + std::to_string(snapshot.version) +
                               " of the Delta table at " + table_path + " needs data file " + path +
                               ", which is gone (removed by vacuum?); read a later version");
    }
    entries.push_back(DeltaSource::Entry{snapshot.version, file});
  }
  auto reader = open_delta_files_reader(table_path, schema, snapshot.metadata->partition_columns,
                                        rows_per_batch, std::move(entries));
  std::vector<RecordBatchPtr> batches;
  for (RecordBatchPtr batch;;) {
    SLUICE_ASSIGN_OR_RETURN(ReadFlow flow, reader->next(batch));
    if (flow == ReadFlow::finished) break;
    batches.push_back(std::move(batch));
  }
  if (batches.empty()) return RecordBatch::make_empty(schema);
  if (batches.size() == 1) return batches.front();
  return RecordBatch::concatenate(batches);
}

Result<RecordBatchPtr> read_delta_table(const DeltaReadOptions& options) {
  SLUICE_ASSIGN_OR_RETURN(DeltaSnapshot snapshot, resolve_delta_read(options));
  return read_delta_snapshot_rows(options.path, snapshot, options.rows_per_batch);
}

}  // namespace sluice
