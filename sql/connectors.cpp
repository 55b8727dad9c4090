#include "sql/connectors.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "io/option_map.hpp"
#include "plan/optimizer.hpp"
#include "plan/physical_plan.hpp"
#include "sql/expression_translator.hpp"
#include "sql/sql_lexer.hpp"

namespace sluice {

namespace {

const std::vector<std::string> kSourceConnectors = {"rate", "socket", "file", "kafka", "delta", "memory"};
const std::vector<std::string> kPlannedSourceConnectors = {"table", "s3", "kinesis"};
const std::vector<std::string> kSinkConnectors = {"console", "memory", "noop", "file",
                                                  "kafka",   "delta",  "table"};
const std::vector<std::string> kPlannedSinkConnectors = {"foreach", "s3"};
// Connectors that are formats of the file connector.
const std::vector<std::string> kFileFormats = {"csv", "json", "text", "parquet"};
const std::vector<std::string> kSinkKeys = {"connector",           "output_mode", "trigger",
                                            "checkpoint_location", "format",      "partition_by"};

std::string lower(std::string_view text) {
  std::string out;
  for (char c : text)
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string list_names(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names)
    text += (text.empty() ? "" : ", ") + name;
  return text;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

const StatementOption* find_option(const Statement& statement, std::string_view key) {
  for (const auto& option : statement.options) {
    if (equals_ignoring_case(option.key, key)) return &option;
  }
  return nullptr;
}

// Adds "did you mean" to an unknown-option error that lists what is allowed but suggests
// nothing (the rate source's reader does not).
Status with_suggestion(const Status& status, const std::string& key) {
  const std::string& message = status.message();
  const size_t allowed = message.find("(allowed: ");
  if (message.find("unknown option") == std::string::npos || allowed == std::string::npos ||
      message.find("did you mean") != std::string::npos) {
    return status;
  }
  const size_t end = message.find(')', allowed);
  std::vector<std::string> names;
  std::string list = message.substr(allowed + 10, end - allowed - 10);
  for (size_t start = 0; start <= list.size();) {
    size_t comma = list.find(", ", start);
    if (comma == std::string::npos) comma = list.size();
    names.push_back(list.substr(start, comma - start));
    start = comma + 2;
  }
  const std::string suggestion = closest_name(key, names);
  if (suggestion.empty()) return status;
  std::string text = message;
  text.insert(allowed - 1, "; did you mean '" + suggestion + "'?");
  return Status(status.code(), text);
}

// Places an error about options at the option it quotes: an unknown option at its name, a bad
// value at the value; otherwise at `fallback`.
Status locate_option_error(const SourceText& source, const Statement& statement,
                           const Status& status, size_t fallback) {
  const std::string& message = status.message();
  for (const auto& option : statement.options) {
    if (message.find("'" + option.key + "'") == std::string::npos) continue;
    const bool unknown = message.find("unknown option") != std::string::npos;
    return source.locate(unknown ? option.key_offset : option.value_offset,
                         with_suggestion(status, option.key));
  }
  return source.locate(fallback, status);
}

Status check_connector(const SourceText& source, const Statement& statement, bool sink,
                       std::string& connector) {
  const std::vector<std::string>& available = sink ? kSinkConnectors : kSourceConnectors;
  const std::vector<std::string>& planned =
      sink ? kPlannedSinkConnectors : kPlannedSourceConnectors;
  const std::string what = sink ? "sinks" : "sources";
  const StatementOption* option = find_option(statement, "connector");
  if (option == nullptr) {
    return source.error_at(statement.with_offset, StatusCode::invalid_argument,
                           std::string(sink ? "CREATE SINK" : "CREATE SOURCE") +
                               " needs connector = '...' in WITH (" + what +
                               " available: " + list_names(available) + ")");
  }
  connector = lower(option->value);
  if (connector == "filesystem") connector = "file";
  if (contains(available, connector)) return Status::ok();
  if (contains(kFileFormats, connector)) {
    return source.error_at(option->value_offset, StatusCode::invalid_argument,
                           "'" + option->value +
                               "' is a format of the file connector: write "
                               "connector = 'file', format = '" +
                               connector + "', path = '...'");
  }
  if (contains(planned, connector)) {
    return source.error_at(option->value_offset, StatusCode::invalid_argument,
                           "connector '" + option->value + "' is not available yet (" + what +
                               " available today: " + list_names(available) + ")");
  }
  std::vector<std::string> all = available;
  all.insert(all.end(), planned.begin(), planned.end());
  std::string message = "unknown connector '" + option->value + "'";
  const std::string suggestion = closest_name(connector, all);
  if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
  return source.error_at(option->value_offset, StatusCode::invalid_argument,
                         message + " (" + what + " available: " + list_names(available) + ")");
}

// The format and directory of a file connector.
struct FileSettings {
  std::string format;
  std::string path;
};

Result<FileSettings> file_settings(const SourceText& source, const Statement& statement,
                                   bool sink) {
  const std::vector<std::string> formats = sink ? std::vector<std::string>{"csv", "json"}
                                                : std::vector<std::string>{"csv", "json", "text"};
  FileSettings settings;
  const StatementOption* format = find_option(statement, "format");
  if (format == nullptr) {
    return source.error_at(statement.with_offset, StatusCode::invalid_argument,
                           "the file connector needs format = '" + formats[0] +
                               "' (formats: " + list_names(formats) + ")");
  }
  settings.format = lower(format->value);
  if (!contains(formats, settings.format)) {
    std::string message = "the file connector " + std::string(sink ? "writes" : "reads") +
                          " no format '" + format->value + "'";
    if (settings.format == "parquet") message = "format 'parquet' is not available yet";
    return source.error_at(format->value_offset, StatusCode::invalid_argument,
                           message + " (formats: " + list_names(formats) + ")");
  }
  const StatementOption* path = find_option(statement, "path");
  if (path == nullptr) {
    return source.error_at(statement.with_offset, StatusCode::invalid_argument,
                           std::string("the file connector needs path = '/a/directory'") +
                               (sink ? "" : " (or a glob such as '/in/*.json')"));
  }
  settings.path = path->value;
  return settings;
}

Result<int64_t> parse_short_duration(std::string_view text) {
  // "1s", "500ms", "2m", "1h": a number glued to a unit; anything else is Sluice's spelling.
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  if (digits > 0 && digits < text.size()) {
    int64_t amount = 0;
    std::from_chars(text.data(), text.data() + digits, amount);
    const std::string unit = lower(text.substr(digits));
    if (unit == "ms") return amount * 1'000;
    if (unit == "s") return amount * 1'000'000;
    if (unit == "m" || unit == "min") return amount * 60'000'000;
    if (unit == "h") return amount * 3'600'000'000;
  }
  if (digits == text.size() && digits > 0) {
    int64_t amount = 0;
    std::from_chars(text.data(), text.data() + digits, amount);
    if (amount == 0) return 0;
  }
  return parse_interval(text);
}

}  // namespace

Result<Trigger> parse_trigger(std::string_view text) {
  const std::string value = lower(text);
  if (value == "once") return Trigger::Once();
  if (value == "available-now" || value == "available_now" || value == "availablenow") {
    return Trigger::AvailableNow();
  }
  if (value.rfind("continuous", 0) == 0) {
    std::string_view interval = std::string_view(value).substr(10);
    int64_t micros = 1'000'000;
    if (!interval.empty()) {
      if (interval[0] != ':') {
        return Status::invalid_argument("bad trigger '" + std::string(text) +
                                        "': write continuous:1s");
      }
      auto parsed = parse_short_duration(interval.substr(1));
      if (!parsed.ok()) return parsed.status().with_context("trigger '" + std::string(text) + "'");
      micros = *parsed;
    }
    return Trigger::Continuous(std::chrono::milliseconds(micros / 1000));
  }
  auto micros = parse_short_duration(text);
  if (!micros.ok() || *micros < 0) {
    return Status::invalid_argument("bad trigger '" + std::string(text) +
                                    "': use an interval (1s, 500ms, '10 seconds'), once, "
                                    "available-now or continuous:1s");
  }
  return Trigger::ProcessingTime(std::chrono::milliseconds(*micros / 1000));
}

namespace {
// Sets a file reader's format, its options (all but connector, format and path) and the
// declared columns as its schema; returns the file settings.
Result<FileSettings> configure_file_reader(DataStreamReader& reader, const SourceText& source,
                                           const Statement& statement) {
  SLUICE_ASSIGN_OR_RETURN(FileSettings file, file_settings(source, statement, false));
  std::map<std::string, std::string> options;
  for (const auto& option : statement.options) {
    const bool consumed = equals_ignoring_case(option.key, "connector") ||
                          equals_ignoring_case(option.key, "format") || equals_ignoring_case(option.key, "path");
    if (!consumed) options[option.key] = option.value;
  }
  reader.format(file.format).options(options);
  if (!statement.columns.empty()) {
    std::vector<Field> fields;
    for (const auto& column : statement.columns) fields.push_back({column.name, column.type, true});
    auto schema = Schema::make(std::move(fields));
    if (!schema.ok()) return source.locate(statement.name_offset, schema.status());
    reader.schema(*schema);
  }
  return file;
}

// Checks the declared columns of CREATE SOURCE/TABLE against the connector's schema (ordering
// them as declared) and applies WATERMARK FOR.
Result<DataFrame> declare_columns(DataFrame frame, const std::string& described, bool partition_columns,
                                  const SourceText& source, const Statement& statement);
}  // namespace

Result<DataFrame> make_source_frame(SessionContext& session, const SqlCatalog& catalog,
                                    const SourceText& source, const Statement& statement) {
  std::string connector;
  SLUICE_RETURN_NOT_OK(check_connector(source, statement, false, connector));
  std::map<std::string, std::string> options;
  for (const auto& option : statement.options) {
    if (!equals_ignoring_case(option.key, "connector")) options[option.key] = option.value;
  }
  std::optional<DataFrame> loaded;
  std::string described;
  bool partition_columns = false;
  if (connector == "file") {
    DataStreamReader reader = session.read_stream();
    SLUICE_ASSIGN_OR_RETURN(FileSettings file, configure_file_reader(reader, source, statement));
    DataFrame frame = reader.load(file.path);
    if (!frame.status().is_ok()) {
      const StatementOption* path = find_option(statement, "path");
      return locate_option_error(source, statement, frame.status(), path->value_offset);
    }
    described = "the " + file.format + " files of " + file.path;
    // Columns from key=value/ directory names follow the declared ones.
    partition_columns = true;
    loaded = frame;
  } else if (connector == "rate" || connector == "socket" || connector == "kafka" ||
             connector == "delta") {
    described = "the " + connector + " source";
    DataFrame frame = session.read_stream().format(connector).options(options).load();
    if (!frame.status().is_ok()) {
      return locate_option_error(source, statement, frame.status(), statement.with_offset);
    }
    loaded = frame;
  } else {
    // A MemoryStream registered from code under the source's name (or option 'stream').
    std::string stream = statement.name;
    size_t stream_offset = statement.name_offset;
    for (const auto& option : statement.options) {
      if (equals_ignoring_case(option.key, "connector")) continue;
      if (option.key != "stream") {
        std::string message = "unknown option '" + option.key + "' for the memory connector";
        if (!closest_name(option.key, {"stream"}).empty()) message += "; did you mean 'stream'?";
        return source.error_at(option.key_offset, StatusCode::invalid_argument,
                               message + " (allowed: stream)");
      }
      stream = option.value;
      stream_offset = option.value_offset;
    }
    auto plan = catalog.stream(stream);
    if (!plan) {
      return source.error_at(stream_offset, StatusCode::not_found,
                             "no MemoryStream is registered as '" + stream +
                                 "' (register one from code with SqlContext::register_stream)");
    }
    described = "stream '" + stream + "'";
    loaded = DataFrame(session.state(), *plan);
  }
  return declare_columns(*loaded, described, partition_columns, source, statement);
}

Result<DataFrame> make_table_frame(SessionContext& session, const SourceText& source,
                                   const Statement& statement) {
  const StatementOption* option = find_option(statement, "connector");
  if (option == nullptr) {
    return source.error_at(statement.with_offset, StatusCode::invalid_argument,
                           "CREATE TABLE needs connector = '...' in WITH (tables: file, delta, table)");
  }
  std::string connector = lower(option->value);
  if (connector == "filesystem") connector = "file";
  if (connector != "file" && connector != "delta" && connector != "table") {
    std::string message = "CREATE TABLE reads a static table from connector 'file', 'delta' or 'table', not '" +
                          option->value + "'";
    if (contains(kSourceConnectors, connector)) message += "; a " + connector + " stream is a CREATE SOURCE";
    return source.error_at(option->value_offset, StatusCode::invalid_argument, message);
  }
  DataStreamReader reader = session.read();
  std::string path;
  std::string described;
  if (connector == "file") {
    SLUICE_ASSIGN_OR_RETURN(FileSettings file, configure_file_reader(reader, source, statement));
    path = file.path;
    described = "the " + file.format + " files of " + file.path;
  } else {
    std::map<std::string, std::string> options;
    for (const auto& entry : statement.options) {
      if (!equals_ignoring_case(entry.key, "connector")) options[entry.key] = entry.value;
    }
    reader.format(connector).options(options);
    described = "the " + connector + " table";
  }
  DataFrame frame = reader.load(path);
  if (!frame.status().is_ok()) {
    const StatementOption* at = find_option(statement, "path");
    return locate_option_error(source, statement, frame.status(),
                               at != nullptr ? at->value_offset : statement.with_offset);
  }
  return declare_columns(frame, described, connector == "file", source, statement);
}

namespace {

Result<DataFrame> declare_columns(DataFrame frame, const std::string& described, bool partition_columns,
                                  const SourceText& source, const Statement& statement) {
  if (!statement.columns.empty()) {
    const Schema& schema = *frame.schema();
    std::vector<Expr> ordered;
    std::vector<bool> declared(static_cast<size_t>(schema.num_fields()), false);
    bool reordered = false;
    for (size_t i = 0; i < statement.columns.size(); ++i) {
      const ColumnDeclaration& column = statement.columns[i];
      int index = schema.find(column.name);
      for (int f = 0; f < schema.num_fields() && index < 0; ++f) {
        if (equals_ignoring_case(schema.field(f).name, column.name)) index = f;
      }
      if (index < 0) {
        std::vector<std::string> names;
        for (const auto& field : schema.fields())
          names.push_back(field.name);
        std::string message = described + " has no column '" + column.name + "'";
        const std::string suggestion = closest_name(column.name, names);
        if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
        return source.error_at(column.offset, StatusCode::not_found,
                               message + " (its columns: " + schema.to_string() + ")");
      }
      const Field& field = schema.field(index);
      if (field.type != column.type) {
        return source.error_at(column.type_offset, StatusCode::type_error,
                               "column '" + field.name + "' is " +
                                   std::string(type_name(field.type)) + " in " + described +
                                   ", declared " + std::string(type_name(column.type)));
      }
      declared[static_cast<size_t>(index)] = true;
      reordered |= index != static_cast<int>(i);
      ordered.push_back(col(field.name));
    }
    for (int f = 0; f < schema.num_fields(); ++f) {
      if (!declared[static_cast<size_t>(f)] && !partition_columns) {
        return source.error_at(statement.name_offset, StatusCode::invalid_argument,
                               "column '" + schema.field(f).name + "' of " + described +
                                   " is not declared; declare all of (" + schema.to_string() +
                                   ") or none");
      }
    }
    if (reordered) frame = frame.select(ordered);
  }

  if (statement.watermark) {
    const WatermarkDeclaration& watermark = *statement.watermark;
    const Schema& schema = *frame.schema();
    int index = schema.find(watermark.column);
    for (int f = 0; f < schema.num_fields() && index < 0; ++f) {
      if (equals_ignoring_case(schema.field(f).name, watermark.column)) index = f;
    }
    if (index < 0) {
      std::vector<std::string> names;
      for (const auto& field : schema.fields())
        names.push_back(field.name);
      std::string message = "WATERMARK FOR names column '" + watermark.column + "', which " +
                            described + " does not have";
      const std::string suggestion = closest_name(watermark.column, names);
      if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
      return source.error_at(watermark.column_offset, StatusCode::not_found, message);
    }
    const Field& field = schema.field(index);
    if (field.type != Type::Timestamp) {
      return source.error_at(watermark.column_offset, StatusCode::type_error,
                             "the watermark column '" + field.name + "' is " +
                                 std::string(type_name(field.type)) + ", not TIMESTAMP");
    }
    const std::string shape = "WATERMARK FOR " + watermark.column + " AS " + watermark.column +
                              " - INTERVAL '5' SECOND (the event time minus how late rows may "
                              "arrive)";
    ExpressionTranslator expressions(source, watermark.expression->base, false);
    auto statements = watermark.expression->statements();
    const ParseNode* expression = nullptr;
    if (statements.size() == 1) {
      auto targets = statements[0]->body().list("targetList");
      if (targets.size() == 1) expression = targets[0]->body().get("val");
    }
    auto is_time_column = [&](const ParseNode* node) {
      if (node == nullptr || node->node_type() != "ColumnRef") return false;
      auto fields = node->body().list("fields");
      return fields.size() == 1 &&
             equals_ignoring_case(fields[0]->body().string_field("sval"), watermark.column);
    };
    std::string delay;
    if (is_time_column(expression)) {
      delay = "0 seconds";
    } else if (expression != nullptr && expression->node_type() == "A_Expr" &&
               expression->body().string_field("kind") == "AEXPR_OP" &&
               is_time_column(expression->body().get("lexpr")) &&
               expression->body().get("rexpr") != nullptr) {
      auto names = expression->body().list("name");
      if (names.size() != 1 || names[0]->body().string_field("sval") != "-") {
        return source.error_at(expressions.offset(*expression, watermark.expression_offset),
                               StatusCode::invalid_argument, "expected " + shape);
      }
      SLUICE_ASSIGN_OR_RETURN(delay, expressions.duration(*expression->body().get("rexpr")));
    } else {
      return source.error_at(watermark.expression_offset, StatusCode::invalid_argument,
                             "expected " + shape);
    }
    frame = frame.with_watermark(field.name, delay);
    if (!frame.status().is_ok()) return source.locate(watermark.expression_offset, frame.status());
  }
  return frame;
}

}  // namespace

Status check_sink_declaration(const SourceText& source, const Statement& statement) {
  std::string connector;
  SLUICE_RETURN_NOT_OK(check_connector(source, statement, true, connector));
  if (connector == "file") SLUICE_RETURN_NOT_OK(file_settings(source, statement, true).status());
  if ((connector == "delta" || connector == "table") && find_option(statement, "path") == nullptr) {
    return source.error_at(statement.with_offset, StatusCode::invalid_argument,
                           "the " + connector + " connector needs path = '/a/table/directory'");
  }
  if (const StatementOption* mode = find_option(statement, "output_mode")) {
    const std::string value = lower(mode->value);
    if (value != "append" && value != "update" && value != "complete") {
      return source.error_at(
          mode->value_offset, StatusCode::invalid_argument,
          "output_mode must be append, update or complete, got '" + mode->value + "'");
    }
  }
  if (const StatementOption* trigger = find_option(statement, "trigger")) {
    auto parsed = parse_trigger(trigger->value);
    if (!parsed.ok()) return source.locate(trigger->value_offset, parsed.status());
  }
  return Status::ok();
}

Result<PreparedSink> prepare_sink(const TranslatedQuery& query, SourceTextPtr query_source,
                                  const Statement& declaration, SourceTextPtr declaration_source,
                                  const SinkOverrides& overrides) {
  const SourceText& source = *declaration_source;
  SLUICE_RETURN_NOT_OK(check_sink_declaration(source, declaration));
  PreparedSink sink{declaration.name,   query.frame.write_stream(), query,
                    OutputMode::Append, std::move(query_source),    declaration,
                    declaration_source};
  DataStreamWriter& writer = sink.writer;
  writer.query_name(declaration.name);
  bool has_checkpoint = false;
  std::string connector;
  SLUICE_RETURN_NOT_OK(check_connector(source, declaration, true, connector));
  for (const auto& option : declaration.options) {
    const std::string key = lower(option.key);
    if (key == "connector") {
      if (connector != "file") writer.format(connector);
    } else if (connector == "file" && key == "format") {
      writer.format(lower(option.value));
    } else if (key == "partition_by" || option.key == "partitionBy") {
      writer.partition_by(split_list(option.value));
    } else if (key == "output_mode") {
      const std::string value = lower(option.value);
      sink.mode = value == "complete" ? OutputMode::Complete
                  : value == "update" ? OutputMode::Update
                                      : OutputMode::Append;
      writer.output_mode(sink.mode);
    } else if (key == "trigger") {
      SLUICE_ASSIGN_OR_RETURN(Trigger trigger, parse_trigger(option.value));
      writer.trigger(trigger);
    } else if (key == "checkpoint_location" || option.key == "checkpointLocation") {
      writer.option("checkpointLocation", option.value);
      has_checkpoint = true;
    } else {
      const std::string suggestion = closest_name(option.key, kSinkKeys);
      if (!suggestion.empty() && !contains(kSinkKeys, key)) {
        return source.error_at(
            option.key_offset, StatusCode::invalid_argument,
            "unknown option '" + option.key + "' for a sink; did you mean '" + suggestion + "'?");
      }
      writer.option(option.key, option.value);
    }
  }
  if (overrides.trigger) writer.trigger(*overrides.trigger);
  if (!has_checkpoint && !overrides.checkpoint_root.empty()) {
    writer.option("checkpointLocation", overrides.checkpoint_root + "/" + declaration.name);
  }
  return sink;
}

Status PreparedSink::locate(const Status& status) const {
  if (status.is_ok()) return status;
  const std::string& message = status.message();
  if (message.find("option '") != std::string::npos) {
    return locate_option_error(*declaration_source, declaration, status, declaration.with_offset);
  }
  if (message.find("a query named '") != std::string::npos) {
    return declaration_source->locate(declaration.name_offset, status);
  }
  if (message.find("unknown sink format") != std::string::npos) {
    return locate_option_error(*declaration_source, declaration, status, declaration.with_offset);
  }
  return query.locate(*query_source, status);
}

Status PreparedSink::check() const {
  const PlanPtr& plan = *query.frame.plan();
  SLUICE_RETURN_NOT_OK(locate(check_output_mode(plan, mode)));
  auto optimized = Optimizer().optimize(plan);
  if (!optimized.ok()) return locate(optimized.status());
  return locate(plan_physical(*optimized).status());
}

Result<StreamingQuery> PreparedSink::start() {
  auto started = writer.start();
  if (!started.ok()) {
    Status status = started.status();
    // start() prefixes errors of the plan with "cannot start the query: "; the position says it.
    return locate(status);
  }
  return *started;
}

}  // namespace sluice
