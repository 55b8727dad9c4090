#pragma once

#include <sluice/sluice.hpp>

#include <cstdio>

namespace sluice::testing {

/// Runs a crash-test child's query until it ends and returns the child's exit code: 0 when it
/// ended cleanly, 3 when it could not start, 4 when it failed (the reason on stderr).
inline int run_query_to_end(Result<StreamingQuery> query) {
  if (!query.ok()) {
    std::fprintf(stderr, "start failed: %s\n", query.status().to_string().c_str());
    return 3;
  }
  query->await_termination();
  if (auto error = query->exception()) {
    std::fprintf(stderr, "query failed: %s\n", error->to_string().c_str());
    return 4;
  }
  return 0;
}

}  // namespace sluice::testing
