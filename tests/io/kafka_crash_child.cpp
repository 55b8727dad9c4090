// A query run by kafka_crash_test in a child process: a Kafka topic -> one file per epoch,
// written atomically and keyed by epoch (a replayed epoch overwrites its own file), listing the
// (topic, partition, offset, value) of every record read. Runs until killed; with "finish" it
// runs with the AvailableNow trigger and exits 0 when everything in the topics is read. A fifth
// argument "pattern" reads every topic matching grow-.* (found while running), and
// "pattern-continuous" does so with the continuous trigger.
#include <sluice/sluice.hpp>

#include "tests/support/child_query.hpp"

#include <cstdio>
#include <fstream>

using namespace sluice;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr,
                 "usage: kafka_crash_child BOOTSTRAP CHECKPOINT_DIR OUTPUT_DIR run|finish "
                 "[pattern|pattern-continuous]\n");
    return 2;
  }
  const std::string output = argv[3];
  const bool finish = std::string(argv[4]) == "finish";
  const std::string mode = argc == 6 ? argv[5] : "";
  Session session;
  DataStreamReader reader = session.read_stream()
                                .format("kafka")
                                .option("kafka.bootstrap.servers", argv[1])
                                .option("startingOffsets", "earliest")
                                .option("maxOffsetsPerTrigger", "700");
  if (mode.empty()) {
    reader.option("subscribe", "in");
  } else {
    reader.option("subscribePattern", "grow-.*").option("partitionDiscoveryInterval", "20 ms");
  }
  Trigger trigger = Trigger::ProcessingTime(10ms);
  if (finish) {
    trigger = Trigger::AvailableNow();
  } else if (mode == "pattern-continuous") {
    trigger = Trigger::Continuous(10ms);
  }
  auto query = reader.load()
                   .select(col("topic"), col("partition"), col("offset"), col("value"))
                   .write_stream()
                   .foreach_batch([&](const RecordBatchPtr& batch, int64_t epoch) -> Status {
                     const std::string name = output + "/epoch-" + std::to_string(epoch);
                     {
                       std::ofstream file(name + ".tmp", std::ios::trunc);
                       for (const auto& row : batch->to_rows()) {
                         file << row[0].to_string() << " " << row[1].to_string() << " "
                              << row[2].to_string() << " " << row[3].to_string() << "\n";
                       }
                       file.flush();
                       if (!file) return Status::io_error("cannot write " + name + ".tmp");
                     }
                     if (std::rename((name + ".tmp").c_str(), (name + ".txt").c_str()) != 0) {
                       return Status::io_error("cannot rename " + name);
                     }
                     return Status::ok();
                   })
                   .trigger(trigger)
                   .option("checkpointLocation", argv[2])
                   .start();
  return sluice::testing::run_query_to_end(std::move(query));
}
