#include "plan/pipeline_registry.hpp"

#include <cstdio>
#include <mutex>

#include "plan/planning_session.hpp"

namespace sluice {

namespace {

// A definition is this header, the name and a line break, then entries: 'o' (a pipeline
// option) or 's' (a session option of the coordinator), then "key-length:key value-length:value".
constexpr std::string_view kHeader = "sluice-pipeline 1\n";

// What a worker builds a pipeline from: its name, its options and the coordinator's session
// options (which planning reads too: ansi, shuffle_partitions, watermark policies, ...).
struct PipelineDefinition {
  std::string name;
  PipelineOptions options;
  std::map<std::string, std::string> session_options;
};

struct Registry {
  std::mutex mutex;
  std::map<std::string, PipelineFunction> pipelines;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

Result<PipelineFunction> find_pipeline(const std::string& name) {
  Registry& pipelines = registry();
  std::lock_guard lock(pipelines.mutex);
  auto it = pipelines.pipelines.find(name);
  if (it != pipelines.pipelines.end()) return it->second;
  std::string known;
  for (const auto& [registered, _] : pipelines.pipelines)
    known += (known.empty() ? "" : ", ") + registered;
  return Status::not_found(
      "no pipeline named '" + name + "' is registered in this program (registered: " +
      (known.empty() ? "none" : known) + "); call sluice::register_pipeline(\"" + name +
      "\", ...) in main() of the program the workers run");
}

std::string encode_definition(const PipelineDefinition& definition) {
  std::string text(kHeader);
  text += definition.name + "\n";
  auto add = [&](char kind, const std::map<std::string, std::string>& entries) {
    for (const auto& [key, value] : entries) {
      text += kind + std::to_string(key.size()) + ":" + key + std::to_string(value.size()) + ":" +
              value;
    }
  };
  add('o', definition.options);
  add('s', definition.session_options);
  return text;
}

// Reads "length:bytes" at the front of `text`.
Result<std::string> take_counted(std::string_view& text) {
  const size_t colon = text.find(':');
  size_t length = 0;
  if (colon == std::string_view::npos || colon == 0) return Status::corrupt("missing length");
  for (char c : text.substr(0, colon)) {
    if (c < '0' || c > '9') return Status::corrupt("malformed length");
    length = length * 10 + static_cast<size_t>(c - '0');
  }
  if (text.size() - colon - 1 < length) return Status::corrupt("truncated value");
  std::string value(text.substr(colon + 1, length));
  text.remove_prefix(colon + 1 + length);
  return value;
}

Result<PipelineDefinition> decode_definition(std::string_view text) {
  auto context = [](const Status& status) {
    return status.with_context("the coordinator's pipeline definition");
  };
  if (!is_pipeline_definition(text)) return context(Status::corrupt("unknown header"));
  text.remove_prefix(kHeader.size());
  const size_t end_of_name = text.find('\n');
  if (end_of_name == std::string_view::npos) return context(Status::corrupt("missing name"));
  PipelineDefinition definition;
  definition.name = std::string(text.substr(0, end_of_name));
  text.remove_prefix(end_of_name + 1);
  while (!text.empty()) {
    const char kind = text.front();
    if (kind != 'o' && kind != 's') return context(Status::corrupt("unknown entry kind"));
    text.remove_prefix(1);
    auto key = take_counted(text);
    if (!key.ok()) return context(key.status());
    auto value = take_counted(text);
    if (!value.ok()) return context(value.status());
    (kind == 'o' ? definition.options : definition.session_options)[*key] = *value;
  }
  return definition;
}

// The session options planning reads, which the worker's planning session must share.
std::map<std::string, std::string> planning_options(const SessionContext& session) {
  std::map<std::string, std::string> options;
  for (const char* key : {"ansi", "shuffle_partitions", "multipleWatermarkPolicy",
                          "watermarkIdleTimeout", "stateCacheSize"}) {
    if (std::string value = session.conf(key); !value.empty()) options[key] = value;
  }
  return options;
}

}  // namespace

Status register_pipeline(const std::string& name, PipelineFunction build) {
  if (name.empty() || name.find('\n') != std::string::npos) {
    return Status::invalid_argument("a pipeline needs a name without line breaks, got '" + name +
                                    "'");
  }
  if (!build) return Status::invalid_argument("pipeline '" + name + "' has no function");
  Registry& pipelines = registry();
  std::lock_guard lock(pipelines.mutex);
  if (!pipelines.pipelines.emplace(name, std::move(build)).second) {
    return Status::invalid_argument("a pipeline named '" + name + "' is registered already");
  }
  return Status::ok();
}

Result<StreamingQuery> start_pipeline(SessionContext& session, const std::string& name,
                                      const PipelineOptions& options) {
  SLUICE_ASSIGN_OR_RETURN(PipelineFunction build, find_pipeline(name));
  auto writer = build(session, options);
  if (!writer.ok()) return writer.status().with_context("building pipeline '" + name + "'");
  PipelineDefinition definition{name, options, planning_options(session)};
  auto query = writer->definition(encode_definition(definition)).start();
  if (!query.ok()) return query.status().with_context("starting pipeline '" + name + "'");
  return query;
}

bool is_pipeline_definition(std::string_view definition) {
  return definition.substr(0, kHeader.size()) == kHeader;
}

Result<QuerySpec> plan_pipeline(std::string_view definition, std::string_view plan_fingerprint) {
  SLUICE_ASSIGN_OR_RETURN(PipelineDefinition decoded, decode_definition(definition));
  const std::string& name = decoded.name;
  SLUICE_ASSIGN_OR_RETURN(PipelineFunction build, find_pipeline(name));
  PlanningSession session;
  for (const auto& [key, value] : decoded.session_options) {
    Status set = session.set_conf(key, value);
    if (!set.is_ok()) return set.with_context("the coordinator's session option '" + key + "'");
  }
  auto writer = build(session, decoded.options);
  if (!writer.ok()) return writer.status().with_context("building pipeline '" + name + "'");
  auto started = writer->definition(std::string(definition)).start();
  if (!started.ok()) return started.status().with_context("planning pipeline '" + name + "'");
  std::vector<QuerySpec> specs = session.take_specs();
  if (specs.size() != 1) {
    return Status::internal("pipeline '" + name + "' planned " + std::to_string(specs.size()) +
                            " queries, expected one");
  }
  if (specs[0].plan_fingerprint != plan_fingerprint) {
    return Status::invalid_argument(
        "pipeline '" + name + "' plans to fingerprint " +
        fingerprint_digest(specs[0].plan_fingerprint) + " in this worker but to " +
        fingerprint_digest(plan_fingerprint) +
        " in the coordinator: the worker runs another build of the program");
  }
  return std::move(specs[0]);
}

std::string fingerprint_digest(std::string_view plan_fingerprint) {
  // FNV-1a, 64 bits: stable across builds and machines, unlike std::hash.
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : plan_fingerprint) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace sluice
