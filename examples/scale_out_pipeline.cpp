// A pipeline built in C++ whose aggregation runs in worker processes of this same program.
//
//   scale_out_pipeline --sluice-worker 127.0.0.1:7070       # a worker (one per machine or core)
//   scale_out_pipeline 127.0.0.1:7070,127.0.0.1:7071         # the coordinator, naming its workers
//   scale_out_pipeline                                       # starts two local workers itself
//
// The pipeline is registered by name before anything else: the coordinator starts it by that
// name, and each worker builds it again by name and checks that it plans the same operators
// (a worker of another build of the program is refused, naming both plan fingerprints).

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include <sluice/sluice.hpp>

extern char** environ;

using namespace sluice;
using namespace std::chrono_literals;

namespace {

// Counts a generated stream per key: the aggregation's partitions are what workers run.
Result<DataStreamWriter> counts_per_key(SessionContext& session, const PipelineOptions& options) {
  const auto rate = options.count("rowsPerSecond") ? options.at("rowsPerSecond") : "2000";
  return session.read_stream()
      .format("rate")
      .option("rowsPerSecond", rate)
      .load()
      .select((col("value") % 8).alias("k"), col("value"))
      .group_by(col("k"))
      .agg(count().alias("n"), sum(col("value")).alias("total"))
      .write_stream()
      .format("memory")
      .query_name("counts")
      .output_mode(OutputMode::Complete)
      .trigger(Trigger::ProcessingTime(200ms));
}

// Starts this program as a worker on a free loopback port; returns its pid and address.
std::pair<pid_t, std::string> spawn_worker() {
  int out[2];
  if (::pipe(out) != 0) return {-1, ""};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  char program[] = "/proc/self/exe";
  char flag[] = "--sluice-worker";
  char listen[] = "127.0.0.1:0";
  char* argv[] = {program, flag, listen, nullptr};
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, program, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string address;
  char c = 0;
  while (spawned == 0 && ::read(out[0], &c, 1) == 1 && c != '\n')
    address += c;
  ::close(out[0]);
  return {spawned == 0 ? pid : -1, address};
}

}  // namespace

int main(int argc, char** argv) {
  if (Status registered = register_pipeline("counts_per_key", counts_per_key);
      !registered.is_ok()) {
    std::cerr << registered.to_string() << "\n";
    return 1;
  }
  if (auto code = run_worker_if_requested(argc, argv)) return *code;

  std::vector<pid_t> children;
  std::string workers = argc > 1 ? argv[1] : "";
  if (workers.empty()) {
    for (int i = 0; i < 2; ++i) {
      auto [pid, address] = spawn_worker();
      if (pid < 0 || address.empty()) {
        std::cerr << "cannot start a worker\n";
        return 1;
      }
      children.push_back(pid);
      workers += (workers.empty() ? "" : ",") + address;
    }
  }
  int code = 0;
  {
    Session session;
    auto query = [&]() -> Result<StreamingQuery> {
      SLUICE_RETURN_NOT_OK(session.set_conf("workers", workers));  // partition p on worker p mod n
      SLUICE_RETURN_NOT_OK(session.set_conf("shuffle_partitions", "4"));
      return start_pipeline(session, "counts_per_key");
    }();
    if (!query.ok()) {
      std::cerr << query.status().to_string() << "\n";
      code = 1;
    } else {
      std::cout << "partitions of counts_per_key run on " << workers << "\n";
      std::this_thread::sleep_for(3s);
      (void)query->process_all_available();
      // Complete mode: the last epoch holds the whole table, one batch per partition.
      const auto progress = query->last_progress();
      auto table = RecordBatch::concatenate(
          session.memory_table("counts")->epoch_batches(progress ? progress->batch_id : 0));
      if (table.ok() && *table) std::cout << show(**table);
      (void)query->stop();
    }
  }
  for (pid_t child : children) {
    ::kill(child, SIGTERM);
    ::waitpid(child, nullptr, 0);
  }
  return code;
}
