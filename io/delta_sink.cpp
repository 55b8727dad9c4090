#include "io/delta_sink.hpp"

#include "core/fault_injection.hpp"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include "core/schema.hpp"
#include "io/delta_checkpoint.hpp"
#include "io/delta_source.hpp"
#include "io/hive_partitions.hpp"
#include "io/option_map.hpp"
#include "parquet/writer.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

// Gives up on a commit after losing this many races in a row (each loss means another writer
// made progress, so this only trips under pathological contention).
constexpr int kMaxCommitAttempts = 1000;
// Delta readers compare string statistics by prefix; longer bounds are left out.
constexpr size_t kMaxStringStatBytes = 32;

// Formats a timestamp in milliseconds as Delta statistics hold it: 2024-01-02T03:04:05.678Z.
std::string iso_millis(int64_t millis) {
  const int64_t seconds = millis >= 0 ? millis / 1000 : -((-millis + 999) / 1000);
  const int64_t remainder = millis - seconds * 1000;
  const time_t time = static_cast<time_t>(seconds);
  struct tm parts {};
  gmtime_r(&time, &parts);
  char text[48];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(remainder));
  return text;
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// Renders a bound as a JSON value, or "" when Delta statistics cannot carry it.
std::string stat_value(const Value& value, bool upper) {
  switch (value.type().value_or(Type::Bool)) {
    case Type::Bool:
      return "";  // Delta keeps no min/max for booleans
    case Type::Int64:
      return std::to_string(value.as_int64());
    case Type::Double: {
      const double number = value.as_double();
      if (!std::isfinite(number)) return "";
      char text[32];
      auto [end, error] = std::to_chars(text, text + sizeof(text), number);
      (void)error;
      return std::string(text, end);
    }
    case Type::String:
      if (value.as_string().size() > kMaxStringStatBytes) return "";
      return json_string(value.as_string());
    case Type::Timestamp: {
      // Statistics have millisecond precision: round outwards so the bounds still hold.
      const int64_t micros = value.as_timestamp().micros;
      const int64_t millis = upper ? -floor_div(-micros, 1000) : floor_div(micros, 1000);
      return json_string(iso_millis(millis));
    }
  }
  return "";
}

}  // namespace

std::string delta_file_stats(const parquet::WrittenFile& written) {
  std::string minimums, maximums, nulls;
  for (const auto& column : written.columns) {
    const std::string key = json_string(column.name);
    nulls += (nulls.empty() ? "" : ",") + key + ":" + std::to_string(column.null_count);
    if (column.min) {
      if (std::string text = stat_value(*column.min, false); !text.empty())
        minimums += (minimums.empty() ? "" : ",") + key + ":" + text;
    }
    if (column.max) {
      if (std::string text = stat_value(*column.max, true); !text.empty())
        maximums += (maximums.empty() ? "" : ",") + key + ":" + text;
    }
  }
  return "{\"numRecords\":" + std::to_string(written.num_rows) + ",\"minValues\":{" + minimums +
         "},\"maxValues\":{" + maximums + "},\"nullCount\":{" + nulls + "}}";
}

namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

struct DeltaSink::OpenFile {
  std::unique_ptr<parquet::Writer> writer;
  std::string relative;
  int64_t rows = 0;
  std::map<std::string, std::optional<std::string>> partition_values;
};

// The data files one epoch is writing (epochs overlap: e+1 may write before e finishes).
struct DeltaSink::EpochFiles {
  std::map<std::string, OpenFile> open;  ///< by partition directory
  std::vector<DeltaFile> written;        ///< closed files, ready for the commit
  std::vector<std::string> created;      ///< every file created, for cleanup
  std::vector<RecordBatchPtr> pending;   ///< update mode: the epoch's rows, upserted at finish
  bool skipping = false;                 ///< the log already holds the epoch's txn
};

