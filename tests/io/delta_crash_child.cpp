// A query run by delta_crash_test in a child process: a Kafka topic -> count and sum per key ->
// a Delta table in update mode, upserted by key. Runs until killed; with "finish" it runs with
// the AvailableNow trigger and exits 0 when everything in the topic is read.
#include <sluice/sluice.hpp>

#include "tests/support/child_query.hpp"

#include <cstdio>

using namespace sluice;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr,
                 "usage: delta_crash_child BOOTSTRAP CHECKPOINT_DIR TABLE_DIR run|finish\n");
    return 2;
  }
  const bool finish = std::string(argv[4]) == "finish";
  Session session;
  auto query = session.read_stream()
                   .format("kafka")
                   .option("kafka.bootstrap.servers", argv[1])
                   .option("subscribe", "in")
                   .option("startingOffsets", "earliest")
                   .option("maxOffsetsPerTrigger", "400")
                   .load()
                   .group_by(col("key"))
                   .agg(count().alias("n"), sum(col("offset")).alias("offsets"))
                   .write_stream()
                   .format("delta")
                   .output_mode(OutputMode::Update)
                   .option("path", argv[3])
                   .option("key", "key")
                   .option("targetFileRows", "5")
                   .trigger(finish ? Trigger::AvailableNow() : Trigger::ProcessingTime(10ms))
                   .option("checkpointLocation", argv[2])
                   .start();
  return sluice::testing::run_query_to_end(std::move(query));
}
