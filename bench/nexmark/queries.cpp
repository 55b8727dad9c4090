#include "bench/nexmark/queries.hpp"

#include "bench/nexmark/nexmark_source.hpp"
#include "sql/sql_context.hpp"

namespace sluice::nexmark {

namespace {

constexpr const char* kWatermarkDelay = "4 seconds";

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
      .description = "local item suggestion: auctions of category 10 by sellers in OR, ID, CA",
      .pending = "needs a stream-stream join (auction JOIN person ON seller = id)",
      .inputs = {EventKind::auction, EventKind::person},
      .duckdb_sql =
          "SELECT P.name, P.city, P.state, A.id FROM auction A JOIN person P ON A.seller = P.id "
          "WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA')",
  });
  all.push_back(Query{
      .name = "q4",
      .description = "average winning price per category",
      .pending = "needs a stream-stream join and an aggregation after an aggregation",
      .mode = OutputMode::Update,
      .inputs = {EventKind::auction, EventKind::bid},
      .duckdb_sql = "SELECT category, CAST(round(avg(final) * 1000) AS BIGINT) FROM ("
                    " SELECT max(B.price) AS final, A.category FROM auction A, bid B"
                    " WHERE A.id = B.auction AND B.date_time BETWEEN A.date_time AND A.expires"
                    " GROUP BY A.id, A.category) GROUP BY category",
  });
  all.push_back(Query{
      .name = "q5",
      .description = "hot items: auctions with the most bids per 10 s window sliding by 2 s",
      .pending = "needs an aggregation after an aggregation (max of per-auction counts) and a join",
      .inputs = {EventKind::bid},
      .duckdb_sql =
          "WITH counts AS (SELECT auction, (epoch_ms(date_time) // 2000 - k) * 2000 AS start,"
          " count(*) AS num FROM bid, range(5) AS r(k) GROUP BY 1, 2)"
          " SELECT C.auction, C.num FROM counts C JOIN (SELECT start, max(num) AS maxn FROM counts"
          " GROUP BY start) M ON C.start = M.start AND C.num >= M.maxn",
  });
  all.push_back(Query{
      .name = "q6",
      .description = "average selling price per seller over its last 10 closed auctions",
      .pending = "needs a stream-stream join and custom state (the last 10 prices per seller)",
      .mode = OutputMode::Update,
      .inputs = {EventKind::auction, EventKind::bid},
      .duckdb_sql =
          "SELECT seller, CAST(round(avg(price) OVER (PARTITION BY seller ORDER BY date_time"
          " ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) * 1000) AS BIGINT) FROM ("
          " SELECT A.id, A.seller, B.price, B.date_time, row_number() OVER"
          " (PARTITION BY A.id, A.seller ORDER BY B.price DESC) AS rownum"
          " FROM auction A, bid B WHERE A.id = B.auction"
          " AND B.date_time BETWEEN A.date_time AND A.expires) WHERE rownum <= 1",
  });
  all.push_back(Query{
      .name = "q7",
      .description = "highest bid per 10 s tumbling window",
      .pending =
          "needs a join of the bids with their window's maximum (an aggregation joined back)",
      .inputs = {EventKind::bid},
      .duckdb_sql =
          "SELECT B.auction, B.price, B.bidder, epoch_us(B.date_time), B.extra FROM bid B JOIN ("
          " SELECT max(price) AS maxprice, time_bucket(INTERVAL 10 SECOND, date_time) + INTERVAL "
          "10 SECOND"
          " AS window_end FROM bid GROUP BY 2) B1 ON B.price = B1.maxprice"
          " WHERE B.date_time BETWEEN B1.window_end - INTERVAL 10 SECOND AND B1.window_end",
  });
  all.push_back(Query{
      .name = "q8",
      .description =
          "new users: persons who opened an auction in the 10 s window they registered in",
      .pending = "needs a stream-stream join of two windowed aggregations",
      .inputs = {EventKind::person, EventKind::auction},
      .duckdb_sql =
          "SELECT P.id, P.name, epoch_us(P.starttime) FROM ("
          " SELECT id, name, time_bucket(INTERVAL 10 SECOND, date_time) AS starttime FROM person"
          " GROUP BY id, name, starttime) P JOIN ("
          " SELECT seller, time_bucket(INTERVAL 10 SECOND, date_time) AS starttime FROM auction"
          " GROUP BY seller, starttime) A ON P.id = A.seller AND P.starttime = A.starttime",
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
                     bool processing_time, std::shared_ptr<NexmarkSource>* bid_source) {
  auto read = [&](const char* kind, bool with_processing_time) {
    options["stream"] = kind;
    options["processingTimeColumn"] = with_processing_time ? "true" : "false";
    DataFrame frame =
        read_nexmark(session, options, std::string_view(kind) == "bid" ? bid_source : nullptr);
    return with_processing_time ? frame.with_watermark("p_time", "0 seconds")
                                : frame.with_watermark("date_time", kWatermarkDelay);
  };
  return Streams{read("person", false), read("auction", false), read("bid", processing_time)};
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
  SqlContext context(session);
  SLUICE_RETURN_NOT_OK(context.register_view("person", streams.person));
  SLUICE_RETURN_NOT_OK(context.register_view("auction", streams.auction));
  SLUICE_RETURN_NOT_OK(context.register_view("bid", streams.bid));
  return context.sql(query.sql);
}

}  // namespace sluice::nexmark
