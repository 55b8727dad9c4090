#include "core/fault_injection.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace sluice {

namespace detail {
constinit std::atomic<int> armed_fault_rules{0};
}  // namespace detail

namespace {

struct ArmedRule {
  FaultRule rule;
  int64_t hits = 0;
  std::mt19937_64 generator;
};

struct Registry {
  std::mutex mutex;
  std::map<FaultId, ArmedRule> rules;
  std::map<FaultId, int64_t> fired;
  FaultId next_id = 1;
  // A malformed SLUICE_FAULTS / SLUICE_CRASH_AT: every fault point fails with it, so a driven
  // child stops with an error naming the variable instead of silently running unarmed.
  std::optional<Status> environment_error;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

void update_armed(Registry& r) {
  const int armed = static_cast<int>(r.rules.size()) + (r.environment_error ? 1 : 0);
  detail::armed_fault_rules.store(armed, std::memory_order_relaxed);
}

// Ends the message of a kill_actor fault, which fault_kills_actor recognizes.
constexpr std::string_view kActorKilled = ": the actor is killed";

constexpr std::string_view kPointNames[] = {
    "after_offsets_logged", "during_source_read",      "before_sink_write",
    "after_sink_write",     "before_commit",           "during_commit",
    "after_commit",         "kafka_before_txn_commit", "delta_before_log_publish",
    "edge_source_to_stage", "edge_to_stateful",        "edge_to_sink"};

// The protocol and connector points come first in FaultPoint; the edges follow.
constexpr size_t kFirstEdge = static_cast<size_t>(FaultPoint::edge_source_to_stage);

bool is_edge_action(FaultAction::Kind kind) {
  return kind == FaultAction::Kind::delay || kind == FaultAction::Kind::drop ||
         kind == FaultAction::Kind::duplicate;
}

Result<int64_t> parse_integer(std::string_view text, std::string_view what) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return Status::invalid_argument(std::string(what) + " must be an integer, got '" +
                                    std::string(text) + "'");
  }
  return value;
}

Result<FaultTrigger> parse_trigger(std::string_view text) {
  if (text.substr(0, 6) == "epoch=") {
    SLUICE_ASSIGN_OR_RETURN(int64_t epoch, parse_integer(text.substr(6), "epoch"));
    return FaultTrigger::at(epoch);
  }
  if (text.substr(0, 4) == "hit=") {
    SLUICE_ASSIGN_OR_RETURN(int64_t hit, parse_integer(text.substr(4), "hit"));
    if (hit < 1) return Status::invalid_argument("hit counts from 1, got " + std::to_string(hit));
    return FaultTrigger::nth_hit(hit);
  }
  if (text.substr(0, 2) == "p=") {
    const size_t comma = text.find(",seed=");
    const std::string probability(
        text.substr(2, comma == std::string_view::npos ? std::string_view::npos : comma - 2));
    char* end = nullptr;
    const double p = std::strtod(probability.c_str(), &end);
    if (probability.empty() || *end != '\0' || p < 0 || p > 1) {
      return Status::invalid_argument("probability must be a number in [0, 1], got '" +
                                      probability + "'");
    }
    uint64_t seed = 0;
    if (comma != std::string_view::npos) {
      SLUICE_ASSIGN_OR_RETURN(int64_t parsed, parse_integer(text.substr(comma + 6), "seed"));
      seed = static_cast<uint64_t>(parsed);
    }
    return FaultTrigger::random(p, seed);
  }
  return Status::invalid_argument("unknown trigger '" + std::string(text) +
                                  "' (expected epoch=E, hit=N or p=P,seed=S)");
}

