#include "operators/record_format.hpp"

#include <algorithm>
#include <cctype>

#include "operators/bound_node.hpp"
#include "operators/expression_node.hpp"
#include "operators/record_parsing.hpp"
#include "operators/string_writer.hpp"
#include "operators/type_names.hpp"

namespace sluice {

namespace {

constexpr const char* kGetField = "get_field";

// ---------------------------------------------------------------------------------------------
// DDL schemas

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Type names of more than one word; a type is read word by word while it can grow into one.
constexpr const char* kMultiWordTypes[] = {"double precision", "character varying",
                                           "timestamp with time zone",
                                           "timestamp without time zone"};

// Returns true when words are a multi-word type name or its first words.
bool is_type_prefix(const std::string& words) {
  for (const char* name : kMultiWordTypes) {
    const std::string_view full(name);
    if (full == words) return true;
    if (full.size() > words.size() && full.substr(0, words.size()) == words &&
        full[words.size()] == ' ') {
      return true;
    }
  }
  return false;
}

class DdlParser {
 public:
  explicit DdlParser(std::string_view text) : text_(text) {}

  Result<SchemaPtr> parse() {
    std::vector<Field> fields;
    skip_spaces();
    if (pos_ == text_.size()) return fail("the schema is empty; write it as 'name TYPE, ...'");
    while (true) {
      skip_spaces();
      const size_t name_at = pos_;
      SLUICE_ASSIGN_OR_RETURN(std::string name, read_name());
      skip_spaces();
      if (pos_ < text_.size() && text_[pos_] == ':') {
        ++pos_;
        skip_spaces();
      }
      const size_t type_at = pos_;
      std::string type = read_word();
      if (type.empty()) {
        return fail("field '" + name + "' (character " + std::to_string(name_at + 1) +
                    ") has no type" + found_here());
      }
      while (true) {
        const size_t save = pos_;
        skip_spaces();
        const std::string next = read_word();
        if (next.empty() || !is_type_prefix(lower_ascii(type + " " + next))) {
          pos_ = save;
          break;
        }
        type += " " + next;
      }
      skip_spaces();
      if (pos_ < text_.size() && text_[pos_] == '(') {
        // Parameters such as VARCHAR(20) do not change the type.
        const size_t close = text_.find(')', pos_);
        if (close == std::string_view::npos) {
          return fail("unclosed '(' after type '" + type + "' of field '" + name + "'");
        }
        pos_ = close + 1;
        skip_spaces();
      }
      auto parsed = type_from_sql_name(type);
      if (!parsed.ok()) {
        return fail("field '" + name + "' (character " + std::to_string(type_at + 1) +
                    "): " + parsed.status().message());
      }
      fields.push_back({name, *parsed, true});
      if (pos_ == text_.size()) break;
      if (text_[pos_] != ',') {
        return fail("expected ',' or the end after the type of field '" + name + "'" +
                    found_here());
      }
      ++pos_;
    }
    auto schema = Schema::make(std::move(fields));
    if (!schema.ok()) return fail(schema.status().message());
    return schema;
  }

 private:
  Status fail(const std::string& message) const {
    return Status::invalid_argument("cannot parse the schema '" + std::string(text_) +
                                    "': " + message);
  }

  // Describes the token at the current position for an error.
  std::string found_here() const {
    if (pos_ >= text_.size()) return ", found the end of the text";
    size_t end = pos_ + 1;
    if (is_name_char(text_[pos_])) {
      while (end < text_.size() && is_name_char(text_[end]))
        ++end;
    }
    return ", found '" + std::string(text_.substr(pos_, end - pos_)) + "' at character " +
           std::to_string(pos_ + 1);
  }

  void skip_spaces() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }

