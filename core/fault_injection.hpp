#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace sluice {

/// The places of the epoch protocol (and of connectors) where a fault can be injected, named
/// after the step they follow or precede.
enum class FaultPoint {
  after_offsets_logged,      ///< offsets/e is durable, no record of e read yet
  during_source_read,        ///< a source partition has read a batch of e
  before_sink_write,         ///< all of e reached the sink, before it makes e durable
  after_sink_write,          ///< the sink made e durable, before the checkpoint commit
  before_commit,             ///< the commit transaction of e is prepared, not started
  during_commit,             ///< inside the LMDB commit transaction of e, before it commits
  after_commit,              ///< commits/e is durable, the sink not yet told
  kafka_before_txn_commit,   ///< the Kafka sink is about to commit e's transaction
  delta_before_log_publish,  ///< the Delta sink is about to publish e's log entry
};

/// Returns the point's name, e.g. "before_commit".
std::string_view fault_point_name(FaultPoint point);
/// Returns every fault point, in protocol order.
const std::vector<FaultPoint>& all_fault_points();
/// Parses a point's name; fails listing the known names.
Result<FaultPoint> parse_fault_point(std::string_view name);

/// When an armed fault fires.
struct FaultTrigger {
  enum class Kind { at_epoch, at_hit, with_probability };
  Kind kind = Kind::at_hit;
  int64_t epoch = 0;       ///< at_epoch: the epoch whose hit fires
  int64_t hit = 1;         ///< at_hit: the n-th time the point is reached (from 1)
  double probability = 0;  ///< with_probability: the chance each hit fires
  uint64_t seed = 0;       ///< with_probability: seeds the rule's own generator

  /// Fires when the point is reached for `epoch`.
  static FaultTrigger at(int64_t epoch) { return {Kind::at_epoch, epoch, 1, 0, 0}; }
  /// Fires the n-th time the point is reached (counting from 1), whatever the epoch.
  static FaultTrigger nth_hit(int64_t n) { return {Kind::at_hit, 0, n, 0, 0}; }
  /// Fires each hit with `probability`, drawn from a generator seeded with `seed`.
  static FaultTrigger random(double probability, uint64_t seed) {
    return {Kind::with_probability, 0, 1, probability, seed};
  }
};

/// What an armed fault does when it fires.
struct FaultAction {
  enum class Kind { crash, fail, stall, kill_actor };
  Kind kind = Kind::crash;
  std::chrono::milliseconds stall{0};

  /// Ends the process at once with exit code kFaultCrashExitCode (no destructors, no flush),
  /// as a SIGKILL would.
  static FaultAction crash() { return {Kind::crash, {}}; }
  /// Fails the operation at the point: the query fails with an error naming the point.
  static FaultAction fail() { return {Kind::fail, {}}; }
  /// Blocks the calling thread for `duration`, then goes on.
  static FaultAction stall_for(std::chrono::milliseconds duration) {
    return {Kind::stall, duration};
  }
  /// Kills the actor that reached the point (a source partition at during_source_read, the
  /// sink at before_sink_write), as an actor crash would: the coordinator notices through its
  /// monitor and the query fails. Elsewhere it fails the step, as fail() does.
  static FaultAction kill_actor() { return {Kind::kill_actor, {}}; }
};

/// One armed fault: a point, when it fires, what it does, and how many times it may fire.
struct FaultRule {
  FaultPoint point = FaultPoint::before_commit;
  FaultTrigger trigger;
  FaultAction action;
  int64_t times = 1;  ///< fires at most this often (0: every time the trigger matches)
};

/// Exit code of a process ended by a crash fault, so tests can tell it from a real crash.
inline constexpr int kFaultCrashExitCode = 86;

/// Identifies an armed rule for disarm / fired_count.
using FaultId = int64_t;

/// Arms `rule` process-wide; it applies to every query of the process. Thread-safe.
FaultId arm_fault(FaultRule rule);
/// Arms the rules of a specification such as the SLUICE_FAULTS variable holds:
/// `rule;rule;...`, each `point@trigger:action[*times]` with trigger `epoch=E`, `hit=N` or
/// `p=P,seed=S`, action `crash`, `fail`, `kill` (kill_actor) or `stall=<ms>`, e.g.
/// `before_commit@epoch=3:crash;during_source_read@p=0.2,seed=7:stall=50*0`.
/// Arms nothing and names the bad part when the text is malformed. Thread-safe.
Result<std::vector<FaultId>> arm_faults(std::string_view specification);
/// Disarms one rule (nothing if it is gone). Thread-safe.
void disarm_fault(FaultId id);
/// Disarms every rule, including those armed from the environment. Thread-safe.
void disarm_all_faults();
/// Returns how often the rule fired so far (also after it was disarmed). Thread-safe.
int64_t fault_fired_count(FaultId id);

/// Arms a rule for the lifetime of the object: scoped faults in a test.
class ScopedFault {
 public:
  explicit ScopedFault(FaultRule rule) : id_(arm_fault(rule)) {}
  ~ScopedFault() { disarm_fault(id_); }
  ScopedFault(const ScopedFault&) = delete;
  ScopedFault& operator=(const ScopedFault&) = delete;
  FaultId id() const { return id_; }
  /// Returns how often the rule fired so far.
  int64_t fired() const { return fault_fired_count(id_); }

 private:
  FaultId id_;
};

namespace detail {
/// The number of armed rules; read relaxed by fault_point so an unarmed process pays one load.
extern std::atomic<int> armed_fault_rules;
Status fire_fault_point(FaultPoint point, int64_t epoch);
}  // namespace detail

/// Tells whether a failure returned by fault_point asks the calling actor to die.
bool fault_kills_actor(const Status& status);

/// Marks a fault point reached for `epoch`: crashes, stalls or returns the injected error when
/// an armed rule fires; returns ok at once (one relaxed atomic load) when nothing is armed.
/// Callers pass a failure on as they would any error of the step. Thread-safe.
[[nodiscard]] inline Status fault_point(FaultPoint point, int64_t epoch) {
  if (detail::armed_fault_rules.load(std::memory_order_relaxed) == 0) return Status::ok();
  return detail::fire_fault_point(point, epoch);
}

}  // namespace sluice