Result<FaultAction> parse_action(std::string_view text) {
  if (text == "crash") return FaultAction::crash();
  if (text == "fail") return FaultAction::fail();
  if (text == "kill") return FaultAction::kill_actor();
  if (text == "drop") return FaultAction::drop();
  if (text == "duplicate") return FaultAction::duplicate();
  for (const bool delay : {true, false}) {
    const std::string_view prefix = delay ? "delay=" : "stall=";
    if (text.substr(0, prefix.size()) != prefix) continue;
    std::string_view duration = text.substr(prefix.size());
    if (duration.size() > 2 && duration.substr(duration.size() - 2) == "ms")
      duration.remove_suffix(2);
    SLUICE_ASSIGN_OR_RETURN(int64_t millis, parse_integer(duration, delay ? "delay duration (ms)"
                                                                          : "stall duration (ms)"));
    const std::chrono::milliseconds length(millis);
    return delay ? FaultAction::delay_for(length) : FaultAction::stall_for(length);
  }
  return Status::invalid_argument(
      "unknown action '" + std::string(text) +
      "' (expected crash, fail, kill, stall=<ms>, or on an edge delay=<ms>, drop or "
      "duplicate)");
}

Result<FaultRule> parse_rule(std::string_view text) {
  const size_t at = text.find('@');
  const size_t colon = text.find(':', at == std::string_view::npos ? 0 : at);
  if (at == std::string_view::npos || colon == std::string_view::npos) {
    return Status::invalid_argument("fault '" + std::string(text) +
                                    "' is not point@trigger:action");
  }
  FaultRule rule;
  std::string_view point = text.substr(0, at);
  if (const size_t dot = point.find('.'); dot != std::string_view::npos) {
    const std::string_view message = point.substr(dot + 1);
    if (message == "batch") {
      rule.message = FaultMessage::batch;
    } else if (message == "barrier") {
      rule.message = FaultMessage::barrier;
    } else {
      return Status::invalid_argument("unknown message kind '" + std::string(message) +
                                      "' (expected batch or barrier)");
    }
    point = point.substr(0, dot);
  }
  SLUICE_ASSIGN_OR_RETURN(rule.point, parse_fault_point(point));
  SLUICE_ASSIGN_OR_RETURN(rule.trigger, parse_trigger(text.substr(at + 1, colon - at - 1)));
  std::string_view action = text.substr(colon + 1);
  if (const size_t star = action.find('*'); star != std::string_view::npos) {
    SLUICE_ASSIGN_OR_RETURN(rule.times, parse_integer(action.substr(star + 1), "times"));
    if (rule.times < 0) return Status::invalid_argument("times must not be negative");
    action = action.substr(0, star);
  }
  SLUICE_ASSIGN_OR_RETURN(rule.action, parse_action(action));
  SLUICE_RETURN_NOT_OK(validate_fault_rule(rule));
  return rule;
}

Result<std::vector<FaultRule>> parse_rules(std::string_view specification) {
  std::vector<FaultRule> rules;
  while (!specification.empty()) {
    const size_t semicolon = specification.find(';');
    std::string_view part = specification.substr(0, semicolon);
    specification = semicolon == std::string_view::npos ? std::string_view()
                                                        : specification.substr(semicolon + 1);
    if (part.empty()) continue;
    auto rule = parse_rule(part);
    if (!rule.ok())
      return rule.status().with_context("fault specification '" + std::string(part) + "'");
    rules.push_back(*rule);
  }
  return rules;
}

FaultId arm_locked(Registry& r, FaultRule rule) {
  const FaultId id = r.next_id++;
  r.rules.emplace(id, ArmedRule{rule, 0, std::mt19937_64(rule.trigger.seed)});
  r.fired[id] = 0;
  update_armed(r);
  return id;
}

