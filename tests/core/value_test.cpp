#define BOOST_TEST_MODULE value
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/value.hpp"

using namespace sluice;
using namespace std::chrono;

namespace {

// Returns the significant digits of a decimal rendering ("100.0" -> "1", "1.50e-03" -> "15").
std::string significant_digits(const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (c == 'e' || c == 'E') break;
    if (c >= '0' && c <= '9') digits += c;
  }
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return "0";
  digits.erase(0, first);
  digits.erase(digits.find_last_not_of('0') + 1);
  return digits;
}

// Formats micros through std::chrono's calendar, independently of format_timestamp.
std::string chrono_timestamp(int64_t micros) {
  const sys_time<std::chrono::microseconds> time{std::chrono::microseconds{micros}};
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss<std::chrono::microseconds> clock{time - day};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u %02d:%02d:%02d", int(date.year()),
                unsigned(date.month()), unsigned(date.day()), int(clock.hours().count()),
                int(clock.minutes().count()), int(clock.seconds().count()));
  std::string text = buffer;
  const int64_t fraction = clock.subseconds().count();
  if (fraction != 0) {
    std::snprintf(buffer, sizeof buffer, ".%06" PRId64, fraction);
    std::string digits = buffer;
    while (digits.back() == '0')
      digits.pop_back();
    text += digits;
  }
  return text;
}

int64_t micros_of(year_month_day date, int64_t second_of_day, int64_t micros) {
  return duration_cast<std::chrono::microseconds>(sys_days{date}.time_since_epoch()).count() +
         second_of_day * 1'000'000 + micros;
}

}  // namespace

BOOST_AUTO_TEST_CASE(type_reports_each_alternative_and_nullopt_for_null) {
  BOOST_TEST(!Value().type().has_value());
  BOOST_TEST(!Value(nullptr).type().has_value());
  BOOST_TEST(Value().is_null());
  BOOST_TEST((Value(true).type() == Type::Bool));
  BOOST_TEST((Value(1).type() == Type::Int64));
  BOOST_TEST((Value(int64_t{1}).type() == Type::Int64));
  BOOST_TEST((Value(1.0).type() == Type::Double));
  BOOST_TEST((Value("x").type() == Type::String));
  BOOST_TEST((Value(std::string("x")).type() == Type::String));
  BOOST_TEST((Value(Timestamp{1}).type() == Type::Timestamp));
  BOOST_TEST(!Value(0).is_null());
}

BOOST_AUTO_TEST_CASE(equality_needs_same_type_and_same_value) {
  BOOST_TEST(Value() == Value(nullptr));
  BOOST_TEST(Value(1) == Value(int64_t{1}));
  BOOST_TEST(Value("abc") == Value(std::string("abc")));
  BOOST_TEST(Value(Timestamp{5}) == Value(Timestamp{5}));
  BOOST_TEST(!(Value(1) == Value(2)));
  // Same number, different types: never equal.
  BOOST_TEST(!(Value(1) == Value(1.0)));
  BOOST_TEST(!(Value(int64_t{5}) == Value(Timestamp{5})));
  BOOST_TEST(!(Value(true) == Value(1)));
  BOOST_TEST(!(Value() == Value(0)));
  BOOST_TEST(!(Value("") == Value()));
}

BOOST_AUTO_TEST_CASE(ordering_puts_null_first_then_groups_by_type_then_by_value) {
  std::vector<Value> values = {Value("b"),   Value(2.5),  Value(Timestamp{-1}), Value(int64_t{-3}),
                               Value(),      Value(true), Value("a"),           Value(int64_t{10}),
                               Value(false), Value(-1.0), Value(Timestamp{7}),  Value()};
  std::sort(values.begin(), values.end());
  const std::vector<Value> expected = {Value(),
                                       Value(),
                                       Value(false),
                                       Value(true),
                                       Value(int64_t{-3}),
                                       Value(int64_t{10}),
                                       Value(-1.0),
                                       Value(2.5),
                                       Value("a"),
                                       Value("b"),
                                       Value(Timestamp{-1}),
                                       Value(Timestamp{7})};
  BOOST_TEST(values.size() == expected.size());
  for (size_t i = 0; i < values.size(); ++i)
    BOOST_TEST(values[i] == expected[i], "index " << i);
  BOOST_TEST(!(Value() < Value()));
  BOOST_TEST(Value() < Value(false));
}

