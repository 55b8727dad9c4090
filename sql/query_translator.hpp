#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plan/dataframe.hpp"
#include "sql/expression_translator.hpp"
#include "sql/parse_tree.hpp"
#include "sql/sql_catalog.hpp"

namespace sluice {

/// A query translated into a DataFrame, with where its clauses were written so that the
/// engine's later objections (at start) can point at the clause they concern.
struct TranslatedQuery {
  explicit TranslatedQuery(DataFrame translated) : frame(std::move(translated)) {}

  DataFrame frame;
  size_t offset = 0;
  std::optional<size_t> order_offset;
  std::optional<size_t> limit_offset;
  std::optional<size_t> group_offset;
  std::optional<size_t> distinct_offset;

  /// Places an error of the engine about this query (output mode, unsupported shapes) at the
  /// clause it names, or at the start of the query.
  Status locate(const SourceText& source, const Status& status) const;
};

/// Translates a PostgreSQL SELECT parse tree into the same DataFrame calls a user would write:
/// FROM → the catalog's plan, WHERE → filter, GROUP BY → group_by(...).agg(...), HAVING →
/// filter, the SELECT list → select, DISTINCT → drop_duplicates, ORDER BY → order_by,
/// LIMIT → limit, UNION ALL → union_all, WITH and FROM subqueries → nested translations,
/// TUMBLE/HOP/SESSION in FROM → a window key of the aggregation. So SQL and DataFrames share
/// the analyzer, the optimizer and the runtime. One translator serves one parsed text; not
/// thread-safe.
class QueryTranslator {
 public:
  QueryTranslator(std::shared_ptr<SessionState> session, const SqlCatalog& catalog,
                  const SourceText& source, const ParsedSql& parsed);

  /// Translates the parsed text's one SELECT statement.
  Result<TranslatedQuery> translate();

  /// Gives access to the expression translator (for WATERMARK FOR expressions).
  ExpressionTranslator& expressions() { return expressions_; }

 private:
  struct Relation {
    std::optional<DataFrame> frame;
    std::vector<std::string> qualifiers;
    /// A join's columns under each side's qualifier (empty for other relations).
    std::vector<QualifiedColumn> qualified_columns;
    /// The window key of a TUMBLE/HOP/SESSION relation, with where it was written.
    std::optional<GroupKey> window;
    std::string window_function;
    size_t window_offset = 0;
  };
  struct SelectItem {
    Expr expr;
    std::string name;
  };

  Result<DataFrame> translate_select(const ParseNode& select);
  Result<DataFrame> translate_select_body(const ParseNode& select);
  Result<DataFrame> translate_set_operation(const ParseNode& select);
  Result<Relation> translate_from(const ParseNode& select);
  /// Translates one FROM item: a source or view, a table function, a subquery, or a join of two.
  Result<Relation> translate_from_item(const ParseNode& item, size_t at);
  Result<Relation> translate_join(const ParseNode& body, size_t at);
  Result<Relation> translate_range_var(const ParseNode& body);
  Result<Relation> translate_window_function(const ParseNode& range_function);
  Result<DataFrame> translate_plain(const ParseNode& select, DataFrame frame,
                                    const Relation& relation);
  Result<DataFrame> translate_grouped(const ParseNode& select, DataFrame frame,
                                      const Relation& relation);
  /// Applies ORDER BY and LIMIT; `grouped_key` resolves an ORDER BY expression that is not an
  /// output column (ORDER BY count(*)), when the query is grouped.
  Result<DataFrame> apply_order_and_limit(
      const ParseNode& select, DataFrame frame, const std::vector<std::string>& qualifiers,
      const std::function<Result<Expr>(const ParseNode&)>& grouped_key);
  /// Returns a DataFrame's error placed at `at`, or the DataFrame.
  Result<DataFrame> checked(DataFrame frame, size_t at) const;
  ExpressionScope input_scope(const DataFrame& frame, const Relation& relation,
                              const std::string& clause) const;
  static bool contains_aggregate(const ParseNode& node);
  /// Collects the OVER calls of an expression (not inside subqueries).
  static void collect_over_calls(const ParseNode& node, std::vector<const ParseNode*>& out);
  /// Names the column holding the result of a query's index-th OVER call.
  static std::string hidden_over_column(size_t index);
  size_t first_target_offset(const ParseNode& select) const;
  size_t distinct_keyword_offset(size_t first_target) const;
  void note(std::optional<size_t>& slot, size_t at) {
    if (!slot) slot = at;
  }

  std::shared_ptr<SessionState> session_;
  const SqlCatalog& catalog_;
  const SourceText& source_;
  const ParsedSql& parsed_;
  ExpressionTranslator expressions_;
  std::vector<std::map<std::string, DataFrame>> ctes_;
  TranslatedQuery* result_ = nullptr;
};

}  // namespace sluice
