#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "actors/messages.hpp"
#include "core/status.hpp"

namespace sluice::actors {

/// The receiving end's check of the numbers OutputLink gives each message of an edge: every
/// sender's messages must arrive as 1, 2, 3, ... A number seen again is a duplicate, refused
/// before it is counted; a number skipped is a lost message. Either fails the epoch with an
/// error naming the edge, so the restart policy re-runs it from the checkpoint. Messages
/// numbered 0 (not sent through an OutputLink) are not checked. Owned by one actor; not
/// thread-safe.
class EdgeSequences {
 public:
  /// Makes the check for the actor named `receiver`.
  explicit EdgeSequences(std::string receiver = {}) : receiver_(std::move(receiver)) {}

  /// Accepts the next batch from `sender`, or fails naming the edge and epoch.
  [[nodiscard]] Status accept(const caf::strong_actor_ptr& sender, const BatchMessage& message) {
    return accept(sender, message.sequence, message.sender, "batch", message.epoch);
  }
  /// Accepts the next barrier from `sender`, or fails naming the edge and epoch.
  [[nodiscard]] Status accept(const caf::strong_actor_ptr& sender, const BarrierMessage& message) {
    return accept(sender, message.sequence, message.sender, "barrier", message.epoch);
  }

 private:
  Status accept(const caf::strong_actor_ptr& sender, int64_t sequence,
                const std::shared_ptr<const std::string>& sender_name, const char* what,
                int64_t epoch) {
    if (sequence == 0) return Status::ok();
    int64_t& expected = next_[sender.get()];
    if (expected == 0) expected = 1;
    const std::string edge =
        "edge " + (sender_name ? *sender_name : std::string("?")) + " -> " + receiver_;
    if (sequence < expected) {
      return Status::aborted("duplicate " + std::string(what) + " of epoch " +
                             std::to_string(epoch) + " on " + edge + " (message " +
                             std::to_string(sequence) + " arrived again), refused");
    }
    if (sequence > expected) {
      const int64_t lost = sequence - expected;
      return Status::aborted(std::to_string(lost) + " message" + (lost == 1 ? "" : "s") +
                             " lost on " + edge + " before a " + what + " of epoch " +
                             std::to_string(epoch) + " (expected message " +
                             std::to_string(expected) + ", got " + std::to_string(sequence) + ")");
    }
    ++expected;
    return Status::ok();
  }

  std::string receiver_;
  // Keyed by the sender's control block: the senders live as long as the query's graph.
  std::map<const caf::actor_control_block*, int64_t> next_;
};

}  // namespace sluice::actors
