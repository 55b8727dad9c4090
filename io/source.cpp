#include "io/source.hpp"

#include <charconv>

namespace sluice {

std::string offset_to_json(const SourceOffset& offset) {
  std::string text = "[";
  for (size_t i = 0; i < offset.size(); ++i) {
    if (i > 0) text += ",";
    text += std::to_string(offset[i]);
  }
  return text + "]";
}

Result<SourceOffset> offset_from_json(std::string_view text) {
  auto fail = [&] { return Status::corrupt("malformed source offset '" + std::string(text) + "'"); };
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') return fail();
  SourceOffset offset;
  std::string_view body = text.substr(1, text.size() - 2);
  while (!body.empty()) {
    int64_t value = 0;
    auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), value);
    if (error != std::errc()) return fail();
    offset.push_back(value);
    body.remove_prefix(static_cast<size_t>(end - body.data()));
    if (body.empty()) break;
    if (body.front() != ',') return fail();
    body.remove_prefix(1);
    if (body.empty()) return fail();
  }
  return offset;
}

std::string_view output_mode_name(OutputMode mode) {
  switch (mode) {
    case OutputMode::Append: return "Append";
    case OutputMode::Update: return "Update";
    case OutputMode::Complete: return "Complete";
  }
  return "Unknown";
}

}  // namespace sluice
