// A stateful partition gives its operator one epoch's input at a time, each batch with its
// epoch's context: rows of e+1 that a sender sends after its barrier of e, while another sender
// still sends e's, wait until e finished, and a batch that comes before the coordinator's
// EpochStart waits for it (and its watermark).
#define BOOST_TEST_MODULE stateful_epoch_order
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "actors/pipeline_actors.hpp"
#include "core/column_builder.hpp"
#include "core/record_batch.hpp"
#include "operators/stateful_operator.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

// What the operator saw, in order: "add <epoch tagged in the rows> ctx <context epoch> wm
// <context watermark>" and "finish <epoch>".
struct Journal {
  std::mutex mutex;
  std::vector<std::string> lines;
  void add(std::string line) {
    std::lock_guard lock(mutex);
    lines.push_back(std::move(line));
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return lines;
  }
};

class JournalingState final : public StatefulOperatorState {
 public:
  explicit JournalingState(std::shared_ptr<Journal> journal) : journal_(std::move(journal)) {}

  Status add_input(const RecordBatchPtr& batch, const EpochContext& context) override {
    const int64_t tagged = batch->column(0)->value_at(0).as_int64();
    journal_->add("add " + std::to_string(tagged) + " ctx " + std::to_string(context.epoch) +
                  " wm " + std::to_string(context.watermark));
    return Status::ok();
  }

  Status finish_epoch(const EpochContext& context, std::vector<RecordBatchPtr>&,
                      StateDelta&) override {
    journal_->add("finish " + std::to_string(context.epoch));
    return Status::ok();
  }

  void epoch_committed(int64_t) override {}
  StateOperatorMetrics metrics() const override { return {}; }

 private:
  std::shared_ptr<Journal> journal_;
};

// One row whose value names the epoch it belongs to.
RecordBatchPtr rows_of(int64_t epoch) {
  auto schema = Schema::make({{"epoch", Type::Int64}}).value();
  ColumnBuilder builder(Type::Int64);
  builder.append_int64(epoch);
  return RecordBatch::make(schema, {builder.finish()}).value();
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_epoch_gets_only_its_rows_with_its_own_context) {
  caf::actor_system_config config;
  caf::actor_system system{config};
  auto journal = std::make_shared<Journal>();
  caf::scoped_actor coordinator{system};
  caf::scoped_actor first{system};
  caf::scoped_actor second{system};
  caf::actor partition = actors::spawn_stateful_actor(system, coordinator, actors::Downstream{},
                                                      std::make_unique<JournalingState>(journal),
                                                      nullptr, 0, 0, 2, "partition 0");

  auto batch = [&](caf::scoped_actor& sender, int64_t epoch) {
    sender->send(partition, actors::BatchMessage{epoch, rows_of(epoch), 0, 0, nullptr});
  };
  auto barrier = [&](caf::scoped_actor& sender, int64_t epoch) {
    sender->send(partition, actors::BarrierMessage{epoch, 0, nullptr});
  };
  auto start = [&](int64_t epoch, int64_t watermark) {
    coordinator->send(partition, actors::EpochStart{epoch, watermark, 0, OutputMode::Update});
  };

  start(1, 100);
  batch(first, 1);
  barrier(first, 1);
  batch(first, 2);  // the first sender is past epoch 1; the second is not
  batch(second, 1);
  barrier(second, 1);
  batch(second, 2);  // before the coordinator's EpochStart of 2
  start(2, 200);
  barrier(first, 2);
  barrier(second, 2);

  for (int64_t epoch : {1, 2}) {
    bool done = false;
    coordinator->receive(
        [&](actors::StateDone& state_done) { done = state_done.epoch == epoch; },
        [&](actors::Failure& failure) { BOOST_FAIL(failure.status.to_string()); },
        caf::after(10s) >> [&] { BOOST_FAIL("no StateDone for epoch " << epoch); });
    BOOST_TEST(done);
  }
  BOOST_TEST(journal->snapshot() ==
             (std::vector<std::string>{"add 1 ctx 1 wm 100", "add 1 ctx 1 wm 100", "finish 1",
                                       "add 2 ctx 2 wm 200", "add 2 ctx 2 wm 200", "finish 2"}));
  caf::anon_send_exit(partition, caf::exit_reason::user_shutdown);
}
