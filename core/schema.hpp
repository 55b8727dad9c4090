#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.hpp"
#include "core/type.hpp"

namespace sluice {

/// Describes one column: its name, type and whether it may hold nulls.
struct Field {
  std::string name;
  Type type = Type::Int64;
  bool nullable = true;

  friend bool operator==(const Field&, const Field&) = default;
};

/// Lists the fields of a batch or a stream, in order. Immutable; share it by pointer.
class Schema {
 public:
  /// Builds a schema; fails when two fields share a name or a name is empty.
  static Result<std::shared_ptr<const Schema>> make(std::vector<Field> fields);

  int num_fields() const { return static_cast<int>(fields_.size()); }
  const Field& field(int index) const { return fields_[static_cast<size_t>(index)]; }
  const std::vector<Field>& fields() const { return fields_; }

  /// Returns the index of the named field, or -1.
  int find(std::string_view name) const;

  /// Returns the index of the named field, or a not_found error naming the missing column,
  /// the columns that exist and the closest one by edit distance.
  Result<int> index_of(std::string_view name) const;

  /// Renders "name TYPE[ NOT NULL], ..." as one line.
  std::string to_string() const;

  friend bool operator==(const Schema& a, const Schema& b) { return a.fields_ == b.fields_; }

 private:
  explicit Schema(std::vector<Field> fields);
  std::vector<Field> fields_;
  std::unordered_map<std::string, int> index_;
};

using SchemaPtr = std::shared_ptr<const Schema>;

/// Returns the candidate closest to name by case-insensitive edit distance, or "" when none is
/// close enough to be a plausible typo.
std::string closest_name(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace sluice
