#include "tools/table_command.hpp"

#include <iostream>
#include <numeric>

#include "core/pretty_print.hpp"
#include "io/file_format.hpp"
#include "io/table_sink.hpp"

namespace sluice::tools {

int dump_table(const std::string& path, bool json) {
  auto table = read_table_sink(path);
  if (!table.ok()) {
    std::cerr << "sluice: error: " << table.status().message() << std::endl;
    return 1;
  }
  const RecordBatch& rows = *table->rows;
  if (json) {
    std::vector<int> columns(static_cast<size_t>(rows.num_columns()));
    std::iota(columns.begin(), columns.end(), 0);
    std::string out;
    for (int64_t row = 0; row < rows.num_rows(); ++row) append_json_record(rows, row, columns, out);
    std::cout << out << std::flush;
    return 0;
  }
  std::string key;
  for (const auto& column : table->key) key += (key.empty() ? "" : ", ") + column;
  std::cout << "table " << path << ": " << rows.num_rows() << " rows"
            << (key.empty() ? "" : ", key (" + key + ")") << "\n"
            << show(rows, ShowOptions{.num_rows = rows.num_rows(), .truncate = 0}) << std::flush;
  return 0;
}

}  // namespace sluice::tools