  std::string read_word() {
    const size_t start = pos_;
    while (pos_ < text_.size() && is_name_char(text_[pos_]))
      ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<std::string> read_name() {
    if (pos_ < text_.size() && text_[pos_] == '`') {
      std::string name;
      ++pos_;
      while (pos_ < text_.size()) {
        if (text_[pos_] == '`') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '`') {
            name += '`';
            pos_ += 2;
            continue;
          }
          ++pos_;
          if (name.empty()) return fail("empty field name at character " + std::to_string(pos_));
          return name;
        }
        name += text_[pos_++];
      }
      return fail("unclosed '`' in a field name");
    }
    std::string name = read_word();
    if (name.empty()) return fail("expected a field name" + found_here());
    return name;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Expressions

Expr make_function(std::string name, std::vector<Expr> children) {
  ExprNode node;
  node.kind = ExprKind::function;
  node.name = std::move(name);
  node.children = std::move(children);
  return Expr(std::make_shared<const ExprNode>(std::move(node)));
}

Expr make_parse(const char* name, Expr value, std::string ddl, const RecordFormatOptions& options) {
  // Parameters are literal children, so that rewrites through with_children keep them.
  std::vector<Expr> children{std::move(value), lit(Value(std::move(ddl)))};
  for (const auto& [key, option] : options) {
    children.push_back(lit(Value(key)));
    children.push_back(lit(Value(option)));
  }
  return make_function(name, std::move(children));
}

Expr get_field(const Expr& call, const std::string& field) {
  return make_function(kGetField, {call, lit(Value(field))});
}

Expr strip_alias(const Expr& expr) {
  return expr.kind() == ExprKind::alias ? expr.children()[0] : expr;
}

bool is_string_literal(const Expr& expr) {
  return expr.kind() == ExprKind::literal && !expr.is_interval() && !expr.literal().is_null() &&
         expr.literal().type() == Type::String;
}

// ---------------------------------------------------------------------------------------------
// Parsing a column

// Holds what a from_json / from_csv call says, checked: the schema and the options.
struct ParseSpec {
  std::string function;  // "from_json" or "from_csv"
  bool json = true;
  SchemaPtr schema;
  bool fail_fast = false;
  int corrupt_index = -1;
  std::optional<TimestampParser> timestamps;
  CsvDialect dialect;
  std::string null_value;
  std::vector<int> csv_position;  // per schema field: its position in a CSV record, -1: none
  int num_csv_fields = 0;
};

Result<std::shared_ptr<const ParseSpec>> make_spec(const Expr& call) {
  const std::string& function = call.function_name();
  const auto& args = call.children();
  if (args.size() < 2 || args.size() % 2 != 0 || !is_string_literal(args[1])) {
    return Status::invalid_argument(function +
                                    " takes a value, a schema (a DDL string literal) and option "
                                    "name/value pairs, in " +
                                    call.to_string());
  }
  auto spec = std::make_shared<ParseSpec>();
  spec->function = function;
  spec->json = function == "from_json";
  auto schema = parse_ddl_schema(args[1].literal().as_string());
  if (!schema.ok()) return schema.status().with_context(function);
  spec->schema = *schema;

  std::vector<std::string> allowed = {"mode", "columnNameOfCorruptRecord", "timestampFormat"};
  if (!spec->json) {
    for (const char* name : {"sep", "delimiter", "quote", "escape", "nullValue"})
      allowed.emplace_back(name);
  }
  std::string corrupt_column = "_corrupt_record";
  std::string timestamp_format;
  for (size_t i = 2; i < args.size(); i += 2) {
    if (!is_string_literal(args[i]) || !is_string_literal(args[i + 1])) {
      return Status::invalid_argument(function + " options must be string literals, in " +
                                      call.to_string());
    }
    const std::string& key = args[i].literal().as_string();
    const std::string& value = args[i + 1].literal().as_string();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string message = "unknown option '" + key + "' for " + function;
      const std::string suggestion = closest_name(key, allowed);
      if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
      std::string listing;
      for (const auto& name : allowed)
        listing += (listing.empty() ? "" : ", ") + name;
      return Status::invalid_argument(message + " (options: " + listing + ")");
    }
    auto one_char = [&](char& target) -> Status {
      if (value.size() != 1) {
        return Status::invalid_argument(function + " option '" + key +
                                        "' must be one character, got '" + value + "'");
      }
      target = value.front();
      return Status::ok();
    };
    if (key == "mode") {
      if (equals_ignore_case(value, "PERMISSIVE")) {
        spec->fail_fast = false;
      } else if (equals_ignore_case(value, "FAILFAST")) {
        spec->fail_fast = true;
      } else {
        return Status::invalid_argument(
            function + " option 'mode' must be PERMISSIVE or FAILFAST, got '" + value + "'" +
            (equals_ignore_case(value, "DROPMALFORMED")
                 ? " (a function cannot drop rows; filter on the "
                   "corrupt-record column instead)"
                 : ""));
      }
    } else if (key == "columnNameOfCorruptRecord") {
      corrupt_column = value;
    } else if (key == "timestampFormat") {
      timestamp_format = value;
    } else if (key == "sep" || key == "delimiter") {
      SLUICE_RETURN_NOT_OK(one_char(spec->dialect.delimiter));
    } else if (key == "quote") {
      SLUICE_RETURN_NOT_OK(one_char(spec->dialect.quote));
    } else if (key == "escape") {
      SLUICE_RETURN_NOT_OK(one_char(spec->dialect.escape));
    } else if (key == "nullValue") {
      spec->null_value = value;
    }
  }
  auto timestamps = TimestampParser::make(timestamp_format);
  if (!timestamps.ok()) return timestamps.status().with_context(function);
  spec->timestamps = std::move(*timestamps);
  spec->corrupt_index = spec->schema->find(corrupt_column);
  if (spec->corrupt_index >= 0 && spec->schema->field(spec->corrupt_index).type != Type::String) {
    return Status::type_error(
        function + ": field '" + corrupt_column +
        "' receives malformed records and must be STRING, not " +
        std::string(type_name(spec->schema->field(spec->corrupt_index).type)));
  }
  for (int f = 0; f < spec->schema->num_fields(); ++f) {
    spec->csv_position.push_back(f == spec->corrupt_index ? -1 : spec->num_csv_fields++);
  }
  return std::shared_ptr<const ParseSpec>(std::move(spec));
}

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Parses one CSV record into the wanted cells; returns "" or why the record is bad.
std::string read_csv_record(const ParseSpec& spec, std::string_view text,
                            const std::vector<int>& wanted, std::string& scratch,
                            std::vector<std::string_view>& fields, std::vector<ParsedCell>& cells) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  std::string reason = split_csv(text, spec.dialect, scratch, fields);
  if (reason.empty() && static_cast<int>(fields.size()) != spec.num_csv_fields) {
    reason = "expected " + std::to_string(spec.num_csv_fields) + " fields, found " +
             std::to_string(fields.size());
  }
  for (int f : wanted) {
    const int position = spec.csv_position[static_cast<size_t>(f)];
    if (position < 0 || position >= static_cast<int>(fields.size())) continue;
    const std::string_view field_text = fields[static_cast<size_t>(position)];
    if (field_text == spec.null_value) continue;
    const Field& field = spec.schema->field(f);
    ParsedCell& cell = cells[static_cast<size_t>(f)];
    if (!convert_text(field_text, field.type, *spec.timestamps, cell)) {
      cell = ParsedCell{};
      if (reason.empty()) {
        reason = "field '" + field.name + "' (column " + std::to_string(position + 1) +
                 "): " + quote_text(field_text) + " is not a " + std::string(type_name(field.type));
      }
    }
  }
  return reason;
}

