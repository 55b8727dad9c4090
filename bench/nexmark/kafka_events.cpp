#include "bench/nexmark/kafka_events.hpp"

#include "io/kafka_client.hpp"
#include "operators/record_format.hpp"

namespace sluice::nexmark {

namespace {

// Keeps the first delivery error, so that a record the broker refused is not lost silently.
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* first_error = static_cast<rd_kafka_resp_err_t*>(opaque);
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR && *first_error == RD_KAFKA_RESP_ERR_NO_ERROR) {
    *first_error = message->err;
  }
}

}  // namespace

std::string json_record_schema() {
  return "event_type BIGINT, id BIGINT, name STRING, email_address STRING, credit_card STRING, "
         "city STRING, "
         "state STRING, item_name STRING, description STRING, initial_bid BIGINT, reserve BIGINT, "
         "expires TIMESTAMP, seller BIGINT, category BIGINT, auction BIGINT, bidder BIGINT, price "
         "BIGINT, "
         "channel STRING, url STRING, date_time TIMESTAMP, extra STRING";
}

Status produce_events(const Generator& generator, const std::string& bootstrap_servers,
                      const std::string& topic, int64_t first, int64_t end) {
  // Delivery reports run inside rd_kafka_poll / rd_kafka_flush on this thread.
  rd_kafka_resp_err_t delivery_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  SLUICE_ASSIGN_OR_RETURN(
      kafka::Client producer,
      kafka::make_client(RD_KAFKA_PRODUCER,
                         {{"bootstrap.servers", bootstrap_servers}, {"linger.ms", "5"}},
                         &delivery_error, &on_delivery));
  for (int64_t number = first; number < end; ++number) {
    const std::string key = std::to_string(number);
    const std::string value = generator.to_json(number);
    while (true) {
      const rd_kafka_resp_err_t error = rd_kafka_producev(
          producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (error == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (error != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return Status::io_error("producing Nexmark event " + key + " into topic '" + topic +
                                "': " + kafka::error_text(error));
      }
      rd_kafka_poll(producer.get(), 50);  // the local queue is full: let deliveries drain it
    }
  }
  const rd_kafka_resp_err_t flushed = rd_kafka_flush(producer.get(), 60'000);
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::io_error("flushing Nexmark events into topic '" + topic +
                            "': " + kafka::error_text(flushed));
  }
  if (delivery_error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::io_error("a Nexmark event was not delivered to topic '" + topic +
                            "': " + kafka::error_text(delivery_error));
  }
  return Status::ok();
}

Streams read_kafka_streams(SessionContext& session, const std::string& bootstrap_servers,
                           const std::string& topic, int64_t max_offsets_per_trigger,
                           bool processing_time) {
  auto read = [&](EventKind kind, const char* event_time, bool with_processing_time) {
    DataStreamReader reader(session.state());
    reader.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap_servers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest");
    if (max_offsets_per_trigger > 0) {
      reader.option("maxOffsetsPerTrigger", std::to_string(max_offsets_per_trigger));
    }
    std::vector<Expr> columns;
    for (const auto& field : schema_of(kind)->fields())
      columns.push_back(col("e." + field.name).alias(field.name));
    if (with_processing_time) {
      // The session's clock, read per row: a manual clock in tests.
      columns.push_back(udf("proctime",
                            [state = session.state()](Timestamp) -> Timestamp {
                              return Timestamp{state->clock()->now_micros()};
                            })(col("e.date_time"))
                            .alias("p_time"));
    }
    const DataFrame rows = reader.load()
                               .select(from_json(col("value"), json_record_schema()).alias("e"))
                               .filter(col("e.event_type") == static_cast<int64_t>(kind))
                               .select(columns);
    return with_processing_time ? rows.with_watermark("p_time", "0 seconds")
                                : rows.with_watermark(event_time, "4 seconds");
  };
  return Streams{read(EventKind::person, "date_time", false),
                 read(EventKind::auction, "date_time", false),
                 read(EventKind::bid, "date_time", processing_time),
                 read(EventKind::auction, "expires", false)};
}

}  // namespace sluice::nexmark
