#pragma once

#include <string>
#include <vector>

#include "monitoring/query_monitor.hpp"

namespace sluice {

/// Renders the queries' metrics in the Prometheus text exposition format (version 0.0.4): one
/// HELP and TYPE line per metric family, then its samples, every sample labelled with
/// `query` (the query's name, or its id when unnamed) and `query_id`.
std::string prometheus_text(const std::vector<QueryTotals>& queries);

/// Escapes a label value for the exposition format (backslash, double quote, newline).
std::string prometheus_label_value(const std::string& text);

}  // namespace sluice
