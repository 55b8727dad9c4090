#include "sql/sql_lexer.hpp"

#include <cctype>

namespace sluice {

namespace {

bool is_word_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool is_word_part(char c) {
  return is_word_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool Token::is(std::string_view keyword) const {
  return kind == TokenKind::word && equals_ignoring_case(text, keyword);
}

Result<std::vector<Token>> tokenize(const SourceText& source) {
  const std::string& s = source.text();
  std::vector<Token> tokens;
  size_t i = 0;
  auto unterminated = [&](size_t at, const std::string& what) {
    return source.error_at(at, StatusCode::invalid_argument, "unterminated " + what);
  };
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      while (i < s.size() && s[i] != '\n')
        ++i;
      continue;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      const size_t start = i;
      int depth = 0;
      do {
        if (i + 1 < s.size() && s[i] == '/' && s[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (i + 1 < s.size() && s[i] == '*' && s[i + 1] == '/') {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      } while (depth > 0 && i < s.size());
      if (depth > 0) return unterminated(start, "/* comment");
      continue;
    }
    Token token;
    token.begin = i;
    const bool escape_string = (c == 'E' || c == 'e') && i + 1 < s.size() && s[i + 1] == '\'';
    if (c == '\'' || escape_string) {
      token.kind = TokenKind::string;
      i += escape_string ? 2 : 1;
      bool closed = false;
      while (i < s.size()) {
        if (escape_string && s[i] == '\\' && i + 1 < s.size()) {
          const char next = s[i + 1];
          token.text += next == 'n' ? '\n' : next == 't' ? '\t' : next == 'r' ? '\r' : next;
          i += 2;
        } else if (s[i] == '\'') {
          if (i + 1 < s.size() && s[i + 1] == '\'') {
            token.text += '\'';
            i += 2;
          } else {
            ++i;
            closed = true;
            break;
          }
        } else {
          token.text += s[i++];
        }
      }
      if (!closed) return unterminated(token.begin, "quoted string");
    } else if (c == '"') {
      token.kind = TokenKind::quoted_word;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            token.text += '"';
            i += 2;
          } else {
            ++i;
            closed = true;
            break;
          }
        } else {
          token.text += s[i++];
        }
      }
      if (!closed) return unterminated(token.begin, "quoted identifier");
    } else if (c == '$' && i + 1 < s.size() && (s[i + 1] == '$' || is_word_start(s[i + 1]))) {
      // A dollar-quoted string: $tag$ ... $tag$.
      size_t tag_end = i + 1;
      while (tag_end < s.size() && s[tag_end] != '$' && is_word_part(s[tag_end]))
        ++tag_end;
      if (tag_end < s.size() && s[tag_end] == '$') {
        const std::string tag = s.substr(i, tag_end - i + 1);
        const size_t close = s.find(tag, tag_end + 1);
        if (close == std::string::npos) return unterminated(i, "dollar-quoted string");
        token.kind = TokenKind::string;
        token.text = s.substr(tag_end + 1, close - tag_end - 1);
        i = close + tag.size();
      } else {
        token.kind = TokenKind::symbol;
        token.text = "$";
        ++i;
      }
    } else if (is_word_start(c)) {
      token.kind = TokenKind::word;
      while (i < s.size() && is_word_part(s[i]))
        ++i;
      token.text = s.substr(token.begin, i - token.begin);
    } else if (is_digit(c) || (c == '.' && i + 1 < s.size() && is_digit(s[i + 1]))) {
      token.kind = TokenKind::number;
      while (i < s.size() && (is_digit(s[i]) || s[i] == '.'))
        ++i;
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && is_digit(s[j])) {
          i = j;
          while (i < s.size() && is_digit(s[i]))
            ++i;
        }
      }
      token.text = s.substr(token.begin, i - token.begin);
    } else {
      token.kind = TokenKind::symbol;
      static const char* const pairs[] = {"::", "<=", ">=", "<>", "!=", "||", "=>"};
      token.text = std::string(1, c);
      for (const char* pair : pairs) {
        if (s.compare(i, 2, pair) == 0) token.text = pair;
      }
      i += token.text.size();
    }
    token.end = i;
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace sluice
