#include "plan/dataframe.hpp"

#include <charconv>
#include <set>
#include <thread>

#include "io/delta_batch_read.hpp"
#include "io/delta_sink.hpp"
#include "io/file_sink.hpp"
#include "io/file_source.hpp"
#include "io/foreach_sink.hpp"
#include "io/delta_source.hpp"
#include "io/kafka_sink.hpp"
#include "io/kafka_source.hpp"
#include "io/memory_sink.hpp"
#include "io/memory_source.hpp"
#include "io/rate_source.hpp"
#include "io/socket_source.hpp"
#include "io/table_sink.hpp"
#include "core/pretty_print.hpp"
#include "operators/window_assigner.hpp"
#include "plan/optimizer.hpp"
#include "plan/physical_plan.hpp"

namespace sluice {

namespace {

std::string join(const std::set<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

Status check_options(const std::string& what, const std::map<std::string, std::string>& options,
                     const std::set<std::string>& allowed) {
  for (const auto& [key, value] : options) {
    if (!allowed.count(key)) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      std::string message = "unknown option '" + key + "' for " + what;
      std::string suggestion = closest_name(key, names);
      if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
      return Status::invalid_argument(message + " (allowed: " + join(allowed) + ")");
    }
  }
  return Status::ok();
}

// Parses a size such as 65536, 64k, 64m or 1g (binary units), at least 1 byte.
Result<int64_t> parse_byte_size(const std::string& text) {
  int64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  std::string unit(end, text.data() + text.size());
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.ends_with("b") && unit.size() == 2) unit.pop_back();
  const int shift = unit.empty() ? 0 : unit == "k" ? 10 : unit == "m" ? 20 : unit == "g" ? 30 : -1;
  if (error != std::errc() || shift < 0 || number < 1 || number > (INT64_MAX >> shift)) {
    return Status::invalid_argument("'" + text + "' is not a size (write 65536, 64k, 64m or 1g)");
  }
  return number << shift;
}

Result<int64_t> integer_option(const std::map<std::string, std::string>& options,
                               const std::string& key, int64_t fallback, int64_t minimum) {
  auto it = options.find(key);
  if (it == options.end()) return fallback;
  int64_t value = 0;
  const std::string& text = it->second;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < minimum) {
    return Status::invalid_argument("option '" + key + "' must be an integer >= " +
                                    std::to_string(minimum) + ", got '" + text + "'");
  }
  return value;
}

Result<bool> bool_option(const std::map<std::string, std::string>& options, const std::string& key,
                         bool fallback) {
  auto it = options.find(key);
  if (it == options.end()) return fallback;
  if (it->second == "true") return true;
  if (it->second == "false") return false;
  return Status::invalid_argument("option '" + key + "' must be true or false, got '" +
                                  it->second + "'");
}

std::string fingerprint(const PlanPtr& plan, const PhysicalPlan& physical) {
  std::string text;
  std::function<void(const PlanPtr&)> visit = [&](const PlanPtr& node) {
    if (node->kind() == PlanKind::source) {
      text += "source " + node->source()->format + " (" + node->source()->schema->to_string() + ")\n";
    }
    for (const auto& child : node->children()) visit(child);
  };
  visit(plan);
  text += "output (" + plan->schema()->to_string() + ")\n";
  for (const auto& stage : physical.stages) {
    text += "stateful operator " + stage.op->state_fingerprint() + "\n";
  }
  return text;
}

}  // namespace

DataFrame DataFrame::derive(const std::function<Result<PlanPtr>(const PlanPtr&)>& fn) const {
  if (!plan_.ok()) return *this;
  return DataFrame(session_, fn(*plan_));
}

DataFrame DataFrame::select(std::vector<Expr> exprs) const {
  return derive([&](const PlanPtr& plan) { return LogicalPlan::make_project(plan, exprs); });
}

DataFrame DataFrame::select(std::vector<SelectItem> items) const {
  return derive([&](const PlanPtr& plan) -> Result<PlanPtr> {
    std::vector<AggregateCall> calls;
    std::vector<std::string> names;
    const WindowSpec* window = nullptr;
    for (const auto& item : items) {
      const auto* call = std::get_if<OverCall>(&item);
      if (!call) continue;
      if (window && window->to_string() != call->window().to_string()) {
        return Status::invalid_argument(
            "OVER (" + call->window().to_string() + ") and OVER (" + window->to_string() +
            ") in one select: several different windows are not supported; "
            "compute one window per select");
      }
      window = &call->window();
      calls.push_back(call->call());
      // Internal names, so that an OVER column never collides with an input column.
      names.push_back("__over_" + std::to_string(names.size()));
    }
    if (!window) {
      std::vector<Expr> exprs;
      for (const auto& item : items)
        exprs.push_back(std::get<Expr>(item));
      return LogicalPlan::make_project(plan, exprs);
    }
    SLUICE_ASSIGN_OR_RETURN(OverWindow over, make_over_window(*window, calls, names));
    SLUICE_ASSIGN_OR_RETURN(PlanPtr node, LogicalPlan::make_over(plan, std::move(over)));
    std::vector<Expr> exprs;
    size_t next = 0;
    for (const auto& item : items) {
      if (const auto* call = std::get_if<OverCall>(&item)) {
        exprs.push_back(col(names[next++]).alias(call->output_name()));
      } else {
        exprs.push_back(std::get<Expr>(item));
      }
    }
    return LogicalPlan::make_project(node, exprs);
  });
}

