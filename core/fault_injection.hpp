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
  // Edges: each message (batch or barrier) an actor sends along an edge of this kind passes
  // the point; the actions delay, drop and duplicate act on that message.
  edge_source_to_stage,  ///< a source partition → its stateless stage
  edge_to_stateful,      ///< a stage (or stateful stage) → a partition of a stateful stage
  edge_to_sink,          ///< a stage or stateful partition → the sink
};

/// Returns the point's name, e.g. "before_commit".
std::string_view fault_point_name(FaultPoint point);
/// Returns every protocol and connector point (not the edges), in protocol order.
const std::vector<FaultPoint>& all_fault_points();
/// Returns the edge points: source→stage, →stateful partition, →sink.
const std::vector<FaultPoint>& all_edge_points();
/// Returns true for an edge point.
bool is_edge_point(FaultPoint point);
/// Parses a point's name; fails listing the known names.
Result<FaultPoint> parse_fault_point(std::string_view name);

/// Which messages on an edge a rule applies to.
enum class FaultMessage { any, batch, barrier };

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
  enum class Kind { crash, fail, stall, kill_actor, delay, drop, duplicate };
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
  /// Edge points: holds the message, and every later one on its edge (order is kept), for
  /// `duration`; the sending actor goes on with other work.
  static FaultAction delay_for(std::chrono::milliseconds duration) {
    return {Kind::delay, duration};
  }
  /// Edge points: the message is lost (its sequence number is spent, so the receiver notices).
  static FaultAction drop() { return {Kind::drop, {}}; }
  /// Edge points: the message is delivered twice (the receiver must refuse the copy).
  static FaultAction duplicate() { return {Kind::duplicate, {}}; }
};

/// One armed fault: a point, when it fires, what it does, and how many times it may fire.
struct FaultRule {
  FaultPoint point = FaultPoint::before_commit;
  FaultTrigger trigger;
  FaultAction action;
  int64_t times = 1;  ///< fires at most this often (0: every time the trigger matches)
  FaultMessage message = FaultMessage::any;  ///< edge points: batches, barriers or both
};

/// Checks that a rule's action suits its point: delay, drop and duplicate need an edge point;
/// an edge point takes those, crash or stall. Fails naming the point and the action.
[[nodiscard]] Status validate_fault_rule(const FaultRule& rule);

/// Exit code of a process ended by a crash fault, so tests can tell it from a real crash.
inline constexpr int kFaultCrashExitCode = 86;

/// Identifies an armed rule for disarm / fired_count.
using FaultId = int64_t;

/// Arms `rule` process-wide; it applies to every query of the process. A rule that
/// validate_fault_rule refuses fails the step it fires at (fail at a protocol point, drop on an
/// edge) so a mistake never passes unnoticed. Thread-safe.
FaultId arm_fault(FaultRule rule);
/// Arms the rules of a specification such as the SLUICE_FAULTS variable holds:
/// `rule;rule;...`, each `point[.batch|.barrier]@trigger:action[*times]` with trigger
/// `epoch=E`, `hit=N` or `p=P,seed=S`, action `crash`, `fail`, `kill` (kill_actor),
/// `stall=<ms>`, and on edge points `delay=<ms>`, `drop` or `duplicate`, e.g.
/// `before_commit@epoch=3:crash;during_source_read@p=0.2,seed=7:stall=50*0;`
/// `edge_to_sink.barrier@epoch=2:duplicate`.
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

/// What an edge fault does to one message.
struct EdgeDecision {
  enum class Fate { deliver, drop, duplicate, delay };
  Fate fate = Fate::deliver;
  std::chrono::milliseconds delay{0};
};

namespace detail {
/// The number of armed rules; read relaxed by fault_point so an unarmed process pays one load.
extern std::atomic<int> armed_fault_rules;
Status fire_fault_point(FaultPoint point, int64_t epoch);
EdgeDecision fire_edge_fault(FaultPoint edge, FaultMessage message, int64_t epoch);
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

/// Marks a message of `epoch` passing edge point `edge` (crashes or stalls when a rule says
/// so) and returns what to do with it; deliver at once (one relaxed atomic load) when nothing
/// is armed. Thread-safe.
inline EdgeDecision edge_fault(FaultPoint edge, FaultMessage message, int64_t epoch) {
  if (detail::armed_fault_rules.load(std::memory_order_relaxed) == 0) return {};
  return detail::fire_edge_fault(edge, message, epoch);
}

}  // namespace sluice
