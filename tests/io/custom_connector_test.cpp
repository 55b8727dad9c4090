#define BOOST_TEST_MODULE custom_connector
#include <boost/test/unit_test.hpp>

#include <deque>
#include <map>
#include <mutex>
#include <random>

#include <sluice/sluice.hpp>

#include "io/sink.hpp"
#include "io/source.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using sluice::testing::TemporaryDirectory;

namespace {

SchemaPtr queue_schema() {
  return Schema::make({{"id", Type::Int64}, {"amount", Type::Int64}}).value();
}

// A user's own message queue: messages at positions (the queue's own offsets), dropped from the
// front once a consumer commits past them. Survives the query (it stands for another system).
struct MessageQueue {
  std::mutex mutex;
  std::deque<std::vector<Value>> messages;
  int64_t first_position = 0;  // position of messages.front()

  void publish(std::vector<Value> message) {
    std::lock_guard lock(mutex);
    messages.push_back(std::move(message));
  }
};

// Reads a MessageQueue, keeping the source's exactly-once rules: offsets are queue positions,
// a range reads the same messages every time, messages go only at commit.
class QueueSource final : public Source {
 public:
  explicit QueueSource(std::shared_ptr<MessageQueue> queue) : queue_(std::move(queue)) {}
  const SchemaPtr& schema() const override { return schema_; }
  std::string description() const override { return "QueueSource"; }
  int num_partitions() const override { return 1; }
  bool replayable() const override { return true; }
  SourceOffset initial_offset() const override {
    std::lock_guard lock(queue_->mutex);
    return {queue_->first_position};
  }
  Result<SourceOffset> latest_offset(const SourceOffset&, const ReadLimit&) override {
    std::lock_guard lock(queue_->mutex);
    return SourceOffset{queue_->first_position + static_cast<int64_t>(queue_->messages.size())};
  }
  Result<std::unique_ptr<PartitionReader>> open_reader(int, int64_t start, int64_t end) override {
    std::vector<std::vector<Value>> rows;
    {
      std::lock_guard lock(queue_->mutex);
      if (start < queue_->first_position)
        return Status::out_of_range("messages below " + std::to_string(start) + " are gone");
      for (int64_t p = start; p < end; ++p)
        rows.push_back(queue_->messages[static_cast<size_t>(p - queue_->first_position)]);
    }
    SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr batch, RecordBatch::from_rows(schema_, rows));
    return std::unique_ptr<PartitionReader>(new OneBatch(std::move(batch)));
  }
  Status commit(const SourceOffset& end) override {
    std::lock_guard lock(queue_->mutex);
    while (queue_->first_position < end[0] && !queue_->messages.empty()) {
      queue_->messages.pop_front();
      ++queue_->first_position;
    }
    return Status::ok();
  }

 private:
  class OneBatch final : public PartitionReader {
   public:
    explicit OneBatch(RecordBatchPtr batch) : batch_(std::move(batch)) {}
    Result<ReadFlow> next(RecordBatchPtr& out) override {
      if (!batch_) return ReadFlow::finished;
      out = std::move(batch_);
      return ReadFlow::have_batch;
    }

   private:
    RecordBatchPtr batch_;
  };

  std::shared_ptr<MessageQueue> queue_;
  SchemaPtr schema_ = queue_schema();
};

// A user's own database: a table and, in the same "transaction", the last epoch written per
// query, so that a replayed epoch is skipped (the sink's rule 3).
struct Database {
  std::mutex mutex;
  std::map<int64_t, int64_t> balances;  // id -> sum of amounts
  std::map<std::string, int64_t> last_epoch;
  int64_t skipped_epochs = 0;
};

