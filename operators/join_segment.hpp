#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_batch.hpp"
#include "core/status.hpp"

namespace sluice {

/// Names one segment of a stream-stream join's committed state: the rows one partition
/// buffered from one input batch of one side, first stored at the end of `epoch`.
///
/// State layout (one LMDB entry per segment and part, not per row): key = num_partitions (2
/// bytes big-endian) + partition (2) + side byte (0 left, 1 right) + epoch (8) + sequence (4)
/// + part byte (0 rows, 1 status), so that a partition reads its own segments as one range.
/// A segment holds rows of its epoch only and its key is never reused: a replay of an epoch
/// that did not commit writes keys no committed entry has. The rows part holds a format version
/// byte and the batch in the FlatBuffers wire format (core/wire.hpp), written once; the status
/// part, present only when some row has left or matched, holds a version byte, the row count
/// (varint) and one flags byte per row (kJoinRowLive, kJoinRowMatched), rewritten when a flag
/// changes. A segment whose rows have all left is deleted. A restart with the same partition count
/// adopts each partition's own segments (a partition never reads or deletes a sibling's); with
/// another count every partition takes the rows its keys route to from the segments of the old
/// count and stores them anew, and partition 0 deletes the old segments, all in the first
/// epoch's commit. The rows part's columns may leave memory once committed (stateCacheSize):
/// it is never rewritten, so it is read back by its key.
struct JoinSegmentKey {
  int side = 0;
  int64_t epoch = 0;
  int num_partitions = 1;
  int partition = 0;
  uint32_t sequence = 0;
};

/// The parts of a segment in the state.
enum class JoinSegmentPart : uint8_t { rows = 0, status = 1 };

/// Flags of a row in a segment's status part.
inline constexpr uint8_t kJoinRowLive = 1;
inline constexpr uint8_t kJoinRowMatched = 2;

/// Encodes the state key of a segment's part. Thread-safe.
std::string encode_join_segment_key(const JoinSegmentKey& key, JoinSegmentPart part);

/// A segment as read back from the state: its rows and one flags byte per row (all live and
/// unmatched when the segment has no status part).
struct JoinSegment {
  JoinSegmentKey key;
  RecordBatchPtr rows;
  std::vector<uint8_t> flags;
  bool has_status = false;
};

/// Returns the key prefix of the segments partition `partition` of `num_partitions` wrote.
/// Thread-safe.
std::string join_segment_partition_prefix(int num_partitions, int partition);

/// Encodes a segment's rows part. Thread-safe.
Result<std::string> encode_join_segment_rows(const RecordBatch& rows);

/// Decodes a segment's rows part (format version byte, then the FlatBuffers batch); fails as
/// corrupt naming what is wrong. Thread-safe.
Result<RecordBatchPtr> decode_join_segment_rows(std::string_view value);

/// Encodes a segment's status part from one flags byte per row. Thread-safe.
std::string encode_join_segment_status(const std::vector<uint8_t>& flags);

/// Collects the segments of a join's committed state from its entries visited in key order
/// (a segment's rows part comes before its status part). Not thread-safe.
class JoinSegmentCollector {
 public:
  /// Takes one state entry; fails as corrupt naming the segment and what is wrong with a
  /// malformed key or value (a status part without its rows part included).
  [[nodiscard]] Status add(std::string_view key, std::string_view value);

  /// Hands over the segments collected so far, in key order.
  std::vector<JoinSegment> finish() { return std::move(segments_); }

 private:
  std::vector<JoinSegment> segments_;
};

}  // namespace sluice