// Parses every row of `values` once and returns the columns of the schema fields `outputs`.
// Rows outside ctx's active rows never fail (see EvalContext::active).
Result<std::vector<ColumnPtr>> parse_column(const ParseSpec& spec, const Column& values,
                                            int64_t num_rows, const std::vector<int>& outputs,
                                            const EvalContext* ctx) {
  const Schema& schema = *spec.schema;
  const int num_fields = schema.num_fields();
  // FAILFAST and the corrupt-record column need every field checked; otherwise only the
  // fields read are parsed (On-Demand skips the others).
  const bool corrupt_wanted =
      std::find(outputs.begin(), outputs.end(), spec.corrupt_index) != outputs.end();
  const bool check_all = spec.fail_fast || (spec.corrupt_index >= 0 && corrupt_wanted);
  std::vector<int> wanted;
  for (int f = 0; f < num_fields; ++f) {
    if (f == spec.corrupt_index) continue;
    if (check_all || std::find(outputs.begin(), outputs.end(), f) != outputs.end()) {
      wanted.push_back(f);
    }
  }
  std::vector<ColumnBuilder> builders;
  builders.reserve(outputs.size());
  for (int f : outputs) {
    builders.emplace_back(schema.field(f).type);
    builders.back().reserve(num_rows);
  }
  std::vector<ParsedCell> cells(static_cast<size_t>(num_fields));
  std::optional<JsonRecordReader> json;
  if (spec.json) {
    std::vector<RecordField> fields;
    for (int f : wanted)
      fields.push_back({schema.field(f).name, schema.field(f).type, f});
    json.emplace(std::move(fields), *spec.timestamps);
  }
  std::string scratch;
  std::vector<std::string_view> csv_fields;
  // Strings sit back to back in one data buffer: simdjson may read past a record into the
  // next ones and the buffer's padding, so records are copied only near the buffer's end.
  const Buffer* data = values.data_buffer().get();
  const char* data_end =
      data != nullptr ? reinterpret_cast<const char*>(data->data()) + data->capacity() : nullptr;
  for (int64_t row = 0; row < num_rows; ++row) {
    for (auto& cell : cells)
      cell = ParsedCell{};
    std::string_view text;
    const bool present = values.is_valid(row);
    if (present) text = values.string_at(row);
    // Spark's from_json gives NULL for a NULL or empty input, without a malformed record.
    if (present && !is_blank(text)) {
      std::string reason;
      if (json) {
        bool malformed = false;
        const size_t readable =
            data_end != nullptr ? static_cast<size_t>(data_end - text.data()) : text.size();
        reason = json->read(text, readable, cells, malformed);
      } else {
        reason = read_csv_record(spec, text, wanted, scratch, csv_fields, cells);
      }
      if (!reason.empty()) {
        if (spec.fail_fast && (ctx == nullptr || ctx->is_active(row))) {
          return Status::invalid_argument(
              spec.function + ": malformed record " + quote_text(text) + " (row " +
              std::to_string(row + 1) + " of the batch): " + reason +
              " (mode FAILFAST; use mode PERMISSIVE to read such records as NULL)");
        }
        if (spec.corrupt_index >= 0) {
          ParsedCell& corrupt = cells[static_cast<size_t>(spec.corrupt_index)];
          corrupt.null = false;
          corrupt.text = text;
        }
      }
    }
    for (size_t o = 0; o < outputs.size(); ++o) {
      append_cell(builders[o], schema.field(outputs[o]).type,
                  cells[static_cast<size_t>(outputs[o])]);
    }
  }
  std::vector<ColumnPtr> columns;
  for (auto& builder : builders)
    columns.push_back(builder.finish());
  return columns;
}

