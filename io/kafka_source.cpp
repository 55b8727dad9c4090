#include "io/kafka_source.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <deque>
#include <regex>
#include <set>

#include "core/column_builder.hpp"
#include "io/kafka_partition_discovery.hpp"
#include "io/option_map.hpp"
#include "operators/record_parsing.hpp"

namespace sluice {
namespace {

using kafka::TopicPartition;

constexpr int kMetadataTimeoutMs = 10'000;
// librdkafka returns a batch when it is full or this timeout ends: records behind a
// transaction marker never fill it, so the wait is kept short (the loop asks again).
constexpr int kConsumeTimeoutMs = 5;
constexpr int64_t kBatchRows = 16'384;
constexpr size_t kConsumeBatch = 1024;
// How long an answer of the broker's offsets serves other callers (continuous source actors).
constexpr auto kWatermarksReuse = std::chrono::milliseconds(5);

// The columns in their fixed order.
enum Column { kKey, kValue, kTopic, kPartition, kOffset, kTimestamp, kTimestampType, kHeaders, kNumColumns };

// Errors a fetch reports that retrying cannot cure. Others (timeouts, leader changes, brokers
// down) are reported by librdkafka for information while it retries on its own.
bool is_permanent(rd_kafka_resp_err_t error) {
  switch (error) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
      return true;
    default:
      return false;
  }
}

std::string describe(const TopicPartition& tp) {
  return "Kafka topic " + tp.topic + " partition " + std::to_string(tp.partition);
}

// Parses {"topic":{"0":23,"1":-2}} (startingOffsets, endingOffsets).
Result<KafkaOffsetSpec> parse_offset_spec(const std::string& key, const std::string& text) {
  KafkaOffsetSpec spec;
  if (text == "earliest") {
    spec.kind = KafkaOffsetSpec::Kind::earliest;
    return spec;
  }
  if (text == "latest") {
    spec.kind = KafkaOffsetSpec::Kind::latest;
    return spec;
  }
  spec.kind = KafkaOffsetSpec::Kind::explicit_offsets;
  auto bad = [&](const std::string& why) {
    return Status::invalid_argument("option " + key + " of the kafka source is '" + text + "': " + why +
                                    " (expected earliest, latest or JSON such as {\"topic\":{\"0\":23,\"1\":-2}})");
  };
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text).get(root) != simdjson::SUCCESS) return bad("not JSON");
  simdjson::dom::object topics;
  if (root.get_object().get(topics) != simdjson::SUCCESS) return bad("not a JSON object");
  for (auto [topic, partitions] : topics) {
    simdjson::dom::object entries;
    if (partitions.get_object().get(entries) != simdjson::SUCCESS) return bad("topic " + std::string(topic) + " is not an object");
    for (auto [partition, offset] : entries) {
      int64_t value = 0;
      int32_t number = 0;
      auto [end, error] = std::from_chars(partition.data(), partition.data() + partition.size(), number);
      if (error != std::errc() || end != partition.data() + partition.size() || number < 0) {
        return bad("partition '" + std::string(partition) + "' is not a partition number");
      }
      if (offset.get_int64().get(value) != simdjson::SUCCESS || value < -2) {
        return bad("the offset of partition " + std::string(partition) + " is not an offset, -1 (latest) or -2 (earliest)");
      }
      spec.offsets[TopicPartition{std::string(topic), number}] = value;
    }
  }
  return spec;
}

// Parses {"topic":[0,1]} (assign).
Result<std::map<std::string, std::vector<int32_t>>> parse_assign(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Status::invalid_argument("option assign of the kafka source is '" + text + "': " + why +
                                    " (expected JSON such as {\"topic\":[0,1]})");
  };
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text).get(root) != simdjson::SUCCESS) return bad("not JSON");
  simdjson::dom::object topics;
  if (root.get_object().get(topics) != simdjson::SUCCESS) return bad("not a JSON object");
  std::map<std::string, std::vector<int32_t>> assign;
  for (auto [topic, partitions] : topics) {
    simdjson::dom::array list;
    if (partitions.get_array().get(list) != simdjson::SUCCESS) return bad("topic " + std::string(topic) + " has no list of partitions");
    for (auto partition : list) {
      int64_t number = 0;
      if (partition.get_int64().get(number) != simdjson::SUCCESS || number < 0 || number > INT32_MAX) {
        return bad("topic " + std::string(topic) + " lists something that is not a partition number");
      }
      assign[std::string(topic)].push_back(static_cast<int32_t>(number));
    }
  }
  if (assign.empty()) return bad("no topic");
  return assign;
}

}  // namespace

