#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace sluice {

/// Splits a comma-separated option value into its trimmed, non-empty items ("a, b" -> a, b).
std::vector<std::string> split_list(const std::string& text);

/// Reads a connector's string options by name, typed, and reports the ones nobody asked for:
/// a misspelt option is an error naming it and the closest known name, never silently ignored.
class OptionMap {
 public:
  /// `what` names the connector in errors, e.g. "the kafka source".
  OptionMap(std::string what, std::map<std::string, std::string> options);

  /// Returns and consumes the option, or nullopt when it is absent.
  std::optional<std::string> take(const std::string& key);
  std::string take_or(const std::string& key, const std::string& fallback);
  /// An integer of at least `minimum`.
  Result<int64_t> take_int(const std::string& key, int64_t fallback, int64_t minimum);
  /// true/false (any case).
  Result<bool> take_bool(const std::string& key, bool fallback);
  /// A duration such as "10 seconds" or "500 ms", in microseconds.
  Result<int64_t> take_duration(const std::string& key, int64_t fallback_micros);
  /// Returns and consumes every option starting with prefix, with the prefix removed.
  std::map<std::string, std::string> take_prefixed(const std::string& prefix);
  /// Consumes an option that is handled elsewhere (checkpointLocation, say).
  void ignore(const std::string& key);

  /// Fails naming the first option that was never taken.
  Status check_all_used() const;

 private:
  Status bad_value(const std::string& key, const std::string& value, const std::string& expected) const;

  std::string what_;
  std::map<std::string, std::string> options_;
  std::set<std::string> known_;
};

}  // namespace sluice