Result<DeltaSinkOptions> DeltaSinkOptions::parse(const std::map<std::string, std::string>& raw) {
  OptionMap options("the delta sink", raw);
  options.ignore("checkpointLocation");
  options.ignore("minBatchesToRetain");
  DeltaSinkOptions parsed;
  parsed.path = options.take_or("path", "");
  SLUICE_ASSIGN_OR_RETURN(parsed.merge_schema, options.take_bool("mergeSchema", false));
  SLUICE_ASSIGN_OR_RETURN(parsed.exactly_once, options.take_bool("exactlyOnce", true));
  SLUICE_ASSIGN_OR_RETURN(parsed.target_file_rows,
                          options.take_int("targetFileRows", parsed.target_file_rows, 1));
  parsed.key = split_list(options.take_or("key", ""));
  SLUICE_RETURN_NOT_OK(options.check_all_used());
  if (parsed.path.empty()) {
    return Status::invalid_argument("the delta sink needs option(\"path\", table directory)");
  }
  return parsed;
}

DeltaSink::DeltaSink(DeltaSinkOptions options, SchemaPtr schema, OutputMode mode)
    : options_(std::move(options)), schema_(std::move(schema)), mode_(mode) {}

DeltaSink::~DeltaSink() {
  for (auto& [epoch, files] : epochs_)
    remove_files(*files);
}

Result<std::shared_ptr<DeltaSink>> DeltaSink::make(DeltaSinkOptions options, SchemaPtr schema,
                                                   OutputMode mode) {
  if (mode == OutputMode::Update && options.key.empty()) {
    return Status::invalid_argument(
        "the delta sink needs option(\"key\", \"column,...\") in update mode: each epoch "
        "upserts its rows by those columns (it rewrites the files holding changed keys)");
  }
  if (mode != OutputMode::Update && !options.key.empty()) {
    return Status::invalid_argument("option key of the delta sink applies to update mode; " +
                                    std::string(output_mode_name(mode)) +
                                    " mode writes rows as they come");
  }
  std::shared_ptr<DeltaSink> sink(new DeltaSink(std::move(options), std::move(schema), mode));
  if (mode == OutputMode::Update) {
    std::vector<int> key_columns;
    for (const auto& name : sink->options_.key) {
      auto index = sink->schema_->index_of(name);
      if (!index.ok()) return index.status().with_context("the delta sink's option key");
      key_columns.push_back(*index);
    }
    SLUICE_ASSIGN_OR_RETURN(KeyEncoder encoder, KeyEncoder::make(*sink->schema_, key_columns));
    sink->key_encoder_.emplace(std::move(encoder));
  }
  SLUICE_ASSIGN_OR_RETURN(sink->snapshot_, read_delta_snapshot(sink->options_.path));
  // Without partition_by(...), an existing table keeps its own partitioning.
  if (sink->options_.partition_by.empty() && sink->snapshot_.metadata) {
    sink->options_.partition_by = sink->snapshot_.metadata->partition_columns;
  }
  for (const auto& name : sink->options_.partition_by) {
    SLUICE_ASSIGN_OR_RETURN(int index, [&]() -> Result<int> {
      auto found = sink->schema_->index_of(name);
      if (!found.ok()) return found.status().with_context("partition_by");
      return found;
    }());
    sink->partition_columns_.push_back(index);
  }
  std::vector<Field> data_fields;
  for (int i = 0; i < sink->schema_->num_fields(); ++i) {
    if (std::find(sink->partition_columns_.begin(), sink->partition_columns_.end(), i) ==
        sink->partition_columns_.end()) {
      sink->data_columns_.push_back(i);
      data_fields.push_back(sink->schema_->field(i));
    }
  }
  if (data_fields.empty()) {
    return Status::invalid_argument("the delta sink needs a column outside partition_by(" +
                                    join_names(sink->options_.partition_by) + ")");
  }
  SLUICE_ASSIGN_OR_RETURN(sink->data_schema_, Schema::make(std::move(data_fields)));
  SLUICE_RETURN_NOT_OK(sink->reconcile(sink->snapshot_).status());
  return sink;
}