Result<KafkaSourceOptions> KafkaSourceOptions::parse(const std::map<std::string, std::string>& raw) {
  OptionMap options("the kafka source", raw);
  KafkaSourceOptions parsed;
  parsed.properties = options.take_prefixed("kafka.");
  if (!parsed.properties.count("bootstrap.servers")) {
    return Status::invalid_argument("the kafka source needs option kafka.bootstrap.servers (host:port of a broker)");
  }
  int subscriptions = 0;
  if (auto subscribe = options.take("subscribe")) {
    parsed.subscribe = split_list(*subscribe);
    if (parsed.subscribe.empty()) return Status::invalid_argument("option subscribe of the kafka source names no topic");
    ++subscriptions;
  }
  if (auto pattern = options.take("subscribePattern")) {
    try {
      std::regex check(*pattern);
    } catch (const std::regex_error& error) {
      return Status::invalid_argument("option subscribePattern of the kafka source is not a regular expression: '" +
                                      *pattern + "' (" + error.what() + ")");
    }
    parsed.subscribe_pattern = *pattern;
    ++subscriptions;
  }
  if (auto assign = options.take("assign")) {
    SLUICE_ASSIGN_OR_RETURN(parsed.assign, parse_assign(*assign));
    ++subscriptions;
  }
  if (subscriptions != 1) {
    return Status::invalid_argument("the kafka source needs exactly one of the options subscribe, subscribePattern, assign");
  }
  if (auto starting = options.take("startingOffsets")) {
    SLUICE_ASSIGN_OR_RETURN(parsed.starting, parse_offset_spec("startingOffsets", *starting));
  }
  if (auto timestamp = options.take("startingTimestamp")) {
    OptionMap one("the kafka source", {{"startingTimestamp", *timestamp}});
    SLUICE_ASSIGN_OR_RETURN(int64_t ms, one.take_int("startingTimestamp", 0, 0));
    parsed.starting_timestamp_ms = ms;
  }
  if (auto ending = options.take("endingOffsets")) {
    SLUICE_ASSIGN_OR_RETURN(KafkaOffsetSpec spec, parse_offset_spec("endingOffsets", *ending));
    if (spec.kind == KafkaOffsetSpec::Kind::earliest) {
      return Status::invalid_argument("option endingOffsets of the kafka source cannot be earliest");
    }
    parsed.ending = spec;
  }
  SLUICE_ASSIGN_OR_RETURN(parsed.max_offsets_per_trigger, options.take_int("maxOffsetsPerTrigger", -1, 1));
  SLUICE_ASSIGN_OR_RETURN(parsed.min_offsets_per_trigger, options.take_int("minOffsetsPerTrigger", -1, 1));
  SLUICE_ASSIGN_OR_RETURN(parsed.max_trigger_delay_micros,
                          options.take_duration("maxTriggerDelay", parsed.max_trigger_delay_micros));
  SLUICE_ASSIGN_OR_RETURN(parsed.fail_on_data_loss, options.take_bool("failOnDataLoss", true));
  SLUICE_ASSIGN_OR_RETURN(parsed.include_headers, options.take_bool("includeHeaders", false));
  SLUICE_ASSIGN_OR_RETURN(parsed.commit_offsets, options.take_bool("commitOffsetsToGroup", true));
  SLUICE_ASSIGN_OR_RETURN(parsed.poll_timeout_ms, options.take_int("kafkaConsumer.pollTimeoutMs", 120'000, 1));
  SLUICE_ASSIGN_OR_RETURN(
      parsed.discovery_interval_micros,
      options.take_duration("partitionDiscoveryInterval", parsed.discovery_interval_micros));
  SLUICE_RETURN_NOT_OK(options.check_all_used());
  return parsed;
}

SchemaPtr kafka_source_schema(bool include_headers) {
  std::vector<Field> fields = {{"key", Type::String, true},        {"value", Type::String, true},
                               {"topic", Type::String, false},     {"partition", Type::Int64, false},
                               {"offset", Type::Int64, false},     {"timestamp", Type::Timestamp, true},
                               {"timestampType", Type::Int64, false}};
  if (include_headers) fields.push_back({"headers", Type::String, true});
  return Schema::make(std::move(fields)).value();
}

/// One topic partition's fetch queue, on the source's client (librdkafka's per-partition
/// consumer). Used by one source actor at a time. Records fetched past the end of a range stay
/// in `pending` for the next range, which starts where this one ended.
struct KafkaSource::PartitionConsumer {
  rd_kafka_topic_t* topic = nullptr;
  int32_t partition = 0;
  bool started = false;
  int64_t next_offset = -1;
  std::deque<rd_kafka_message_t*> pending;

  ~PartitionConsumer() {
    for (rd_kafka_message_t* message : pending) rd_kafka_message_destroy(message);
    if (started) rd_kafka_consume_stop(topic, partition);
    if (topic != nullptr) rd_kafka_topic_destroy(topic);
  }

  Status seek(const TopicPartition& tp, int64_t offset) {
    if (started && next_offset == offset) return Status::ok();
    for (rd_kafka_message_t* message : pending) rd_kafka_message_destroy(message);
    pending.clear();
    if (!started) {
      if (rd_kafka_consume_start(topic, partition, offset) != 0) {
        return Status::io_error("cannot start reading " + describe(tp) + ": " + kafka::error_text(rd_kafka_last_error()));
      }
      started = true;
    } else {
      rd_kafka_resp_err_t error = rd_kafka_seek(topic, partition, offset, kMetadataTimeoutMs);
      if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::io_error("cannot seek " + describe(tp) + " to offset " + std::to_string(offset) + ": " +
                                kafka::error_text(error));
      }
    }
    next_offset = offset;
    return Status::ok();
  }
};

namespace {

struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

// Reads [start, end) of one partition into columnar batches.
class KafkaPartitionReader final : public PartitionReader {
 public:
  KafkaPartitionReader(rd_kafka_t* client, KafkaSource::PartitionConsumer& consumer, TopicPartition tp,
                       SchemaPtr schema, std::vector<int> columns, int64_t start, int64_t end,
                       const KafkaSourceOptions& options)
      : client_(client),
        consumer_(consumer),
        tp_(std::move(tp)),
        schema_(std::move(schema)),
        columns_(std::move(columns)),
        position_(start),
        end_(end),
        options_(options) {}

  ~KafkaPartitionReader() override { consumer_.next_offset = position_; }

  Result<ReadFlow> next(RecordBatchPtr& out) override {
    if (position_ >= end_) return ReadFlow::finished;
    std::vector<ColumnBuilder> builders;
    for (int column : columns_) builders.emplace_back(schema_column_type(column));
    for (auto& builder : builders) builder.reserve(std::min(kBatchRows, end_ - position_));
    int64_t rows = 0;
    auto waiting_since = std::chrono::steady_clock::now();
    rd_kafka_message_t* messages[kConsumeBatch];
    while (rows < kBatchRows && position_ < end_) {
      if (!consumer_.pending.empty()) {
        Message message(consumer_.pending.front());
        consumer_.pending.pop_front();
        SLUICE_RETURN_NOT_OK(take(std::move(message), builders, rows));
        continue;
      }
      const size_t want = static_cast<size_t>(std::min<int64_t>(kConsumeBatch, end_ - position_));
      ssize_t count = rd_kafka_consume_batch(consumer_.topic, tp_.partition, kConsumeTimeoutMs, messages, want);
      if (count < 0) {
        return Status::io_error("cannot read " + describe(tp_) + ": " + kafka::error_text(rd_kafka_last_error()));
      }
      if (count == 0) {
        const auto waited = std::chrono::steady_clock::now() - waiting_since;
        if (waited > std::chrono::milliseconds(options_.poll_timeout_ms)) {
          return Status::io_error("timed out after " + std::to_string(options_.poll_timeout_ms) +
                                  " ms (kafkaConsumer.pollTimeoutMs) waiting for offsets " + std::to_string(position_) +
                                  " to " + std::to_string(end_) + " of " + describe(tp_));
        }
        continue;
      }
      waiting_since = std::chrono::steady_clock::now();
      Status status = Status::ok();
      for (ssize_t i = 0; i < count; ++i) {
        Message message(messages[i]);
        if (!status.is_ok()) continue;  // destroy the rest
        status = take(std::move(message), builders, rows);
      }
      SLUICE_RETURN_NOT_OK(status);
    }
    if (rows == 0) return ReadFlow::finished;
    std::vector<ColumnPtr> columns;
    for (auto& builder : builders) columns.push_back(builder.finish());
    out = RecordBatch::make_unchecked(schema_, std::move(columns), rows);
    return ReadFlow::have_batch;
  }

  std::optional<int64_t> position() const override { return position_; }

 private:
  static Type schema_column_type(int column) {
    switch (column) {
      case kKey:
      case kValue:
      case kTopic:
      case kHeaders:
        return Type::String;
      case kTimestamp:
        return Type::Timestamp;
      default:
        return Type::Int64;
    }
  }

  // Appends one fetched message (or handles a fetch event), advancing the position.
  Status take(Message message, std::vector<ColumnBuilder>& builders, int64_t& rows) {
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // The end of the log: offsets up to here that never came were transaction markers or
      // compacted away.
      if (message->offset >= end_) position_ = end_;
      return Status::ok();
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) return fetch_error(message->err);
    if (message->offset < position_) return Status::ok();
    if (message->offset >= end_) {
      // Belongs to a later range: keep it, in order, for the reader that starts at end.
      consumer_.pending.push_back(message.release());
      position_ = end_;
      return Status::ok();
    }
    for (size_t c = 0; c < columns_.size(); ++c) append(columns_[c], *message, builders[c]);
    position_ = message->offset + 1;
    ++rows;
    return Status::ok();
  }

  void append(int column, const rd_kafka_message_t& message, ColumnBuilder& builder) {
    switch (column) {
      case kKey:
        if (message.key == nullptr) {
          builder.append_null();
        } else {
          builder.append_string({static_cast<const char*>(message.key), message.key_len});
        }
        break;
      case kValue:
        if (message.payload == nullptr) {
          builder.append_null();
        } else {
          builder.append_string({static_cast<const char*>(message.payload), message.len});
        }
        break;
      case kTopic:
        builder.append_string(tp_.topic);
        break;
      case kPartition:
        builder.append_int64(tp_.partition);
        break;
      case kOffset:
        builder.append_int64(message.offset);
        break;
      case kTimestamp:
      case kTimestampType: {
        rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        const int64_t ms = rd_kafka_message_timestamp(&message, &type);
        if (column == kTimestampType) {
          // Kafka's numbering: 0 = CreateTime, 1 = LogAppendTime (-1: none).
          builder.append_int64(type == RD_KAFKA_TIMESTAMP_CREATE_TIME      ? 0
                               : type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? 1
                                                                            : -1);
        } else if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) {
          builder.append_null();
        } else {
          builder.append_timestamp(ms * 1000);
        }
        break;
      }
      case kHeaders: {
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(&message, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) {
          builder.append_null();
          break;
        }
        text_.assign("{");
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
          if (i > 0) text_ += ',';
          append_json_string(name, text_);
          text_ += ':';
          if (value == nullptr) {
            text_ += "null";
          } else {
            append_json_string({static_cast<const char*>(value), size}, text_);
          }
        }
        text_ += '}';
        builder.append_string(text_);
        break;
      }
      default:
        break;
    }
  }

  Status fetch_error(rd_kafka_resp_err_t error) {
    const bool lost = error == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || error == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE;
    if (!lost) {
      if (!is_permanent(error)) return Status::ok();  // librdkafka retries the fetch itself
      return Status::io_error("cannot read " + describe(tp_) + ": " + kafka::error_text(error));
    }
    if (options_.fail_on_data_loss) {
      return Status::io_error("offsets " + std::to_string(position_) + " to " + std::to_string(end_) + " of " +
                              describe(tp_) +
                              " are no longer in Kafka (deleted by retention?): some records were lost before "
                              "Sluice read them; set failOnDataLoss=false to skip them");
    }
    // Skip to the oldest record still there.
    SLUICE_ASSIGN_OR_RETURN(auto marks, kafka::query_watermarks(client_, tp_, kMetadataTimeoutMs));
    const int64_t resume = std::min(std::max(marks.first, position_), end_);
    SLUICE_RETURN_NOT_OK(consumer_.seek(tp_, resume));
    consumer_.next_offset = resume;
    position_ = resume;
    return Status::ok();
  }

  rd_kafka_t* client_;
  KafkaSource::PartitionConsumer& consumer_;
  TopicPartition tp_;
  SchemaPtr schema_;
  std::vector<int> columns_;
  int64_t position_;
  int64_t end_;
  const KafkaSourceOptions& options_;
  std::string text_;
};

}  // namespace