std::string multi_column_error(const Expr& call) {
  std::string fields;
  if (auto spec = make_spec(call); spec.ok()) {
    for (const auto& field : (*spec)->schema->fields())
      fields += (fields.empty() ? "" : ", ") + field.name;
  }
  const std::string& name = call.function_name();
  return name + "(...) returns several columns (" + fields +
         "): use it as a top-level item of select or with_column, as in select(" + name +
         "(...).alias(\"data\")), and read a field with col(\"data.<field>\"), in " +
         call.to_string();
}

// Takes one field of a from_json / from_csv call.
class RecordFieldNode final : public BoundNode {
 public:
  RecordFieldNode(std::shared_ptr<const ParseSpec> spec, int field, BoundNodePtr value, Expr expr)
      : BoundNode(spec->schema->field(field).type, true, std::move(expr), {std::move(value)}),
        spec_(std::move(spec)),
        field_(field) {
    may_fail = may_fail || spec_->fail_fast;
  }

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr values, children[0]->evaluate(ctx));
    SLUICE_ASSIGN_OR_RETURN(auto columns,
                            parse_column(*spec_, *values, ctx.num_rows, {field_}, &ctx));
    return columns.front();
  }

 private:
  std::shared_ptr<const ParseSpec> spec_;
  int field_;
};

