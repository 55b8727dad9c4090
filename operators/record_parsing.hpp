#pragma once

// Parsing and writing of one JSON or CSV record, shared by the file source and sink (io/) and
// by the record-format functions from_json / from_csv / to_json / to_csv (operators/).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/column.hpp"
#include "core/column_builder.hpp"
#include "core/status.hpp"
#include "core/type.hpp"

namespace sluice {

/// Parses timestamps: ISO forms by default ("yyyy-MM-dd[( |T)HH:mm[:ss[.fraction]]][Z]"), or a
/// Spark/Java pattern made of yyyy, MM, M, dd, d, HH, H, mm, ss, S... and quoted literals.
/// Immutable; parse may be called from several threads at once.
class TimestampParser {
 public:
  /// Compiles a pattern; "" means the ISO forms. Fails naming an unsupported letter.
  static Result<TimestampParser> make(std::string_view pattern);
  /// Returns micros since the epoch (UTC), or nullopt when text does not match.
  std::optional<int64_t> parse(std::string_view text) const;

 private:
  struct Token {
    char letter = 0;  ///< 0 for a literal
    int width = 0;
    std::string literal;
  };
  std::vector<Token> tokens_;
  bool iso_ = true;
};

/// Parses the ISO forms of TimestampParser into micros since the epoch (UTC).
std::optional<int64_t> parse_iso_timestamp(std::string_view text);
/// Parses a whole text as a decimal integer (a leading '+' allowed).
bool parse_int64_text(std::string_view text, int64_t& value);
/// Parses a whole text as a floating-point number (a leading '+' allowed).
bool parse_double_text(std::string_view text, double& value);
/// Compares ASCII text ignoring case.
bool equals_ignore_case(std::string_view a, std::string_view b);

/// Holds one parsed value before its record is known to be good. `text` may point into the
/// record or into the parser's buffers: append it before parsing the next record.
struct ParsedCell {
  bool null = true;
  bool flag = false;
  int64_t integer = 0;  ///< BIGINT, or TIMESTAMP micros
  double real = 0;
  std::string_view text;
};

/// Appends a cell to a builder of `type` (NULL when the cell is null).
void append_cell(ColumnBuilder& builder, Type type, const ParsedCell& cell);

/// Converts text to a cell of `type`; returns false when the text is not a value of that type.
bool convert_text(std::string_view text, Type type, const TimestampParser& timestamps,
                  ParsedCell& cell);

/// Quotes a record's text for an error message: at most 60 bytes, control bytes as '?'.
std::string quote_text(std::string_view text);

/// Says how CSV records are written: Spark's sep, quote and escape options.
struct CsvDialect {
  char delimiter = ',';
  char quote = '"';
  char escape = '\\';
};

/// Splits one CSV line into fields; quoted fields are unescaped into `scratch` (reserved to the
/// line's size, so views into it stay valid). Returns an error reason or "".
std::string split_csv(std::string_view line, const CsvDialect& dialect, std::string& scratch,
                      std::vector<std::string_view>& fields);

/// Names a JSON key to read, the type to read it as, and the cell it goes to.
struct RecordField {
  std::string name;
  Type type = Type::String;
  int cell = 0;
};

/// Reads JSON objects, one record at a time, into cells: only the keys of `fields` are parsed,
/// other values are skipped (simdjson On-Demand). Owns one simdjson parser: make one per thread
/// and batch, not per record. Not thread-safe.
class JsonRecordReader {
 public:
  JsonRecordReader(std::vector<RecordField> fields, const TimestampParser& timestamps);
  ~JsonRecordReader();
  JsonRecordReader(const JsonRecordReader&) = delete;
  JsonRecordReader& operator=(const JsonRecordReader&) = delete;

  /// Parses `text`, one JSON object. `readable` is how many bytes from text.data() may be read
  /// (simdjson reads up to kPadding bytes past the end; the text is copied when fewer are
  /// readable). Sets the cells of the fields found (the caller resets them first). Returns ""
  /// or the reason the record is bad; `malformed` is set when the text is not a JSON object at
  /// all (every field is then reset to null), left alone for a value of the wrong type (that
  /// field is null, the others keep their values).
  std::string read(std::string_view text, size_t readable, std::vector<ParsedCell>& cells,
                   bool& malformed);

  static constexpr size_t kPadding = 64;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Appends text as a JSON string literal (quoted, escaped).
void append_json_string(std::string_view text, std::string& out);
/// Appends a double as JSON does: shortest round-trip digits; NaN and infinities as the
/// strings "NaN", "Infinity", "-Infinity" (as Spark writes them).
void append_json_double(double value, std::string& out);
/// Appends a non-null value as a JSON value: strings and timestamps (as format_timestamp prints
/// them) quoted, doubles as append_json_double does, booleans and integers bare.
void append_json_value(const Column& column, int64_t row, std::string& out);
/// Appends one CSV field: NULL as null_value; a string quoted when it is empty or holds the
/// delimiter, the quote, the escape or a line break (quote and escape doubled, a line break
/// written as a space so that records stay lines).
void append_csv_field(const Column& column, int64_t row, const CsvDialect& dialect,
                      std::string_view null_value, std::string& out);
/// Appends the text of a non-null value of a column: true/false, digits, the timestamp as
/// format_timestamp prints it, the string's bytes unquoted.
void append_value_text(const Column& column, int64_t row, std::string& out);

}  // namespace sluice
