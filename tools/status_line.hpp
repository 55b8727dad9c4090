#pragma once

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "plan/progress.hpp"

namespace sluice::tools {

/// Renders one line about a running query from its latest progress report: epoch, input and
/// processed rows per second, watermark, source lag and state rows.
std::string status_line(const std::string& name,
                        const std::optional<StreamingQueryProgress>& progress);

/// Draws one status line per query on a terminal, redrawing the block in place. When a query
/// printed to the same terminal since the last draw (a console sink), the old block is left
/// as it is and a new one drawn below, so no output is overwritten. Not thread-safe.
class StatusBoard {
 public:
  explicit StatusBoard(std::FILE* out) : out_(out) {}

  /// Draws the lines, each ending with a line break; `printed_since_last_draw` says whether
  /// other output went to the terminal since the last draw.
  void draw(const std::vector<std::string>& lines, bool printed_since_last_draw);

 private:
  std::FILE* out_;
  size_t drawn_ = 0;
};

}  // namespace sluice::tools
