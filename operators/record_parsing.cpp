#include "operators/record_parsing.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/value.hpp"

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

}  // namespace

std::optional<int64_t> parse_iso_timestamp(std::string_view text) {
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

bool parse_int64_text(std::string_view text, int64_t& value) {
  const char* begin = text.data();
  if (!text.empty() && text.front() == '+') ++begin;
  auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool parse_double_text(std::string_view text, double& value) {
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

void append_cell(ColumnBuilder& builder, Type type, const ParsedCell& cell) {
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
bool convert_text(std::string_view text, Type type, const TimestampParser& timestamps,
                  ParsedCell& cell) {
  cell.null = false;
  switch (type) {
    case Type::String:
      cell.text = text;
      return true;
    case Type::Int64:
      return parse_int64_text(text, cell.integer);
    case Type::Double:
      return parse_double_text(text, cell.real);
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
std::string split_csv(std::string_view line, const CsvDialect& options, std::string& scratch,
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
  if (iso_) return parse_iso_timestamp(text);
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

void append_number_text(double value, std::string& out) {
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof(text), value);
  (void)error;
  out.append(text, end);
}

}  // namespace

void append_json_double(double value, std::string& out) {
  if (std::isfinite(value)) {
    append_number_text(value, out);
  } else {
    append_json_string(std::isnan(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity", out);
  }
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
      append_number_text(column.values<double>()[row], out);
      break;
    case Type::Timestamp:
      out += format_timestamp(column.values<int64_t>()[row]);
      break;
    case Type::String:
      out += column.string_at(row);
      break;
  }
}

void append_json_value(const Column& column, int64_t row, std::string& out) {
  switch (column.type()) {
    case Type::String:
      append_json_string(column.string_at(row), out);
      break;
    case Type::Timestamp:
      append_json_string(format_timestamp(column.values<int64_t>()[row]), out);
      break;
    case Type::Double:
      append_json_double(column.values<double>()[row], out);
      break;
    default:
      append_value_text(column, row, out);
      break;
  }
}

void append_csv_field(const Column& column, int64_t row, const CsvDialect& dialect,
                      std::string_view null_value, std::string& out) {
  if (column.is_null(row)) {
    out += null_value;
    return;
  }
  if (column.type() != Type::String) {
    append_value_text(column, row, out);
    return;
  }
  std::string_view text = column.string_at(row);
  const char specials[] = {dialect.delimiter, dialect.quote, '\n', '\r', dialect.escape};
  const bool needs_quotes =
      text.empty() ||
      text.find_first_of(std::string_view(specials, sizeof specials)) != std::string_view::npos;
  if (!needs_quotes) {
    out += text;
    return;
  }
  out.push_back(dialect.quote);
  for (char c : text) {
    // Doubling reads back through split_csv: "" is a quote, \\ an escape character.
    if (c == dialect.quote || c == dialect.escape) out.push_back(c);
    if (c == '\n') {
      out += ' ';  // records are lines: a newline inside a value would split the record
      continue;
    }
    out.push_back(c);
  }
  out.push_back(dialect.quote);
}

namespace {

const char* json_kind_name(simdjson::ondemand::json_type kind) {
  switch (kind) {
    case simdjson::ondemand::json_type::string:
      return "string";
    case simdjson::ondemand::json_type::number:
      return "number";
    case simdjson::ondemand::json_type::boolean:
      return "boolean";
    case simdjson::ondemand::json_type::array:
      return "array";
    case simdjson::ondemand::json_type::object:
      return "object";
    case simdjson::ondemand::json_type::null:
      return "null";
  }
  return "value";
}

std::string_view trim_right(std::string_view text) {
  const size_t last = text.find_last_not_of(" \t\r\n");
  return last == std::string_view::npos ? std::string_view() : text.substr(0, last + 1);
}

}  // namespace

struct JsonRecordReader::Impl {
  std::vector<RecordField> fields;
  // Keys point into `fields`, which never changes after construction.
  std::unordered_map<std::string_view, size_t> by_name;

  // Returns the index of the wanted field named `key`, or fields.size(). A few fields (the
  // usual case) are compared directly, which beats hashing every key of every record.
  size_t find(std::string_view key) const {
    if (fields.size() <= 8) {
      for (size_t i = 0; i < fields.size(); ++i) {
        if (fields[i].name.size() == key.size() && std::memcmp(fields[i].name.data(), key.data(), key.size()) == 0) {
          return i;
        }
      }
      return fields.size();
    }
    auto found = by_name.find(key);
    return found == by_name.end() ? fields.size() : found->second;
  }
  const TimestampParser* timestamps = nullptr;
  simdjson::ondemand::parser parser;
  std::string padded;  // a copy of a record without enough readable bytes after it

  // Reads one value into its cell; returns false when it is not a value of the field's type.
  simdjson::error_code read_value(const RecordField& field, simdjson::ondemand::value value,
                                  simdjson::ondemand::json_type kind, ParsedCell& cell, bool& ok) {
    using simdjson::ondemand::json_type;
    ok = true;
    switch (field.type) {
      case Type::Int64:
        ok = kind == json_type::number && !value.get_int64().get(cell.integer);
        break;
      case Type::Double:
        ok = kind == json_type::number && !value.get_double().get(cell.real);
        break;
      case Type::Bool:
        ok = kind == json_type::boolean && !value.get_bool().get(cell.flag);
        break;
      case Type::String:
        // Spark keeps any other JSON value as its text.
        if (kind == json_type::string) return value.get_string().get(cell.text);
        if (kind == json_type::object) {
          simdjson::ondemand::object object;
          if (auto error = value.get_object().get(object)) return error;
          return object.raw_json().get(cell.text);
        }
        if (kind == json_type::array) {
          simdjson::ondemand::array array;
          if (auto error = value.get_array().get(array)) return error;
          return array.raw_json().get(cell.text);
        }
        cell.text = trim_right(value.raw_json_token());
        break;
      case Type::Timestamp: {
        std::string_view text;
        ok = kind == json_type::string && !value.get_string().get(text) &&
             convert_text(text, Type::Timestamp, *timestamps, cell);
        if (!ok && kind == json_type::number) {
          double seconds = 0;  // Spark reads a number as seconds since the epoch
          ok = !value.get_double().get(seconds) && std::isfinite(seconds) &&
               std::abs(seconds) < 9.2e12;
          cell.integer = static_cast<int64_t>(std::llround(seconds * 1e6));
        }
        break;
      }
    }
    return simdjson::SUCCESS;
  }
};

JsonRecordReader::JsonRecordReader(std::vector<RecordField> fields,
                                   const TimestampParser& timestamps)
    : impl_(std::make_unique<Impl>()) {
  impl_->fields = std::move(fields);
  impl_->timestamps = &timestamps;
  for (size_t i = 0; i < impl_->fields.size(); ++i) {
    impl_->by_name[impl_->fields[i].name] = i;
  }
}

JsonRecordReader::~JsonRecordReader() = default;

std::string JsonRecordReader::read(std::string_view text, size_t readable,
                                   std::vector<ParsedCell>& cells, bool& malformed) {
  Impl& impl = *impl_;
  if (readable < text.size() + kPadding) {
    impl.padded.assign(text);
    impl.padded.resize(text.size() + kPadding, ' ');
    text = std::string_view(impl.padded.data(), text.size());
    readable = impl.padded.size();
  }
  auto reset_fields = [&] {
    for (const auto& field : impl.fields)
      cells[static_cast<size_t>(field.cell)] = ParsedCell{};
  };
  simdjson::padded_string_view view(text.data(), text.size(), readable);
  simdjson::ondemand::document document;
  simdjson::ondemand::object object;
  auto error = impl.parser.iterate(view).get(document);
  if (!error) error = document.get_object().get(object);
  if (error) {
    malformed = true;
    reset_fields();
    return error == simdjson::INCORRECT_TYPE
               ? "not a JSON object"
               : std::string("malformed JSON: ") + simdjson::error_message(error);
  }
  std::string reason;
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    if ((error = std::move(field_result).get(field))) break;
    // Keys are compared as they stand in the text; only a key with an escape is unescaped.
    std::string_view key;
    const char* raw = field.key().raw();
    const char* end = raw;
    while (*end != '"' && *end != '\\') ++end;
    if (*end == '"') {
      key = std::string_view(raw, static_cast<size_t>(end - raw));
    } else if ((error = field.unescaped_key().get(key))) {
      break;
    }
    const size_t index = impl.find(key);
    if (index == impl.fields.size()) continue;  // skipped lazily: only wanted keys are parsed
    const RecordField& wanted = impl.fields[index];
    ParsedCell& cell = cells[static_cast<size_t>(wanted.cell)];
    cell = ParsedCell{};
    simdjson::ondemand::value value = field.value();
    simdjson::ondemand::json_type kind;
    if ((error = value.type().get(kind))) break;
    if (kind == simdjson::ondemand::json_type::null) {
      bool is_null = false;
      if ((error = value.is_null().get(is_null))) break;
      continue;
    }
    bool ok = true;
    if ((error = impl.read_value(wanted, value, kind, cell, ok))) break;
    cell.null = !ok;
    if (!ok && reason.empty()) {
      reason = "field '" + wanted.name + "': a JSON " + json_kind_name(kind) + " is not a " +
               std::string(type_name(wanted.type));
    }
  }
  // simdjson 3.0 has no document::at_end: past the object, current_location must be out of
  // bounds (no token left).
  if (!error) {
    const char* rest = nullptr;
    const std::string_view trimmed = trim_right(text);
    if (trimmed.empty() || trimmed.back() != '}' ||
        document.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) {
      error = simdjson::TRAILING_CONTENT;
    }
  }
  if (error) {
    malformed = true;
    reset_fields();
    return std::string("malformed JSON: ") + simdjson::error_message(error);
  }
  return reason;
}
}  // namespace sluice
