#include "io/delta_source.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>

#include "io/option_map.hpp"
#include "operators/calendar.hpp"
#include "parquet/reader.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string describe_fields(const std::vector<Field>& fields) {
  std::string out;
  for (const auto& field : fields) {
    out += (out.empty() ? "" : ", ") + field.name + " " + std::string(type_name(field.type));
  }
  return out;
}

// Decodes a partition value as Delta's partitionValues holds it, typed per the table schema.
Result<Value> partition_value(const Field& field, const std::optional<std::string>& text,
                              const std::string& file) {
  if (!text) return Value();
  auto bad = [&] {
    return Status::corrupt("partition value '" + *text + "' of column '" + field.name +
                           "' of Delta file " + file + " is not a valid " +
                           std::string(type_name(field.type)));
  };
  const char* begin = text->data();
  const char* end = begin + text->size();
  switch (field.type) {
    case Type::String:
      return Value(*text);
    case Type::Bool:
      if (*text == "true") return Value(true);
      if (*text == "false") return Value(false);
      return bad();
    case Type::Int64: {
      int64_t value = 0;
      auto [stop, error] = std::from_chars(begin, end, value);
      if (error != std::errc() || stop != end) return bad();
      return Value(value);
    }
    case Type::Double: {
      double value = 0;
      auto [stop, error] = std::from_chars(begin, end, value);
      if (error != std::errc() || stop != end) return bad();
      return Value(value);
    }
    case Type::Timestamp: {
      std::optional<int64_t> micros = calendar::parse_timestamp(*text);
      if (!micros) return bad();
      return Value(Timestamp{*micros});
    }
  }
  return bad();
}

// Reads the data files of one range in order, as rows of the table's schema.
class DeltaPartitionReader final : public PartitionReader {
 public:
  DeltaPartitionReader(std::string table, SchemaPtr schema,
                       std::vector<std::string> partition_columns, int64_t rows_per_batch,
                       std::vector<DeltaSource::Entry> entries)
      : table_(std::move(table)),
        schema_(std::move(schema)),
        partition_columns_(std::move(partition_columns)),
        rows_per_batch_(rows_per_batch),
        entries_(std::move(entries)) {}

  Result<ReadFlow> next(RecordBatchPtr& out) override {
    while (true) {
      if (!reader_) {
        if (next_entry_ >= entries_.size()) return ReadFlow::finished;
        SLUICE_RETURN_NOT_OK(open_next());
      }
      SLUICE_ASSIGN_OR_RETURN(std::optional<RecordBatchPtr> batch, reader_->next());
      if (!batch) {
        reader_.reset();
        continue;
      }
      if ((*batch)->num_rows() == 0) continue;
      SLUICE_ASSIGN_OR_RETURN(out, convert(**batch));
      return ReadFlow::have_batch;
    }
  }

 private:
  // Where each output column comes from in the current file.
  struct ColumnOrigin {
    int file_column = -1;  ///< index in the file's batches, -1: not a data column
    Value constant;        ///< the partition value, or null for a column the file lacks
  };

  Status open_next() {
    const DeltaSource::Entry& entry = entries_[next_entry_++];
    const std::string path = (fs::path(table_) / entry.file.path).string();
    const std::string place = path + " (added in version " + std::to_string(entry.version) + ")";
    parquet::ReaderOptions options;
    options.batch_rows = rows_per_batch_;
    auto opened = parquet::Reader::open(path, options);
    if (!opened.ok()) return opened.status().with_context("Delta data file " + place);
    reader_ = std::move(opened).value();
    sources_.assign(static_cast<size_t>(schema_->num_fields()), ColumnOrigin{});
    for (int i = 0; i < schema_->num_fields(); ++i) {
      const Field& field = schema_->field(i);
      ColumnOrigin& source = sources_[static_cast<size_t>(i)];
      if (std::find(partition_columns_.begin(), partition_columns_.end(), field.name) !=
          partition_columns_.end()) {
        auto value = entry.file.partition_values.find(field.name);
        if (value == entry.file.partition_values.end()) {
          return Status::corrupt("Delta file " + place + " has no partition value for column '" +
                                 field.name + "'");
        }
        SLUICE_ASSIGN_OR_RETURN(source.constant, partition_value(field, value->second, place));
        continue;
      }
      source.file_column = reader_->schema()->find(field.name);
      if (source.file_column < 0) {
        // Delta reads a column a file lacks (written before the column existed) as null.
        if (!field.nullable) {
          return Status::corrupt("Delta data file " + place + " lacks the NOT NULL column '" +
                                 field.name + "'");
        }
        continue;
      }
      const Type type = reader_->schema()->field(source.file_column).type;
      if (type != field.type) {
        return Status::corrupt("column '" + field.name + "' of Delta data file " + place +
                               " holds " + std::string(type_name(type)) +
                               ", the table's schema says " + std::string(type_name(field.type)));
      }
    }
    return Status::ok();
  }

