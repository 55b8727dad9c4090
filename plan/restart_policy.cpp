#include "plan/restart_policy.hpp"

#include <algorithm>
#include <cmath>

#include "operators/window_assigner.hpp"

namespace sluice {

namespace {

constexpr const char* kOptions[] = {"restart.strategy", "restart.attempts", "restart.delay",
                                    "restart.maxDelay", "restart.multiplier"};

const std::string* lookup(const std::map<std::string, std::string>& options,
                          const std::map<std::string, std::string>& session,
                          const std::string& key) {
  if (auto it = options.find(key); it != options.end()) return &it->second;
  if (auto it = session.find(key); it != session.end()) return &it->second;
  return nullptr;
}

Result<std::chrono::milliseconds> millis(const std::string& key, const std::string& value) {
  auto micros = parse_duration(value);
  if (!micros.ok() || *micros < 0) {
    return Status::invalid_argument("option '" + key +
                                    "' must be a duration such as '500 ms' or '2 seconds', got '" +
                                    value + "'");
  }
  return std::chrono::milliseconds(*micros / 1000);
}

}  // namespace

std::chrono::milliseconds RestartPolicy::delay_before(int64_t restart) const {
  if (strategy != Strategy::exponential_backoff) return delay;
  const double scaled =
      static_cast<double>(delay.count()) * std::pow(multiplier, static_cast<double>(restart - 1));
  return std::chrono::milliseconds(
      static_cast<int64_t>(std::min(scaled, static_cast<double>(max_delay.count()))));
}

bool is_restart_option(const std::string& key) {
  return std::find(std::begin(kOptions), std::end(kOptions), key) != std::end(kOptions);
}

Result<RestartPolicy> parse_restart_policy(const std::map<std::string, std::string>& options,
                                           const std::map<std::string, std::string>& session) {
  RestartPolicy policy;
  if (const std::string* value = lookup(options, session, "restart.strategy")) {
    if (*value == "none") {
      policy.strategy = RestartPolicy::Strategy::none;
    } else if (*value == "fixed-delay") {
      policy.strategy = RestartPolicy::Strategy::fixed_delay;
    } else if (*value == "exponential-backoff") {
      policy.strategy = RestartPolicy::Strategy::exponential_backoff;
    } else {
      return Status::invalid_argument(
          "option 'restart.strategy' must be none, fixed-delay or exponential-backoff, got '" +
          *value + "'");
    }
  }
  if (const std::string* value = lookup(options, session, "restart.attempts")) {
    char* end = nullptr;
    const long long attempts = std::strtoll(value->c_str(), &end, 10);
    if (value->empty() || *end != '\0' || attempts < 0) {
      return Status::invalid_argument(
          "option 'restart.attempts' must be a whole number >= 0, got '" + *value + "'");
    }
    policy.attempts = attempts;
  }
  if (const std::string* value = lookup(options, session, "restart.delay")) {
    SLUICE_ASSIGN_OR_RETURN(policy.delay, millis("restart.delay", *value));
  }
  if (const std::string* value = lookup(options, session, "restart.maxDelay")) {
    SLUICE_ASSIGN_OR_RETURN(policy.max_delay, millis("restart.maxDelay", *value));
  }
  if (const std::string* value = lookup(options, session, "restart.multiplier")) {
    char* end = nullptr;
    policy.multiplier = std::strtod(value->c_str(), &end);
    if (value->empty() || *end != '\0' || !(policy.multiplier >= 1)) {
      return Status::invalid_argument("option 'restart.multiplier' must be a number >= 1, got '" +
                                      *value + "'");
    }
  }
  return policy;
}

}  // namespace sluice
