#include "io/option_map.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

#include "core/schema.hpp"
#include "operators/window_assigner.hpp"

namespace sluice {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(begin, end - begin);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) items.push_back(item);
    begin = end + 1;
  }
  return items;
}

OptionMap::OptionMap(std::string what, std::map<std::string, std::string> options)
    : what_(std::move(what)), options_(std::move(options)) {}

std::optional<std::string> OptionMap::take(const std::string& key) {
  known_.insert(key);
  auto it = options_.find(key);
  if (it == options_.end()) return std::nullopt;
  std::string value = std::move(it->second);
  options_.erase(it);
  return value;
}

std::string OptionMap::take_or(const std::string& key, const std::string& fallback) {
  return take(key).value_or(fallback);
}

Result<int64_t> OptionMap::take_int(const std::string& key, int64_t fallback, int64_t minimum) {
  auto text = take(key);
  if (!text) return fallback;
  int64_t value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value < minimum) {
    return bad_value(key, *text, "an integer of at least " + std::to_string(minimum));
  }
  return value;
}

Result<bool> OptionMap::take_bool(const std::string& key, bool fallback) {
  auto text = take(key);
  if (!text) return fallback;
  std::string lower = *text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "true") return true;
  if (lower == "false") return false;
  return bad_value(key, *text, "true or false");
}

Result<int64_t> OptionMap::take_duration(const std::string& key, int64_t fallback_micros) {
  auto text = take(key);
  if (!text) return fallback_micros;
  auto micros = parse_duration(*text);
  if (!micros.ok() || *micros < 0) return bad_value(key, *text, "a duration such as '30 seconds'");
  return *micros;
}

std::map<std::string, std::string> OptionMap::take_prefixed(const std::string& prefix) {
  std::map<std::string, std::string> taken;
  for (auto it = options_.lower_bound(prefix); it != options_.end() && it->first.starts_with(prefix);) {
    taken[it->first.substr(prefix.size())] = std::move(it->second);
    it = options_.erase(it);
  }
  return taken;
}

void OptionMap::ignore(const std::string& key) { take(key); }

Status OptionMap::check_all_used() const {
  if (options_.empty()) return Status::ok();
  const std::string& key = options_.begin()->first;
  std::vector<std::string> known(known_.begin(), known_.end());
  std::string message = "unknown option '" + key + "' for " + what_;
  if (std::string suggestion = closest_name(key, known); !suggestion.empty()) {
    message += "; did you mean '" + suggestion + "'?";
  }
  return Status::invalid_argument(message);
}

Status OptionMap::bad_value(const std::string& key, const std::string& value, const std::string& expected) const {
  return Status::invalid_argument("option " + key + " of " + what_ + " is '" + value + "', expected " + expected);
}

}  // namespace sluice
