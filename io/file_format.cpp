#include "io/file_format.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_map>

namespace sluice {

namespace {

Status write_bad_record_reason(ParseMode mode, const BadRecord& record) {
  if (mode != ParseMode::fail_fast) return Status::ok();
  return Status::invalid_argument("malformed record in " + record.file + ":" +
                                  std::to_string(record.line) + ": " + record.reason +
                                  " (mode FAILFAST; use PERMISSIVE or DROPMALFORMED to go on)");
}

}  // namespace

std::string_view file_format_name(FileFormat format) {
  switch (format) {
    case FileFormat::csv:
      return "csv";
    case FileFormat::json:
      return "json";
    case FileFormat::text:
      return "text";
  }
  return "?";
}

Result<FileFormatOptions> FileFormatOptions::parse(FileFormat format,
                                                   std::map<std::string, std::string>& options) {
  FileFormatOptions parsed;
  parsed.format = format;
  auto take = [&](const std::string& key) -> std::optional<std::string> {
    auto it = options.find(key);
    if (it == options.end()) return std::nullopt;
    std::string value = it->second;
    options.erase(it);
    return value;
  };
  auto one_char = [&](const std::string& key, char& target) -> Status {
    auto value = take(key);
    if (!value) return Status::ok();
    if (value->size() != 1) {
      return Status::invalid_argument("option '" + key + "' must be one character, got '" + *value +
                                      "'");
    }
    target = value->front();
    return Status::ok();
  };
  if (auto mode = take("mode")) {
    if (equals_ignore_case(*mode, "PERMISSIVE")) {
      parsed.mode = ParseMode::permissive;
    } else if (equals_ignore_case(*mode, "DROPMALFORMED")) {
      parsed.mode = ParseMode::drop_malformed;
    } else if (equals_ignore_case(*mode, "FAILFAST")) {
      parsed.mode = ParseMode::fail_fast;
    } else {
      return Status::invalid_argument(
          "option 'mode' must be PERMISSIVE, DROPMALFORMED or FAILFAST, got '" + *mode + "'");
    }
  }
  if (auto path = take("badRecordsPath")) parsed.bad_records_path = *path;
  if (auto length = take("maxRecordLength")) {
    int64_t value = 0;
    auto [end, error] = std::from_chars(length->data(), length->data() + length->size(), value);
    if (error != std::errc() || end != length->data() + length->size() || value < 1) {
      return Status::invalid_argument("option 'maxRecordLength' must be a number of bytes >= 1, got '" + *length + "'");
    }
    parsed.max_record_length = value;
  }
  if (auto column = take("columnNameOfCorruptRecord")) parsed.corrupt_column = *column;
  if (format == FileFormat::text) return parsed;
  if (auto pattern = take("timestampFormat")) {
    SLUICE_RETURN_NOT_OK(TimestampParser::make(*pattern).status());
    parsed.timestamp_format = *pattern;
  }
  if (format != FileFormat::csv) return parsed;
  if (auto header = take("header")) {
    if (*header != "true" && *header != "false") {
      return Status::invalid_argument("option 'header' must be true or false, got '" + *header +
                                      "'");
    }
    parsed.header = *header == "true";
  }
  SLUICE_RETURN_NOT_OK(one_char("sep", parsed.delimiter));
  SLUICE_RETURN_NOT_OK(one_char("delimiter", parsed.delimiter));
  SLUICE_RETURN_NOT_OK(one_char("quote", parsed.quote));
  SLUICE_RETURN_NOT_OK(one_char("escape", parsed.escape));
  if (auto null_value = take("nullValue")) parsed.null_value = *null_value;
  return parsed;
}

Result<std::shared_ptr<const RecordParser>> RecordParser::make(
    FileFormatOptions options, const SchemaPtr& data_schema,
    const std::vector<std::string>& partition_keys, SchemaPtr output) {
  std::shared_ptr<RecordParser> parser(new RecordParser());
  SLUICE_ASSIGN_OR_RETURN(TimestampParser timestamps,
                          TimestampParser::make(options.timestamp_format));
  parser->timestamps_ = std::move(timestamps);
  // The file's own columns: the data schema without partition and corrupt-record columns.
  std::vector<std::string> file_columns;
  for (const auto& field : data_schema->fields()) {
    bool is_partition = false;
    for (const auto& key : partition_keys)
      is_partition |= key == field.name;
    if (!is_partition && field.name != options.corrupt_column) file_columns.push_back(field.name);
  }
  parser->num_data_fields_ = static_cast<int>(file_columns.size());
  for (const auto& field : output->fields()) {
    ColumnSource source;
    source.name = field.name;
    source.type = field.type;
    bool is_partition = false;
    for (const auto& key : partition_keys)
      is_partition |= key == field.name;
    if (is_partition) {
      source.kind = ColumnSource::Kind::partition;
    } else if (field.name == options.corrupt_column && options.format != FileFormat::text) {
      if (field.type != Type::String) {
        return Status::type_error("column '" + field.name +
                                  "' holds corrupt records and must be STRING");
      }
      source.kind = ColumnSource::Kind::corrupt_record;
    } else {
      for (size_t i = 0; i < file_columns.size(); ++i) {
        if (file_columns[i] == field.name) source.field_index = static_cast<int>(i);
      }
      if (source.field_index < 0) {
        return Status::invalid_argument("column '" + field.name + "' is not in the file schema");
      }
      if (options.format == FileFormat::text && field.type != Type::String) {
        return Status::type_error("the text format produces STRING column '" + field.name +
                                  "', not " + std::string(type_name(field.type)));
      }
    }
    parser->columns_.push_back(std::move(source));
  }
  parser->options_ = std::move(options);
  parser->output_ = std::move(output);
  return std::shared_ptr<const RecordParser>(parser);
}

Status RecordParser::parse(const std::string& file, std::string_view bytes,
                           const std::map<std::string, std::string>& partition_values,
                           RecordBatchBuilder& out, std::vector<BadRecord>& bad) const {
  const size_t num_columns = columns_.size();
  std::vector<ParsedCell> cells(num_columns);
  // Partition values are the same for every row of the file: convert them once.
  std::vector<ParsedCell> partition_cells(num_columns);
  for (size_t c = 0; c < num_columns; ++c) {
    if (columns_[c].kind != ColumnSource::Kind::partition) continue;
    auto it = partition_values.find(columns_[c].name);
    if (it == partition_values.end() || it->second == "__HIVE_DEFAULT_PARTITION__") continue;
    if (!convert_text(it->second, columns_[c].type, *timestamps_, partition_cells[c])) {
      partition_cells[c] = ParsedCell{};
    }
  }
  std::vector<std::string_view> fields;
  std::string scratch;
  const CsvDialect dialect{options_.delimiter, options_.quote, options_.escape};
  std::optional<JsonRecordReader> json_reader;
  if (options_.format == FileFormat::json) {
    std::vector<RecordField> json_fields;
    for (size_t c = 0; c < num_columns; ++c) {
      if (columns_[c].kind == ColumnSource::Kind::field)
        json_fields.push_back({columns_[c].name, columns_[c].type, static_cast<int>(c)});
    }
    json_reader.emplace(std::move(json_fields), *timestamps_);
  }
  int64_t line_number = 0;
  size_t pos = 0;
  bool skip_header = options_.header && options_.format == FileFormat::csv;
  while (pos < bytes.size()) {
    const void* newline = std::memchr(bytes.data() + pos, '\n', bytes.size() - pos);
    const size_t end = newline
                           ? static_cast<size_t>(static_cast<const char*>(newline) - bytes.data())
                           : bytes.size();
    std::string_view line = bytes.substr(pos, end - pos);
    const size_t line_start = pos;
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (static_cast<int64_t>(line.size()) > options_.max_record_length) {
      // Only a prefix of the text is kept (in bad records and _corrupt_record).
      constexpr size_t kKept = 1024;
      BadRecord record{file, line_number,
                       "a record of " + std::to_string(line.size()) + " bytes is longer than maxRecordLength (" +
                           std::to_string(options_.max_record_length) + ")",
                       std::string(line.substr(0, kKept)) + "..."};
      SLUICE_RETURN_NOT_OK(write_bad_record_reason(options_.mode, record));
      const bool keep = options_.mode == ParseMode::permissive && options_.bad_records_path.empty() &&
                        options_.format != FileFormat::text;
      if (keep) {
        for (size_t c = 0; c < num_columns; ++c) {
          cells[c] = partition_cells[c];
          if (columns_[c].kind == ColumnSource::Kind::corrupt_record) {
            cells[c].null = false;
            cells[c].text = line.substr(0, kKept);
          }
        }
        for (size_t c = 0; c < num_columns; ++c) append_cell(out.column(static_cast<int>(c)), columns_[c].type, cells[c]);
      }
      bad.push_back(std::move(record));
      continue;
    }
    if (options_.format == FileFormat::text) {
      for (size_t c = 0; c < num_columns; ++c) {
        if (columns_[c].kind == ColumnSource::Kind::partition) {
          append_cell(out.column(static_cast<int>(c)), columns_[c].type, partition_cells[c]);
        } else {
          out.column(static_cast<int>(c)).append_string(line);
        }
      }
      continue;
    }
    if (line.empty()) continue;
    if (skip_header) {
      skip_header = false;
      continue;
    }
    std::string reason;
    for (size_t c = 0; c < num_columns; ++c)
      cells[c] = partition_cells[c];
    if (options_.format == FileFormat::csv) {
      reason = split_csv(line, dialect, scratch, fields);
      if (reason.empty() && static_cast<int>(fields.size()) != num_data_fields_) {
        reason = "expected " + std::to_string(num_data_fields_) + " fields, found " +
                 std::to_string(fields.size());
      }
      for (size_t c = 0; c < num_columns; ++c) {
        const ColumnSource& source = columns_[c];
        if (source.kind != ColumnSource::Kind::field) continue;
        if (source.field_index >= static_cast<int>(fields.size())) continue;
        std::string_view text = fields[static_cast<size_t>(source.field_index)];
        if (text == options_.null_value) continue;
        if (!convert_text(text, source.type, *timestamps_, cells[c])) {
          cells[c] = ParsedCell{};
          if (reason.empty()) {
            reason = "field '" + source.name + "' (column " +
                     std::to_string(source.field_index + 1) + "): " + quote_text(text) +
                     " is not a " + std::string(type_name(source.type));
          }
        }
      }
    } else {
      // The line is followed by the rest of the file and the padding, so simdjson may read on.
      bool malformed = false;
      reason = json_reader->read(line, bytes.size() + kPadding - line_start, cells, malformed);
    }
    if (!reason.empty()) {
      BadRecord record{file, line_number, reason, std::string(line)};
      SLUICE_RETURN_NOT_OK(write_bad_record_reason(options_.mode, record));
      const bool keep = options_.mode == ParseMode::permissive && options_.bad_records_path.empty();
      bad.push_back(std::move(record));
      if (!keep) continue;
      for (size_t c = 0; c < num_columns; ++c) {
        if (columns_[c].kind == ColumnSource::Kind::corrupt_record) {
          cells[c].null = false;
          cells[c].text = line;
        }
      }
    }
    for (size_t c = 0; c < num_columns; ++c)
      append_cell(out.column(static_cast<int>(c)), columns_[c].type, cells[c]);
  }
  return Status::ok();
}

namespace {

Type widen(Type seen, Type next) {
  if (seen == next) return seen;
  if ((seen == Type::Int64 && next == Type::Double) ||
      (seen == Type::Double && next == Type::Int64)) {
    return Type::Double;
  }
  return Type::String;
}

Type guess_type(std::string_view text) {
  int64_t integer = 0;
  double real = 0;
  if (parse_int64_text(text, integer)) return Type::Int64;
  if (parse_double_text(text, real)) return Type::Double;
  if (equals_ignore_case(text, "true") || equals_ignore_case(text, "false")) return Type::Bool;
  if (parse_iso_timestamp(text)) return Type::Timestamp;
  return Type::String;
}

}  // namespace

Result<SchemaPtr> infer_schema(const FileFormatOptions& options,
                               const std::vector<std::string>& samples) {
  std::vector<std::string> names;
  std::vector<std::optional<Type>> types;
  auto observe = [&](size_t column, Type type) {
    if (!types[column]) {
      types[column] = type;
    } else {
      types[column] = widen(*types[column], type);
    }
  };
  std::string scratch;
  const CsvDialect dialect{options.delimiter, options.quote, options.escape};
  std::vector<std::string_view> fields;
  simdjson::ondemand::parser parser;
  for (const std::string& sample : samples) {
    bool header = options.header;
    size_t pos = 0;
    while (pos < sample.size()) {
      size_t end = sample.find('\n', pos);
      if (end == std::string::npos) end = sample.size();
      std::string_view line(sample.data() + pos, end - pos);
      pos = end + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      if (options.format == FileFormat::csv) {
        if (!split_csv(line, dialect, scratch, fields).empty()) continue;
        if (header) {
          header = false;
          if (names.empty()) {
            for (auto field : fields)
              names.emplace_back(field);
            types.resize(names.size());
          }
          continue;
        }
        if (names.empty()) {
          for (size_t i = 0; i < fields.size(); ++i)
            names.push_back("_c" + std::to_string(i));
          types.resize(names.size());
        }
        for (size_t i = 0; i < fields.size() && i < names.size(); ++i) {
          if (fields[i] != options.null_value) observe(i, guess_type(fields[i]));
        }
      } else {
        simdjson::padded_string padded(line);
        simdjson::ondemand::document document;
        if (parser.iterate(padded).get(document)) continue;
        simdjson::ondemand::object object;
        if (document.get_object().get(object)) continue;
        for (auto field_result : object) {
          simdjson::ondemand::field field;
          if (std::move(field_result).get(field)) break;
          std::string_view key;
          if (field.unescaped_key().get(key)) break;
          size_t column = names.size();
          for (size_t i = 0; i < names.size(); ++i) {
            if (names[i] == key) column = i;
          }
          if (column == names.size()) {
            names.emplace_back(key);
            types.emplace_back();
          }
          simdjson::ondemand::json_type kind;
          if (field.value().type().get(kind)) break;
          switch (kind) {
            case simdjson::ondemand::json_type::null:
              break;
            case simdjson::ondemand::json_type::boolean:
              observe(column, Type::Bool);
              break;
            case simdjson::ondemand::json_type::number: {
              simdjson::ondemand::number_type number;
              if (field.value().get_number_type().get(number)) break;
              observe(column, number == simdjson::ondemand::number_type::floating_point_number
                                  ? Type::Double
                                  : Type::Int64);
              break;
            }
            default:
              observe(column, Type::String);
              break;
          }
        }
      }
    }
  }
  if (names.empty())
    return Status::invalid_argument("cannot infer a schema: the sample files hold no records");
  std::vector<Field> result;
  for (size_t i = 0; i < names.size(); ++i)
    result.push_back({names[i], types[i].value_or(Type::String), true});
  return Schema::make(std::move(result));
}

void append_csv_record(const RecordBatch& batch, int64_t row, const std::vector<int>& columns,
                       const FileFormatOptions& options, std::string& out) {
  const CsvDialect dialect{options.delimiter, options.quote, options.escape};
  bool first = true;
  for (int index : columns) {
    if (!first) out.push_back(options.delimiter);
    first = false;
    append_csv_field(*batch.column(index), row, dialect, options.null_value, out);
  }
  out.push_back('\n');
}

void append_json_record(const RecordBatch& batch, int64_t row, const std::vector<int>& columns,
                        std::string& out) {
  out.push_back('{');
  bool first = true;
  for (int index : columns) {
    const Column& column = *batch.column(index);
    if (column.is_null(row)) continue;
    if (!first) out.push_back(',');
    first = false;
    append_json_string(batch.schema()->field(index).name, out);
    out.push_back(':');
    append_json_value(column, row, out);
  }
  out += "}\n";
}

}  // namespace sluice