DataFrame DataFrame::with_column(const std::string& name, const OverCall& call) const {
  if (!plan_.ok()) return *this;
  std::vector<SelectItem> items;
  bool replaced = false;
  for (const auto& field : (*plan_)->schema()->fields()) {
    if (field.name == name) {
      items.emplace_back(call.alias(name));
      replaced = true;
    } else {
      items.emplace_back(col(field.name));
    }
  }
  if (!replaced) items.emplace_back(call.alias(name));
  return select(std::move(items));
}

DataFrame DataFrame::filter(const Expr& condition) const {
  return derive([&](const PlanPtr& plan) { return LogicalPlan::make_filter(plan, condition); });
}

DataFrame DataFrame::with_column(const std::string& name, const Expr& expr) const {
  return derive([&](const PlanPtr& plan) {
    std::vector<Expr> exprs;
    bool replaced = false;
    for (const auto& field : plan->schema()->fields()) {
      if (field.name == name) {
        exprs.push_back(expr.alias(name));
        replaced = true;
      } else {
        exprs.push_back(col(field.name));
      }
    }
    if (!replaced) exprs.push_back(expr.alias(name));
    return LogicalPlan::make_project(plan, exprs);
  });
}

DataFrame DataFrame::with_column_renamed(const std::string& existing, const std::string& renamed) const {
  return derive([&](const PlanPtr& plan) -> Result<PlanPtr> {
    if (plan->schema()->find(existing) < 0) return plan;
    std::vector<Expr> exprs;
    for (const auto& field : plan->schema()->fields()) {
      exprs.push_back(field.name == existing ? col(field.name).alias(renamed) : col(field.name));
    }
    return LogicalPlan::make_project(plan, exprs);
  });
}

DataFrame DataFrame::drop(const std::vector<std::string>& columns) const {
  return derive([&](const PlanPtr& plan) -> Result<PlanPtr> {
    std::vector<Expr> exprs;
    for (const auto& field : plan->schema()->fields()) {
      if (std::find(columns.begin(), columns.end(), field.name) == columns.end()) {
        exprs.push_back(col(field.name));
      }
    }
    if (static_cast<int>(exprs.size()) == plan->schema()->num_fields()) return plan;
    if (exprs.empty()) return Status::invalid_argument("drop would remove every column");
    return LogicalPlan::make_project(plan, exprs);
  });
}

DataFrame DataFrame::union_all(const DataFrame& other) const {
  if (!other.plan_.ok()) return other;
  return derive([&](const PlanPtr& plan) {
    return LogicalPlan::make_union({plan, *other.plan_});
  });
}

DataFrame DataFrame::join(const DataFrame& other, std::vector<std::string> on, const std::string& how,
                          std::optional<Expr> condition) const {
  if (!other.plan_.ok()) return other;
  return derive([&](const PlanPtr& plan) -> Result<PlanPtr> {
    SLUICE_ASSIGN_OR_RETURN(JoinType type, parse_join_type(how));
    return LogicalPlan::make_join(plan, *other.plan_, on, type, condition);
  });
}

GroupedData DataFrame::group_by(std::vector<GroupKey> keys) const {
  return GroupedData(*this, std::move(keys));
}

DataFrame GroupedData::agg(std::vector<AggregateCall> aggregates) const {
  return frame_.derive([&](const PlanPtr& plan) {
    return LogicalPlan::make_aggregate(plan, keys_, aggregates);
  });
}

DataFrame GroupedData::count() const { return agg({sluice::count().alias("count")}); }

DataFrame DataFrame::with_watermark(const std::string& column, const std::string& delay) const {
  return derive([&](const PlanPtr& plan) { return LogicalPlan::make_watermark(plan, column, delay); });
}

DataFrame DataFrame::drop_duplicates(std::vector<std::string> columns) const {
  return derive([&](const PlanPtr& plan) {
    return LogicalPlan::make_deduplicate(plan, columns, false);
  });
}

DataFrame DataFrame::drop_duplicates_within_watermark(std::vector<std::string> columns) const {
  return derive([&](const PlanPtr& plan) {
    return LogicalPlan::make_deduplicate(plan, columns, true);
  });
}

DataFrame DataFrame::order_by(std::vector<SortKey> keys) const {
  return derive([&](const PlanPtr& plan) { return LogicalPlan::make_sort(plan, keys); });
}

DataFrame DataFrame::limit(int64_t n) const {
  return derive([&](const PlanPtr& plan) { return LogicalPlan::make_limit(plan, n); });
}

std::string DataFrame::explain(bool extended) const {
  if (!plan_.ok()) return "Error: " + plan_.status().to_string() + "\n";
  const PlanPtr& plan = *plan_;
  auto optimized = Optimizer().optimize(plan);
  if (!optimized.ok()) return "Error: " + optimized.status().to_string() + "\n";
  auto physical = plan_physical(*optimized);
  if (!physical.ok()) return "Error: " + physical.status().to_string() + "\n";
  if (!extended) return "== Physical Plan ==\n" + physical->to_string();
  return "== Parsed Logical Plan ==\n" + plan->to_string() + "\n== Analyzed Logical Plan ==\n" +
         plan->to_string(true) + "\n== Optimized Logical Plan ==\n" + (*optimized)->to_string() +
         "\n== Physical Plan ==\n" + physical->to_string();
}