// Writes each epoch's rows to the Database idempotently; `fail_after_write_epoch` makes
// finish_epoch fail right after the write, as a crash between the sink and the checkpoint's
// commit would.
class DatabaseSink final : public Sink {
 public:
  DatabaseSink(std::shared_ptr<Database> database, int64_t fail_after_write_epoch)
      : database_(std::move(database)), fail_after_write_epoch_(fail_after_write_epoch) {}
  std::string description() const override { return "DatabaseSink"; }
  Status attach(const ConnectorContext& context) override {
    query_id_ = context.query_id;
    return Status::ok();
  }
  Status write(int64_t epoch, const RecordBatchPtr& batch) override {
    for (auto& row : batch->to_rows())
      staged_[epoch].push_back(std::move(row));
    return Status::ok();
  }
  Status finish_epoch(int64_t epoch) override {
    auto rows = std::move(staged_[epoch]);
    staged_.erase(epoch);
    {
      std::lock_guard lock(database_->mutex);
      auto last = database_->last_epoch.find(query_id_);
      if (last != database_->last_epoch.end() && epoch <= last->second) {
        ++database_->skipped_epochs;
      } else {
        for (const auto& row : rows)
          database_->balances[row[0].as_int64()] += row[1].as_int64();
        database_->last_epoch[query_id_] = epoch;
      }
    }
    if (epoch == fail_after_write_epoch_)
      return Status::io_error("simulated crash after writing epoch " + std::to_string(epoch));
    return Status::ok();
  }
  void abort_epoch(int64_t epoch) override { staged_.erase(epoch); }

 private:
  std::shared_ptr<Database> database_;
  int64_t fail_after_write_epoch_;
  std::string query_id_;
  std::map<int64_t, std::vector<std::vector<Value>>> staged_;
};

}  // namespace

// Messages flow from the queue to the database while the query fails after its sink wrote an
// epoch (before the checkpoint committed it) and restarts: every message counts exactly once.
BOOST_AUTO_TEST_CASE(custom_source_and_sink_are_exactly_once_through_a_failure_and_restart) {
  const uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  TemporaryDirectory checkpoint;
  auto queue = std::make_shared<MessageQueue>();
  auto database = std::make_shared<Database>();
  std::map<int64_t, int64_t> expected;
  auto publish_some = [&] {
    const int count = static_cast<int>(random() % 20) + 1;
    for (int i = 0; i < count; ++i) {
      const auto id = static_cast<int64_t>(random() % 10);
      const auto amount = static_cast<int64_t>(random() % 1000);
      queue->publish({id, amount});
      expected[id] += amount;
    }
  };
  const int64_t fail_epoch = static_cast<int64_t>(random() % 4) + 1;
  BOOST_TEST_MESSAGE("the sink fails after writing epoch " << fail_epoch);
  auto source = std::make_shared<QueueSource>(queue);
  for (int run = 0; run < 2; ++run) {
    Session session;
    auto sink = std::make_shared<DatabaseSink>(database, run == 0 ? fail_epoch : -1);
    auto query = session.read_stream()
                     .source(source)
                     .load()
                     .write_stream()
                     .sink(sink)
                     .option("checkpointLocation", checkpoint.path())
                     .start();
    BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
    for (int epoch = 0; epoch < 6; ++epoch) {
      publish_some();
      Status status = query->process_all_available();
      if (!status.is_ok()) break;  // the simulated crash
    }
    if (run == 0) {
      BOOST_REQUIRE(query->await_termination(std::chrono::seconds(10)));
      BOOST_TEST(query->exception().has_value());
    } else {
      BOOST_REQUIRE_MESSAGE(query->process_all_available().is_ok(),
                            query->exception().value_or(Status::ok()).to_string());
      BOOST_REQUIRE(query->stop().is_ok());
    }
  }
  std::lock_guard lock(database->mutex);
  BOOST_TEST(database->balances == expected);
  BOOST_TEST(database->skipped_epochs == 1);  // the replayed epoch
  std::lock_guard queue_lock(queue->mutex);
  BOOST_TEST(queue->messages.empty());  // everything committed was released
}

BOOST_AUTO_TEST_CASE(a_custom_source_takes_no_path) {
  Session session;
  auto frame = session.read_stream()
                   .source(std::make_shared<QueueSource>(std::make_shared<MessageQueue>()))
                   .load("x");
  auto query = frame.write_stream().format("noop").start();
  BOOST_TEST(!query.ok());
  BOOST_TEST(query.status().message().find("takes no path") != std::string::npos,
             query.status().to_string());
}
