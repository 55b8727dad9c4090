#pragma once

#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "io/memory_source.hpp"
#include "operators/record_format.hpp"
#include "plan/over_window.hpp"
#include "plan/session_context.hpp"

namespace sluice {

class DataStreamWriter;
class ForeachWriter;
class GroupedData;
class KeyValueGroupedData;

/// A streaming table defined by a plan over sources. Immutable: every operation returns a new
/// DataFrame. An operation that does not analyze (an unknown column, a type error) yields a
/// DataFrame that carries the error: `status()` shows it and `start()` refuses to run it.
class DataFrame {
 public:
  DataFrame(std::shared_ptr<SessionState> session, Result<PlanPtr> plan)
      : session_(std::move(session)), plan_(std::move(plan)) {}

  /// One item of select: an expression, or an aggregate over a window.
  using SelectItem = std::variant<Expr, OverCall>;
  /// Computes the given expressions (or column names) as the new columns.
  DataFrame select(std::vector<Expr> exprs) const;
  /// Computes expressions and aggregates over a window (`avg(col("x")).over(w)`: the row's
  /// columns and the aggregate over its frame; all OVER items of one select share one window).
  DataFrame select(std::vector<SelectItem> items) const;
  template <typename... Args>
  DataFrame select(Args&&... args) const {
    if constexpr ((std::is_same_v<std::decay_t<Args>, OverCall> || ...)) {
      return select(std::vector<SelectItem>{to_item(std::forward<Args>(args))...});
    } else {
      return select(std::vector<Expr>{to_expr(std::forward<Args>(args))...});
    }
  }
  /// Keeps the rows for which condition is true (NULL counts as false).
  DataFrame filter(const Expr& condition) const;
  DataFrame where(const Expr& condition) const { return filter(condition); }
  /// Adds a column, or replaces the column of that name in place.
  DataFrame with_column(const std::string& name, const Expr& expr) const;
  /// Adds (or replaces) a column computed over a window: each row with the aggregate over its
  /// frame (Spark's withColumn(name, avg(...).over(w))). The query runs in append mode, each row
  /// emitted once the watermark passes its event time.
  DataFrame with_column(const std::string& name, const OverCall& call) const;
  /// Renames a column; a missing column is not an error (as in Spark).
  DataFrame with_column_renamed(const std::string& existing, const std::string& renamed) const;
  /// Removes columns; missing names are ignored (as in Spark).
  DataFrame drop(const std::vector<std::string>& columns) const;
  /// Appends the rows of another DataFrame with the same column types, by position.
  DataFrame union_all(const DataFrame& other) const;

  /// Joins with another stream on equal `on` columns (names both sides have), `how` one of
  /// inner, left_outer, right_outer, full_outer, left_semi (Spark's names and aliases), with an
  /// optional condition over the joined columns; an event-time range in it (`col("rts") >=
  /// col("lts") && col("rts") <= col("lts") + interval("1 hour")`) or equal event-time keys
  /// let the watermark evict buffered rows. Result: the keys once, then the other columns of
  /// this side, then those of `other` (a name both sides have is an error: rename one first);
  /// left_semi keeps this side's columns. Append mode only; outer joins need watermarks on
  /// both sides and a time range.
  DataFrame join(const DataFrame& other, std::vector<std::string> on, const std::string& how = "inner",
                 std::optional<Expr> condition = std::nullopt) const;

  /// Groups rows by keys (expressions, column names, or one window) for agg().
  GroupedData group_by(std::vector<GroupKey> keys) const;
  template <typename... Args>
  GroupedData group_by(Args&&... keys) const;
  /// Groups rows by the values of columns for a function with per-group state
  /// (map_groups_with_state / flat_map_groups_with_state; include plan/keyed_groups.hpp).
  KeyValueGroupedData group_by_key(std::vector<std::string> columns) const;
  /// Declares the event-time column and how late its rows may arrive ("10 seconds"): the
  /// watermark is the largest event time seen minus the delay, advanced between epochs.
  DataFrame with_watermark(const std::string& column, const std::string& delay) const;
  /// Keeps the first row of each distinct combination of `columns` (all columns when empty).
  DataFrame drop_duplicates(std::vector<std::string> columns = {}) const;
  /// Like drop_duplicates, remembering each key only until the watermark passes its first
  /// event time plus the watermark delay.
  DataFrame drop_duplicates_within_watermark(std::vector<std::string> columns = {}) const;
  /// Sorts the result (streaming: only after an aggregation, in complete mode).
  DataFrame order_by(std::vector<SortKey> keys) const;
  /// Keeps the first n rows (streaming: only after an aggregation, in complete mode).
  DataFrame limit(int64_t n) const;

