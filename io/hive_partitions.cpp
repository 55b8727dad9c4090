#include "io/hive_partitions.hpp"

#include <charconv>
#include <cstdio>

#include "core/column.hpp"
#include "core/value.hpp"

namespace sluice {

std::optional<std::string> partition_value_text(const Column& column, int64_t row) {
  if (column.is_null(row)) return std::nullopt;
  switch (column.type()) {
    case Type::Bool:
      return std::string(column.values<uint8_t>()[row] ? "true" : "false");
    case Type::Int64:
      return std::to_string(column.values<int64_t>()[row]);
    case Type::Double: {
      char text[32];
      auto [end, error] = std::to_chars(text, text + sizeof(text), column.values<double>()[row]);
      (void)error;
      return std::string(text, end);
    }
    case Type::Timestamp:
      return format_timestamp(column.values<int64_t>()[row]);
    case Type::String:
      return std::string(column.string_at(row));
  }
  return std::nullopt;
}

std::string partition_directory_value(const Column& column, int64_t row) {
  const std::optional<std::string> value = partition_value_text(column, row);
  return value ? escape_partition_value(*value) : "__HIVE_DEFAULT_PARTITION__";
}

std::string escape_partition_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || std::string_view("\"#%'*/:=?\\{[]^").find(c) != std::string_view::npos) {
      char escaped[4];
      std::snprintf(escaped, sizeof(escaped), "%%%02X", u);
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string unescape_partition_value(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    int value = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr == text.data() + i + 3) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace sluice
