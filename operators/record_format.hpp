#pragma once

// Record-format functions: from_json / from_csv parse a STRING column (a Kafka value, a line)
// into typed columns; to_json / to_csv turn columns into one STRING per row.
//
// Sluice has no struct type, so a parse yields several flat columns, as window(...) yields
// window.start and window.end: `select(from_json(col("value"), schema).alias("data"))` gives the
// columns data.sensor, data.temp, ... (read them with col("data.temp")); without an alias the
// columns take the bare field names (like Spark's "data.*"). A from_json / from_csv call is
// therefore allowed only as a top-level item of select / with_column (the planner expands it
// into one expression per field, see expand_record_columns); anywhere else binding fails
// with an error that says so.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operators/expression.hpp"

namespace sluice {

/// Options of from_json and from_csv, with Spark's names:
/// - mode: PERMISSIVE (default: a malformed record gives NULL fields, and its text in the
///   corrupt-record column when the schema has one) or FAILFAST (evaluation fails naming the
///   record's text, truncated, and the problem). DROPMALFORMED is refused, as in Spark.
/// - columnNameOfCorruptRecord: the STRING field of the schema that receives the text of
///   malformed records (default "_corrupt_record"; it is not read from the record).
/// - timestampFormat: a pattern as for to_timestamp; default the ISO forms.
/// - from_csv only: sep (or delimiter), quote, escape (one character each), nullValue (the
///   text read as NULL, default the empty field).
using RecordFormatOptions = std::map<std::string, std::string>;

/// Parses a DDL schema: "sensor STRING, temp DOUBLE, ts TIMESTAMP" (SQL type names as in CAST;
/// a name may be `quoted` with backticks and followed by ':'). Fails naming the bad token and
/// its position.
Result<SchemaPtr> parse_ddl_schema(std::string_view ddl);
/// Renders a schema as DDL that parse_ddl_schema reads back.
std::string schema_to_ddl(const Schema& schema);

/// Parses JSON objects into the schema's fields, Spark's from_json: a key missing from the
/// object, a JSON null and a NULL or empty input give NULL; extra keys are ignored; a value
/// of the wrong type (a string where a number is expected) is a malformed record (PERMISSIVE:
/// that field is NULL, the others keep their values). A STRING field takes any other JSON value
/// as its text ({"a":[1,2]} gives "[1,2]"). A TIMESTAMP field reads strings in the ISO forms
/// (or timestampFormat) and, as Spark does, numbers as seconds since the epoch.
///
/// Only the fields a query reads are parsed (in PERMISSIVE mode without a corrupt-record
/// column): a type error in a field nobody reads then goes unnoticed. FAILFAST checks them all.
Expr from_json(Expr value, const Schema& schema, RecordFormatOptions options = {});
/// Takes the schema as DDL text; a bad schema fails at analysis (select), naming the token.
Expr from_json(Expr value, std::string ddl, RecordFormatOptions options = {});
/// Parses CSV records (fields by position) into the schema's fields, Spark's from_csv: too few
/// or too many fields, an unterminated quote, or a field that is not a value of its type is a
/// malformed record; the fields that did convert keep their values.
Expr from_csv(Expr value, const Schema& schema, RecordFormatOptions options = {});
Expr from_csv(Expr value, std::string ddl, RecordFormatOptions options = {});

/// Builds one JSON object per row from the fields, keyed by their output names
/// (`to_json({col("a"), col("b").alias("x")})` gives {"a":1,"x":"y"}); NULL fields are left
/// out, as Spark does, so a row of NULLs gives {}. Never NULL. Timestamps are written as the
/// JSON file sink writes them ("2024-01-01 10:00:00.5"), doubles in shortest round-trip form,
/// NaN and infinities as strings.
Expr to_json(std::vector<Expr> fields);
/// Builds one CSV record per row: comma-separated, NULL as the empty field, strings quoted
/// with '"' when needed (the defaults from_csv reads back). Never NULL.
Expr to_csv(std::vector<Expr> fields);

// For the planner: how a parse is expanded into columns and evaluated in one pass.

/// Returns true for a from_json / from_csv call, which produces several columns.
bool is_record_parse(const Expr& expr);
/// Returns true when a from_json / from_csv call (or a field taken from one) occurs in expr.
bool contains_record_parse(const Expr& expr);

/// Expands a projection item: a from_json / from_csv call, aliased "data" or not, becomes one
/// expression per field of its schema, named "data.field" (or "field"); any other item comes
/// back alone. Fails on a schema or option that does not parse.
Result<std::vector<Expr>> expand_record_columns(const Expr& item);

/// Names one field taken from a from_json / from_csv call.
struct RecordFieldRef {
  Expr call;
  std::string field;
};
/// Returns the call and field when expr (under an alias or not) takes one field of a parse.
std::optional<RecordFieldRef> as_record_field(const Expr& expr);

/// Evaluates several fields of one from_json / from_csv call with a single parse of each
/// batch, reading only those fields. Immutable; evaluate may be called concurrently.
class BoundRecordFields {
 public:
  /// Binds the call's argument against schema; fails as binding one of the fields would.
  static Result<BoundRecordFields> bind(const Expr& call, const std::vector<std::string>& fields,
                                        const Schema& schema, const EvalOptions& options = {});
  /// Returns one column per field, in the order given to bind.
  Result<std::vector<ColumnPtr>> evaluate(const RecordBatch& batch) const;

  struct State;

 private:
  explicit BoundRecordFields(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

}  // namespace sluice