DataStreamWriter DataFrame::write_stream() const { return DataStreamWriter(*this); }

DataStreamReader& DataStreamReader::format(std::string name) {
  format_ = std::move(name);
  return *this;
}

DataStreamReader& DataStreamReader::option(const std::string& key, const std::string& value) {
  options_[key] = value;
  return *this;
}

DataStreamReader& DataStreamReader::options(const std::map<std::string, std::string>& options) {
  for (const auto& [key, value] : options) options_[key] = value;
  return *this;
}

DataStreamReader& DataStreamReader::schema(SchemaPtr schema) {
  schema_ = std::move(schema);
  return *this;
}

DataStreamReader& DataStreamReader::source(std::shared_ptr<Source> source) {
  custom_source_ = std::move(source);
  return *this;
}

DataFrame DataStreamReader::load(const std::string& path) {
  // A static table's refresh interval is the join's business, not the source's option.
  std::optional<int64_t> refresh;
  if (auto it = options_.find("refresh"); it != options_.end() && static_read_) {
    auto interval = parse_duration(it->second);
    if (!interval.ok() || *interval < 0) {
      return DataFrame(session_, Status::invalid_argument("option refresh = '" + it->second +
                                                          "' is not a duration such as '30 seconds' (0 checks at every epoch)"));
    }
    refresh = *interval;
    options_.erase(it);
  }
  if (format_ == "table") {
    if (!static_read_) {
      return DataFrame(session_, Status::invalid_argument(
                                     "a table sink is read as a static table: session.read().format(\"table\").load(path)"));
    }
    std::string directory = path;
    for (const auto& [key, value] : options_) {
      if (key != "path") {
        return DataFrame(session_, Status::invalid_argument("unknown option '" + key + "' for a table read (allowed: path)"));
      }
      directory = value;
    }
    auto snapshot = read_table_sink(directory);
    if (!snapshot.ok()) return DataFrame(session_, snapshot.status());
    auto spec = std::make_shared<SourceSpec>();
    spec->format = "table";
    spec->options = options_;
    spec->schema = snapshot->rows->schema();
    spec->is_static = true;
    spec->read_all = [directory]() -> Result<RecordBatchPtr> {
      SLUICE_ASSIGN_OR_RETURN(TableSnapshot table, read_table_sink(directory));
      return table.rows;
    };
    spec->refresh_micros = refresh;
    return DataFrame(session_, LogicalPlan::make_source(spec));
  }
  if (format_ == "delta" && static_read_) return load_delta_table(path);
  DataFrame frame = load_source(path);
  if (!static_read_ || !frame.status().is_ok()) return frame;
  if (format_ == "rate" || format_ == "kafka" || format_ == "socket") {
    return DataFrame(session_, Status::invalid_argument("the " + format_ +
                                                        " source is a stream: session.read() reads csv, json, "
                                                        "text, delta and table; use read_stream()"));
  }
  auto spec = std::make_shared<SourceSpec>(*(*frame.plan())->source());
  spec->is_static = true;
  spec->refresh_micros = refresh;
  return DataFrame(session_, LogicalPlan::make_source(spec));
}

DataFrame DataStreamReader::load_delta_table(const std::string& path) {
  if (schema_) {
    return DataFrame(session_, Status::invalid_argument(
                                   "a delta read takes its schema from the table's log; drop schema(...)"));
  }
  auto parsed = DeltaReadOptions::parse(path, options_);
  if (!parsed.ok()) return DataFrame(session_, parsed.status());
  // Resolve the version and schema now, so that a version that does not exist fails here.
  auto snapshot = resolve_delta_read(*parsed);
  if (!snapshot.ok()) return DataFrame(session_, snapshot.status());
  auto schema = delta_snapshot_schema(*snapshot);
  if (!schema.ok()) return DataFrame(session_, schema.status());
  auto spec = std::make_shared<SourceSpec>();
  spec->format = "delta";
  spec->options = options_;
  spec->schema = *schema;
  spec->is_static = true;
  DeltaReadOptions options = *parsed;
  // Time travel pins the version; without it each query start reads the latest version.
  if (options.timestamp_as_of_millis) {
    options.timestamp_as_of_millis.reset();
    options.version_as_of = snapshot->version;
  }
  const SchemaPtr resolved = *schema;
  spec->read_all = [options, resolved]() -> Result<RecordBatchPtr> {
    SLUICE_ASSIGN_OR_RETURN(DeltaSnapshot snapshot, resolve_delta_read(options));
    SLUICE_ASSIGN_OR_RETURN(SchemaPtr schema, delta_snapshot_schema(snapshot));
    if (!(*schema == *resolved)) {
      return Status::invalid_argument("the schema of the Delta table at " + options.path +
                                      " changed since the DataFrame was defined");
    }
    return read_delta_snapshot_rows(options.path, snapshot, options.rows_per_batch);
  };
  return DataFrame(session_, LogicalPlan::make_source(spec));
}

