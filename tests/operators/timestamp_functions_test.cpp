#define BOOST_TEST_MODULE timestamp_functions
#include <boost/test/unit_test.hpp>

#include <time.h>

#include <random>

#include "operators/expression.hpp"
#include "tests/operators/expression_fixture.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

const Value N;
constexpr int64_t kSecond = 1'000'000;

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// Reference civil fields from the C library (independent of Sluice's calendar code).
struct tm civil(int64_t micros) {
  const time_t seconds = static_cast<time_t>(floor_div(micros, kSecond));
  struct tm fields {};
  gmtime_r(&seconds, &fields);
  return fields;
}

int64_t micros_of(const struct tm& fields) {
  struct tm copy = fields;
  return static_cast<int64_t>(timegm(&copy)) * kSecond;
}

// Timestamps from 1900 to 2100, before and after the epoch, with fractions.
std::vector<Value> random_timestamps() {
  std::mt19937_64 random(17);
  std::vector<Value> out = {Timestamp{0}, Timestamp{-1},
                            Timestamp{951'782'400 * kSecond},  // 2000-02-29
                            N};
  for (int i = 0; i < 300; ++i) {
    const int64_t span = 200LL * 365 * 86400 * kSecond;
    const int64_t micros =
        static_cast<int64_t>(random() % static_cast<uint64_t>(span)) - 70LL * 365 * 86400 * kSecond;
    out.push_back(random() % 10 == 0 ? N : Value(Timestamp{micros}));
  }
  return out;
}

RecordBatchPtr timestamps() {
  std::vector<std::vector<Value>> rows;
  for (const auto& v : random_timestamps())
    rows.push_back({v});
  return batch_of(schema_of({{"t", Type::Timestamp}}), rows);
}

