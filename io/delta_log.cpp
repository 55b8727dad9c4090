#include "io/delta_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

#include <simdjson.h>

#include "core/file_contents.hpp"
#include "core/value.hpp"
#include "io/delta_checkpoint.hpp"
#include "operators/record_parsing.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kReaderVersion = 1;

// Names one line of one log entry in errors.
struct LinePlace {
  const std::string& file;
  int line;
  Status corrupt(const std::string& what) const {
    return Status::corrupt("Delta log entry " + file + ":" + std::to_string(line) + ": " + what);
  }
};

Result<std::string> required_string(simdjson::dom::object object, const char* action,
                                    const char* key, const LinePlace& place) {
  std::string_view value;
  if (object[key].get_string().get(value) != simdjson::SUCCESS) {
    return place.corrupt(std::string(action) + " needs a string '" + key + "'");
  }
  return std::string(value);
}

Result<int64_t> required_int(simdjson::dom::object object, const char* action, const char* key,
                             const LinePlace& place) {
  int64_t value = 0;
  if (object[key].get_int64().get(value) != simdjson::SUCCESS) {
    return place.corrupt(std::string(action) + " needs an integer '" + key + "'");
  }
  return value;
}

int64_t optional_int(simdjson::dom::object object, const char* key) {
  int64_t value = 0;
  if (object[key].get_int64().get(value) != simdjson::SUCCESS) value = 0;
  return value;
}

Result<std::vector<Field>> parse_fields(simdjson::dom::element root) {
  std::string_view kind;
  simdjson::dom::array fields;
  if (root["type"].get_string().get(kind) != simdjson::SUCCESS || kind != "struct" ||
      root["fields"].get_array().get(fields) != simdjson::SUCCESS) {
    return Status::corrupt("the schema is not a struct with fields");
  }
  std::vector<Field> out;
  for (simdjson::dom::element field : fields) {
    std::string_view name;
    if (field["name"].get_string().get(name) != simdjson::SUCCESS) {
      return Status::corrupt("a schema field has no name");
    }
    std::string_view type_name;
    if (field["type"].get_string().get(type_name) != simdjson::SUCCESS) {
      return Status::invalid_argument("column '" + std::string(name) +
                                      "' has a nested Delta type, which Sluice cannot write");
    }
    Field decoded;
    decoded.name = std::string(name);
    if (type_name == "long") {
      decoded.type = Type::Int64;
    } else if (type_name == "double") {
      decoded.type = Type::Double;
    } else if (type_name == "boolean") {
      decoded.type = Type::Bool;
    } else if (type_name == "string") {
      decoded.type = Type::String;
    } else if (type_name == "timestamp") {
      decoded.type = Type::Timestamp;
    } else {
      return Status::invalid_argument("column '" + decoded.name + "' has Delta type '" +
                                      std::string(type_name) +
                                      "', which Sluice cannot write (it writes boolean, long, "
                                      "double, string and timestamp)");
    }
    bool nullable = true;
    if (field["nullable"].get_bool().get(nullable) != simdjson::SUCCESS) nullable = true;
    decoded.nullable = nullable;
    out.push_back(std::move(decoded));
  }
  return out;
}

std::string_view delta_type_name(Type type) {
  switch (type) {
    case Type::Bool:
      return "boolean";
    case Type::Int64:
      return "long";
    case Type::Double:
      return "double";
    case Type::String:
      return "string";
    case Type::Timestamp:
      return "timestamp";
  }
  return "string";
}

}  // namespace

std::string delta_log_directory(const std::string& table_path) {
  return (fs::path(table_path) / "_delta_log").string();
}

std::string delta_commit_file(const std::string& table_path, int64_t version) {
  char name[32];
  std::snprintf(name, sizeof name, "%020lld.json", static_cast<long long>(version));
  return delta_log_directory(table_path) + "/" + name;
}

Result<std::optional<std::string>> read_delta_commit(const std::string& table_path,
                                                     int64_t version) {
  return read_file_if_exists(delta_commit_file(table_path, version));
}

Result<std::vector<int64_t>> list_delta_log_files(const std::string& table_path,
                                                  std::string_view suffix) {
  std::vector<int64_t> versions;
  const std::string directory = delta_log_directory(table_path);
  std::error_code error;
  if (!fs::is_directory(directory, error)) return versions;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.size() != 20 + suffix.size() || !name.ends_with(suffix)) continue;
    int64_t version = 0;
    bool digits = true;
    for (size_t i = 0; i < 20; ++i) {
      if (name[i] < '0' || name[i] > '9') {
        digits = false;
        break;
      }
      version = version * 10 + (name[i] - '0');
    }
    if (digits) versions.push_back(version);
  }
  if (error) return Status::io_error("cannot list " + directory + ": " + error.message());
  std::sort(versions.begin(), versions.end());
  return versions;
}