// Finds the first armed rule for `point` (and `message`) that fires now, counts it, and
// returns its action; the caller carries out crashes and stalls outside the lock.
std::optional<FaultAction> firing_action(Registry& r, FaultPoint point, FaultMessage message,
                                         int64_t epoch) {
  for (auto it = r.rules.begin(); it != r.rules.end(); ++it) {
    ArmedRule& armed = it->second;
    if (armed.rule.point != point) continue;
    if (armed.rule.message != FaultMessage::any && armed.rule.message != message) continue;
    ++armed.hits;
    bool fires = false;
    switch (armed.rule.trigger.kind) {
      case FaultTrigger::Kind::at_epoch:
        fires = epoch == armed.rule.trigger.epoch;
        break;
      case FaultTrigger::Kind::at_hit:
        fires = armed.hits == armed.rule.trigger.hit;
        break;
      case FaultTrigger::Kind::with_probability:
        fires = std::uniform_real_distribution<double>(0, 1)(armed.generator) <
                armed.rule.trigger.probability;
        break;
    }
    if (!fires) continue;
    const FaultAction action = armed.rule.action;
    const int64_t fired = ++r.fired[it->first];
    if (armed.rule.times > 0 && fired >= armed.rule.times) {
      r.rules.erase(it);
      update_armed(r);
    }
    return action;
  }
  return std::nullopt;
}

std::string injected(FaultPoint point, int64_t epoch) {
  return "injected fault at " + std::string(fault_point_name(point)) + " (epoch " +
         std::to_string(epoch) + ")";
}

// Arms what the environment asks for once, when the library is loaded: SLUICE_FAULTS (the
// full syntax) and SLUICE_CRASH_AT=point:epoch (a crash at that point and epoch).
struct EnvironmentFaults {
  EnvironmentFaults() {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (const char* text = std::getenv("SLUICE_FAULTS"); text != nullptr) {
      auto rules = parse_rules(text);
      if (!rules.ok()) {
        r.environment_error = rules.status().with_context("environment variable SLUICE_FAULTS");
      } else {
        for (const auto& rule : *rules)
          arm_locked(r, rule);
      }
    }
    if (const char* text = std::getenv("SLUICE_CRASH_AT"); text != nullptr && *text != '\0') {
      const std::string_view spec(text);
      const size_t colon = spec.rfind(':');
      auto point = parse_fault_point(spec.substr(0, colon));
      auto epoch = colon == std::string_view::npos
                       ? Result<int64_t>(Status::invalid_argument("missing ':epoch'"))
                       : parse_integer(spec.substr(colon + 1), "epoch");
      if (!point.ok() || !epoch.ok()) {
        r.environment_error = (point.ok() ? epoch.status() : point.status())
                                  .with_context("environment variable SLUICE_CRASH_AT='" +
                                                std::string(spec) + "' (expected point:epoch)");
      } else {
        arm_locked(r, FaultRule{*point, FaultTrigger::at(*epoch), FaultAction::crash(), 1});
      }
    }
    update_armed(r);
  }
};

const EnvironmentFaults environment_faults;

}  // namespace

std::string_view fault_point_name(FaultPoint point) {
  return kPointNames[static_cast<size_t>(point)];
}

const std::vector<FaultPoint>& all_fault_points() {
  static const std::vector<FaultPoint> points = [] {
    std::vector<FaultPoint> all;
    for (size_t i = 0; i < kFirstEdge; ++i)
      all.push_back(static_cast<FaultPoint>(i));
    return all;
  }();
  return points;
}

const std::vector<FaultPoint>& all_edge_points() {
  static const std::vector<FaultPoint> points = [] {
    std::vector<FaultPoint> all;
    for (size_t i = kFirstEdge; i < std::size(kPointNames); ++i)
      all.push_back(static_cast<FaultPoint>(i));
    return all;
  }();
  return points;
}

bool is_edge_point(FaultPoint point) {
  return static_cast<size_t>(point) >= kFirstEdge;
}

Status validate_fault_rule(const FaultRule& rule) {
  const std::string name(fault_point_name(rule.point));
  const bool edge = is_edge_point(rule.point);
  const auto kind = rule.action.kind;
  if (!edge && is_edge_action(kind)) {
    return Status::invalid_argument("fault point '" + name +
                                    "' is not an edge: delay, drop and duplicate act on the "
                                    "edges edge_source_to_stage, edge_to_stateful, edge_to_sink");
  }
  if (!edge && rule.message != FaultMessage::any) {
    return Status::invalid_argument("fault point '" + name +
                                    "' is not an edge: only edges carry batches and barriers");
  }
  if (edge && (kind == FaultAction::Kind::fail || kind == FaultAction::Kind::kill_actor)) {
    return Status::invalid_argument("edge point '" + name +
                                    "' takes delay, drop, duplicate, crash or stall, not " +
                                    (kind == FaultAction::Kind::fail ? "fail" : "kill"));
  }
  return Status::ok();
}