KafkaSource::KafkaSource(KafkaSourceOptions options)
    : options_(std::move(options)),
      full_schema_(kafka_source_schema(options_.include_headers)),
      schema_(full_schema_),
      last_trigger_(std::chrono::steady_clock::now()) {}

KafkaSource::~KafkaSource() {
  // Fetch queues before the client that owns them.
  consumers_.clear();
  if (saw_deleted_topic_) {
    // librdkafka 2.0.2 never returns from rd_kafka_destroy of a client that read a partition of
    // a topic deleted since (its broker thread waits for that partition forever; reproduced on
    // the mock cluster even after rd_kafka_consume_stop): the client is left behind rather than
    // hanging the thread that stops the query.
    (void)client_.release();
  }
}

Result<std::shared_ptr<KafkaSource>> KafkaSource::make(KafkaSourceOptions options) {
  std::shared_ptr<KafkaSource> source(new KafkaSource(std::move(options)));
  std::map<std::string, std::string> properties = source->options_.properties;
  properties.erase("group.id");
  properties.emplace("isolation.level", "read_committed");
  // A fetch waits at most this long for new records on the broker: librdkafka's 500 ms default
  // would add up to half a second to each epoch's reads (and to continuous latency).
  properties.emplace("fetch.wait.max.ms", "10");
  // Prefetched records are bounded per partition here (librdkafka's 64 MB default would allow
  // gigabytes for a topic of many partitions).
  properties.emplace("queued.max.messages.kbytes", "8192");
  properties["enable.partition.eof"] = "true";
  properties["enable.auto.commit"] = "false";
  properties["auto.offset.reset"] = "error";
  SLUICE_ASSIGN_OR_RETURN(source->client_, kafka::make_client(RD_KAFKA_CONSUMER, properties));
  auto partitions = source->resolve_partitions();
  if (!partitions.ok()) {
    return partitions.status().with_context("the kafka source at " + source->options_.properties.at("bootstrap.servers"));
  }
  source->partitions_ = std::move(*partitions);
  for (const auto& tp : source->partitions_) {
    SLUICE_ASSIGN_OR_RETURN(int64_t offset, source->resolve_offset(source->options_.starting, tp, true));
    source->initial_.push_back(offset);
  }
  return source;
}

