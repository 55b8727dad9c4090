#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "core/clock.hpp"
#include "io/source.hpp"

namespace sluice {

/// Options of the socket source, with Spark's names: `host`, `port`, `includeTimestamp`.
struct SocketSourceOptions {
  std::string host;
  int port = 0;
  bool include_timestamp = false;

  /// Reads the options; fails naming a missing, unknown or bad one.
  static Result<SocketSourceOptions> parse(const std::map<std::string, std::string>& options);
};

/// Reads text lines from a TCP server (Spark's socket source, e.g. `nc -lk 9999`) into a
/// `value` STRING column (plus `timestamp`, the arrival time, with includeTimestamp). For
/// tests and demos: it cannot replay its input, so the query warns that it is at-most-once for
/// these rows; lines received before a crash and not yet committed are lost. Offsets count
/// lines since the query started (a restart continues the numbering from the checkpoint). A
/// background thread receives lines from the connection made at the first planning call; a
/// refused connection fails the query naming the address. Thread-safe as Source requires.
class SocketSource final : public Source {
 public:
  SocketSource(SocketSourceOptions options, std::shared_ptr<Clock> clock);
  ~SocketSource() override;

  const SchemaPtr& schema() const override { return schema_; }
  std::string description() const override;
  int num_partitions() const override { return 1; }
  bool replayable() const override { return false; }
  SourceOffset initial_offset() const override { return {0}; }
  Result<SourceOffset> latest_offset(const SourceOffset& start, const ReadLimit& limit) override;
  Result<std::unique_ptr<PartitionReader>> open_reader(int partition, int64_t start, int64_t end) override;
  Status commit(const SourceOffset& end) override;

  /// Returns the schema the options produce: value STRING[, timestamp TIMESTAMP].
  static SchemaPtr schema_for(const SocketSourceOptions& options);

 private:
  struct Line {
    std::string text;
    int64_t arrival_micros;
  };
  Status connect();
  void receive();

  SocketSourceOptions options_;
  std::shared_ptr<Clock> clock_;
  SchemaPtr schema_;
  int socket_ = -1;
  std::thread receiver_;
  mutable std::mutex mutex_;
  std::deque<Line> lines_;      // lines from offset base_ on
  int64_t base_ = -1;           // offset of lines_.front(); -1 until the first planning call
  std::string receive_error_;   // why the connection ended abnormally, if it did
};

}  // namespace sluice
