// Sessionization with flat_map_groups_with_state: clicks (user, ts) become sessions that end
// after 30 seconds of event time without a click. Each user's state is a FlatBuffers table
// (user_session.fbs) stored in the checkpoint; an event-time timeout calls the function once
// the watermark passes the session's end, and the function then emits the session and
// removes the state.
#include <sluice/sluice.hpp>

#include <algorithm>
#include <iostream>
#include <optional>

#include "user_session_generated.h"  // flatc --cpp --gen-object-api user_session.fbs

using namespace sluice;
using namespace std::chrono_literals;

// The per-user state is flatc's object-API type; FlatBufferCodec stores it as the table. A
// trivially copyable struct needs no codec at all, any other type its own StateCodec
// specialization (encode to bytes, decode back).
using UserSession = sluice::examples::UserSessionT;
template <>
struct sluice::StateCodec<UserSession> : sluice::FlatBufferCodec<sluice::examples::UserSession> {};

int main() {
  constexpr int64_t kGap = 30'000'000;  // µs of event time without a click that end a session
  Session session;
  MemoryStream clicks(session,
                      Schema::make({{"user", Type::String}, {"ts", Type::Timestamp}}).value());
  auto output = Schema::make({{"user", Type::String},
                              {"start", Type::Timestamp},
                              {"end", Type::Timestamp},
                              {"clicks", Type::Int64}})
                    .value();
  auto sessions =
      clicks.to_df()
          .with_watermark("ts", "10 seconds")
          .group_by_key({"user"})
          .flat_map_groups_with_state<UserSession>(
              [](const std::vector<Value>& key, const RecordBatchPtr& rows,
                 GroupState<UserSession>& state) {
                std::vector<OutputRow> out;
                auto emit = [&](const UserSession& s) {
                  out.push_back({key[0], Timestamp{s.start}, Timestamp{s.end}, s.clicks});
                };
                if (state.has_timed_out()) {  // no click for kGap: the session is over
                  emit(state.get());
                  state.remove();
                  return out;
                }
                std::vector<int64_t> times(rows->column(1)->values<int64_t>(),
                                           rows->column(1)->values<int64_t>() + rows->num_rows());
                std::sort(times.begin(), times.end());
                std::optional<UserSession> s = state.get_option();
                for (int64_t ts : times) {
                  if (s && ts > s->end) {  // a click after the gap starts a new session
                    emit(*s);
                    s.reset();
                  }
                  if (!s) {
                    s.emplace();
                    s->start = ts;
                    s->end = ts;
                  }
                  s->start = std::min(s->start, ts);  // clicks may arrive out of order
                  s->end = std::max(s->end, ts + kGap);
                  ++s->clicks;
                }
                state.update(*s);
                state.set_timeout_timestamp(s->end);
                return out;
              },
              output, OutputMode::Append, GroupStateTimeout::event_time);
  auto query = sessions.write_stream().format("console").output_mode(OutputMode::Append).start();
  if (!query.ok()) {
    std::cerr << query.status().to_string() << "\n";
    return 1;
  }
  auto at = [](int64_t seconds) { return Value(Timestamp{seconds * 1'000'000}); };
  (void)clicks.add_data({{"ann", at(0)}, {"bob", at(5)}, {"ann", at(20)}});
  (void)query->process_all_available();
  (void)clicks.add_data(
      {{"ann", at(100)}, {"bob", at(110)}});  // ends ann's and bob's first sessions
  (void)query->process_all_available();
  (void)clicks.add_data({{"cy", at(500)}});  // the watermark passes every other session
  (void)query->process_all_available();
  return query->stop().is_ok() ? 0 : 1;
}