BOOST_AUTO_TEST_CASE(to_string_renders_null_bools_integers_and_strings) {
  BOOST_TEST(Value().to_string() == "null");
  BOOST_TEST(Value(true).to_string() == "true");
  BOOST_TEST(Value(false).to_string() == "false");
  BOOST_TEST(Value(0).to_string() == "0");
  BOOST_TEST(Value(-42).to_string() == "-42");
  BOOST_TEST(Value(std::numeric_limits<int64_t>::max()).to_string() == "9223372036854775807");
  BOOST_TEST(Value(std::numeric_limits<int64_t>::min()).to_string() == "-9223372036854775808");
  BOOST_TEST(Value("").to_string() == "");
  BOOST_TEST(Value("héllo wörld").to_string() == "héllo wörld");
  std::ostringstream out;
  out << Value(7) << "," << Value() << "," << Type::Timestamp;
  BOOST_TEST(out.str() == "7,null,TIMESTAMP");
}

BOOST_AUTO_TEST_CASE(type_names_are_sql_names) {
  BOOST_TEST(type_name(Type::Bool) == "BOOLEAN");
  BOOST_TEST(type_name(Type::Int64) == "BIGINT");
  BOOST_TEST(type_name(Type::Double) == "DOUBLE");
  BOOST_TEST(type_name(Type::String) == "STRING");
  BOOST_TEST(type_name(Type::Timestamp) == "TIMESTAMP");
}

BOOST_AUTO_TEST_CASE(integral_doubles_end_in_point_zero) {
  BOOST_TEST(Value(0.0).to_string() == "0.0");
  BOOST_TEST(Value(-0.0).to_string() == "-0.0");
  BOOST_TEST(Value(1.0).to_string() == "1.0");
  BOOST_TEST(Value(-42.0).to_string() == "-42.0");
  BOOST_TEST(Value(100.0).to_string() == "100.0");
  BOOST_TEST(Value(1000.0).to_string() == "1000.0");
  BOOST_TEST(Value(123456789.0).to_string() == "123456789.0");
  BOOST_TEST(Value(1e10).to_string() == "10000000000.0");
  BOOST_TEST(Value(1e15).to_string() == "1000000000000000.0");
  // Above 2^53 the shortest digits still show in full.
  BOOST_TEST(Value(9007199254740994.0).to_string() == "9007199254740994.0");
}

BOOST_AUTO_TEST_CASE(doubles_from_1e16_up_switch_to_scientific_notation) {
  BOOST_TEST(Value(1e16).to_string() == "1.0e+16");
  BOOST_TEST(Value(15762598695796736.0).to_string() == "1.5762598695796736e+16");
  BOOST_TEST(Value(9.87654321e15).to_string() == "9876543210000000.0");
}

BOOST_AUTO_TEST_CASE(fractional_doubles_use_the_shortest_round_trip_digits) {
  BOOST_TEST(Value(0.1).to_string() == "0.1");
  BOOST_TEST(Value(1.5).to_string() == "1.5");
  BOOST_TEST(Value(-2.25).to_string() == "-2.25");
  BOOST_TEST(Value(0.1 + 0.2).to_string() == "0.30000000000000004");
  BOOST_TEST(Value(1.0 / 3.0).to_string() == "0.3333333333333333");
  BOOST_TEST(Value(0.0001).to_string() == "0.0001");
  BOOST_TEST(Value(123.456).to_string() == "123.456");
}

BOOST_AUTO_TEST_CASE(very_large_and_small_doubles_use_an_exponent_with_a_point) {
  BOOST_TEST(Value(1e20).to_string() == "1.0e+20");
  BOOST_TEST(Value(-2.5e-7).to_string() == "-2.5e-07");
  BOOST_TEST(Value(1e-5).to_string() == "1.0e-05");
  BOOST_TEST(Value(std::numeric_limits<double>::max()).to_string() == "1.7976931348623157e+308");
  BOOST_TEST(Value(std::numeric_limits<double>::denorm_min()).to_string() == "5.0e-324");
}

BOOST_AUTO_TEST_CASE(non_finite_doubles_print_like_java) {
  BOOST_TEST(Value(std::nan("")).to_string() == "NaN");
  BOOST_TEST(Value(std::numeric_limits<double>::infinity()).to_string() == "Infinity");
  BOOST_TEST(Value(-std::numeric_limits<double>::infinity()).to_string() == "-Infinity");
}

