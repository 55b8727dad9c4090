// A query run by file_crash_test in a child process: a JSON landing directory -> the JSON file
// sink, or (mode "table") -> count and sum of ids per group -> the table sink in update mode;
// checkpointed. Runs until killed, or until `max_epochs` epochs of this run are committed.
#include <sluice/sluice.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace sluice;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr,
                 "usage: file_crash_child INPUT_DIR OUTPUT_DIR CHECKPOINT_DIR MAX_EPOCHS [table]\n");
    return 2;
  }
  const bool table = argc == 6 && std::string(argv[5]) == "table";
  const size_t max_epochs = static_cast<size_t>(std::atoll(argv[4]));
  Session session;
  auto schema = Schema::make({{"id", Type::Int64}, {"group", Type::String}}).value();
  auto input = session.read_stream().format("json").schema(schema).option("maxFilesPerTrigger", "3").load(argv[1]);
  auto writer = table ? input.group_by("group")
                            .agg(count().alias("rows"), sum(col("id")).alias("id_sum"))
                            .write_stream()
                            .format("table")
                            .output_mode(OutputMode::Update)
                            .option("key", "group")
                      : input.write_stream().format("json").partition_by({"group"});
  auto query = writer.option("path", argv[2])
                   .option("checkpointLocation", argv[3])
                   .trigger(Trigger::ProcessingTime(5ms))
                   .start();
  if (!query.ok()) {
    std::fprintf(stderr, "start failed: %s\n", query.status().to_string().c_str());
    return 3;
  }
  while (query->recent_progress().size() < max_epochs) {
    if (query->await_termination(5ms)) {
      std::fprintf(stderr, "query ended: %s\n",
                   query->exception().value_or(Status::ok()).to_string().c_str());
      return 4;
    }
  }
  (void)query->stop();
  return 0;
}
