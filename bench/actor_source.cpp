// What durability costs a host pushing into the actor source: pushes per second of 100-row
// batches into a PushSource without fsync (the baseline: encoding and LMDB only) and with fsync
// (ratio: the cost of the disk), through the actor source (a request and its PushAck per push,
// fsync on; ratio against the direct fsync push: the cost of the actor hop), and end to end
// rows per second from pushes to an actor sink's receiver; then 50 pushes in flight at a time
// (group commit; ratio against one push at a time).
// Pushes: 2,000 (--quick: 300).
#include <sluice/embedding.hpp>
#include <sluice/sluice.hpp>

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

using namespace sluice;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string fresh_directory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "sluice-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  return pattern;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int pushes = quick ? 300 : 2'000;
  auto schema = Schema::make({{"device", Type::Int64}, {"value", Type::Double}}).value();
  std::vector<std::vector<Value>> rows;
  for (int64_t i = 0; i < 100; ++i)
    rows.push_back({i % 7, static_cast<double>(i) / 3});
  auto batch = RecordBatch::from_rows(schema, rows).value();
  std::vector<std::string> directories;

  double direct_fsync = 0;
  double baseline = 0;
  for (bool sync : {false, true}) {
    directories.push_back(fresh_directory());
    auto source = PushSource::open(schema, directories.back(), {.sync = sync}).value();
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < pushes; ++i)
      (void)source->push(batch);
    const double rate = pushes / seconds_since(start);
    if (!sync) {
      baseline = rate;
      std::printf("bench actor_source_push_nosync %.0f pushes/s\n", rate);
    } else {
      direct_fsync = rate;
      std::printf("bench actor_source_push_fsync %.0f pushes/s\n", rate);
      std::printf("bench actor_source_push_fsync_vs_nosync %.4f ratio\n", rate / baseline);
    }
  }

  {
    caf::actor_system_config config;
    actors::configure(config);
    caf::actor_system system{config};
    Session session(system);
    directories.push_back(fresh_directory());
    auto source = PushSource::open(schema, directories.back() + "/input").value();
    auto collector_rows = std::make_shared<std::atomic<int64_t>>(0);
    auto receiver = system.spawn([collector_rows]() -> actors::epoch_receiver::behavior_type {
      return {
          [collector_rows](const actors::EpochBatch& m) { *collector_rows += m.batch->num_rows(); },
          [](const actors::EpochEnd& end) { return actors::EpochAck{end.epoch}; },
          [](const actors::EpochAbort&) {}};
    });
    auto query = session.read_stream()
                     .source(source)
                     .load()
                     .write_stream()
                     .sink(std::make_shared<actors::ActorSink>(system, receiver))
                     .option("checkpointLocation", directories.back() + "/checkpoint")
                     .start();
    if (!query.ok()) {
      std::fprintf(stderr, "%s\n", query.status().to_string().c_str());
      return 1;
    }
    auto handle = actors::spawn_actor_source(system, source);
    caf::scoped_actor self{system};
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < pushes; ++i) {
      self->request(handle, caf::infinite, actors::PushBatch{batch})
          .receive([](const actors::PushAck&) {}, [](const caf::error&) {});
    }
    const double acked = pushes / seconds_since(start);
    // The same pushes sent 50 at a time before awaiting their acks: group commits.
    auto pipelined_start = std::chrono::steady_clock::now();
    for (int sent = 0; sent < pushes; sent += 50) {
      std::vector<decltype(self->request(handle, caf::infinite, actors::PushBatch{batch}))> replies;
      for (int i = 0; i < 50; ++i)
        replies.push_back(self->request(handle, caf::infinite, actors::PushBatch{batch}));
      for (auto& reply : replies)
        reply.receive([](const actors::PushAck&) {}, [](const caf::error&) {});
    }
    const double pipelined = pushes / seconds_since(pipelined_start);
    (void)query->process_all_available();
    const double end_to_end = static_cast<double>(collector_rows->load()) / seconds_since(start);
    std::printf("bench actor_source_request_ack_fsync %.0f pushes/s\n", acked);
    std::printf("bench actor_source_request_ack_fsync_vs_push_fsync %.3f ratio\n",
                acked / direct_fsync);
    std::printf("bench actor_source_to_actor_sink %.0f rows/s\n", end_to_end);
    std::printf("bench actor_source_50_in_flight_fsync %.0f pushes/s\n", pipelined);
    std::printf("bench actor_source_50_in_flight_vs_one_at_a_time %.2f ratio\n", pipelined / acked);
    (void)query->stop();
    self->send_exit(handle, caf::exit_reason::user_shutdown);
    self->send_exit(receiver, caf::exit_reason::user_shutdown);
  }
  for (const auto& directory : directories)
    std::filesystem::remove_all(directory);
  return 0;
}
