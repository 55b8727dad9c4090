#define BOOST_TEST_MODULE status
#include <boost/test/unit_test.hpp>

#include <memory>
#include <sstream>
#include <string>
#include <variant>

#include "core/status.hpp"

using namespace sluice;

namespace {

// Counts how far the macro tests got, so an early return shows as a smaller number.
struct Progress {
  int steps = 0;
};

Status fail_with(StatusCode code) {
  return Status(code, "broken");
}

Status run_two_steps(Status first, Progress& progress) {
  SLUICE_RETURN_NOT_OK(first);
  ++progress.steps;
  SLUICE_RETURN_NOT_OK(Status::ok());
  ++progress.steps;
  return Status::ok();
}

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Status::invalid_argument(std::string("not a digit: ") + c);
  return c - '0';
}

Result<int> add_digits(char a, char b, Progress& progress) {
  SLUICE_ASSIGN_OR_RETURN(int x, parse_digit(a));
  ++progress.steps;
  SLUICE_ASSIGN_OR_RETURN(int y, parse_digit(b));
  ++progress.steps;
  return x + y;
}

Status add_into(char a, int& out) {
  SLUICE_ASSIGN_OR_RETURN(out, parse_digit(a));
  return Status::ok();
}

}  // namespace

BOOST_AUTO_TEST_CASE(default_status_is_ok_and_prints_ok) {
  Status status;
  BOOST_TEST(status.is_ok());
  BOOST_TEST(status.code() == StatusCode::ok);
  BOOST_TEST(status.message().empty());
  BOOST_TEST(status.to_string() == "ok");
  BOOST_TEST(Status::ok().is_ok());
}

BOOST_AUTO_TEST_CASE(each_factory_sets_its_code_and_renders_code_name_then_message) {
  struct Case {
    Status status;
    StatusCode code;
    std::string rendered;
  };
  const Case cases[] = {
      {Status::invalid_argument("m"), StatusCode::invalid_argument, "invalid argument: m"},
      {Status::type_error("m"), StatusCode::type_error, "type error: m"},
      {Status::not_found("m"), StatusCode::not_found, "not found: m"},
      {Status::corrupt("m"), StatusCode::corrupt, "corrupt: m"},
      {Status::io_error("m"), StatusCode::io_error, "I/O error: m"},
      {Status::out_of_range("m"), StatusCode::out_of_range, "out of range: m"},
      {Status::aborted("m"), StatusCode::aborted, "aborted: m"},
      {Status::internal("m"), StatusCode::internal, "internal error: m"},
  };
  for (const auto& c : cases) {
    BOOST_TEST(!c.status.is_ok());
    BOOST_TEST(c.status.code() == c.code);
    BOOST_TEST(c.status.message() == "m");
    BOOST_TEST(c.status.to_string() == c.rendered);
  }
}

BOOST_AUTO_TEST_CASE(code_names_are_distinct_and_printable) {
  const StatusCode codes[] = {
      StatusCode::ok,           StatusCode::invalid_argument, StatusCode::type_error,
      StatusCode::not_found,    StatusCode::corrupt,          StatusCode::io_error,
      StatusCode::out_of_range, StatusCode::aborted,          StatusCode::internal};
  for (size_t i = 0; i < std::size(codes); ++i) {
    for (size_t j = i + 1; j < std::size(codes); ++j) {
      BOOST_TEST(std::string(status_code_name(codes[i])) != status_code_name(codes[j]));
    }
    std::ostringstream out;
    out << codes[i];
    BOOST_TEST(out.str() == status_code_name(codes[i]));
  }
}

BOOST_AUTO_TEST_CASE(streaming_a_status_prints_its_rendering) {
  std::ostringstream out;
  out << Status::not_found("no column named 'x'") << "|" << Status::ok();
  BOOST_TEST(out.str() == "not found: no column named 'x'|ok");
}

BOOST_AUTO_TEST_CASE(with_context_prefixes_the_message_and_keeps_the_code) {
  Status status = Status::corrupt("bad checksum").with_context("while reading epoch 7");
  BOOST_TEST(status.code() == StatusCode::corrupt);
  BOOST_TEST(status.message() == "while reading epoch 7: bad checksum");
  // Contexts nest outermost first.
  Status nested = status.with_context("checkpoint /tmp/x");
  BOOST_TEST(nested.message() == "checkpoint /tmp/x: while reading epoch 7: bad checksum");
}

