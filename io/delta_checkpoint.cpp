#include "io/delta_checkpoint.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <simdjson.h>

#include "core/file_contents.hpp"
#include "parquet/nested.hpp"

namespace sluice {

namespace fs = std::filesystem;
using parquet::LeafColumn;
using parquet::PhysicalType;
using parquet::Repetition;
using parquet::SchemaElement;

namespace {

// Builds the flattened schema tree of a checkpoint, pre-order.
class SchemaTree {
 public:
  SchemaTree() {
    SchemaElement root;
    root.name = "spark_schema";
    root.num_children = 0;
    elements_.push_back(root);
  }
  // Opens an optional group under the current parent; returns its index.
  size_t group(const std::string& name, Repetition repetition = Repetition::optional,
               parquet::LogicalType::Kind kind = parquet::LogicalType::Kind::none,
               std::optional<int32_t> converted = std::nullopt) {
    SchemaElement element;
    element.name = name;
    element.repetition = repetition;
    element.num_children = 0;
    element.logical_type.kind = kind;
    element.converted_type = converted;
    return add(std::move(element));
  }
  void close() { parents_.pop_back(); }
  void leaf(const std::string& name, PhysicalType type,
            Repetition repetition = Repetition::optional) {
    SchemaElement element;
    element.name = name;
    element.type = type;
    element.repetition = repetition;
    if (type == PhysicalType::byte_array) {
      element.converted_type = parquet::converted_type::utf8;
      element.logical_type.kind = parquet::LogicalType::Kind::string;
    }
    add(std::move(element));
    parents_.pop_back();
  }
  // A map<string,string> in the three-level form.
  void string_map(const std::string& name) {
    group(name, Repetition::optional, parquet::LogicalType::Kind::map, 1 /* MAP */);
    group("key_value", Repetition::repeated, parquet::LogicalType::Kind::none,
          2 /* MAP_KEY_VALUE */);
    leaf("key", PhysicalType::byte_array, Repetition::required);
    leaf("value", PhysicalType::byte_array);
    close();
    close();
  }
  // An array<string> in the three-level form.
  void string_list(const std::string& name) {
    group(name, Repetition::optional, parquet::LogicalType::Kind::list, 3 /* LIST */);
    group("list", Repetition::repeated);
    leaf("element", PhysicalType::byte_array);
    close();
    close();
  }
  const std::vector<SchemaElement>& elements() const { return elements_; }