DataFrame DataStreamReader::load_source(const std::string& path) {
  if (custom_source_) {
    if (!path.empty()) {
      return DataFrame(session_, Status::invalid_argument("a source given with source(...) takes no path, got '" +
                                                          path + "'"));
    }
    auto spec = std::make_shared<SourceSpec>();
    spec->format = "custom";
    spec->options = options_;
    spec->schema = custom_source_->schema();
    std::shared_ptr<Source> source = custom_source_;
    spec->create = [source]() -> Result<std::shared_ptr<Source>> { return source; };
    return DataFrame(session_, LogicalPlan::make_source(spec));
  }
  auto spec = std::make_shared<SourceSpec>();
  spec->format = format_;
  spec->options = options_;
  if (format_ == "socket") {
    if (!path.empty()) {
      return DataFrame(session_, Status::invalid_argument("the socket source takes no path, got '" + path + "'"));
    }
    auto parsed = SocketSourceOptions::parse(options_);
    if (!parsed.ok()) return DataFrame(session_, parsed.status());
    SocketSourceOptions options = *parsed;
    spec->schema = SocketSource::schema_for(options);
    std::weak_ptr<SessionState> session = session_;
    spec->create = [options, session]() -> Result<std::shared_ptr<Source>> {
      auto state = session.lock();
      if (!state) return Status::aborted("the session of this DataFrame is gone");
      return std::shared_ptr<Source>(std::make_shared<SocketSource>(options, state->clock()));
    };
    return DataFrame(session_, LogicalPlan::make_source(spec));
  }
  if (format_ == "rate") {
    if (!path.empty()) {
      return DataFrame(session_, Status::invalid_argument("the rate source takes no path, got '" + path + "'"));
    }
    auto parsed = RateSourceOptions::parse(options_);
    if (!parsed.ok()) return DataFrame(session_, parsed.status());
    RateSourceOptions options = *parsed;
    spec->schema = RateSource(options, session_->clock()).schema();
    // The clock is the session's at query start, so a test may swap in a manual clock.
    std::weak_ptr<SessionState> session = session_;
    spec->create = [options, session]() -> Result<std::shared_ptr<Source>> {
      auto state = session.lock();
      if (!state) return Status::aborted("the session of this DataFrame is gone");
      return std::shared_ptr<Source>(std::make_shared<RateSource>(options, state->clock()));
    };
    return DataFrame(session_, LogicalPlan::make_source(spec));
  }
  if (format_ == "csv" || format_ == "json" || format_ == "text") {
    const FileFormat format = format_ == "csv" ? FileFormat::csv : format_ == "json" ? FileFormat::json : FileFormat::text;
    auto parsed = FileSourceOptions::parse(format, path, options_);
    if (!parsed.ok()) return DataFrame(session_, parsed.status());
    // Resolve the schema (partition directories, inferSchema) once, at load, as Spark does.
    auto probe = FileSource::make(*parsed, schema_);
    if (!probe.ok()) return DataFrame(session_, probe.status());
    spec->schema = (*probe)->schema();
    FileSourceOptions options = *parsed;
    SchemaPtr resolved = spec->schema;
    options.partition_keys = (*probe)->partition_keys();
    spec->create = [options, resolved]() -> Result<std::shared_ptr<Source>> {
      SLUICE_ASSIGN_OR_RETURN(auto source, FileSource::make(options, resolved));
      if (!(*source->schema() == *resolved)) {
        return Status::invalid_argument("the partition directories of " + options.path +
                                        " changed since the query was defined");
      }
      return std::shared_ptr<Source>(std::move(source));
    };
    return DataFrame(session_, LogicalPlan::make_source(spec));
  }
  if (format_ == "kafka") {
    if (!path.empty()) {
      return DataFrame(session_, Status::invalid_argument("the kafka source takes no path (use option subscribe), got '" + path + "'"));
    }
    if (schema_) {
      return DataFrame(session_, Status::invalid_argument(
                                     "the kafka source has a fixed schema (key, value, topic, partition, offset, "
                                     "timestamp, timestampType); parse value with from_json instead of schema(...)"));
    }
    // Options are checked now; the cluster is contacted when the query starts.
    auto parsed = KafkaSourceOptions::parse(options_);
    if (!parsed.ok()) return DataFrame(session_, parsed.status());
    KafkaSourceOptions options = *parsed;
    spec->schema = kafka_source_schema(options.include_headers);
    spec->create = [options]() -> Result<std::shared_ptr<Source>> {
      SLUICE_ASSIGN_OR_RETURN(auto source, KafkaSource::make(options));
      return std::shared_ptr<Source>(std::move(source));
    };
    return DataFrame(session_, LogicalPlan::make_source(spec));
  }
  if (format_ == "delta") {
    if (schema_) {
      return DataFrame(session_, Status::invalid_argument(
                                     "the delta source reads its schema from the table's log; drop schema(...)"));
    }
    auto parsed = DeltaSourceOptions::parse(path, options_);
    if (!parsed.ok()) return DataFrame(session_, parsed.status());
    // Resolve the schema once, at load, as Spark does; the query checks it again at start.
    auto probe = DeltaSource::make(*parsed);
    if (!probe.ok()) return DataFrame(session_, probe.status());
    spec->schema = (*probe)->schema();
    DeltaSourceOptions options = *parsed;
    SchemaPtr resolved = spec->schema;
    spec->create = [options, resolved]() -> Result<std::shared_ptr<Source>> {
      SLUICE_ASSIGN_OR_RETURN(auto source, DeltaSource::make(options));
      if (!(*source->schema() == *resolved)) {
        return Status::invalid_argument("the schema of the Delta table at " + options.path +
                                        " changed since the query was defined");
      }
      return std::shared_ptr<Source>(std::move(source));
    };
    return DataFrame(session_, LogicalPlan::make_source(spec));
  }
  return DataFrame(session_, Status::invalid_argument(
                                 "unknown source format '" + format_ +
                                 "' (available: rate, socket, csv, json, text, kafka, delta; use MemoryStream for rows from code)"));
}

