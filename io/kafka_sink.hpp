#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "io/kafka_client.hpp"
#include "io/sink.hpp"

namespace sluice {

/// The options of the kafka sink, with Spark's names.
struct KafkaSinkOptions {
  std::map<std::string, std::string> properties;  ///< `kafka.*`, prefix removed
  std::string topic;  ///< the `topic` option; empty = every row names its topic in a `topic` column
  bool exactly_once = true;  ///< `exactlyOnce`: transactions (true) or an idempotent producer
  /// `epochMarkerTopic`: the topic whose partition 0 carries the epoch marker; defaults to `topic`.
  std::string marker_topic;
  int64_t timeout_ms = 60'000;  ///< how long a transaction or flush may take

  static Result<KafkaSinkOptions> parse(const std::map<std::string, std::string>& options);
};

/// The epoch marker a sink transaction commits into the query's consumer group, atomically with
/// the epoch's records: offset epoch + 1 of the marker partition, with metadata naming the epoch.
std::string kafka_epoch_marker_metadata(int64_t epoch);
/// Reads back the epoch of a committed marker; nullopt when there is none (no committed offset)
/// or it is not Sluice's (metadata in another form).
std::optional<int64_t> parse_kafka_epoch_marker(int64_t committed_offset, std::string_view metadata);
/// Returns true when epoch's records already reached Kafka before a restart, so that its
/// replay must not write them again: the last committed marker names this epoch or a later one.
bool kafka_epoch_already_written(int64_t epoch, std::optional<int64_t> last_marker);

/// Writes rows to Kafka: a `value` column (STRING), optional `key` (STRING), `topic` (STRING,
/// when no topic option is given) and `partition` (BIGINT) columns.
///
/// Exactly-once protocol (exactlyOnce=true, the default). The sink has one transactional
/// producer whose `transactional.id` is derived from the query id, so a restarted query's
/// producer fences any zombie of the previous run (init_transactions aborts its open
/// transaction). Each epoch is one transaction that holds the epoch's records and, through
/// send_offsets_to_transaction, a marker in the consumer group "sluice-<query id>-sink" whose
/// metadata names the epoch; Kafka commits both or neither. The transaction commits in
/// finish_epoch, before the checkpoint commits the epoch. So after a crash:
///  - if the transaction did not commit, Kafka aborted it (read_committed readers never see
///    its records) and the checkpoint did not commit the epoch either: the replay writes it;
///  - if it committed but the checkpoint did not, the marker names the epoch: the replay (same
///    epoch id, same rows) is skipped, so the records are not written twice;
///  - if both committed, the epoch is not replayed at all.
/// Hence every epoch's records are visible to read_committed consumers exactly once.
class KafkaSink final : public Sink {
 public:
  static Result<std::shared_ptr<KafkaSink>> make(KafkaSinkOptions options, SchemaPtr input);
  ~KafkaSink() override;

  std::string description() const override;
  Status attach(const ConnectorContext& context) override;
  Status write(int64_t epoch, const RecordBatchPtr& batch) override;
  Status finish_epoch(int64_t epoch) override;
  void abort_epoch(int64_t epoch) override;

  /// The epoch the marker named at the last attach (nullopt: none), for tests and tools.
  std::optional<int64_t> recovered_marker() const { return marker_; }

 private:
  KafkaSink(KafkaSinkOptions options, SchemaPtr input);
  Status produce(const RecordBatch& batch);
  Result<rd_kafka_topic_t*> topic_handle(std::string_view name);
  Status begin(int64_t epoch);
  Status commit_transaction(int64_t epoch);
  Status delivery_status();
  Result<std::optional<int64_t>> read_marker();
  static void on_delivery(rd_kafka_t* client, const rd_kafka_message_t* message, void* opaque);

  KafkaSinkOptions options_;
  SchemaPtr input_;
  int value_column_ = -1;
  int key_column_ = -1;
  int topic_column_ = -1;
  int partition_column_ = -1;
  std::string query_id_;
  std::string group_id_;
  kafka::Client producer_;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics_;
  std::optional<int64_t> marker_;
  std::optional<int64_t> open_epoch_;  ///< the epoch whose transaction is open
  std::optional<int64_t> last_finished_;  ///< the last epoch finish_epoch published (or skipped)
  std::map<int64_t, std::vector<RecordBatchPtr>> waiting_;  ///< later epochs' batches
  std::mutex delivery_mutex_;
  std::string delivery_error_;
};

}  // namespace sluice