 private:
  size_t add(SchemaElement element) {
    const size_t parent = parents_.empty() ? 0 : parents_.back();
    elements_[parent].num_children = elements_[parent].num_children.value_or(0) + 1;
    elements_.push_back(std::move(element));
    parents_.push_back(elements_.size() - 1);
    return elements_.size() - 1;
  }
  std::vector<SchemaElement> elements_;
  std::vector<size_t> parents_;
};

std::vector<SchemaElement> checkpoint_schema() {
  SchemaTree tree;
  tree.group("txn");
  tree.leaf("appId", PhysicalType::byte_array);
  tree.leaf("version", PhysicalType::int64);
  tree.leaf("lastUpdated", PhysicalType::int64);
  tree.close();
  tree.group("add");
  tree.leaf("path", PhysicalType::byte_array);
  tree.string_map("partitionValues");
  tree.leaf("size", PhysicalType::int64);
  tree.leaf("modificationTime", PhysicalType::int64);
  tree.leaf("dataChange", PhysicalType::boolean);
  tree.leaf("stats", PhysicalType::byte_array);
  tree.close();
  tree.group("remove");
  tree.leaf("path", PhysicalType::byte_array);
  tree.leaf("deletionTimestamp", PhysicalType::int64);
  tree.leaf("dataChange", PhysicalType::boolean);
  tree.close();
  tree.group("metaData");
  tree.leaf("id", PhysicalType::byte_array);
  tree.leaf("name", PhysicalType::byte_array);
  tree.leaf("description", PhysicalType::byte_array);
  tree.group("format");
  tree.leaf("provider", PhysicalType::byte_array);
  tree.string_map("options");
  tree.close();
  tree.leaf("schemaString", PhysicalType::byte_array);
  tree.string_list("partitionColumns");
  tree.string_map("configuration");
  tree.leaf("createdTime", PhysicalType::int64);
  tree.close();
  tree.group("protocol");
  tree.leaf("minReaderVersion", PhysicalType::int32);
  tree.leaf("minWriterVersion", PhysicalType::int32);
  tree.close();
  return tree.elements();
}

std::string dotted(const LeafColumn& leaf) {
  std::string name;
  for (const auto& part : leaf.path)
    name += (name.empty() ? "" : ".") + part;
  return name;
}

// Fills the leaves one row (one action) at a time; leaves the row does not touch get a null
// at definition level 0 (their action is absent).
class RowWriter {
 public:
  explicit RowWriter(std::vector<LeafColumn>& leaves) : leaves_(leaves) {
    for (auto& leaf : leaves_)
      by_name_[dotted(leaf)] = &leaf;
  }
  void value(const std::string& name, const std::string& text) { touch(name).append_string(text); }
  void value(const std::string& name, int64_t number) { touch(name).append_integer(number); }
  void flag(const std::string& name, bool on) { touch(name).append_boolean(on); }
  // A leaf directly in its action's struct, null: the struct is defined (level 1).
  void null(const std::string& name) { touch(name).append_null(1); }
  void map(const std::string& name,
           const std::map<std::string, std::optional<std::string>>& values) {
    LeafColumn& key = touch(name + ".key_value.key");
    LeafColumn& value = touch(name + ".key_value.value");
    const auto map_level = static_cast<uint8_t>(key.max_definition - 1);  // map defined, empty
    if (values.empty()) {
      key.append_null(map_level);
      value.append_null(map_level);
      return;
    }
    uint8_t repetition = 0;
    for (const auto& [k, v] : values) {
      key.append_string(k, repetition);
      if (v) {
        value.append_string(*v, repetition);
      } else {
        value.append_null(static_cast<uint8_t>(value.max_definition - 1), repetition);
      }
      repetition = 1;
    }
  }
  void list(const std::string& name, const std::vector<std::string>& values) {
    LeafColumn& element = touch(name + ".list.element");
    if (values.empty()) {
      element.append_null(static_cast<uint8_t>(element.max_definition - 2));  // list defined, empty
      return;
    }
    uint8_t repetition = 0;
    for (const auto& v : values) {
      element.append_string(v, repetition);
      repetition = 1;
    }
  }
  void end_row() {
    for (auto& leaf : leaves_) {
      if (!touched_.count(&leaf)) leaf.append_null(0);
    }
    touched_.clear();
    ++rows_;
  }
  int64_t rows() const { return rows_; }