Result<std::vector<int64_t>> list_delta_versions(const std::string& table_path) {
  return list_delta_log_files(table_path, ".json");
}

Result<DeltaCommitSummary> apply_delta_commit(const std::string& content, const std::string& file,
                                              int64_t version, DeltaSnapshot& snapshot) {
  DeltaCommitSummary summary;
  summary.version = version;
  simdjson::dom::parser parser;
  size_t start = 0;
  int line_number = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    const std::string_view line(content.data() + start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const LinePlace place{file, line_number};
    simdjson::dom::element element;
    if (auto error = parser.parse(line.data(), line.size()).get(element);
        error != simdjson::SUCCESS) {
      return place.corrupt(std::string("not valid JSON (") + simdjson::error_message(error) + ")");
    }
    simdjson::dom::object action;
    if (element.get_object().get(action) != simdjson::SUCCESS) {
      return place.corrupt("an action must be a JSON object");
    }
    for (simdjson::dom::key_value_pair pair : action) {
      simdjson::dom::object body;
      if (pair.value.get_object().get(body) != simdjson::SUCCESS) {
        return place.corrupt("action '" + std::string(pair.key) + "' is not an object");
      }
      if (pair.key == "protocol") {
        DeltaProtocol protocol;
        SLUICE_ASSIGN_OR_RETURN(protocol.min_reader_version,
                                required_int(body, "protocol", "minReaderVersion", place));
        SLUICE_ASSIGN_OR_RETURN(protocol.min_writer_version,
                                required_int(body, "protocol", "minWriterVersion", place));
        if (protocol.min_reader_version > kReaderVersion) {
          return Status::invalid_argument("the Delta table needs reader version " +
                                          std::to_string(protocol.min_reader_version) + " (" +
                                          file + ":" + std::to_string(line_number) +
                                          "); Sluice reads version " +
                                          std::to_string(kReaderVersion));
        }
        snapshot.protocol = protocol;
        summary.changed_protocol = true;
      } else if (pair.key == "metaData") {
        DeltaMetadata metadata;
        SLUICE_ASSIGN_OR_RETURN(metadata.id, required_string(body, "metaData", "id", place));
        SLUICE_ASSIGN_OR_RETURN(metadata.schema_string,
                                required_string(body, "metaData", "schemaString", place));
        std::string_view provider = "parquet";
        if (body["format"]["provider"].get_string().get(provider) != simdjson::SUCCESS)
          provider = "parquet";
        if (provider != "parquet") {
          return place.corrupt("metaData has format provider '" + std::string(provider) +
                               "', not parquet");
        }
        simdjson::dom::array partition_columns;
        if (body["partitionColumns"].get_array().get(partition_columns) == simdjson::SUCCESS) {
          for (simdjson::dom::element column : partition_columns) {
            std::string_view name;
            if (column.get_string().get(name) != simdjson::SUCCESS) {
              return place.corrupt("metaData.partitionColumns must hold strings");
            }
            metadata.partition_columns.emplace_back(name);
          }
        }
        simdjson::dom::object configuration;
        if (body["configuration"].get_object().get(configuration) == simdjson::SUCCESS) {
          for (simdjson::dom::key_value_pair entry : configuration) {
            std::string_view value;
            if (entry.value.get_string().get(value) == simdjson::SUCCESS) {
              metadata.configuration[std::string(entry.key)] = std::string(value);
            }
          }
        }
        metadata.created_time = optional_int(body, "createdTime");
        simdjson::dom::parser schema_parser;
        simdjson::dom::element schema;
        if (schema_parser.parse(metadata.schema_string).get(schema) != simdjson::SUCCESS) {
          return place.corrupt("metaData.schemaString is not valid JSON");
        }
        auto fields = parse_fields(schema);
        if (!fields.ok()) {
          return fields.status().with_context("Delta log entry " + file + ":" +
                                              std::to_string(line_number));
        }
        metadata.fields = std::move(fields).value();
        snapshot.metadata = std::move(metadata);
        summary.changed_metadata = true;
      } else if (pair.key == "add") {
        DeltaFile added;
        SLUICE_ASSIGN_OR_RETURN(std::string path, required_string(body, "add", "path", place));
        added.path = delta_decode_path(path);
        SLUICE_ASSIGN_OR_RETURN(added.size, required_int(body, "add", "size", place));
        added.modification_time = optional_int(body, "modificationTime");
        simdjson::dom::object values;
        if (body["partitionValues"].get_object().get(values) != simdjson::SUCCESS) {
          return place.corrupt("add needs an object 'partitionValues'");
        }
        for (simdjson::dom::key_value_pair entry : values) {
          std::string_view value;
          if (entry.value.is_null()) {
            added.partition_values[std::string(entry.key)] = std::nullopt;
          } else if (entry.value.get_string().get(value) == simdjson::SUCCESS) {
            added.partition_values[std::string(entry.key)] = std::string(value);
          } else {
            return place.corrupt("add.partitionValues must hold strings or null");
          }
        }
        std::string_view stats;
        if (body["stats"].get_string().get(stats) == simdjson::SUCCESS) added.stats = stats;
        if (body["deletionVector"].is_object()) {
          return place.corrupt("add of " + added.path +
                               " carries a deletion vector, which Sluice does not support");
        }
        summary.added.push_back(added.path);
        bool data_change = true;
        if (body["dataChange"].get_bool().get(data_change) != simdjson::SUCCESS) data_change = true;
        if (data_change) summary.data_added.push_back(added);
        snapshot.files[added.path] = std::move(added);
      } else if (pair.key == "remove") {
        SLUICE_ASSIGN_OR_RETURN(std::string path, required_string(body, "remove", "path", place));
        path = delta_decode_path(path);
        snapshot.files.erase(path);
        bool data_change = true;
        if (body["dataChange"].get_bool().get(data_change) != simdjson::SUCCESS) data_change = true;
        if (data_change) summary.data_removed.push_back(path);
        summary.removed.push_back(std::move(path));
      } else if (pair.key == "txn") {
        SLUICE_ASSIGN_OR_RETURN(std::string app_id, required_string(body, "txn", "appId", place));
        SLUICE_ASSIGN_OR_RETURN(int64_t txn_version, required_int(body, "txn", "version", place));
        snapshot.transactions[app_id] = txn_version;
        summary.transactions[app_id] = txn_version;
      } else if (pair.key == "commitInfo") {
        int64_t timestamp = 0;
        if (body["timestamp"].get_int64().get(timestamp) == simdjson::SUCCESS) {
          summary.timestamp = timestamp;
        }
      }
      // cdc, domainMetadata and actions of later protocol versions carry nothing a
      // reader of version 1 must apply.
    }
  }
  snapshot.version = version;
  return summary;
}

