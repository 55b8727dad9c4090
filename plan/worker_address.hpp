#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace sluice {

/// Where a `sluice worker` listens: a host name or IP address and a TCP port.
struct WorkerAddress {
  std::string host;
  uint16_t port = 0;
  /// Returns "host:port".
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

/// Parses one "host:port" (port 0..65535; 0 only where `allow_port_zero`, i.e. to listen on
/// any free port). Fails naming the text and what is wrong. Thread-safe.
Result<WorkerAddress> parse_worker_address(std::string_view text, bool allow_port_zero = false);

/// Parses the query option `workers`: "host:port,host:port,..." (spaces around commas allowed,
/// no duplicates, at least one address). Fails naming the option, the entry and what is wrong.
/// Thread-safe.
Result<std::vector<WorkerAddress>> parse_worker_addresses(std::string_view text);

}  // namespace sluice