  /// Returns the parsed, analyzed, optimized and physical plans (extended) or the physical plan.
  std::string explain(bool extended = true) const;
  /// Starts describing where and how the query's results go.
  DataStreamWriter write_stream() const;

  /// Returns false for a static table (session.read(), create_data_frame).
  bool is_streaming() const;
  /// Computes a static DataFrame (session.read(), create_data_frame, CREATE TABLE) now and
  /// returns its rows, as Spark's collect(): the same optimizer and operators as a stream, run
  /// as one epoch over the tables' current contents (an aggregation in complete mode). Fails for
  /// a stream (start it with write_stream()) and names the first problem. A join of two static
  /// tables runs as a join of two streams, so only its inner form is allowed. Blocks.
  Result<RecordBatchPtr> collect() const;
  /// Renders the first `rows` rows of collect() as a table, like Spark's show().
  Result<std::string> show_string(int64_t rows = 20) const;
  Status status() const { return plan_.status(); }
  /// Returns the schema; null when the DataFrame carries an error.
  SchemaPtr schema() const { return plan_.ok() ? (*plan_)->schema() : nullptr; }
  const Result<PlanPtr>& plan() const { return plan_; }
  const std::shared_ptr<SessionState>& session() const { return session_; }

 private:
  friend class GroupedData;
  friend class KeyValueGroupedData;
  static Expr to_expr(const Expr& expr) { return expr; }
  static Expr to_expr(const std::string& name) { return col(name); }
  static Expr to_expr(const char* name) { return col(name); }
  template <typename T>
  static SelectItem to_item(T&& item) {
    if constexpr (std::is_same_v<std::decay_t<T>, OverCall>) {
      return SelectItem(std::forward<T>(item));
    } else {
      return to_expr(std::forward<T>(item));
    }
  }
  DataFrame derive(const std::function<Result<PlanPtr>(const PlanPtr&)>& fn) const;

  std::shared_ptr<SessionState> session_;
  Result<PlanPtr> plan_;
};

/// The result of group_by, waiting for its aggregates (Spark's RelationalGroupedDataset).
class GroupedData {
 public:
  GroupedData(DataFrame frame, std::vector<GroupKey> keys) : frame_(std::move(frame)), keys_(std::move(keys)) {}
  /// Computes aggregates per group: count(), sum(col("v")).alias("total"), ...
  DataFrame agg(std::vector<AggregateCall> aggregates) const;
  template <typename... Args>
  DataFrame agg(Args&&... aggregates) const {
    return agg(std::vector<AggregateCall>{std::forward<Args>(aggregates)...});
  }
  /// Counts rows per group into a column named "count".
  DataFrame count() const;

 private:
  DataFrame frame_;
  std::vector<GroupKey> keys_;
};

namespace detail {
inline GroupKey to_group_key(const Expr& e) { return e; }
inline GroupKey to_group_key(const std::string& name) { return col(name); }
inline GroupKey to_group_key(const char* name) { return col(name); }
inline GroupKey to_group_key(const TimeWindow& w) { return w; }
inline GroupKey to_group_key(const SessionWindow& w) { return w; }
}  // namespace detail

template <typename... Args>
GroupedData DataFrame::group_by(Args&&... keys) const {
  return group_by(std::vector<GroupKey>{detail::to_group_key(std::forward<Args>(keys))...});
}

/// Describes a streaming source: format, options, schema. `load` checks what it can at once;
/// every error surfaces through the DataFrame's status and at start().
class DataStreamReader {
 public:
  /// `static_read`: the reader of session.read(), whose DataFrames are static tables.
  explicit DataStreamReader(std::shared_ptr<SessionState> session, bool static_read = false)
      : session_(std::move(session)), static_read_(static_read) {}
  DataStreamReader& format(std::string name);
  DataStreamReader& option(const std::string& key, const std::string& value);
  DataStreamReader& options(const std::map<std::string, std::string>& options);
  DataStreamReader& schema(SchemaPtr schema);
  /// Reads from a source of the user's own (see io/source.hpp for the exactly-once rules);
  /// every start of a query uses this same object. `load()` then takes no path.
  DataStreamReader& source(std::shared_ptr<Source> source);
  /// Defines the DataFrame. With session.read(), format("delta") reads the table's live files
  /// at its latest version, or at option versionAsOf / timestampAsOf (time travel).
  DataFrame load(const std::string& path = "");

