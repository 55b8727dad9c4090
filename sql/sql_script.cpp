#include "sql/sql_script.hpp"

#include "sql/sql_lexer.hpp"
#include "sql/type_names.hpp"

namespace sluice {

namespace {

constexpr const char* kStatementForms =
    "CREATE SOURCE, CREATE TABLE, CREATE SINK, CREATE VIEW, INSERT INTO, SET, EXPLAIN or a query";

// Reads the tokens of one statement (without its ';') from left to right.
class StatementReader {
 public:
  StatementReader(const SourceText& source, const std::vector<Token>& tokens, size_t begin,
                  size_t end)
      : source_(source), tokens_(tokens), position_(begin), end_(end) {}

  Result<Statement> read() {
    Statement statement;
    statement.begin = tokens_[position_].begin;
    statement.end = tokens_[end_ - 1].end;
    const Token& first = peek();
    if (first.is("create")) {
      advance();
      if (peek().is("source")) {
        advance();
        statement.kind = StatementKind::create_source;
        SLUICE_RETURN_NOT_OK(read_create_source(statement));
      } else if (peek().is("sink")) {
        advance();
        statement.kind = StatementKind::create_sink;
        SLUICE_RETURN_NOT_OK(read_create_sink(statement));
      } else if (peek().is("view")) {
        advance();
        statement.kind = StatementKind::create_view;
        SLUICE_RETURN_NOT_OK(read_name(statement, "a view name"));
        SLUICE_RETURN_NOT_OK(expect_word("as", "AS and the view's query"));
        SLUICE_RETURN_NOT_OK(read_query(statement));
      } else if (peek().is("table")) {
        advance();
        statement.kind = StatementKind::create_table;
        SLUICE_RETURN_NOT_OK(read_create_source(statement));
      } else if (peek().is("materialized")) {
        return error(peek(), StatusCode::invalid_argument,
                     "CREATE MATERIALIZED VIEW is not supported: keep a query's latest results with "
                     "CREATE SINK name WITH (connector = 'table', path = '...', key = '...') AS SELECT ...");
      } else {
        return error(peek(), StatusCode::invalid_argument,
                     "expected SOURCE, TABLE, SINK or VIEW after CREATE, found " + describe(peek()));
      }
    } else if (first.is("insert")) {
      advance();
      statement.kind = StatementKind::insert_into;
      SLUICE_RETURN_NOT_OK(expect_word("into", "INTO after INSERT"));
      SLUICE_RETURN_NOT_OK(read_name(statement, "a sink name"));
      if (peek().is_symbol("(")) {
        return error(peek(), StatusCode::invalid_argument,
                     "INSERT INTO takes no column list: the query's columns go to the sink");
      }
      SLUICE_RETURN_NOT_OK(read_query(statement));
    } else if (first.is("set")) {
      advance();
      statement.kind = StatementKind::set;
      SLUICE_RETURN_NOT_OK(read_set(statement));
    } else if (first.is("explain")) {
      advance();
      statement.kind = StatementKind::explain;
      SLUICE_RETURN_NOT_OK(read_query(statement));
    } else if (first.is("select") || first.is("with") || first.is("values") ||
               first.is_symbol("(")) {
      statement.kind = StatementKind::query;
      SLUICE_RETURN_NOT_OK(read_query(statement));
    } else {
      return error(first, StatusCode::invalid_argument,
                   "unknown statement " + describe(first) + "; expected " + kStatementForms);
    }
    return statement;
  }

 private:
  const Token& peek(size_t ahead = 0) const {
    static const Token end_token{TokenKind::symbol, 0, 0, ""};
    if (position_ + ahead >= end_) return end_token;
    return tokens_[position_ + ahead];
  }
  bool at_end() const { return position_ >= end_; }
  void advance() { ++position_; }
  // The offset of the next token, or of the end of the statement.
  size_t offset() const { return at_end() ? tokens_[end_ - 1].end : tokens_[position_].begin; }