DataStreamWriter& DataStreamWriter::format(std::string name) {
  format_ = std::move(name);
  return *this;
}

DataStreamWriter& DataStreamWriter::output_mode(OutputMode mode) {
  mode_ = mode;
  return *this;
}

DataStreamWriter& DataStreamWriter::trigger(Trigger trigger) {
  trigger_ = trigger;
  return *this;
}

DataStreamWriter& DataStreamWriter::option(const std::string& key, const std::string& value) {
  options_[key] = value;
  return *this;
}

DataStreamWriter& DataStreamWriter::options(const std::map<std::string, std::string>& options) {
  for (const auto& [key, value] : options) options_[key] = value;
  return *this;
}

DataStreamWriter& DataStreamWriter::partition_by(std::vector<std::string> columns) {
  partition_by_ = std::move(columns);
  return *this;
}

DataStreamWriter& DataStreamWriter::query_name(std::string name) {
  name_ = std::move(name);
  return *this;
}

DataStreamWriter& DataStreamWriter::foreach(std::shared_ptr<ForeachWriter> writer) {
  foreach_writer_ = std::move(writer);
  format_ = "foreach";
  return *this;
}

DataStreamWriter& DataStreamWriter::foreach_batch(BatchFunction fn) {
  foreach_batch_ = std::move(fn);
  format_ = "foreach_batch";
  return *this;
}

DataStreamWriter& DataStreamWriter::sink(std::shared_ptr<Sink> sink) {
  custom_sink_ = std::move(sink);
  format_ = "custom";
  return *this;
}

DataStreamWriter& DataStreamWriter::definition(std::string text) {
  definition_ = std::move(text);
  return *this;
}

