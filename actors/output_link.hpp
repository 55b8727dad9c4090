#pragma once

#include <deque>
#include <variant>

#include "actors/messages.hpp"

namespace sluice::actors {

/// The sending end of one edge with credit-based backpressure: batches go out while credits
/// last and wait in order otherwise; barriers need no credit but never overtake a batch.
/// Owned by one actor; not thread-safe.
class OutputLink {
 public:
  OutputLink() = default;
  OutputLink(caf::event_based_actor* self, caf::actor destination)
      : self_(self), destination_(std::move(destination)) {}

  void send_batch(BatchMessage message) {
    pending_.emplace_back(std::move(message));
    flush();
  }
  void send_barrier(BarrierMessage message) {
    pending_.emplace_back(message);
    flush();
  }
  /// Takes credits returned by the receiver and sends what they allow.
  void add_credits(int32_t credits) {
    credits_ += credits;
    flush();
  }
  /// Returns true when nothing waits for credit.
  bool drained() const { return pending_.empty(); }
  /// Returns true when a batch could go out now.
  bool has_credit() const { return credits_ > 0 && pending_.empty(); }
  const caf::actor& destination() const { return destination_; }

 private:
  void flush() {
    while (!pending_.empty()) {
      auto& next = pending_.front();
      if (auto* batch = std::get_if<BatchMessage>(&next)) {
        if (credits_ <= 0) return;
        --credits_;
        self_->send(destination_, std::move(*batch));
      } else {
        self_->send(destination_, std::get<BarrierMessage>(next));
      }
      pending_.pop_front();
    }
  }

  caf::event_based_actor* self_ = nullptr;
  caf::actor destination_;
  int32_t credits_ = kLinkCredits;
  std::deque<std::variant<BatchMessage, BarrierMessage>> pending_;
};

}  // namespace sluice::actors
