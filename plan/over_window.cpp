#include "plan/over_window.hpp"

namespace sluice {

namespace {

std::string column_list(const std::vector<Expr>& columns) {
  std::string text;
  for (const auto& column : columns)
    text += (text.empty() ? "" : ", ") + column.to_string();
  return text;
}

std::string bound_text(int64_t offset) {
  if (offset == Window::unbounded_preceding) return "UNBOUNDED PRECEDING";
  if (offset == Window::unbounded_following) return "UNBOUNDED FOLLOWING";
  if (offset == 0) return "CURRENT ROW";
  return offset < 0 ? std::to_string(-offset) + " PRECEDING"
                    : std::to_string(offset) + " FOLLOWING";
}

// Returns the column an OVER clause names, or an error naming the clause.
Result<std::string> column_of(const Expr& expr, const std::string& clause) {
  if (expr.kind() != ExprKind::column) {
    return Status::invalid_argument("OVER (... " + clause + " " + expr.to_string() +
                                    " ...): only columns are supported here; compute the "
                                    "expression in a column below the OVER first");
  }
  return expr.column_name();
}

}  // namespace

OverCall AggregateCall::over(const WindowSpec& window) const {
  return OverCall(*this, window);
}

WindowSpec WindowSpec::partition_by(std::vector<Expr> columns) const {
  WindowSpec copy = *this;
  copy.partition_ = std::move(columns);
  return copy;
}

WindowSpec WindowSpec::order_by(std::vector<Expr> columns) const {
  WindowSpec copy = *this;
  copy.order_ = std::move(columns);
  return copy;
}

WindowSpec WindowSpec::rows_between(int64_t start, int64_t end) const {
  WindowSpec copy = *this;
  copy.frame_ = std::make_pair(start, end);
  return copy;
}

std::string WindowSpec::to_string() const {
  std::string text;
  if (!partition_.empty()) text += "PARTITION BY " + column_list(partition_);
  if (!order_.empty())
    text += (text.empty() ? "" : " ") + std::string("ORDER BY ") + column_list(order_);
  if (frame_) {
    text += (text.empty() ? "" : " ") + std::string("ROWS BETWEEN ") + bound_text(frame_->first) +
            " AND " + bound_text(frame_->second);
  }
  return text;
}

std::string OverCall::output_name() const {
  if (!alias_.empty()) return alias_;
  return call_.output_name() + " OVER (" + window_.to_string() + ")";
}

Result<OverWindow> make_over_window(const WindowSpec& window,
                                    const std::vector<AggregateCall>& calls,
                                    const std::vector<std::string>& output_names) {
  OverWindow over;
  over.text = window.to_string();
  for (const auto& expr : window.partition_columns()) {
    SLUICE_ASSIGN_OR_RETURN(std::string name, column_of(expr, "PARTITION BY"));
    over.partition_by.push_back(std::move(name));
  }
  if (window.order_columns().empty()) {
    return Status::invalid_argument(
        "OVER (" + over.text +
        ") needs ORDER BY the stream's event-time column (rule: a streaming "
        "OVER orders rows by event time)");
  }
  for (const auto& expr : window.order_columns()) {
    SLUICE_ASSIGN_OR_RETURN(std::string name, column_of(expr, "ORDER BY"));
    over.order_by.push_back(std::move(name));
  }
  if (!window.frame()) {
    return Status::invalid_argument(
        "OVER (" + over.text +
        ") needs a ROWS frame: ROWS BETWEEN n PRECEDING AND CURRENT ROW or "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW (rows_between)");
  }
  const auto [start, end] = *window.frame();
  if (end != 0) {
    return Status::invalid_argument("OVER (" + over.text +
                                    "): the frame must end at CURRENT ROW, not " + bound_text(end) +
                                    " (rule: a row is emitted once, when it is final)");
  }
  if (start > 0) {
    return Status::invalid_argument("OVER (" + over.text +
                                    "): the frame must start at or before CURRENT ROW");
  }
  over.preceding = start == Window::unbounded_preceding ? OverWindow::kUnboundedPreceding : -start;
  for (size_t i = 0; i < calls.size(); ++i) {
    const AggregateCall& call = calls[i];
    switch (call.kind()) {
      case AggregateKind::count_all:
      case AggregateKind::count:
      case AggregateKind::sum:
      case AggregateKind::avg:
      case AggregateKind::min:
      case AggregateKind::max:
        break;
      default:
        return Status::invalid_argument(
            call.to_string() + " OVER (" + over.text +
            "): only count, sum, avg, min and max are supported OVER a window");
    }
    OverWindow::Call analyzed;
    analyzed.kind = call.kind();
    if (call.argument()) {
      SLUICE_ASSIGN_OR_RETURN(std::string name, column_of(*call.argument(), call.to_string()));
      analyzed.argument = std::move(name);
    }
    analyzed.output_name = output_names.at(i);
    over.calls.push_back(std::move(analyzed));
  }
  return over;
}

}  // namespace sluice
