// The demo of `make demo`: first a batch filtered and projected with expressions, then a
// streaming query from the rate source to the console that is stopped and restarted from its
// checkpoint, resuming where it left off.
#include <sluice/sluice.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

int fail(const Status& status) {
  std::cerr << "demo failed: " << status.to_string() << "\n";
  return 1;
}

// Waits until the query has committed `epochs` epochs in this run.
Status run_epochs(StreamingQuery& query, size_t epochs) {
  while (query.recent_progress().size() < epochs) {
    if (query.await_termination(50ms)) {
      return query.exception().value_or(Status::aborted("the query ended early"));
    }
  }
  return Status::ok();
}

}  // namespace

int main() {
  // 1. Columnar batches and vectorized expressions.
  auto schema = Schema::make({{"auction", Type::Int64}, {"bidder", Type::String}, {"price", Type::Double}});
  if (!schema.ok()) return fail(schema.status());
  auto bids = RecordBatch::from_rows(*schema, {{1000, "alice", 12.5},
                                               {1001, "bob", 300.0},
                                               {1123, "carol", 7.25},
                                               {2214, nullptr, 99.0},
                                               {2246, "dave", nullptr}});
  if (!bids.ok()) return fail(bids.status());
  std::cout << "Bids:\n" << show(**bids);
  auto filter = bind(col("price") > 10.0, **schema);
  auto euros = bind((col("price") * 0.908).alias("price_eur"), **schema);
  auto name = bind(coalesce({upper(col("bidder")), lit("?")}).alias("bidder"), **schema);
  if (!filter.ok() || !euros.ok() || !name.ok()) return fail(Status::internal("binding failed"));
  std::vector<int32_t> selection;
  if (Status s = filter->select(**bids, selection); !s.is_ok()) return fail(s);
  auto kept = (*bids)->take(selection.data(), static_cast<int64_t>(selection.size()));
  auto price_eur = euros->evaluate(*kept);
  auto bidder = name->evaluate(*kept);
  if (!price_eur.ok() || !bidder.ok()) return fail(Status::internal("evaluation failed"));
  auto out_schema = Schema::make({{"auction", Type::Int64}, {"bidder", Type::String}, {"price_eur", Type::Double}});
  auto result = RecordBatch::make(*out_schema, {kept->column(0), *bidder, *price_eur});
  if (!result.ok()) return fail(result.status());
  std::cout << "\nBids over 10, in euros:\n" << show(**result) << "\n";

  // 2. A streaming query with a checkpoint, stopped and restarted.
  std::string checkpoint = (std::filesystem::temp_directory_path() / "sluice-demo-XXXXXX").string();
  if (::mkdtemp(checkpoint.data()) == nullptr) return fail(Status::io_error("mkdtemp failed"));
  Session session;
  auto make_query = [&]() {
    return session.read_stream()
        .format("rate")
        .option("rowsPerSecond", "4")
        .load()
        .filter(col("value") % 2 == 0)
        .select(col("timestamp"), (col("value") * 10).alias("v"))
        .write_stream()
        .format("console")
        .option("truncate", "false")
        .query_name("demo")
        .trigger(Trigger::ProcessingTime(1s))
        .option("checkpointLocation", checkpoint)
        .start();
  };
  std::cout << "Streaming: rate -> filter(value % 2 = 0) -> select(timestamp, value * 10 AS v)\n"
            << "checkpoint: " << checkpoint << "\n\n";
  auto first = make_query();
  if (!first.ok()) return fail(first.status());
  std::cout << first->explain() << "\n";
  if (Status s = run_epochs(*first, 3); !s.is_ok()) return fail(s);
  (void)first->stop();
  const auto last = first->last_progress();
  std::cout << "Stopped after epoch " << last->batch_id << " (offsets "
            << last->sources[0].end_offset << "). Restarting from the checkpoint...\n\n";

  auto second = make_query();
  if (!second.ok()) return fail(second.status());
  if (Status s = run_epochs(*second, 2); !s.is_ok()) return fail(s);
  (void)second->stop();
  const auto resumed = second->recent_progress().front();
  std::cout << "The restarted query (same id " << second->id() << ") began at epoch "
            << resumed.batch_id << " from offsets " << resumed.sources[0].start_offset
            << ": it resumed where the first run stopped.\n\nLast progress report:\n"
            << second->last_progress()->pretty_json() << "\n";
  std::filesystem::remove_all(checkpoint);
  return 0;
}