Result<StreamingQuery> DataStreamWriter::start() {
  const auto& session = frame_.session();
  if (!frame_.plan().ok()) return frame_.status().with_context("cannot start the query");
  if (session->launcher() == nullptr) {
    return Status::invalid_argument("this session has no runtime to start queries");
  }
  QuerySpec spec;
  spec.name = name_;
  spec.output_mode = mode_;
  spec.trigger = trigger_;
  spec.eval = session->eval_options();
  spec.analyzed = *frame_.plan();

  SLUICE_RETURN_NOT_OK(check_output_mode(spec.analyzed, mode_));
  if (trigger_.kind == Trigger::Kind::processing_time && trigger_.interval.count() < 0) {
    return Status::invalid_argument("trigger interval must not be negative");
  }
  if (!name_.empty() && session->streams().active_with_name(name_)) {
    return Status::invalid_argument("a query named '" + name_ + "' is already active");
  }

  const std::set<std::string> common = {"checkpointLocation", "minBatchesToRetain"};
  SLUICE_ASSIGN_OR_RETURN(spec.min_batches_to_retain, integer_option(options_, "minBatchesToRetain", 100, 1));
  SLUICE_ASSIGN_OR_RETURN(spec.restart, parse_restart_policy(options_, session->restart_conf()));
  std::string epoch_timeout = session->conf("epochTimeout");
  if (auto it = options_.find("epochTimeout"); it != options_.end()) epoch_timeout = it->second;
  if (!epoch_timeout.empty()) {
    auto micros = parse_duration(epoch_timeout);
    if (!micros.ok()) return micros.status().with_context("option 'epochTimeout'");
    spec.epoch_timeout_ms = *micros / 1000;
  }
  std::string max_size = session->conf("checkpointMaxSize");
  if (auto it = options_.find("checkpointMaxSize"); it != options_.end()) max_size = it->second;
  if (!max_size.empty()) {
    auto bytes = parse_byte_size(max_size);
    if (!bytes.ok()) return bytes.status().with_context("option 'checkpointMaxSize'");
    if (*bytes < (64 << 10)) {
      return Status::invalid_argument("option 'checkpointMaxSize' must be at least 64k, got '" +
                                      max_size + "'");
    }
    spec.checkpoint_max_bytes = *bytes;
  }
  // The restart options (and epochTimeout, checkpointMaxSize) are the query's, not the sink's:
  // hidden from the sink while it is made.
  struct RestoreOptions {
    std::map<std::string, std::string>& options;
    std::map<std::string, std::string> hidden;
    ~RestoreOptions() { options.insert(hidden.begin(), hidden.end()); }
  } restart_options{options_, {}};
  for (auto it = options_.begin(); it != options_.end();) {
    if (is_restart_option(it->first) || it->first == "epochTimeout" ||
        it->first == "checkpointMaxSize") {
      restart_options.hidden.insert(*it);
      it = options_.erase(it);
    } else {
      ++it;
    }
  }
  // Placement is the query's, not the sink's: taken out before the sink checks its options.
  std::string workers = session->conf("workers");
  if (auto it = options_.find("workers"); it != options_.end()) {
    workers = it->second;
    restart_options.hidden.insert(*it);
    options_.erase(it);
  }
  if (!workers.empty()) {
    SLUICE_ASSIGN_OR_RETURN(spec.workers, parse_worker_addresses(workers));
    if (definition_.empty()) {
      return Status::invalid_argument(
          "option workers needs a query the workers can rebuild: register a pipeline built in "
          "C++ with sluice::register_pipeline(name, function) and start it with "
          "sluice::start_pipeline(session, name, options) (its workers run the same program, see "
          "sluice::run_worker_if_requested), or start it from SQL (sluice run, "
          "SqlContext::execute), whose script the workers plan again");
    }
    spec.definition = definition_;
  }
  auto allowed = [&](std::set<std::string> extra) {
    extra.insert(common.begin(), common.end());
    return extra;
  };
  const SchemaPtr output = spec.analyzed->schema();
  if (format_ == "console") {
    SLUICE_RETURN_NOT_OK(check_options("the console sink", options_, allowed({"numRows", "truncate"})));
    SLUICE_ASSIGN_OR_RETURN(int64_t num_rows, integer_option(options_, "numRows", 20, 0));
    SLUICE_ASSIGN_OR_RETURN(bool truncate, bool_option(options_, "truncate", true));
    spec.sink = std::make_shared<ConsoleSink>(num_rows, truncate ? 20 : 0);
  } else if (format_ == "memory") {
    SLUICE_RETURN_NOT_OK(check_options("the memory sink", options_, allowed({})));
    if (name_.empty()) {
      return Status::invalid_argument("the memory sink needs a query name: call query_name(...)");
    }
    // A restarted query keeps appending to its table; replayed epochs replace their rows.
    auto sink = session->memory_sink(name_);
    if (!sink || sink->mode() != mode_) {
      sink = std::make_shared<MemorySink>(name_, mode_);
      session->register_memory_sink(name_, sink);
    }
    spec.sink = sink;
  } else if (format_ == "noop") {
    SLUICE_RETURN_NOT_OK(check_options("the noop sink", options_, allowed({})));
    spec.sink = std::make_shared<NoopSink>();
  } else if (format_ == "custom") {
    SLUICE_RETURN_NOT_OK(check_options("a custom sink", options_, allowed({})));
    if (!custom_sink_) return Status::invalid_argument("format 'custom' needs sink(...)");
    spec.sink = custom_sink_;
  } else if (format_ == "foreach") {
    SLUICE_RETURN_NOT_OK(check_options("foreach", options_, allowed({})));
    if (!foreach_writer_) return Status::invalid_argument("format 'foreach' needs foreach(writer)");
    spec.sink = std::make_shared<ForeachSink>(foreach_writer_);
  } else if (format_ == "foreach_batch") {
    SLUICE_RETURN_NOT_OK(check_options("foreach_batch", options_, allowed({})));
    spec.sink = std::make_shared<ForeachBatchSink>(output, foreach_batch_);
  } else if (format_ == "csv" || format_ == "json") {
    SLUICE_ASSIGN_OR_RETURN(FileSinkOptions file_options,
                            FileSinkOptions::parse(format_ == "csv" ? FileFormat::csv : FileFormat::json, options_));
    file_options.partition_by = partition_by_;
    SLUICE_ASSIGN_OR_RETURN(auto file_sink, FileSink::make(std::move(file_options), output, mode_));
    spec.sink = std::move(file_sink);
  } else if (format_ == "delta") {
    SLUICE_ASSIGN_OR_RETURN(DeltaSinkOptions delta_options, DeltaSinkOptions::parse(options_));
    delta_options.partition_by = partition_by_;
    SLUICE_ASSIGN_OR_RETURN(auto delta_sink,
                            DeltaSink::make(std::move(delta_options), output, mode_));
    spec.sink = std::move(delta_sink);
  } else if (format_ == "table") {
    SLUICE_ASSIGN_OR_RETURN(TableSinkOptions table_options, TableSinkOptions::parse(options_));
    SLUICE_ASSIGN_OR_RETURN(auto table_sink, TableSink::make(std::move(table_options), output, mode_));
    spec.sink = std::move(table_sink);
  } else if (format_ == "kafka") {
    SLUICE_ASSIGN_OR_RETURN(KafkaSinkOptions kafka_options, KafkaSinkOptions::parse(options_));
    SLUICE_ASSIGN_OR_RETURN(auto kafka_sink, KafkaSink::make(std::move(kafka_options), output));
    spec.sink = std::move(kafka_sink);
  } else {
    return Status::invalid_argument(
        "unknown sink format '" + format_ +
        "' (available: console, memory, noop, foreach, foreach_batch, csv, json, delta, kafka, table)");
  }

  if (auto it = options_.find("checkpointLocation"); it != options_.end()) {
    spec.checkpoint_location = it->second;
  } else if (std::string root = session->conf("checkpointLocation"); !root.empty()) {
    if (name_.empty()) {
      return Status::invalid_argument(
          "the session option checkpointLocation needs a query name to choose a directory");
    }
    spec.checkpoint_location = root + "/" + name_;
  }

  if (std::string partitions = session->conf("shuffle_partitions"); !partitions.empty()) {
    spec.shuffle_partitions = std::stoi(partitions);
  } else {
    spec.shuffle_partitions = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  spec.watermark_policy_max = session->conf("multipleWatermarkPolicy") == "max";
  if (std::string idle = session->conf("watermarkIdleTimeout"); !idle.empty()) {
    SLUICE_ASSIGN_OR_RETURN(spec.watermark_idle_timeout_micros, parse_duration(idle));
  }
  SLUICE_ASSIGN_OR_RETURN(spec.optimized, Optimizer().optimize(spec.analyzed));
  PhysicalOptions physical;
  if (std::string cache = session->conf("stateCacheSize"); !cache.empty()) {
    SLUICE_ASSIGN_OR_RETURN(physical.state_cache_bytes, parse_byte_size(cache));
  }
  if (std::string partial = session->conf("partialAggregation"); !partial.empty()) {
    SLUICE_ASSIGN_OR_RETURN(physical.partial_aggregation, parse_partial_aggregation_mode(partial));
  }
  SLUICE_ASSIGN_OR_RETURN(spec.physical, plan_physical(spec.optimized, physical));
  spec.plan_fingerprint = fingerprint(spec.analyzed, spec.physical);
  spec.explain = frame_.explain(true);
  return session->launcher()->launch(std::move(spec));
}

MemoryStream::MemoryStream(SessionContext& session, SchemaPtr schema)
    : session_(session.state()), source_(std::make_shared<MemorySource>(std::move(schema))) {}

Status MemoryStream::add_data(const std::vector<std::vector<Value>>& rows) {
  SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr batch, RecordBatch::from_rows(source_->schema(), rows));
  return add_data(std::move(batch));
}

