#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::actors {

/// Exit code of a process stopped by a crash point, so tests can tell it from a real crash.
inline constexpr int kCrashPointExitCode = 86;

/// Ends the process at once (no destructors, no flush: like SIGKILL) when the environment
/// variable SLUICE_CRASH_AT names this point and epoch as "point:epoch", e.g.
/// SLUICE_CRASH_AT=after_offsets_logged:2. Points: after_offsets_logged, after_sink_write,
/// before_commit, after_commit. Costs one comparison when the variable is unset.
void crash_point(std::string_view point, int64_t epoch);

}  // namespace sluice::actors
