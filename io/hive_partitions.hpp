#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

class Column;

/// Escapes a partition value for a `column=value/` directory name, as Hive does (%XX for
/// control characters and "#%'*/:=?\{[]^). Shared by the file and Delta sinks.
std::string escape_partition_value(std::string_view value);

/// Renders a partition column's value at `row` as the text a `column=value/` directory
/// carries before escaping (booleans true/false, shortest round-trip doubles, timestamps as
/// format_timestamp writes them); nullopt for null (Hive's __HIVE_DEFAULT_PARTITION__).
std::optional<std::string> partition_value_text(const Column& column, int64_t row);

/// Returns the escaped `value` part of a partition directory for the column's value at `row`,
/// __HIVE_DEFAULT_PARTITION__ for null.
std::string partition_directory_value(const Column& column, int64_t row);

/// Undoes escape_partition_value (file source reading partition directories).
std::string unescape_partition_value(std::string_view text);

}  // namespace sluice
