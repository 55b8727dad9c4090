#include "bench/nexmark/queries.hpp"

#include <cstring>
#include <limits>

#include "bench/nexmark/nexmark_source.hpp"
#include "plan/keyed_groups.hpp"
#include "sql/sql_context.hpp"

namespace sluice::nexmark {

namespace {

constexpr const char* kWatermarkDelay = "4 seconds";

// The final watermark of a run over the bid stream, for the DuckDB forms of windowed queries:
// a stream emits only what the watermark has closed.
constexpr const char* kBidWatermark = "(SELECT max(date_time) - INTERVAL 4 SECOND FROM bid)";

// The generator's auctions last at most two horizons of numInFlightAuctions auctions' events
// (1 667 events at the default proportions): under a minute of event time at any
// firstEventRate of 56 events/s or more. The bound is implied by the data, and lets the
// watermark evict a bid buffered before its auction.
constexpr const char* kMaxAuctionLength = "1 minute";

// The bids of each auction placed while it was open (Flink's `B.dateTime BETWEEN A.dateTime
// AND A.expires`), with the auction's id, category, seller, opening time and expiry; event
// time `expires`, the later of the two sides', so the aggregations above may close auctions.
DataFrame bids_of_open_auctions(const Streams& s) {
  const DataFrame auctions = s.auction_by_expiry.select(
      col("id").alias("auction"), col("category"), col("seller"), col("date_time").alias("opened"),
      col("expires"));
  const DataFrame bids = s.bid.select(col("auction"), col("price"), col("date_time"));
  return auctions.join(bids, {"auction"}, "inner",
                       col("date_time") >= col("opened") && col("date_time") <= col("expires") &&
                           col("date_time") >= col("expires") - interval(kMaxAuctionLength));
}

// The SQL of bids_of_open_auctions, as a FROM item.
constexpr const char* kBidsOfOpenAuctionsSql =
    "(SELECT id AS auction, category, seller, date_time AS opened, expires FROM auction_by_expiry) A"
    " JOIN (SELECT auction, price, date_time FROM bid) B USING (auction)"
    " WHERE date_time >= opened AND date_time <= expires"
    " AND date_time >= expires - INTERVAL '1' MINUTE";

// The final watermark of a run over auctions (by expiry) and bids, for the DuckDB forms of
// q4 and q6: an auction is closed once the watermark passes its expiry.
constexpr const char* kAuctionWatermark =
    "least((SELECT max(expires) FROM auction), (SELECT max(date_time) FROM bid))"
    " - INTERVAL 4 SECOND";

// Ranks an auction's bids for its winner: the highest price, then the earliest bid; packed in
// one BIGINT (price · 2^32 + 2^32 - 1 - µs since the auction opened) so that max() finds it.
// Prices stay below 2^31 and bids within kMaxAuctionLength (< 2^32 µs) of the opening.
constexpr int64_t kRankShift = int64_t{1} << 32;
Expr winning_rank(const Expr& price, const Expr& bid_time, const Expr& opened) {
  return udf("winning_rank", [](int64_t p, Timestamp bid, Timestamp open) -> int64_t {
    return p * kRankShift + (kRankShift - 1 - (bid.micros - open.micros));
  })(price, bid_time, opened);
}

// Returns the price winning_rank packed.
Expr winning_price(const Expr& rank) {
  return udf("winning_price", [](int64_t r) -> int64_t { return r / kRankShift; })(rank);
}

// Returns the time of the bid winning_rank packed.
Expr winning_time(const Expr& opened, const Expr& rank) {
  return udf("winning_time", [](Timestamp open, int64_t r) -> Timestamp {
    return Timestamp{open.micros + (kRankShift - 1 - r % kRankShift)};
  })(opened, rank);
}

// q6's state: a seller's last winning bids (at most kSellerWindow), oldest first.
constexpr int kSellerWindow = 11;  // Flink's ROWS BETWEEN 10 PRECEDING AND CURRENT ROW
struct SellerWins {
  int32_t count = 0;
  int64_t time[kSellerWindow] = {};
  int64_t auction[kSellerWindow] = {};
  int64_t price[kSellerWindow] = {};
};

// Folds a seller's newly closed auctions (their winning bids) into its last kSellerWindow by
// bid time (then auction id), and emits the seller's average over them.
std::vector<OutputRow> average_of_last_wins(const std::vector<Value>& key,
                                            const RecordBatchPtr& rows,
                                            GroupState<SellerWins>& state) {
  struct Win {
    int64_t time, auction, price;
    auto operator<=>(const Win&) const = default;
  };
  std::vector<Win> wins;
  SellerWins kept = state.get_option().value_or(SellerWins{});
  for (int i = 0; i < kept.count; ++i)
    wins.push_back({kept.time[i], kept.auction[i], kept.price[i]});
  const Schema& schema = *rows->schema();
  const int64_t* times = rows->column(schema.find("win_time"))->values<int64_t>();
  const int64_t* auctions = rows->column(schema.find("auction"))->values<int64_t>();
  const int64_t* prices = rows->column(schema.find("final"))->values<int64_t>();
  for (int64_t r = 0; r < rows->num_rows(); ++r)
    wins.push_back({times[r], auctions[r], prices[r]});
  std::sort(wins.begin(), wins.end());
  if (wins.size() > kSellerWindow) wins.erase(wins.begin(), wins.end() - kSellerWindow);
  kept = SellerWins{};
  double sum = 0;
  for (const Win& win : wins) {
    kept.time[kept.count] = win.time;
    kept.auction[kept.count] = win.auction;
    kept.price[kept.count] = win.price;
    ++kept.count;
    sum += static_cast<double>(win.price);
  }
  state.update(kept);
  return {{key[0], sum / kept.count}};
}

// q6's DuckDB form: each seller's average over its last 11 wins (ordered by the winning bid's
// time, then the auction) as of its latest win, among the auctions closed by the final
// watermark whose winning bid passes `win_condition` too.
std::string q6_duckdb(const std::string& win_condition) {
  return std::string(
             "SELECT seller, CAST(round(avg(price) OVER (PARTITION BY seller ORDER BY"
             " date_time, id ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) * 1000) AS"
             " BIGINT) FROM (SELECT A.id, A.seller, B.price, B.date_time, row_number()"
             " OVER (PARTITION BY A.id, A.seller ORDER BY B.price DESC, B.date_time)"
             " AS rownum FROM auction A, bid B WHERE A.id = B.auction"
             " AND B.date_time BETWEEN A.date_time AND A.expires AND A.expires < ") +
         kAuctionWatermark + ") WHERE rownum <= 1" + win_condition +
         " QUALIFY row_number() OVER (PARTITION BY seller ORDER BY date_time DESC,"
         " id DESC) = 1";
}

// q7's state per 10 s window: the highest price among its own bids and the bids at that
// price, plus the bids at exactly its end (Flink's BETWEEN matches them too) at a price no
// lower. A few rows per window, where a join would buffer every bid until its window closes.
struct BidRow {
  int64_t auction = 0, price = 0, bidder = 0, date_time = 0;
  std::string extra;
};
struct WindowMaximum {
  int64_t max_price = std::numeric_limits<int64_t>::min();
  std::vector<BidRow> top;
  std::vector<BidRow> boundary;
};

}  // namespace
}  // namespace sluice::nexmark