  Result<RecordBatchPtr> convert(const RecordBatch& batch) const {
    const int64_t rows = batch.num_rows();
    std::vector<ColumnPtr> columns;
    columns.reserve(sources_.size());
    for (int i = 0; i < schema_->num_fields(); ++i) {
      const ColumnOrigin& source = sources_[static_cast<size_t>(i)];
      if (source.file_column >= 0) {
        columns.push_back(batch.column(source.file_column));
      } else if (source.constant.is_null()) {
        columns.push_back(Column::make_null(schema_->field(i).type, rows));
      } else {
        SLUICE_ASSIGN_OR_RETURN(
            ColumnPtr column, Column::make_constant(schema_->field(i).type, source.constant, rows));
        columns.push_back(std::move(column));
      }
    }
    return RecordBatch::make(schema_, std::move(columns), rows);
  }

  std::string table_;
  SchemaPtr schema_;
  std::vector<std::string> partition_columns_;
  int64_t rows_per_batch_;
  std::vector<DeltaSource::Entry> entries_;
  size_t next_entry_ = 0;
  std::unique_ptr<parquet::Reader> reader_;
  std::vector<ColumnOrigin> sources_;
};

}  // namespace

Result<DeltaSourceOptions> DeltaSourceOptions::parse(std::string path,
                                                     std::map<std::string, std::string> raw) {
  OptionMap options("the delta source", std::move(raw));
  DeltaSourceOptions parsed;
  std::optional<std::string> path_option = options.take("path");
  if (!path.empty() && path_option && *path_option != path) {
    return Status::invalid_argument("the delta source got two paths: load('" + path +
                                    "') and option path '" + *path_option + "'");
  }
  parsed.path = !path.empty() ? std::move(path) : path_option.value_or("");
  if (parsed.path.empty()) {
    return Status::invalid_argument("the delta source needs the table's path: load(path)");
  }
  if (auto starting = options.take("startingVersion")) {
    std::string lowered = *starting;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lowered == "latest") {
      parsed.starting_latest = true;
    } else {
      OptionMap one("the delta source", {{"startingVersion", *starting}});
      auto version = one.take_int("startingVersion", 0, 0);
      if (!version.ok()) {
        return Status::invalid_argument(
            "option startingVersion of the delta source must be a version (0 or more) or "
            "'latest', got '" +
            *starting + "'");
      }
      parsed.starting_version = *version;
    }
  }
  SLUICE_ASSIGN_OR_RETURN(parsed.max_files_per_trigger,
                          options.take_int("maxFilesPerTrigger", 1000, 1));
  SLUICE_ASSIGN_OR_RETURN(parsed.max_bytes_per_trigger,
                          options.take_int("maxBytesPerTrigger", -1, 1));
  SLUICE_ASSIGN_OR_RETURN(parsed.ignore_changes, options.take_bool("ignoreChanges", false));
  SLUICE_ASSIGN_OR_RETURN(parsed.rows_per_batch,
                          options.take_int("rowsPerBatch", parsed.rows_per_batch, 1));
  SLUICE_RETURN_NOT_OK(options.check_all_used());
  return parsed;
}