  static std::string upper(std::string text) {
    for (char& c : text)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
  }
  std::string describe(const Token& token) const {
    if (&token == &peek() && at_end()) return "the end of the statement";
    switch (token.kind) {
      case TokenKind::string:
        return "'" + token.text + "'";
      case TokenKind::quoted_word:
        return "\"" + token.text + "\"";
      default:
        return "'" + token.text + "'";
    }
  }
  Status error(const Token& token, StatusCode code, const std::string& message) const {
    const size_t at = &token == &peek() ? offset() : token.begin;
    return source_.error_at(at, code, message);
  }
  Status expect_word(std::string_view word, const std::string& what) {
    if (!peek().is(word)) {
      return error(peek(), StatusCode::invalid_argument,
                   "expected " + what + ", found " + describe(peek()));
    }
    advance();
    return Status::ok();
  }
  Status expect_symbol(std::string_view symbol, const std::string& what) {
    if (!peek().is_symbol(symbol)) {
      return error(peek(), StatusCode::invalid_argument,
                   "expected " + what + ", found " + describe(peek()));
    }
    advance();
    return Status::ok();
  }

  Status read_name(Statement& statement, const std::string& what) {
    if (!peek().is_name()) {
      return error(peek(), StatusCode::invalid_argument,
                   "expected " + what + ", found " + describe(peek()));
    }
    statement.name = peek().text;
    statement.name_offset = peek().begin;
    advance();
    if (peek().is_symbol(".")) {
      return error(peek(), StatusCode::invalid_argument,
                   "qualified names (schema.name) are not supported; write just the name");
    }
    return Status::ok();
  }

  // Reads the rest of the statement as one query and parses it with PostgreSQL's grammar.
  Status read_query(Statement& statement) {
    if (at_end()) {
      return source_.error_at(offset(), StatusCode::invalid_argument,
                              "expected a query (SELECT ...), found the end of the statement");
    }
    statement.query_offset = offset();
    SLUICE_ASSIGN_OR_RETURN(ParsedSql parsed,
                            parse_sql(source_, statement.query_offset, statement.end));
    auto statements = parsed.statements();
    if (statements.size() != 1 || statements[0]->node_type() != "SelectStmt") {
      return source_.error_at(statement.query_offset, StatusCode::invalid_argument,
                              "expected a query (SELECT ...) here");
    }
    statement.query = std::make_shared<const ParsedSql>(std::move(parsed));
    position_ = end_;
    return Status::ok();
  }

  // Reads an option key: word(.word)*, "quoted" or 'string'.
  Result<std::string> read_key(const std::string& what) {
    const Token& token = peek();
    if (token.kind == TokenKind::string || token.kind == TokenKind::quoted_word) {
      advance();
      return token.text;
    }
    if (token.kind != TokenKind::word) {
      return error(token, StatusCode::invalid_argument,
                   "expected " + what + ", found " + describe(token));
    }
    std::string key = token.text;
    advance();
    while (peek().is_symbol(".") && peek(1).is_name()) {
      key += "." + peek(1).text;
      advance();
      advance();
    }
    return key;
  }

  // Reads an option value: 'string', a number (maybe negative), or a word (true, false, ...).
  Result<std::string> read_value(const std::string& key) {
    std::string sign;
    if (peek().is_symbol("-") && peek(1).kind == TokenKind::number) {
      sign = "-";
      advance();
    }
    const Token& token = peek();
    if (token.kind == TokenKind::string || token.kind == TokenKind::number ||
        (sign.empty() && token.is_name())) {
      advance();
      return sign + token.text;
    }
    return error(token, StatusCode::invalid_argument,
                 "expected a value for '" + key + "' (a 'quoted string' or a number), found " +
                     describe(token));
  }

  Status read_options(Statement& statement) {
    if (!peek().is("with")) {
      return error(
          peek(), StatusCode::invalid_argument,
          std::string("expected WITH (connector = '...', ...), found ") + describe(peek()));
    }
    statement.with_offset = peek().begin;
    advance();
    SLUICE_RETURN_NOT_OK(expect_symbol("(", "'(' after WITH"));
    while (true) {
      StatementOption option;
      option.key_offset = offset();
      SLUICE_ASSIGN_OR_RETURN(option.key, read_key("an option name"));
      for (const auto& other : statement.options) {
        if (other.key == option.key) {
          return source_.error_at(option.key_offset, StatusCode::invalid_argument,
                                  "option '" + option.key + "' is given twice");
        }
      }
      SLUICE_RETURN_NOT_OK(expect_symbol("=", "'=' after option '" + option.key + "'"));
      option.value_offset = offset();
      SLUICE_ASSIGN_OR_RETURN(option.value, read_value(option.key));
      statement.options.push_back(std::move(option));
      if (peek().is_symbol(",")) {
        advance();
        continue;
      }
      SLUICE_RETURN_NOT_OK(expect_symbol(")", "',' or ')' in the WITH options"));
      return Status::ok();
    }
  }