int KafkaSource::num_partitions() const {
  std::lock_guard lock(partitions_mutex_);
  return static_cast<int>(partitions_.size());
}

SourceOffset KafkaSource::initial_offset() const {
  std::lock_guard lock(partitions_mutex_);
  return initial_;
}

kafka::TopicPartition KafkaSource::topic_partition(int partition) const {
  std::lock_guard lock(partitions_mutex_);
  return partitions_.at(static_cast<size_t>(partition));
}

std::string KafkaSource::description() const {
  std::set<std::string> topics;
  {
    std::lock_guard lock(partitions_mutex_);
    for (const auto& tp : partitions_)
      topics.insert(tp.topic);
  }
  std::string text = "KafkaV2[";
  if (!options_.subscribe_pattern.empty()) {
    text += "SubscribePattern[" + options_.subscribe_pattern + "]";
  } else {
    text += options_.assign.empty() ? "Subscribe[" : "Assign[";
    bool first = true;
    for (const auto& topic : topics) {
      text += (first ? "" : ",") + topic;
      first = false;
    }
    text += "]";
  }
  return text + "]";
}

Result<std::vector<TopicPartition>> KafkaSource::resolve_partitions() {
  std::vector<TopicPartition> partitions;
  if (!options_.assign.empty()) {
    for (const auto& [topic, numbers] : options_.assign) {
      for (int32_t number : numbers) partitions.push_back({topic, number});
    }
  } else {
    SLUICE_ASSIGN_OR_RETURN(auto topics, kafka::list_topics(client_.get(), kMetadataTimeoutMs));
    std::vector<std::string> names;
    if (!options_.subscribe_pattern.empty()) {
      std::regex pattern(options_.subscribe_pattern);
      for (const auto& [name, count] : topics) {
        if (std::regex_match(name, pattern)) names.push_back(name);
      }
      if (names.empty()) {
        return Status::not_found("no Kafka topic matches subscribePattern '" + options_.subscribe_pattern + "'");
      }
    } else {
      for (const auto& name : options_.subscribe) {
        if (!topics.count(name)) {
          return Status::not_found("Kafka topic " + name + " (option subscribe) does not exist on " +
                                   options_.properties.at("bootstrap.servers"));
        }
        names.push_back(name);
      }
    }
    for (const auto& name : names) {
      for (int32_t p = 0; p < topics.at(name); ++p) partitions.push_back({name, p});
    }
  }
  std::sort(partitions.begin(), partitions.end());
  partitions.erase(std::unique(partitions.begin(), partitions.end()), partitions.end());
  return partitions;
}