Result<std::vector<DeltaCommitSummary>> refresh_delta_snapshot(const std::string& table_path,
                                                               DeltaSnapshot& snapshot) {
  std::vector<DeltaCommitSummary> summaries;
  while (true) {
    const int64_t version = snapshot.version + 1;
    const std::string file = delta_commit_file(table_path, version);
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> content, read_file_if_exists(file));
    if (!content) return summaries;
    SLUICE_ASSIGN_OR_RETURN(DeltaCommitSummary summary,
                            apply_delta_commit(*content, file, version, snapshot));
    summaries.push_back(std::move(summary));
  }
}

namespace {

// Applies the commits after a base snapshot up to `last` (all must exist).
Status replay_until(const std::string& table_path, int64_t last, DeltaSnapshot& snapshot) {
  while (snapshot.version < last) {
    const int64_t next = snapshot.version + 1;
    const std::string file = delta_commit_file(table_path, next);
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> content, read_file_if_exists(file));
    if (!content) {
      return Status::corrupt("the Delta log " + delta_log_directory(table_path) +
                             " misses version " + std::to_string(next));
    }
    SLUICE_RETURN_NOT_OK(apply_delta_commit(*content, file, next, snapshot).status());
  }
  return Status::ok();
}

Status check_complete(const std::string& table_path, const DeltaSnapshot& snapshot) {
  if (snapshot.version >= 0 && (!snapshot.protocol || !snapshot.metadata)) {
    return Status::corrupt("the Delta log " + delta_log_directory(table_path) + " has no " +
                           (snapshot.protocol ? "metaData" : "protocol") + " action by version " +
                           std::to_string(snapshot.version));
  }
  return Status::ok();
}