 private:
  LeafColumn& touch(const std::string& name) {
    LeafColumn* leaf = by_name_.at(name);
    touched_.insert(leaf);
    return *leaf;
  }
  std::vector<LeafColumn>& leaves_;
  std::map<std::string, LeafColumn*> by_name_;
  std::set<LeafColumn*> touched_;
  int64_t rows_ = 0;
};

// Walks the rows of a read checkpoint: each leaf's level entries of the current row and the
// values among them.
class RowReader {
 public:
  explicit RowReader(const parquet::NestedFile& file) {
    for (const auto& leaf : file.leaves)
      cursors_[dotted(leaf)] = Cursor{&leaf};
  }
  bool has(const std::string& name) const { return cursors_.count(name) > 0; }
  // Moves every leaf to the next row; false when a leaf has no more rows.
  bool next_row() {
    for (auto& [name, cursor] : cursors_) {
      cursor.level += cursor.count;
      cursor.value += cursor.present;
      const auto& leaf = *cursor.leaf;
      const size_t levels = leaf.definition_levels.size();
      if (cursor.level >= levels) return false;
      cursor.count = 1;
      while (cursor.level + cursor.count < levels && leaf.max_repetition > 0 &&
             leaf.repetition_levels[cursor.level + cursor.count] != 0) {
        ++cursor.count;
      }
      cursor.present = 0;
      for (size_t i = 0; i < cursor.count; ++i)
        cursor.present += leaf.definition_levels[cursor.level + i] == leaf.max_definition;
    }
    return true;
  }
  // Returns the definition level of the row's first entry of a leaf (0 when the leaf is absent).
  int definition(const std::string& name) const {
    auto it = cursors_.find(name);
    if (it == cursors_.end()) return 0;
    return it->second.leaf->definition_levels[it->second.level];
  }
  std::optional<std::string> text(const std::string& name) const {
    const Cursor* cursor = present(name);
    if (!cursor) return std::nullopt;
    return cursor->leaf->strings.at(cursor->value);
  }
  std::optional<int64_t> integer(const std::string& name) const {
    const Cursor* cursor = present(name);
    if (!cursor) return std::nullopt;
    return cursor->leaf->integers.at(cursor->value);
  }
  std::map<std::string, std::optional<std::string>> map(const std::string& name) const {
    std::map<std::string, std::optional<std::string>> out;
    auto keys = cursors_.find(name + ".key_value.key");
    auto values = cursors_.find(name + ".key_value.value");
    if (keys == cursors_.end() || values == cursors_.end()) return out;
    const Cursor& k = keys->second;
    const Cursor& v = values->second;
    size_t value_index = v.value;
    for (size_t i = 0, key_index = k.value; i < k.count && i < v.count; ++i) {
      if (k.leaf->definition_levels[k.level + i] != k.leaf->max_definition) continue;
      std::optional<std::string> value;
      if (v.leaf->definition_levels[v.level + i] == v.leaf->max_definition) {
        value = v.leaf->strings.at(value_index++);
      }
      out[k.leaf->strings.at(key_index++)] = std::move(value);
    }
    return out;
  }
  std::vector<std::string> list(const std::string& name) const {
    std::vector<std::string> out;
    auto it = cursors_.find(name + ".list.element");
    if (it == cursors_.end()) return out;
    const Cursor& c = it->second;
    for (size_t i = 0; i < c.present; ++i)
      out.push_back(c.leaf->strings.at(c.value + i));
    return out;
  }

 private:
  struct Cursor;
  // Returns the leaf's cursor when the current row holds a value there, else null.
  const Cursor* present(const std::string& name) const {
    auto it = cursors_.find(name);
    return it == cursors_.end() || it->second.present == 0 ? nullptr : &it->second;
  }
  struct Cursor {
    const LeafColumn* leaf = nullptr;
    size_t level = 0;    // first level entry of the current row
    size_t count = 0;    // level entries of the current row
    size_t value = 0;    // first value of the current row
    size_t present = 0;  // values of the current row
  };
  std::map<std::string, Cursor> cursors_;
};

// Checks that a leaf's values match its levels, so that the row reader never reads past them.
Status check_leaf(const LeafColumn& leaf, const std::string& file) {
  size_t present = 0;
  for (uint8_t level : leaf.definition_levels)
    present += level == leaf.max_definition;
  const size_t values = leaf.type == PhysicalType::byte_array ? leaf.strings.size()
                        : leaf.type == PhysicalType::boolean  ? leaf.booleans.size()
                                                              : leaf.integers.size();
  if (values != present ||
      (leaf.max_repetition > 0 && leaf.repetition_levels.size() != leaf.definition_levels.size())) {
    return Status::corrupt("Delta checkpoint " + file + ": column " + dotted(leaf) + " holds " +
                           std::to_string(values) + " values for " + std::to_string(present) +
                           " defined entries");
  }
  return Status::ok();
}

Status write_file_atomically(const std::string& path, const std::string& content, bool sync) {
  const std::string temporary = path + "." + random_uuid() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::io_error("cannot create " + temporary + ": " + std::strerror(errno));
  bool ok = write_fully(fd, content, temporary).is_ok();
  if (ok && sync) ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return Status::io_error("cannot write " + path + ": " + std::strerror(error));
  }
  return Status::ok();
}

}  // namespace

