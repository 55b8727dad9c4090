// The sluice command line: runs SQL pipelines, explains them, inspects checkpoints.

#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "sql/connectors.hpp"
#include "tools/chaos_command.hpp"
#include "tools/kafka_dev_command.hpp"
#include "tools/run_command.hpp"
#include "tools/delta_command.hpp"
#include "tools/table_command.hpp"
#include "tools/worker_command.hpp"

int main(int argc, char** argv) {
  using namespace sluice::tools;
  CLI::App app{"Sluice runs streaming SQL pipelines: sources, views and sinks in a .sql file.",
               "sluice"};
  app.set_version_flag("--version", std::string("sluice ") + SLUICE_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 done (or stopped with Ctrl-C), 1 an error in the file or a failed query, "
      "2 a bad command line.");

  RunOptions run_options;
  CLI::App* run = app.add_subcommand("run", "Run the pipelines of a SQL file until stopped");
  run->add_option("file", run_options.file,
                  "The SQL file (CREATE SOURCE/VIEW/SINK, INSERT INTO, SET)")
      ->required();
  run->add_option("--checkpoint", run_options.checkpoint,
                  "Directory of checkpoints: each sink keeps <DIR>/<sink name>, and a second run "
                  "resumes from it");
  run->add_flag(
      "--until-idle", run_options.until_idle,
      "Stop once every query is idle: it ran an epoch and a later trigger found no new data");
  run->add_option("--trigger", run_options.trigger,
                  "Trigger of every sink: 1s, 500ms, once, available-now")
      ->check([](const std::string& value) -> std::string {
        auto trigger = sluice::parse_trigger(value);
        return trigger.ok() ? std::string() : trigger.status().message();
      });
  run->add_option("--progress", run_options.progress,
                  "json: print every progress report as one JSON line instead of the status lines")
      ->check(CLI::IsMember({"json"}));

  run->add_option("--scheduler-seed", run_options.scheduler_seed,
                  "Run the actors on one thread, in an order drawn from this seed (a replayable "
                  "interleaving)");
  run->add_option("--ui-port", run_options.ui_port,
                  "Port of the dashboard and /metrics on 127.0.0.1: a port, 0 = any free one "
                  "(the default), off = none");

  std::string explain_file_name;
  CLI::App* explain = app.add_subcommand("explain", "Print the plans of a SQL file's queries");
  explain->add_option("file", explain_file_name, "The SQL file")->required();

  CLI::App* checkpoint = app.add_subcommand("checkpoint", "Look into checkpoints");
  checkpoint->require_subcommand(1);
  std::string checkpoint_directory;
  bool json = false;
  CLI::App* inspect = checkpoint->add_subcommand(
      "inspect", "Show query id, epochs, source offsets, watermark and state of a checkpoint");
  inspect
      ->add_option("directory", checkpoint_directory,
                   "A checkpoint, or a --checkpoint directory of sluice run")
      ->required();
  inspect->add_flag("--json", json, "Print one JSON document");

  CLI::App* table = app.add_subcommand("table", "Look into table sinks");
  table->require_subcommand(1);
  std::string table_path;
  bool table_json = false;
  CLI::App* dump = table->add_subcommand(
      "dump", "Print a table sink's rows as of its last epoch (while a query may be writing it)");
  dump->add_option("path", table_path, "The table's directory (the sink's path option)")->required();
  dump->add_flag("--json", table_json, "Print one JSON object per row");

  CLI::App* delta = app.add_subcommand("delta", "Maintain Delta Lake tables");
  delta->require_subcommand(1);
  std::string delta_path;
  double retention_hours = 168;
  int64_t target_file_rows = 1'000'000;
  CLI::App* vacuum = delta->add_subcommand(
      "vacuum", "Delete data files no version of the last --retention-hours references");
  vacuum->add_option("path", delta_path, "The table's directory")->required();
  vacuum->add_option("--retention-hours", retention_hours,
                     "Keep every version of this many hours (default 168, Delta's 7 days)")
      ->check(CLI::NonNegativeNumber);
  CLI::App* optimize = delta->add_subcommand(
      "optimize", "Compact small files per partition in one dataChange=false commit");
  optimize->add_option("path", delta_path, "The table's directory")->required();
  optimize->add_option("--target-file-rows", target_file_rows, "Rows per compacted file")
      ->check(CLI::PositiveNumber);
  std::string worker_listen;
  CLI::App* worker = app.add_subcommand(
      "worker", "Run a scale-out worker: hosts the stateful partitions of queries given option workers");
  worker->add_option("--listen", worker_listen, "HOST:PORT to listen on (port 0: any free one, printed first)")
      ->required();

  int brokers = 1;
  std::vector<std::string> topics;
  CLI::App* kafka_dev = app.add_subcommand(
      "kafka-dev", "Run a development Kafka cluster in this process (librdkafka's mock) until Ctrl-C");
  kafka_dev->add_option("--brokers", brokers, "Number of brokers")->check(CLI::Range(1, 16));
  kafka_dev->add_option("--topic", topics, "A topic to create: name or name:partitions (repeatable)");

  ChaosOptions chaos_options;
  uint64_t chaos_seed = 0;
  CLI::App* chaos = app.add_subcommand(
      "chaos", "Kill a pipeline (SIGKILL, crash points) while it runs, restart it each time, and check its "
               "sink holds exactly what an uninterrupted run writes");
  chaos
      ->add_option(
          "--pipeline", chaos_options.pipeline,
          "SQL file reading '${input}' (CSV files id,k,v,ts the runner writes) or the Kafka "
          "cluster '${kafka}' (topic events, the same lines as values), and writing "
          "'${output}' (a file, Delta or table sink)")
      ->required();
  chaos->add_option("--kills", chaos_options.kills, "How many kills to survive")->check(CLI::Range(0, 1000000));
  CLI::Option* seed_option = chaos->add_option("--seed", chaos_seed, "Replays the run of this seed");
  chaos->add_option("--work-dir", chaos_options.work_directory,
                    "Keep input, checkpoints, outputs and logs here (default: a temporary directory)");
  chaos->add_option("--rows-per-file", chaos_options.rows_per_file, "Rows of each input file")->check(CLI::Range(1, 1000000));
  chaos->add_option("--max-kill-delay-ms", chaos_options.max_kill_delay_ms,
                    "A random-moment kill comes up to this long after the start")
      ->check(CLI::Range(0, 600000));

  if (argc > 1 && argv[1][0] != '-') {
    const std::string command = argv[1];
    if (command != "run" && command != "explain" && command != "checkpoint" && command != "table" &&
        command != "delta" && command != "kafka-dev" && command != "chaos" && command != "worker") {
      std::cerr << "sluice: error: unknown command '" << command
                << "' (commands: run, explain, checkpoint, table, delta, kafka-dev, chaos, worker; see sluice --help)" << std::endl;
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);
    std::cerr << "sluice: error: " << error.what() << " (see sluice --help)" << std::endl;
    return 2;
  }
  if (run->parsed()) return run_file(run_options);
  if (explain->parsed()) return explain_file(explain_file_name);
  if (inspect->parsed()) return inspect_checkpoint(checkpoint_directory, json);
  if (dump->parsed()) return dump_table(table_path, table_json);
  if (vacuum->parsed()) return vacuum_delta_table(delta_path, retention_hours);
  if (optimize->parsed()) return optimize_delta_table(delta_path, target_file_rows);
  if (kafka_dev->parsed()) return run_kafka_dev(brokers, topics);
  if (worker->parsed()) return run_worker(worker_listen);
  if (chaos->parsed()) {
    if (seed_option->count() > 0) chaos_options.seed = chaos_seed;
    return run_chaos(chaos_options);
  }
  return 2;
}