Status KafkaSource::discover_partitions(bool now) {
  // Assigned partitions are fixed; a bounded read (endingOffsets) reads what it started with.
  if (!options_.assign.empty() || options_.ending) return Status::ok();
  // Continuous source actors ask concurrently: one discovers at a time, or two would both append
  // the same new partitions. Others skip it unless they need it now.
  std::unique_lock discovering(discovery_mutex_, std::try_to_lock);
  if (!discovering.owns_lock()) {
    if (!now) return Status::ok();
    discovering.lock();
  }
  const auto started = std::chrono::steady_clock::now();
  if (!now &&
      started - last_discovery_ < std::chrono::microseconds(options_.discovery_interval_micros)) {
    return Status::ok();
  }
  last_discovery_ = started;
  SLUICE_ASSIGN_OR_RETURN(auto topics, kafka::list_topics(client_.get(), kMetadataTimeoutMs));
  std::vector<TopicPartition> known;
  {
    std::lock_guard lock(partitions_mutex_);
    known = partitions_;
  }
  SLUICE_ASSIGN_OR_RETURN(
      kafka::DiscoveredPartitions discovered,
      kafka::discover_partitions(known, topics, {options_.subscribe, options_.subscribe_pattern}));
  if (!discovered.deleted.empty()) {
    saw_deleted_topic_ = true;
    if (options_.fail_on_data_loss) {
      return Status::io_error("Kafka topic " + *discovered.deleted.begin() +
                              " was deleted while the query read it (the cluster at " +
                              options_.properties.at("bootstrap.servers") +
                              " no longer lists it); set failOnDataLoss=false to go on without it");
    }
  }
  const std::vector<TopicPartition>& found = discovered.found;
  SourceOffset earliest;
  if (!found.empty()) {
    // Partitions that appear while the query runs are read from their start, as Spark does.
    SLUICE_ASSIGN_OR_RETURN(earliest,
                            kafka::query_offsets(client_.get(), found, false, kMetadataTimeoutMs));
  }
  std::lock_guard lock(partitions_mutex_);
  deleted_topics_ = std::move(discovered.deleted);
  partitions_.insert(partitions_.end(), found.begin(), found.end());
  initial_.insert(initial_.end(), earliest.begin(), earliest.end());
  return Status::ok();
}

