#include "io/kafka_sink.hpp"

#include "core/fault_injection.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "io/option_map.hpp"

namespace sluice {
namespace {

constexpr std::string_view kMarkerPrefix = "sluice-epoch:";

struct ErrorDeleter {
  void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
};
using Error = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

Status txn_status(rd_kafka_error_t* raw, const std::string& what) {
  Error error(raw);
  if (!error) return Status::ok();
  return Status::io_error("kafka sink: " + what + ": " + rd_kafka_error_string(error.get()) +
                          (rd_kafka_error_is_fatal(error.get()) ? " (fatal)" : ""));
}

}  // namespace

std::string kafka_epoch_marker_metadata(int64_t epoch) { return std::string(kMarkerPrefix) + std::to_string(epoch); }

std::optional<int64_t> parse_kafka_epoch_marker(int64_t committed_offset, std::string_view metadata) {
  if (committed_offset < 1 || !metadata.starts_with(kMarkerPrefix)) return std::nullopt;
  std::string_view digits = metadata.substr(kMarkerPrefix.size());
  int64_t epoch = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), epoch);
  if (error != std::errc() || end != digits.data() + digits.size() || epoch < 0) return std::nullopt;
  // The offset and the metadata are written together; a mismatch is not our marker.
  if (committed_offset != epoch + 1) return std::nullopt;
  return epoch;
}

bool kafka_epoch_already_written(int64_t epoch, std::optional<int64_t> last_marker) {
  return last_marker.has_value() && epoch <= *last_marker;
}