  // Reads CREATE SOURCE and CREATE TABLE: a name, the optional column list, WITH (...).
  Status read_create_source(Statement& statement) {
    const bool table = statement.kind == StatementKind::create_table;
    SLUICE_RETURN_NOT_OK(read_name(statement, table ? "a table name" : "a source name"));
    if (peek().is_symbol("(")) {
      advance();
      while (true) {
        if (peek().is("watermark") && peek(1).is("for")) {
          if (table) {
            return error(peek(), StatusCode::invalid_argument,
                         "a static table has no event time: WATERMARK FOR belongs in CREATE SOURCE");
          }
          SLUICE_RETURN_NOT_OK(read_watermark(statement));
        } else {
          SLUICE_RETURN_NOT_OK(read_column(statement));
        }
        if (peek().is_symbol(",")) {
          advance();
          continue;
        }
        SLUICE_RETURN_NOT_OK(expect_symbol(")", "',' or ')' in the column list"));
        break;
      }
    }
    if (table && peek().is("as")) {
      return error(peek(), StatusCode::invalid_argument,
                   "CREATE TABLE ... AS SELECT is not supported: a table is read from files, a Delta "
                   "table or a table sink (WITH (connector = ...)); CREATE VIEW names a query");
    }
    SLUICE_RETURN_NOT_OK(read_options(statement));
    if (!at_end()) {
      return error(peek(), StatusCode::invalid_argument,
                   "unexpected " + describe(peek()) + " after the WITH options of " +
                       (table ? "CREATE TABLE" : "CREATE SOURCE"));
    }
    return Status::ok();
  }

  Status read_column(Statement& statement) {
    ColumnDeclaration column;
    if (!peek().is_name()) {
      return error(peek(), StatusCode::invalid_argument,
                   "expected a column name or WATERMARK FOR, found " + describe(peek()));
    }
    column.name = peek().text;
    column.offset = peek().begin;
    advance();
    for (const auto& other : statement.columns) {
      if (other.name == column.name) {
        return source_.error_at(column.offset, StatusCode::invalid_argument,
                                "column '" + column.name + "' is declared twice");
      }
    }
    // The type: words up to ',' or ')', with parameters such as VARCHAR(20) skipped.
    column.type_offset = offset();
    std::string type_name;
    if (peek().kind == TokenKind::word) {
      type_name = peek().text;
      advance();
    }
    // Multi-word types: DOUBLE PRECISION, CHARACTER VARYING, TIMESTAMP WITH[OUT] TIME ZONE.
    static const char* const kMultiWordTypes[] = {"double precision", "character varying",
                                                  "timestamp with time zone",
                                                  "timestamp without time zone"};
    while (peek().kind == TokenKind::word) {
      const std::string longer = type_name + " " + peek().text;
      bool continues = false;
      for (const char* type : kMultiWordTypes) {
        const std::string_view known(type);
        continues |= known.size() >= longer.size() &&
                     equals_ignoring_case(known.substr(0, longer.size()), longer) &&
                     (known.size() == longer.size() || known[longer.size()] == ' ');
      }
      if (!continues) break;
      type_name = longer;
      advance();
    }
    if (type_name.empty()) {
      return error(peek(), StatusCode::invalid_argument,
                   "expected a type for column '" + column.name + "', found " + describe(peek()));
    }
    if (peek().is_symbol("(")) {
      while (!at_end() && !peek().is_symbol(")"))
        advance();
      SLUICE_RETURN_NOT_OK(expect_symbol(")", "')' after the type's parameters"));
    }
    if (peek().is("not") && peek(1).is("null")) {
      advance();
      advance();
    } else if (peek().is("null")) {
      advance();
    }
    auto type = type_from_sql_name(type_name);
    if (!type.ok()) return source_.locate(column.type_offset, type.status());
    column.type = *type;
    statement.columns.push_back(std::move(column));
    return Status::ok();
  }

