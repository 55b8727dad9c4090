// String functions over UTF-8: lower, upper, length, trim, substring, concat, LIKE,
// startswith, contains. Lengths and positions count code points; lower and upper change ASCII
// letters only (other bytes, so all non-ASCII characters, are kept), which keeps them a single
// byte-for-byte pass over the data buffer.

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "operators/bound_node.hpp"
#include "operators/string_writer.hpp"

namespace sluice {

namespace {

inline bool is_continuation(uint8_t byte) {
  return (byte & 0xC0) == 0x80;
}

// Returns the byte position after skipping count code points from pos (clamped to the end).
size_t skip_code_points(std::string_view s, size_t pos, int64_t count) {
  for (; count > 0 && pos < s.size(); --count) {
    ++pos;
    while (pos < s.size() && is_continuation(static_cast<uint8_t>(s[pos])))
      ++pos;
  }
  return pos;
}

int64_t count_code_points(const uint8_t* __restrict bytes, int64_t size) {
  int64_t count = 0;
  for (int64_t i = 0; i < size; ++i)
    count += !is_continuation(bytes[i]);
  return count;
}

std::string_view string_of(const Operand& operand, int64_t row) {
  return operand.is_scalar() ? std::string_view(operand.scalar->as_string())
                             : operand.column->string_at(row);
}

std::vector<const Column*> columns_of(const std::vector<Operand>& operands) {
  std::vector<const Column*> columns;
  for (const auto& operand : operands) {
    if (!operand.is_scalar()) columns.push_back(operand.column.get());
  }
  return columns;
}

class StringFunctionNode final : public BoundNode {
 public:
  StringFunctionNode(StringFunction function, BoundNodePtr child, Expr expr)
      : BoundNode(function == StringFunction::length ? Type::Int64 : Type::String, child->nullable,
                  std::move(expr), {child}),
        function_(function) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr input, children[0]->evaluate(ctx));
    const int64_t n = ctx.num_rows;
    const int64_t* offsets = input->values<int64_t>();
    const uint8_t* data = input->data_buffer()->data();
    switch (function_) {
      case StringFunction::lower:
      case StringFunction::upper: {
        // Same sizes in and out: re-base the offsets and map the bytes in one pass.
        const int64_t base = offsets[0];
        const int64_t size = offsets[n] - base;
        auto out_offsets = Buffer::allocate((n + 1) * 8);
        int64_t* o = out_offsets->mutable_as<int64_t>();
        for (int64_t i = 0; i <= n; ++i)
          o[i] = offsets[i] - base;
        auto out_data = Buffer::allocate(size);
        uint8_t* __restrict out = out_data->mutable_data();
        const uint8_t* __restrict in = data + base;
        const uint8_t from = function_ == StringFunction::lower ? 'A' : 'a';
        for (int64_t i = 0; i < size; ++i) {
          const uint8_t c = in[i];
          out[i] = static_cast<uint8_t>(c ^ (static_cast<uint8_t>(c - from) < 26 ? 0x20 : 0));
        }
        return Column::make_unchecked(type, n, std::move(out_offsets), validity::rebase(*input),
                                      std::move(out_data));
      }
      case StringFunction::length: {
        auto values = allocate_values(Type::Int64, n);
        int64_t* out = values->mutable_as<int64_t>();
        for (int64_t i = 0; i < n; ++i) {
          out[i] = count_code_points(data + offsets[i], offsets[i + 1] - offsets[i]);
        }
        return Column::make_unchecked(type, n, std::move(values), validity::rebase(*input));
      }
      case StringFunction::trim: {
        StringColumnWriter writer(n, offsets[n] - offsets[0]);
        for (int64_t i = 0; i < n; ++i) {
          std::string_view s = input->string_at(i);
          while (!s.empty() && s.front() == ' ')
            s.remove_prefix(1);
          while (!s.empty() && s.back() == ' ')
            s.remove_suffix(1);
          writer.append(s);
        }
        return writer.finish(validity::rebase(*input));
      }
    }
    return Status::internal("unknown string function");
  }

 private:
  StringFunction function_;
};