Result<KafkaSinkOptions> KafkaSinkOptions::parse(const std::map<std::string, std::string>& raw) {
  OptionMap options("the kafka sink", raw);
  options.ignore("checkpointLocation");
  options.ignore("minBatchesToRetain");
  KafkaSinkOptions parsed;
  parsed.properties = options.take_prefixed("kafka.");
  if (!parsed.properties.count("bootstrap.servers")) {
    return Status::invalid_argument("the kafka sink needs option kafka.bootstrap.servers (host:port of a broker)");
  }
  for (const char* owned : {"transactional.id", "enable.idempotence"}) {
    if (parsed.properties.count(owned)) {
      return Status::invalid_argument(std::string("option kafka.") + owned +
                                      " is set by the kafka sink itself (use exactlyOnce=true|false)");
    }
  }
  parsed.topic = options.take_or("topic", "");
  SLUICE_ASSIGN_OR_RETURN(parsed.exactly_once, options.take_bool("exactlyOnce", true));
  parsed.marker_topic = options.take_or("epochMarkerTopic", parsed.topic);
  SLUICE_ASSIGN_OR_RETURN(parsed.timeout_ms, options.take_int("timeoutMs", 60'000, 1));
  SLUICE_RETURN_NOT_OK(options.check_all_used());
  if (parsed.exactly_once && parsed.marker_topic.empty()) {
    return Status::invalid_argument(
        "the kafka sink with exactlyOnce=true and a topic column needs option epochMarkerTopic (an existing "
        "topic whose partition 0 carries the epoch marker), or option topic");
  }
  return parsed;
}

KafkaSink::KafkaSink(KafkaSinkOptions options, SchemaPtr input) : options_(std::move(options)), input_(std::move(input)) {}

KafkaSink::~KafkaSink() {
  // An idempotent producer's records in flight are delivered, not dropped (transactions left
  // open are aborted by the broker, as they must be).
  if (producer_ && !options_.exactly_once) rd_kafka_flush(producer_.get(), static_cast<int>(options_.timeout_ms));
  for (auto& [name, topic] : topics_) rd_kafka_topic_destroy(topic);
}

Result<std::shared_ptr<KafkaSink>> KafkaSink::make(KafkaSinkOptions options, SchemaPtr input) {
  std::shared_ptr<KafkaSink> sink(new KafkaSink(std::move(options), std::move(input)));
  auto column = [&](const std::string& name, Type type, bool required) -> Result<int> {
    const int index = sink->input_->find(name);
    if (index < 0) {
      if (!required) return -1;
      std::string names;
      for (const auto& field : sink->input_->fields()) names += (names.empty() ? "" : ", ") + field.name;
      return Status::invalid_argument("the kafka sink needs a '" + name + "' column of type " +
                                      std::string(type_name(type)) + "; the query produces: " + names +
                                      " (build one with to_json(...) or cast(... as string))");
    }
    const Type actual = sink->input_->field(index).type;
    if (actual != type) {
      return Status::type_error("the kafka sink's '" + name + "' column must be " + std::string(type_name(type)) +
                                ", it is " + std::string(type_name(actual)));
    }
    return index;
  };
  SLUICE_ASSIGN_OR_RETURN(sink->value_column_, column("value", Type::String, true));
  SLUICE_ASSIGN_OR_RETURN(sink->key_column_, column("key", Type::String, false));
  SLUICE_ASSIGN_OR_RETURN(sink->partition_column_, column("partition", Type::Int64, false));
  SLUICE_ASSIGN_OR_RETURN(sink->topic_column_, column("topic", Type::String, sink->options_.topic.empty()));
  if (!sink->options_.topic.empty()) sink->topic_column_ = -1;  // the option wins, as in Spark
  return sink;
}

std::string KafkaSink::description() const {
  return "KafkaSink[" + (options_.topic.empty() ? std::string("<topic column>") : options_.topic) +
         (options_.exactly_once ? ", exactly-once]" : ", idempotent]");
}

void KafkaSink::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* sink = static_cast<KafkaSink*>(opaque);
  std::lock_guard lock(sink->delivery_mutex_);
  if (!sink->delivery_error_.empty()) return;
  sink->delivery_error_ = "kafka sink: cannot write to topic " + std::string(rd_kafka_topic_name(message->rkt)) +
                          " partition " + std::to_string(message->partition) + ": " + kafka::error_text(message->err);
}

Status KafkaSink::delivery_status() {
  std::lock_guard lock(delivery_mutex_);
  if (delivery_error_.empty()) return Status::ok();
  return Status::io_error(delivery_error_);
}

Status KafkaSink::attach(const ConnectorContext& context) {
  query_id_ = context.query_id;
  group_id_ = "sluice-" + query_id_ + "-sink";
  std::map<std::string, std::string> properties = options_.properties;
  if (options_.exactly_once) {
    properties["transactional.id"] = "sluice-" + query_id_ + "-sink-0";
  } else {
    properties["enable.idempotence"] = "true";
  }
  for (auto& [name, topic] : topics_) rd_kafka_topic_destroy(topic);
  topics_.clear();
  producer_.reset();
  open_epoch_.reset();
  last_finished_.reset();
  waiting_.clear();
  SLUICE_ASSIGN_OR_RETURN(producer_, kafka::make_client(RD_KAFKA_PRODUCER, properties, this, &KafkaSink::on_delivery));
  if (!options_.exactly_once) return Status::ok();
  // Fences the previous run's producer and aborts its open transaction, if any.
  SLUICE_RETURN_NOT_OK(txn_status(rd_kafka_init_transactions(producer_.get(), static_cast<int>(options_.timeout_ms)),
                                  "initializing transactions (transactional.id sluice-" + query_id_ + "-sink-0)"));
  SLUICE_ASSIGN_OR_RETURN(marker_, read_marker());
  return Status::ok();
}

Result<std::optional<int64_t>> KafkaSink::read_marker() {
  // The connection settings of the user's properties, without the producer's own.
  std::map<std::string, std::string> properties;
  for (const auto& [key, value] : options_.properties) {
    for (const char* prefix : {"bootstrap.", "security.", "sasl.", "ssl.", "client.", "socket.", "broker."}) {
      if (key.starts_with(prefix)) properties[key] = value;
    }
  }
  properties["group.id"] = group_id_;
  properties["enable.auto.commit"] = "false";
  SLUICE_ASSIGN_OR_RETURN(kafka::Client reader, kafka::make_client(RD_KAFKA_CONSUMER, properties));
  kafka::TopicPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), options_.marker_topic.c_str(), 0);
  rd_kafka_resp_err_t error = rd_kafka_committed(reader.get(), list.get(), static_cast<int>(options_.timeout_ms));
  if (error == RD_KAFKA_RESP_ERR_NO_ERROR) error = list->elems[0].err;
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::io_error("kafka sink: cannot read the epoch marker of consumer group " + group_id_ + ": " +
                            kafka::error_text(error));
  }
  const rd_kafka_topic_partition_t& marker = list->elems[0];
  std::string_view metadata(static_cast<const char*>(marker.metadata), marker.metadata == nullptr ? 0 : marker.metadata_size);
  rd_kafka_consumer_close(reader.get());
  return parse_kafka_epoch_marker(marker.offset, metadata);
}

