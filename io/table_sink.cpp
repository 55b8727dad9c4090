#include "io/table_sink.hpp"

#include <numeric>

#include "core/wire.hpp"
#include "io/option_map.hpp"
#include "state/directory_lock.hpp"
#include "state/keyed_table_store.hpp"

namespace sluice {
namespace {

constexpr const char* kSchemaEntry = "schema";
constexpr const char* kKeyEntry = "key";

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

std::string describe_columns(const Schema& schema) { return "(" + schema.to_string() + ")"; }

// Row numbers as keys when complete mode needs no key: big-endian, so rows keep their order.
std::string position_key(int64_t position) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[static_cast<size_t>(7 - i)] = static_cast<char>((position >> (8 * i)) & 0xff);
  return key;
}

}  // namespace

Result<TableSinkOptions> TableSinkOptions::parse(const std::map<std::string, std::string>& raw) {
  OptionMap options("the table sink", raw);
  options.ignore("checkpointLocation");
  options.ignore("minBatchesToRetain");
  TableSinkOptions parsed;
  parsed.path = options.take_or("path", "");
  parsed.key = split_list(options.take_or("key", ""));
  SLUICE_RETURN_NOT_OK(options.check_all_used());
  if (parsed.path.empty()) return Status::invalid_argument("the table sink needs option(\"path\", table directory)");
  return parsed;
}

Result<std::shared_ptr<TableSink>> TableSink::make(TableSinkOptions options, SchemaPtr schema, OutputMode mode) {
  std::vector<int> key_columns;
  for (const auto& name : options.key) {
    auto index = schema->index_of(name);
    if (!index.ok()) return index.status().with_context("the table sink's option key");
    key_columns.push_back(*index);
  }
  if (key_columns.empty() && mode != OutputMode::Complete) {
    return Status::invalid_argument("the table sink needs option(\"key\", columns) in " +
                                    std::string(output_mode_name(mode)) +
                                    " mode: rows are upserted by key (only complete mode replaces the whole table)");
  }
  std::vector<int> all_columns(static_cast<size_t>(schema->num_fields()));
  std::iota(all_columns.begin(), all_columns.end(), 0);
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder key, KeyEncoder::make(*schema, key_columns));
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder row, KeyEncoder::make(*schema, all_columns));
  return std::shared_ptr<TableSink>(new TableSink(std::move(options), std::move(schema), mode, std::move(key), std::move(row)));
}

TableSink::TableSink(TableSinkOptions options, SchemaPtr schema, OutputMode mode, KeyEncoder key, KeyEncoder row)
    : options_(std::move(options)),
      schema_(std::move(schema)),
      mode_(mode),
      key_encoder_(std::move(key)),
      row_encoder_(std::move(row)) {}

TableSink::~TableSink() = default;

Status TableSink::attach(const ConnectorContext& context) {
  query_id_ = context.query_id;
  if (!store_) {
    SLUICE_ASSIGN_OR_RETURN(store_, KeyedTableStore::open(options_.path, /*create=*/true));
    SLUICE_ASSIGN_OR_RETURN(lock_, DirectoryLock::acquire(options_.path));
  }
  SLUICE_ASSIGN_OR_RETURN(auto stored_schema, store_->metadata(kSchemaEntry));
  if (stored_schema) {
    SLUICE_ASSIGN_OR_RETURN(SchemaPtr existing,
                            wire::decode_schema(reinterpret_cast<const uint8_t*>(stored_schema->data()), stored_schema->size()));
    if (!(*existing == *schema_)) {
      return Status::invalid_argument("table " + options_.path + " holds columns " + describe_columns(*existing) +
                                      ", the query writes " + describe_columns(*schema_));
    }
    SLUICE_ASSIGN_OR_RETURN(auto stored_key, store_->metadata(kKeyEntry));
    if (stored_key.value_or("") != join(options_.key)) {
      return Status::invalid_argument("table " + options_.path + " is keyed by (" + stored_key.value_or("") +
                                      "), the query writes it keyed by (" + join(options_.key) + ")");
    }
  }
  return Status::ok();
}

Status TableSink::write(int64_t epoch, const RecordBatchPtr& batch) {
  if (batch->num_rows() > 0) pending_[epoch].push_back(batch);
  return Status::ok();
}

Status TableSink::finish_epoch(int64_t epoch) {
  if (!store_) return Status::internal("the table sink was not attached to a query");
  KeyedTableStore::EpochWrite write;
  write.writer = query_id_;
  write.epoch = epoch;
  write.replace_all = mode_ == OutputMode::Complete;
  auto found = pending_.find(epoch);
  if (found != pending_.end()) {
    std::vector<std::string> keys;
    std::vector<std::string> rows;
    for (const auto& batch : found->second) {
      rows.clear();
      row_encoder_.encode(*batch, rows);
      if (options_.key.empty()) {
        keys.resize(rows.size());
        for (size_t i = 0; i < rows.size(); ++i) keys[i] = position_key(static_cast<int64_t>(write.upserts.size() + i));
      } else {
        key_encoder_.encode(*batch, keys);
      }
      for (size_t i = 0; i < rows.size(); ++i) write.upserts.emplace_back(std::move(keys[i]), std::move(rows[i]));
    }
    pending_.erase(found);
  }
  SLUICE_ASSIGN_OR_RETURN(auto schema_bytes, wire::encode_schema(*schema_));
  write.metadata.emplace_back(kSchemaEntry, std::string(schema_bytes.begin(), schema_bytes.end()));
  write.metadata.emplace_back(kKeyEntry, join(options_.key));
  SLUICE_ASSIGN_OR_RETURN(bool applied, store_->apply(write));
  (void)applied;  // false: a replay of an epoch the table already holds
  return Status::ok();
}

Result<TableSnapshot> read_table_sink(const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(auto store, KeyedTableStore::open(path, /*create=*/false));
  SLUICE_ASSIGN_OR_RETURN(auto schema_bytes, store->metadata(kSchemaEntry));
  if (!schema_bytes) return Status::not_found("table " + path + " has no rows yet (no epoch was written)");
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr schema,
                          wire::decode_schema(reinterpret_cast<const uint8_t*>(schema_bytes->data()), schema_bytes->size()));
  SLUICE_ASSIGN_OR_RETURN(auto key, store->metadata(kKeyEntry));
  std::vector<int> all_columns(static_cast<size_t>(schema->num_fields()));
  std::iota(all_columns.begin(), all_columns.end(), 0);
  SLUICE_ASSIGN_OR_RETURN(KeyEncoder row_encoder, KeyEncoder::make(*schema, all_columns));
  std::vector<std::vector<Value>> rows;
  Status decoding;
  SLUICE_RETURN_NOT_OK(store->scan([&](std::string_view, std::string_view row) {
    auto values = row_encoder.decode(row);
    if (!values.ok()) {
      decoding = values.status().with_context("row " + std::to_string(rows.size()) + " of table " + path);
      return false;
    }
    rows.push_back(std::move(*values));
    return true;
  }));
  SLUICE_RETURN_NOT_OK(decoding);
  SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr batch, RecordBatch::from_rows(schema, rows));
  return TableSnapshot{std::move(batch), split_list(key.value_or(""))};
}

}  // namespace sluice