// Writes to_json / to_csv records.
class RecordWriterNode final : public BoundNode {
 public:
  RecordWriterNode(bool json, std::vector<std::string> names, std::vector<BoundNodePtr> fields,
                   Expr expr)
      : BoundNode(Type::String, false, std::move(expr), std::move(fields)),
        json_(json),
        names_(std::move(names)) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    std::vector<ColumnPtr> columns;
    columns.reserve(children.size());
    for (const auto& child : children) {
      SLUICE_ASSIGN_OR_RETURN(ColumnPtr column, child->evaluate(ctx));
      columns.push_back(std::move(column));
    }
    // Field names are escaped once, not per row.
    std::vector<std::string> keys;
    for (const auto& name : names_) {
      std::string key;
      append_json_string(name, key);
      key.push_back(':');
      keys.push_back(std::move(key));
    }
    const CsvDialect dialect;
    StringColumnWriter writer(ctx.num_rows);
    std::string record;
    for (int64_t row = 0; row < ctx.num_rows; ++row) {
      record.clear();
      if (json_) {
        record.push_back('{');
        bool first = true;
        for (size_t i = 0; i < columns.size(); ++i) {
          if (columns[i]->is_null(row)) continue;
          if (!first) record.push_back(',');
          first = false;
          record += keys[i];
          append_json_value(*columns[i], row, record);
        }
        record.push_back('}');
      } else {
        for (size_t i = 0; i < columns.size(); ++i) {
          if (i > 0) record.push_back(dialect.delimiter);
          append_csv_field(*columns[i], row, dialect, "", record);
        }
      }
      writer.append(record);
    }
    return writer.finish(nullptr);
  }

 private:
  bool json_;
  std::vector<std::string> names_;
};

}  // namespace

// -------------------------------------------------------------------------------------------
// Public API

Result<SchemaPtr> parse_ddl_schema(std::string_view ddl) {
  return DdlParser(ddl).parse();
}

std::string schema_to_ddl(const Schema& schema) {
  std::string out;
  for (const auto& field : schema.fields()) {
    if (!out.empty()) out += ", ";
    const bool plain =
        !field.name.empty() && std::all_of(field.name.begin(), field.name.end(), is_name_char);
    if (plain) {
      out += field.name;
    } else {
      out += '`';
      for (char c : field.name) {
        if (c == '`') out += '`';
        out += c;
      }
      out += '`';
    }
    out += ' ';
    out += type_name(field.type);
  }
  return out;
}

Expr from_json(Expr value, const Schema& schema, RecordFormatOptions options) {
  return make_parse("from_json", std::move(value), schema_to_ddl(schema), options);
}
Expr from_json(Expr value, std::string ddl, RecordFormatOptions options) {
  return make_parse("from_json", std::move(value), std::move(ddl), options);
}
Expr from_csv(Expr value, const Schema& schema, RecordFormatOptions options) {
  return make_parse("from_csv", std::move(value), schema_to_ddl(schema), options);
}
Expr from_csv(Expr value, std::string ddl, RecordFormatOptions options) {
  return make_parse("from_csv", std::move(value), std::move(ddl), options);
}
Expr to_json(std::vector<Expr> fields) {
  return make_function("to_json", std::move(fields));
}
Expr to_csv(std::vector<Expr> fields) {
  return make_function("to_csv", std::move(fields));
}

bool is_record_parse(const Expr& expr) {
  return expr.kind() == ExprKind::function &&
         (expr.function_name() == "from_json" || expr.function_name() == "from_csv");
}

bool contains_record_parse(const Expr& expr) {
  if (is_record_parse(expr)) return true;
  return std::any_of(expr.children().begin(), expr.children().end(), contains_record_parse);
}

Result<std::vector<Expr>> expand_record_columns(const Expr& item) {
  const Expr call = strip_alias(item);
  if (!is_record_parse(call)) return std::vector<Expr>{item};
  SLUICE_ASSIGN_OR_RETURN(auto spec, make_spec(call));
  const std::string prefix = item.kind() == ExprKind::alias ? item.alias_name() + "." : "";
  std::vector<Expr> fields;
  for (const auto& field : spec->schema->fields()) {
    fields.push_back(get_field(call, field.name).alias(prefix + field.name));
  }
  return fields;
}

