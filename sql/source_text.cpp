#include "sql/source_text.hpp"

#include <algorithm>

namespace sluice {

namespace {

bool is_continuation_byte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

SourceText::SourceText(std::string text, std::string name)
    : text_(std::move(text)), name_(std::move(name)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

SourceText::Position SourceText::position(size_t offset) const {
  offset = std::min(offset, text_.size());
  auto next = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const size_t line_index = static_cast<size_t>(next - line_starts_.begin()) - 1;
  int column = 1;
  for (size_t i = line_starts_[line_index]; i < offset; ++i) {
    if (!is_continuation_byte(text_[i])) ++column;
  }
  return {static_cast<int>(line_index) + 1, column};
}

std::string_view SourceText::line_text(int line) const {
  if (line < 1 || static_cast<size_t>(line) > line_starts_.size()) return {};
  const size_t begin = line_starts_[static_cast<size_t>(line) - 1];
  size_t end = text_.find('\n', begin);
  if (end == std::string::npos) end = text_.size();
  if (end > begin && text_[end - 1] == '\r') --end;
  return std::string_view(text_).substr(begin, end - begin);
}

std::string SourceText::describe(size_t offset) const {
  const Position where = position(offset);
  if (!name_.empty()) {
    return name_ + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
  }
  return "line " + std::to_string(where.line) + ", column " + std::to_string(where.column);
}

Status SourceText::error_at(size_t offset, StatusCode code, const std::string& message) const {
  const Position where = position(offset);
  const std::string_view line = line_text(where.line);
  const std::string number = std::to_string(where.line);
  std::string text = describe(offset) + ": " + message + "\n";
  text += "  " + number + " | " + std::string(line) + "\n";
  text += "  " + std::string(number.size(), ' ') + " | ";
  // Tabs stay tabs under the line so the caret lines up however the terminal expands them.
  int column = 1;
  for (size_t i = 0; i < line.size() && column < where.column; ++i) {
    if (is_continuation_byte(line[i])) continue;
    text += line[i] == '\t' ? '\t' : ' ';
    ++column;
  }
  for (; column < where.column; ++column)
    text += ' ';
  text += "^";
  return Status(code, std::move(text));
}

Status SourceText::locate(size_t offset, const Status& status) const {
  if (status.is_ok()) return status;
  return error_at(offset, status.code(), status.message());
}

}  // namespace sluice
