#pragma once

#include <string>

#include "core/record_batch.hpp"

namespace sluice {

/// Configures how a batch is rendered as a table.
struct ShowOptions {
  int64_t num_rows = 20;  ///< rows to print; a footer says when more exist
  int truncate = 20;      ///< longest cell in characters (0 = no truncation), Spark's `truncate`
};

/// Renders a batch as a text table the way Spark's `show()` does: a bordered header, cells
/// right-aligned (left-aligned when truncate is 0), `null` for nulls, long cells (not column
/// names) cut to `truncate` characters ending in "...", and "only showing top N rows" when rows
/// were left out. Widths count code points.
std::string show(const RecordBatch& batch, const ShowOptions& options = {});

}  // namespace sluice
