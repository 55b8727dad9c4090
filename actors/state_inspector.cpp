#include "actors/state_inspector.hpp"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "actors/query_runtime.hpp"
#include "operators/aggregate_function.hpp"
#include "operators/join_segment.hpp"
#include "operators/key_encoder.hpp"
#include "operators/state_encoding.hpp"
#include "operators/type_names.hpp"
#include "state/checkpoint_store.hpp"

namespace sluice {

namespace {

namespace fs = std::filesystem;

constexpr int kTimePrefix = 9;  // an event-time key encoded in front of the state key

// What the plan fingerprint's "stateful operator ..." line says about the operator's state.
// The operators write that line (state_fingerprint) to refuse an incompatible restart; it is
// the only schema the checkpoint holds, so this reads it and degrades to raw bytes for a
// line it does not understand.
struct StateLayout {
  std::string operator_name;
  std::vector<Field> keys;  // empty when not recoverable: the key is shown as hex
  int prefix = 0;           // bytes of event-time key in front of the keys
  // Joins: a side byte in front of the keys and a row id after them (see make_stream_join);
  // the operator column names the side.
  bool join = false;
  // Joins whose state is in segments (see join_segment.hpp): the right side's key names.
  bool join_segments = false;
  std::vector<std::string> right_key_names;
  // Aggregations only: the aggregates over `aggregate_input`, whose values follow a version
  // byte in every stored value.
  std::vector<AggregateSpec> aggregates;
  SchemaPtr aggregate_input;
};

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto byte = static_cast<uint8_t>(c);
    text.push_back(kDigits[byte >> 4]);
    text.push_back(kDigits[byte & 0xF]);
  }
  return text;
}

// Returns the text between `label` + "[" and the matching "]", or nullopt.
// Returns the word after `label` up to the next space ("" when absent).
std::string_view word_after(std::string_view text, std::string_view label) {
  const size_t start = text.find(label);
  if (start == std::string_view::npos) return {};
  text.remove_prefix(start + label.size());
  return text.substr(0, text.find(' '));
}

std::optional<std::string_view> bracketed(std::string_view text, std::string_view label) {
  const size_t start = text.find(label);
  if (start == std::string_view::npos) return std::nullopt;
  size_t position = start + label.size();
  const size_t open = position;
  int depth = 1;
  for (; position < text.size(); ++position) {
    if (text[position] == '[') ++depth;
    if (text[position] == ']' && --depth == 0) return text.substr(open, position - open);
  }
  return std::nullopt;
}

// Splits "a, b(c, d), e" at the top-level ", ".
std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> items;
  int depth = 0;
  size_t begin = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '(') ++depth;
    if (text[i] == ')') --depth;
    if (depth == 0 && text.substr(i, 2) == ", ") {
      items.push_back(text.substr(begin, i - begin));
      begin = i + 2;
    }
  }
  if (begin < text.size()) items.push_back(text.substr(begin));
  return items;
}

// Reads "name TYPE" as the operators render a column (Schema::to_string adds " NOT NULL").
std::optional<Field> parse_field(std::string_view text) {
  constexpr std::string_view kNotNull = " NOT NULL";
  if (text.size() > kNotNull.size() && text.substr(text.size() - kNotNull.size()) == kNotNull) {
    text.remove_suffix(kNotNull.size());
  }
  const size_t space = text.rfind(' ');
  if (space == std::string_view::npos || space == 0) return std::nullopt;
  auto type = type_from_sql_name(text.substr(space + 1));
  if (!type.ok()) return std::nullopt;
  return Field{std::string(text.substr(0, space)), *type, true};
}

std::optional<std::vector<Field>> parse_fields(std::string_view list) {
  std::vector<Field> fields;
  for (std::string_view item : split_list(list)) {
    auto field = parse_field(item);
    if (!field) return std::nullopt;
    fields.push_back(std::move(*field));
  }
  return fields;
}

