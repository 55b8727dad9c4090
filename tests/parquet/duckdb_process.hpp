#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace sluice::testing {

/// Holds the rows each statement returned (values JSON-encoded, as duckdb_helper.mjs prints
/// them) and how long each statement took.
struct DuckdbOutput {
  std::vector<std::vector<std::vector<std::string>>> results;
  std::vector<double> milliseconds;
};

/// Returns why DuckDB from npm cannot run here, or "" when node and @duckdb/node-api exist.
inline std::string duckdb_missing_reason() {
  const std::string modules = std::string(SLUICE_SOURCE_DIR) + "/node_modules/@duckdb/node-api";
  if (!std::filesystem::exists(modules)) {
    return modules + " is missing: run `make deps` to install DuckDB from npm";
  }
  if (std::system("command -v node >/dev/null 2>&1") != 0) {
    return "node is not on PATH: run `make deps` to install Node.js and DuckDB";
  }
  return "";
}

/// Encodes a string the way JSON.stringify does (for comparing with DuckDB's output).
inline std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned char>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

/// Runs statements in one in-memory DuckDB through node and tests/parquet/duckdb_helper.mjs;
/// work_dir receives the query file and the captured stderr.
inline Result<DuckdbOutput> run_duckdb(const std::vector<std::string>& statements,
                                       const std::string& work_dir) {
  const std::string missing = duckdb_missing_reason();
  if (!missing.empty()) return Status::not_found(missing);
  const std::string query_file = work_dir + "/duckdb_query.sql";
  const std::string error_file = work_dir + "/duckdb_stderr.txt";
  {
    std::ofstream out(query_file);
    for (const auto& statement : statements)
      out << statement << "\n;;\n";
  }
  // The helper lives under the source tree, so its import finds ./node_modules from there.
  const std::string command = std::string("cd '") + SLUICE_SOURCE_DIR +
                              "' && node tests/parquet/duckdb_helper.mjs '" + query_file + "' 2>'" +
                              error_file + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return Status::io_error("cannot start node");
  std::string output;
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0) {
    std::ifstream errors(error_file);
    std::stringstream text;
    text << errors.rdbuf();
    return Status::io_error("DuckDB via node failed (status " + std::to_string(status) +
                            "): " + text.str());
  }
  DuckdbOutput result;
  result.results.emplace_back();
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("--end ", 0) == 0) {
      result.milliseconds.push_back(std::stod(line.substr(6)));
      result.results.emplace_back();
      continue;
    }
    std::vector<std::string> row;
    size_t start = 0;
    while (true) {
      const size_t tab = line.find('\t', start);
      row.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    result.results.back().push_back(std::move(row));
  }
  result.results.pop_back();
  return result;
}

}  // namespace sluice::testing