std::string DeltaSink::description() const {
  return "DeltaSink[" + options_.path + "]";
}

Result<std::optional<DeltaMetadata>> DeltaSink::reconcile(const DeltaSnapshot& snapshot) const {
  const std::string table = "the Delta table at " + options_.path;
  if (!snapshot.metadata) {
    DeltaMetadata created;
    created.id = random_uuid();
    created.fields = schema_->fields();
    created.schema_string = delta_schema_string(created.fields);
    created.partition_columns = options_.partition_by;
    created.created_time = delta_now_millis();
    return std::optional<DeltaMetadata>(std::move(created));
  }
  if (snapshot.protocol && snapshot.protocol->min_writer_version > 2) {
    return Status::invalid_argument(table + " needs writer version " +
                                    std::to_string(snapshot.protocol->min_writer_version) +
                                    "; Sluice writes version 2");
  }
  const DeltaMetadata& metadata = *snapshot.metadata;
  if (metadata.partition_columns != options_.partition_by) {
    return Status::invalid_argument("partition_by(" + join_names(options_.partition_by) +
                                    ") differs from the partition columns of " + table + " (" +
                                    join_names(metadata.partition_columns) + ")");
  }
  std::vector<std::string> table_columns;
  for (const auto& field : metadata.fields)
    table_columns.push_back(field.name);
  for (const auto& field : metadata.fields) {
    // Delta reads a column a file lacks as null, so only NOT NULL columns must be written.
    if (schema_->find(field.name) < 0 && !field.nullable) {
      return Status::invalid_argument("column '" + field.name + "' of " + table +
                                      " is NOT NULL but the query does not produce it");
    }
  }
  std::vector<Field> merged = metadata.fields;
  for (const auto& field : schema_->fields()) {
    auto it = std::find_if(metadata.fields.begin(), metadata.fields.end(),
                           [&](const Field& existing) { return existing.name == field.name; });
    if (it == metadata.fields.end()) {
      if (!options_.merge_schema) {
        return Status::invalid_argument("column '" + field.name + "' is not in " + table +
                                        " (its columns: " + join_names(table_columns) +
                                        "); set option mergeSchema=true to add it");
      }
      merged.push_back(Field{field.name, field.type, true});
      continue;
    }
    if (it->type != field.type) {
      return Status::invalid_argument("column '" + field.name + "' is " +
                                      std::string(type_name(field.type)) + " in the query but " +
                                      std::string(type_name(it->type)) + " in " + table);
    }
    if (!it->nullable && field.nullable) {
      return Status::invalid_argument("column '" + field.name + "' may hold nulls but " + table +
                                      " declares it NOT NULL");
    }
  }
  if (merged.size() == metadata.fields.size()) return std::optional<DeltaMetadata>();
  DeltaMetadata changed = metadata;
  changed.fields = std::move(merged);
  changed.schema_string = delta_schema_string(changed.fields);
  return std::optional<DeltaMetadata>(std::move(changed));
}

Status DeltaSink::ensure_table() {
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    SLUICE_ASSIGN_OR_RETURN(std::optional<DeltaMetadata> metadata, reconcile(snapshot_));
    if (!metadata) return Status::ok();
    const bool creating = !snapshot_.metadata;
    const int64_t now = delta_now_millis();
    std::string content = delta_commit_info_action(now, creating ? "CREATE TABLE" : "ADD COLUMNS",
                                                   {{"queryId", query_id_}}, false) +
                          "\n";
    if (!snapshot_.protocol) content += delta_protocol_action(DeltaProtocol{}) + "\n";
    content += delta_metadata_action(*metadata) + "\n";
    const int64_t version = snapshot_.version + 1;
    SLUICE_ASSIGN_OR_RETURN(bool published,
                            publish_delta_commit(options_.path, version, content, options_.sync));
    if (published) {
      return apply_delta_commit(content, delta_commit_file(options_.path, version), version,
                                snapshot_)
          .status();
    }
    // Another writer took the version: see what the table looks like now and decide again.
    ++commit_retries_;
    SLUICE_RETURN_NOT_OK(refresh_delta_snapshot(options_.path, snapshot_).status());
  }
  return Status::aborted("gave up creating " + description() + " after " +
                         std::to_string(kMaxCommitAttempts) + " concurrent commits");
}

