#pragma once

#include <string_view>
#include <vector>

#include "plan/session_context.hpp"

namespace sluice {

/// Plans every query a SQL script's sinks would start, starting none (no source is opened, no
/// sink attached): what a worker process needs to run the same operators as the coordinator
/// that started the script. Fails as SqlContext::execute would on a bad script. Thread-safe.
Result<std::vector<QuerySpec>> plan_script_queries(std::string_view script);

/// Plans the query of `script` whose plan fingerprint is `plan_fingerprint`; fails naming the
/// fingerprint when no sink of the script plans to it (the script or Sluice's version differ).
Result<QuerySpec> plan_script_query(std::string_view script, std::string_view plan_fingerprint);

}  // namespace sluice
