// A host process run by actor_source_crash_test and actor_sink_test: its own CAF actor system,
// a Session on it, an actor source it pushes ids into and an actor sink delivering to its own
// receiver actor. Files in OUTPUT_DIR show what happened:
//   acks-<run>.txt           ids whose push was acknowledged (written after the ack)
//   run<run>-epoch-<e>.txt   the rows of epoch e as delivered in this run (written at EpochEnd)
// Modes: push-forever (pushes ids RUN*1000000, ... until killed), push-then-stop (pushes 200
// ids, processes them, stops), replay (pushes ids 0..99 in ten pushes if the log is empty,
// ten rows per epoch, processes all, stops).
#include <sluice/embedding.hpp>
#include <sluice/sluice.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "tests/support/epoch_collector.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

Status write_file(const std::string& name, const std::vector<std::vector<Value>>& rows) {
  {
    std::ofstream file(name + ".tmp", std::ios::trunc);
    for (const auto& row : rows)
      file << row[0].as_int64() << "\n";
    file.flush();
    if (!file) return Status::io_error("cannot write " + name);
  }
  if (std::rename((name + ".tmp").c_str(), name.c_str()) != 0)
    return Status::io_error("cannot rename " + name);
  return Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr,
                 "usage: embed_crash_child LOG_DIR CHECKPOINT_DIR OUTPUT_DIR RUN "
                 "push-forever|push-then-stop|replay\n");
    return 2;
  }
  const std::string log_dir = argv[1], checkpoint = argv[2], output = argv[3], mode = argv[5];
  const int64_t run = std::atoll(argv[4]);
  caf::actor_system_config config;
  actors::configure(config);
  caf::actor_system system{config};
  Session session(system);

  auto schema = Schema::make({{"id", Type::Int64}}).value();
  auto opened = PushSource::open(schema, log_dir);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().to_string().c_str());
    return 3;
  }
  auto source = *opened;
  if (mode == "replay") source->set_max_rows_per_trigger(10);
  auto collector = std::make_shared<testing::EpochCollector>();
  collector->on_apply = [&](int64_t epoch, const std::vector<std::vector<Value>>& rows) {
    Status written = write_file(
        output + "/run" + std::to_string(run) + "-epoch-" + std::to_string(epoch) + ".txt", rows);
    if (!written.is_ok()) std::fprintf(stderr, "%s\n", written.to_string().c_str());
  };
  auto sink =
      std::make_shared<actors::ActorSink>(system, testing::spawn_collector(system, collector));
  auto query = session.read_stream()
                   .source(source)
                   .load()
                   .write_stream()
                   .sink(sink)
                   .trigger(Trigger::ProcessingTime(10ms))
                   .option("checkpointLocation", checkpoint)
                   .start();
  if (!query.ok()) {
    std::fprintf(stderr, "start failed: %s\n", query.status().to_string().c_str());
    return 4;
  }

  auto handle = actors::spawn_actor_source(system, source);
  caf::scoped_actor self{system};
  std::ofstream acks(output + "/acks-" + std::to_string(run) + ".txt", std::ios::app);
  auto push = [&](int64_t first, int64_t count) {
    std::vector<std::vector<Value>> rows;
    for (int64_t id = first; id < first + count; ++id)
      rows.push_back({id});
    bool ok = false;
    self->request(handle, caf::infinite, actors::PushRows{rows})
        .receive([&](const actors::PushAck& ack) { ok = ack.status.is_ok(); },
                 [&](const caf::error&) {});
    if (!ok) return false;
    for (int64_t id = first; id < first + count; ++id)
      acks << id << "\n";
    acks.flush();
    return true;
  };

  if (mode == "push-forever" || mode == "push-then-stop") {
    const int64_t limit = mode == "push-forever" ? INT64_MAX : 200;
    int64_t id = run * 1'000'000;
    for (int64_t pushed = 0; pushed < limit;) {
      const int64_t count = 1 + pushed % 5;
      if (!push(id, count)) return 5;
      id += count;
      pushed += count;
    }
  } else if (mode == "replay") {
    if (source->end() == 0) {
      for (int64_t first = 0; first < 100; first += 10) {
        if (!push(first, 10)) return 5;
      }
    }
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  Status processed = query->process_all_available();
  if (!processed.is_ok()) {
    std::fprintf(stderr, "query failed: %s\n", processed.to_string().c_str());
    return 6;
  }
  (void)query->stop();
  self->send_exit(handle, caf::exit_reason::user_shutdown);
  return 0;
}