Status MemoryStream::add_data(RecordBatchPtr batch) { return source_->add(std::move(batch)).status(); }

DataFrame MemoryStream::to_df() const {
  auto spec = std::make_shared<SourceSpec>();
  spec->format = "memory";
  spec->schema = source_->schema();
  std::shared_ptr<MemorySource> source = source_;
  spec->create = [source]() -> Result<std::shared_ptr<Source>> { return std::shared_ptr<Source>(source); };
  return DataFrame(session_, LogicalPlan::make_source(spec));
}

DataStreamReader SessionContext::read_stream() { return DataStreamReader(state_); }

DataStreamReader SessionContext::read() { return DataStreamReader(state_, /*static_read=*/true); }

DataFrame SessionContext::create_data_frame(RecordBatchPtr rows) {
  auto spec = std::make_shared<SourceSpec>();
  spec->format = "rows";
  spec->schema = rows->schema();
  spec->is_static = true;
  spec->read_all = [rows]() -> Result<RecordBatchPtr> { return rows; };
  return DataFrame(state_, LogicalPlan::make_source(spec));
}

bool DataFrame::is_streaming() const {
  if (!plan_.ok()) return true;
  std::function<bool(const PlanPtr&)> streaming = [&](const PlanPtr& node) {
    if (node->kind() == PlanKind::source) return !node->source()->is_static;
    for (const auto& child : node->children())
      if (streaming(child)) return true;
    return false;
  };
  return streaming(*plan_);
}

Result<RecordBatchPtr> DataFrame::collect() const {
  if (!plan_.ok()) return plan_.status();
  if (is_streaming()) {
    return Status::invalid_argument("collect() computes a static DataFrame (session.read(), create_data_frame); "
                                    "a stream runs with write_stream().start()");
  }
  // Each static table becomes a one-batch stream of its current rows; the query then runs as
  // one AvailableNow epoch into a memory sink.
  bool aggregates = false;
  std::function<Result<PlanPtr>(const PlanPtr&)> as_stream = [&](const PlanPtr& node) -> Result<PlanPtr> {
    if (node->kind() == PlanKind::aggregate) aggregates = true;
    if (node->kind() == PlanKind::source) {
      auto spec = std::make_shared<SourceSpec>(*node->source());
      spec->is_static = false;
      spec->read_all = nullptr;
      PlanPtr table = node;
      spec->create = [table]() -> Result<std::shared_ptr<Source>> {
        SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr rows, read_static_source(table));
        auto source = std::make_shared<MemorySource>(rows->schema(), "static table");
        SLUICE_RETURN_NOT_OK(source->add(rows).status());
        return std::shared_ptr<Source>(source);
      };
      return LogicalPlan::make_source(spec);
    }
    std::vector<PlanPtr> children;
    for (const auto& child : node->children()) {
      SLUICE_ASSIGN_OR_RETURN(PlanPtr converted, as_stream(child));
      children.push_back(std::move(converted));
    }
    return node->with_children(std::move(children));
  };
  SLUICE_ASSIGN_OR_RETURN(PlanPtr streamed, as_stream(*plan_));
  auto sink = std::make_shared<MemorySink>("collect", aggregates ? OutputMode::Complete : OutputMode::Append);
  auto query = DataFrame(session_, streamed)
                   .write_stream()
                   .sink(sink)
                   .output_mode(aggregates ? OutputMode::Complete : OutputMode::Append)
                   .trigger(Trigger::AvailableNow())
                   .start();
  if (!query.ok()) return query.status().with_context("collect()");
  query->await_termination();
  if (auto failure = query->exception()) return failure->with_context("collect()");
  // Complete mode gives the whole result in every epoch: the last one is the answer.
  std::vector<RecordBatchPtr> batches = sink->batches();
  if (const auto epochs = sink->epochs(); aggregates && !epochs.empty()) batches = sink->epoch_batches(epochs.back());
  const SchemaPtr& schema = (*plan_)->schema();
  if (batches.empty()) return RecordBatch::make_empty(schema);
  if (batches.size() == 1) return batches.front();
  return RecordBatch::concatenate(batches);
}

