#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "io/delta_log.hpp"
#include "io/source.hpp"

namespace sluice {

/// Options of the Delta Lake source, with Delta's names and meaning.
struct DeltaSourceOptions {
  std::string path;                         ///< the table directory (load(path) or `path`)
  std::optional<int64_t> starting_version;  ///< `startingVersion`; nullopt: version 0
  bool starting_latest = false;             ///< `startingVersion=latest`: only commits after now
  int64_t max_files_per_trigger = 1000;     ///< `maxFilesPerTrigger`
  int64_t max_bytes_per_trigger = -1;  ///< `maxBytesPerTrigger`, -1 = unlimited (one file at least)
  bool ignore_changes = false;     ///< `ignoreChanges`: stream the adds of commits that remove data
  int64_t rows_per_batch = 65536;  ///< largest batch a reader produces

  /// Reads the options; an unknown option is an error naming it and the closest known one, a
  /// bad value an error naming the option.
  static Result<DeltaSourceOptions> parse(std::string path,
                                          std::map<std::string, std::string> options);
};

/// Streams the rows a Delta table's commits add, commit by commit in version order: the files
/// of each `add` action with dataChange=true, partition columns filled from its partitionValues.
///
/// Offsets: one partition; the offset counts data files in log order (version, then position
/// in the commit) from the starting version, so a logged range always names the same files:
/// the log is append-only and each version is immutable. The resolved starting version (for
/// `latest` it is fixed at the first start) is saved in every write-ahead entry.
///
/// The schema is the table's schema at the starting version. A later commit that changes it,
/// or that removes data (complete mode, DELETE) while ignoreChanges is off, stops the stream
/// when it reaches that version with an error naming it. Planning calls come from the
/// coordinator; open_reader is thread-safe.
class DeltaSource final : public Source {
 public:
  /// Reads the whole log once: fails when there is no table at the path, when the log is
  /// corrupt, or when startingVersion lies past the latest version.
  static Result<std::shared_ptr<DeltaSource>> make(DeltaSourceOptions options);

  const SchemaPtr& schema() const override { return schema_; }
  std::string description() const override;
  int num_partitions() const override { return 1; }
  bool replayable() const override { return true; }
  SourceOffset initial_offset() const override { return {0}; }
  Result<SourceOffset> latest_offset(const SourceOffset& start, const ReadLimit& limit) override;
  std::optional<SourceOffset> last_available() const override;
  Result<std::unique_ptr<PartitionReader>> open_reader(int partition, int64_t start,
                                                       int64_t end) override;
  /// Learns how far epochs are committed: the stream stops at a blocking version only after
  /// every epoch before it committed, so the rows before it reach the sink.
  Status commit(const SourceOffset& end) override;
  std::string save_metadata() const override;
  Status restore_metadata(std::string_view saved) override;

  /// Returns the first version whose commits the stream reads.
  int64_t starting_version() const;

  /// One data file of the stream with the version that added it.
  struct Entry {
    int64_t version = 0;
    DeltaFile file;
  };

 private:
  DeltaSource(DeltaSourceOptions options, SchemaPtr schema, std::vector<std::string> partitions,
              int64_t starting_version);
  // Reads the commits that appeared since the last call into entries_; needs mutex_.
  Status refresh_locked();

  DeltaSourceOptions options_;
  SchemaPtr schema_;
  std::vector<std::string> partition_columns_;

  mutable std::mutex mutex_;
  int64_t starting_version_;
  bool started_ = false;  ///< log_ holds the versions before starting_version_
  DeltaSnapshot log_;     ///< the table as of the last version read
  std::vector<Entry> entries_;
  std::optional<Status> blocked_;  ///< why the stream cannot pass the version after entries_
  std::optional<SourceOffset> available_;
  int64_t committed_ = -1;  ///< -1: unknown (epochs replayed after a restart still run)
  bool opened_ = false;     ///< open_reader was called (a replay runs before planning)
};

/// Opens a reader of the rows of `entries`' data files, in order, as rows of `schema`: partition
/// columns come from each file's partitionValues, a column a file lacks reads as null. A missing
/// or corrupt file is an error naming it and the version that added it. Not thread-safe.
std::unique_ptr<PartitionReader> open_delta_files_reader(std::string table, SchemaPtr schema,
                                                         std::vector<std::string> partition_columns,
                                                         int64_t rows_per_batch,
                                                         std::vector<DeltaSource::Entry> entries);

}  // namespace sluice