BOOST_AUTO_TEST_CASE(with_context_on_ok_stays_ok_without_message) {
  Status status = Status::ok().with_context("while reading");
  BOOST_TEST(status.is_ok());
  BOOST_TEST(status.message().empty());
}

BOOST_AUTO_TEST_CASE(result_holds_a_value_and_reports_ok) {
  Result<std::string> result(std::string("hello"));
  BOOST_TEST(result.ok());
  BOOST_TEST(result.status().is_ok());
  BOOST_TEST(result.value() == "hello");
  BOOST_TEST(*result == "hello");
  BOOST_TEST(result->size() == 5u);
  result.value() += "!";
  BOOST_TEST(*result == "hello!");
  std::string moved = std::move(result).value();
  BOOST_TEST(moved == "hello!");
}

BOOST_AUTO_TEST_CASE(result_holds_an_error_and_refuses_value_access) {
  Result<int> result(Status::out_of_range("too big"));
  BOOST_TEST(!result.ok());
  BOOST_TEST(result.status().code() == StatusCode::out_of_range);
  BOOST_TEST(result.status().message() == "too big");
  BOOST_CHECK_THROW(result.value(), std::bad_variant_access);
}

BOOST_AUTO_TEST_CASE(value_or_returns_the_value_or_the_fallback) {
  Result<int> good(7);
  Result<int> bad(Status::not_found("x"));
  BOOST_TEST(good.value_or(-1) == 7);
  BOOST_TEST(bad.value_or(-1) == -1);
}

BOOST_AUTO_TEST_CASE(result_carries_move_only_values) {
  Result<std::unique_ptr<int>> result(std::make_unique<int>(5));
  BOOST_REQUIRE(result.ok());
  std::unique_ptr<int> owned = std::move(result).value();
  BOOST_TEST(*owned == 5);
}

BOOST_AUTO_TEST_CASE(return_not_ok_returns_early_on_error) {
  Progress progress;
  Status status = run_two_steps(Status::aborted("stopped"), progress);
  BOOST_TEST(status.code() == StatusCode::aborted);
  BOOST_TEST(status.message() == "stopped");
  BOOST_TEST(progress.steps == 0);
}

BOOST_AUTO_TEST_CASE(return_not_ok_continues_on_ok) {
  Progress progress;
  BOOST_TEST(run_two_steps(Status::ok(), progress).is_ok());
  BOOST_TEST(progress.steps == 2);
}

BOOST_AUTO_TEST_CASE(return_not_ok_evaluates_its_expression_once) {
  int calls = 0;
  auto body = [&]() -> Status {
    SLUICE_RETURN_NOT_OK((++calls, fail_with(StatusCode::internal)));
    return Status::ok();
  };
  BOOST_TEST(body().code() == StatusCode::internal);
  BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(assign_or_return_assigns_values_in_sequence) {
  Progress progress;
  Result<int> sum = add_digits('3', '4', progress);
  BOOST_REQUIRE(sum.ok());
  BOOST_TEST(*sum == 7);
  BOOST_TEST(progress.steps == 2);
}

BOOST_AUTO_TEST_CASE(assign_or_return_returns_the_first_error_early) {
  Progress progress;
  Result<int> sum = add_digits('3', 'x', progress);
  BOOST_REQUIRE(!sum.ok());
  BOOST_TEST(sum.status().code() == StatusCode::invalid_argument);
  BOOST_TEST(sum.status().message() == "not a digit: x");
  BOOST_TEST(progress.steps == 1);

  Progress first;
  BOOST_TEST(!add_digits('y', '1', first).ok());
  BOOST_TEST(first.steps == 0);
}

BOOST_AUTO_TEST_CASE(assign_or_return_assigns_to_an_existing_variable_in_a_status_function) {
  int out = -1;
  BOOST_TEST(add_into('9', out).is_ok());
  BOOST_TEST(out == 9);
  Status status = add_into('?', out);
  BOOST_TEST(status.code() == StatusCode::invalid_argument);
  BOOST_TEST(out == 9);
}
