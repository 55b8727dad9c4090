#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operators/expression.hpp"

namespace sluice {

/// Holds one node of an expression tree. Immutable once an Expr shares it.
struct ExprNode {
  ExprKind kind = ExprKind::literal;
  /// Column name, operator or function name, alias name, or the text of an interval literal.
  std::string name;
  /// Value of a literal (microseconds for a parsed interval).
  Value value;
  /// Type of a literal (nullopt for an untyped NULL) or target type of a cast.
  std::optional<Type> type;
  bool interval = false;  ///< literal made by interval()
  bool strict = false;    ///< strict cast
  bool has_else = false;  ///< CASE whose last child is the ELSE value
  std::shared_ptr<const UserFunctionDefinition> function;  ///< kind udf
  std::vector<Expr> children;
};

}  // namespace sluice
