#include "plan/worker_address.hpp"

#include <algorithm>
#include <charconv>

namespace sluice {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  return text;
}

}  // namespace

Result<WorkerAddress> parse_worker_address(std::string_view text, bool allow_port_zero) {
  const std::string quoted = "'" + std::string(text) + "'";
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Status::invalid_argument(quoted +
                                    " is not host:port (e.g. 10.0.0.5:7070): the port is missing");
  }
  WorkerAddress address;
  address.host = std::string(text.substr(0, colon));
  if (address.host.empty()) {
    return Status::invalid_argument(quoted +
                                    " is not host:port (e.g. 10.0.0.5:7070): the host is missing");
  }
  if (address.host.find_first_of(" ,/") != std::string::npos) {
    return Status::invalid_argument(quoted + " is not host:port: the host '" + address.host +
                                    "' holds a space, comma or slash");
  }
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc() || end != port.data() + port.size() || value > 65535 ||
      (value == 0 && !allow_port_zero)) {
    return Status::invalid_argument(quoted + " is not host:port: the port '" + std::string(port) +
                                    "' is not a number from " + (allow_port_zero ? "0" : "1") +
                                    " to 65535");
  }
  address.port = static_cast<uint16_t>(value);
  return address;
}

Result<std::vector<WorkerAddress>> parse_worker_addresses(std::string_view text) {
  std::vector<WorkerAddress> addresses;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view entry = trim(text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    auto address = parse_worker_address(entry);
    if (!address.ok())
      return address.status().with_context("option workers ('" + std::string(text) + "')");
    const bool duplicate = std::any_of(
        addresses.begin(), addresses.end(),
        [&](const WorkerAddress& a) { return a.host == address->host && a.port == address->port; });
    if (duplicate) {
      return Status::invalid_argument("option workers ('" + std::string(text) + "') lists " +
                                      address->to_string() + " twice");
    }
    addresses.push_back(std::move(*address));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return addresses;
}

}  // namespace sluice
