#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace sluice {

/// Holds the text a user wrote (a query or a script) and turns byte offsets into it into
/// line:column positions and error messages that quote the line with a caret under the spot.
/// Immutable; safe to share between threads.
class SourceText {
 public:
  /// Keeps `text`; `name` (a file name, or empty) prefixes positions in messages.
  explicit SourceText(std::string text, std::string name = "");

  const std::string& text() const { return text_; }
  const std::string& name() const { return name_; }

  /// A 1-based line and column; the column counts UTF-8 code points.
  struct Position {
    int line = 1;
    int column = 1;
  };
  /// Returns the position of a byte offset (clamped to the end of the text).
  Position position(size_t offset) const;
  /// Returns the text of a 1-based line, without its line break.
  std::string_view line_text(int line) const;
  /// Renders "name:3:14" for a file, "line 3, column 14" otherwise.
  std::string describe(size_t offset) const;

  /// Builds an error at `offset`: "<where>: <message>", then the line and a caret under the
  /// spot.
  Status error_at(size_t offset, StatusCode code, const std::string& message) const;
  /// Places an error of the engine (whose message has no position) at `offset`.
  Status locate(size_t offset, const Status& status) const;

 private:
  std::string text_;
  std::string name_;
  std::vector<size_t> line_starts_;
};

using SourceTextPtr = std::shared_ptr<const SourceText>;

}  // namespace sluice
