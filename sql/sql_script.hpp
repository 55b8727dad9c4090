#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "core/type.hpp"
#include "sql/parse_tree.hpp"
#include "sql/source_text.hpp"

namespace sluice {

/// Names the kind of a statement of a Sluice SQL script.
enum class StatementKind {
  create_source,  ///< CREATE SOURCE name [(columns, WATERMARK FOR ...)] WITH (...)
  create_table,   ///< CREATE TABLE name [(columns)] WITH (...): a static table
  create_view,    ///< CREATE VIEW name AS query
  create_sink,    ///< CREATE SINK name WITH (...) [AS query]
  insert_into,    ///< INSERT INTO sink query
  set,            ///< SET key = value
  explain,        ///< EXPLAIN query
  query,          ///< a bare query
};

/// Returns "CREATE SOURCE", "INSERT INTO", ... (for messages).
const char* statement_kind_name(StatementKind kind);

/// One `key = 'value'` of a WITH (...) list, with where it was written.
struct StatementOption {
  std::string key;
  std::string value;
  size_t key_offset = 0;
  size_t value_offset = 0;
};

/// One `name TYPE` of CREATE SOURCE's column list.
struct ColumnDeclaration {
  std::string name;
  Type type = Type::Int64;
  size_t offset = 0;
  size_t type_offset = 0;
};

/// `WATERMARK FOR column AS expression` of CREATE SOURCE.
struct WatermarkDeclaration {
  std::string column;
  size_t column_offset = 0;
  size_t expression_offset = 0;
  /// The expression, parsed as the target of a SELECT.
  std::shared_ptr<const ParsedSql> expression;
};

/// One statement of a script, as written: its parts and their offsets in the script's text.
struct Statement {
  StatementKind kind = StatementKind::query;
  size_t begin = 0;
  size_t end = 0;
  /// The source, view or sink name (CREATE ..., INSERT INTO), or the SET key.
  std::string name;
  size_t name_offset = 0;
  /// CREATE SOURCE: the declared columns (empty when not declared) and the watermark.
  std::vector<ColumnDeclaration> columns;
  std::optional<WatermarkDeclaration> watermark;
  /// CREATE SOURCE / CREATE SINK: the WITH options in order, and where WITH was written.
  std::vector<StatementOption> options;
  size_t with_offset = 0;
  /// SET: the value.
  std::string value;
  size_t value_offset = 0;
  /// The query of CREATE VIEW, CREATE SINK ... AS, INSERT INTO, EXPLAIN or a bare query,
  /// already parsed (null when the statement has none).
  std::shared_ptr<const ParsedSql> query;
  size_t query_offset = 0;
};

/// A parsed Sluice SQL script: statements separated by ';'. Sluice's own statements
/// (CREATE SOURCE, CREATE SINK, CREATE VIEW, INSERT INTO, SET, EXPLAIN) are read here; every
/// query and expression inside them is parsed with PostgreSQL's grammar, so a syntax error
/// anywhere is reported before anything runs, at its line and column in the script.
/// Immutable; safe to share between threads.
class SqlScript {
 public:
  /// Parses a script; `name` (a file name) prefixes positions in error messages.
  static Result<SqlScript> parse(std::string text, std::string name = "");

  const std::vector<Statement>& statements() const { return statements_; }
  const SourceTextPtr& source() const { return source_; }

 private:
  SourceTextPtr source_;
  std::vector<Statement> statements_;
};

}  // namespace sluice
