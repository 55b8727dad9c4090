#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace sluice {

/// Tells the time in microseconds since the Unix epoch. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_micros() const = 0;
};

/// Reads the system's real-time clock.
class SystemClock final : public Clock {
 public:
  int64_t now_micros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

/// Moves only when told to, so that tests decide what time it is.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_micros = 0) : now_(start_micros) {}
  int64_t now_micros() const override { return now_.load(); }
  void advance_micros(int64_t micros) { now_ += micros; }
  void set_micros(int64_t micros) { now_ = micros; }

 private:
  std::atomic<int64_t> now_;
};

/// Returns a shared system clock.
inline std::shared_ptr<Clock> system_clock() {
  static std::shared_ptr<Clock> clock = std::make_shared<SystemClock>();
  return clock;
}

}  // namespace sluice