std::optional<AggregateKind> aggregate_kind(std::string_view name) {
  static const std::pair<std::string_view, AggregateKind> kKinds[] = {
      {"count", AggregateKind::count},
      {"count_distinct", AggregateKind::count_distinct},
      {"approx_count_distinct", AggregateKind::approx_count_distinct},
      {"sum", AggregateKind::sum},
      {"avg", AggregateKind::avg},
      {"min", AggregateKind::min},
      {"max", AggregateKind::max},
      {"first", AggregateKind::first},
      {"last", AggregateKind::last}};
  for (const auto& [text, kind] : kKinds) {
    if (text == name) return kind;
  }
  return std::nullopt;
}

// Reads "count(1), sum(v BIGINT)" (AggregateRow::fingerprint) into specs over a schema of the
// aggregates' input columns; false for a list it does not understand.
bool parse_aggregates(std::string_view list, StateLayout& layout) {
  std::vector<Field> inputs;
  for (std::string_view item : split_list(list)) {
    const size_t open = item.find('(');
    if (open == std::string_view::npos || item.back() != ')') return false;
    auto kind = aggregate_kind(item.substr(0, open));
    if (!kind) return false;
    const std::string_view argument = item.substr(open + 1, item.size() - open - 2);
    AggregateSpec spec;
    spec.kind = *kind;
    if (argument == "1") {
      if (spec.kind != AggregateKind::count) return false;
      spec.kind = AggregateKind::count_all;
    } else {
      auto field = parse_field(argument);
      if (!field) return false;
      auto same = std::find_if(inputs.begin(), inputs.end(),
                               [&](const Field& f) { return f.name == field->name; });
      if (same != inputs.end() && same->type != field->type) return false;
      spec.input_column = static_cast<int>(same - inputs.begin());
      if (same == inputs.end()) inputs.push_back(std::move(*field));
    }
    layout.aggregates.push_back(std::move(spec));
  }
  auto schema = Schema::make(std::move(inputs));
  if (!schema.ok()) return false;
  layout.aggregate_input = *schema;
  return true;
}

