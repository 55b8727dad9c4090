#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/record_batch.hpp"
#include "io/sink.hpp"
#include "operators/key_encoder.hpp"

namespace sluice {

class DirectoryLock;
class KeyedTableStore;

/// Options of the table sink: `path` (a directory) and `key` (comma-separated columns).
struct TableSinkOptions {
  std::string path;
  std::vector<std::string> key;

  /// Reads the sink's options; fails naming an unknown or missing option.
  static Result<TableSinkOptions> parse(const std::map<std::string, std::string>& options);
};

/// Keeps a query's latest result as a keyed table in its own LMDB environment, "the latest
/// results on this machine": rows are upserted by key (append and update modes) or the table
/// replaced (complete mode, where `key` may be omitted). An epoch is applied in one LMDB
/// transaction that also records it as the query's last applied epoch, so a replayed epoch is
/// skipped: exactly-once by construction. Readers (read_table_sink, `sluice table dump`) never block
/// it. One writing query per table at a time (a directory lock). Calls come from one sink
/// actor, as Sink says.
class TableSink final : public Sink {
 public:
  /// Checks the key columns against the query's output schema; fails naming a missing column,
  /// or a missing key outside complete mode.
  static Result<std::shared_ptr<TableSink>> make(TableSinkOptions options, SchemaPtr schema, OutputMode mode);
  ~TableSink() override;

  std::string description() const override { return "TableSink[" + options_.path + "]"; }
  /// Opens (creating) the table and takes its lock; refuses a table holding other columns or
  /// another key.
  Status attach(const ConnectorContext& context) override;
  Status write(int64_t epoch, const RecordBatchPtr& batch) override;
  Status finish_epoch(int64_t epoch) override;
  void abort_epoch(int64_t epoch) override { pending_.erase(epoch); }

 private:
  TableSink(TableSinkOptions options, SchemaPtr schema, OutputMode mode, KeyEncoder key, KeyEncoder row);

  TableSinkOptions options_;
  SchemaPtr schema_;
  OutputMode mode_;
  KeyEncoder key_encoder_;
  KeyEncoder row_encoder_;
  std::string query_id_;
  std::unique_ptr<DirectoryLock> lock_;
  std::shared_ptr<KeyedTableStore> store_;
  std::map<int64_t, std::vector<RecordBatchPtr>> pending_;
};

/// What a table holds: its rows in key order (with the table's columns) and its key columns.
struct TableSnapshot {
  RecordBatchPtr rows;
  std::vector<std::string> key;
};

/// Reads the table at `path` as of its last applied epoch, while a query may be writing it.
/// Fails with not_found when there is no table, corrupt when it is damaged. Thread-safe.
Result<TableSnapshot> read_table_sink(const std::string& path);

}  // namespace sluice
