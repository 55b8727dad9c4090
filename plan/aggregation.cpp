#include "plan/aggregation.hpp"

namespace sluice {

std::string AggregateCall::output_name() const {
  if (!alias_.empty()) return alias_;
  return to_string();
}

std::string AggregateCall::to_string() const {
  if (kind_ == AggregateKind::count_all) return "count(1)";
  const std::string argument = argument_ ? argument_->output_name() : "";
  if (kind_ == AggregateKind::count_distinct) return "count(DISTINCT " + argument + ")";
  return aggregate_name(kind_) + "(" + argument + ")";
}

AggregateCall count() { return {AggregateKind::count_all, std::nullopt}; }
AggregateCall count(Expr e) { return {AggregateKind::count, std::move(e)}; }
AggregateCall count_distinct(Expr e) { return {AggregateKind::count_distinct, std::move(e)}; }
AggregateCall approx_count_distinct(Expr e) { return {AggregateKind::approx_count_distinct, std::move(e)}; }
AggregateCall sum(Expr e) { return {AggregateKind::sum, std::move(e)}; }
AggregateCall avg(Expr e) { return {AggregateKind::avg, std::move(e)}; }
AggregateCall min(Expr e) { return {AggregateKind::min, std::move(e)}; }
AggregateCall max(Expr e) { return {AggregateKind::max, std::move(e)}; }
AggregateCall first(Expr e) { return {AggregateKind::first, std::move(e)}; }
AggregateCall last(Expr e) { return {AggregateKind::last, std::move(e)}; }

TimeWindow window(Expr time, std::string size, std::string slide, std::string start) {
  return {std::move(time), std::move(size), std::move(slide), std::move(start)};
}

SessionWindow session_window(Expr time, std::string gap) {
  return {std::move(time), std::move(gap), std::nullopt};
}

SessionWindow session_window(Expr time, Expr gap_micros) {
  return {std::move(time), "", std::move(gap_micros)};
}

}  // namespace sluice
