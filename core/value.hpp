#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <variant>

#include "core/type.hpp"

namespace sluice {

/// Holds a timestamp as microseconds since the Unix epoch, UTC; distinct from int64 in a Value.
struct Timestamp {
  int64_t micros = 0;
  friend bool operator==(const Timestamp&, const Timestamp&) = default;
  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;
};

/// Holds one scalar of any Sluice type, or null (std::monostate). Used for literals, rows built
/// by hand and rows read back in tests; never on a hot path.
class Value {
 public:
  using Storage = std::variant<std::monostate, bool, int64_t, double, std::string, Timestamp>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool v) : storage_(v) {}
  Value(int v) : storage_(int64_t{v}) {}
  Value(int64_t v) : storage_(v) {}
  Value(double v) : storage_(v) {}
  Value(const char* v) : storage_(std::string(v)) {}
  Value(std::string v) : storage_(std::move(v)) {}
  Value(Timestamp v) : storage_(v) {}

  bool is_null() const { return std::holds_alternative<std::monostate>(storage_); }

  /// Returns the type of a non-null value; nullopt for null.
  std::optional<Type> type() const;

  bool as_bool() const { return std::get<bool>(storage_); }
  int64_t as_int64() const { return std::get<int64_t>(storage_); }
  double as_double() const { return std::get<double>(storage_); }
  const std::string& as_string() const { return std::get<std::string>(storage_); }
  Timestamp as_timestamp() const { return std::get<Timestamp>(storage_); }

  const Storage& storage() const { return storage_; }

  /// Renders the value the way the pretty printer shows it ("null" for null).
  std::string to_string() const;

  friend bool operator==(const Value&, const Value&) = default;
  /// Orders values: null first, then by type, then by value (for sorting rows in tests).
  friend bool operator<(const Value& a, const Value& b) { return a.storage_ < b.storage_; }

 private:
  Storage storage_;
};

/// Prints the value as to_string() renders it.
std::ostream& operator<<(std::ostream& out, const Value& value);

/// Formats a timestamp as "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC, as Spark shows it.
std::string format_timestamp(int64_t micros);

}  // namespace sluice