Result<std::string> DataFrame::show_string(int64_t rows) const {
  SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr batch, collect());
  ShowOptions options;
  options.num_rows = rows;
  return show(*batch, options);
}

SessionState::SessionState() : clock_(system_clock()) {}

Status SessionState::set_conf(const std::string& key, const std::string& value) {
  static const std::vector<std::string> known = {"ansi",
                                                 "checkpointLocation",
                                                 "shuffle_partitions",
                                                 "multipleWatermarkPolicy",
                                                 "watermarkIdleTimeout",
                                                 "ui.port",
                                                 "ui.host",
                                                 "stateCacheSize",
                                                 "partialAggregation",
                                                 "restart.strategy",
                                                 "restart.attempts",
                                                 "restart.delay",
                                                 "restart.maxDelay",
                                                 "restart.multiplier",
                                                 "epochTimeout",
                                                 "checkpointMaxSize",
                                                 "workers"};
  if (key == "ansi") {
    if (value != "true" && value != "false") {
      return Status::invalid_argument("session option 'ansi' must be true or false, got '" + value + "'");
    }
  } else if (key == "shuffle_partitions") {
    SLUICE_RETURN_NOT_OK(integer_option({{key, value}}, key, 1, 1).status().with_context("session option"));
  } else if (key == "multipleWatermarkPolicy") {
    if (value != "min" && value != "max") {
      return Status::invalid_argument("session option 'multipleWatermarkPolicy' must be min or max, got '" + value + "'");
    }
  } else if (key == "watermarkIdleTimeout" || key == "epochTimeout") {
    SLUICE_RETURN_NOT_OK(
        parse_duration(value).status().with_context("session option '" + key + "'"));
  } else if (key == "partialAggregation") {
    SLUICE_RETURN_NOT_OK(parse_partial_aggregation_mode(value).status().with_context("session option"));
  } else if (key == "stateCacheSize" || key == "checkpointMaxSize") {
    SLUICE_RETURN_NOT_OK(
        parse_byte_size(value).status().with_context("session option '" + key + "'"));
  } else if (key == "ui.port") {
    // Read by whoever serves the dashboard (`sluice run`, or a MonitoringServer the host starts).
    if (value != "off") {
      SLUICE_RETURN_NOT_OK(integer_option({{key, value}}, key, 0, 0).status().with_context("session option"));
      if (std::stoll(value) > 65535) {
        return Status::invalid_argument("session option 'ui.port' must be a port (0 = any free one) or off, got '" + value + "'");
      }
    }
  } else if (is_restart_option(key)) {
    SLUICE_RETURN_NOT_OK(parse_restart_policy({{key, value}}, {}).status().with_context("session option"));
  } else if (key == "workers") {
    if (!value.empty()) SLUICE_RETURN_NOT_OK(parse_worker_addresses(value).status().with_context("session option"));
  } else if (key != "checkpointLocation" && key != "ui.host") {
    std::string message = "unknown session option '" + key + "'";
    std::string suggestion = closest_name(key, known);
    if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
    std::string listing;
    for (const auto& name : known) listing += (listing.empty() ? "" : ", ") + name;
    return Status::invalid_argument(message + " (known: " + listing + ")");
  }
  std::lock_guard lock(mutex_);
  conf_[key] = value;
  return Status::ok();
}

std::map<std::string, std::string> SessionState::restart_conf() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::string> restart;
  for (const auto& [key, value] : conf_) {
    if (is_restart_option(key)) restart[key] = value;
  }
  return restart;
}

std::string SessionState::conf(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = conf_.find(key);
  return it == conf_.end() ? std::string() : it->second;
}

EvalOptions SessionState::eval_options() const {
  EvalOptions options;
  options.ansi = conf("ansi") == "true";
  return options;
}

void SessionState::register_memory_sink(const std::string& name, std::shared_ptr<MemorySink> sink) {
  std::lock_guard lock(mutex_);
  memory_sinks_[name] = std::move(sink);
}

std::shared_ptr<MemorySink> SessionState::memory_sink(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = memory_sinks_.find(name);
  return it == memory_sinks_.end() ? nullptr : it->second;
}

}  // namespace sluice
