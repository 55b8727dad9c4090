#pragma once

#include <cassert>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace sluice {

/// Classifies an error so callers can react without parsing messages.
enum class StatusCode : uint8_t {
  ok,
  invalid_argument,  ///< a wrong option, a bad value, an unsupported query
  type_error,        ///< an expression applied to types it does not accept
  not_found,         ///< a missing column, file, key or checkpoint
  corrupt,           ///< bytes that fail verification: wire buffers, checkpoints, files
  io_error,          ///< the operating system or a library refused an operation
  out_of_range,      ///< a value that does not fit its target
  aborted,           ///< an operation stopped on purpose (query stopped, epoch abandoned)
  internal,          ///< a broken invariant of Sluice itself
};

/// Returns the lower-case name of a status code, as printed in messages.
const char* status_code_name(StatusCode code);

/// Carries the outcome of a fallible call: ok, or a code and a message naming what failed
/// and where. Cheap to copy when ok.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  static Status invalid_argument(std::string m) { return {StatusCode::invalid_argument, std::move(m)}; }
  static Status type_error(std::string m) { return {StatusCode::type_error, std::move(m)}; }
  static Status not_found(std::string m) { return {StatusCode::not_found, std::move(m)}; }
  static Status corrupt(std::string m) { return {StatusCode::corrupt, std::move(m)}; }
  static Status io_error(std::string m) { return {StatusCode::io_error, std::move(m)}; }
  static Status out_of_range(std::string m) { return {StatusCode::out_of_range, std::move(m)}; }
  static Status aborted(std::string m) { return {StatusCode::aborted, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::internal, std::move(m)}; }

  bool is_ok() const { return code_ == StatusCode::ok; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  /// Returns a copy whose message is prefixed with the given context ("while reading x: ...").
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

  /// Renders "code: message", or "ok".
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

/// Prints a code or a status (used by test frameworks and logs).
std::ostream& operator<<(std::ostream& out, StatusCode code);
std::ostream& operator<<(std::ostream& out, const Status& status);

/// Holds either a value or the error that prevented it.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::move(value)) {}
  Result(Status status) : storage_(std::move(status)) {
    // An ok Status carries no value; treating it as one would hide a bug at the call site.
    assert(!std::get<Status>(storage_).is_ok());
  }

  bool ok() const { return std::holds_alternative<T>(storage_); }
  Status status() const { return ok() ? Status::ok() : std::get<Status>(storage_); }

  const T& value() const& { return std::get<T>(storage_); }
  T& value() & { return std::get<T>(storage_); }
  T&& value() && { return std::get<T>(std::move(storage_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  /// Returns the value, or the fallback when this holds an error.
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> storage_;
};

}  // namespace sluice

#define SLUICE_CONCAT_INNER(a, b) a##b
#define SLUICE_CONCAT(a, b) SLUICE_CONCAT_INNER(a, b)

/// Returns the status from the enclosing function when it is an error.
#define SLUICE_RETURN_NOT_OK(expr)                         \
  do {                                                     \
    ::sluice::Status sluice_status_ = (expr);              \
    if (!sluice_status_.is_ok()) return sluice_status_;    \
  } while (false)

#define SLUICE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

/// Assigns the value of a Result to lhs, or returns its error from the enclosing function.
#define SLUICE_ASSIGN_OR_RETURN(lhs, expr) \
  SLUICE_ASSIGN_OR_RETURN_IMPL(SLUICE_CONCAT(sluice_result_, __LINE__), lhs, expr)
