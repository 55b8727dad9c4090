#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/kafka_client.hpp"
#include "io/source.hpp"

namespace sluice {

/// Where a Kafka source starts or ends, per topic partition.
struct KafkaOffsetSpec {
  enum class Kind { earliest, latest, explicit_offsets };
  Kind kind = Kind::latest;
  /// With explicit_offsets: an offset per partition, -2 = earliest, -1 = latest. Partitions
  /// not listed take `fallback`.
  std::map<kafka::TopicPartition, int64_t> offsets;
  Kind fallback = Kind::earliest;
};

/// The options of `format("kafka")`, with Spark's names.
struct KafkaSourceOptions {
  std::map<std::string, std::string> properties;  ///< `kafka.*`, prefix removed
  std::vector<std::string> subscribe;             ///< topics
  std::string subscribe_pattern;                  ///< a regular expression over topic names
  std::map<std::string, std::vector<int32_t>> assign;
  KafkaOffsetSpec starting;
  std::optional<int64_t> starting_timestamp_ms;
  std::optional<KafkaOffsetSpec> ending;
  int64_t max_offsets_per_trigger = -1;
  int64_t min_offsets_per_trigger = -1;
  int64_t max_trigger_delay_micros = 15LL * 60 * 1'000'000;
  bool fail_on_data_loss = true;
  bool include_headers = false;
  /// Commits each committed epoch's end offsets to the consumer group, for lag tools.
  bool commit_offsets = true;
  int64_t poll_timeout_ms = 120'000;  ///< kafkaConsumer.pollTimeoutMs
  /// How often the subscription is resolved again while the query runs, to find partitions
  /// added to its topics and new topics matching subscribePattern (partitionDiscoveryInterval).
  int64_t discovery_interval_micros = 1'000'000;

  /// Checks and converts the options; names the bad option on failure.
  static Result<KafkaSourceOptions> parse(const std::map<std::string, std::string>& options);
};

/// Returns the columns of a Kafka source: key, value, topic, partition, offset, timestamp,
/// timestampType, and headers (a JSON object of name -> value) when asked for.
SchemaPtr kafka_source_schema(bool include_headers);

/// Reads Kafka topics as a replayable stream. Each Sluice partition is one topic partition;
/// an epoch's range per partition is an offset range recorded in the write-ahead log before it
/// is read, so a replay reads exactly the same records. Consumer-group offsets are not used
/// for correctness: they are committed after each epoch commit only so that lag tools see the
/// query's progress.
///
/// With subscribe or subscribePattern, latest_offset resolves the subscription again every
/// partitionDiscoveryInterval (and whenever it is asked for everything available): partitions
/// added to a topic and topics newly matching the pattern are appended to the partitions, from
/// their earliest offset (as Spark does), and their partition list is in every offsets-log
/// entry (save_metadata), so a restart maps offsets to the same topic partitions. A topic that
/// disappears stops the query naming it with failOnDataLoss, and is no longer read otherwise
/// (progress metric `deletedTopics`).
class KafkaSource final : public Source {
 public:
  /// Connects, resolves the subscription to topic partitions and the starting offsets.
  static Result<std::shared_ptr<KafkaSource>> make(KafkaSourceOptions options);
  ~KafkaSource() override;

  const SchemaPtr& schema() const override { return schema_; }
  std::string description() const override;
  int num_partitions() const override;
  bool replayable() const override { return true; }
  SourceOffset initial_offset() const override;
  Result<SourceOffset> latest_offset(const SourceOffset& start, const ReadLimit& limit) override;
  std::optional<SourceOffset> last_available() const override;
  /// Spark's Kafka metrics: min, max and average offsets behind latest over the partitions.
  std::vector<std::pair<std::string, std::string>> progress_metrics(const SourceOffset& end,
                                                                    const SourceOffset& latest) const override;
  Result<std::unique_ptr<PartitionReader>> open_reader(int partition, int64_t start, int64_t end) override;
  Status commit(const SourceOffset& end) override;
  std::string save_metadata() const override;
  Status restore_metadata(std::string_view saved) override;
  Status attach(const ConnectorContext& context) override;
  bool prune_columns(const std::vector<std::string>& columns) override;

  /// Returns the topic partition behind a Sluice partition. Thread-safe.
  kafka::TopicPartition topic_partition(int partition) const;

  struct PartitionConsumer;

 private:
  explicit KafkaSource(KafkaSourceOptions options);
  Result<std::vector<kafka::TopicPartition>> resolve_partitions();
  Result<int64_t> resolve_offset(const KafkaOffsetSpec& spec, const kafka::TopicPartition& tp, bool starting);
  Result<SourceOffset> ending_offsets();
  /// Resolves the subscription again (when the interval has passed, or `now`) and appends the
  /// partitions found; fails naming a topic that disappeared, with failOnDataLoss.
  Status discover_partitions(bool now);
  PartitionConsumer& consumer_for(int partition, const kafka::TopicPartition& tp);
  /// Returns the earliest and latest offsets of `partitions` from the broker; unless `fresh`,
  /// an answer a few milliseconds old, or the last one while another caller asks. Thread-safe.
  Result<std::pair<std::vector<int64_t>, std::vector<int64_t>>> watermarks(
      const std::vector<kafka::TopicPartition>& partitions, bool fresh);

  KafkaSourceOptions options_;
  SchemaPtr full_schema_;
  SchemaPtr schema_;
  kafka::Client client_;     ///< reads records and offsets (no consumer group)
  kafka::Client committer_;  ///< commits offsets to the query's consumer group, made on first use
  std::string group_id_;
  mutable std::mutex partitions_mutex_;  ///< guards partitions_, initial_ and deleted_topics_
  std::vector<kafka::TopicPartition> partitions_;  ///< only grows while the query runs
  SourceOffset initial_;
  std::set<std::string> deleted_topics_;  ///< read before, gone now (failOnDataLoss=false)
  std::mutex discovery_mutex_;            ///< one discovery at a time; guards last_discovery_
  std::chrono::steady_clock::time_point last_discovery_;
  std::atomic<bool> saw_deleted_topic_{false};
  std::optional<SourceOffset> ending_;
  mutable std::mutex planning_mutex_;  ///< latest_offset runs on the coordinator and, continuous, on source actors
  std::chrono::steady_clock::time_point last_trigger_;
  std::optional<SourceOffset> available_;
  // Every continuous source actor polls latest_offset: they share the broker's answers, so
  // that one of them at a time waits for it (the others would hold all scheduler threads).
  std::mutex watermarks_query_mutex_;  ///< held while asking the broker
  std::mutex watermarks_mutex_;        ///< guards the last answer below
  std::chrono::steady_clock::time_point watermarks_time_;
  std::vector<kafka::TopicPartition> watermarks_partitions_;
  std::pair<std::vector<int64_t>, std::vector<int64_t>> watermarks_;
  std::mutex consumers_mutex_;
  std::map<int, std::unique_ptr<PartitionConsumer>> consumers_;
};

}  // namespace sluice
