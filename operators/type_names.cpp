#include "operators/type_names.hpp"

#include <cctype>
#include <vector>

#include "core/schema.hpp"

namespace sluice {

namespace {

struct TypeName {
  const char* name;
  Type type;
};

constexpr TypeName kTypeNames[] = {
    {"bigint", Type::Int64},
    {"int8", Type::Int64},
    {"long", Type::Int64},
    {"integer", Type::Int64},
    {"int", Type::Int64},
    {"int4", Type::Int64},
    {"smallint", Type::Int64},
    {"int2", Type::Int64},
    {"tinyint", Type::Int64},
    {"double", Type::Double},
    {"double precision", Type::Double},
    {"float", Type::Double},
    {"float8", Type::Double},
    {"real", Type::Double},
    {"float4", Type::Double},
    {"varchar", Type::String},
    {"character varying", Type::String},
    {"text", Type::String},
    {"string", Type::String},
    {"char", Type::String},
    {"character", Type::String},
    {"bpchar", Type::String},
    {"boolean", Type::Bool},
    {"bool", Type::Bool},
    {"timestamp", Type::Timestamp},
    {"timestamptz", Type::Timestamp},
    {"timestamp with time zone", Type::Timestamp},
    {"timestamp without time zone", Type::Timestamp},
};

std::string lower(std::string_view text) {
  std::string out;
  for (char c : text)
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<Type> type_from_sql_name(std::string_view name) {
  const std::string key = lower(name);
  for (const auto& entry : kTypeNames) {
    if (key == entry.name) return entry.type;
  }
  const std::string shown = std::string(name);
  if (key == "date") {
    return Status::type_error(
        "type DATE is not supported; use TIMESTAMP (with date_trunc('day', ...))");
  }
  if (key == "numeric" || key == "decimal") {
    return Status::type_error("type " + shown + " is not supported; use DOUBLE or BIGINT");
  }
  if (key == "interval") {
    return Status::type_error(
        "type INTERVAL is not a column type; write intervals as literals (INTERVAL '10' SECOND)");
  }
  std::vector<std::string> names;
  for (const auto& entry : kTypeNames)
    names.emplace_back(entry.name);
  std::string message = "unknown type '" + shown + "'";
  std::string suggestion = closest_name(key, names);
  if (!suggestion.empty()) {
    for (char& c : suggestion)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    message += "; did you mean " + suggestion + "?";
  }
  return Status::type_error(message + " (types: BIGINT, DOUBLE, VARCHAR, BOOLEAN, TIMESTAMP)");
}

}  // namespace sluice