// Loads the newest checkpoint at or before `version` that reads cleanly; with none, the empty
// snapshot when the JSON log starts at version 0, else the error of the newest checkpoint.
Result<DeltaSnapshot> load_base(const std::string& table_path, int64_t version,
                                bool log_starts_at_zero) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<int64_t> checkpoints, list_delta_checkpoints(table_path));
  std::optional<Status> first_error;
  for (auto it = std::upper_bound(checkpoints.begin(), checkpoints.end(), version);
       it != checkpoints.begin();) {
    --it;
    auto snapshot = read_delta_checkpoint(table_path, *it);
    if (snapshot.ok()) return snapshot;
    // A damaged checkpoint: pass over it to an older one or to the JSON log.
    if (!first_error) first_error = snapshot.status();
  }
  if (log_starts_at_zero) return DeltaSnapshot{};
  if (first_error) return *first_error;
  return Status::corrupt("the Delta log " + delta_log_directory(table_path) +
                         " starts past version 0 and holds no checkpoint at or before version " +
                         std::to_string(version) + " to start from");
}

}  // namespace

Result<DeltaSnapshot> read_delta_snapshot(const std::string& table_path) {
  // Start from the checkpoint _last_checkpoint names, then read the commits after it, as Delta
  // readers do: no listing of the (possibly long) log.
  if (std::optional<int64_t> last = read_last_checkpoint(table_path)) {
    auto snapshot = read_delta_checkpoint(table_path, *last);
    if (snapshot.ok()) {
      SLUICE_RETURN_NOT_OK(refresh_delta_snapshot(table_path, *snapshot).status());
      return snapshot;
    }
    // A damaged or missing checkpoint: fall back to listing the log.
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<int64_t> versions, list_delta_versions(table_path));
  if (versions.empty() && list_delta_checkpoints(table_path)->empty()) return DeltaSnapshot{};
  SLUICE_ASSIGN_OR_RETURN(
      DeltaSnapshot snapshot,
      load_base(table_path, std::numeric_limits<int64_t>::max(),
                !versions.empty() && versions.front() == 0));
  SLUICE_RETURN_NOT_OK(refresh_delta_snapshot(table_path, snapshot).status());
  if (!versions.empty() && snapshot.version < versions.back()) {
    return Status::corrupt("the Delta log " + delta_log_directory(table_path) + " misses version " +
                           std::to_string(snapshot.version + 1) + " but holds version " +
                           std::to_string(versions.back()));
  }
  SLUICE_RETURN_NOT_OK(check_complete(table_path, snapshot));
  return snapshot;
}

Result<DeltaVersionRange> delta_version_range(const std::string& table_path) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<int64_t> versions, list_delta_versions(table_path));
  SLUICE_ASSIGN_OR_RETURN(std::vector<int64_t> checkpoints, list_delta_checkpoints(table_path));
  DeltaVersionRange range;
  if (versions.empty() && checkpoints.empty()) return range;
  range.earliest = !versions.empty() && versions.front() == 0 ? 0
                   : !checkpoints.empty()                     ? checkpoints.front()
                                                              : versions.front();
  range.latest = std::max(versions.empty() ? -1 : versions.back(),
                          checkpoints.empty() ? -1 : checkpoints.back());
  return range;
}

namespace {

std::string range_text(const DeltaVersionRange& range) {
  if (range.latest < 0) return "it has no version yet";
  if (range.earliest == range.latest) return "it has version " + std::to_string(range.latest);
  return "it has versions " + std::to_string(range.earliest) + " to " +
         std::to_string(range.latest);
}

}  // namespace

Result<DeltaSnapshot> read_delta_snapshot_at(const std::string& table_path, int64_t version) {
  SLUICE_ASSIGN_OR_RETURN(DeltaVersionRange range, delta_version_range(table_path));
  if (range.latest < 0) {
    return Status::not_found("there is no Delta table at " + table_path + " (" +
                             delta_log_directory(table_path) + " holds no commit)");
  }
  if (version < range.earliest || version > range.latest) {
    return Status::invalid_argument("version " + std::to_string(version) +
                                    " of the Delta table at " + table_path +
                                    " does not exist: " + range_text(range));
  }
  // Start from the newest checkpoint at or before the version, else from version 0.
  SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> first,
                          read_file_if_exists(delta_commit_file(table_path, 0)));
  SLUICE_ASSIGN_OR_RETURN(DeltaSnapshot snapshot,
                          load_base(table_path, version, first.has_value()));
  SLUICE_RETURN_NOT_OK(replay_until(table_path, version, snapshot));
  SLUICE_RETURN_NOT_OK(check_complete(table_path, snapshot));
  return snapshot;
}

