#include "io/file_format.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_map>

namespace sluice {

namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

int64_t days_in_month(int64_t year, int64_t month) {
  static constexpr int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

std::optional<int64_t> make_micros(int64_t year, int64_t month, int64_t day, int64_t hour,
                                   int64_t minute, int64_t second, int64_t micros) {
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour < 0 ||
      hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return std::nullopt;
  }
  return days_from_civil(year, month, day) * kMicrosPerDay +
         ((hour * 60 + minute) * 60 + second) * kMicrosPerSecond + micros;
}

// Reads exactly `width` digits (or 1..max digits when width is 0) at pos.
bool read_digits(std::string_view text, size_t& pos, int min, int max, int64_t& value) {
  value = 0;
  int count = 0;
  while (pos < text.size() && count < max && text[pos] >= '0' && text[pos] <= '9') {
    value = value * 10 + (text[pos] - '0');
    ++pos;
    ++count;
  }
  return count >= min;
}

std::optional<int64_t> parse_iso(std::string_view text) {
  if (!text.empty() && text.back() == 'Z') text.remove_suffix(1);
  size_t pos = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, micros = 0;
  if (!read_digits(text, pos, 4, 4, year) || pos >= text.size() || text[pos++] != '-' ||
      !read_digits(text, pos, 1, 2, month) || pos >= text.size() || text[pos++] != '-' ||
      !read_digits(text, pos, 1, 2, day)) {
    return std::nullopt;
  }
  if (pos < text.size()) {
    if (text[pos] != ' ' && text[pos] != 'T') return std::nullopt;
    ++pos;
    if (!read_digits(text, pos, 1, 2, hour) || pos >= text.size() || text[pos++] != ':' ||
        !read_digits(text, pos, 1, 2, minute)) {
      return std::nullopt;
    }
    if (pos < text.size()) {
      if (text[pos++] != ':' || !read_digits(text, pos, 1, 2, second)) return std::nullopt;
      if (pos < text.size()) {
        if (text[pos++] != '.') return std::nullopt;
        int digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          if (digits < 6) micros = micros * 10 + (text[pos] - '0');
          ++digits;
          ++pos;
        }
        if (digits == 0 || pos != text.size()) return std::nullopt;
        for (int d = digits; d < 6; ++d)
          micros *= 10;
      }
    }
  }
  return make_micros(year, month, day, hour, minute, second, micros);
}