Result<std::shared_ptr<DeltaSource>> DeltaSource::make(DeltaSourceOptions options) {
  const std::string& table = options.path;
  SLUICE_ASSIGN_OR_RETURN(DeltaVersionRange range, delta_version_range(table));
  if (range.latest < 0) {
    return Status::not_found("there is no Delta table at " + table + " (" +
                             delta_log_directory(table) + " holds no commit)");
  }
  SLUICE_ASSIGN_OR_RETURN(DeltaSnapshot latest, read_delta_snapshot(table));
  int64_t starting_version = 0;
  if (options.starting_latest) {
    starting_version = latest.version + 1;
  } else if (options.starting_version) {
    starting_version = *options.starting_version;
    if (starting_version > latest.version) {
      return Status::invalid_argument("option startingVersion " + std::to_string(starting_version) +
                                      " of the delta source lies past the latest version " +
                                      std::to_string(latest.version) + " of the Delta table at " +
                                      table);
    }
  }
  if (starting_version < range.earliest) {
    return Status::invalid_argument(
        "the delta source starts at version " + std::to_string(starting_version) +
        " but the log of the Delta table at " + table + " was cleaned up before version " +
        std::to_string(range.earliest) + "; set option startingVersion to " +
        std::to_string(range.earliest) + " or later");
  }
  // The schema in effect when the stream starts: after the versions before it, or the
  // creating commit's when the stream starts at version 0.
  SLUICE_ASSIGN_OR_RETURN(
      DeltaSnapshot at_start,
      read_delta_snapshot_at(table, std::max<int64_t>(starting_version - 1, range.earliest)));
  if (!at_start.metadata) {
    return Status::corrupt("the Delta log " + delta_log_directory(table) +
                           " has no metaData action by version " +
                           std::to_string(at_start.version));
  }
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr schema, Schema::make(at_start.metadata->fields));
  return std::shared_ptr<DeltaSource>(new DeltaSource(std::move(options), std::move(schema),
                                                      at_start.metadata->partition_columns,
                                                      starting_version));
}

DeltaSource::DeltaSource(DeltaSourceOptions options, SchemaPtr schema,
                         std::vector<std::string> partitions, int64_t starting_version)
    : options_(std::move(options)),
      schema_(std::move(schema)),
      partition_columns_(std::move(partitions)),
      starting_version_(starting_version) {}

std::string DeltaSource::description() const {
  return "DeltaSource[" + options_.path + "]";
}

int64_t DeltaSource::starting_version() const {
  std::lock_guard lock(mutex_);
  return starting_version_;
}

Status DeltaSource::refresh_locked() {
  const std::string& table = options_.path;
  if (blocked_) return Status::ok();
  if (!started_) {
    // The table before the first streamed version, from its newest checkpoint at or before.
    if (starting_version_ > 0) {
      SLUICE_ASSIGN_OR_RETURN(log_, read_delta_snapshot_at(table, starting_version_ - 1));
    }
    if (log_.metadata && (log_.metadata->fields != schema_->fields() ||
                          log_.metadata->partition_columns != partition_columns_)) {
      return Status::invalid_argument(
          "the schema of the Delta table at " + table + " at starting version " +
          std::to_string(starting_version_) + " (" + describe_fields(log_.metadata->fields) +
          ") differs from the query's (" + describe_fields(schema_->fields()) + ")");
    }
    started_ = true;
  }
  while (true) {
    const int64_t version = log_.version + 1;
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> content, read_delta_commit(table, version));
    if (!content) return Status::ok();
    SLUICE_ASSIGN_OR_RETURN(
        DeltaCommitSummary summary,
        apply_delta_commit(*content, delta_commit_file(table, version), version, log_));
    if (summary.changed_metadata && (log_.metadata->fields != schema_->fields() ||
                                     log_.metadata->partition_columns != partition_columns_)) {
      blocked_ = Status::invalid_argument(
          "version " + std::to_string(version) + " of the Delta table at " + table +
          " changes its schema to (" + describe_fields(log_.metadata->fields) +
          ") partitioned by (" + join_names(log_.metadata->partition_columns) +
          "); the delta source streams one schema (" + describe_fields(schema_->fields()) +
          "): restart the query with a new checkpoint and startingVersion " +
          std::to_string(version));
      return Status::ok();
    }
    if (!summary.data_removed.empty() && !options_.ignore_changes) {
      blocked_ = Status::invalid_argument(
          "version " + std::to_string(version) + " of the Delta table at " + table + " removes " +
          std::to_string(summary.data_removed.size()) + " data file(s) (e.g. " +
          summary.data_removed.front() +
          "), so it is not an append; set option ignoreChanges=true to stream only the files "
          "such commits add");
      return Status::ok();
    }
    for (auto& file : summary.data_added)
      entries_.push_back(Entry{version, std::move(file)});
  }
}

