#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/schema.hpp"
#include "core/status.hpp"

namespace sluice {

/// The versions of the Delta protocol a table demands of its readers and writers.
struct DeltaProtocol {
  int64_t min_reader_version = 1;
  int64_t min_writer_version = 2;
};

/// The `metaData` action of a Delta table: its identity, schema and partitioning.
struct DeltaMetadata {
  std::string id;             ///< a UUID fixed at creation
  std::string schema_string;  ///< Delta's JSON schema, as stored in the log
  std::vector<Field> fields;  ///< the schema, decoded from schema_string
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> configuration;
  int64_t created_time = 0;  ///< milliseconds since the Unix epoch
};

/// One data file of a Delta table, as an `add` action describes it.
struct DeltaFile {
  std::string path;  ///< relative to the table directory, decoded (not URI-encoded)
  std::map<std::string, std::optional<std::string>> partition_values;  ///< nullopt: null
  int64_t size = 0;
  int64_t modification_time = 0;  ///< milliseconds since the Unix epoch
  std::string stats;              ///< the stats JSON string ("" when absent)
};

/// What one commit did: what a writer that lost a race checks for conflicts, and the data
/// changes the delta source streams.
struct DeltaCommitSummary {
  int64_t version = 0;
  bool changed_protocol = false;
  bool changed_metadata = false;
  std::vector<std::string> added;         ///< paths
  std::vector<std::string> removed;       ///< paths
  std::vector<DeltaFile> data_added;      ///< adds with dataChange=true (absent counts as true)
  std::vector<std::string> data_removed;  ///< paths of removes with dataChange=true
  std::map<std::string, int64_t> transactions;  ///< appId -> version
  std::optional<int64_t> timestamp;  ///< commitInfo.timestamp (ms), when the commit has one
};

/// The state of a Delta table at one version: what replaying its log from version 0 gives.
struct DeltaSnapshot {
  int64_t version = -1;  ///< -1: the table has no commit yet
  std::optional<DeltaProtocol> protocol;
  std::optional<DeltaMetadata> metadata;
  std::map<std::string, DeltaFile> files;       ///< live files by path
  std::map<std::string, int64_t> transactions;  ///< appId -> latest txn version
};

/// Names `<table>/_delta_log`.
std::string delta_log_directory(const std::string& table_path);

/// Names the commit file of a version: `<table>/_delta_log/%020d.json`.
std::string delta_commit_file(const std::string& table_path, int64_t version);

/// Reads the commit file of a version; nullopt when it does not exist (yet).
Result<std::optional<std::string>> read_delta_commit(const std::string& table_path,
                                                     int64_t version);

/// Lists the versions of the log files named `%020d<suffix>` (".json", ".checkpoint.parquet"),
/// ascending; empty when there is no log.
Result<std::vector<int64_t>> list_delta_log_files(const std::string& table_path,
                                                  std::string_view suffix);

/// Lists the versions of the commit files in the log, ascending (empty when there is no log).
Result<std::vector<int64_t>> list_delta_versions(const std::string& table_path);

/// Rebuilds the latest snapshot: from the checkpoint `_last_checkpoint` names (or the newest
/// checkpoint file) and the commits after it, else by replaying the log from version 0. Fails
/// with a corrupt error naming the file and line of an entry that is not valid JSON or not a
/// valid action, when versions have a gap, when the log starts past version 0 without a
/// checkpoint, or when the table needs a reader version above 1. Safe while writers commit.
Result<DeltaSnapshot> read_delta_snapshot(const std::string& table_path);

/// The versions of a table a reader can rebuild now.
struct DeltaVersionRange {
  int64_t earliest = 0;  ///< version 0, or the oldest checkpoint when older commits are gone
  int64_t latest = -1;   ///< -1: the table has no commit
};

/// Finds the versions a reader can rebuild: from version 0 (or the oldest checkpoint when the
/// JSON commits before it were cleaned up) to the latest commit. Safe while writers commit.
Result<DeltaVersionRange> delta_version_range(const std::string& table_path);

/// Rebuilds the table as of `version` (time travel): from the newest checkpoint at or before it
/// when there is one, else from version 0. A version outside delta_version_range is an
/// invalid-argument error naming the range.
Result<DeltaSnapshot> read_delta_snapshot_at(const std::string& table_path, int64_t version);

/// Returns when a version was committed, in ms since the Unix epoch: its commitInfo timestamp,
/// else the modification time of its commit file (as Delta's timestampAsOf uses).
Result<int64_t> delta_commit_timestamp(const std::string& table_path, int64_t version);

/// Returns the latest version committed at or before `millis`; fails naming the first commit's
/// time when every version is younger.
Result<int64_t> delta_version_at_timestamp(const std::string& table_path, int64_t millis);

/// Applies the commits after `snapshot.version` that exist now, in order, and returns what each
/// did. Stops at the first version that does not exist.
Result<std::vector<DeltaCommitSummary>> refresh_delta_snapshot(const std::string& table_path,
                                                               DeltaSnapshot& snapshot);

/// Applies one commit's newline-delimited actions to a snapshot; `file` names the entry in
/// errors.
Result<DeltaCommitSummary> apply_delta_commit(const std::string& content, const std::string& file,
                                              int64_t version, DeltaSnapshot& snapshot);

/// Publishes `content` as the commit of `version` without ever overwriting: writes a temporary
/// file in the log directory, then link(2)s it to the version's name. Returns false when the
/// version already exists (another writer won it), true when this call published it.
Result<bool> publish_delta_commit(const std::string& table_path, int64_t version,
                                  const std::string& content, bool sync);

/// Renders a schema as Delta's JSON schema string (a struct of fields with name, type, nullable
/// and metadata; Sluice types map to boolean, long, double, string and timestamp).
std::string delta_schema_string(const std::vector<Field>& fields);

/// Decodes Delta's JSON schema string; fails naming a column whose type Sluice cannot hold.
Result<std::vector<Field>> parse_delta_schema_string(const std::string& schema_string);

/// Renders actions as single JSON lines (without the trailing newline).
std::string delta_protocol_action(const DeltaProtocol& protocol);
std::string delta_metadata_action(const DeltaMetadata& metadata);
std::string delta_add_action(const DeltaFile& file, bool data_change);
std::string delta_remove_action(const DeltaFile& file, int64_t deletion_timestamp,
                                bool data_change);
std::string delta_txn_action(const std::string& app_id, int64_t version, int64_t last_updated);
/// `operation_parameters` values are rendered as JSON strings, as Delta does.
std::string delta_commit_info_action(int64_t timestamp, const std::string& operation,
                                     const std::map<std::string, std::string>& operation_parameters,
                                     bool blind_append);

/// Quotes text as a JSON string.
std::string json_string(std::string_view text);

/// Encodes a relative path as the URI Delta's `path` field holds (percent-encoding reserved
/// characters, '/' kept) and decodes it again.
std::string delta_encode_path(std::string_view path);
std::string delta_decode_path(std::string_view path);

/// Returns a random (version 4) UUID in its 36-character text form.
std::string random_uuid();

/// Returns the current time in milliseconds since the Unix epoch.
int64_t delta_now_millis();

}  // namespace sluice
