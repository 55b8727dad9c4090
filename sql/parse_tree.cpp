#include "sql/parse_tree.hpp"

#include <algorithm>
#include <cstring>

#include <pg_query.h>
#include <simdjson.h>

namespace sluice {

namespace {

Result<ParseNode> convert(simdjson::dom::element element) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::ARRAY: {
      std::vector<ParseNode> items;
      simdjson::dom::array array;
      if (element.get_array().get(array) != simdjson::SUCCESS) break;
      for (simdjson::dom::element item : array) {
        SLUICE_ASSIGN_OR_RETURN(ParseNode node, convert(item));
        items.push_back(std::move(node));
      }
      return ParseNode::make_array(std::move(items));
    }
    case element_type::OBJECT: {
      std::vector<std::string> keys;
      std::vector<ParseNode> values;
      simdjson::dom::object object;
      if (element.get_object().get(object) != simdjson::SUCCESS) break;
      for (simdjson::dom::key_value_pair field : object) {
        SLUICE_ASSIGN_OR_RETURN(ParseNode node, convert(field.value));
        keys.emplace_back(field.key);
        values.push_back(std::move(node));
      }
      return ParseNode::make_object(std::move(keys), std::move(values));
    }
    case element_type::INT64:
      return ParseNode::make_scalar(ParseNode::Kind::integer, false,
                                    element.get_int64().value_unsafe(), 0, {});
    case element_type::UINT64:
      return ParseNode::make_scalar(ParseNode::Kind::integer, false,
                                    static_cast<int64_t>(element.get_uint64().value_unsafe()), 0,
                                    {});
    case element_type::DOUBLE:
      return ParseNode::make_scalar(ParseNode::Kind::real, false, 0,
                                    element.get_double().value_unsafe(), {});
    case element_type::STRING:
      return ParseNode::make_scalar(ParseNode::Kind::string, false, 0, 0,
                                    std::string(element.get_string().value_unsafe()));
    case element_type::BOOL:
      return ParseNode::make_scalar(ParseNode::Kind::boolean, element.get_bool().value_unsafe(), 0,
                                    0, {});
    case element_type::NULL_VALUE:
      return ParseNode();
  }
  return Status::internal("unknown JSON element in libpg_query's parse tree");
}

// Converts PostgreSQL's error position (1-based, in characters) into a byte offset of text.
size_t byte_offset_of_character(std::string_view text, int character) {
  size_t offset = 0;
  for (int seen = 0; offset < text.size(); ++offset) {
    if ((static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) continue;
    if (seen++ == character) break;
  }
  return offset;
}

}  // namespace

const ParseNode* ParseNode::get(std::string_view key) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return &items_[i];
  }
  return nullptr;
}

std::string_view ParseNode::node_type() const {
  if (kind_ != Kind::object || keys_.size() != 1 || !items_[0].is_object()) return {};
  return keys_[0];
}

const ParseNode& ParseNode::body() const {
  return node_type().empty() ? *this : items_[0];
}

std::string ParseNode::string_field(std::string_view key) const {
  const ParseNode* node = get(key);
  return node && node->kind_ == Kind::string ? node->string_ : std::string();
}

int64_t ParseNode::int_field(std::string_view key, int64_t fallback) const {
  const ParseNode* node = get(key);
  return node && node->kind_ == Kind::integer ? node->integer_ : fallback;
}

bool ParseNode::bool_field(std::string_view key) const {
  const ParseNode* node = get(key);
  return node && node->kind_ == Kind::boolean && node->bool_;
}

std::vector<const ParseNode*> ParseNode::list(std::string_view key) const {
  std::vector<const ParseNode*> out;
  const ParseNode* node = get(key);
  if (node && node->kind_ == Kind::array) {
    for (const auto& item : node->items_)
      out.push_back(&item);
  }
  return out;
}

ParseNode ParseNode::make_scalar(Kind kind, bool b, int64_t i, double d, std::string s) {
  ParseNode node;
  node.kind_ = kind;
  node.bool_ = b;
  node.integer_ = i;
  node.real_ = d;
  node.string_ = std::move(s);
  return node;
}

ParseNode ParseNode::make_array(std::vector<ParseNode> items) {
  ParseNode node;
  node.kind_ = Kind::array;
  node.items_ = std::move(items);
  return node;
}

ParseNode ParseNode::make_object(std::vector<std::string> keys, std::vector<ParseNode> values) {
  ParseNode node;
  node.kind_ = Kind::object;
  node.keys_ = std::move(keys);
  node.items_ = std::move(values);
  return node;
}

std::vector<const ParseNode*> ParsedSql::statements() const {
  std::vector<const ParseNode*> out;
  for (const ParseNode* raw : root.list("stmts")) {
    if (const ParseNode* stmt = raw->get("stmt")) out.push_back(stmt);
  }
  return out;
}

size_t ParsedSql::statement_offset(size_t index) const {
  auto raws = root.list("stmts");
  const int64_t location = index < raws.size() ? raws[index]->int_field("stmt_location", 0) : 0;
  return static_cast<size_t>(std::max<int64_t>(0, base + location));
}

Result<ParsedSql> parse_sql(const SourceText& source, size_t begin, size_t end,
                            std::string_view prefix) {
  std::string text(prefix);
  text.append(source.text(), begin, end - begin);
  ParsedSql parsed;
  parsed.base = static_cast<int64_t>(begin) - static_cast<int64_t>(prefix.size());

  PgQueryParseResult result = pg_query_parse(text.c_str());
  if (result.error != nullptr) {
    std::string message = result.error->message != nullptr ? result.error->message : "syntax error";
    size_t offset = begin;
    if (result.error->cursorpos > 0) {
      const size_t in_text = byte_offset_of_character(text, result.error->cursorpos - 1);
      offset = in_text < prefix.size() ? begin : begin + (in_text - prefix.size());
    }
    pg_query_free_parse_result(result);
    return source.error_at(offset, StatusCode::invalid_argument, message);
  }
  simdjson::dom::parser json_parser;
  simdjson::dom::element element;
  const simdjson::error_code error =
      json_parser.parse(result.parse_tree, std::strlen(result.parse_tree)).get(element);
  pg_query_free_parse_result(result);
  if (error != simdjson::SUCCESS) {
    return Status::internal(std::string("cannot read libpg_query's parse tree: ") +
                            simdjson::error_message(error));
  }
  SLUICE_ASSIGN_OR_RETURN(parsed.root, convert(element));
  return parsed;
}

}  // namespace sluice
