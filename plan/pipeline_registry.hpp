#pragma once

// Pipelines built in C++, registered by name, so that worker processes can build the same
// query as the coordinator (option `workers`; docs/scale-out.md, "Pipelines built in C++").

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "plan/dataframe.hpp"
#include "plan/session_context.hpp"

namespace sluice {

/// Parameters of a registered pipeline (paths, addresses, sizes): the coordinator's values are
/// sent to every worker with the pipeline's name, so both build the same plan.
using PipelineOptions = std::map<std::string, std::string>;

/// Builds a pipeline on `session`: every call with equal options must build the same plan (the
/// worker checks it by fingerprint). Returns the configured writer, not started. Called on the
/// coordinator by start_pipeline and on every worker that runs a partition of it, there on a
/// session that only plans (nothing it reads or writes is opened). May be called from any
/// thread, one call at a time per session.
using PipelineFunction = std::function<Result<DataStreamWriter>(SessionContext& session,
                                                                const PipelineOptions& options)>;

/// Registers `build` under `name` for this process; call it in main() of the program that is
/// both coordinator and worker, before either starts. Fails on an empty or taken name.
/// Thread-safe.
[[nodiscard]] Status register_pipeline(const std::string& name, PipelineFunction build);

/// Builds the registered pipeline `name` with `options` on `session` and starts it. With the
/// session option or query option `workers`, its stateful partitions run on worker processes
/// of the same program (run_worker_if_requested), which build it again by name. Fails naming
/// an unregistered pipeline, or as start() does. Thread-safe.
Result<StreamingQuery> start_pipeline(SessionContext& session, const std::string& name,
                                      const PipelineOptions& options = {});

/// Returns whether a query's definition names a registered pipeline (rather than SQL text).
bool is_pipeline_definition(std::string_view definition);

/// Plans the registered pipeline a definition names, on a session that only plans, and checks
/// that it plans to `plan_fingerprint`; fails naming the pipeline and both fingerprints when it
/// does not (the worker runs another build of the program), or naming an unregistered pipeline.
/// Thread-safe.
Result<QuerySpec> plan_pipeline(std::string_view definition, std::string_view plan_fingerprint);

/// Returns a short stable digest of a plan fingerprint (16 hex digits), for error messages.
std::string fingerprint_digest(std::string_view plan_fingerprint);

}  // namespace sluice