 private:
  DataFrame load_source(const std::string& path);
  // Reads a Delta table as a static table at its latest version or one time travel names.
  DataFrame load_delta_table(const std::string& path);
  std::shared_ptr<SessionState> session_;
  bool static_read_ = false;
  std::string format_;
  std::map<std::string, std::string> options_;
  SchemaPtr schema_;
  std::shared_ptr<Source> custom_source_;
};

/// Describes where a query's results go and starts it (Spark's DataStreamWriter).
class DataStreamWriter {
 public:
  using BatchFunction = std::function<Status(const RecordBatchPtr& batch, int64_t epoch_id)>;

  explicit DataStreamWriter(DataFrame frame) : frame_(std::move(frame)) {}
  /// Names the sink: "console", "memory", "noop", "csv", "json", "delta", "kafka", "table"
  /// (foreach and foreach_batch set their own).
  DataStreamWriter& format(std::string name);
  DataStreamWriter& output_mode(OutputMode mode);
  DataStreamWriter& trigger(Trigger trigger);
  DataStreamWriter& option(const std::string& key, const std::string& value);
  DataStreamWriter& options(const std::map<std::string, std::string>& options);
  DataStreamWriter& query_name(std::string name);
  /// Writes the file sink's rows under `column=value/` directories (csv, json, delta formats).
  DataStreamWriter& partition_by(std::vector<std::string> columns);
  /// Hands each epoch's rows one at a time to a writer (open / process / close per epoch; see
  /// io/foreach_sink.hpp for its exactly-once contract).
  DataStreamWriter& foreach(std::shared_ptr<ForeachWriter> writer);
  /// Hands each epoch's rows and the epoch id to fn; a replayed epoch repeats its id.
  DataStreamWriter& foreach_batch(BatchFunction fn);
  template <typename F>
    requires std::is_void_v<std::invoke_result_t<F, const RecordBatchPtr&, int64_t>>
  DataStreamWriter& foreach_batch(F fn) {
    return foreach_batch(BatchFunction([fn](const RecordBatchPtr& b, int64_t e) {
      fn(b, e);
      return Status::ok();
    }));
  }
  /// Writes to a sink of the user's own (see io/sink.hpp for the exactly-once contract).
  DataStreamWriter& sink(std::shared_ptr<Sink> sink);
  /// Records the text worker processes rebuild the query from (the SQL script that defines
  /// it): needed by option `workers`. SqlContext sets it for every sink it starts.
  DataStreamWriter& definition(std::string text);
  /// Checks the options, plans the query and starts it; fails naming the first problem.
  Result<StreamingQuery> start();

 private:
  DataFrame frame_;
  std::string format_ = "console";
  OutputMode mode_ = OutputMode::Append;
  Trigger trigger_ = Trigger::ProcessingTime(std::chrono::milliseconds(0));
  std::map<std::string, std::string> options_;
  std::string name_;
  std::vector<std::string> partition_by_;
  BatchFunction foreach_batch_;
  std::shared_ptr<ForeachWriter> foreach_writer_;
  std::shared_ptr<Sink> custom_sink_;
  std::string definition_;
};

/// A source fed from code, for tests and embedding (Spark's MemoryStream): rows added with
/// `add_data` become the next epoch's input. Replayable. Thread-safe.
class MemoryStream {
 public:
  MemoryStream(SessionContext& session, SchemaPtr schema);
  /// Adds rows; fails naming the row and column of a value of the wrong type.
  Status add_data(const std::vector<std::vector<Value>>& rows);
  Status add_data(RecordBatchPtr batch);
  /// Returns a DataFrame reading this stream.
  DataFrame to_df() const;
  /// Caps each epoch at `rows` rows (-1: no cap), like Kafka's maxOffsetsPerTrigger.
  void set_max_rows_per_trigger(int64_t rows) { source_->set_max_rows_per_trigger(rows); }
  const std::shared_ptr<MemorySource>& source() const { return source_; }

 private:
  std::shared_ptr<SessionState> session_;
  std::shared_ptr<MemorySource> source_;
};

}  // namespace sluice