std::string delta_checkpoint_file(const std::string& table_path, int64_t version) {
  char name[48];
  std::snprintf(name, sizeof name, "%020lld.checkpoint.parquet", static_cast<long long>(version));
  return delta_log_directory(table_path) + "/" + name;
}

Status write_delta_checkpoint(const std::string& table_path, const DeltaSnapshot& snapshot,
                              bool sync) {
  if (!snapshot.protocol || !snapshot.metadata) {
    return Status::invalid_argument("cannot checkpoint version " +
                                    std::to_string(snapshot.version) + " of the Delta table at " +
                                    table_path + ": it has no protocol or metaData yet");
  }
  const std::vector<SchemaElement> schema = checkpoint_schema();
  SLUICE_ASSIGN_OR_RETURN(std::vector<LeafColumn> leaves, parquet::nested_leaves(schema));
  RowWriter rows(leaves);
  rows.value("protocol.minReaderVersion", snapshot.protocol->min_reader_version);
  rows.value("protocol.minWriterVersion", snapshot.protocol->min_writer_version);
  rows.end_row();
  const DeltaMetadata& metadata = *snapshot.metadata;
  rows.value("metaData.id", metadata.id);
  rows.null("metaData.name");
  rows.null("metaData.description");
  rows.value("metaData.format.provider", std::string("parquet"));
  rows.map("metaData.format.options", {});
  rows.value("metaData.schemaString", metadata.schema_string);
  rows.list("metaData.partitionColumns", metadata.partition_columns);
  std::map<std::string, std::optional<std::string>> configuration;
  for (const auto& [key, value] : metadata.configuration)
    configuration[key] = value;
  rows.map("metaData.configuration", configuration);
  rows.value("metaData.createdTime", metadata.created_time);
  rows.end_row();
  for (const auto& [app_id, version] : snapshot.transactions) {
    rows.value("txn.appId", app_id);
    rows.value("txn.version", version);
    rows.null("txn.lastUpdated");
    rows.end_row();
  }
  for (const auto& [path, file] : snapshot.files) {
    rows.value("add.path", delta_encode_path(file.path));
    rows.map("add.partitionValues", file.partition_values);
    rows.value("add.size", file.size);
    rows.value("add.modificationTime", file.modification_time);
    rows.flag("add.dataChange", false);
    if (file.stats.empty()) {
      rows.null("add.stats");
    } else {
      rows.value("add.stats", file.stats);
    }
    rows.end_row();
  }
  const std::string target = delta_checkpoint_file(table_path, snapshot.version);
  SLUICE_RETURN_NOT_OK(parquet::write_nested_file(target, schema, leaves, rows.rows(),
                                                  parquet::Codec::snappy, sync));
  std::error_code error;
  const auto bytes = fs::file_size(target, error);
  const std::string last = "{\"version\":" + std::to_string(snapshot.version) +
                           ",\"size\":" + std::to_string(rows.rows()) +
                           ",\"sizeInBytes\":" + std::to_string(error ? 0 : bytes) +
                           ",\"numOfAddFiles\":" + std::to_string(snapshot.files.size()) + "}\n";
  return write_file_atomically(delta_log_directory(table_path) + "/_last_checkpoint", last, sync);
}

