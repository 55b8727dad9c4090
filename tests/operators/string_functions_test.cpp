#define BOOST_TEST_MODULE string_functions
#include <boost/test/unit_test.hpp>

#include <random>
#include <regex>

#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

const Value N;

// "", ASCII, two- three- and four-byte UTF-8, mixed case, spaces, and NULL.
const std::vector<Value> kWords = {
    "", "Hello World", "ÉCOLE été", "日本語テキスト", "a😀b", "  padded  ", "MiXeD123",
    N,  "   ",         "x"};

RecordBatchPtr words() {
  std::vector<std::vector<Value>> rows;
  for (const auto& w : kWords)
    rows.push_back({w});
  return batch_of(schema_of({{"s", Type::String}}), rows);
}

// Reference: splits UTF-8 into code points.
std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xF0) {
      n = 4;
    } else if (c >= 0xE0) {
      n = 3;
    } else if (c >= 0xC0) {
      n = 2;
    }
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

// Reference of Spark's substring on code points.
std::string spark_substring(const std::string& s, int64_t pos, int64_t len) {
  auto chars = code_points(s);
  const int64_t count = static_cast<int64_t>(chars.size());
  int64_t start = pos > 0 ? pos - 1 : (pos < 0 ? count + pos : 0);
  int64_t end = start + len;
  start = std::max<int64_t>(start, 0);
  end = std::min(end, count);
  std::string out;
  for (int64_t i = start; i < end; ++i)
    out += chars[static_cast<size_t>(i)];
  return out;
}

