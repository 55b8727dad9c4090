#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "sql/source_text.hpp"

namespace sluice {

/// Names the kind of a lexical token of SQL text.
enum class TokenKind {
  word,         ///< a keyword or unquoted identifier, as written
  quoted_word,  ///< a "quoted identifier", unescaped
  string,       ///< a 'string literal', unescaped
  number,       ///< a numeric literal, as written
  symbol,       ///< punctuation or an operator: ( ) , ; = . :: <= ...
};

/// One token with its place in the user's text.
struct Token {
  TokenKind kind = TokenKind::symbol;
  size_t begin = 0;
  size_t end = 0;
  std::string text;

  /// Returns true for a word equal to `keyword`, ignoring case.
  bool is(std::string_view keyword) const;
  bool is_symbol(std::string_view symbol) const {
    return kind == TokenKind::symbol && text == symbol;
  }
  /// Returns true for a word or quoted word (something that can name a table or column).
  bool is_name() const { return kind == TokenKind::word || kind == TokenKind::quoted_word; }
};

/// Splits SQL text into tokens with PostgreSQL's lexical rules: '' and E'' strings, ""
/// identifiers, $tag$ strings, -- and nested /* */ comments. Fails at an unterminated string,
/// identifier or comment, pointing at its start.
Result<std::vector<Token>> tokenize(const SourceText& source);

/// Returns true when a and b are equal ignoring ASCII case.
bool equals_ignoring_case(std::string_view a, std::string_view b);

}  // namespace sluice
