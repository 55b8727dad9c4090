#include "bench/nexmark/generator.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace sluice::nexmark {

namespace {

constexpr int64_t kFirstPersonId = 1000;
constexpr int64_t kFirstAuctionId = 1000;
constexpr int64_t kFirstCategoryId = 10;
constexpr int kNumCategories = 5;
constexpr int64_t kPersonIdLead = 10;
constexpr int64_t kAuctionIdLead = 10;
// Hot sellers, auctions and bidders are the first (bidders: second) of each block of 100.
constexpr int64_t kHotBlock = 100;
constexpr int kHotChannelsRatio = 2;
constexpr int kNumChannels = 10'000;
constexpr int kMinStringLength = 3;
constexpr int kReusableExtraLength = 1024 * 1024;

constexpr std::array<std::string_view, 6> kStates = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::array<std::string_view, 10> kCities = {
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
    "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
constexpr std::array<std::string_view, 11> kFirstNames = {
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::array<std::string_view, 9> kLastNames = {
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"};
constexpr std::array<std::string_view, 4> kHotChannels = {"Google", "Facebook", "Baidu", "Apple"};

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

// SplitMix64, the generator behind Java's SplittableRandom, seeded per event so that an event
// depends on nothing but (seed, id).
struct Generator::Random {
  uint64_t state;
  Random(uint64_t seed, uint64_t stream) : state(mix64(seed * 0x9E3779B97F4A7C15ULL + stream)) {}
  uint64_t next() {
    state += 0x9E3779B97F4A7C15ULL;
    return mix64(state);
  }
  /// Returns a uniform integer in [0, bound).
  int64_t next_int(int64_t bound) {
    return static_cast<int64_t>(
        (static_cast<unsigned __int128>(next()) * static_cast<uint64_t>(bound)) >> 64);
  }
  double next_double() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  int64_t next_price() { return std::llround(std::pow(10.0, next_double() * 6.0) * 100.0); }
};

Result<EventKind> parse_event_kind(std::string_view text) {
  if (text == "person") return EventKind::person;
  if (text == "auction") return EventKind::auction;
  if (text == "bid") return EventKind::bid;
  return Status::invalid_argument("unknown Nexmark stream '" + std::string(text) +
                                  "' (allowed: person, auction, bid)");
}

std::string_view event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::person:
      return "person";
    case EventKind::auction:
      return "auction";
    case EventKind::bid:
      return "bid";
  }
  return "?";
}

Status GeneratorConfig::validate() const {
  auto bad = [](const std::string& name, int64_t value, const char* rule) {
    return Status::invalid_argument("Nexmark generator option '" + name + "' must be " + rule +
                                    ", got " + std::to_string(value));
  };
  if (first_event_rate < 1) return bad("firstEventRate", first_event_rate, ">= 1");
  if (person_proportion < 1) return bad("personProportion", person_proportion, ">= 1");
  if (auction_proportion < 1) return bad("auctionProportion", auction_proportion, ">= 1");
  if (bid_proportion < 1) return bad("bidProportion", bid_proportion, ">= 1");
  if (num_active_people < 1) return bad("numActivePeople", num_active_people, ">= 1");
  if (num_in_flight_auctions < 1) return bad("numInFlightAuctions", num_in_flight_auctions, ">= 1");
  if (hot_auction_ratio < 1) return bad("hotAuctionRatio", hot_auction_ratio, ">= 1");
  if (hot_sellers_ratio < 1) return bad("hotSellersRatio", hot_sellers_ratio, ">= 1");
  if (hot_bidders_ratio < 1) return bad("hotBiddersRatio", hot_bidders_ratio, ">= 1");
  if (avg_person_byte_size < 0) return bad("avgPersonByteSize", avg_person_byte_size, ">= 0");
  if (avg_auction_byte_size < 0) return bad("avgAuctionByteSize", avg_auction_byte_size, ">= 0");
  if (avg_bid_byte_size < 0) return bad("avgBidByteSize", avg_bid_byte_size, ">= 0");
  if (out_of_order_group_size < 1)
    return bad("outOfOrderGroupSize", out_of_order_group_size, ">= 1");
  return Status::ok();
}

SchemaPtr person_schema() {
  static const SchemaPtr schema = Schema::make({{"id", Type::Int64, false},
                                                {"name", Type::String, false},
                                                {"email_address", Type::String, false},
                                                {"credit_card", Type::String, false},
                                                {"city", Type::String, false},
                                                {"state", Type::String, false},
                                                {"date_time", Type::Timestamp, false},
                                                {"extra", Type::String, false}})
                                      .value();
  return schema;
}

SchemaPtr auction_schema() {
  static const SchemaPtr schema = Schema::make({{"id", Type::Int64, false},
                                                {"item_name", Type::String, false},
                                                {"description", Type::String, false},
                                                {"initial_bid", Type::Int64, false},
                                                {"reserve", Type::Int64, false},
                                                {"date_time", Type::Timestamp, false},
                                                {"expires", Type::Timestamp, false},
                                                {"seller", Type::Int64, false},
                                                {"category", Type::Int64, false},
                                                {"extra", Type::String, false}})
                                      .value();
  return schema;
}

SchemaPtr bid_schema() {
  static const SchemaPtr schema = Schema::make({{"auction", Type::Int64, false},
                                                {"bidder", Type::Int64, false},
                                                {"price", Type::Int64, false},
                                                {"channel", Type::String, false},
                                                {"url", Type::String, false},
                                                {"date_time", Type::Timestamp, false},
                                                {"extra", Type::String, false}})
                                      .value();
  return schema;
}

SchemaPtr schema_of(EventKind kind) {
  switch (kind) {
    case EventKind::person:
      return person_schema();
    case EventKind::auction:
      return auction_schema();
    case EventKind::bid:
      return bid_schema();
  }
  return bid_schema();
}

Result<std::shared_ptr<const Generator>> Generator::make(GeneratorConfig config) {
  SLUICE_RETURN_NOT_OK(config.validate());
  return std::shared_ptr<const Generator>(new Generator(config));
}

Generator::Generator(GeneratorConfig config)
    : config_(config),
      inter_event_delay_us_(1'000'000.0 / static_cast<double>(config.first_event_rate)) {
  // The shared strings come from their own streams of the seed (ids are never negative).
  Random extra_random(config_.seed, ~uint64_t{0});
  reusable_extra_.resize(kReusableExtraLength);
  for (char& c : reusable_extra_)
    c = static_cast<char>('a' + extra_random.next_int(26));
  Random url_random(config_.seed, ~uint64_t{1});
  auto base_url = [&] {
    std::string url = "https://www.nexmark.com/";
    for (int part = 0; part < 3; ++part) {
      append_string(url_random, 5, '_', url);
      url += '/';
    }
    return url + "item.htm?query=1";
  };
  for (size_t i = 0; i < kHotChannels.size(); ++i)
    hot_urls_.push_back(base_url());
  channel_urls_.reserve(kNumChannels);
  for (int i = 0; i < kNumChannels; ++i) {
    std::string url = base_url();
    if (url_random.next_int(10) > 0) {
      // Java's Math.abs(Integer.reverse(i)): the bits of i reversed, as a 32-bit int.
      uint32_t bits = static_cast<uint32_t>(i), reversed = 0;
      for (int b = 0; b < 32; ++b)
        reversed |= ((bits >> b) & 1U) << (31 - b);
      const int32_t value = static_cast<int32_t>(reversed);
      const int64_t shown = value == INT32_MIN ? value : std::abs(static_cast<int64_t>(value));
      url += "&channel_id=" + std::to_string(shown);
    }
    channel_urls_.push_back(std::move(url));
  }
}

int64_t Generator::event_id(int64_t event_number) const {
  const int64_t n = config_.out_of_order_group_size;
  if (n == 1) return event_number;
  return (event_number / n) * n + (event_number * 953) % n;
}

EventKind Generator::kind_of_id(int64_t id) const {
  const int64_t rem = id % config_.total_proportion();
  if (rem < config_.person_proportion) return EventKind::person;
  if (rem < config_.person_proportion + config_.auction_proportion) return EventKind::auction;
  return EventKind::bid;
}

int64_t Generator::timestamp_ms(int64_t adjusted_number) const {
  return config_.base_time_ms +
         static_cast<int64_t>(static_cast<double>(adjusted_number) * inter_event_delay_us_) / 1000;
}

int64_t Generator::last_base0_person_id(int64_t id) const {
  const int64_t epoch = id / config_.total_proportion();
  int64_t offset = id % config_.total_proportion();
  if (offset >= config_.person_proportion) offset = config_.person_proportion - 1;
  return epoch * config_.person_proportion + offset;
}

int64_t Generator::last_base0_auction_id(int64_t id) const {
  int64_t epoch = id / config_.total_proportion();
  int64_t offset = id % config_.total_proportion();
  if (offset < config_.person_proportion) {
    --epoch;  // before this epoch's auctions: the last auction of the previous epoch
    offset = config_.auction_proportion - 1;
  } else if (offset >= config_.person_proportion + config_.auction_proportion) {
    offset = config_.auction_proportion - 1;
  } else {
    offset -= config_.person_proportion;
  }
  return epoch * config_.auction_proportion + offset;
}

int64_t Generator::next_base0_person_id(int64_t id, Random& random) const {
  const int64_t num_people = last_base0_person_id(id) + 1;
  const int64_t active = std::min(num_people, config_.num_active_people);
  return num_people - active + random.next_int(active + kPersonIdLead);
}

int64_t Generator::next_base0_auction_id(int64_t id, Random& random) const {
  const int64_t max_auction = last_base0_auction_id(id);
  const int64_t min_auction = std::max<int64_t>(max_auction - config_.num_in_flight_auctions, 0);
  return min_auction + random.next_int(max_auction - min_auction + 1 + kAuctionIdLead);
}

void Generator::append_string(Random& random, int max_length, char special,
                              std::string& out) const {
  int length = kMinStringLength + static_cast<int>(random.next_int(max_length - kMinStringLength));
  const size_t begin = out.size();
  while (length-- > 0) {
    out += random.next_int(13) == 0 ? special : static_cast<char>('a' + random.next_int(26));
  }
  // Java's String.trim(): only the spaces at either end go.
  size_t first = begin;
  while (first < out.size() && out[first] == ' ')
    ++first;
  size_t last = out.size();
  while (last > first && out[last - 1] == ' ')
    --last;
  out.erase(last);
  out.erase(begin, first - begin);
}

std::string_view Generator::next_extra(Random& random, int current_size, int average_size) const {
  if (current_size > average_size) return {};
  const int wanted = average_size - current_size;
  const int delta = static_cast<int>(std::lround(wanted * 0.2));
  const int size = wanted - delta + (delta == 0 ? 0 : static_cast<int>(random.next_int(2 * delta)));
  const int64_t offset = random.next_int(kReusableExtraLength - size);
  return std::string_view(reusable_extra_)
      .substr(static_cast<size_t>(offset), static_cast<size_t>(size));
}

void Generator::append_person(int64_t id, int64_t time_ms, RecordBatchBuilder& b) const {
  Random random(config_.seed, static_cast<uint64_t>(id));
  std::string name(kFirstNames[random.next_int(kFirstNames.size())]);
  name += ' ';
  name += kLastNames[random.next_int(kLastNames.size())];
  std::string email;
  append_string(random, 7, ' ', email);
  email += '@';
  append_string(random, 5, ' ', email);
  email += ".com";
  char card[20];
  std::snprintf(card, sizeof card, "%04d %04d %04d %04d", static_cast<int>(random.next_int(10000)),
                static_cast<int>(random.next_int(10000)), static_cast<int>(random.next_int(10000)),
                static_cast<int>(random.next_int(10000)));
  const std::string_view city = kCities[random.next_int(kCities.size())];
  const std::string_view state = kStates[random.next_int(kStates.size())];
  const int size =
      8 + static_cast<int>(name.size() + email.size() + 19 + city.size() + state.size());
  b.column(0).append_int64(last_base0_person_id(id) + kFirstPersonId);
  b.column(1).append_string(name);
  b.column(2).append_string(email);
  b.column(3).append_string(std::string_view(card, 19));
  b.column(4).append_string(city);
  b.column(5).append_string(state);
  b.column(6).append_timestamp(time_ms * 1000);
  b.column(7).append_string(next_extra(random, size, config_.avg_person_byte_size));
}

void Generator::append_auction(int64_t number, int64_t id, int64_t time_ms,
                               RecordBatchBuilder& b) const {
  Random random(config_.seed, static_cast<uint64_t>(id));
  int64_t seller;
  if (random.next_int(config_.hot_sellers_ratio) > 0) {
    seller = (last_base0_person_id(id) / kHotBlock) * kHotBlock;
  } else {
    seller = next_base0_person_id(id, random);
  }
  const int64_t category = kFirstCategoryId + random.next_int(kNumCategories);
  const int64_t initial_bid = random.next_price();
  // An auction lasts on average as long as it takes to generate numInFlightAuctions more.
  const int64_t events_for_auctions =
      config_.num_in_flight_auctions * config_.total_proportion() / config_.auction_proportion;
  const int64_t horizon_ms = timestamp_ms(event_id(number) + events_for_auctions) - time_ms;
  const int64_t expires = time_ms + 1 + random.next_int(std::max<int64_t>(horizon_ms * 2, 1));
  std::string item_name, description;
  append_string(random, 20, ' ', item_name);
  append_string(random, 100, ' ', description);
  const int64_t reserve = initial_bid + random.next_price();
  const int size = 8 + static_cast<int>(item_name.size() + description.size()) + 8 + 8 + 8 + 8 + 8;
  b.column(0).append_int64(last_base0_auction_id(id) + kFirstAuctionId);
  b.column(1).append_string(item_name);
  b.column(2).append_string(description);
  b.column(3).append_int64(initial_bid);
  b.column(4).append_int64(reserve);
  b.column(5).append_timestamp(time_ms * 1000);
  b.column(6).append_timestamp(expires * 1000);
  b.column(7).append_int64(seller + kFirstPersonId);
  b.column(8).append_int64(category);
  b.column(9).append_string(next_extra(random, size, config_.avg_auction_byte_size));
}

void Generator::append_bid(int64_t id, int64_t time_ms, RecordBatchBuilder& b) const {
  Random random(config_.seed, static_cast<uint64_t>(id));
  int64_t auction;
  if (random.next_int(config_.hot_auction_ratio) > 0) {
    auction = (last_base0_auction_id(id) / kHotBlock) * kHotBlock;
  } else {
    auction = next_base0_auction_id(id, random);
  }
  int64_t bidder;
  if (random.next_int(config_.hot_bidders_ratio) > 0) {
    // The second person of the block, so that hot bidders and hot sellers differ.
    bidder = (last_base0_person_id(id) / kHotBlock) * kHotBlock + 1;
  } else {
    bidder = next_base0_person_id(id, random);
  }
  const int64_t price = random.next_price();
  std::string channel;
  std::string_view url;
  if (random.next_int(kHotChannelsRatio) > 0) {
    const auto i = static_cast<size_t>(random.next_int(kHotChannels.size()));
    channel = kHotChannels[i];
    url = hot_urls_[i];
  } else {
    const auto i = static_cast<size_t>(random.next_int(kNumChannels));
    channel = "channel-" + std::to_string(i);
    url = channel_urls_[i];
  }
  b.column(0).append_int64(auction + kFirstAuctionId);
  b.column(1).append_int64(bidder + kFirstPersonId);
  b.column(2).append_int64(price);
  b.column(3).append_string(channel);
  b.column(4).append_string(url);
  b.column(5).append_timestamp(time_ms * 1000);
  b.column(6).append_string(next_extra(random, 32, config_.avg_bid_byte_size));
}

int64_t Generator::append_events(EventKind kind, int64_t first, int64_t end, int64_t stride,
                                 RecordBatchBuilder& builder) const {
  int64_t appended = 0;
  for (int64_t number = first; number < end; number += stride) {
    const int64_t id = event_id(number);
    if (kind_of_id(id) != kind) continue;
    const int64_t time_ms = timestamp_ms(id);
    switch (kind) {
      case EventKind::person:
        append_person(id, time_ms, builder);
        break;
      case EventKind::auction:
        append_auction(number, id, time_ms, builder);
        break;
      case EventKind::bid:
        append_bid(id, time_ms, builder);
        break;
    }
    ++appended;
  }
  return appended;
}

RecordBatchPtr Generator::make_batch(EventKind kind, int64_t first, int64_t end,
                                     int64_t stride) const {
  RecordBatchBuilder builder(schema_of(kind));
  append_events(kind, first, end, stride, builder);
  // The builders were filled column by column in step; the lengths always agree.
  return builder.finish().value();
}

std::string Generator::to_json(int64_t event_number) const {
  const EventKind event_kind = kind(event_number);
  const RecordBatchPtr row = make_batch(event_kind, event_number, event_number + 1);
  std::string out = "{\"event_type\":" + std::to_string(static_cast<int>(event_kind));
  const auto& fields = row->schema()->fields();
  for (size_t c = 0; c < fields.size(); ++c) {
    const ColumnPtr& column = row->column(static_cast<int>(c));
    out += ",\"" + fields[c].name + "\":";
    switch (fields[c].type) {
      case Type::Int64:
        out += std::to_string(column->values<int64_t>()[0]);
        break;
      case Type::Timestamp: {
        // "yyyy-MM-dd HH:mm:ss.SSS" in UTC, the form Flink's JSON format writes.
        const int64_t ms = column->values<int64_t>()[0] / 1000;
        const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
        std::tm utc{};
        gmtime_r(&seconds, &utc);
        char text[96];
        std::snprintf(text, sizeof text, "\"%04d-%02d-%02d %02d:%02d:%02d.%03d\"",
                      utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                      utc.tm_sec, static_cast<int>(ms % 1000));
        out += text;
        break;
      }
      default: {
        out += '"';
        // Generated strings hold only letters, digits, spaces and URL punctuation: no escapes.
        out += column->string_at(0);
        out += '"';
      }
    }
  }
  return out + "}";
}

}  // namespace sluice::nexmark