Result<int64_t> delta_commit_timestamp(const std::string& table_path, int64_t version) {
  const std::string file = delta_commit_file(table_path, version);
  SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> content, read_file_if_exists(file));
  if (!content) return Status::not_found("the Delta log has no commit " + file);
  DeltaSnapshot scratch;
  SLUICE_ASSIGN_OR_RETURN(DeltaCommitSummary summary,
                          apply_delta_commit(*content, file, version, scratch));
  if (summary.timestamp) return *summary.timestamp;
  struct stat info {};
  if (::stat(file.c_str(), &info) != 0) {
    return Status::io_error("cannot stat " + file + ": " + std::strerror(errno));
  }
  return int64_t{info.st_mtim.tv_sec} * 1000 + info.st_mtim.tv_nsec / 1'000'000;
}

Result<int64_t> delta_version_at_timestamp(const std::string& table_path, int64_t millis) {
  SLUICE_ASSIGN_OR_RETURN(DeltaVersionRange range, delta_version_range(table_path));
  if (range.latest < 0) {
    return Status::not_found("there is no Delta table at " + table_path);
  }
  SLUICE_ASSIGN_OR_RETURN(int64_t first, delta_commit_timestamp(table_path, range.earliest));
  if (millis < first) {
    return Status::invalid_argument(
        "the timestamp " + format_timestamp(millis * 1000) +
        " lies before the first available commit of the Delta table at " + table_path +
        " (version " + std::to_string(range.earliest) + " at " + format_timestamp(first * 1000) +
        ")");
  }
  // Commit times grow with versions (Delta assumes it too): find the last one at or before.
  int64_t low = range.earliest;  // committed at or before millis
  int64_t high = range.latest + 1;
  while (high - low > 1) {
    const int64_t middle = low + (high - low) / 2;
    SLUICE_ASSIGN_OR_RETURN(int64_t at, delta_commit_timestamp(table_path, middle));
    if (at <= millis) {
      low = middle;
    } else {
      high = middle;
    }
  }
  return low;
}

Result<bool> publish_delta_commit(const std::string& table_path, int64_t version,
                                  const std::string& content, bool sync) {
  const std::string directory = delta_log_directory(table_path);
  const std::string target = delta_commit_file(table_path, version);
  const std::string temporary =
      directory + "/." + fs::path(target).filename().string() + "." + random_uuid() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::io_error("cannot create " + temporary + ": " + std::strerror(errno));
  Status written = write_fully(fd, content, temporary);
  if (written.is_ok() && sync && ::fsync(fd) != 0) {
    written = Status::io_error("cannot sync " + temporary + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (!written.is_ok()) {
    ::unlink(temporary.c_str());
    return written;
  }
  // link(2) refuses an existing name, so the first writer of a version wins and nobody
  // overwrites it; file systems without hard links get renameat2(RENAME_NOREPLACE).
  int result = ::link(temporary.c_str(), target.c_str());
  int error = result == 0 ? 0 : errno;
  if (result != 0 && (error == EPERM || error == ENOTSUP || error == EOPNOTSUPP)) {
    result = ::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
    error = result == 0 ? 0 : errno;
  }
  ::unlink(temporary.c_str());
  if (error == EEXIST) return false;
  if (error != 0) {
    return Status::io_error("cannot publish " + target + ": " + std::strerror(error));
  }
  if (sync) {
    const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd >= 0) {
      (void)::fsync(directory_fd);
      ::close(directory_fd);
    }
  }
  return true;
}

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(text, out);
  return out;
}

std::string delta_schema_string(const std::vector<Field>& fields) {
  std::string out = R"({"type":"struct","fields":[)";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ",";
    out += R"({"name":)" + json_string(fields[i].name) + R"(,"type":")" +
           std::string(delta_type_name(fields[i].type)) + R"(","nullable":)" +
           (fields[i].nullable ? "true" : "false") + R"(,"metadata":{}})";
  }
  return out + "]}";
}

Result<std::vector<Field>> parse_delta_schema_string(const std::string& schema_string) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(schema_string).get(root) != simdjson::SUCCESS) {
    return Status::corrupt("the Delta schema string is not valid JSON");
  }
  return parse_fields(root);
}

