#pragma once

#include <string>
#include <string_view>

namespace sluice {

/// Escapes a partition value for a `column=value/` directory name, as Hive does (%XX for
/// control characters and "#%'*/:=?\{[]^). Shared by the file and Delta sinks.
std::string escape_partition_value(std::string_view value);

/// Undoes escape_partition_value (file source reading partition directories).
std::string unescape_partition_value(std::string_view text);

}  // namespace sluice
