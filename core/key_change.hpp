#pragma once

#include <optional>
#include <string>

namespace sluice {

/// Sets (value) or deletes (nullopt) one key of a keyed state: what a stateful operator hands
/// over for an epoch, and what the checkpoint writes as the epoch's delta record (one type, so
/// an epoch's changes move from the operator to the commit without a copy).
struct KeyChange {
  std::string key;
  std::optional<std::string> value;  ///< nullopt deletes the key
};

}  // namespace sluice