Result<DeltaSnapshot> read_delta_checkpoint(const std::string& table_path, int64_t version) {
  const std::string file = delta_checkpoint_file(table_path, version);
  SLUICE_ASSIGN_OR_RETURN(parquet::NestedFile checkpoint, parquet::read_nested_file(file));
  for (const auto& leaf : checkpoint.leaves)
    SLUICE_RETURN_NOT_OK(check_leaf(leaf, file));
  RowReader row(checkpoint);
  for (const char* needed : {"add.path", "metaData.schemaString", "protocol.minReaderVersion"}) {
    if (!row.has(needed)) {
      return Status::corrupt("Delta checkpoint " + file + " has no column " + needed);
    }
  }
  // Renders the checkpoint's actions as log lines and applies them like a commit, so that a
  // checkpoint is checked by the same rules as the JSON log.
  std::string content;
  int64_t rows = 0;
  while (row.next_row()) {
    ++rows;
    if (row.definition("protocol.minReaderVersion") > 0) {
      DeltaProtocol protocol;
      protocol.min_reader_version = row.integer("protocol.minReaderVersion").value_or(1);
      protocol.min_writer_version = row.integer("protocol.minWriterVersion").value_or(2);
      content += delta_protocol_action(protocol) + "\n";
    } else if (row.definition("metaData.schemaString") > 0) {
      DeltaMetadata metadata;
      metadata.id = row.text("metaData.id").value_or("");
      metadata.schema_string = row.text("metaData.schemaString").value_or("");
      metadata.partition_columns = row.list("metaData.partitionColumns");
      for (auto& [key, value] : row.map("metaData.configuration"))
        if (value) metadata.configuration[key] = *value;
      metadata.created_time = row.integer("metaData.createdTime").value_or(0);
      content += delta_metadata_action(metadata) + "\n";
    } else if (row.definition("txn.appId") > 0) {
      auto app_id = row.text("txn.appId");
      auto txn_version = row.integer("txn.version");
      if (!app_id || !txn_version) {
        return Status::corrupt("Delta checkpoint " + file + ": row " + std::to_string(rows) +
                               " has a txn without appId or version");
      }
      content +=
          delta_txn_action(*app_id, *txn_version, row.integer("txn.lastUpdated").value_or(0)) +
          "\n";
    } else if (row.definition("add.path") > 0) {
      auto path = row.text("add.path");
      auto size = row.integer("add.size");
      if (!path || !size) {
        return Status::corrupt("Delta checkpoint " + file + ": row " + std::to_string(rows) +
                               " has an add without path or size");
      }
      DeltaFile added;
      added.path = delta_decode_path(*path);
      added.partition_values = row.map("add.partitionValues");
      added.size = *size;
      added.modification_time = row.integer("add.modificationTime").value_or(0);
      added.stats = row.text("add.stats").value_or("");
      content += delta_add_action(added, false) + "\n";
    }
    // remove rows are tombstones for vacuum; other actions carry nothing a reader applies.
  }
  if (rows != checkpoint.num_rows) {
    return Status::corrupt("Delta checkpoint " + file + " holds " + std::to_string(rows) +
                           " rows in its columns but declares " +
                           std::to_string(checkpoint.num_rows));
  }
  DeltaSnapshot snapshot;
  SLUICE_RETURN_NOT_OK(apply_delta_commit(content, file, version, snapshot).status());
  if (!snapshot.protocol || !snapshot.metadata) {
    return Status::corrupt("Delta checkpoint " + file + " has no " +
                           (snapshot.protocol ? "metaData" : "protocol") + " row");
  }
  return snapshot;
}

Result<std::vector<int64_t>> list_delta_checkpoints(const std::string& table_path) {
  return list_delta_log_files(table_path, ".checkpoint.parquet");
}

std::optional<int64_t> read_last_checkpoint(const std::string& table_path) {
  auto content = read_file_if_exists(delta_log_directory(table_path) + "/_last_checkpoint");
  if (!content.ok() || !*content) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(**content).get(root) != simdjson::SUCCESS) return std::nullopt;
  int64_t version = 0;
  if (root["version"].get_int64().get(version) != simdjson::SUCCESS || version < 0) {
    return std::nullopt;
  }
  return version;
}

}  // namespace sluice