// Reads the stateful operator's line of a plan fingerprint; nullopt for a stateless query.
std::optional<StateLayout> parse_layout(std::string_view plan_fingerprint) {
  constexpr std::string_view kLine = "stateful operator ";
  size_t start = plan_fingerprint.find(kLine);
  if (start == std::string_view::npos) return std::nullopt;
  std::string_view line = plan_fingerprint.substr(start + kLine.size());
  line = line.substr(0, line.find('\n'));
  StateLayout layout;
  const std::string_view kind = line.substr(0, line.find(' '));
  if (kind == "aggregate") {
    layout.operator_name = "stateful aggregate";
  } else if (kind == "deduplicate") {
    layout.operator_name = "deduplicate";
  } else if (kind == "session_window") {
    layout.operator_name = "session window aggregate";
  } else if (kind == "join") {
    // "join type=inner left=(k BIGINT, ...) right=(...) keys=[k=k, ...] ...": the key types
    // are the left side's columns of those names.
    const std::string_view type = word_after(line, "type=");
    layout.operator_name = "stream-stream " + std::string(type) + " join";
    layout.join = true;
    layout.join_segments = line.find(" state=segments") != std::string_view::npos;
    std::optional<std::string_view> left;
    if (const size_t open = line.find("left=("); open != std::string_view::npos) {
      const size_t close = line.find(')', open);
      if (close != std::string_view::npos) left = line.substr(open + 6, close - open - 6);
    }
    auto keys = bracketed(line, "keys=[");
    auto left_fields = left ? parse_fields(*left) : std::nullopt;
    if (!left_fields || !keys) return layout;
    std::string_view list = *keys;
    while (!list.empty()) {
      const size_t comma = list.find(", ");
      std::string_view pair = list.substr(0, comma);
      const std::string_view name = pair.substr(0, pair.find('='));
      if (pair.find('=') != std::string_view::npos) layout.right_key_names.emplace_back(pair.substr(pair.find('=') + 1));
      bool found = false;
      for (const auto& field : *left_fields) {
        if (field.name == name) {
          layout.keys.push_back(field);
          found = true;
        }
      }
      if (!found) {
        layout.keys.clear();
        return layout;
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 2);
    }
    return layout;
  } else if (kind == "flat_map_groups_with_state" || kind == "map_groups_with_state") {
    layout.operator_name = std::string(kind);  // keys decoded; the user's state stays bytes
  } else {
    layout.operator_name = std::string(kind);
    return layout;
  }
  auto keys = bracketed(line, "keys=[");
  auto fields = keys ? parse_fields(*keys) : std::nullopt;
  if (!fields || fields->empty()) return layout;
  layout.keys = std::move(*fields);
  // Aggregations and deduplication by an event-time key put that key in front (see
  // make_hash_aggregate and make_deduplicate); a deduplication within the watermark does not.
  if (kind != "session_window" && line.find(" event_time=") != std::string_view::npos) {
    layout.prefix = kTimePrefix;
  }
  if (kind == "aggregate") {
    auto aggregates = bracketed(line, "aggs=[");
    if (!aggregates || !parse_aggregates(*aggregates, layout)) layout.aggregates.clear();
  }
  // The operator sees planner-made columns ("__arg1"); when the query's output is exactly the
  // aggregation's (keys, then aggregates), its names are the ones the user chose.
  constexpr std::string_view kOutput = "output (";
  const size_t output = plan_fingerprint.find(kOutput);
  if (output != std::string_view::npos) {
    std::string_view text = plan_fingerprint.substr(output + kOutput.size());
    text = text.substr(0, text.find('\n'));
    if (!text.empty() && text.back() == ')') text.remove_suffix(1);
    auto named = parse_fields(text);
    if (named && named->size() == layout.keys.size() + layout.aggregates.size()) {
      bool same_keys = true;
      for (size_t i = 0; i < layout.keys.size(); ++i) {
        same_keys = same_keys && (*named)[i].type == layout.keys[i].type;
      }
      if (same_keys) {
        for (size_t i = 0; i < layout.keys.size(); ++i)
          layout.keys[i].name = (*named)[i].name;
        for (size_t i = 0; i < layout.aggregates.size(); ++i) {
          layout.aggregates[i].output_name = (*named)[layout.keys.size() + i].name;
        }
      }
    }
  }
  return layout;
}

// Appends one row per buffered row of a join's segments: the side, the partition its key
// routes to, the key columns (the left side's names) or the encoded key in hex, and the row's
// columns encoded (hex) as the value.
Status append_join_rows(const std::vector<JoinSegment>& segments, const StateLayout& layout, int num_partitions,
                        RecordBatchBuilder& builder) {
  EncodedKeys keys;
  EncodedKeys values;
  for (const JoinSegment& segment : segments) {
    const Schema& schema = *segment.rows->schema();
    std::vector<int> key_columns;
    for (size_t k = 0; k < layout.keys.size(); ++k) {
      const std::string& name = segment.key.side == 0 || k >= layout.right_key_names.size()
                                    ? layout.keys[k].name
                                    : layout.right_key_names[k];
      const int column = schema.find(name);
      if (column < 0) {
        return Status::corrupt("a join state segment has no key column '" + name + "' (" + schema.to_string() + ")");
      }
      key_columns.push_back(column);
    }
    std::vector<int> all(static_cast<size_t>(schema.num_fields()));
    for (size_t c = 0; c < all.size(); ++c) all[c] = static_cast<int>(c);
    SLUICE_ASSIGN_OR_RETURN(KeyEncoder key_encoder, KeyEncoder::make(schema, key_columns));
    SLUICE_ASSIGN_OR_RETURN(KeyEncoder row_encoder, KeyEncoder::make(schema, all));
    key_encoder.encode_flat(*segment.rows, keys);
    row_encoder.encode_flat(*segment.rows, values);
    for (int64_t r = 0; r < segment.rows->num_rows(); ++r) {
      if ((segment.flags[static_cast<size_t>(r)] & kJoinRowLive) == 0) continue;
      int column = 0;
      builder.column(column++).append_string(layout.operator_name + (segment.key.side == 0 ? " (left)" : " (right)"));
      builder.column(column++).append_int64(key_partition(keys.key(r), num_partitions));
      if (key_columns.empty()) {
        builder.column(column++).append_string(hex(keys.key(r)));
      }
      for (int key_column : key_columns) {
        SLUICE_RETURN_NOT_OK(builder.column(column++).append_value(segment.rows->column(key_column)->value_at(r)));
      }
      builder.column(column++).append_string(hex(values.key(r)));
      builder.column(column++).append_int64(static_cast<int64_t>(values.key(r).size()));
    }
  }
  return Status::ok();
}