Result<int64_t> KafkaSource::resolve_offset(const KafkaOffsetSpec& spec, const TopicPartition& tp, bool starting) {
  SLUICE_ASSIGN_OR_RETURN(auto marks, kafka::query_watermarks(client_.get(), tp, kMetadataTimeoutMs));
  if (starting && options_.starting_timestamp_ms) {
    kafka::TopicPartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = *options_.starting_timestamp_ms;
    rd_kafka_resp_err_t error = rd_kafka_offsets_for_times(client_.get(), list.get(), kMetadataTimeoutMs);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR || list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::io_error("cannot find the offset of startingTimestamp in " + describe(tp) + ": " +
                              kafka::error_text(error != RD_KAFKA_RESP_ERR_NO_ERROR ? error : list->elems[0].err));
    }
    const int64_t offset = list->elems[0].offset;
    return offset < 0 ? marks.second : offset;  // no record that late: start at the end
  }
  KafkaOffsetSpec::Kind kind = spec.kind;
  if (kind == KafkaOffsetSpec::Kind::explicit_offsets) {
    auto it = spec.offsets.find(tp);
    if (it == spec.offsets.end()) {
      kind = spec.fallback;
    } else if (it->second == -2) {
      kind = KafkaOffsetSpec::Kind::earliest;
    } else if (it->second == -1) {
      kind = KafkaOffsetSpec::Kind::latest;
    } else {
      if (it->second < marks.first || it->second > marks.second) {
        return Status::out_of_range(std::string(starting ? "startingOffsets" : "endingOffsets") + " gives offset " +
                                    std::to_string(it->second) + " for " + describe(tp) + ", which holds offsets " +
                                    std::to_string(marks.first) + " to " + std::to_string(marks.second));
      }
      return it->second;
    }
  }
  return kind == KafkaOffsetSpec::Kind::earliest ? marks.first : marks.second;
}

Result<SourceOffset> KafkaSource::ending_offsets() {
  if (!ending_) {
    SourceOffset ending;
    for (const auto& tp : partitions_) {
      SLUICE_ASSIGN_OR_RETURN(int64_t offset, resolve_offset(*options_.ending, tp, false));
      ending.push_back(offset);
    }
    ending_ = std::move(ending);
  }
  return *ending_;
}

Result<SourceOffset> KafkaSource::latest_offset(const SourceOffset& start, const ReadLimit& limit) {
  SLUICE_RETURN_NOT_OK(discover_partitions(limit.everything));
  std::vector<TopicPartition> partitions;
  SourceOffset initial;
  std::set<std::string> deleted;
  {
    std::lock_guard lock(partitions_mutex_);
    partitions = partitions_;
    initial = initial_;
    deleted = deleted_topics_;
  }
  SourceOffset latest(partitions.size(), 0);
  // Known partitions go on where the last epoch ended, found ones from their earliest offset.
  const SourceOffset starts = kafka::next_epoch_start(start, initial);
  std::optional<SourceOffset> ending;
  if (options_.ending) {
    SLUICE_ASSIGN_OR_RETURN(ending, ending_offsets());
  }
  int64_t available = 0;
  // Partitions of deleted topics (failOnDataLoss=false) stay where they are.
  std::vector<TopicPartition> present;
  for (const auto& tp : partitions) {
    if (!deleted.count(tp.topic)) present.push_back(tp);
  }
  SLUICE_ASSIGN_OR_RETURN(auto marks_of_present, watermarks(present, limit.everything));
  const auto& [lows, highs] = marks_of_present;
  size_t asked = 0;
  for (size_t p = 0; p < partitions.size(); ++p) {
    const TopicPartition& tp = partitions[p];
    const int64_t from = starts[p];
    if (deleted.count(tp.topic)) {
      latest[p] = from;
      continue;
    }
    const std::pair<int64_t, int64_t> marks{lows[asked], highs[asked]};
    ++asked;
    if (marks.second < from) {
      if (options_.fail_on_data_loss) {
        return Status::io_error(describe(tp) + " now ends at offset " + std::to_string(marks.second) +
                                ", before offset " + std::to_string(from) +
                                " which Sluice already read (was the topic deleted and recreated?); set "
                                "failOnDataLoss=false to go on from there");
      }
      latest[p] = from;
      continue;
    }
    if (marks.first > from && options_.fail_on_data_loss) {
      return Status::io_error("offsets " + std::to_string(from) + " to " + std::to_string(marks.first) + " of " +
                              describe(tp) +
                              " were deleted (retention) before Sluice read them; set failOnDataLoss=false to skip them");
    }
    latest[p] = ending ? std::max(from, std::min(marks.second, (*ending)[p])) : marks.second;
    available += latest[p] - from;
  }
  if (limit.everything) return latest;

  std::lock_guard lock(planning_mutex_);
  available_ = latest;
  auto now = std::chrono::steady_clock::now();
  if (options_.min_offsets_per_trigger > 0 && available < options_.min_offsets_per_trigger &&
      now - last_trigger_ < std::chrono::microseconds(options_.max_trigger_delay_micros)) {
    SourceOffset unchanged(partitions.size());
    for (size_t p = 0; p < partitions.size(); ++p)
      unchanged[p] = starts[p];
    return unchanged;
  }
  const int64_t cap = limit.max_rows >= 0 ? limit.max_rows : options_.max_offsets_per_trigger;
  if (cap >= 0 && available > cap) {
    // Spread the cap over partitions in proportion to what each has waiting, as Spark does;
    // rounding leftovers go one each to partitions that still have records waiting.
    const SourceOffset full = latest;
    int64_t given = 0;
    for (size_t p = 0; p < partitions.size(); ++p) {
      const int64_t from = starts[p];
      const int64_t share = static_cast<int64_t>(static_cast<__int128>(full[p] - from) * cap / available);
      latest[p] = from + share;
      given += share;
    }
    for (size_t p = 0; p < partitions.size() && given < cap; ++p) {
      if (latest[p] < full[p]) {
        ++latest[p];
        ++given;
      }
    }
    available = given;
  }
  if (available > 0) last_trigger_ = now;
  return latest;
}