class SubstringNode final : public BoundNode {
 public:
  SubstringNode(BoundNodePtr child, int64_t pos, int64_t len, Expr expr)
      : BoundNode(Type::String, child->nullable, std::move(expr), {child}), pos_(pos), len_(len) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr input, children[0]->evaluate(ctx));
    const int64_t n = ctx.num_rows;
    const int64_t* offsets = input->values<int64_t>();
    StringColumnWriter writer(n, offsets[n] - offsets[0]);
    for (int64_t i = 0; i < n; ++i)
      writer.append(substring_of(input->string_at(i)));
    return writer.finish(validity::rebase(*input));
  }

 private:
  // Follows Spark's UTF8String.substringSQL: 1-based, 0 acts as 1, negative counts from the
  // end; a start before the string shortens the result.
  std::string_view substring_of(std::string_view s) const {
    int64_t start;
    if (pos_ > 0) {
      start = pos_ - 1;
    } else if (pos_ < 0) {
      start = count_code_points(reinterpret_cast<const uint8_t*>(s.data()),
                                static_cast<int64_t>(s.size())) +
              pos_;
    } else {
      start = 0;
    }
    int64_t end;
    if (__builtin_add_overflow(start, len_, &end)) end = len_ > 0 ? INT64_MAX : INT64_MIN;
    start = std::max<int64_t>(start, 0);
    if (start >= end) return {};
    const size_t begin = skip_code_points(s, 0, start);
    const size_t finish = skip_code_points(s, begin, end - start);
    return s.substr(begin, finish - begin);
  }

  int64_t pos_;
  int64_t len_;
};

class ConcatNode final : public BoundNode {
 public:
  ConcatNode(std::vector<BoundNodePtr> args, Expr expr)
      : BoundNode(Type::String, false, std::move(expr), std::move(args)) {
    for (const auto& child : children)
      nullable = nullable || child->nullable;
  }

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    const int64_t n = ctx.num_rows;
    std::vector<Operand> operands;
    for (const auto& child : children) {
      SLUICE_ASSIGN_OR_RETURN(Operand operand, evaluate_operand(*child, ctx));
      if (operand.is_null_scalar()) return Column::make_null(type, n);
      operands.push_back(std::move(operand));
    }
    StringColumnWriter writer(n);
    for (int64_t i = 0; i < n; ++i) {
      int64_t size = 0;
      for (const auto& operand : operands)
        size += static_cast<int64_t>(string_of(operand, i).size());
      char* out = writer.reserve(size);
      for (const auto& operand : operands) {
        const std::string_view part = string_of(operand, i);
        if (!part.empty()) std::memcpy(out, part.data(), part.size());
        out += part.size();
      }
      writer.commit(size);
    }
    return writer.finish(validity::intersect(columns_of(operands), n));
  }
};

// Matches SQL LIKE patterns. '%' matches any sequence, '_' one code point, '\' makes the next
// character literal. Common shapes use a direct test; others use greedy matching with
// backtracking to the last '%', linear for all but adversarial patterns.
class LikePattern {
 public:
  static Result<LikePattern> compile(const std::string& pattern) {
    LikePattern compiled;
    auto& tokens = compiled.tokens_;
    for (size_t i = 0; i < pattern.size(); ++i) {
      const char c = pattern[i];
      if (c == '\\') {
        if (i + 1 == pattern.size()) {
          return Status::invalid_argument("LIKE pattern '" + pattern +
                                          "' ends with the escape character '\\'");
        }
        tokens.push_back({Token::byte, pattern[++i]});
      } else if (c == '%') {
        // "%%" is "%".
        if (tokens.empty() || tokens.back().kind != Token::any_sequence) {
          tokens.push_back({Token::any_sequence, 0});
        }
      } else if (c == '_') {
        tokens.push_back({Token::any_char, 0});
      } else {
        tokens.push_back({Token::byte, c});
      }
    }
    // Patterns whose only wildcards are '%' at either end get a direct test.
    bool simple = true;
    for (size_t i = 0; i < tokens.size(); ++i) {
      const bool at_end = i == 0 || i + 1 == tokens.size();
      if (tokens[i].kind == Token::any_char || (tokens[i].kind == Token::any_sequence && !at_end)) {
        simple = false;
      }
      if (tokens[i].kind == Token::byte) compiled.literal_ += tokens[i].value;
    }
    if (simple) {
      const bool leading = !tokens.empty() && tokens.front().kind == Token::any_sequence;
      const bool trailing = !tokens.empty() && tokens.back().kind == Token::any_sequence;
      compiled.shape_ = leading && trailing ? Shape::contains
                        : leading           ? Shape::ends_with
                        : trailing          ? Shape::starts_with
                                            : Shape::equals;
    }
    return compiled;
  }

  bool matches(std::string_view s) const {
    switch (shape_) {
      case Shape::equals:
        return s == literal_;
      case Shape::starts_with:
        return s.substr(0, literal_.size()) == literal_;
      case Shape::ends_with:
        return s.size() >= literal_.size() && s.substr(s.size() - literal_.size()) == literal_;
      case Shape::contains:
        return s.find(literal_) != std::string_view::npos;
      case Shape::general:
        return match_general(s);
    }
    return false;
  }

