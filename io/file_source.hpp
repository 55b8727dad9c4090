#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/file_format.hpp"
#include "io/source.hpp"

namespace sluice {

/// Options of the file source, with Spark's names and meaning.
struct FileSourceOptions {
  enum class Cleanup { off, remove, archive };

  std::string path;  ///< a directory, or a glob over files ("/in/*.json", "/in/*/part-*")
  FileFormatOptions format;
  int64_t max_files_per_trigger = -1;  ///< `maxFilesPerTrigger`, -1 = unlimited
  int64_t max_bytes_per_trigger = -1;  ///< `maxBytesPerTrigger`, -1 = unlimited (at least one file)
  bool latest_first = false;           ///< `latestFirst`: newest files first
  int64_t max_file_age_micros = 7LL * 24 * 3600 * 1'000'000;  ///< `maxFileAge` ("7d", "1h", ...)
  bool file_name_only = false;          ///< `fileNameOnly`: a file is known by its name alone
  Cleanup clean_source = Cleanup::off;  ///< `cleanSource`: off, delete, archive
  std::string archive_dir;              ///< `sourceArchiveDir`
  bool recursive = false;               ///< `recursiveFileLookup`: read every subdirectory
  bool ignore_missing_files =
      false;                  ///< `ignoreMissingFiles`: skip files deleted before they are read
  bool infer_schema = false;  ///< `inferSchema`: guess the schema from the first files
  int64_t rows_per_batch = 65536;           ///< largest batch a reader produces
  std::vector<std::string> partition_keys;  ///< fixed partition columns; empty = found by listing

  /// Reads the options of `format`; an unknown option is an error naming it and the closest
  /// known one, a bad value an error naming the option.
  static Result<FileSourceOptions> parse(FileFormat format, std::string path,
                                         std::map<std::string, std::string> options);
};

/// One file of the stream, with the position it was given.
struct SourceFile {
  std::string path;      ///< as listed (absolute or relative to the working directory)
  std::string relative;  ///< relative to the source directory (for partition values)
  int64_t modified_micros = 0;
  int64_t size = 0;
};

/// Streams the files that appear in a directory (or match a glob) as rows, each file once, in
/// order of modification time, then name. Names starting with `_` or `.` are ignored, so writers
/// drop files in under such a name and rename them. A directory written by the file sink (it has
/// `_sluice_metadata/`) is read through its manifest: only committed files.
///
/// Exactly-once: planning gives each new file the next position (the offset is the number of
/// files given positions); save_metadata puts the files of every uncommitted position into the
/// epoch's write-ahead entry before they are read, and state_changes puts each committed file
/// into the source's checkpoint state, so a restarted query neither reads a file twice nor skips
/// one. A file deleted before it was read fails the query naming it, unless ignoreMissingFiles.
/// One partition. Planning calls come from the coordinator; open_reader is thread-safe.
class FileSource final : public Source {
 public:
  /// Lists the directory once to find partition directories (`key=value/`) and, with
  /// inferSchema, to read the first files; `schema` may be null only then. Fails when the
  /// directory does not exist.
  static Result<std::shared_ptr<FileSource>> make(FileSourceOptions options, SchemaPtr schema);

  const SchemaPtr& schema() const override { return output_; }
  std::string description() const override;
  int num_partitions() const override { return 1; }
  bool replayable() const override { return true; }
  SourceOffset initial_offset() const override { return {0}; }
  Result<SourceOffset> latest_offset(const SourceOffset& start, const ReadLimit& limit) override;
  Result<std::unique_ptr<PartitionReader>> open_reader(int partition, int64_t start,
                                                       int64_t end) override;
  Status commit(const SourceOffset& end) override;
  std::string save_metadata() const override;
  Status restore_metadata(std::string_view saved) override;
  Status recover(std::shared_ptr<const SourceStateReader> committed) override;
  std::vector<std::pair<std::string, std::optional<std::string>>> state_changes(
      const SourceOffset& end) override;
  bool prune_columns(const std::vector<std::string>& columns) override;
  /// Keeps the filters over partition columns only: directories (and files) whose `key=value`
  /// names fail one are never listed or read.
  void push_filters(const std::vector<Expr>& filters) override;
  /// Reports numBadRecords: records dropped (DROPMALFORMED, badRecordsPath) or kept as corrupt
  /// (PERMISSIVE) since the query started.
  std::vector<std::pair<std::string, std::string>> progress_metrics(const SourceOffset& end,
                                                                    const SourceOffset& latest) const override;

  /// Returns the partition columns found in the directory names, in order.
  const std::vector<std::string>& partition_keys() const { return partition_keys_; }
  /// Returns how many bad records were dropped (DROPMALFORMED, badRecordsPath) or kept as
  /// corrupt (PERMISSIVE) so far.
  int64_t num_bad_records() const { return bad_records_->load(); }
  /// Returns how many partition directories the pushed filters pruned in the last listing.
  int64_t num_pruned_directories() const { return pruned_directories_.load(); }

 private:
  FileSource(FileSourceOptions options, SchemaPtr full);
  Result<std::vector<SourceFile>> list_files() const;
  std::string key_of(const SourceFile& file) const;
  /// Returns false when a pushed filter proves no row under `relative` (a path below the source
  /// directory whose `key=value` parts give partition values) can match.
  bool partitions_may_match(const std::string& relative) const;

  /// A pushed filter over partition columns, bound against their types.
  struct PartitionFilter {
    std::vector<std::string> columns;
    SchemaPtr schema;
    std::shared_ptr<const BoundExpr> predicate;
  };

  FileSourceOptions options_;
  SchemaPtr full_;    ///< data columns (user or inferred) + partition columns
  SchemaPtr output_;  ///< after column pruning
  std::vector<std::string> partition_keys_;
  std::shared_ptr<std::atomic<int64_t>> bad_records_ = std::make_shared<std::atomic<int64_t>>(0);
  std::vector<PartitionFilter> partition_filters_;  ///< set before planning, then read-only
  mutable std::atomic<int64_t> pruned_directories_ = 0;

  mutable std::mutex mutex_;
  std::map<int64_t, SourceFile> assigned_;         ///< positions not yet committed
  std::set<std::string> assigned_keys_;            ///< keys of assigned_
  std::unordered_map<std::string, int64_t> seen_;  ///< committed files: key -> modified micros
  std::vector<std::pair<int64_t, std::string>> restored_entries_;  ///< (end, text), restore order
  mutable std::deque<std::pair<int64_t, std::string>>
      replay_entries_;  ///< to log again as they were
  int64_t next_position_ = 0;
  mutable int64_t logged_until_ = 0;  ///< positions below were in a write-ahead entry
  int64_t committed_position_ = 0;
  int64_t state_written_until_ = 0;  ///< positions below went into state_changes
  int64_t newest_modified_ = 0;
  int64_t purged_until_ = 0;  ///< seen files older than this were dropped from the state
};

}  // namespace sluice
