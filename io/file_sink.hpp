#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/file_format.hpp"
#include "io/sink.hpp"

namespace sluice {

/// The committed state of a file sink directory, read from its manifest log
/// (`<path>/_sluice_metadata/`): the files readers may see, relative to the directory.
struct FileManifest {
  std::optional<int64_t> latest_epoch;  ///< the last epoch with a manifest entry
  std::set<std::string> files;          ///< committed data files, relative paths
};

/// Names the manifest directory of a sink directory.
std::string manifest_directory(const std::string& path);

/// Returns true when `path` holds a file sink's manifest log.
bool has_manifest(const std::string& path);

/// Reads the manifest log: the newest compact file, then every later epoch entry. Safe while a
/// sink writes (entries appear by rename; a compaction that removes entries is retried).
Result<FileManifest> read_manifest(const std::string& path);

/// Options of the file sink.
struct FileSinkOptions {
  std::string path;
  FileFormatOptions format;
  std::vector<std::string> partition_by;
  int64_t max_file_bytes = 128 << 20;  ///< a part file rolls over past this size (`maxFileSize`)
  int compact_interval = 10;           ///< a compact manifest file every this many epochs
  bool sync = true;                    ///< fsync files and manifest entries before they count

  /// Reads `path`, `maxFileSize`, `header`, `sep`, `nullValue`, ...; fails naming an unknown
  /// option (with the closest known one) or a bad value.
  static Result<FileSinkOptions> parse(FileFormat format,
                                       std::map<std::string, std::string> options);
};

/// Writes each epoch's rows as CSV or JSON-lines part files under a directory, with Hive-style
/// partition directories, exactly once: an epoch's files count only once its manifest entry
/// `_sluice_metadata/<epoch>` exists (written to a temporary name and renamed), a replayed epoch
/// that already has an entry is skipped, and part files no entry names are removed at start.
/// Complete mode rewrites the whole output each epoch (the entry replaces all earlier files).
/// Calls come from one sink actor (see Sink).
class FileSink final : public Sink {
 public:
  /// Opens (creating) the directory, reads its manifest and removes uncommitted part files.
  static Result<std::shared_ptr<FileSink>> make(FileSinkOptions options, SchemaPtr schema,
                                                OutputMode mode);

  std::string description() const override;
  Status write(int64_t epoch, const RecordBatchPtr& batch) override;
  Status finish_epoch(int64_t epoch) override;
  void abort_epoch(int64_t epoch) override;

  /// Returns the number of replayed epochs skipped because their entry existed.
  int64_t skipped_epochs() const { return skipped_epochs_; }

 private:
  struct OpenFile {
    std::string relative;
    int fd = -1;
    int64_t bytes = 0;
    int sequence = 0;
  };
  // The part files one epoch is writing (epochs overlap: e+1 may write before e finishes).
  struct EpochFiles {
    std::map<std::string, OpenFile> open;  ///< by partition directory
    std::map<std::string, std::string> buffers;
    std::vector<std::string> written;  ///< closed part files
    bool skipping = false;             ///< the epoch already has a manifest entry
  };
  FileSink(FileSinkOptions options, SchemaPtr schema, OutputMode mode);
  EpochFiles& epoch_files(int64_t epoch);
  Status flush(OpenFile& file, std::string& buffer);
  Status open_next(const std::string& directory, int64_t epoch, OpenFile& file);
  Status write_entry(int64_t epoch, const std::vector<std::string>& added);

  FileSinkOptions options_;
  SchemaPtr schema_;
  OutputMode mode_;
  std::string run_id_;
  std::vector<int> data_columns_;
  std::vector<int> partition_columns_;
  std::optional<int64_t> latest_epoch_;
  std::set<std::string> committed_files_;
  std::map<int64_t, EpochFiles> epochs_;
  int64_t skipped_epochs_ = 0;
};

}  // namespace sluice
