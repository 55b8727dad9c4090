#include "core/schema.hpp"

#include <algorithm>
#include <cctype>

namespace sluice {

Schema::Schema(std::vector<Field> fields) : fields_(std::move(fields)) {
  for (size_t i = 0; i < fields_.size(); ++i) index_.emplace(fields_[i].name, static_cast<int>(i));
}

Result<std::shared_ptr<const Schema>> Schema::make(std::vector<Field> fields) {
  std::unordered_map<std::string, int> seen;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name.empty()) {
      return Status::invalid_argument("schema field " + std::to_string(i) + " has an empty name");
    }
    if (!seen.emplace(fields[i].name, static_cast<int>(i)).second) {
      return Status::invalid_argument("schema has two fields named '" + fields[i].name + "'");
    }
  }
  return std::shared_ptr<const Schema>(new Schema(std::move(fields)));
}

int Schema::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? -1 : it->second;
}

Result<int> Schema::index_of(std::string_view name) const {
  int index = find(name);
  if (index >= 0) return index;
  std::vector<std::string> names;
  for (const auto& field : fields_) names.push_back(field.name);
  std::string message = "no column named '" + std::string(name) + "'";
  std::string suggestion = closest_name(name, names);
  if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
  std::string listing;
  for (const auto& n : names) listing += (listing.empty() ? "" : ", ") + n;
  message += " (columns: " + listing + ")";
  return Status::not_found(message);
}

std::string Schema::to_string() const {
  std::string text;
  for (const auto& field : fields_) {
    if (!text.empty()) text += ", ";
    text += field.name + " " + std::string(type_name(field.type));
    if (!field.nullable) text += " NOT NULL";
  }
  return text;
}

std::string closest_name(std::string_view name, const std::vector<std::string>& candidates) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string target = lower(name);
  std::string best;
  size_t best_distance = std::string::npos;
  for (const auto& candidate : candidates) {
    const std::string other = lower(candidate);
    // Levenshtein distance with one row of memory.
    std::vector<size_t> row(other.size() + 1);
    for (size_t j = 0; j <= other.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= target.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= other.size(); ++j) {
        size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                           diagonal + (target[i - 1] == other[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    if (row[other.size()] < best_distance) {
      best_distance = row[other.size()];
      best = candidate;
    }
  }
  // Accept a suggestion only when at most a third of the name differs (at least one edit).
  size_t limit = std::max<size_t>(1, target.size() / 3 + 1);
  return best_distance <= limit ? best : std::string();
}

}  // namespace sluice