Result<std::unique_ptr<CheckpointStore>> open_checkpoint(const std::string& path) {
  std::error_code error;
  if (!fs::is_directory(path, error)) {
    return Status::not_found("no checkpoint at " + path + ": the directory does not exist");
  }
  // Checked first because open() would create a fresh checkpoint in an empty directory.
  if (!fs::exists(fs::path(path) / "data.mdb", error)) {
    return Status::not_found(path + " is not a Sluice checkpoint (it has no data.mdb)");
  }
  auto opened = CheckpointStore::open(path);
  if (opened.ok()) return opened;
  const Status& status = opened.status();
  if (status.message().find("is in use by") != std::string::npos) {
    return Status(status.code(), "checkpoint " + path +
                                     " is in use by a running query; stop the query to "
                                     "inspect its state (" +
                                     status.message() + ")");
  }
  return status.with_context("checkpoint " + path);
}

}  // namespace

Result<RecordBatchPtr> inspect_state(const std::string& checkpoint_dir,
                                     const InspectStateOptions& options) {
  if (options.num_partitions < 0) {
    return Status::invalid_argument("num_partitions must not be negative, not " +
                                    std::to_string(options.num_partitions));
  }
  const int num_partitions =
      options.num_partitions > 0
          ? options.num_partitions
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointStore> store, open_checkpoint(checkpoint_dir));
  auto in_checkpoint = [&](const Status& status) {
    return status.with_context("checkpoint " + checkpoint_dir);
  };
  auto metadata = store->read_metadata();
  if (!metadata.ok()) return in_checkpoint(metadata.status());
  if (!*metadata) {
    return Status::not_found("checkpoint " + checkpoint_dir +
                             " has no query metadata: no query has started on it");
  }
  std::optional<StateLayout> layout = parse_layout((*metadata)->plan_fingerprint);

  std::vector<Field> fields = {{"operator", Type::String, false},
                               {"partition", Type::Int64, false}};
  const bool decodes_keys = layout && !layout->keys.empty();
  std::optional<KeyEncoder> encoder;
  if (decodes_keys) {
    std::vector<Field> encoded;
    if (layout->prefix > 0) encoded.push_back({"event_time", Type::Timestamp, true});
    encoded.insert(encoded.end(), layout->keys.begin(), layout->keys.end());
    std::vector<int> columns(encoded.size());
    for (size_t i = 0; i < columns.size(); ++i)
      columns[i] = static_cast<int>(i);
    SLUICE_ASSIGN_OR_RETURN(SchemaPtr key_schema, Schema::make(std::move(encoded)));
    SLUICE_ASSIGN_OR_RETURN(KeyEncoder made, KeyEncoder::make(*key_schema, std::move(columns)));
    encoder.emplace(std::move(made));
    fields.insert(fields.end(), layout->keys.begin(), layout->keys.end());
  } else {
    fields.push_back({"key", Type::String, false});
  }
  std::optional<AggregateRow> aggregates;
  if (layout && !layout->aggregates.empty()) {
    auto made = AggregateRow::make(*layout->aggregate_input, layout->aggregates);
    if (made.ok()) {
      aggregates.emplace(std::move(*made));
      for (size_t i = 0; i < layout->aggregates.size(); ++i) {
        Field field = aggregates->output_fields()[i];
        field.name = layout->aggregates[i].output_name.empty()
                         ? aggregate_column_name(layout->aggregates[i], *layout->aggregate_input)
                         : layout->aggregates[i].output_name;
        fields.push_back(std::move(field));
      }
    }
  }
  const int first_aggregate = static_cast<int>(fields.size()) -
                              (aggregates ? static_cast<int>(aggregates->specs().size()) : 0);
  fields.push_back({"value", Type::String, false});
  fields.push_back({"value_bytes", Type::Int64, false});
  // A key named like a fixed column ("value", "partition", ...) keeps its data under
  // "state_<name>", so that every column can be found by name.
  for (size_t i = 2; i + 2 < fields.size(); ++i) {
    auto taken = [&](const std::string& name) {
      for (size_t j = 0; j < fields.size(); ++j) {
        if (j != i && fields[j].name == name) return true;
      }
      return false;
    };
    while (taken(fields[i].name))
      fields[i].name = "state_" + fields[i].name;
  }
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr schema, Schema::make(std::move(fields)));
  RecordBatchBuilder builder(schema);
  if (!layout) return builder.finish();

  const int value_column = schema->num_fields() - 2;
  std::vector<uint64_t> row(aggregates ? static_cast<size_t>(aggregates->words()) : 0);
  Status failure;
  JoinSegmentCollector segments;
  Status scanned = store->scan_state(actors::kOperatorStateTable, [&](std::string_view key,
                                                                      std::string_view value) {
    auto fail = [&](Status status) {
      failure = status.with_context("state key " + hex(key) + " of checkpoint " + checkpoint_dir);
      return false;
    };
    if (layout->join_segments) {
      Status added = segments.add(key, value);
      return added.is_ok() ? true : fail(added);
    }
    int column = 0;
    std::string_view routed = key.substr(std::min(key.size(), static_cast<size_t>(layout->prefix)));
    if (layout->join) {
      if (key.size() < 9) return fail(Status::corrupt("join state key too short"));
      routed = key.substr(1, key.size() - 9);
      builder.column(column++).append_string(layout->operator_name + (key[0] == 0 ? " (left)" : " (right)"));
    } else {
      builder.column(column++).append_string(layout->operator_name);
    }
    builder.column(column++).append_int64(key_partition(routed, num_partitions));
    if (encoder) {
      auto values = encoder->decode(layout->join ? routed : key);
      if (!values.ok()) return fail(values.status());
      for (size_t i = layout->prefix > 0 ? 1 : 0; i < values->size(); ++i) {
        Status appended = builder.column(column++).append_value((*values)[i]);
        if (!appended.is_ok()) return fail(appended);
      }
    } else {
      builder.column(column++).append_string(hex(key));
    }
    if (aggregates) {
      std::string_view in = value;
      uint8_t version = 0;
      if (!state_encoding::get_byte(in, version) || version != state_encoding::kFormatVersion) {
        return fail(Status::corrupt("aggregate state of an unknown format version"));
      }
      std::fill(row.begin(), row.end(), 0);
      Status read = aggregates->deserialize(in, row.data());
      if (!read.is_ok()) return fail(read);
      aggregates->finalize(row.data(), &builder.column(first_aggregate));
      aggregates->destroy(row.data());
      if (!in.empty()) {
        return fail(
            Status::corrupt(std::to_string(in.size()) + " bytes after the aggregate states"));
      }
    }
    builder.column(value_column).append_string(hex(value));
    builder.column(value_column + 1).append_int64(static_cast<int64_t>(value.size()));
    return true;
  });
  if (!scanned.is_ok()) return in_checkpoint(scanned);
  if (!failure.is_ok()) return failure;
  if (layout->join_segments) {
    SLUICE_RETURN_NOT_OK(
        in_checkpoint(append_join_rows(segments.finish(), *layout, num_partitions, builder)));
  }
  return builder.finish();
}

}  // namespace sluice
