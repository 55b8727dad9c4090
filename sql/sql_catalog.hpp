#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "plan/logical_plan.hpp"
#include "plan/session_context.hpp"
#include "sql/sql_script.hpp"

namespace sluice {

/// Holds the names SQL sees in one session: streams registered from code, sources (CREATE
/// SOURCE), static tables (CREATE TABLE), views (CREATE VIEW) and sink declarations (CREATE SINK). Tables hold plans, not
/// DataFrames, so the catalog keeps no session alive. Thread-safe.
class SqlCatalog {
 public:
  /// A relation queries can read.
  struct Table {
    std::string name;
    PlanPtr plan;
    std::string kind;  ///< "stream", "source", "table" (static) or "view"
  };
  /// A sink declared with CREATE SINK name WITH (...), waiting for INSERT INTO.
  struct SinkDeclaration {
    Statement statement;
    SourceTextPtr source;
    bool started = false;
  };

  /// Returns the catalog of a session, made on first use and kept while the session lives.
  static std::shared_ptr<SqlCatalog> of(const std::shared_ptr<SessionState>& session);

  /// Adds a table; fails when the name (ignoring case) is taken, unless `replace`.
  Status add_table(Table table, bool replace = false);
  /// Finds a table by name: exactly, else ignoring case.
  std::optional<Table> table(const std::string& name) const;
  std::vector<std::string> table_names() const;

  /// Registers a MemoryStream's plan under a name, for queries and connector = 'memory'.
  void add_stream(const std::string& name, PlanPtr plan);
  std::optional<PlanPtr> stream(const std::string& name) const;

  Status add_sink(SinkDeclaration sink);
  /// Returns the declaration of a sink, or nullopt.
  std::optional<SinkDeclaration> sink(const std::string& name) const;
  std::vector<std::string> sink_names() const;
  void mark_sink_started(const std::string& name);

 private:
  template <typename T>
  static const T* find(const std::map<std::string, T>& map, const std::string& name);

  mutable std::mutex mutex_;
  std::map<std::string, Table> tables_;
  std::map<std::string, PlanPtr> streams_;
  std::map<std::string, SinkDeclaration> sinks_;
};

}  // namespace sluice
