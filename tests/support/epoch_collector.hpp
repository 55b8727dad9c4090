#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "actors/actor_sink.hpp"

namespace sluice::testing {

/// Collects what an actor sink delivers, as a host's receiver would: stages batches per epoch,
/// applies an epoch at its EpochEnd unless it was applied already (dedup by epoch number), and
/// records every EpochEnd seen (replays included). Thread-safe.
struct EpochCollector {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<int64_t, std::vector<std::vector<Value>>> staged;
  std::map<int64_t, std::vector<std::vector<Value>>> applied;  // epoch -> rows
  std::vector<int64_t> ends_seen;                              // every EpochEnd, in order
  int64_t replays_skipped = 0;
  /// Called (under the lock) when an epoch is applied for the first time.
  std::function<void(int64_t epoch, const std::vector<std::vector<Value>>& rows)> on_apply;

  /// Waits until `done()` holds (checked under the lock) or the timeout passes.
  bool wait_until(const std::function<bool()>& done,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, done);
  }

  /// Returns every applied row, epochs in order.
  std::vector<std::vector<Value>> rows() {
    std::lock_guard lock(mutex);
    std::vector<std::vector<Value>> all;
    for (const auto& [epoch, rows] : applied)
      all.insert(all.end(), rows.begin(), rows.end());
    return all;
  }
};

/// Spawns a receiver actor feeding `collector` in `system`.
inline actors::epoch_receiver spawn_collector(caf::actor_system& system,
                                              std::shared_ptr<EpochCollector> collector) {
  return system.spawn([collector]() -> actors::epoch_receiver::behavior_type {
    return {
        [collector](const actors::EpochBatch& message) {
          std::lock_guard lock(collector->mutex);
          for (auto& row : message.batch->to_rows())
            collector->staged[message.epoch].push_back(std::move(row));
        },
        [collector](const actors::EpochEnd& end) {
          {
            std::lock_guard lock(collector->mutex);
            auto rows = std::move(collector->staged[end.epoch]);
            collector->staged.erase(end.epoch);
            collector->ends_seen.push_back(end.epoch);
            if (collector->applied.count(end.epoch)) {
              ++collector->replays_skipped;
            } else {
              if (collector->on_apply) collector->on_apply(end.epoch, rows);
              collector->applied[end.epoch] = std::move(rows);
            }
          }
          collector->changed.notify_all();
          return actors::EpochAck{end.epoch};
        },
        [collector](const actors::EpochAbort& abort) {
          std::lock_guard lock(collector->mutex);
          collector->staged.erase(abort.epoch);
        },
    };
  });
}

}  // namespace sluice::testing