Status DeltaSink::attach(const ConnectorContext& context) {
  if (context.query_id.empty()) {
    return Status::invalid_argument("the delta sink needs a query id to record its epochs");
  }
  query_id_ = context.query_id;
  std::error_code error;
  fs::create_directories(delta_log_directory(options_.path), error);
  if (error) {
    return Status::io_error("cannot create " + delta_log_directory(options_.path) + ": " +
                            error.message());
  }
  SLUICE_ASSIGN_OR_RETURN(snapshot_, read_delta_snapshot(options_.path));
  return ensure_table().with_context(description());
}

bool DeltaSink::already_committed(int64_t epoch) const {
  if (!options_.exactly_once) return false;
  auto it = snapshot_.transactions.find(query_id_);
  return it != snapshot_.transactions.end() && epoch <= it->second;
}

Result<std::string> DeltaSink::partition_directory(
    const RecordBatch& batch, int64_t row,
    std::map<std::string, std::optional<std::string>>& values) const {
  std::string directory;
  for (int index : partition_columns_) {
    const std::string& name = schema_->field(index).name;
    std::optional<std::string> value = partition_value_text(*batch.column(index), row);
    if (!directory.empty()) directory += "/";
    directory += escape_partition_value(name) + "=" +
                 (value ? escape_partition_value(*value) : "__HIVE_DEFAULT_PARTITION__");
    values[name] = std::move(value);
  }
  return directory;
}

Status DeltaSink::close_file(EpochFiles& files, OpenFile& file) {
  auto writer = std::move(file.writer);
  SLUICE_ASSIGN_OR_RETURN(parquet::WrittenFile written, writer->close());
  DeltaFile closed;
  closed.path = file.relative;
  closed.partition_values = file.partition_values;
  closed.size = written.file_bytes;
  closed.modification_time = delta_now_millis();
  closed.stats = delta_file_stats(written);
  files.written.push_back(std::move(closed));
  file.rows = 0;
  return Status::ok();
}

void DeltaSink::remove_files(EpochFiles& files) {
  for (auto& [directory, file] : files.open)
    file.writer.reset();
  for (const auto& relative : files.created) {
    std::error_code ignored;
    fs::remove(fs::path(options_.path) / relative, ignored);
  }
  files.open.clear();
  files.written.clear();
  files.created.clear();
}

Status DeltaSink::write(int64_t epoch, const RecordBatchPtr& batch) {
  auto& slot = epochs_[epoch];
  if (!slot) {
    slot = std::make_unique<EpochFiles>();
    slot->skipping = already_committed(epoch);
  }
  EpochFiles& files = *slot;
  if (files.skipping || batch->num_rows() == 0) return Status::ok();
  // Update mode rewrites the files holding the epoch's keys: it needs all of the epoch first.
  if (mode_ == OutputMode::Update) {
    files.pending.push_back(batch);
    return Status::ok();
  }
  return write_rows(epoch, files, batch);
}

