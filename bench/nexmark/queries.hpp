#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/nexmark/generator.hpp"
#include "plan/dataframe.hpp"

namespace sluice::nexmark {

class NexmarkSource;

/// The three streams of one generator configuration, each with the Flink suite's watermark
/// (`date_time - 4 s`; on `p_time` when the bid stream carries it, for q12), and the auction
/// stream once more with its watermark on `expires - 4 s` (SQL view `auction_by_expiry`): the
/// event time of a closed auction, which q4 and q6 aggregate by.
struct Streams {
  DataFrame person;
  DataFrame auction;
  DataFrame bid;
  DataFrame auction_by_expiry;
};

/// Reads the three streams with the same options (see SourceOptions::parse; `stream` is set
/// per stream). With `processing_time`, the bid stream gets `p_time` and its watermark.
/// `sources`, when given, receives the sources of person, auction and bid, by kind.
Streams read_streams(SessionContext& session, std::map<std::string, std::string> options,
                     bool processing_time = false,
                     std::map<EventKind, std::shared_ptr<NexmarkSource>>* sources = nullptr);

/// One Nexmark query: its Sluice forms (DataFrame and SQL over views `person`, `auction`,
/// `bid`, `auction_by_expiry`) and an independent DuckDB form over tables of the same names, whose columns come in
/// the same order, timestamps as epoch microseconds and doubles as round(x * 1000) BIGINTs.
struct Query {
  std::string name;         ///< "q0"
  std::string description;  ///< what it computes
  /// Non-empty when Sluice cannot run the query yet: names what the engine lacks. The query
  /// then has only its DuckDB form (no simplified variant stands in for it).
  std::string pending;
  OutputMode mode = OutputMode::Append;
  /// In update mode: how many leading columns form the key whose last row is the result.
  int key_columns = 0;
  bool processing_time = false;  ///< reads `p_time` (q12)
  std::vector<EventKind> inputs;
  std::function<DataFrame(const Streams&)> dataframe;
  std::string sql;  ///< empty when SQL cannot express the query (the description says why)
  /// The output mode of the SQL form, when it is not `mode` (q6's OVER emits every win once,
  /// in append mode; the last row of each key is still the result).
  std::optional<OutputMode> sql_mode;
  /// Over the same events, only what the stream has closed by its final watermark.
  std::string duckdb_sql;
  /// The DuckDB form of what the SQL form emits by the final watermark, when that is less than
  /// duckdb_sql (q6: a win is final for the OVER only once the watermark passes its time by the
  /// minute a later-closing auction's winning bid may precede it).
  std::string sql_duckdb_sql;
};

/// Returns q0-q8, q11, q12 and q17 in order.
const std::vector<Query>& queries();
/// Returns the query of that name; fails listing the known names.
Result<const Query*> find_query(std::string_view name);

/// Translates the query's SQL with its streams registered as the views person, auction, bid.
Result<DataFrame> sql_frame(SessionContext& session, const Query& query, const Streams& streams);

}  // namespace sluice::nexmark
