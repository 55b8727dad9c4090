#pragma once

#include <chrono>
#include <string>

namespace sluice {

/// Says when a query runs its next epoch, with Spark's four kinds.
struct Trigger {
  enum class Kind { processing_time, once, available_now, continuous };
  Kind kind = Kind::processing_time;
  std::chrono::milliseconds interval{0};

  /// Runs an epoch every interval (0 = as soon as the previous one is done), only when new
  /// data is available; a late epoch starts the next at once, without a burst of catch-ups.
  static Trigger ProcessingTime(std::chrono::milliseconds interval) {
    return {Kind::processing_time, interval};
  }
  /// Runs one epoch over everything available at start, then stops.
  static Trigger Once() { return {Kind::once, std::chrono::milliseconds(0)}; }
  /// Runs everything available at start in as many epochs as rate limits need, then stops.
  static Trigger AvailableNow() { return {Kind::available_now, std::chrono::milliseconds(0)}; }
  /// Streams rows continuously, with epoch barriers every checkpoint interval.
  static Trigger Continuous(std::chrono::milliseconds checkpoint_interval) {
    return {Kind::continuous, checkpoint_interval};
  }

  std::string to_string() const {
    switch (kind) {
      case Kind::processing_time: return "ProcessingTime(" + std::to_string(interval.count()) + " ms)";
      case Kind::once: return "Once";
      case Kind::available_now: return "AvailableNow";
      case Kind::continuous: return "Continuous(" + std::to_string(interval.count()) + " ms)";
    }
    return "?";
  }
};

}  // namespace sluice