bool parse_int64(std::string_view text, int64_t& value) {
  const char* begin = text.data();
  if (!text.empty() && text.front() == '+') ++begin;
  auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool parse_double(std::string_view text, double& value) {
  if (text.empty()) return false;
  const char* begin = text.data();
  if (text.front() == '+') ++begin;
  auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// One parsed cell, before the record is known to be good.
struct Cell {
  bool null = true;
  bool flag = false;
  int64_t integer = 0;
  double real = 0;
  std::string_view text;
};

void append_cell(ColumnBuilder& builder, Type type, const Cell& cell) {
  if (cell.null) return builder.append_null();
  switch (type) {
    case Type::Bool:
      return builder.append_bool(cell.flag);
    case Type::Int64:
      return builder.append_int64(cell.integer);
    case Type::Double:
      return builder.append_double(cell.real);
    case Type::Timestamp:
      return builder.append_timestamp(cell.integer);
    case Type::String:
      return builder.append_string(cell.text);
  }
}

// Converts text to a cell of `type`; returns false when the text is not a value of that type.
bool convert_text(std::string_view text, Type type, const TimestampParser& timestamps, Cell& cell) {
  cell.null = false;
  switch (type) {
    case Type::String:
      cell.text = text;
      return true;
    case Type::Int64:
      return parse_int64(text, cell.integer);
    case Type::Double:
      return parse_double(text, cell.real);
    case Type::Bool:
      if (equals_ignore_case(text, "true")) return cell.flag = true, true;
      if (equals_ignore_case(text, "false")) return cell.flag = false, true;
      return false;
    case Type::Timestamp: {
      auto micros = timestamps.parse(text);
      if (!micros) return false;
      cell.integer = *micros;
      return true;
    }
  }
  return false;
}

std::string quote_text(std::string_view text) {
  constexpr size_t kShown = 60;
  std::string shown(text.substr(0, kShown));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return "'" + shown + (text.size() > kShown ? "...'" : "'");
}

// Splits one CSV line into fields; quoted fields are unescaped into `scratch` (reserved to the
// line's size, so views into it stay valid). Returns an error reason or "".
std::string split_csv(std::string_view line, const FileFormatOptions& options, std::string& scratch,
                      std::vector<std::string_view>& fields) {
  fields.clear();
  scratch.clear();
  scratch.reserve(line.size());
  size_t pos = 0;
  while (true) {
    if (pos < line.size() && line[pos] == options.quote) {
      const size_t start = scratch.size();
      ++pos;
      bool closed = false;
      while (pos < line.size()) {
        const char c = line[pos];
        if (c == options.escape && options.escape != options.quote && pos + 1 < line.size() &&
            (line[pos + 1] == options.quote || line[pos + 1] == options.escape)) {
          scratch.push_back(line[pos + 1]);
          pos += 2;
        } else if (c == options.quote) {
          if (pos + 1 < line.size() && line[pos + 1] == options.quote) {
            scratch.push_back(c);
            pos += 2;
          } else {
            ++pos;
            closed = true;
            break;
          }
        } else {
          scratch.push_back(c);
          ++pos;
        }
      }
      if (!closed) return "unterminated quote";
      fields.emplace_back(scratch.data() + start, scratch.size() - start);
      if (pos < line.size() && line[pos] != options.delimiter) {
        return "text after the closing quote of field " + std::to_string(fields.size());
      }
    } else {
      const void* found = pos < line.size()
                              ? std::memchr(line.data() + pos, options.delimiter, line.size() - pos)
                              : nullptr;
      const size_t end =
          found ? static_cast<size_t>(static_cast<const char*>(found) - line.data()) : line.size();
      fields.push_back(line.substr(pos, end - pos));
      pos = end;
    }
    if (pos >= line.size()) return "";
    ++pos;  // the delimiter
  }
}

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

Result<TimestampParser> TimestampParser::make(std::string_view pattern) {
  TimestampParser parser;
  if (pattern.empty()) return parser;
  parser.iso_ = false;
  size_t pos = 0;
  while (pos < pattern.size()) {
    const char c = pattern[pos];
    if (c == '\'') {
      const size_t close = pattern.find('\'', pos + 1);
      if (close == std::string_view::npos) {
        return Status::invalid_argument("timestampFormat '" + std::string(pattern) +
                                        "' has an unclosed quote");
      }
      parser.tokens_.push_back({0, 0, std::string(pattern.substr(pos + 1, close - pos - 1))});
      pos = close + 1;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      if (std::string_view("yMdHmsS").find(c) == std::string_view::npos) {
        return Status::invalid_argument("timestampFormat '" + std::string(pattern) +
                                        "' uses unsupported letter '" + std::string(1, c) +
                                        "' (supported: y M d H m s S)");
      }
      size_t end = pos;
      while (end < pattern.size() && pattern[end] == c)
        ++end;
      parser.tokens_.push_back({c, static_cast<int>(end - pos), {}});
      pos = end;
    } else {
      parser.tokens_.push_back({0, 0, std::string(1, c)});
      ++pos;
    }
  }
  return parser;
}

std::optional<int64_t> TimestampParser::parse(std::string_view text) const {
  if (iso_) return parse_iso(text);
  int64_t year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, micros = 0;
  size_t pos = 0;
  for (const auto& token : tokens_) {
    if (token.letter == 0) {
      if (text.substr(pos, token.literal.size()) != token.literal) return std::nullopt;
      pos += token.literal.size();
      continue;
    }
    int64_t value = 0;
    if (token.letter == 'S') {
      const size_t start = pos;
      if (!read_digits(text, pos, token.width, token.width, value)) return std::nullopt;
      int digits = static_cast<int>(pos - start);
      while (digits > 6)
        value /= 10, --digits;
      while (digits < 6)
        value *= 10, ++digits;
      micros = value;
      continue;
    }
    const int min = token.width >= 2 ? token.width : 1;
    const int max = token.letter == 'y' ? (token.width == 2 ? 2 : 9) : std::max(token.width, 2);
    if (!read_digits(text, pos, min, max, value)) return std::nullopt;
    switch (token.letter) {
      case 'y':
        year = token.width == 2 ? 2000 + value : value;
        break;
      case 'M':
        month = value;
        break;
      case 'd':
        day = value;
        break;
      case 'H':
        hour = value;
        break;
      case 'm':
        minute = value;
        break;
      case 's':
        second = value;
        break;
      default:
        break;
    }
  }
  if (pos != text.size()) return std::nullopt;
  return make_micros(year, month, day, hour, minute, second, micros);
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
  std::vector<Cell> cells(num_columns);
  // Partition values are the same for every row of the file: convert them once.
  std::vector<Cell> partition_cells(num_columns);
  for (size_t c = 0; c < num_columns; ++c) {
    if (columns_[c].kind != ColumnSource::Kind::partition) continue;
    auto it = partition_values.find(columns_[c].name);
    if (it == partition_values.end() || it->second == "__HIVE_DEFAULT_PARTITION__") continue;
    if (!convert_text(it->second, columns_[c].type, *timestamps_, partition_cells[c])) {
      partition_cells[c] = Cell{};
    }
  }
  std::vector<std::string_view> fields;
  std::string scratch;
  simdjson::ondemand::parser json_parser;
  std::vector<int> json_slot;  // column of each JSON key, looked up per key
  std::unordered_map<std::string_view, int> json_columns;
  for (size_t c = 0; c < num_columns; ++c) {
    if (columns_[c].kind == ColumnSource::Kind::field)
      json_columns.emplace(columns_[c].name, static_cast<int>(c));
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
      reason = split_csv(line, options_, scratch, fields);
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
          cells[c] = Cell{};
          if (reason.empty()) {
            reason = "field '" + source.name + "' (column " +
                     std::to_string(source.field_index + 1) + "): " + quote_text(text) +
                     " is not a " + std::string(type_name(source.type));
          }
        }
      }
    } else {
      // The line is followed by the rest of the file and the padding, so simdjson may read on.
      simdjson::padded_string_view view(line.data(), line.size(),
                                        bytes.size() + kPadding - line_start);
      simdjson::ondemand::document document;
      simdjson::ondemand::object object;
      auto error = json_parser.iterate(view).get(document);
      if (!error) error = document.get_object().get(object);
      if (error) {
        reason = error == simdjson::INCORRECT_TYPE
                     ? "not a JSON object"
                     : std::string("malformed JSON: ") + simdjson::error_message(error);
      } else {
        for (auto field_result : object) {
          simdjson::ondemand::field field;
          if ((error = std::move(field_result).get(field))) break;
          std::string_view key;
          if ((error = field.unescaped_key().get(key))) break;
          auto found = json_columns.find(key);
          if (found == json_columns.end())
            continue;  // skipped lazily: only used columns are parsed
          const size_t c = static_cast<size_t>(found->second);
          const ColumnSource& source = columns_[c];
          simdjson::ondemand::value value = field.value();
          simdjson::ondemand::json_type kind;
          if ((error = value.type().get(kind))) break;
          Cell& cell = cells[c];
          cell = Cell{};
          if (kind == simdjson::ondemand::json_type::null) {
            bool is_null = false;
            if ((error = value.is_null().get(is_null))) break;
            continue;
          }
          bool ok = true;
          switch (source.type) {
            case Type::Int64:
              ok = kind == simdjson::ondemand::json_type::number &&
                   !value.get_int64().get(cell.integer);
              break;
            case Type::Double:
              ok = kind == simdjson::ondemand::json_type::number &&
                   !value.get_double().get(cell.real);
              break;
            case Type::Bool:
              ok = kind == simdjson::ondemand::json_type::boolean &&
                   !value.get_bool().get(cell.flag);
              break;
            case Type::String:
              if (kind == simdjson::ondemand::json_type::string) {
                ok = !value.get_string().get(cell.text);
              } else {
                cell.text = value.raw_json_token();
                ok = true;  // Spark keeps other JSON as its text
              }
              break;
            case Type::Timestamp: {
              std::string_view text;
              ok = kind == simdjson::ondemand::json_type::string && !value.get_string().get(text) &&
                   convert_text(text, Type::Timestamp, *timestamps_, cell);
              if (!ok && kind == simdjson::ondemand::json_type::number) {
                double seconds = 0;  // Spark reads a number as seconds since the epoch
                ok = !value.get_double().get(seconds);
                cell.integer = static_cast<int64_t>(seconds * 1e6);
              }
              break;
            }
          }
          cell.null = !ok;
          if (!ok && reason.empty()) {
            reason = "field '" + source.name + "': a JSON " +
                     std::string(kind == simdjson::ondemand::json_type::string    ? "string"
                                 : kind == simdjson::ondemand::json_type::number  ? "number"
                                 : kind == simdjson::ondemand::json_type::boolean ? "boolean"
                                 : kind == simdjson::ondemand::json_type::array   ? "array"
                                                                                  : "object") +
                     " is not a " + std::string(type_name(source.type));
          }
        }
        // simdjson 3.0 has no document::at_end: a line must at least end where its object does.
        if (!error) {
          const size_t last = line.find_last_not_of(" \t");
          if (last == std::string_view::npos || line[last] != '}')
            error = simdjson::TRAILING_CONTENT;
        }
        if (error) reason = std::string("malformed JSON: ") + simdjson::error_message(error);
      }
      if (!reason.empty() && reason.rfind("malformed", 0) == 0) {
        for (size_t c = 0; c < num_columns; ++c) {
          if (columns_[c].kind == ColumnSource::Kind::field) cells[c] = Cell{};
        }
      }
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
  if (parse_int64(text, integer)) return Type::Int64;
  if (parse_double(text, real)) return Type::Double;
  if (equals_ignore_case(text, "true") || equals_ignore_case(text, "false")) return Type::Bool;
  if (parse_iso(text)) return Type::Timestamp;
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
        if (!split_csv(line, options, scratch, fields).empty()) continue;
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

void append_json_string(std::string_view text, std::string& out) {
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

namespace {

void append_number(double value, std::string& out) {
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof(text), value);
  (void)error;
  out.append(text, end);
}

void append_value_text(const Column& column, int64_t row, std::string& out) {
  switch (column.type()) {
    case Type::Bool:
      out += column.values<uint8_t>()[row] ? "true" : "false";
      break;
    case Type::Int64:
      out += std::to_string(column.values<int64_t>()[row]);
      break;
    case Type::Double:
      append_number(column.values<double>()[row], out);
      break;
    case Type::Timestamp:
      out += format_timestamp(column.values<int64_t>()[row]);
      break;
    case Type::String:
      out += column.string_at(row);
      break;
  }
}

}  // namespace

void append_csv_record(const RecordBatch& batch, int64_t row, const std::vector<int>& columns,
                       const FileFormatOptions& options, std::string& out) {
  bool first = true;
  for (int index : columns) {
    if (!first) out.push_back(options.delimiter);
    first = false;
    const Column& column = *batch.column(index);
    if (column.is_null(row)) {
      out += options.null_value;
      continue;
    }
    if (column.type() != Type::String) {
      append_value_text(column, row, out);
      continue;
    }
    std::string_view text = column.string_at(row);
    const bool needs_quotes =
        text.empty() || text.find_first_of(std::string{options.delimiter, options.quote, '\n', '\r',
                                                       options.escape}) != std::string_view::npos;
    if (!needs_quotes) {
      out += text;
      continue;
    }
    out.push_back(options.quote);
    for (char c : text) {
      // Doubling reads back through split_csv: "" is a quote, \\ an escape character.
      if (c == options.quote || c == options.escape) out.push_back(c);
      if (c == '\n') {
        out += ' ';  // records are lines: a newline inside a value would split the record
        continue;
      }
      out.push_back(c);
    }
    out.push_back(options.quote);
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
    switch (column.type()) {
      case Type::String:
        append_json_string(column.string_at(row), out);
        break;
      case Type::Timestamp:
        append_json_string(format_timestamp(column.values<int64_t>()[row]), out);
        break;
      case Type::Double: {
        const double value = column.values<double>()[row];
        if (std::isfinite(value)) {
          append_number(value, out);
        } else {
          append_json_string(std::isnan(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity", out);
        }
        break;
      }
      default:
        append_value_text(column, row, out);
        break;
    }
  }
  out += "}\n";
}

}  // namespace sluice