Result<std::pair<std::vector<int64_t>, std::vector<int64_t>>> KafkaSource::watermarks(
    const std::vector<TopicPartition>& partitions, bool fresh) {
  auto reusable =
      [&](bool any_age) -> std::optional<std::pair<std::vector<int64_t>, std::vector<int64_t>>> {
    std::lock_guard lock(watermarks_mutex_);
    if (watermarks_partitions_ != partitions) return std::nullopt;
    if (!any_age && std::chrono::steady_clock::now() - watermarks_time_ > kWatermarksReuse)
      return std::nullopt;
    return watermarks_;
  };
  if (!fresh) {
    if (auto recent = reusable(false)) return *recent;
  }
  std::unique_lock asking(watermarks_query_mutex_, std::try_to_lock);
  if (!asking.owns_lock()) {
    if (!fresh) {
      if (auto last = reusable(true)) return *last;
    }
    asking.lock();
  }
  const auto asked_at = std::chrono::steady_clock::now();
  // Two requests per leader broker, whatever the number of partitions.
  SLUICE_ASSIGN_OR_RETURN(
      auto lows, kafka::query_offsets(client_.get(), partitions, false, kMetadataTimeoutMs));
  SLUICE_ASSIGN_OR_RETURN(
      auto highs, kafka::query_offsets(client_.get(), partitions, true, kMetadataTimeoutMs));
  std::lock_guard lock(watermarks_mutex_);
  watermarks_time_ = asked_at;
  watermarks_partitions_ = partitions;
  watermarks_ = {std::move(lows), std::move(highs)};
  return watermarks_;
}

std::vector<std::pair<std::string, std::string>> KafkaSource::progress_metrics(const SourceOffset& end,
                                                                              const SourceOffset& latest) const {
  if (end.empty() || end.size() != latest.size()) return {};
  int64_t least = INT64_MAX;
  int64_t most = 0;
  double total = 0;
  for (size_t p = 0; p < end.size(); ++p) {
    const int64_t behind = std::max<int64_t>(0, latest[p] - end[p]);
    least = std::min(least, behind);
    most = std::max(most, behind);
    total += static_cast<double>(behind);
  }
  char average[32];
  std::snprintf(average, sizeof average, "%.1f", total / static_cast<double>(end.size()));
  std::vector<std::pair<std::string, std::string>> metrics = {
      {"avgOffsetsBehindLatest", average},
      {"maxOffsetsBehindLatest", std::to_string(most)},
      {"minOffsetsBehindLatest", std::to_string(least)}};
  std::lock_guard lock(partitions_mutex_);
  if (!deleted_topics_.empty()) {
    // The warning of failOnDataLoss=false: these topics are gone and no longer read.
    std::string names;
    for (const auto& topic : deleted_topics_)
      names += (names.empty() ? "" : ",") + topic;
    metrics.emplace_back("deletedTopics", names);
  }
  return metrics;
}

std::optional<SourceOffset> KafkaSource::last_available() const {
  std::lock_guard lock(planning_mutex_);
  return available_;
}