 private:
  struct Token {
    enum Kind : uint8_t { byte, any_char, any_sequence } kind;
    char value;
  };
  enum class Shape { equals, starts_with, ends_with, contains, general };

  bool match_general(std::string_view s) const {
    size_t si = 0, ti = 0;
    size_t star = std::string::npos, mark = 0;
    const size_t count = tokens_.size();
    while (si < s.size()) {
      if (ti < count && tokens_[ti].kind == Token::byte && s[si] == tokens_[ti].value) {
        ++si;
        ++ti;
      } else if (ti < count && tokens_[ti].kind == Token::any_char) {
        si = skip_code_points(s, si, 1);
        ++ti;
      } else if (ti < count && tokens_[ti].kind == Token::any_sequence) {
        star = ti++;
        mark = si;
      } else if (star != std::string::npos) {
        // Let the last '%' take one more code point and retry from there.
        ti = star + 1;
        mark = skip_code_points(s, mark, 1);
        si = mark;
      } else {
        return false;
      }
    }
    while (ti < count && tokens_[ti].kind == Token::any_sequence)
      ++ti;
    return ti == count;
  }

  std::vector<Token> tokens_;
  std::string literal_;
  Shape shape_ = Shape::general;
};

class LikeNode final : public BoundNode {
 public:
  LikeNode(BoundNodePtr child, LikePattern pattern, Expr expr)
      : BoundNode(Type::Bool, child->nullable, std::move(expr), {child}),
        pattern_(std::move(pattern)) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr input, children[0]->evaluate(ctx));
    const int64_t n = ctx.num_rows;
    auto values = allocate_values(Type::Bool, n);
    uint8_t* out = values->mutable_data();
    for (int64_t i = 0; i < n; ++i)
      out[i] = pattern_.matches(input->string_at(i));
    return Column::make_unchecked(type, n, std::move(values), validity::rebase(*input));
  }

 private:
  LikePattern pattern_;
};

class StringMatchNode final : public BoundNode {
 public:
  StringMatchNode(StringMatch match, BoundNodePtr child, BoundNodePtr part, Expr expr)
      : BoundNode(Type::Bool, child->nullable || part->nullable, std::move(expr), {child, part}),
        match_(match) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    const int64_t n = ctx.num_rows;
    std::vector<Operand> operands(2);
    for (size_t k = 0; k < 2; ++k) {
      SLUICE_ASSIGN_OR_RETURN(operands[k], evaluate_operand(*children[k], ctx));
      if (operands[k].is_null_scalar()) return Column::make_null(type, n);
    }
    auto values = allocate_values(Type::Bool, n);
    uint8_t* out = values->mutable_data();
    for (int64_t i = 0; i < n; ++i) {
      const std::string_view s = string_of(operands[0], i);
      const std::string_view part = string_of(operands[1], i);
      out[i] = match_ == StringMatch::starts_with ? s.substr(0, part.size()) == part
                                                  : s.find(part) != std::string_view::npos;
    }
    return Column::make_unchecked(type, n, std::move(values),
                                  validity::intersect(columns_of(operands), n));
  }

 private:
  StringMatch match_;
};

}  // namespace

BoundNodePtr make_string_function_node(StringFunction function, BoundNodePtr child, Expr expr) {
  return std::make_shared<StringFunctionNode>(function, std::move(child), std::move(expr));
}

BoundNodePtr make_substring_node(BoundNodePtr child, int64_t pos, int64_t len, Expr expr) {
  return std::make_shared<SubstringNode>(std::move(child), pos, len, std::move(expr));
}

BoundNodePtr make_concat_node(std::vector<BoundNodePtr> args, Expr expr) {
  return std::make_shared<ConcatNode>(std::move(args), std::move(expr));
}

Result<BoundNodePtr> make_like_node(BoundNodePtr child, const std::string& pattern, Expr expr) {
  SLUICE_ASSIGN_OR_RETURN(LikePattern compiled, LikePattern::compile(pattern));
  return BoundNodePtr(
      std::make_shared<LikeNode>(std::move(child), std::move(compiled), std::move(expr)));
}

BoundNodePtr make_string_match_node(StringMatch match, BoundNodePtr child, BoundNodePtr part,
                                    Expr expr) {
  return std::make_shared<StringMatchNode>(match, std::move(child), std::move(part),
                                           std::move(expr));
}

}  // namespace sluice