template <>
struct sluice::StateCodec<sluice::nexmark::WindowMaximum> {
  static void encode(const sluice::nexmark::WindowMaximum& state, std::string& out) {
    auto put = [&out](int64_t value) { out.append(reinterpret_cast<const char*>(&value), sizeof value); };
    put(state.max_price);
    for (const auto* rows : {&state.top, &state.boundary}) {
      put(static_cast<int64_t>(rows->size()));
      for (const auto& row : *rows) {
        put(row.auction), put(row.price), put(row.bidder), put(row.date_time);
        put(static_cast<int64_t>(row.extra.size()));
        out.append(row.extra);
      }
    }
  }
  static bool decode(std::string_view in, sluice::nexmark::WindowMaximum& state) {
    auto get = [&in](int64_t& value) {
      if (in.size() < sizeof value) return false;
      std::memcpy(&value, in.data(), sizeof value);
      in.remove_prefix(sizeof value);
      return true;
    };
    if (!get(state.max_price)) return false;
    for (auto* rows : {&state.top, &state.boundary}) {
      int64_t count = 0;
      if (!get(count) || count < 0) return false;
      rows->assign(static_cast<size_t>(count), {});
      for (auto& row : *rows) {
        int64_t length = 0;
        if (!get(row.auction) || !get(row.price) || !get(row.bidder) || !get(row.date_time) ||
            !get(length) || length < 0 || static_cast<size_t>(length) > in.size()) {
          return false;
        }
        row.extra.assign(in.substr(0, static_cast<size_t>(length)));
        in.remove_prefix(static_cast<size_t>(length));
      }
    }
    return in.empty();
  }
};