Status DeltaSink::write_rows(int64_t epoch, EpochFiles& files, const RecordBatchPtr& batch) {
  // Group the rows by partition directory (one group without partition columns).
  std::map<std::string, std::vector<int32_t>> groups;
  std::map<std::string, std::map<std::string, std::optional<std::string>>> group_values;
  if (partition_columns_.empty()) {
    groups[""];
  } else {
    for (int64_t row = 0; row < batch->num_rows(); ++row) {
      std::map<std::string, std::optional<std::string>> values;
      SLUICE_ASSIGN_OR_RETURN(std::string directory, partition_directory(*batch, row, values));
      groups[directory].push_back(static_cast<int32_t>(row));
      group_values.try_emplace(directory, std::move(values));
    }
  }
  for (auto& [directory, rows] : groups) {
    RecordBatchPtr group = partition_columns_.empty()
                               ? batch
                               : batch->take(rows.data(), static_cast<int64_t>(rows.size()));
    std::vector<ColumnPtr> columns;
    for (int index : data_columns_)
      columns.push_back(group->column(index));
    RecordBatchPtr data =
        RecordBatch::make_unchecked(data_schema_, std::move(columns), group->num_rows());
    OpenFile& file = files.open[directory];
    int64_t offset = 0;
    while (offset < data->num_rows()) {
      if (!file.writer) {
        file.relative = (directory.empty() ? "" : directory + "/") + "part-" +
                        std::to_string(epoch) + "-" + random_uuid() + ".c000.snappy.parquet";
        file.partition_values = group_values[directory];
        const fs::path full = fs::path(options_.path) / file.relative;
        std::error_code error;
        fs::create_directories(full.parent_path(), error);
        if (error) {
          return Status::io_error("cannot create " + full.parent_path().string() + ": " +
                                  error.message());
        }
        parquet::WriterOptions writer_options;
        writer_options.compression = parquet::Compression::snappy;
        writer_options.fsync_on_close = options_.sync;
        files.created.push_back(file.relative);
        SLUICE_ASSIGN_OR_RETURN(file.writer,
                                parquet::Writer::open(full.string(), data_schema_, writer_options));
      }
      const int64_t count =
          std::min(data->num_rows() - offset, options_.target_file_rows - file.rows);
      SLUICE_RETURN_NOT_OK(file.writer->write(*data->slice(offset, count)));
      offset += count;
      file.rows += count;
      if (file.rows >= options_.target_file_rows) SLUICE_RETURN_NOT_OK(close_file(files, file));
    }
  }
  return Status::ok();
}

Status DeltaSink::finish_epoch(int64_t epoch) {
  std::unique_ptr<EpochFiles> files;
  if (auto it = epochs_.find(epoch); it != epochs_.end()) {
    files = std::move(it->second);
    epochs_.erase(it);
  } else {
    files = std::make_unique<EpochFiles>();
  }
  const std::string context = "committing epoch " + std::to_string(epoch) + " of " + description();
  if (files->skipping || already_committed(epoch)) {
    remove_files(*files);
    ++skipped_epochs_;
    return Status::ok();
  }
  if (mode_ == OutputMode::Update) {
    Status upserted = commit_upsert(epoch, *files);
    if (!upserted.is_ok()) remove_files(*files);
    return upserted.with_context(context);
  }
  for (auto& [directory, file] : files->open) {
    if (!file.writer) continue;
    if (Status closed = close_file(*files, file); !closed.is_ok()) {
      remove_files(*files);
      return closed.with_context(context);
    }
  }
  // An empty epoch in append mode changes nothing; a replay of it is just as empty.
  if (mode_ == OutputMode::Append && files->written.empty()) return Status::ok();

  auto fail = [&](const Status& status) {
    remove_files(*files);
    return status.with_context(context);
  };
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    const int64_t now = delta_now_millis();
    const int64_t version = snapshot_.version + 1;
    std::string content =
        delta_commit_info_action(now, "STREAMING UPDATE",
                                 {{"outputMode", std::string(output_mode_name(mode_))},
                                  {"queryId", query_id_},
                                  {"epochId", std::to_string(epoch)}},
                                 mode_ == OutputMode::Append) +
        "\n" + delta_txn_action(query_id_, epoch, now) + "\n";
    if (mode_ == OutputMode::Complete) {
      for (const auto& [path, live] : snapshot_.files)
        content += delta_remove_action(live, now, true) + "\n";
    }
    for (const auto& added : files->written)
      content += delta_add_action(added, true) + "\n";
    if (Status fault = fault_point(FaultPoint::delta_before_log_publish, epoch); !fault.is_ok()) return fail(fault);
    auto published = publish_delta_commit(options_.path, version, content, options_.sync);
    if (!published.ok()) return fail(published.status());
    if (*published) {
      auto applied = apply_delta_commit(content, delta_commit_file(options_.path, version), version,
                                        snapshot_);
      if (!applied.ok()) return applied.status().with_context(context);
      checkpoint_if_due();
      return Status::ok();
    }
    // Lost the race for this version: read what the winners did.
    ++commit_retries_;
    auto winners = refresh_delta_snapshot(options_.path, snapshot_);
    if (!winners.ok()) return fail(winners.status());
    if (already_committed(epoch)) {
      // An earlier incarnation of this query committed the epoch meanwhile.
      remove_files(*files);
      ++skipped_epochs_;
      return Status::ok();
    }
    for (const DeltaCommitSummary& winner : *winners) {
      const std::string at = "version " + std::to_string(winner.version);
      if (winner.changed_protocol || winner.changed_metadata) {
        auto change = reconcile(snapshot_);
        if (!change.ok()) {
          return fail(
              change.status().with_context("the table's metadata changed concurrently at " + at));
        }
        if (*change) {
          return fail(Status::aborted("the table's schema changed concurrently at " + at +
                                      " and no longer fits the query"));
        }
      }
      if (mode_ == OutputMode::Complete && (!winner.added.empty() || !winner.removed.empty())) {
        return fail(Status::aborted("a concurrent commit at " + at +
                                    " changed the files that complete mode replaces"));
      }
    }
    // Blind appends of others do not conflict with ours: retry at the next version.
  }
  return fail(Status::aborted("gave up after " + std::to_string(kMaxCommitAttempts) +
                              " concurrent commits"));
}

