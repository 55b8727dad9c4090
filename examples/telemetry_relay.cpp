// A telemetry service built with CAF that embeds a Sluice pipeline in the middle of it:
//
//   device actors ──Reading──► relay actor ──PushRows──► Sluice actor source (durable log)
//        ▲                         │                              │
//        └───── ReadingSaved ◄─────┘ (after the push is durable)  ▼
//                        per device and 10 s window of event time: readings, mean, max
//                                                                 │
//   subscriber actor ◄──EpochBatch / EpochEnd (acknowledged)── Sluice actor sink
//
// The devices are simulated: device d reports value (7 d + 13 s) mod 100 / 10 at second s.
// Each closed window is printed as "window <start s> device <d> readings <n> mean <m> max <x>".
//
// Usage: telemetry_relay [DEVICES [SECONDS [WORK_DIR]]]  (defaults: 3 devices, 35 s, a fresh
// temporary directory). WORK_DIR holds the pipeline's input log and its checkpoint.
#include <sluice/embedding.hpp>
#include <sluice/sluice.hpp>

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

using namespace sluice;
using namespace std::chrono_literals;

// The service's own messages.
struct Reading {
  int64_t device = 0;
  int64_t second = 0;
  double value = 0;
};
struct ReadingSaved {};
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(Reading)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ReadingSaved)

using relay_actor = caf::typed_actor<caf::replies_to<Reading>::with<ReadingSaved>>;

// Forwards readings into the pipeline and tells the device once its reading is durable.
relay_actor::behavior_type relay(relay_actor::pointer self, actors::actor_source pipeline) {
  return {[=](const Reading& reading) {
    auto saved = self->make_response_promise<ReadingSaved>();
    std::vector<Value> row = {reading.device, Timestamp{reading.second * 1'000'000}, reading.value};
    self->request(pipeline, caf::infinite, actors::PushRows{{row}})
        .then([=](const actors::PushAck& ack) mutable {
          if (ack.status.is_ok()) {
            saved.deliver(ReadingSaved{});
          } else {
            saved.deliver(caf::make_error(caf::sec::runtime_error, ack.status.to_string()));
          }
        });
    return saved;
  }};
}

// Sends one reading per simulated second, each after the previous one was saved.
void device(caf::event_based_actor* self, relay_actor relay, int64_t id, int64_t second,
            int64_t seconds) {
  if (second == seconds) return self->quit();
  const double value = static_cast<double>((7 * id + 13 * second) % 100) / 10.0;
  self->request(relay, caf::infinite, Reading{id, second, value}).then([=](ReadingSaved) {
    device(self, relay, id, second + 1, seconds);
  });
}

// Prints each window the pipeline closes; an epoch delivered again after a crash is skipped.
actors::epoch_receiver::behavior_type subscriber() {
  auto staged = std::make_shared<std::map<int64_t, std::vector<RecordBatchPtr>>>();
  auto last_printed = std::make_shared<int64_t>(-1);
  return {
      [=](const actors::EpochBatch& message) { (*staged)[message.epoch].push_back(message.batch); },
      [=](const actors::EpochEnd& end) {
        if (end.epoch > *last_printed) {
          for (const auto& batch : (*staged)[end.epoch]) {
            for (const auto& row : batch->to_rows()) {
              std::printf("window %lld device %lld readings %lld mean %.3f max %.1f\n",
                          static_cast<long long>(row[0].as_timestamp().micros / 1'000'000),
                          static_cast<long long>(row[2].as_int64()),
                          static_cast<long long>(row[3].as_int64()), row[4].as_double(),
                          row[5].as_double());
            }
          }
          std::fflush(stdout);
          *last_printed = end.epoch;
        }
        staged->erase(end.epoch);
        return actors::EpochAck{end.epoch};
      },
      [=](const actors::EpochAbort& abort) { staged->erase(abort.epoch); },
  };
}

int main(int argc, char** argv) {
  const int64_t devices = argc > 1 ? std::atoll(argv[1]) : 3;
  const int64_t seconds = argc > 2 ? std::atoll(argv[2]) : 35;
  std::string work_dir = argc > 3 ? argv[3] : "";
  if (work_dir.empty()) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "telemetry-relay-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return 1;
    work_dir = pattern;
  }

  caf::actor_system_config config;
  actors::configure(config);
  caf::actor_system system{config};
  Session session(system);  // Sluice's actors share the service's scheduler

  auto schema =
      Schema::make({{"device", Type::Int64}, {"ts", Type::Timestamp}, {"value", Type::Double}})
          .value();
  auto source = PushSource::open(schema, work_dir + "/input");
  if (!source.ok()) {
    std::cerr << source.status().to_string() << "\n";
    return 1;
  }
  auto windows = session.read_stream()
                     .source(*source)
                     .load()
                     .with_watermark("ts", "5 seconds")
                     .group_by(window(col("ts"), "10 seconds"), col("device"))
                     .agg(count().alias("readings"), avg(col("value")).alias("mean"),
                          max(col("value")).alias("max"));
  auto sink = std::make_shared<actors::ActorSink>(system, system.spawn(subscriber));
  auto query = windows.write_stream()
                   .sink(sink)
                   .output_mode(OutputMode::Append)
                   .option("checkpointLocation", work_dir + "/checkpoint")
                   .start();
  if (!query.ok()) {
    std::cerr << query.status().to_string() << "\n";
    return 1;
  }

  auto pipeline_input = actors::spawn_actor_source(system, *source);
  auto relay_handle = system.spawn(relay, pipeline_input);
  std::vector<caf::actor> fleet;
  for (int64_t id = 0; id < devices; ++id)
    fleet.push_back(system.spawn(device, relay_handle, id, int64_t{0}, seconds));
  caf::scoped_actor self{system};
  for (const auto& member : fleet)
    self->wait_for(member);  // every reading is durable now

  Status done = query->process_all_available();
  if (!done.is_ok()) {
    std::cerr << done.to_string() << "\n";
    return 1;
  }
  (void)query->stop();
  self->send_exit(relay_handle, caf::exit_reason::user_shutdown);
  self->send_exit(pipeline_input, caf::exit_reason::user_shutdown);
  return 0;
}
