#include "operators/join_segment.hpp"

#include "core/wire.hpp"
#include "operators/state_encoding.hpp"

namespace sluice {

namespace {

namespace se = state_encoding;

constexpr size_t kKeyBytes = 1 + 8 + 2 + 2 + 4 + 1;

void put_big_endian(std::string& out, uint64_t value, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((value >> shift) & 0xff));
}

uint64_t get_big_endian(std::string_view in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value = (value << 8) | static_cast<uint8_t>(in[at + static_cast<size_t>(i)]);
  return value;
}

}  // namespace

std::string encode_join_segment_key(const JoinSegmentKey& key, JoinSegmentPart part) {
  std::string out;
  out.reserve(kKeyBytes);
  put_big_endian(out, static_cast<uint64_t>(key.num_partitions), 2);
  put_big_endian(out, static_cast<uint64_t>(key.partition), 2);
  out.push_back(static_cast<char>(key.side));
  // The sign bit flipped keeps negative epochs (none today) ordered before positive ones.
  put_big_endian(out, static_cast<uint64_t>(key.epoch) ^ (uint64_t{1} << 63), 8);
  put_big_endian(out, key.sequence, 4);
  out.push_back(static_cast<char>(part));
  return out;
}

std::string join_segment_partition_prefix(int num_partitions, int partition) {
  std::string out;
  put_big_endian(out, static_cast<uint64_t>(num_partitions), 2);
  put_big_endian(out, static_cast<uint64_t>(partition), 2);
  return out;
}

Result<std::string> encode_join_segment_rows(const RecordBatch& rows) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, wire::encode_batch(rows));
  std::string out;
  out.reserve(1 + bytes.size());
  se::put_byte(out, se::kFormatVersion);
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return out;
}

Result<RecordBatchPtr> decode_join_segment_rows(std::string_view value) {
  uint8_t version = 0;
  if (!se::get_byte(value, version) || version != se::kFormatVersion) {
    return Status::corrupt("join state segment rows have an unknown format version");
  }
  return wire::decode_batch(reinterpret_cast<const uint8_t*>(value.data()), value.size());
}

std::string encode_join_segment_status(const std::vector<uint8_t>& flags) {
  std::string out;
  out.reserve(6 + flags.size());
  se::put_byte(out, se::kFormatVersion);
  se::put_varint(out, flags.size());
  out.append(reinterpret_cast<const char*>(flags.data()), flags.size());
  return out;
}

Status JoinSegmentCollector::add(std::string_view key, std::string_view value) {
  if (key.size() != kKeyBytes || static_cast<uint8_t>(key[4]) > 1 ||
      static_cast<uint8_t>(key[kKeyBytes - 1]) > 1) {
    return Status::corrupt(
        "join state key of " + std::to_string(key.size()) +
        " bytes is not a segment key (partitions, partition, side, epoch, sequence, part)");
  }
  JoinSegmentKey segment;
  segment.num_partitions = static_cast<int>(get_big_endian(key, 0, 2));
  segment.partition = static_cast<int>(get_big_endian(key, 2, 2));
  segment.side = key[4];
  segment.epoch = static_cast<int64_t>(get_big_endian(key, 5, 8) ^ (uint64_t{1} << 63));
  segment.sequence = static_cast<uint32_t>(get_big_endian(key, 13, 4));
  const std::string where = "join state segment (side " + std::to_string(segment.side) +
                            ", epoch " + std::to_string(segment.epoch) + ", partition " +
                            std::to_string(segment.partition) + " of " +
                            std::to_string(segment.num_partitions) + ", sequence " +
                            std::to_string(segment.sequence) + ")";
  std::string_view in = value;
  uint8_t version = 0;
  if (!se::get_byte(in, version) || version != se::kFormatVersion) {
    return Status::corrupt(where + " has an unknown format version");
  }
  const auto part = static_cast<JoinSegmentPart>(key[kKeyBytes - 1]);
  if (part == JoinSegmentPart::rows) {
    auto rows = decode_join_segment_rows(value);
    if (!rows.ok()) return rows.status().with_context(where);
    JoinSegment decoded;
    decoded.key = segment;
    decoded.flags.assign(static_cast<size_t>((*rows)->num_rows()), kJoinRowLive);
    decoded.rows = std::move(*rows);
    segments_.push_back(std::move(decoded));
    return Status::ok();
  }
  if (segments_.empty() ||
      encode_join_segment_key(segments_.back().key, JoinSegmentPart::status) != key) {
    return Status::corrupt(where + " has a status but no rows");
  }
  JoinSegment& last = segments_.back();
  uint64_t count = 0;
  if (!se::get_varint(in, count) || count != last.flags.size() || in.size() != count) {
    return Status::corrupt(where + " has a status of another row count than its " +
                           std::to_string(last.flags.size()) + " rows");
  }
  last.flags.assign(in.begin(), in.end());
  last.has_status = true;
  return Status::ok();
}

}  // namespace sluice