template <typename F>
std::vector<Value> map_timestamps(F f) {
  std::vector<Value> out;
  for (const auto& v : random_timestamps())
    out.push_back(v.is_null() ? N : Value(f(v.as_timestamp().micros)));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(calendar_fields_match_the_c_library) {
  auto batch = timestamps();
  check_values(evaluate(year(col("t")), *batch),
               map_timestamps([](int64_t t) { return int64_t{civil(t).tm_year} + 1900; }), "year");
  check_values(evaluate(month(col("t")), *batch),
               map_timestamps([](int64_t t) { return int64_t{civil(t).tm_mon} + 1; }), "month");
  check_values(evaluate(day(col("t")), *batch),
               map_timestamps([](int64_t t) { return int64_t{civil(t).tm_mday}; }), "day");
  check_values(evaluate(hour(col("t")), *batch),
               map_timestamps([](int64_t t) { return int64_t{civil(t).tm_hour}; }), "hour");
  check_values(evaluate(minute(col("t")), *batch),
               map_timestamps([](int64_t t) { return int64_t{civil(t).tm_min}; }), "minute");
  check_values(evaluate(second(col("t")), *batch),
               map_timestamps([](int64_t t) { return int64_t{civil(t).tm_sec}; }), "second");
}

BOOST_AUTO_TEST_CASE(date_trunc_matches_the_c_library_for_every_unit) {
  auto batch = timestamps();
  auto truncated = [](int64_t t, const std::string& unit) {
    struct tm f = civil(t);
    if (unit == "second") return micros_of(f);
    if (unit == "millisecond") return t - (t - floor_div(t, 1000) * 1000);
    f.tm_sec = 0;
    if (unit == "minute") return micros_of(f);
    f.tm_min = 0;
    if (unit == "hour") return micros_of(f);
    f.tm_hour = 0;
    if (unit == "day") return micros_of(f);
    if (unit == "week") return micros_of(f) - ((f.tm_wday + 6) % 7) * 86400 * kSecond;
    f.tm_mday = 1;
    if (unit == "month") return micros_of(f);
    if (unit == "quarter") {
      f.tm_mon = f.tm_mon / 3 * 3;
      return micros_of(f);
    }
    f.tm_mon = 0;
    return micros_of(f);
  };
  for (const std::string unit :
       {"year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond"}) {
    check_values(evaluate(date_trunc(unit, col("t")), *batch),
                 map_timestamps([&](int64_t t) { return Timestamp{truncated(t, unit)}; }), unit);
  }
  // Units are case-insensitive.
  check_values(evaluate(date_trunc("HOUR", col("t")), *batch),
               evaluate(date_trunc("hour", col("t")), *batch));
}

BOOST_AUTO_TEST_CASE(timestamp_functions_accept_strings) {
  BOOST_TEST(evaluate_scalar(year(lit("2024-05-01 10:00:00"))) == Value(2024));
  BOOST_TEST(evaluate_scalar(hour(lit("2024-05-01 10:00:00"))) == Value(10));
  BOOST_TEST(evaluate_scalar(month(lit("garbage"))).is_null());
}

BOOST_AUTO_TEST_CASE(to_timestamp_parses_java_patterns) {
  const int64_t jan2 = 1'704'153'600 * kSecond;  // 2024-01-02 00:00:00 UTC
  auto parse = [](const char* text, const char* format) {
    return evaluate_scalar(to_timestamp(lit(text), format));
  };
  BOOST_TEST(parse("2024-01-02 03:04:05", "yyyy-MM-dd HH:mm:ss") ==
             Value(Timestamp{jan2 + 11'045 * kSecond}));
  BOOST_TEST(parse("02/01/2024", "dd/MM/yyyy") == Value(Timestamp{jan2}));
  BOOST_TEST(parse("2024-01-02T03:04:05.250", "yyyy-MM-dd'T'HH:mm:ss.SSS") ==
             Value(Timestamp{jan2 + 11'045 * kSecond + 250'000}));
  BOOST_TEST(parse("Jan 2, 2024 3:04 PM", "MMM d, yyyy h:mm a") ==
             Value(Timestamp{jan2 + (15 * 3600 + 4 * 60) * kSecond}));
  BOOST_TEST(parse("12:30 AM 2024-01-02", "hh:mm a yyyy-MM-dd") ==
             Value(Timestamp{jan2 + 30 * 60 * kSecond}));
  BOOST_TEST(parse("24-01-02", "yy-MM-dd") == Value(Timestamp{jan2}));
  BOOST_TEST(parse("2024-1-2", "yyyy-M-d") == Value(Timestamp{jan2}));
  BOOST_TEST(parse("it's 2024-01-02", "'it''s' yyyy-MM-dd") == Value(Timestamp{jan2}));
  // Text that does not match, trailing text and impossible dates are NULL.
  BOOST_TEST(parse("2024-01-02", "yyyy-MM-dd HH:mm").is_null());
  BOOST_TEST(parse("2024-01-02 x", "yyyy-MM-dd").is_null());
  BOOST_TEST(parse("2024-02-30", "yyyy-MM-dd").is_null());
  BOOST_TEST(parse("", "yyyy").is_null());
  auto batch = batch_of(schema_of({{"s", Type::String}}), {{"2024-01-02"}, {N}, {"nope"}});
  check_values(evaluate(to_timestamp(col("s"), "yyyy-MM-dd"), *batch),
               {Value(Timestamp{jan2}), N, N});
}

BOOST_AUTO_TEST_CASE(interval_literals_parse_fixed_units) {
  BOOST_TEST(parse_interval("10 seconds").value() == 10 * kSecond);
  BOOST_TEST(parse_interval("1 hour").value() == 3600 * kSecond);
  BOOST_TEST(parse_interval("500 milliseconds").value() == 500'000);
  BOOST_TEST(parse_interval("2 minutes 3 seconds").value() == 123 * kSecond);
  BOOST_TEST(parse_interval("INTERVAL 1 day").value() == 86400 * kSecond);
  BOOST_TEST(parse_interval("-5 us").value() == -5);
  BOOST_TEST(parse_interval("1 week").value() == 7 * 86400 * kSecond);
  BOOST_TEST(!parse_interval("").ok());
  BOOST_TEST(!parse_interval("ten seconds").ok());
  BOOST_TEST(!parse_interval("10").ok());
  BOOST_TEST(contains(parse_interval("1 month").status().message(), "no fixed length"));
  BOOST_TEST(!parse_interval("99999999999999 weeks").ok());
}

BOOST_AUTO_TEST_CASE(timestamp_plus_or_minus_interval_is_a_timestamp) {
  auto batch =
      batch_of(schema_of({{"t", Type::Timestamp}}), {{Timestamp{0}}, {N}, {Timestamp{-kSecond}}});
  check_values(evaluate(col("t") + interval("10 seconds"), *batch),
               {Value(Timestamp{10 * kSecond}), N, Value(Timestamp{9 * kSecond})});
  check_values(evaluate(col("t") - interval("1 hour"), *batch),
               {Value(Timestamp{-3600 * kSecond}), N, Value(Timestamp{-3601 * kSecond})});
  check_values(evaluate(interval("2 minutes 3 seconds") + col("t"), *batch),
               {Value(Timestamp{123 * kSecond}), N, Value(Timestamp{122 * kSecond})});
  check_values(evaluate(date_trunc("minute", col("t") - interval("500 milliseconds")), *batch),
               {Value(Timestamp{-60 * kSecond}), N, Value(Timestamp{-60 * kSecond})});
  BOOST_TEST(evaluate_scalar(lit("1970-01-01 00:00:00") + interval("1 second")) ==
             Value(Timestamp{kSecond}));
}

BOOST_AUTO_TEST_CASE(unix_micros_and_timestamp_micros_convert_both_ways_and_keep_nulls) {
  const int64_t micros = 1'704'153'600'123'456;
  BOOST_TEST(evaluate_scalar(unix_micros(lit(Value(Timestamp{micros})))) == Value(micros));
  BOOST_TEST(evaluate_scalar(timestamp_micros(lit(Value(micros)))) == Value(Timestamp{micros}));
  BOOST_TEST(evaluate_scalar(unix_micros(timestamp_micros(lit(Value(int64_t{-5}))))) ==
             Value(int64_t{-5}));
  BOOST_TEST(evaluate_scalar(unix_micros(lit_null(Type::Timestamp))).is_null());
}
