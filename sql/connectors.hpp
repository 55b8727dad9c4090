#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "plan/dataframe.hpp"
#include "plan/trigger.hpp"
#include "sql/query_translator.hpp"
#include "sql/sql_catalog.hpp"
#include "sql/sql_script.hpp"

namespace sluice {

/// Parses a trigger as SQL and the command line write it: "1s", "500ms", "2 minutes", "0"
/// (processing time), "once", "available-now", "continuous:1s". Fails naming the text.
Result<Trigger> parse_trigger(std::string_view text);

/// Builds the DataFrame of CREATE SOURCE: the connector's stream (rate, or a MemoryStream
/// registered from code for connector = 'memory') through the same reader and option checks
/// as the DataFrame API, the declared columns checked against the connector's schema, and the
/// WATERMARK FOR clause as with_watermark. Errors point at the option, column or clause.
Result<DataFrame> make_source_frame(SessionContext& session, const SqlCatalog& catalog,
                                    const SourceText& source, const Statement& statement);

/// Builds the DataFrame of CREATE TABLE: a static table read whole when a query starts, as
/// session.read() does — CSV/JSON/text files (connector = 'file'), a Delta table ('delta') or
/// a table sink's directory ('table'); declared columns are checked as for CREATE SOURCE.
Result<DataFrame> make_table_frame(SessionContext& session, const SourceText& source,
                                   const Statement& statement);

/// Checks a CREATE SINK's connector and options that can be checked before a query exists.
Status check_sink_declaration(const SourceText& source, const Statement& statement);

/// A sink's query ready to start: its writer configured from the CREATE SINK options, and what
/// places the errors of its start at the right spot of the user's text.
struct PreparedSink {
  std::string name;
  DataStreamWriter writer;
  TranslatedQuery query;
  OutputMode mode = OutputMode::Append;
  SourceTextPtr query_source;
  Statement declaration;
  SourceTextPtr declaration_source;

  /// Checks the plan as start() would (output mode, supported shapes) without starting.
  Status check() const;
  /// Starts the query; errors point at the option or clause they concern.
  Result<StreamingQuery> start();
  /// Places an error of the writer or the engine.
  Status locate(const Status& status) const;
};

/// Overrides applied to every sink of a script run.
struct SinkOverrides {
  std::optional<Trigger> trigger;
  /// A sink without checkpoint_location checkpoints in <checkpoint_root>/<sink name>.
  std::string checkpoint_root;
};

/// Configures the writer of sink `declaration` (CREATE SINK name WITH (...)) for a query:
/// connector → format, output_mode, trigger, checkpoint_location → checkpointLocation, every
/// other option passed on under its DataFrame name.
Result<PreparedSink> prepare_sink(const TranslatedQuery& query, SourceTextPtr query_source,
                                  const Statement& declaration, SourceTextPtr declaration_source,
                                  const SinkOverrides& overrides);

}  // namespace sluice
