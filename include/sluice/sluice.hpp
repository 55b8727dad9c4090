#pragma once

// The one header a user includes: sessions, DataFrames, expressions, queries.
#include "actors/session.hpp"
#include "actors/state_inspector.hpp"
#include "actors/worker.hpp"
#include "core/pretty_print.hpp"
#include "core/record_batch.hpp"
#include "io/delta_maintenance.hpp"
#include "io/foreach_sink.hpp"
#include "io/table_sink.hpp"
#include "operators/expression.hpp"
#include "operators/flat_buffer_codec.hpp"
#include "plan/dataframe.hpp"
#include "plan/keyed_groups.hpp"
#include "plan/pipeline_registry.hpp"
#include "plan/streaming_query.hpp"
#include "plan/trigger.hpp"