std::optional<RecordFieldRef> as_record_field(const Expr& expr) {
  const Expr e = strip_alias(expr);
  if (e.kind() != ExprKind::function || e.function_name() != kGetField ||
      e.children().size() != 2 || !is_record_parse(e.children()[0]) ||
      !is_string_literal(e.children()[1])) {
    return std::nullopt;
  }
  return RecordFieldRef{e.children()[0], e.children()[1].literal().as_string()};
}

struct BoundRecordFields::State {
  std::shared_ptr<const ParseSpec> spec;
  std::optional<BoundExpr> value;
  std::vector<int> outputs;
};

Result<BoundRecordFields> BoundRecordFields::bind(const Expr& call,
                                                  const std::vector<std::string>& fields,
                                                  const Schema& schema,
                                                  const EvalOptions& options) {
  if (!is_record_parse(call)) {
    return Status::invalid_argument("not a from_json or from_csv call: " + call.to_string());
  }
  auto state = std::make_shared<State>();
  SLUICE_ASSIGN_OR_RETURN(state->spec, make_spec(call));
  SLUICE_ASSIGN_OR_RETURN(BoundExpr value, sluice::bind(call.children()[0], schema, options));
  if (value.type() != Type::String) {
    return Status::type_error(call.function_name() + " reads a STRING, got " +
                              std::string(type_name(value.type())) + " in " + call.to_string());
  }
  state->value = std::move(value);
  for (const auto& field : fields) {
    SLUICE_ASSIGN_OR_RETURN(int index, state->spec->schema->index_of(field));
    state->outputs.push_back(index);
  }
  return BoundRecordFields(std::move(state));
}

Result<std::vector<ColumnPtr>> BoundRecordFields::evaluate(const RecordBatch& batch) const {
  SLUICE_ASSIGN_OR_RETURN(ColumnPtr values, state_->value->evaluate(batch));
  return parse_column(*state_->spec, *values, batch.num_rows(), state_->outputs, nullptr);
}

// -------------------------------------------------------------------------------------------
// Binding (see bound_node.hpp)

bool is_record_format_function(const std::string& name) {
  return name == "from_json" || name == "from_csv" || name == kGetField || name == "to_json" ||
         name == "to_csv";
}

std::vector<Expr> record_format_inputs(const Expr& e) {
  if (e.function_name() == kGetField) {
    if (e.children().empty() || e.children()[0].children().empty()) return {};
    return {e.children()[0].children()[0]};
  }
  if (e.function_name() == "to_json" || e.function_name() == "to_csv") return e.children();
  return {};
}

Result<BoundNodePtr> make_record_format_node(const Expr& e, std::vector<BoundNodePtr> inputs) {
  const std::string& name = e.function_name();
  if (is_record_parse(e)) return Status::invalid_argument(multi_column_error(e));
  if (name == kGetField) {
    auto field = as_record_field(e);
    if (!field || inputs.size() != 1) {
      return Status::invalid_argument(
          "get_field takes a from_json or from_csv call and a field "
          "name, in " +
          e.to_string());
    }
    SLUICE_ASSIGN_OR_RETURN(auto spec, make_spec(field->call));
    SLUICE_ASSIGN_OR_RETURN(int index, spec->schema->index_of(field->field));
    if (inputs[0]->type != Type::String) {
      return Status::type_error(spec->function + " reads a STRING, got " +
                                std::string(type_name(inputs[0]->type)) + " in " +
                                field->call.to_string());
    }
    return BoundNodePtr(
        std::make_shared<RecordFieldNode>(std::move(spec), index, std::move(inputs[0]), e));
  }
  if (inputs.empty()) {
    return Status::invalid_argument(name + " takes at least one field, in " + e.to_string());
  }
  std::vector<std::string> names;
  for (const auto& child : e.children())
    names.push_back(child.output_name());
  return BoundNodePtr(std::make_shared<RecordWriterNode>(name == "to_json", std::move(names),
                                                         std::move(inputs), e));
}

}  // namespace sluice