Result<RecordBatchPtr> DeltaSink::read_live_file(const DeltaFile& file) const {
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr table_schema, Schema::make(snapshot_.metadata->fields));
  auto reader = open_delta_files_reader(options_.path, table_schema,
                                        snapshot_.metadata->partition_columns, 1 << 20,
                                        {DeltaSource::Entry{snapshot_.version, file}});
  std::vector<RecordBatchPtr> batches;
  for (RecordBatchPtr batch;;) {
    SLUICE_ASSIGN_OR_RETURN(ReadFlow flow, reader->next(batch));
    if (flow == ReadFlow::finished) break;
    // The table may hold more columns than the query (mergeSchema); keep the query's.
    std::vector<ColumnPtr> columns;
    for (const Field& field : schema_->fields()) {
      SLUICE_ASSIGN_OR_RETURN(int index, batch->schema()->index_of(field.name));
      columns.push_back(batch->column(index));
    }
    batches.push_back(RecordBatch::make_unchecked(schema_, std::move(columns), batch->num_rows()));
  }
  if (batches.empty()) return RecordBatch::make_empty(schema_);
  return batches.size() == 1 ? batches.front() : RecordBatch::concatenate(batches);
}

Status DeltaSink::commit_upsert(int64_t epoch, EpochFiles& files) {
  if (files.pending.empty()) return Status::ok();  // nothing changed; a replay is as empty
  SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr all, files.pending.size() == 1
                                                  ? Result<RecordBatchPtr>(files.pending.front())
                                                  : RecordBatch::concatenate(files.pending));
  files.pending.clear();
  // The last row of each key in the epoch is its new value.
  std::vector<std::string> keys;
  key_encoder_->encode(*all, keys);
  std::map<std::string, int32_t> last_row;
  for (size_t row = 0; row < keys.size(); ++row)
    last_row[keys[row]] = static_cast<int32_t>(row);
  std::vector<int32_t> kept;
  for (size_t row = 0; row < keys.size(); ++row) {
    if (last_row[keys[row]] == static_cast<int32_t>(row)) kept.push_back(static_cast<int32_t>(row));
  }
  const RecordBatchPtr changed = all->take(kept.data(), static_cast<int64_t>(kept.size()));

  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    // Copy on write: every live file holding a changed key is removed and its other rows are
    // written again, next to the epoch's rows.
    std::vector<DeltaFile> touched;
    SLUICE_RETURN_NOT_OK(write_rows(epoch, files, changed));
    for (const auto& [path, live] : snapshot_.files) {
      SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr rows, read_live_file(live));
      std::vector<std::string> file_keys;
      key_encoder_->encode(*rows, file_keys);
      std::vector<int32_t> survivors;
      for (size_t row = 0; row < file_keys.size(); ++row) {
        if (!last_row.count(file_keys[row])) survivors.push_back(static_cast<int32_t>(row));
      }
      if (survivors.size() == file_keys.size()) continue;
      touched.push_back(live);
      if (!survivors.empty()) {
        SLUICE_RETURN_NOT_OK(write_rows(
            epoch, files, rows->take(survivors.data(), static_cast<int64_t>(survivors.size()))));
      }
    }
    for (auto& [directory, file] : files.open) {
      if (file.writer) SLUICE_RETURN_NOT_OK(close_file(files, file));
    }
    const int64_t now = delta_now_millis();
    const int64_t version = snapshot_.version + 1;
    std::string content =
        delta_commit_info_action(now, "STREAMING UPDATE",
                                 {{"outputMode", "Update"},
                                  {"queryId", query_id_},
                                  {"epochId", std::to_string(epoch)},
                                  {"key", join_names(options_.key)}},
                                 false) +
        "\n" + delta_txn_action(query_id_, epoch, now) + "\n";
    for (const DeltaFile& removed : touched)
      content += delta_remove_action(removed, now, true) + "\n";
    for (const DeltaFile& added : files.written)
      content += delta_add_action(added, true) + "\n";
    SLUICE_RETURN_NOT_OK(fault_point(FaultPoint::delta_before_log_publish, epoch));
    SLUICE_ASSIGN_OR_RETURN(bool published,
                            publish_delta_commit(options_.path, version, content, options_.sync));
    if (published) {
      SLUICE_RETURN_NOT_OK(
          apply_delta_commit(content, delta_commit_file(options_.path, version), version, snapshot_)
              .status());
      checkpoint_if_due();
      return Status::ok();
    }
    // Lost the race: drop this attempt's files and rewrite against what the winners left.
    ++commit_retries_;
    remove_files(files);
    SLUICE_ASSIGN_OR_RETURN(std::vector<DeltaCommitSummary> winners,
                            refresh_delta_snapshot(options_.path, snapshot_));
    if (already_committed(epoch)) {
      ++skipped_epochs_;
      return Status::ok();
    }
    for (const DeltaCommitSummary& winner : winners) {
      if (winner.changed_protocol || winner.changed_metadata) {
        SLUICE_ASSIGN_OR_RETURN(std::optional<DeltaMetadata> change, reconcile(snapshot_));
        if (change) {
          return Status::aborted("the table's schema changed concurrently at version " +
                                 std::to_string(winner.version) + " and no longer fits the query");
        }
      }
    }
  }
  return Status::aborted("gave up after " + std::to_string(kMaxCommitAttempts) +
                         " concurrent commits");
}

void DeltaSink::checkpoint_if_due() {
  if (snapshot_.version <= 0 || snapshot_.version % kDeltaCheckpointInterval != 0) return;
  // The commit is published already; a checkpoint only speeds up opening the table, so a
  // failure to write one is counted, not raised (readers then replay more of the log).
  if (!write_delta_checkpoint(options_.path, snapshot_, options_.sync).is_ok()) {
    ++checkpoint_failures_;
  }
}

void DeltaSink::abort_epoch(int64_t epoch) {
  auto it = epochs_.find(epoch);
  if (it == epochs_.end()) return;
  remove_files(*it->second);
  epochs_.erase(it);
}

}  // namespace sluice