std::string delta_protocol_action(const DeltaProtocol& protocol) {
  return R"({"protocol":{"minReaderVersion":)" + std::to_string(protocol.min_reader_version) +
         R"(,"minWriterVersion":)" + std::to_string(protocol.min_writer_version) + "}}";
}

std::string delta_metadata_action(const DeltaMetadata& metadata) {
  std::string out = R"({"metaData":{"id":)" + json_string(metadata.id) +
                    R"(,"format":{"provider":"parquet","options":{}},"schemaString":)" +
                    json_string(metadata.schema_string) + R"(,"partitionColumns":[)";
  for (size_t i = 0; i < metadata.partition_columns.size(); ++i) {
    if (i) out += ",";
    out += json_string(metadata.partition_columns[i]);
  }
  out += R"(],"configuration":{)";
  bool first = true;
  for (const auto& [key, value] : metadata.configuration) {
    if (!first) out += ",";
    first = false;
    out += json_string(key) + ":" + json_string(value);
  }
  return out + R"(},"createdTime":)" + std::to_string(metadata.created_time) + "}}";
}

namespace {

std::string partition_values_json(const DeltaFile& file) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : file.partition_values) {
    if (!first) out += ",";
    first = false;
    out += json_string(key) + ":" + (value ? json_string(*value) : "null");
  }
  return out + "}";
}

}  // namespace

std::string delta_add_action(const DeltaFile& file, bool data_change) {
  std::string out = R"({"add":{"path":)" + json_string(delta_encode_path(file.path)) +
                    R"(,"partitionValues":)" + partition_values_json(file) + R"(,"size":)" +
                    std::to_string(file.size) + R"(,"modificationTime":)" +
                    std::to_string(file.modification_time) + R"(,"dataChange":)" +
                    (data_change ? "true" : "false");
  if (!file.stats.empty()) out += R"(,"stats":)" + json_string(file.stats);
  return out + "}}";
}

std::string delta_remove_action(const DeltaFile& file, int64_t deletion_timestamp,
                                bool data_change) {
  return R"({"remove":{"path":)" + json_string(delta_encode_path(file.path)) +
         R"(,"deletionTimestamp":)" + std::to_string(deletion_timestamp) + R"(,"dataChange":)" +
         (data_change ? "true" : "false") + R"(,"extendedFileMetadata":true,"partitionValues":)" +
         partition_values_json(file) + R"(,"size":)" + std::to_string(file.size) + "}}";
}

std::string delta_txn_action(const std::string& app_id, int64_t version, int64_t last_updated) {
  return R"({"txn":{"appId":)" + json_string(app_id) + R"(,"version":)" + std::to_string(version) +
         R"(,"lastUpdated":)" + std::to_string(last_updated) + "}}";
}

std::string delta_commit_info_action(int64_t timestamp, const std::string& operation,
                                     const std::map<std::string, std::string>& operation_parameters,
                                     bool blind_append) {
  std::string out = R"({"commitInfo":{"timestamp":)" + std::to_string(timestamp) +
                    R"(,"operation":)" + json_string(operation) + R"(,"operationParameters":{)";
  bool first = true;
  for (const auto& [key, value] : operation_parameters) {
    if (!first) out += ",";
    first = false;
    out += json_string(key) + ":" + json_string(value);
  }
  return out + R"(},"isBlindAppend":)" + (blind_append ? "true" : "false") +
         R"(,"engineInfo":"Sluice/0.1.0"}})";
}

std::string delta_encode_path(std::string_view path) {
  std::string out;
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
        std::string_view("-._~/=").find(c) != std::string_view::npos) {
      out.push_back(c);
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", u);
      out += escaped;
    }
  }
  return out;
}

std::string delta_decode_path(std::string_view path) {
  std::string out;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() && hex(path[i + 1]) >= 0 && hex(path[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(path[i + 1]) * 16 + hex(path[i + 2])));
      i += 2;
    } else {
      out.push_back(path[i]);
    }
  }
  return out;
}

std::string random_uuid() {
  thread_local std::mt19937_64 random([] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }());
  uint64_t high = random();
  uint64_t low = random();
  high = (high & ~0xf000ull) | 0x4000ull;                // version 4
  low = (low & ~(0xc000ull << 48)) | (0x8000ull << 48);  // variant 1
  char text[40];
  std::snprintf(text, sizeof text, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(high >> 32),
                static_cast<unsigned long long>((high >> 16) & 0xffff),
                static_cast<unsigned long long>(high & 0xffff),
                static_cast<unsigned long long>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffull));
  return text;
}

int64_t delta_now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sluice
