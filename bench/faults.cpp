// Measures what a fault point costs: unarmed (the normal case: one relaxed atomic load) and
// with a rule armed on another point (a locked lookup), against a loop doing the same work
// without a fault point, in the same run.
#include <chrono>
#include <cstdio>
#include <cstring>

#include "core/fault_injection.hpp"

namespace {

using Clock = std::chrono::steady_clock;

template <typename Body>
double nanoseconds_per_call(int64_t calls, Body body) {
  const auto start = Clock::now();
  int64_t ok = 0;
  for (int64_t i = 0; i < calls; ++i)
    ok += body(i);
  const double elapsed = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
  if (ok != calls) std::printf("unexpected failures: %lld\n", static_cast<long long>(calls - ok));
  return elapsed / static_cast<double>(calls);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int64_t calls = quick ? 2'000'000 : 50'000'000;
  volatile int64_t sink = 0;
  const double baseline = nanoseconds_per_call(calls, [&](int64_t i) {
    sink = sink + i;
    return 1;
  });
  const double unarmed = nanoseconds_per_call(calls, [&](int64_t i) {
    sink = sink + i;
    return sluice::fault_point(sluice::FaultPoint::before_commit, i).is_ok() ? 1 : 0;
  });
  // What every message on an edge pays when no edge fault is armed (OutputLink's hook).
  const double edge_unarmed = nanoseconds_per_call(calls, [&](int64_t i) {
    sink = sink + i;
    const auto decision =
        sluice::edge_fault(sluice::FaultPoint::edge_to_sink, sluice::FaultMessage::batch, i);
    return decision.fate == sluice::EdgeDecision::Fate::deliver ? 1 : 0;
  });
  sluice::ScopedFault elsewhere({sluice::FaultPoint::kafka_before_txn_commit,
                                 sluice::FaultTrigger::at(-1), sluice::FaultAction::fail(), 1});
  const double armed = nanoseconds_per_call(calls / 10, [&](int64_t i) {
    sink = sink + i;
    return sluice::fault_point(sluice::FaultPoint::before_commit, i).is_ok() ? 1 : 0;
  });
  std::printf("bench fault_point_baseline_loop %.2f ns\n", baseline);
  std::printf("bench fault_point_unarmed %.2f ns\n", unarmed);
  std::printf("bench fault_point_unarmed_extra %.2f ns\n", unarmed - baseline);
  std::printf("bench fault_point_armed_elsewhere %.2f ns\n", armed);
  std::printf("bench edge_fault_unarmed_extra %.2f ns\n", edge_unarmed - baseline);
  return 0;
}