template <typename F>
std::vector<Value> map_words(F f) {
  std::vector<Value> out;
  for (const auto& w : kWords)
    out.push_back(w.is_null() ? N : Value(f(w.as_string())));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(lower_and_upper_change_ascii_letters_only) {
  auto batch = words();
  auto ascii_map = [](std::string s, bool up) {
    for (auto& c : s) {
      if (!up && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      if (up && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    }
    return s;
  };
  check_values(evaluate(lower(col("s")), *batch),
               map_words([&](auto s) { return ascii_map(s, false); }));
  check_values(evaluate(upper(col("s")), *batch),
               map_words([&](auto s) { return ascii_map(s, true); }));
  BOOST_TEST(evaluate_scalar(lower(lit("ÉCOLE"))) == Value("École"));
}

BOOST_AUTO_TEST_CASE(length_counts_code_points) {
  check_values(evaluate(length(col("s")), *words()),
               map_words([](auto s) { return static_cast<int64_t>(code_points(s).size()); }));
  BOOST_TEST(evaluate_scalar(length(lit("日本"))) == Value(2));
  BOOST_TEST(evaluate_scalar(length(lit(""))) == Value(0));
}

BOOST_AUTO_TEST_CASE(substring_matches_spark_for_every_position_and_length) {
  auto batch = words();
  for (int64_t pos = -10; pos <= 10; ++pos) {
    for (int64_t len : {-1, 0, 1, 2, 3, 100}) {
      check_values(evaluate(substring(col("s"), pos, len), *batch),
                   map_words([&](auto s) { return spark_substring(s, pos, len); }),
                   "substring(s, " + std::to_string(pos) + ", " + std::to_string(len) + ")");
    }
  }
  BOOST_TEST(evaluate_scalar(substring(lit("日本語"), 2, 1)) == Value("本"));
  BOOST_TEST(evaluate_scalar(substring(lit("hello"), -3, 2)) == Value("ll"));
  BOOST_TEST(evaluate_scalar(substring(lit("hello"), 0, 2)) == Value("he"));
}

BOOST_AUTO_TEST_CASE(trim_removes_surrounding_spaces_only) {
  auto trimmed = [](std::string s) {
    const size_t begin = s.find_first_not_of(' ');
    if (begin == std::string::npos) return std::string();
    return s.substr(begin, s.find_last_not_of(' ') - begin + 1);
  };
  check_values(evaluate(trim(col("s")), *words()), map_words(trimmed));
  BOOST_TEST(evaluate_scalar(trim(lit("\t x \t"))) == Value("\t x \t"));
}

BOOST_AUTO_TEST_CASE(concat_is_null_when_any_argument_is_null) {
  auto batch = batch_of(schema_of({{"a", Type::String}, {"b", Type::String}, {"n", Type::Int64}}),
                        {{"x", "y", 1}, {"", "é", 2}, {N, "y", 3}, {"x", N, N}});
  check_values(evaluate(concat({col("a"), lit("-"), col("b")}), *batch),
               {Value("x-y"), Value("-é"), N, N});
  check_values(evaluate(concat({col("a"), col("n")}), *batch), {Value("x1"), Value("2"), N, N});
  check_values(evaluate(concat({col("a"), lit_null(Type::String)}), *batch), {N, N, N, N});
  check_values(evaluate(concat({col("b")}), *batch), {Value("y"), Value("é"), Value("y"), N});
}

BOOST_AUTO_TEST_CASE(starts_with_and_contains_take_columns_or_literals) {
  auto batch =
      batch_of(schema_of({{"s", Type::String}, {"p", Type::String}}),
               {{"hello", "he"}, {"hello", "lo"}, {"", ""}, {"日本語", "本"}, {N, "x"}, {"x", N}});
  check_values(evaluate(col("s").starts_with(col("p")), *batch),
               {Value(true), Value(false), Value(true), Value(false), N, N});
  check_values(evaluate(col("s").contains(col("p")), *batch),
               {Value(true), Value(true), Value(true), Value(true), N, N});
  check_values(evaluate(col("s").starts_with(lit("hel")), *batch),
               {Value(true), Value(true), Value(false), Value(false), N, Value(false)});
  check_values(evaluate(col("s").contains(lit("")), *batch),
               {Value(true), Value(true), Value(true), Value(true), N, Value(true)});
}

BOOST_AUTO_TEST_CASE(like_matches_percent_underscore_and_escapes) {
  struct Case {
    const char* text;
    const char* pattern;
    bool match;
  };
  const Case cases[] = {
      {"hello", "hello", true},
      {"hello", "hell", false},
      {"hello", "h%", true},
      {"hello", "%o", true},
      {"hello", "%ll%", true},
      {"hello", "%x%", false},
      {"hello", "h_llo", true},
      {"hello", "h_lo", false},
      {"hello", "%", true},
      {"", "%", true},
      {"", "_", false},
      {"", "", true},
      {"日本語", "_本_", true},
      {"日本語", "___", true},
      {"日本語", "__", false},
      {"a😀b", "a_b", true},
      {"50%", "50\\%", true},
      {"500", "50\\%", false},
      {"a_b", "a\\_b", true},
      {"axb", "a\\_b", false},
      {"a\\b", "a\\\\b", true},
      {"abcabc", "%abc", true},
      {"abcab", "%a%b%c", false},
      {"aXbXc", "a%b%c", true},
      {"mississippi", "m%iss%pi", true},
      {"mississippi", "m%iss%x", false},
      {"abc", "a%%c", true},
      {"ab", "a%b%", true},
      {"ba", "%a%b", false},
  };
  std::vector<std::vector<Value>> rows;
  for (const auto& c : cases)
    rows.push_back({c.text});
  rows.push_back({N});
  auto batch = batch_of(schema_of({{"s", Type::String}}), rows);
  for (size_t i = 0; i < std::size(cases); ++i) {
    auto values = evaluate(col("s").like(cases[i].pattern), *batch);
    BOOST_TEST(values[i] == Value(cases[i].match),
               "'" << cases[i].text << "' LIKE '" << cases[i].pattern << "'");
    BOOST_TEST(values.back().is_null());
  }
}

BOOST_AUTO_TEST_CASE(like_agrees_with_a_regex_reference_on_random_inputs) {
  std::mt19937_64 random(3);
  const std::string alphabet = "ab%_";
  std::vector<std::vector<Value>> rows;
  std::vector<std::string> texts;
  for (int i = 0; i < 60; ++i) {
    std::string text;
    for (size_t n = random() % 7; n > 0; --n)
      text += "ab"[random() % 2];
    texts.push_back(text);
    rows.push_back({text});
  }
  auto batch = batch_of(schema_of({{"s", Type::String}}), rows);
  for (int p = 0; p < 40; ++p) {
    std::string pattern, regex;
    for (size_t n = random() % 6; n > 0; --n) {
      const char c = alphabet[random() % alphabet.size()];
      pattern += c;
      regex += c == '%' ? ".*" : (c == '_' ? "." : std::string(1, c));
    }
    auto values = evaluate(col("s").like(pattern), *batch);
    for (size_t i = 0; i < texts.size(); ++i) {
      const bool expected = std::regex_match(texts[i], std::regex(regex));
      BOOST_TEST(values[i] == Value(expected), "'" << texts[i] << "' LIKE '" << pattern << "'");
    }
  }
}
