#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_batch.hpp"
#include "core/status.hpp"

namespace sluice::nexmark {

/// Names the three kinds of Nexmark events.
enum class EventKind { person, auction, bid };

/// Parses "person", "auction" or "bid"; fails naming the text.
Result<EventKind> parse_event_kind(std::string_view text);
std::string_view event_kind_name(EventKind kind);

/// Configures the generator with the Nexmark suite's parameters and defaults (the Flink
/// suite's NexmarkConfiguration, with the benchmark's 10 M events/s of event time).
struct GeneratorConfig {
  uint64_t seed = 0;                         ///< same seed, same events, byte for byte
  int64_t first_event_rate = 10'000'000;     ///< events per second of event time
  int64_t base_time_ms = 1'700'000'000'000;  ///< event time of event 0 (ms since epoch)
  int person_proportion = 1;
  int auction_proportion = 3;
  int bid_proportion = 46;
  int64_t num_active_people = 1000;
  int64_t num_in_flight_auctions = 100;
  int hot_auction_ratio = 2;
  int hot_sellers_ratio = 4;
  int hot_bidders_ratio = 4;
  int avg_person_byte_size = 200;
  int avg_auction_byte_size = 500;
  int avg_bid_byte_size = 100;
  int64_t out_of_order_group_size = 1;  ///< 1: in order; n: events permuted within groups of n

  /// Checks the values; fails naming the first bad one.
  [[nodiscard]] Status validate() const;
  int total_proportion() const { return person_proportion + auction_proportion + bid_proportion; }
};

/// Schemas of the three streams (RisingWave's snake_case names for the Flink suite's fields).
SchemaPtr person_schema();
SchemaPtr auction_schema();
SchemaPtr bid_schema();
SchemaPtr schema_of(EventKind kind);

/// Generates Nexmark events. Event number n (its position in the stream) fully determines the
/// event: its id is the out-of-order adjusted number, its kind `id % 50` (0 person, 1-3
/// auction, 4-49 bid with the default proportions), and every random field comes from a
/// generator seeded by (seed, id), so any range can be produced alone, in any order, by any
/// thread, and replays identically (the Flink suite draws from one unseeded stream instead).
/// Bidder ids start at 1000 like every person id, as in Beam's generator (Flink's adds the
/// offset twice). Immutable after make(); safe to use from many threads.
class Generator {
 public:
  static Result<std::shared_ptr<const Generator>> make(GeneratorConfig config);

  const GeneratorConfig& config() const { return config_; }
  /// Returns the event id of the event at position `event_number` (out-of-order adjusted).
  int64_t event_id(int64_t event_number) const;
  EventKind kind_of_id(int64_t id) const;
  EventKind kind(int64_t event_number) const { return kind_of_id(event_id(event_number)); }
  /// Returns the event time (ms since epoch) of the event with this (adjusted) number.
  int64_t timestamp_ms(int64_t adjusted_number) const;
  /// Appends to `builder` (of schema_of(kind)) the events of `kind` among the positions
  /// first, first + stride, ... below end; returns how many it appended.
  int64_t append_events(EventKind kind, int64_t first, int64_t end, int64_t stride,
                        RecordBatchBuilder& builder) const;
  /// Builds a batch of the events of `kind` among positions [first, end) with the given stride.
  RecordBatchPtr make_batch(EventKind kind, int64_t first, int64_t end, int64_t stride = 1) const;
  /// Renders the event at position `event_number` as one JSON object with the Flink suite's
  /// layout ({"event_type":0|1|2,"person":{...}|null,...}), for the Kafka variant.
  std::string to_json(int64_t event_number) const;

 private:
  explicit Generator(GeneratorConfig config);
  struct Random;
  int64_t last_base0_person_id(int64_t id) const;
  int64_t last_base0_auction_id(int64_t id) const;
  int64_t next_base0_person_id(int64_t id, Random& random) const;
  int64_t next_base0_auction_id(int64_t id, Random& random) const;
  void append_string(Random& random, int max_length, char special, std::string& out) const;
  std::string_view next_extra(Random& random, int current_size, int average_size) const;
  void append_person(int64_t id, int64_t time_ms, RecordBatchBuilder& b) const;
  void append_auction(int64_t number, int64_t id, int64_t time_ms, RecordBatchBuilder& b) const;
  void append_bid(int64_t id, int64_t time_ms, RecordBatchBuilder& b) const;

  GeneratorConfig config_;
  double inter_event_delay_us_;
  std::string reusable_extra_;             ///< 1 MiB of letters that `extra` fields are cut from
  std::vector<std::string> hot_urls_;      ///< the four hot channels' urls
  std::vector<std::string> channel_urls_;  ///< the url of "channel-<i>", i < 10000
};

}  // namespace sluice::nexmark