Status KafkaSink::begin(int64_t epoch) {
  if (options_.exactly_once) {
    SLUICE_RETURN_NOT_OK(txn_status(rd_kafka_begin_transaction(producer_.get()),
                                    "beginning the transaction of epoch " + std::to_string(epoch)));
  }
  open_epoch_ = epoch;
  return Status::ok();
}

Status KafkaSink::write(int64_t epoch, const RecordBatchPtr& batch) {
  if (!producer_) return Status::internal("kafka sink: write before attach");
  if (kafka_epoch_already_written(epoch, marker_)) return Status::ok();  // the replay of a committed epoch
  // Epochs overlap upstream: only the epoch after the last finished one writes into the open
  // transaction; batches of later epochs wait for theirs (an epoch's transaction must not hold
  // rows of the next, nor commit before the epochs ahead of it).
  if (!open_epoch_) {
    const bool next_in_line = last_finished_ ? epoch == *last_finished_ + 1
                                             : waiting_.empty() || waiting_.begin()->first >= epoch;
    if (next_in_line) SLUICE_RETURN_NOT_OK(begin(epoch));
  }
  if (open_epoch_ == epoch) return produce(*batch);
  waiting_[epoch].push_back(batch);
  return Status::ok();
}

Result<rd_kafka_topic_t*> KafkaSink::topic_handle(std::string_view name) {
  auto it = topics_.find(name);
  if (it != topics_.end()) return it->second;
  rd_kafka_topic_t* handle = rd_kafka_topic_new(producer_.get(), std::string(name).c_str(), nullptr);
  if (handle == nullptr) {
    return Status::io_error("kafka sink: cannot use topic " + std::string(name) + ": " +
                            kafka::error_text(rd_kafka_last_error()));
  }
  topics_.emplace(std::string(name), handle);
  return handle;
}

Status KafkaSink::produce(const RecordBatch& batch) {
  const Column& values = *batch.column(value_column_);
  const Column* keys = key_column_ >= 0 ? batch.column(key_column_).get() : nullptr;
  const Column* topics = topic_column_ >= 0 ? batch.column(topic_column_).get() : nullptr;
  const Column* partitions = partition_column_ >= 0 ? batch.column(partition_column_).get() : nullptr;
  rd_kafka_t* producer = producer_.get();
  // The topic handle is looked up when the topic changes from one row to the next, not per row.
  std::string_view current;
  rd_kafka_topic_t* handle = nullptr;
  for (int64_t row = 0; row < batch.num_rows(); ++row) {
    std::string_view name = options_.topic;
    if (topics != nullptr) {
      if (topics->is_null(row)) return Status::invalid_argument("kafka sink: a row has a null topic");
      name = topics->string_at(row);
    }
    if (handle == nullptr || name != current) {
      SLUICE_ASSIGN_OR_RETURN(handle, topic_handle(name));
      current = name;
    }
    const int32_t partition = partitions != nullptr && !partitions->is_null(row)
                                  ? static_cast<int32_t>(partitions->values<int64_t>()[row])
                                  : RD_KAFKA_PARTITION_UA;
    std::string_view value = values.is_null(row) ? std::string_view() : values.string_at(row);
    std::string_view key = keys == nullptr || keys->is_null(row) ? std::string_view() : keys->string_at(row);
    for (;;) {
      const int result = rd_kafka_produce(handle, partition, RD_KAFKA_MSG_F_COPY,
                                          values.is_null(row) ? nullptr : const_cast<char*>(value.data()), value.size(),
                                          keys == nullptr || keys->is_null(row) ? nullptr : key.data(), key.size(), nullptr);
      if (result == 0) break;
      const rd_kafka_resp_err_t error = rd_kafka_last_error();
      if (error != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return Status::io_error("kafka sink: cannot write to topic " + std::string(name) + ": " + kafka::error_text(error));
      }
      rd_kafka_poll(producer, 10);  // the local queue is full: let deliveries drain it
    }
  }
  rd_kafka_poll(producer, 0);
  return delivery_status();
}

