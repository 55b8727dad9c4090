#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace sluice {

/// Reads a whole file; nullopt when it does not exist. Opens once and judges by errno, so a
/// file that appears between a failed open and a later check is never misreported.
/// Thread-safe.
Result<std::optional<std::string>> read_file_if_exists(const std::string& path);

/// Writes every byte to the open descriptor, retrying short writes and EINTR; `name` names the
/// file in errors. Thread-safe for distinct descriptors.
Status write_fully(int fd, std::string_view bytes, const std::string& name);

}  // namespace sluice
