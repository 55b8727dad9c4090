#pragma once

#include <string>

namespace sluice::tools {

/// Prints the rows of a table sink at `path` as of its last applied epoch (a query may be
/// writing it meanwhile): a text table, or one JSON object per row with `json`. Returns the
/// process exit code: 0 printed, 1 no table or a damaged one (the reason on stderr).
int dump_table(const std::string& path, bool json);

}  // namespace sluice::tools