KafkaSource::PartitionConsumer& KafkaSource::consumer_for(int partition, const TopicPartition& tp) {
  std::lock_guard lock(consumers_mutex_);
  auto& consumer = consumers_[partition];
  if (!consumer) {
    consumer = std::make_unique<PartitionConsumer>();
    consumer->topic = rd_kafka_topic_new(client_.get(), tp.topic.c_str(), nullptr);
    consumer->partition = tp.partition;
  }
  return *consumer;
}

Result<std::unique_ptr<PartitionReader>> KafkaSource::open_reader(int partition, int64_t start, int64_t end) {
  TopicPartition tp;
  {
    std::lock_guard lock(partitions_mutex_);
    if (partition < 0 || static_cast<size_t>(partition) >= partitions_.size()) {
      return Status::out_of_range("the kafka source has no partition " + std::to_string(partition));
    }
    tp = partitions_[static_cast<size_t>(partition)];
  }
  PartitionConsumer& consumer = consumer_for(partition, tp);
  if (consumer.topic == nullptr) {
    return Status::io_error("cannot open " + describe(tp) + ": " + kafka::error_text(rd_kafka_last_error()));
  }
  std::vector<int> columns;
  for (const auto& field : schema_->fields()) {
    columns.push_back(full_schema_->find(field.name));
  }
  if (start < end) SLUICE_RETURN_NOT_OK(consumer.seek(tp, start));
  return std::unique_ptr<PartitionReader>(
      new KafkaPartitionReader(client_.get(), consumer, tp, schema_, std::move(columns), start, end, options_));
}

Status KafkaSource::attach(const ConnectorContext& context) {
  auto it = options_.properties.find("group.id");
  group_id_ = it != options_.properties.end() ? it->second : "sluice-" + context.query_id;
  return Status::ok();
}

Status KafkaSource::commit(const SourceOffset& end) {
  std::vector<TopicPartition> partitions;
  std::set<std::string> deleted;
  {
    std::lock_guard lock(partitions_mutex_);
    partitions = partitions_;
    deleted = deleted_topics_;
  }
  if (!options_.commit_offsets || group_id_.empty() || partitions.empty()) return Status::ok();
  if (!committer_) {
    std::map<std::string, std::string> properties = options_.properties;
    properties["group.id"] = group_id_;
    properties["enable.auto.commit"] = "false";
    SLUICE_ASSIGN_OR_RETURN(committer_, kafka::make_client(RD_KAFKA_CONSUMER, properties));
  }
  kafka::TopicPartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (size_t p = 0; p < partitions.size() && p < end.size(); ++p) {
    if (deleted.count(partitions[p].topic)) continue;
    rd_kafka_topic_partition_list_add(list.get(), partitions[p].topic.c_str(),
                                      partitions[p].partition)
        ->offset = end[p];
  }
  // Advisory (lag tools only), so asynchronous; results are served and dropped by the poll.
  rd_kafka_commit(committer_.get(), list.get(), 1);
  rd_kafka_poll(committer_.get(), 0);
  return Status::ok();
}

std::string KafkaSource::save_metadata() const {
  std::lock_guard lock(partitions_mutex_);
  return kafka::encode_partition_list(partitions_);
}

Status KafkaSource::restore_metadata(std::string_view saved) {
  if (saved.empty()) return Status::ok();
  SLUICE_ASSIGN_OR_RETURN(auto restored, kafka::decode_partition_list(saved));
  // The checkpoint's order stays (its offsets are in that order), then partitions that
  // appeared since. Every partition the checkpoint's offsets do not cover starts at its
  // earliest offset, as Spark does: it appeared after the query started (partitions present at
  // the first start are in every offsets entry, whatever startingOffsets said).
  std::vector<TopicPartition> order = kafka::merge_partition_order(restored, partitions_);
  std::set<TopicPartition> present(partitions_.begin(), partitions_.end());
  std::vector<TopicPartition> asked;
  for (const auto& tp : order) {
    if (present.count(tp)) asked.push_back(tp);
  }
  SLUICE_ASSIGN_OR_RETURN(auto earliest,
                          kafka::query_offsets(client_.get(), asked, false, kMetadataTimeoutMs));
  SourceOffset offsets;
  size_t next = 0;
  for (const auto& tp : order) {
    // A partition of a topic gone since is never read again: discovery reports the topic.
    offsets.push_back(present.count(tp) ? earliest[next++] : 0);
  }
  {
    std::lock_guard lock(consumers_mutex_);
    consumers_.clear();
  }
  std::lock_guard lock(partitions_mutex_);
  partitions_ = std::move(order);
  initial_ = std::move(offsets);
  ending_.reset();
  return Status::ok();
}

bool KafkaSource::prune_columns(const std::vector<std::string>& columns) {
  std::vector<Field> fields;
  for (const auto& field : full_schema_->fields()) {
    if (std::find(columns.begin(), columns.end(), field.name) != columns.end()) fields.push_back(field);
  }
  schema_ = Schema::make(std::move(fields)).value();
  return true;
}

}  // namespace sluice