namespace sluice::nexmark {
namespace {

constexpr int64_t kTenSeconds = 10'000'000;

// Keeps a window's highest bids (key: the window's end); once the watermark reaches the end,
// emits them and the bids at the end with the same price.
std::vector<OutputRow> highest_bids(const std::vector<Value>& key, const RecordBatchPtr& rows,
                                    GroupState<WindowMaximum>& state) {
  std::vector<OutputRow> out;
  WindowMaximum window = state.get_option().value_or(WindowMaximum{});
  if (state.has_timed_out()) {
    auto emit = [&out](const BidRow& bid) {
      out.push_back({bid.auction, bid.price, bid.bidder, Value(Timestamp{bid.date_time}), bid.extra});
    };
    for (const BidRow& bid : window.top) emit(bid);
    for (const BidRow& bid : window.boundary) {
      if (bid.price == window.max_price) emit(bid);
    }
    state.remove();
    return out;
  }
  const int64_t end = key[0].as_timestamp().micros;
  const Schema& schema = *rows->schema();
  const Column& auction = *rows->column(schema.find("auction"));
  const Column& price = *rows->column(schema.find("price"));
  const Column& bidder = *rows->column(schema.find("bidder"));
  const Column& date_time = *rows->column(schema.find("date_time"));
  const Column& extra = *rows->column(schema.find("extra"));
  for (int64_t r = 0; r < rows->num_rows(); ++r) {
    const int64_t p = price.values<int64_t>()[r];
    const int64_t t = date_time.values<int64_t>()[r];
    auto row = [&] {
      return BidRow{auction.values<int64_t>()[r], p, bidder.values<int64_t>()[r], t,
                    std::string(extra.string_at(r))};
    };
    if (t == end) {
      if (p >= window.max_price) window.boundary.push_back(row());
    } else if (p > window.max_price) {
      window.max_price = p;
      window.top.assign(1, row());
      std::erase_if(window.boundary, [p](const BidRow& bid) { return bid.price < p; });
    } else if (p == window.max_price) {
      window.top.push_back(row());
    }
  }
  state.update(window);
  // Due once the watermark reaches the end, as a window aggregation closes its windows.
  state.set_timeout_timestamp(std::max(end - 1, state.current_watermark()));
  return out;
}

// Returns the end of the 10 s window holding an event time.
Expr window_end_of(const Expr& time) {
  return udf("window_end_of", [](Timestamp t) -> Timestamp {
    return Timestamp{t.micros - t.micros % kTenSeconds + kTenSeconds};
  })(time);
}

// Returns the start of the 10 s window holding an event time: the end of the window before.
Expr window_start_of(const Expr& time) {
  return udf("window_start_of", [](Timestamp t) -> Timestamp {
    return Timestamp{t.micros - t.micros % kTenSeconds};
  })(time);
}

// True for an event time at a window boundary (a multiple of 10 s).
Expr on_window_boundary(const Expr& time) {
  return udf("on_window_boundary", [](Timestamp t) -> bool { return t.micros % kTenSeconds == 0; })(time);
}

// q5 keeps nothing between calls: all counts of a window close in one epoch (the watermark
// passes its end in every partition at once), so one call sees the whole window.
struct NoState {
  int64_t unused = 0;
};

// Emits the rows of one window's per-auction counts whose count is the window's maximum.
std::vector<OutputRow> hottest_auctions(const std::vector<Value>& /*key*/,
                                        const RecordBatchPtr& rows, GroupState<NoState>& /*state*/) {
  std::vector<OutputRow> out;
  const int auction = rows->schema()->find("auction");
  const int num = rows->schema()->find("num");
  const int start = rows->schema()->find("starttime");
  const int64_t* counts = rows->column(num)->values<int64_t>();
  const int64_t most = *std::max_element(counts, counts + rows->num_rows());
  for (int64_t r = 0; r < rows->num_rows(); ++r) {
    if (counts[r] < most) continue;
    out.push_back({rows->column(auction)->values<int64_t>()[r], counts[r],
                   Value(Timestamp{rows->column(start)->values<int64_t>()[r]})});
  }
  return out;
}

std::vector<Query> make_queries() {
  std::vector<Query> all;
  all.push_back(Query{
      .name = "q0",
      .description = "pass-through of every bid",
      .inputs = {EventKind::bid},
      .dataframe =
          [](const Streams& s) {
            return s.bid.select(col("auction"), col("bidder"), col("price"), col("date_time"),
                                col("extra"));
          },
      .sql = "SELECT auction, bidder, price, date_time, extra FROM bid",
      .duckdb_sql = "SELECT auction, bidder, price, epoch_us(date_time), extra FROM bid",
  });
  all.push_back(Query{
      .name = "q1",
      .description = "currency conversion: price * 0.908 (dollars to euros)",
      .inputs = {EventKind::bid},
      .dataframe =
          [](const Streams& s) {
            return s.bid.select(col("auction"), col("bidder"),
                                (col("price") * 0.908).alias("price"), col("date_time"),
                                col("extra"));
          },
      .sql = "SELECT auction, bidder, 0.908 * price AS price, date_time, extra FROM bid",
      .duckdb_sql = "SELECT auction, bidder, CAST(round(0.908 * price * 1000) AS BIGINT), "
                    "epoch_us(date_time), "
                    "extra FROM bid",
  });
  all.push_back(Query{
      .name = "q2",
      .description = "selection: bids on auctions with auction % 123 = 0",
      .inputs = {EventKind::bid},
      .dataframe =
          [](const Streams& s) {
            return s.bid.filter(col("auction") % 123 == 0).select(col("auction"), col("price"));
          },
      .sql = "SELECT auction, price FROM bid WHERE auction % 123 = 0",
      .duckdb_sql = "SELECT auction, price FROM bid WHERE auction % 123 = 0",
  });
  all.push_back(Query{
      .name = "q3",
      .description = "local item suggestion: auctions of category 10 by sellers in OR, ID, CA "
                     "(an inner join without a time bound, as Flink's: both sides stay in state)",
      .inputs = {EventKind::auction, EventKind::person},
      .dataframe =
          [](const Streams& s) {
            const DataFrame auctions =
                s.auction.filter(col("category") == 10).select(col("id"), col("seller"));
            const DataFrame sellers =
                s.person.filter(col("state").isin({Value("OR"), Value("ID"), Value("CA")}))
                    .select(col("id").alias("seller"), col("name"), col("city"), col("state"));
            return auctions.join(sellers, {"seller"})
                .select(col("name"), col("city"), col("state"), col("id"));
          },
      .sql = "SELECT name, city, state, id FROM"
             " (SELECT id, seller FROM auction WHERE category = 10) A"
             " JOIN (SELECT id AS seller, name, city, state FROM person"
             " WHERE state IN ('OR', 'ID', 'CA')) P USING (seller)",
      .duckdb_sql =
          "SELECT P.name, P.city, P.state, A.id FROM auction A JOIN person P ON A.seller = P.id "
          "WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA')",
  });
  all.push_back(Query{
      .name = "q4",
      .description = "average winning price per category: the highest bid placed while each "
                     "auction was open, final once the watermark passes its expiry, averaged "
                     "per category (updated as auctions close)",
      .mode = OutputMode::Update,
      .key_columns = 1,
      .inputs = {EventKind::auction, EventKind::bid},
      .dataframe =
          [](const Streams& s) {
            return bids_of_open_auctions(s)
                .group_by(col("auction"), col("category"), col("expires"))
                .agg(max(col("price")).alias("final"))
                .group_by(col("category"))
                .agg(avg(col("final")).alias("average"));
          },
      .sql = std::string("SELECT category, avg(final) AS average FROM"
                         " (SELECT auction, category, expires, max(price) AS final FROM ") +
             kBidsOfOpenAuctionsSql + " GROUP BY auction, category, expires) Q GROUP BY category",
      .duckdb_sql = std::string("SELECT category, CAST(round(avg(final) * 1000) AS BIGINT) FROM ("
                                " SELECT max(B.price) AS final, A.category FROM auction A, bid B"
                                " WHERE A.id = B.auction AND B.date_time BETWEEN A.date_time AND "
                                "A.expires AND A.expires < ") +
                    kAuctionWatermark + " GROUP BY A.id, A.category) GROUP BY category",
  });
  all.push_back(Query{
      .name = "q5",
      .description =
          "hot items: per 10 s window sliding by 2 s, the auctions with the most bids, with the "
          "window's start (which Flink's text leaves out). The SQL form is Flink's: the counts "
          "joined with their window's maximum (three chained stateful operators, the join two "
          "epochs behind in watermark); the DataFrame form takes each window's closed counts in "
          "one custom-state call",
      .inputs = {EventKind::bid},
      .dataframe =
          [](const Streams& s) {
            const DataFrame counts =
                s.bid.group_by(window(col("date_time"), "10 seconds", "2 seconds"), col("auction"))
                    .agg(count().alias("num"))
                    .select(col("auction"), col("num"), col("window.start").alias("starttime"));
            const SchemaPtr output = Schema::make({{"auction", Type::Int64},
                                                   {"num", Type::Int64},
                                                   {"starttime", Type::Timestamp}})
                                         .value();
            return counts.group_by_key({"starttime"})
                .flat_map_groups_with_state<NoState>(hottest_auctions, output, OutputMode::Append);
          },
      .sql = "WITH counts AS (SELECT auction, count(*) AS num, window_start AS starttime,"
             " window_end AS endtime"
             " FROM HOP(bid, DESCRIPTOR(date_time), INTERVAL '2' SECOND, INTERVAL '10' SECOND)"
             " GROUP BY auction, window_start, window_end)"
             " SELECT auction, num, starttime FROM counts"
             " JOIN (SELECT max(num) AS maxn, starttime, endtime FROM counts"
             " GROUP BY starttime, endtime) M USING (starttime, endtime)"
             " WHERE num >= maxn",
      .duckdb_sql =
          std::string("WITH counts AS (SELECT auction, (epoch_ms(date_time) // 2000 - k) * 2000 AS start,"
          " count(*) AS num FROM bid, range(5) AS r(k) GROUP BY 1, 2)"
          " SELECT C.auction, C.num, C.start * 1000 FROM counts C JOIN (SELECT start, max(num) AS maxn"
          " FROM counts GROUP BY start) M ON C.start = M.start AND C.num >= M.maxn"
          " WHERE make_timestamp((C.start + 10000) * 1000) <= ") + kBidWatermark,
  });
  all.push_back(Query{
      .name = "q6",
      .description =
          "average selling price per seller over its last 11 winning bids (Flink's ROWS "
          "BETWEEN 10 PRECEDING AND CURRENT ROW, ordered by the winning bid's time, then the "
          "auction; the winner is the highest bid, the earliest of equal ones). The SQL form is "
          "RisingWave's text: an OVER aggregation over the winning bids, emitting every win once "
          "with its seller's average (append mode; a win is final once the watermark, less the "
          "minute a winning bid may precede its auction's expiry, passes it); the DataFrame form "
          "keeps each seller's last 11 wins as custom state and updates its average (update mode)",
      .mode = OutputMode::Update,
      .key_columns = 1,
      .inputs = {EventKind::auction, EventKind::bid},
      .dataframe =
          [](const Streams& s) {
            const Expr rank = col("rank");
            const DataFrame wins =
                bids_of_open_auctions(s)
                    .with_column("rank", winning_rank(col("price"), col("date_time"), col("opened")))
                    .group_by(col("auction"), col("seller"), col("expires"), col("opened"))
                    .agg(max(rank).alias("rank"))
                    .select(col("auction"), col("seller"),
                            winning_price(rank).alias("final"),
                            winning_time(col("opened"), rank).alias("win_time"));
            const SchemaPtr output =
                Schema::make({{"seller", Type::Int64}, {"average", Type::Double}}).value();
            return wins.group_by_key({"seller"}).flat_map_groups_with_state<SellerWins>(
                average_of_last_wins, output, OutputMode::Update);
          },
      // The winner packed in one BIGINT as winning_rank does (price · 2^32 + 2^32 - 1 - µs
      // since the opening), so that max() finds it (`/` divides as DOUBLE, exact for a
      // multiple of 2^32 below 2^63); the filter states what the join's
      // condition implies (a bid at most a minute before the expiry), which lets the OVER
      // order by the winning bid's time rather than the expiry the watermark follows.
      .sql =
          std::string(
              "SELECT seller, avg(final) OVER (PARTITION BY seller ORDER BY win_time, auction"
              " ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS average FROM"
              " (SELECT auction, seller, expires, CAST((rank - rank % 4294967296) / 4294967296 AS "
              "BIGINT) AS final,"
              " timestamp_micros(unix_micros(opened) + 4294967295 - rank % 4294967296) AS win_time"
              " FROM (SELECT auction, seller, expires, opened, max(price * 4294967296 + 4294967295"
              " - (unix_micros(date_time) - unix_micros(opened))) AS rank FROM ") +
          kBidsOfOpenAuctionsSql +
          " GROUP BY auction, seller, expires, opened) R) W"
          " WHERE win_time >= expires - INTERVAL '1' MINUTE",
      .sql_mode = OutputMode::Append,
      .duckdb_sql = q6_duckdb(""),
      .sql_duckdb_sql =
          q6_duckdb(std::string(" AND date_time < ") + kAuctionWatermark + " - INTERVAL 1 MINUTE"),
  });
  all.push_back(Query{
      .name = "q7",
      .description = "highest bid per 10 s tumbling window: the bids whose price is the maximum of "
                     "the window ending within 10 s after them (Flink's BETWEEN, both ends). The "
                     "SQL form joins the bids with each window's maximum (buffering every bid); "
                     "the DataFrame form keeps per window only its bids at the running maximum "
                     "(custom state), and the bids at the window's end",
      .inputs = {EventKind::bid},
      .dataframe =
          [](const Streams& s) {
            const DataFrame bids =
                s.bid.select(col("auction"), col("price"), col("bidder"), col("date_time"), col("extra"));
            const DataFrame own = bids.with_column("window_end", window_end_of(col("date_time")));
            const DataFrame at_end = bids.filter(on_window_boundary(col("date_time")))
                                         .with_column("window_end", window_start_of(col("date_time")));
            const SchemaPtr output = Schema::make({{"auction", Type::Int64},
                                                   {"price", Type::Int64},
                                                   {"bidder", Type::Int64},
                                                   {"date_time", Type::Timestamp},
                                                   {"extra", Type::String}})
                                         .value();
            return own.union_all(at_end).group_by_key({"window_end"}).flat_map_groups_with_state<WindowMaximum>(
                highest_bids, output, OutputMode::Append, GroupStateTimeout::event_time);
          },
      .sql = "SELECT auction, price, bidder, date_time, extra FROM"
             " (SELECT auction, price, bidder, date_time, extra FROM bid) B"
             " JOIN (SELECT max(price) AS price, window_end"
             " FROM TUMBLE(bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND)"
             " GROUP BY window_start, window_end) M USING (price)"
             " WHERE date_time BETWEEN window_end - INTERVAL '10' SECOND AND window_end",
      .duckdb_sql =
          "SELECT B.auction, B.price, B.bidder, epoch_us(B.date_time), B.extra FROM bid B JOIN ("
          " SELECT max(price) AS maxprice, time_bucket(INTERVAL 10 SECOND, date_time) + INTERVAL "
          "10 SECOND"
          " AS window_end FROM bid GROUP BY 2) B1 ON B.price = B1.maxprice"
          " WHERE B.date_time BETWEEN B1.window_end - INTERVAL 10 SECOND AND B1.window_end"
          " AND B1.window_end <= " + std::string(kBidWatermark),
  });
  all.push_back(Query{
      .name = "q8",
      .description =
          "new users: persons who opened an auction in the 10 s window they registered in",
      .inputs = {EventKind::person, EventKind::auction},
      .dataframe =
          [](const Streams& s) {
            const DataFrame persons =
                s.person.group_by(col("id"), col("name"), window(col("date_time"), "10 seconds"))
                    .agg(count().alias("registrations"))
                    .select(col("id"), col("name"), col("window.start").alias("starttime"),
                            col("window.end").alias("endtime"));
            const DataFrame sellers =
                s.auction.group_by(col("seller"), window(col("date_time"), "10 seconds"))
                    .agg(count().alias("auctions"))
                    .select(col("seller").alias("id"), col("window.start").alias("starttime"),
                            col("window.end").alias("endtime"));
            return persons.join(sellers, {"id", "starttime", "endtime"})
                .select(col("id"), col("name"), col("starttime"));
          },
      .sql = "SELECT id, name, starttime FROM"
             " (SELECT id, name, window_start AS starttime, window_end AS endtime"
             " FROM TUMBLE(person, DESCRIPTOR(date_time), INTERVAL '10' SECOND)"
             " GROUP BY id, name, window_start, window_end) P"
             " JOIN (SELECT seller AS id, window_start AS starttime, window_end AS endtime"
             " FROM TUMBLE(auction, DESCRIPTOR(date_time), INTERVAL '10' SECOND)"
             " GROUP BY seller, window_start, window_end) A USING (id, starttime, endtime)",
      .duckdb_sql =
          "SELECT P.id, P.name, epoch_us(P.starttime) FROM ("
          " SELECT id, name, time_bucket(INTERVAL 10 SECOND, date_time) AS starttime FROM person"
          " GROUP BY id, name, starttime) P JOIN ("
          " SELECT seller, time_bucket(INTERVAL 10 SECOND, date_time) AS starttime FROM auction"
          " GROUP BY seller, starttime) A ON P.id = A.seller AND P.starttime = A.starttime"
          " WHERE P.starttime + INTERVAL 14 SECOND <= least((SELECT max(date_time) FROM person),"
          " (SELECT max(date_time) FROM auction))",
  });
  all.push_back(Query{
      .name = "q11",
      .description = "user sessions: bids per bidder per session (10 s gap)",
      .inputs = {EventKind::bid},
      .dataframe =
          [](const Streams& s) {
            return s.bid.group_by(col("bidder"), session_window(col("date_time"), "10 seconds"))
                .agg(count().alias("bid_count"))
                .select(col("bidder"), col("bid_count"),
                        col("session_window.start").alias("starttime"),
                        col("session_window.end").alias("endtime"));
          },
      .sql =
          "SELECT bidder, count(*) AS bid_count, window_start AS starttime, window_end AS endtime"
          " FROM SESSION(bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND)"
          " GROUP BY bidder, window_start, window_end",
      // A session starts where the previous bid of the bidder is 10 s or more before.
      .duckdb_sql =
          "WITH marked AS (SELECT bidder, date_time, CASE WHEN lag(date_time) OVER"
          " (PARTITION BY bidder ORDER BY date_time) > date_time - INTERVAL 10 SECOND THEN 0"
          " ELSE 1 END AS opens FROM bid),"
          " numbered AS (SELECT bidder, date_time, sum(opens) OVER (PARTITION BY bidder ORDER BY"
          " date_time ROWS UNBOUNDED PRECEDING) AS session FROM marked)"
          " SELECT bidder, count(*), epoch_us(min(date_time)),"
          " epoch_us(max(date_time) + INTERVAL 10 SECOND) FROM numbered GROUP BY bidder, session",
  });
  all.push_back(Query{
      .name = "q12",
      .description = "bids per bidder per 10 s processing-time window",
      .processing_time = true,
      .inputs = {EventKind::bid},
      .dataframe =
          [](const Streams& s) {
            return s.bid.group_by(col("bidder"), window(col("p_time"), "10 seconds"))
                .agg(count().alias("bid_count"))
                .select(col("bidder"), col("bid_count"), col("window.start").alias("starttime"),
                        col("window.end").alias("endtime"));
          },
      .sql =
          "SELECT bidder, count(*) AS bid_count, window_start AS starttime, window_end AS endtime"
          " FROM TUMBLE(bid, DESCRIPTOR(p_time), INTERVAL '10' SECOND)"
          " GROUP BY bidder, window_start, window_end",
      .duckdb_sql = "SELECT bidder, count(*), epoch_us(time_bucket(INTERVAL 10 SECOND, p_time)),"
                    " epoch_us(time_bucket(INTERVAL 10 SECOND, p_time) + INTERVAL 10 SECOND)"
                    " FROM bid GROUP BY 1, 3, 4",
  });
  all.push_back(Query{
      .name = "q17",
      .description =
          "per auction and day: bids by price range, min, max, avg and sum of the prices "
          "(the day as a TIMESTAMP at midnight where Flink formats 'yyyy-MM-dd'; avg as DOUBLE)",
      .mode = OutputMode::Update,
      .key_columns = 2,
      .inputs = {EventKind::bid},
      .dataframe =
          [](const Streams& s) {
            const Expr price = col("price");
            return s.bid.group_by(col("auction"), date_trunc("day", col("date_time")).alias("day"))
                .agg(count().alias("total_bids"),
                     count(when(price < 10'000, lit(1))).alias("rank1_bids"),
                     count(when(price >= 10'000 && price < 1'000'000, lit(1))).alias("rank2_bids"),
                     count(when(price >= 1'000'000, lit(1))).alias("rank3_bids"),
                     min(price).alias("min_price"), max(price).alias("max_price"),
                     avg(price).alias("avg_price"), sum(price).alias("sum_price"));
          },
      .sql = "SELECT auction, date_trunc('day', date_time) AS day, count(*) AS total_bids,"
             " count(CASE WHEN price < 10000 THEN 1 END) AS rank1_bids,"
             " count(CASE WHEN price >= 10000 AND price < 1000000 THEN 1 END) AS rank2_bids,"
             " count(CASE WHEN price >= 1000000 THEN 1 END) AS rank3_bids, min(price) AS min_price,"
             " max(price) AS max_price, avg(price) AS avg_price, sum(price) AS sum_price"
             " FROM bid GROUP BY auction, date_trunc('day', date_time)",
      .duckdb_sql = "SELECT auction, epoch_us(date_trunc('day', date_time)), count(*),"
                    " count(*) FILTER (WHERE price < 10000),"
                    " count(*) FILTER (WHERE price >= 10000 AND price < 1000000),"
                    " count(*) FILTER (WHERE price >= 1000000), min(price), max(price),"
                    " CAST(round(avg(price) * 1000) AS BIGINT), sum(price) FROM bid GROUP BY 1, 2",
  });
  return all;
}

}  // namespace

Streams read_streams(SessionContext& session, std::map<std::string, std::string> options,
                     bool processing_time,
                     std::map<EventKind, std::shared_ptr<NexmarkSource>>* sources) {
  auto read = [&](EventKind kind, bool with_processing_time, const char* event_time) {
    options["stream"] = std::string(event_kind_name(kind));
    options["processingTimeColumn"] = with_processing_time ? "true" : "false";
    std::shared_ptr<NexmarkSource> source;
    DataFrame frame = read_nexmark(session, options, &source);
    if (sources != nullptr && std::string_view(event_time) == "date_time") (*sources)[kind] = source;
    return with_processing_time ? frame.with_watermark("p_time", "0 seconds")
                                : frame.with_watermark(event_time, kWatermarkDelay);
  };
  return Streams{read(EventKind::person, false, "date_time"),
                 read(EventKind::auction, false, "date_time"),
                 read(EventKind::bid, processing_time, "date_time"),
                 read(EventKind::auction, false, "expires")};
}

const std::vector<Query>& queries() {
  static const std::vector<Query> all = make_queries();
  return all;
}

Result<const Query*> find_query(std::string_view name) {
  std::string known;
  for (const Query& query : queries()) {
    if (query.name == name) return &query;
    known += (known.empty() ? "" : ", ") + query.name;
  }
  return Status::not_found("no Nexmark query '" + std::string(name) + "' (known: " + known + ")");
}

Result<DataFrame> sql_frame(SessionContext& session, const Query& query, const Streams& streams) {
  if (!query.pending.empty()) {
    return Status::invalid_argument("Nexmark " + query.name +
                                    " cannot run on Sluice yet: " + query.pending);
  }
  if (query.sql.empty()) {
    return Status::invalid_argument("Nexmark " + query.name +
                                    " has no SQL form: " + query.description);
  }
  SqlContext context(session);
  SLUICE_RETURN_NOT_OK(context.register_view("person", streams.person));
  SLUICE_RETURN_NOT_OK(context.register_view("auction", streams.auction));
  SLUICE_RETURN_NOT_OK(context.register_view("bid", streams.bid));
  SLUICE_RETURN_NOT_OK(context.register_view("auction_by_expiry", streams.auction_by_expiry));
  return context.sql(query.sql);
}

}  // namespace sluice::nexmark
