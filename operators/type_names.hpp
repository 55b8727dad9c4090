#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "core/type.hpp"

namespace sluice {

/// Maps a SQL type name, as written ("BIGINT", "double precision", "VARCHAR") or as PostgreSQL
/// names it internally ("int8", "float8", "bool"), to a Sluice type. Fails naming the type,
/// the closest supported name and, for types Sluice lacks (DATE, DECIMAL, INTERVAL), what to
/// use instead. Case-insensitive; parameters such as VARCHAR(20) must be stripped first.
Result<Type> type_from_sql_name(std::string_view name);

}  // namespace sluice
