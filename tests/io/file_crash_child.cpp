// A query run by file_crash_test in a child process: a JSON landing directory -> filter ->
// the JSON file sink, checkpointed. Runs until killed, or until `max_epochs` epochs of this run
// are committed.
#include <sluice/sluice.hpp>

#include <cstdio>
#include <cstdlib>

using namespace sluice;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr,
                 "usage: file_crash_child INPUT_DIR OUTPUT_DIR CHECKPOINT_DIR MAX_EPOCHS\n");
    return 2;
  }
  const size_t max_epochs = static_cast<size_t>(std::atoll(argv[4]));
  Session session;
  auto schema = Schema::make({{"id", Type::Int64}, {"group", Type::String}}).value();
  auto query = session.read_stream()
                   .format("json")
                   .schema(schema)
                   .option("maxFilesPerTrigger", "3")
                   .load(argv[1])
                   .write_stream()
                   .format("json")
                   .option("path", argv[2])
                   .option("checkpointLocation", argv[3])
                   .partition_by({"group"})
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
