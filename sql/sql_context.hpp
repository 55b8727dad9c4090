#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plan/dataframe.hpp"
#include "plan/streaming_query.hpp"
#include "plan/trigger.hpp"
#include "sql/sql_catalog.hpp"
#include "sql/sql_script.hpp"

namespace sluice {

/// Overrides for running a script (the `sluice run` options).
struct ScriptOptions {
  /// Replaces every sink's trigger.
  std::optional<Trigger> trigger;
  /// Gives sinks without checkpoint_location the checkpoint <checkpoint_root>/<sink name>.
  std::string checkpoint_root;
  /// False: translate and check every statement, start nothing (for explain).
  bool start_queries = true;
};

/// What one statement of a script did.
struct StatementResult {
  StatementKind kind = StatementKind::query;
  /// The source, view or sink name, or the SET key.
  std::string name;
  /// The query a sink started (CREATE SINK ... AS, INSERT INTO), when queries start.
  std::optional<StreamingQuery> query;
  /// EXPLAIN, and every sink's query: the parsed, analyzed, optimized and physical plans.
  std::string explain;
};

/// Runs SQL in a session: queries become DataFrames (the same calls a DataFrame user makes,
/// so both share the analyzer, optimizer and runtime), and scripts run Sluice's statements.
/// Every SqlContext of a session shares one catalog of sources, views, sinks and registered
/// streams. Thread-safe (the catalog is); the session must outlive the context.
class SqlContext {
 public:
  explicit SqlContext(SessionContext& session);

  /// Translates one query (SELECT ..., WITH ... SELECT ...) into a DataFrame. Errors carry
  /// the line and column, the line and a caret, and for unknown names the closest one.
  Result<DataFrame> sql(std::string_view query) const;

  /// Makes a MemoryStream readable as a table `name` (and by CREATE SOURCE ... WITH
  /// (connector = 'memory')).
  Status register_stream(const std::string& name, const MemoryStream& stream);
  /// Makes a DataFrame readable as a view `name`.
  Status register_view(const std::string& name, const DataFrame& frame);

  /// Runs a script's statements in order. Sinks start after every statement has been
  /// translated and checked, so an error anywhere starts nothing; if a sink fails to start,
  /// the sinks this call started are stopped. Returns one result per statement.
  Result<std::vector<StatementResult>> execute(const SqlScript& script,
                                               const ScriptOptions& options = {});
  /// Parses and runs a script.
  Result<std::vector<StatementResult>> execute(std::string_view script,
                                               const ScriptOptions& options = {});

  SqlCatalog& catalog() const { return *catalog_; }

 private:
  SessionContext& session_;
  std::shared_ptr<SqlCatalog> catalog_;
};

/// Translates one query in `session` (see SqlContext::sql).
Result<DataFrame> sql(SessionContext& session, std::string_view query);

}  // namespace sluice
