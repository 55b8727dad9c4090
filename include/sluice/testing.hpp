#pragma once

// The test kit for users' pipelines: test_stream with actions (add_data, check_answer,
// stop_stream, start_stream, advance_manual_clock, ...), as Spark's StreamTest but public.
#include "actors/stream_test.hpp"

// Fault injection: crash, fail or stall a query at a named step of the epoch protocol
// (arm_fault / ScopedFault from code, SLUICE_FAULTS or SLUICE_CRASH_AT in a child's
// environment), and delay, drop or duplicate messages on the edges between actors (the
// receivers refuse duplicates, notice losses; epochTimeout ends a hang). Restart policies
// (`restart.strategy`) let a query recover by itself.
#include "core/fault_injection.hpp"

namespace sluice::testing {

using sluice::all_edge_points;
using sluice::all_fault_points;
using sluice::arm_fault;
using sluice::arm_faults;
using sluice::disarm_all_faults;
using sluice::disarm_fault;
using sluice::fault_point_name;
using sluice::FaultAction;
using sluice::FaultMessage;
using sluice::FaultPoint;
using sluice::FaultRule;
using sluice::FaultTrigger;
using sluice::is_edge_point;
using sluice::kFaultCrashExitCode;
using sluice::parse_fault_point;
using sluice::ScopedFault;

}  // namespace sluice::testing
