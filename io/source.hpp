#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/record_batch.hpp"
#include "io/sink.hpp"
#include "operators/expression.hpp"

namespace sluice {

/// Positions of a source, one int64 per partition: a range of an epoch is (start, end] per
/// partition, read as [start, end). Replaying the same range must yield the same rows.
using SourceOffset = std::vector<int64_t>;

/// Renders offsets as a JSON array, e.g. "[10,12]" (the form stored in the write-ahead log).
std::string offset_to_json(const SourceOffset& offset);
/// Parses the form written by offset_to_json; fails naming the bad text.
Result<SourceOffset> offset_from_json(std::string_view text);

/// Reads a source's own committed state (see Source::recover). Thread-safe.
class SourceStateReader {
 public:
  virtual ~SourceStateReader() = default;
  virtual Result<std::optional<std::string>> get(std::string_view key) const = 0;
  /// Visits committed entries whose key starts with prefix, in key order; stop by returning false.
  virtual Status scan_prefix(std::string_view prefix,
                             const std::function<bool(std::string_view key, std::string_view value)>& fn) const = 0;
};

/// Limits how far one epoch may read (rate limits such as maxOffsetsPerTrigger).
struct ReadLimit {
  int64_t max_rows = -1;  ///< total rows across partitions, -1 = the source's own default
  /// Ignores the source's own per-epoch caps: asks for everything available (to learn the
  /// target of AvailableNow or process_all_available).
  bool everything = false;
};

/// Says whether a partition reader produced a batch or reached the end of its range.
enum class ReadFlow { have_batch, finished };

/// Reads one partition's rows of one epoch. Used by one source actor; not thread-safe.
class PartitionReader {
 public:
  virtual ~PartitionReader() = default;
  /// Produces the next batch of the range into `out`, or reports the end.
  virtual Result<ReadFlow> next(RecordBatchPtr& out) = 0;
  /// Returns the offset of the next row this reader would produce, for cutting a continuous
  /// epoch mid-range; nullopt when the reader cannot tell (continuous mode is then refused).
  virtual std::optional<int64_t> position() const { return std::nullopt; }
};

/// A streaming source: plans ranges and opens readers over them. The connector interface for
/// reading a user's own system (a queue, a database); the built-in sources implement it too.
/// Give one to `read_stream().source(...)`.
///
/// The names map onto these calls: schema = `schema`; latest_offset = `latest_offset`;
/// plan(start, end) = `initial_offset` and `latest_offset` (the coordinator picks the range
/// (start, end] per partition and logs it before any read); read(range) = `open_reader` for
/// each partition, then `PartitionReader::next` until finished; commit(end) = `commit`;
/// replayable = `replayable`.
///
/// Threading: planning methods are called by the coordinator only (one thread at a time);
/// `open_reader` may be called from source actors concurrently with planning and with each
/// other, and must be thread-safe.
///
/// Exactly-once rules a source keeps (with `replayable() == true`):
/// 1. Offsets only grow: `latest_offset` never returns less than `start`, per partition.
/// 2. Reading a range is deterministic: `open_reader(p, start, end)` yields the same rows in
///    the same order every time it is asked, also in a new process after a crash, for every
///    range the checkpoint logged and did not commit.
/// 3. Rows are kept until `commit(end)`: only then may the source (or the system behind it)
///    drop what lies below `end`. A range may be read again any number of times before that.
/// 4. What a restart needs beyond offsets is either in the offsets (positions in the user's
///    system) or in the checkpoint through `save_metadata` / `state_changes`, never only in
///    memory.
/// A source that cannot keep them returns `replayable() == false`; the query then warns that it
/// is at-most-once for that source's rows.
class Source {
 public:
  virtual ~Source() = default;
  virtual const SchemaPtr& schema() const = 0;
  /// Describes the source in progress reports and explain output, e.g. "MemoryStream[id,v]".
  virtual std::string description() const = 0;
  /// Returns the number of partitions now. A source may gain partitions while the query runs
  /// (a Kafka topic grows): `latest_offset` then returns a longer offset and `initial_offset`
  /// grows alike, giving where each new partition starts. The runtime logs the new ranges with
  /// the epoch that first reads them and reads them through the partitions' actors it already
  /// has (`open_reader` with the new index); a restart gives them actors of their own. With the
  /// continuous trigger, new partitions are read after a restart. Partitions never go away.
  virtual int num_partitions() const = 0;
  /// Returns true when replaying a logged range yields the same rows (exactly-once capable).
  virtual bool replayable() const = 0;
  /// Returns the offset before any data (the start of the first epoch of a new query).
  virtual SourceOffset initial_offset() const = 0;
  /// Returns the latest offset available now, capped by limit relative to start.
  virtual Result<SourceOffset> latest_offset(const SourceOffset& start, const ReadLimit& limit) = 0;
  /// Returns how far data existed at the last latest_offset call, before rate limits capped
  /// it (progress reports show it as latestOffset, as Spark does); nullopt: the capped offset.
  virtual std::optional<SourceOffset> last_available() const { return std::nullopt; }
  /// Returns figures for the progress report of an epoch that read up to `end` while `latest`
  /// was available (Kafka: how far each partition is behind), as name/value pairs.
  virtual std::vector<std::pair<std::string, std::string>> progress_metrics(const SourceOffset& end,
                                                                            const SourceOffset& latest) const {
    (void)end;
    (void)latest;
    return {};
  }
  /// Opens a reader of partition `partition` for [start, end) of that partition.
  virtual Result<std::unique_ptr<PartitionReader>> open_reader(int partition, int64_t start,
                                                               int64_t end) = 0;
  /// Tells the source that everything up to `end` is committed and will not be read again.
  virtual Status commit(const SourceOffset& end) {
    (void)end;
    return Status::ok();
  }
  /// Returns what the source must remember across restarts beyond its offsets (the rate
  /// source's start time, say); stored in the checkpoint at the query's first start.
  virtual std::string save_metadata() const { return {}; }
  /// Restores what save_metadata returned at the first start of this checkpoint.
  virtual Status restore_metadata(std::string_view saved) {
    (void)saved;
    return Status::ok();
  }
  /// Tells the source which query it serves, before planning; called at every (re)start.
  virtual Status attach(const ConnectorContext& context) {
    (void)context;
    return Status::ok();
  }
  /// Hands the source its own committed key/value state in the checkpoint (for sources that
  /// must remember more than offsets, such as the files already read), before planning starts.
  /// `committed` reads the state as of the last committed epoch; it outlives the source.
  virtual Status recover(std::shared_ptr<const SourceStateReader> committed) {
    (void)committed;
    return Status::ok();
  }
  /// Returns the changes to the source's own state that the commit of the epoch ending at
  /// `end` must write, atomically with it (nullopt value deletes the key).
  virtual std::vector<std::pair<std::string, std::optional<std::string>>> state_changes(
      const SourceOffset& end) {
    (void)end;
    return {};
  }
  /// Offers the source the filters that apply right above it (conjuncts over its columns),
  /// so that it can skip data it knows cannot match (partition directories, row groups). The
  /// filters stay in the plan as well, so a source may apply any subset, or none.
  virtual void push_filters(const std::vector<Expr>& filters) { (void)filters; }
  /// Restricts the columns the source produces (column pruning pushed down by the optimizer).
  /// Sources that cannot prune return false and keep producing every column.
  virtual bool prune_columns(const std::vector<std::string>& columns) {
    (void)columns;
    return false;
  }
};

}  // namespace sluice
