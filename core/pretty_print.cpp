#include "core/pretty_print.hpp"

#include <algorithm>

namespace sluice {

namespace {

// Counts UTF-8 code points, so that non-ASCII text lines up by character rather than by byte.
size_t display_width(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

// Cuts text to at most `characters` code points, never splitting a multi-byte character.
std::string prefix_characters(const std::string& text, size_t characters) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (seen == characters) return text.substr(0, i);
      ++seen;
    }
  }
  return text;
}

std::string cell_text(const Value& value, int truncate) {
  std::string text = value.to_string();
  if (truncate > 0 && display_width(text) > static_cast<size_t>(truncate)) {
    text = truncate < 4 ? prefix_characters(text, static_cast<size_t>(truncate))
                        : prefix_characters(text, static_cast<size_t>(truncate - 3)) + "...";
  }
  return text;
}

}  // namespace

std::string show(const RecordBatch& batch, const ShowOptions& options) {
  const int columns = batch.num_columns();
  const int64_t shown = std::min(batch.num_rows(), std::max<int64_t>(options.num_rows, 0));
  std::vector<std::vector<std::string>> cells(static_cast<size_t>(shown + 1));
  std::vector<size_t> widths(static_cast<size_t>(columns), 3);
  // Spark never truncates column names, only cells.
  for (int c = 0; c < columns; ++c) {
    cells[0].push_back(batch.schema()->field(c).name);
  }
  for (int64_t r = 0; r < shown; ++r) {
    for (int c = 0; c < columns; ++c) {
      cells[static_cast<size_t>(r + 1)].push_back(
          cell_text(batch.column(c)->value_at(r), options.truncate));
    }
  }
  for (const auto& row : cells) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  // Spark writes the separators as start + join + end, so a batch without columns shows "++".
  std::string border = "+";
  for (size_t width : widths) border += std::string(width, '-') + "+";
  if (widths.empty()) border += "+";
  border += "\n";

  std::string out = border;
  for (size_t r = 0; r < cells.size(); ++r) {
    out += "|";
    for (size_t c = 0; c < cells[r].size(); ++c) {
      // Spark right-aligns when truncating and left-aligns with truncate = 0.
      const std::string padding(widths[c] - display_width(cells[r][c]), ' ');
      out += (options.truncate > 0 ? padding + cells[r][c] : cells[r][c] + padding) + "|";
    }
    if (cells[r].empty()) out += "|";
    out += "\n";
    if (r == 0) out += border;
  }
  out += border;
  if (batch.num_rows() > shown) {
    out += "only showing top " + std::to_string(shown) + " row" + (shown == 1 ? "" : "s") + "\n";
  }
  return out;
}

}  // namespace sluice
