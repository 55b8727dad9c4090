#include "sql/sql_context.hpp"

#include "plan/optimizer.hpp"
#include "plan/physical_plan.hpp"
#include "sql/connectors.hpp"
#include "sql/query_translator.hpp"

namespace sluice {

namespace {

Result<TranslatedQuery> translate(SessionContext& session, const SqlCatalog& catalog,
                                  const SourceText& source, const ParsedSql& parsed) {
  QueryTranslator translator(session.state(), catalog, source, parsed);
  return translator.translate();
}

// Checks that a query plans (optimizer and physical planner), as EXPLAIN and start would.
Status check_plans(const TranslatedQuery& query, const SourceText& source) {
  auto optimized = Optimizer().optimize(*query.frame.plan());
  if (!optimized.ok()) return query.locate(source, optimized.status());
  return query.locate(source, plan_physical(*optimized).status());
}

}  // namespace

SqlContext::SqlContext(SessionContext& session)
    : session_(session), catalog_(SqlCatalog::of(session.state())) {}

Result<DataFrame> SqlContext::sql(std::string_view query) const {
  SLUICE_ASSIGN_OR_RETURN(SqlScript script, SqlScript::parse(std::string(query)));
  const SourceText& source = *script.source();
  const auto& statements = script.statements();
  if (statements.empty()) {
    return source.error_at(source.text().size(), StatusCode::invalid_argument,
                           "expected a query (SELECT ...), found nothing");
  }
  if (statements.size() > 1) {
    return source.error_at(statements[1].begin, StatusCode::invalid_argument,
                           "sql() takes one query; run scripts with SqlContext::execute");
  }
  const Statement& statement = statements[0];
  if (statement.kind != StatementKind::query) {
    return source.error_at(statement.begin, StatusCode::invalid_argument,
                           std::string("sql() takes one query (SELECT ...); run ") +
                               statement_kind_name(statement.kind) +
                               " statements with SqlContext::execute");
  }
  SLUICE_ASSIGN_OR_RETURN(TranslatedQuery translated,
                          translate(session_, *catalog_, source, *statement.query));
  return translated.frame;
}

Status SqlContext::register_stream(const std::string& name, const MemoryStream& stream) {
  const PlanPtr plan = *stream.to_df().plan();
  catalog_->add_stream(name, plan);
  return catalog_->add_table({name, plan, "stream"}, true);
}

Status SqlContext::register_view(const std::string& name, const DataFrame& frame) {
  if (!frame.status().is_ok()) return frame.status().with_context("view '" + name + "'");
  return catalog_->add_table({name, *frame.plan(), "view"});
}

Result<std::vector<StatementResult>> SqlContext::execute(std::string_view script,
                                                         const ScriptOptions& options) {
  SLUICE_ASSIGN_OR_RETURN(SqlScript parsed, SqlScript::parse(std::string(script)));
  return execute(parsed, options);
}

Result<std::vector<StatementResult>> SqlContext::execute(const SqlScript& script,
                                                         const ScriptOptions& options) {
  const SourceText& source = *script.source();
  SinkOverrides overrides{options.trigger, options.checkpoint_root};
  std::vector<StatementResult> results;
  std::vector<std::pair<size_t, PreparedSink>> pending;
  for (const Statement& statement : script.statements()) {
    StatementResult result;
    result.kind = statement.kind;
    result.name = statement.name;
    switch (statement.kind) {
      case StatementKind::create_source: {
        SLUICE_ASSIGN_OR_RETURN(DataFrame frame,
                                make_source_frame(session_, *catalog_, source, statement));
        // A source over a registered stream may take the stream's own name.
        auto existing = catalog_->table(statement.name);
        const bool replace = existing && existing->kind == "stream";
        Status added = catalog_->add_table({statement.name, *frame.plan(), "source"}, replace);
        if (!added.is_ok()) return source.locate(statement.name_offset, added);
        break;
      }
      case StatementKind::create_table: {
        SLUICE_ASSIGN_OR_RETURN(DataFrame frame, make_table_frame(session_, source, statement));
        Status added = catalog_->add_table({statement.name, *frame.plan(), "table"});
        if (!added.is_ok()) return source.locate(statement.name_offset, added);
        break;
      }
      case StatementKind::create_view: {
        SLUICE_ASSIGN_OR_RETURN(TranslatedQuery query,
                                translate(session_, *catalog_, source, *statement.query));
        Status added = catalog_->add_table({statement.name, *query.frame.plan(), "view"});
        if (!added.is_ok()) return source.locate(statement.name_offset, added);
        break;
      }
      case StatementKind::create_sink: {
        SLUICE_RETURN_NOT_OK(check_sink_declaration(source, statement));
        if (!statement.query) {
          Status added = catalog_->add_sink({statement, script.source(), false});
          if (!added.is_ok()) return source.locate(statement.name_offset, added);
          break;
        }
        if (catalog_->sink(statement.name)) {
          return source.error_at(statement.name_offset, StatusCode::invalid_argument,
                                 "a sink named '" + statement.name + "' already exists");
        }
        SLUICE_ASSIGN_OR_RETURN(TranslatedQuery query,
                                translate(session_, *catalog_, source, *statement.query));
        SLUICE_ASSIGN_OR_RETURN(PreparedSink sink, prepare_sink(query, script.source(), statement,
                                                                script.source(), overrides));
        SLUICE_RETURN_NOT_OK(sink.check());
        SLUICE_RETURN_NOT_OK(catalog_->add_sink({statement, script.source(), true}));
        result.explain = query.frame.explain(true);
        pending.emplace_back(results.size(), std::move(sink));
        break;
      }
      case StatementKind::insert_into: {
        auto declaration = catalog_->sink(statement.name);
        if (!declaration) {
          std::string message = "unknown sink '" + statement.name + "'";
          const std::string suggestion = closest_name(statement.name, catalog_->sink_names());
          if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
          return source.error_at(statement.name_offset, StatusCode::not_found,
                                 message + " (declare it first: CREATE SINK " + statement.name +
                                     " WITH (connector = 'console'))");
        }
        if (declaration->started) {
          return source.error_at(statement.name_offset, StatusCode::invalid_argument,
                                 "sink '" + declaration->statement.name +
                                     "' already has a query; combine queries with UNION ALL");
        }
        SLUICE_ASSIGN_OR_RETURN(TranslatedQuery query,
                                translate(session_, *catalog_, source, *statement.query));
        SLUICE_ASSIGN_OR_RETURN(PreparedSink sink,
                                prepare_sink(query, script.source(), declaration->statement,
                                             declaration->source, overrides));
        SLUICE_RETURN_NOT_OK(sink.check());
        catalog_->mark_sink_started(declaration->statement.name);
        result.name = declaration->statement.name;
        result.explain = query.frame.explain(true);
        pending.emplace_back(results.size(), std::move(sink));
        break;
      }
      case StatementKind::set: {
        Status set = session_.set_conf(statement.name, statement.value);
        if (!set.is_ok()) {
          const bool unknown = set.message().find("unknown session option") != std::string::npos;
          return source.locate(unknown ? statement.name_offset : statement.value_offset, set);
        }
        break;
      }
      case StatementKind::explain: {
        SLUICE_ASSIGN_OR_RETURN(TranslatedQuery query,
                                translate(session_, *catalog_, source, *statement.query));
        SLUICE_RETURN_NOT_OK(check_plans(query, source));
        result.explain = query.frame.explain(true);
        break;
      }
      case StatementKind::query:
        return source.error_at(statement.begin, StatusCode::invalid_argument,
                               "a query on its own has no sink: write CREATE SINK name WITH "
                               "(connector = 'console') AS SELECT ...");
    }
    results.push_back(std::move(result));
  }
  if (!options.start_queries) return results;
  std::vector<StreamingQuery> started;
  for (auto& [index, sink] : pending) {
    // Workers (option `workers`) rebuild the query from the whole script, as written.
    sink.writer.definition(script.source()->text());
    auto query = sink.start();
    if (!query.ok()) {
      for (auto& running : started)
        (void)running.stop();
      return query.status();
    }
    started.push_back(*query);
    results[index].query = *query;
  }
  return results;
}

Result<DataFrame> sql(SessionContext& session, std::string_view query) {
  return SqlContext(session).sql(query);
}

}  // namespace sluice
