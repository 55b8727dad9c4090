// A query run by crash_recovery_test in a child process: rate -> filter -> select (or an
// aggregation, or a join of two rate streams on their values) -> one file per epoch, written atomically (temporary name, then rename) and keyed by epoch, so that a
// replayed epoch overwrites its own file. Runs until killed, or until `max_epochs` epochs of
// this run are committed. "sessions": flat_map_groups_with_state sessionization with an
// event-time timeout over the rate values (user (value / 50) % 4, event time value seconds).
#include <sluice/sluice.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "tests/support/group_state_functions.hpp"

using namespace sluice;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr,
                 "usage: crash_child CHECKPOINT_DIR OUTPUT_DIR MAX_EPOCHS "
                 "stateless|stateful|continuous|join|join_small_cache|sessions\n");
    return 2;
  }
  const bool stateful = std::string(argv[4]) == "stateful";
  const bool sessions = std::string(argv[4]) == "sessions";
  const std::string checkpoint = argv[1];
  const std::string output = argv[2];
  const size_t max_epochs = static_cast<size_t>(std::atoll(argv[3]));
  Session session;
  (void)session.set_conf("shuffle_partitions", "2");
  auto rate = session.read_stream()
                  .format("rate")
                  .option("rowsPerSecond", "20000")
                  .option("numPartitions", stateful || sessions ? "1" : "2")
                  .option("rowsPerBatch", "1000")
                  .load();
  // Stateless: every row once. Stateful: per key, count, sum and max of all values so far.
  auto frame = stateful ? rate.group_by((col("value") % 10).alias("k"))
                              .agg(count().alias("n"), sum(col("value")).alias("s"), max(col("value")).alias("m"))
                        : rate.filter(col("value") % 3 != 0)
                              .select(col("value"), (col("value") * 2).alias("doubled"));
  const bool join = std::string(argv[4]) == "join" || std::string(argv[4]) == "join_small_cache";
  // One byte of state cache: the join's committed rows leave memory after every commit and
  // are read back from the checkpoint when their twin arrives.
  if (std::string(argv[4]) == "join_small_cache") (void)session.set_conf("stateCacheSize", "1");
  if (join) {
    // Each value meets its twin from the other stream exactly once, whichever comes first.
    auto other = session.read_stream()
                     .format("rate")
                     .option("rowsPerSecond", "15000")
                     .option("rowsPerBatch", "700")
                     .load();
    frame = rate.select(col("value").alias("k"), (col("value") * 2).alias("a"))
                .join(other.select(col("value").alias("k"), (col("value") * 3).alias("b")), {"k"});
  }
  if (sessions) {
    // Runs of 50 consecutive values per user, one second apart: each run is one session.
    frame =
        rate.select(
                concat({lit("u"), ((col("value") / 50).cast(Type::Int64) % 4).cast(Type::String)})
                    .alias("user"),
                col("value").cast(Type::Timestamp).alias("ts"), col("value").alias("v"))
            .with_watermark("ts", "5 seconds")
            .group_by_key({"user"})
            .flat_map_groups_with_state<testing::SessionTotals>(
                testing::session_function(10'000'000), testing::sessions_schema(),
                OutputMode::Append, GroupStateTimeout::event_time);
  }
  auto query = frame.write_stream()
                   .output_mode(stateful ? OutputMode::Complete : OutputMode::Append)
                   .foreach_batch([&](const RecordBatchPtr& batch, int64_t epoch) -> Status {
                     const std::string name = output + "/epoch-" + std::to_string(epoch);
                     {
                       std::ofstream file(name + ".tmp", std::ios::trunc);
                       for (const auto& row : batch->to_rows()) {
                         for (const auto& value : row) file << value.to_string() << " ";
                         file << "\n";
                       }
                       file.flush();
                       if (!file) return Status::io_error("cannot write " + name + ".tmp");
                     }
                     if (std::rename((name + ".tmp").c_str(), (name + ".txt").c_str()) != 0) {
                       return Status::io_error("cannot rename " + name);
                     }
                     return Status::ok();
                   })
                   .trigger(std::string(argv[4]) == "continuous" ? Trigger::Continuous(20ms)
                                                                 : Trigger::ProcessingTime(20ms))
                   .option("checkpointLocation", checkpoint)
                   .start();
  if (!query.ok()) {
    std::fprintf(stderr, "start failed: %s\n", query.status().to_string().c_str());
    return 3;
  }
  while (query->recent_progress().size() < max_epochs) {
    if (query->await_termination(10ms)) {
      std::fprintf(stderr, "query ended: %s\n",
                   query->exception().value_or(Status::ok()).to_string().c_str());
      return 4;
    }
  }
  (void)query->stop();
  return 0;
}