Result<FaultPoint> parse_fault_point(std::string_view name) {
  std::string known;
  for (size_t i = 0; i < std::size(kPointNames); ++i) {
    if (kPointNames[i] == name) return static_cast<FaultPoint>(i);
    known += (known.empty() ? "" : ", ") + std::string(kPointNames[i]);
  }
  return Status::invalid_argument("unknown fault point '" + std::string(name) +
                                  "' (known: " + known + ")");
}

FaultId arm_fault(FaultRule rule) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return arm_locked(r, rule);
}

Result<std::vector<FaultId>> arm_faults(std::string_view specification) {
  SLUICE_ASSIGN_OR_RETURN(auto rules, parse_rules(specification));
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<FaultId> ids;
  for (const auto& rule : rules)
    ids.push_back(arm_locked(r, rule));
  return ids;
}

void disarm_fault(FaultId id) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.rules.erase(id);
  update_armed(r);
}

void disarm_all_faults() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.rules.clear();
  r.environment_error.reset();
  update_armed(r);
}

int64_t fault_fired_count(FaultId id) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.fired.find(id);
  return it == r.fired.end() ? 0 : it->second;
}

namespace detail {

Status fire_fault_point(FaultPoint point, int64_t epoch) {
  Registry& r = registry();
  std::optional<FaultAction> action;
  {
    std::lock_guard lock(r.mutex);
    if (r.environment_error) return *r.environment_error;
    action = firing_action(r, point, FaultMessage::any, epoch);
  }
  if (!action) return Status::ok();
  switch (action->kind) {
    case FaultAction::Kind::crash:
      ::_exit(kFaultCrashExitCode);
    case FaultAction::Kind::stall:
      std::this_thread::sleep_for(action->stall);
      return Status::ok();
    case FaultAction::Kind::kill_actor:
      return Status::aborted(injected(point, epoch) + std::string(kActorKilled));
    case FaultAction::Kind::fail:
      break;
    case FaultAction::Kind::delay:
    case FaultAction::Kind::drop:
    case FaultAction::Kind::duplicate:
      // Refused by validate_fault_rule; armed from code anyway, it fails the step loudly.
      return Status::aborted(injected(point, epoch) + ": " +
                             validate_fault_rule({point, {}, *action, 1}).message());
  }
  return Status::aborted(injected(point, epoch));
}

EdgeDecision fire_edge_fault(FaultPoint edge, FaultMessage message, int64_t epoch) {
  Registry& r = registry();
  std::optional<FaultAction> action;
  {
    std::lock_guard lock(r.mutex);
    action = firing_action(r, edge, message, epoch);
  }
  if (!action) return {};
  switch (action->kind) {
    case FaultAction::Kind::crash:
      ::_exit(kFaultCrashExitCode);
    case FaultAction::Kind::stall:
      std::this_thread::sleep_for(action->stall);
      return {};
    case FaultAction::Kind::delay:
      return {EdgeDecision::Fate::delay, action->stall};
    case FaultAction::Kind::duplicate:
      return {EdgeDecision::Fate::duplicate, {}};
    case FaultAction::Kind::drop:
    // fail and kill are refused on edges by validate_fault_rule; armed from code anyway, the
    // message is lost, which the receiver notices.
    case FaultAction::Kind::fail:
    case FaultAction::Kind::kill_actor:
      return {EdgeDecision::Fate::drop, {}};
  }
  return {};
}

}  // namespace detail

bool fault_kills_actor(const Status& status) {
  const std::string& message = status.message();
  return status.code() == StatusCode::aborted && message.size() >= kActorKilled.size() &&
         message.compare(message.size() - kActorKilled.size(), kActorKilled.size(), kActorKilled) ==
             0;
}

}  // namespace sluice
