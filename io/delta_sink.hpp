#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/delta_log.hpp"
#include "io/sink.hpp"
#include "operators/key_encoder.hpp"

namespace sluice {

namespace parquet {
class Writer;
struct WrittenFile;
}  // namespace parquet

/// Renders a written data file's statistics as the `stats` JSON of its add action: numRecords,
/// minValues and maxValues (millisecond timestamps, no booleans, short strings only), nullCount.
std::string delta_file_stats(const parquet::WrittenFile& written);

/// Options of the Delta Lake sink.
struct DeltaSinkOptions {
  std::string path;                      ///< the table directory (`path`, required)
  bool merge_schema = false;             ///< add new columns to the table (`mergeSchema`)
  /// false: a replayed epoch is appended again (at-least-once, `exactlyOnce`), as a writer that
  /// ignores the txn action would; for proving that a checker notices duplicates.
  bool exactly_once = true;
  int64_t target_file_rows = 1'000'000;  ///< a data file rolls over past this many rows
  std::vector<std::string> partition_by;
  /// Update mode: the columns each epoch upserts by (`key`, comma-separated).
  std::vector<std::string> key;
  bool sync = true;  ///< fsync data files and commits before they count

  /// Reads `path`, `mergeSchema`, `targetFileRows`, `key` (and ignores `checkpointLocation`,
  /// `minBatchesToRetain`); fails naming an unknown option with the closest known one.
  static Result<DeltaSinkOptions> parse(const std::map<std::string, std::string>& options);
};

/// Writes each epoch's rows as Snappy Parquet files into a Delta Lake table and publishes them
/// with one Delta commit per epoch that also records `txn{appId: query id, version: epoch}`.
/// A replayed epoch whose txn version the log already holds is skipped, so each epoch's rows
/// appear once. Commits are published with link(2), never overwriting: a writer that loses a
/// version re-reads the log and retries at the next one unless the winner changed what it
/// depends on. Every tenth version it also writes a Parquet checkpoint of the log (and
/// `_last_checkpoint`), which opening the table starts from. Append mode adds files; complete mode removes every live file and adds the new
/// ones; update mode upserts by `key` columns, copy-on-write: the commit removes every live
/// file holding a key the epoch changed and adds the epoch's rows with those files' other rows
/// rewritten (it reads the table's files each epoch, so it suits aggregate-sized tables).
/// Calls come from one sink actor (see Sink); several sinks, in any processes, may write
/// one table at once.
class DeltaSink final : public Sink {
 public:
  /// Reads the table's log (if any) and checks the query's schema and partitioning against it;
  /// writes nothing yet.
  static Result<std::shared_ptr<DeltaSink>> make(DeltaSinkOptions options, SchemaPtr schema,
                                                 OutputMode mode);
  ~DeltaSink() override;

  std::string description() const override;
  /// Re-reads the log, remembers the query's latest txn version, and creates the table (or adds
  /// new columns under mergeSchema) with a commit of its own when needed.
  Status attach(const ConnectorContext& context) override;
  Status write(int64_t epoch, const RecordBatchPtr& batch) override;
  Status finish_epoch(int64_t epoch) override;
  void abort_epoch(int64_t epoch) override;

  /// Returns the number of replayed epochs skipped because the log held their txn.
  int64_t skipped_epochs() const { return skipped_epochs_; }
  /// Returns the number of commits retried at a later version after losing a race.
  int64_t commit_retries() const { return commit_retries_; }
  /// Returns the number of log checkpoints that could not be written (every tenth version
  /// gets one; the commit itself stands).
  int64_t checkpoint_failures() const { return checkpoint_failures_; }
  /// Returns the table version this sink last read or published.
  int64_t table_version() const { return snapshot_.version; }

 private:
  struct OpenFile;
  struct EpochFiles;
  DeltaSink(DeltaSinkOptions options, SchemaPtr schema, OutputMode mode);
  // Checks the query's schema against the snapshot's; returns the metaData to commit (table
  // creation or new columns), or nullopt when the table already fits.
  Result<std::optional<DeltaMetadata>> reconcile(const DeltaSnapshot& snapshot) const;
  Status ensure_table();
  bool already_committed(int64_t epoch) const;
  // Writes a log checkpoint when the version just published is a multiple of ten.
  void checkpoint_if_due();
  Status close_file(EpochFiles& files, OpenFile& file);
  // Writes rows into the epoch's open files, rolling and partitioning them.
  Status write_rows(int64_t epoch, EpochFiles& files, const RecordBatchPtr& batch);
  // Update mode: rewrites the files holding the epoch's keys and commits, retrying on races.
  Status commit_upsert(int64_t epoch, EpochFiles& files);
  // Reads a live file's rows with the query's columns.
  Result<RecordBatchPtr> read_live_file(const DeltaFile& file) const;
  void remove_files(EpochFiles& files);
  Result<std::string> partition_directory(
      const RecordBatch& batch, int64_t row,
      std::map<std::string, std::optional<std::string>>& values) const;

  DeltaSinkOptions options_;
  SchemaPtr schema_;
  SchemaPtr data_schema_;
  OutputMode mode_;
  std::string query_id_;
  std::vector<int> data_columns_;
  std::vector<int> partition_columns_;
  std::optional<KeyEncoder> key_encoder_;  ///< update mode's key columns
  DeltaSnapshot snapshot_;
  std::map<int64_t, std::unique_ptr<EpochFiles>> epochs_;
  int64_t skipped_epochs_ = 0;
  int64_t commit_retries_ = 0;
  int64_t checkpoint_failures_ = 0;
};

}  // namespace sluice
