#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "core/status.hpp"

namespace sluice {

/// How a failed query restarts itself from its checkpoint (Flink's restart strategies), set by
/// the options `restart.strategy` (none, fixed-delay, exponential-backoff), `restart.attempts`
/// (restarts allowed in all; default 3), `restart.delay` (before the first restart; default
/// 1 second), `restart.maxDelay` (exponential-backoff's cap; default 1 minute) and
/// `restart.multiplier` (exponential-backoff's factor; default 2), on the query or the session.
struct RestartPolicy {
  enum class Strategy { none, fixed_delay, exponential_backoff };
  Strategy strategy = Strategy::none;
  int64_t attempts = 3;
  std::chrono::milliseconds delay{1000};
  std::chrono::milliseconds max_delay{60000};
  double multiplier = 2;

  /// Returns the wait before restart number `restart` (from 1).
  std::chrono::milliseconds delay_before(int64_t restart) const;
  /// Tells whether the policy restarts at all.
  bool restarts() const { return strategy != Strategy::none && attempts > 0; }
};

/// Returns whether `key` is one of the restart options.
bool is_restart_option(const std::string& key);

/// Reads the restart options from `options` (a query's), falling back to `session` (the
/// session's); fails naming the option and its bad value.
Result<RestartPolicy> parse_restart_policy(const std::map<std::string, std::string>& options,
                                           const std::map<std::string, std::string>& session);

}  // namespace sluice