Result<SourceOffset> DeltaSource::latest_offset(const SourceOffset& start, const ReadLimit& limit) {
  std::lock_guard lock(mutex_);
  SLUICE_RETURN_NOT_OK(refresh_locked());
  const int64_t total = static_cast<int64_t>(entries_.size());
  const int64_t from = start.empty() ? 0 : start[0];
  // Before any reader ran, the first planned start is what the checkpoint committed.
  if (committed_ < 0 && !opened_) committed_ = from;
  if (from >= total && blocked_) {
    // Epochs still in flight hold the last rows before the blocking version: let them commit.
    if (committed_ >= from) return *blocked_;
    return SourceOffset{from};
  }
  available_ = SourceOffset{total};
  if (limit.everything || from >= total) return SourceOffset{std::max(from, total)};
  int64_t end = from;
  int64_t bytes = 0;
  while (end < total) {
    if (end - from >= options_.max_files_per_trigger) break;
    const int64_t size = entries_[static_cast<size_t>(end)].file.size;
    if (options_.max_bytes_per_trigger > 0 && end > from &&
        bytes + size > options_.max_bytes_per_trigger) {
      break;
    }
    bytes += size;
    ++end;
  }
  return SourceOffset{end};
}

std::optional<SourceOffset> DeltaSource::last_available() const {
  std::lock_guard lock(mutex_);
  return available_;
}

Result<std::unique_ptr<PartitionReader>> DeltaSource::open_reader(int partition, int64_t start,
                                                                  int64_t end) {
  if (partition != 0) {
    return Status::invalid_argument("the delta source has one partition, asked for " +
                                    std::to_string(partition));
  }
  std::vector<Entry> range;
  {
    std::lock_guard lock(mutex_);
    // A restarted query replays logged ranges before it plans: read the log that far first.
    if (end > static_cast<int64_t>(entries_.size())) SLUICE_RETURN_NOT_OK(refresh_locked());
    if (start < 0 || start > end || end > static_cast<int64_t>(entries_.size())) {
      return Status::corrupt("the range [" + std::to_string(start) + ", " + std::to_string(end) +
                             ") of the delta source lies past the " +
                             std::to_string(entries_.size()) + " data files the log of " +
                             options_.path + " holds from version " +
                             std::to_string(starting_version_));
    }
    range.assign(entries_.begin() + start, entries_.begin() + end);
    opened_ = true;
  }
  return open_delta_files_reader(options_.path, schema_, partition_columns_,
                                 options_.rows_per_batch, std::move(range));
}

std::unique_ptr<PartitionReader> open_delta_files_reader(std::string table, SchemaPtr schema,
                                                         std::vector<std::string> partition_columns,
                                                         int64_t rows_per_batch,
                                                         std::vector<DeltaSource::Entry> entries) {
  return std::make_unique<DeltaPartitionReader>(std::move(table), std::move(schema),
                                                std::move(partition_columns), rows_per_batch,
                                                std::move(entries));
}

Status DeltaSource::commit(const SourceOffset& end) {
  std::lock_guard lock(mutex_);
  if (!end.empty()) committed_ = std::max(committed_, end[0]);
  return Status::ok();
}

std::string DeltaSource::save_metadata() const {
  std::lock_guard lock(mutex_);
  return std::to_string(starting_version_);
}

Status DeltaSource::restore_metadata(std::string_view saved) {
  if (saved.empty()) return Status::ok();
  int64_t version = 0;
  auto [stop, error] = std::from_chars(saved.data(), saved.data() + saved.size(), version);
  if (error != std::errc() || stop != saved.data() + saved.size() || version < 0) {
    return Status::corrupt("the delta source's saved starting version is not a version: '" +
                           std::string(saved) + "'");
  }
  std::lock_guard lock(mutex_);
  if (version != starting_version_) {
    // The checkpoint fixed the start (startingVersion=latest at the first start): index anew.
    starting_version_ = version;
    started_ = false;
    log_ = DeltaSnapshot{};
    entries_.clear();
    blocked_.reset();
    available_.reset();
    committed_ = -1;
  }
  return Status::ok();
}

}  // namespace sluice
