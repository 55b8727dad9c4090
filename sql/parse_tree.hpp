#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "sql/source_text.hpp"

namespace sluice {

/// One value of the JSON parse tree libpg_query produces: an object, array, string, number,
/// boolean or null. PostgreSQL nodes appear as one-member objects ({"A_Const": {...}}), whose
/// member name is the node type. Fields at their default value (0, false, empty) are left out
/// by libpg_query, so accessors take a fallback. Immutable after parsing.
class ParseNode {
 public:
  enum class Kind { null, boolean, integer, real, string, array, object };

  Kind kind() const { return kind_; }
  bool is_object() const { return kind_ == Kind::object; }

  /// Returns the member `key` of an object, or nullptr.
  const ParseNode* get(std::string_view key) const;
  /// Returns the node type of a wrapped node ("A_Const"), or "" for anything else.
  std::string_view node_type() const;
  /// Returns the fields of a wrapped node (the value of its one member), or this node.
  const ParseNode& body() const;
  /// Returns the elements of an array, or the member values of an object.
  const std::vector<ParseNode>& items() const { return items_; }
  const std::vector<std::string>& keys() const { return keys_; }

  bool boolean() const { return bool_; }
  int64_t integer() const { return integer_; }
  double real() const { return real_; }
  const std::string& string() const { return string_; }

  /// Reads a string member ("" when absent).
  std::string string_field(std::string_view key) const;
  /// Reads an integer member (fallback when absent).
  int64_t int_field(std::string_view key, int64_t fallback = 0) const;
  /// Reads a boolean member (false when absent).
  bool bool_field(std::string_view key) const;
  /// Returns the elements of an array member (empty when absent).
  std::vector<const ParseNode*> list(std::string_view key) const;
  /// Returns the node's "location" (a byte offset into the parsed text), or -1.
  int64_t location() const { return int_field("location", -1); }

  /// Builds nodes; used by parse_sql.
  static ParseNode make_scalar(Kind kind, bool b, int64_t i, double d, std::string s);
  static ParseNode make_array(std::vector<ParseNode> items);
  static ParseNode make_object(std::vector<std::string> keys, std::vector<ParseNode> values);

 private:
  Kind kind_ = Kind::null;
  bool bool_ = false;
  int64_t integer_ = 0;
  double real_ = 0;
  std::string string_;
  std::vector<std::string> keys_;
  std::vector<ParseNode> items_;
};

/// Holds the parse tree of a piece of SQL text, and how its locations map back to the user's
/// text: user offset = base + location.
struct ParsedSql {
  ParseNode root;
  int64_t base = 0;
  /// Returns the statements (the "stmt" of each RawStmt), in order.
  std::vector<const ParseNode*> statements() const;
  /// Returns the user-text offset of the start of statement i.
  size_t statement_offset(size_t index) const;
};

/// Parses source.text()[begin, end) with PostgreSQL's grammar (libpg_query), preceded by
/// `prefix` (e.g. "SELECT " to parse an expression). A syntax error is reported at its place in
/// the user's text, with the line and a caret. Thread-safe.
Result<ParsedSql> parse_sql(const SourceText& source, size_t begin, size_t end,
                            std::string_view prefix = "");

}  // namespace sluice