  // WATERMARK FOR column AS expression: the expression runs to the ',' or ')' that ends it.
  Status read_watermark(Statement& statement) {
    const size_t at = peek().begin;
    if (statement.watermark) {
      return source_.error_at(at, StatusCode::invalid_argument,
                              "a source takes one WATERMARK FOR clause");
    }
    advance();
    advance();
    WatermarkDeclaration watermark;
    if (!peek().is_name()) {
      return error(peek(), StatusCode::invalid_argument,
                   "expected the event-time column after WATERMARK FOR, found " + describe(peek()));
    }
    watermark.column = peek().text;
    watermark.column_offset = peek().begin;
    advance();
    SLUICE_RETURN_NOT_OK(expect_word(
        "as", "AS and the watermark expression (" + watermark.column + " - INTERVAL '5' SECOND)"));
    if (at_end() || peek().is_symbol(",") || peek().is_symbol(")")) {
      return error(peek(), StatusCode::invalid_argument,
                   "expected the watermark expression (" + watermark.column +
                       " - INTERVAL '5' SECOND), found " + describe(peek()));
    }
    watermark.expression_offset = peek().begin;
    size_t depth = 0;
    size_t last = position_;
    while (!at_end()) {
      if (peek().is_symbol("(")) ++depth;
      if (peek().is_symbol(")")) {
        if (depth == 0) break;
        --depth;
      }
      if (peek().is_symbol(",") && depth == 0) break;
      last = position_;
      advance();
    }
    SLUICE_ASSIGN_OR_RETURN(ParsedSql parsed, parse_sql(source_, watermark.expression_offset,
                                                        tokens_[last].end, "SELECT "));
    watermark.expression = std::make_shared<const ParsedSql>(std::move(parsed));
    statement.watermark = std::move(watermark);
    return Status::ok();
  }

  Status read_create_sink(Statement& statement) {
    SLUICE_RETURN_NOT_OK(read_name(statement, "a sink name"));
    SLUICE_RETURN_NOT_OK(read_options(statement));
    if (at_end()) return Status::ok();
    if (!peek().is("as")) {
      return error(peek(), StatusCode::invalid_argument,
                   "expected AS and the sink's query, or the end of the statement, found " +
                       describe(peek()));
    }
    advance();
    return read_query(statement);
  }

  Status read_set(Statement& statement) {
    statement.name_offset = offset();
    SLUICE_ASSIGN_OR_RETURN(statement.name, read_key("a session option name"));
    if (peek().is_symbol("=") || peek().is("to")) {
      advance();
    } else {
      return error(
          peek(), StatusCode::invalid_argument,
          "expected '=' or TO after SET " + statement.name + ", found " + describe(peek()));
    }
    statement.value_offset = offset();
    SLUICE_ASSIGN_OR_RETURN(statement.value, read_value(statement.name));
    if (!at_end()) {
      return error(peek(), StatusCode::invalid_argument,
                   "unexpected " + describe(peek()) + " after the value of SET " + statement.name);
    }
    return Status::ok();
  }

  const SourceText& source_;
  const std::vector<Token>& tokens_;
  size_t position_;
  size_t end_;
};

}  // namespace

const char* statement_kind_name(StatementKind kind) {
  switch (kind) {
    case StatementKind::create_source:
      return "CREATE SOURCE";
    case StatementKind::create_table:
      return "CREATE TABLE";
    case StatementKind::create_view:
      return "CREATE VIEW";
    case StatementKind::create_sink:
      return "CREATE SINK";
    case StatementKind::insert_into:
      return "INSERT INTO";
    case StatementKind::set:
      return "SET";
    case StatementKind::explain:
      return "EXPLAIN";
    case StatementKind::query:
      return "query";
  }
  return "statement";
}

Result<SqlScript> SqlScript::parse(std::string text, std::string name) {
  SqlScript script;
  script.source_ = std::make_shared<const SourceText>(std::move(text), std::move(name));
  SLUICE_ASSIGN_OR_RETURN(std::vector<Token> tokens, tokenize(*script.source_));
  size_t begin = 0;
  for (size_t i = 0; i <= tokens.size(); ++i) {
    if (i < tokens.size() && !tokens[i].is_symbol(";")) continue;
    if (i > begin) {
      StatementReader reader(*script.source_, tokens, begin, i);
      SLUICE_ASSIGN_OR_RETURN(Statement statement, reader.read());
      script.statements_.push_back(std::move(statement));
    }
    begin = i + 1;
  }
  return script;
}

}  // namespace sluice