BOOST_AUTO_TEST_CASE(random_doubles_round_trip_with_the_fewest_digits) {
  const uint32_t seed = 20240229;
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> exponent(-30, 30);
  std::uniform_real_distribution<double> mantissa(-10.0, 10.0);
  for (int i = 0; i < 5000; ++i) {
    double v;
    switch (i % 3) {
      case 0:
        v = mantissa(random) * std::pow(10.0, exponent(random));
        break;
      case 1:
        v = std::bit_cast<double>(random());
        break;  // any bit pattern
      default:
        v = static_cast<double>(static_cast<int64_t>(random() >> 20)) / 64.0;
        break;
    }
    if (!std::isfinite(v)) continue;
    const std::string text = Value(v).to_string();
    BOOST_TEST(std::strtod(text.c_str(), nullptr) == v, text);
    // Every finite double shows a decimal point, so it never reads as a BIGINT.
    BOOST_TEST(text.find('.') != std::string::npos, text);
    char shortest[64];
    auto [end, error] =
        std::to_chars(shortest, shortest + sizeof shortest, v, std::chars_format::scientific);
    BOOST_REQUIRE(error == std::errc());
    BOOST_TEST(significant_digits(text) == significant_digits(std::string(shortest, end)), text);
  }
}

BOOST_AUTO_TEST_CASE(epoch_zero_formats_as_midnight_1970) {
  BOOST_TEST(format_timestamp(0) == "1970-01-01 00:00:00");
  BOOST_TEST(Value(Timestamp{0}).to_string() == "1970-01-01 00:00:00");
}

BOOST_AUTO_TEST_CASE(fractions_keep_only_significant_microsecond_digits) {
  BOOST_TEST(format_timestamp(500'000) == "1970-01-01 00:00:00.5");
  BOOST_TEST(format_timestamp(123'000) == "1970-01-01 00:00:00.123");
  BOOST_TEST(format_timestamp(1) == "1970-01-01 00:00:00.000001");
  BOOST_TEST(format_timestamp(61'000'010) == "1970-01-01 00:01:01.00001");
}

BOOST_AUTO_TEST_CASE(timestamps_before_1970_borrow_from_the_previous_second_and_day) {
  BOOST_TEST(format_timestamp(-1) == "1969-12-31 23:59:59.999999");
  BOOST_TEST(format_timestamp(-1'000'000) == "1969-12-31 23:59:59");
  BOOST_TEST(format_timestamp(-500'000) == "1969-12-31 23:59:59.5");
  BOOST_TEST(format_timestamp(-86'400'000'000) == "1969-12-31 00:00:00");
  BOOST_TEST(format_timestamp(micros_of(1900y / March / 1, 0, 0) - 1) ==
             "1900-02-28 23:59:59.999999");
}

BOOST_AUTO_TEST_CASE(leap_days_and_century_rules_are_respected) {
  BOOST_TEST(format_timestamp(micros_of(2024y / February / 29, 12 * 3600 + 34 * 60 + 56, 0)) ==
             "2024-02-29 12:34:56");
  BOOST_TEST(format_timestamp(micros_of(2024y / February / 28, 86400, 0)) == "2024-02-29 00:00:00");
  BOOST_TEST(format_timestamp(micros_of(2023y / February / 28, 86400, 0)) == "2023-03-01 00:00:00");
  BOOST_TEST(format_timestamp(micros_of(2000y / February / 28, 86400, 0)) == "2000-02-29 00:00:00");
  BOOST_TEST(format_timestamp(micros_of(2100y / February / 28, 86400, 0)) == "2100-03-01 00:00:00");
}

BOOST_AUTO_TEST_CASE(year_9999_and_year_1_format_with_four_digits) {
  BOOST_TEST(format_timestamp(micros_of(9999y / December / 31, 86399, 999'999)) ==
             "9999-12-31 23:59:59.999999");
  BOOST_TEST(format_timestamp(micros_of(1y / January / 1, 0, 0)) == "0001-01-01 00:00:00");
}

BOOST_AUTO_TEST_CASE(random_timestamps_match_the_chrono_calendar) {
  const uint32_t seed = 1970;
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  const int64_t low = micros_of(1y / January / 1, 0, 0);
  const int64_t high = micros_of(9999y / December / 31, 86399, 999'999);
  std::uniform_int_distribution<int64_t> any(low, high);
  std::uniform_int_distribution<int64_t> near_epoch(-10'000'000'000, 10'000'000'000);
  for (int i = 0; i < 5000; ++i) {
    int64_t micros = i % 2 == 0 ? any(random) : near_epoch(random);
    // Round some values to whole seconds so the no-fraction path is covered too.
    if (i % 5 == 0) micros = micros / 1'000'000 * 1'000'000;
    BOOST_TEST(format_timestamp(micros) == chrono_timestamp(micros), "micros " << micros);
  }
}