Status KafkaSink::commit_transaction(int64_t epoch) {
  rd_kafka_t* producer = producer_.get();
  const int timeout = static_cast<int>(options_.timeout_ms);
  // The marker: committed by the same transaction as the records.
  kafka::TopicPartitionList offsets(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_t* marker = rd_kafka_topic_partition_list_add(offsets.get(), options_.marker_topic.c_str(), 0);
  marker->offset = epoch + 1;
  const std::string metadata = kafka_epoch_marker_metadata(epoch);
  marker->metadata = std::malloc(metadata.size());  // freed by the list
  std::memcpy(marker->metadata, metadata.data(), metadata.size());
  marker->metadata_size = metadata.size();
  rd_kafka_consumer_group_metadata_t* group = rd_kafka_consumer_group_metadata_new(group_id_.c_str());
  Status status = txn_status(rd_kafka_send_offsets_to_transaction(producer, offsets.get(), group, timeout),
                             "recording epoch " + std::to_string(epoch) + " in the transaction");
  rd_kafka_consumer_group_metadata_destroy(group);
  if (status.is_ok()) status = fault_point(FaultPoint::kafka_before_txn_commit, epoch);
  if (status.is_ok()) {
    for (;;) {
      Error error(rd_kafka_commit_transaction(producer, timeout));
      if (!error) break;
      if (rd_kafka_error_is_retriable(error.get())) continue;
      status = Status::io_error("kafka sink: committing the transaction of epoch " + std::to_string(epoch) + ": " +
                                rd_kafka_error_string(error.get()));
      break;
    }
  }
  if (status.is_ok()) status = delivery_status();
  if (!status.is_ok()) {
    // Nothing of this epoch may become visible: the query stops and the epoch is replayed.
    Error ignored(rd_kafka_abort_transaction(producer, timeout));
  }
  return status;
}

Status KafkaSink::finish_epoch(int64_t epoch) {
  if (kafka_epoch_already_written(epoch, marker_)) {
    last_finished_ = epoch;
    return Status::ok();
  }
  if (open_epoch_ != epoch) {
    if (open_epoch_ && *open_epoch_ > epoch && !waiting_.count(epoch)) {
      // Only possible for the first epoch after a start, before any epoch finished: it wrote
      // no rows, and the next one's transaction is already open. Nothing to publish.
      last_finished_ = epoch;
      return Status::ok();
    }
    if (open_epoch_) {
      return Status::internal("kafka sink: epoch " + std::to_string(epoch) + " finished while epoch " +
                              std::to_string(*open_epoch_) + " is open");
    }
    SLUICE_RETURN_NOT_OK(begin(epoch));
  }
  if (auto it = waiting_.find(epoch); it != waiting_.end()) {
    for (const auto& batch : it->second) SLUICE_RETURN_NOT_OK(produce(*batch));
    waiting_.erase(it);
  }
  Status status = Status::ok();
  if (options_.exactly_once) {
    status = commit_transaction(epoch);
  } else {
    const rd_kafka_resp_err_t error = rd_kafka_flush(producer_.get(), static_cast<int>(options_.timeout_ms));
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = Status::io_error("kafka sink: flushing epoch " + std::to_string(epoch) + ": " + kafka::error_text(error));
    }
    if (status.is_ok()) status = delivery_status();
  }
  open_epoch_.reset();
  SLUICE_RETURN_NOT_OK(status);
  last_finished_ = epoch;
  // The next epoch's waiting batches go into its transaction now.
  if (auto next = waiting_.find(epoch + 1); next != waiting_.end()) {
    SLUICE_RETURN_NOT_OK(begin(next->first));
    for (const auto& batch : next->second) SLUICE_RETURN_NOT_OK(produce(*batch));
    waiting_.erase(next);
  }
  return Status::ok();
}

void KafkaSink::abort_epoch(int64_t epoch) {
  waiting_.erase(epoch);
  if (open_epoch_ == epoch && options_.exactly_once && producer_) {
    Error ignored(rd_kafka_abort_transaction(producer_.get(), static_cast<int>(options_.timeout_ms)));
    open_epoch_.reset();
  }
}

}  // namespace sluice
