#pragma once

// The typed handle a user's function of map_groups_with_state / flat_map_groups_with_state
// receives for its group (Spark's GroupState), and the codecs that turn a user's state type
// into the bytes the checkpoint stores.

#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace sluice {

/// When a group's function is called without rows (Spark's GroupStateTimeout).
enum class GroupStateTimeout {
  none,             ///< never: the function runs only for groups with rows in the epoch
  processing_time,  ///< set_timeout_duration: once the query's clock passes the deadline
  event_time,       ///< set_timeout_timestamp: once the watermark passes the timestamp
};

/// Names a timeout kind the way Spark spells it ("ProcessingTimeTimeout").
std::string_view group_state_timeout_name(GroupStateTimeout timeout);

/// The untyped state of one group during one call of the user's function: what the operator
/// loads from and stores to its state table. Used by one thread.
struct GroupStateSlot {
  static constexpr int64_t kNoTimeout = std::numeric_limits<int64_t>::min();
  static constexpr int64_t kNoWatermark = std::numeric_limits<int64_t>::min();
  std::optional<std::string> bytes;  ///< the encoded state; nullopt when the group has none
  int64_t timeout = kNoTimeout;      ///< deadline (µs) set during this call, or kNoTimeout
  bool timed_out = false;
  GroupStateTimeout timeout_kind = GroupStateTimeout::none;
  int64_t watermark = kNoWatermark;
  int64_t processing_time = 0;
};

/// Thrown by GroupState for a misuse inside the user's function (get() without state, a
/// timeout the query was not declared with); the operator turns it into a query error that
/// names the group.
class GroupStateError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// Encodes a state type to bytes and back. Specialize it for your own type:
///   template <> struct sluice::StateCodec<Session> {
///     static void encode(const Session& s, std::string& out);
///     static bool decode(std::string_view in, Session& s);   // false: corrupt bytes
///   };
/// Ready: trivially copyable types (their bytes, checked for size) and std::string.
template <typename State, typename = void>
struct StateCodec;

template <typename State>
struct StateCodec<State, std::enable_if_t<std::is_trivially_copyable_v<State>>> {
  static void encode(const State& state, std::string& out) {
    out.append(reinterpret_cast<const char*>(&state), sizeof(State));
  }
  static bool decode(std::string_view in, State& state) {
    if (in.size() != sizeof(State)) return false;
    std::memcpy(&state, in.data(), sizeof(State));
    return true;
  }
};

template <>
struct StateCodec<std::string> {
  static void encode(const std::string& state, std::string& out) { out.append(state); }
  static bool decode(std::string_view in, std::string& state) {
    state.assign(in);
    return true;
  }
};

/// True when StateCodec<State> has encode and decode of the expected shape.
template <typename State, typename = void>
inline constexpr bool has_state_codec = false;
template <typename State>
inline constexpr bool has_state_codec<
    State, std::void_t<decltype(StateCodec<State>::encode(std::declval<const State&>(),
                                                          std::declval<std::string&>())),
                       decltype(StateCodec<State>::decode(std::declval<std::string_view>(),
                                                          std::declval<State&>()))>> = true;

/// The state of one group as the user's function sees it (Spark's GroupState): read it,
/// replace it, remove it, and set when the function is next called without rows. Valid only
/// during the call; used by one thread. A timeout lasts until the next call of the group (set
/// it again on every call that wants one, as in Spark).
template <typename State>
class GroupState {
 public:
  static_assert(has_state_codec<State>,
                "GroupState<State>: State needs a StateCodec<State> specialization with "
                "static void encode(const State&, std::string&) and "
                "static bool decode(std::string_view, State&) (trivially copyable types and "
                "std::string have one)");

  explicit GroupState(GroupStateSlot& slot) : slot_(slot) {}

  /// Returns true when the group has state.
  bool exists() const { return value_.has_value() || (!touched_ && slot_.bytes.has_value()); }
  /// Returns the state; throws GroupStateError when the group has none.
  const State& get() {
    load();
    if (!value_) throw GroupStateError("GroupState::get on a group without state (check exists())");
    return *value_;
  }
  /// Returns the state, or nullopt.
  std::optional<State> get_option() {
    load();
    return value_;
  }
  /// Replaces the state (stored when the epoch commits).
  void update(State state) {
    value_ = std::move(state);
    touched_ = true;
  }
  /// Removes the state.
  void remove() {
    value_.reset();
    touched_ = true;
  }
  /// Calls the function without rows once the query's clock passes now + duration (the
  /// processing time of this epoch); needs GroupStateTimeout::processing_time.
  template <typename Rep, typename Period>
  void set_timeout_duration(std::chrono::duration<Rep, Period> duration) {
    if (slot_.timeout_kind != GroupStateTimeout::processing_time) {
      throw GroupStateError("set_timeout_duration needs GroupStateTimeout::processing_time, not " +
                            std::string(group_state_timeout_name(slot_.timeout_kind)));
    }
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
    if (micros < 0) throw GroupStateError("set_timeout_duration with a negative duration");
    slot_.timeout = slot_.processing_time + micros;
  }
  /// Calls the function without rows once the watermark passes `micros` (µs since the epoch);
  /// needs GroupStateTimeout::event_time and a timestamp not below the current watermark.
  void set_timeout_timestamp(int64_t micros) {
    if (slot_.timeout_kind != GroupStateTimeout::event_time) {
      throw GroupStateError("set_timeout_timestamp needs GroupStateTimeout::event_time, not " +
                            std::string(group_state_timeout_name(slot_.timeout_kind)));
    }
    if (slot_.watermark != GroupStateSlot::kNoWatermark && micros < slot_.watermark) {
      throw GroupStateError("set_timeout_timestamp(" + std::to_string(micros) +
                            ") is below the current watermark " + std::to_string(slot_.watermark));
    }
    slot_.timeout = micros;
  }
  /// Returns true when this call comes from an expired timeout (no rows).
  bool has_timed_out() const { return slot_.timed_out; }
  /// Returns the watermark (µs) in force for this epoch, or GroupStateSlot::kNoWatermark.
  int64_t current_watermark() const { return slot_.watermark; }
  /// Returns the processing time (µs) of this epoch, from the query's clock.
  int64_t current_processing_time() const { return slot_.processing_time; }

  /// Writes the state back to the slot after the call; false when it did not change.
  bool store() {
    if (!touched_) return false;
    if (value_) {
      std::string bytes;
      StateCodec<State>::encode(*value_, bytes);
      slot_.bytes = std::move(bytes);
    } else {
      slot_.bytes.reset();
    }
    return true;
  }

 private:
  void load() {
    if (touched_ || value_ || !slot_.bytes) return;
    State state{};
    if (!StateCodec<State>::decode(*slot_.bytes, state)) {
      throw GroupStateError(
          "the stored state does not decode (StateCodec::decode returned false; " +
          std::to_string(slot_.bytes->size()) + " bytes)");
    }
    value_ = std::move(state);
  }

  GroupStateSlot& slot_;
  std::optional<State> value_;
  bool touched_ = false;
};

}  // namespace sluice
