#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <variant>

#include "actors/messages.hpp"
#include "core/fault_injection.hpp"

namespace sluice::actors {

/// The sending end of one edge with credit-based backpressure: batches go out while credits
/// last and wait in order otherwise; barriers need no credit but never overtake a batch.
/// Numbers every message it sends (from 1) and names its sender, so the receiver refuses
/// duplicates and notices losses (EdgeSequences). Passes every message through the edge fault
/// point `edge` (delay, drop, duplicate). Owned by one actor; not thread-safe.
class OutputLink {
 public:
  OutputLink() = default;
  /// Makes the link from `self` (named `sender` in errors) to `destination`; a delayed link
  /// reminds `self` with resume_atom, whose handler must call resume().
  OutputLink(caf::event_based_actor* self, caf::actor destination, FaultPoint edge,
             std::shared_ptr<const std::string> sender)
      : self_(self),
        destination_(std::move(destination)),
        edge_(edge),
        sender_(std::move(sender)) {}

  /// Sends rows of `epoch` for operator input `input` once a credit allows.
  void send_batch(int64_t epoch, RecordBatchPtr batch, int input = 0) {
    pending_.push_back({BatchMessage{epoch, std::move(batch), input, 0, nullptr}, false});
    flush();
  }
  /// Sends the barrier of `epoch` after every batch sent before it.
  void send_barrier(int64_t epoch) {
    pending_.push_back({BarrierMessage{epoch, 0, nullptr}, false});
    flush();
  }
  /// Takes credits returned by the receiver and sends what they allow.
  void add_credits(int32_t credits) {
    credits_ += credits;
    flush();
  }
  /// Sends what waited for a delay that has passed (called on resume_atom).
  void resume() {
    if (paused_) {
      const auto now = std::chrono::steady_clock::now();
      if (now < paused_until_) {
        // Early (another link's reminder, or a coarse timer): ask again for the rest.
        self_->delayed_send(self_, paused_until_ - now, resume_atom::value);
        return;
      }
      paused_ = false;
    }
    flush();
  }
  /// Returns true when nothing waits for credit.
  bool drained() const { return pending_.empty(); }
  /// Returns true when a batch could go out now.
  bool has_credit() const { return credits_ > 0 && pending_.empty(); }
  const caf::actor& destination() const { return destination_; }

 private:
  struct Pending {
    std::variant<BatchMessage, BarrierMessage> message;
    bool decided = false;  // the edge fault point saw it already (a delayed message)
  };

  void flush() {
    while (!pending_.empty() && !paused_) {
      Pending& next = pending_.front();
      auto* batch = std::get_if<BatchMessage>(&next.message);
      if (batch != nullptr && credits_ <= 0) return;
      EdgeDecision decision;
      if (!next.decided) {
        next.decided = true;
        decision = edge_fault(edge_, batch ? FaultMessage::batch : FaultMessage::barrier,
                              batch ? batch->epoch : std::get<BarrierMessage>(next.message).epoch);
        if (decision.fate == EdgeDecision::Fate::delay) {
          // Everything behind the message waits too: a delay reorders nothing.
          paused_ = true;
          paused_until_ = std::chrono::steady_clock::now() + decision.delay;
          self_->delayed_send(self_, decision.delay, resume_atom::value);
          return;
        }
      }
      const int64_t sequence = ++sequence_;
      if (batch != nullptr) {
        --credits_;
        batch->sequence = sequence;
        batch->sender = sender_;
        if (decision.fate == EdgeDecision::Fate::duplicate) self_->send(destination_, *batch);
        if (decision.fate != EdgeDecision::Fate::drop) self_->send(destination_, std::move(*batch));
      } else {
        auto& barrier = std::get<BarrierMessage>(next.message);
        barrier.sequence = sequence;
        barrier.sender = sender_;
        if (decision.fate == EdgeDecision::Fate::duplicate) self_->send(destination_, barrier);
        if (decision.fate != EdgeDecision::Fate::drop) self_->send(destination_, barrier);
      }
      pending_.pop_front();
    }
  }

  caf::event_based_actor* self_ = nullptr;
  caf::actor destination_;
  FaultPoint edge_ = FaultPoint::edge_to_sink;
  std::shared_ptr<const std::string> sender_;
  int32_t credits_ = kLinkCredits;
  int64_t sequence_ = 0;
  bool paused_ = false;
  std::chrono::steady_clock::time_point paused_until_;
  std::deque<Pending> pending_;
};

}  // namespace sluice::actors
