#include "actors/pipeline_actors.hpp"

#include <map>

namespace sluice::actors {

namespace {

// Runs fn, turning a C++ exception thrown by user code (a lambda, a sink) into a Status.
template <typename F>
Status guarded(const std::string& who, F&& fn) {
  try {
    return fn();
  } catch (const std::exception& error) {
    return Status::internal(who + " threw: " + error.what());
  } catch (...) {
    return Status::internal(who + " threw a non-standard exception");
  }
}

struct SourceState {
  std::shared_ptr<Source> source;
  caf::actor coordinator;
  OutputLink out;
  std::deque<EpochRange> ranges;
  std::unique_ptr<PartitionReader> reader;
  bool read_scheduled = false;
  int64_t rows = 0;
  int pipeline = 0;
  int partition = 0;
  std::string name;
  bool failed = false;
};

using source_actor = caf::stateful_actor<SourceState>;

void fail(source_actor* self, Status status) {
  self->state.failed = true;
  self->send(self->state.coordinator, Failure{status.with_context(self->state.name)});
}

void schedule_read(source_actor* self) {
  if (!self->state.read_scheduled && !self->state.failed) {
    self->state.read_scheduled = true;
    self->send(self, read_atom::value);
  }
}

// Reads one batch per message, so that credits and new ranges interleave with reading.
void read_step(source_actor* self) {
  auto& st = self->state;
  if (st.failed) return;
  if (!st.reader) {
    if (st.ranges.empty()) return;
    const EpochRange& range = st.ranges.front();
    auto reader = st.source->open_reader(st.partition, range.start, range.end);
    if (!reader.ok()) return fail(self, reader.status());
    st.reader = std::move(*reader);
    st.rows = 0;
  }
  if (!st.out.has_credit()) return;  // resumed by the next credit
  RecordBatchPtr batch;
  Result<ReadFlow> flow = ReadFlow::finished;
  Status status = guarded(st.name, [&] {
    flow = st.reader->next(batch);
    return flow.status();
  });
  if (!status.is_ok()) return fail(self, status);
  const int64_t epoch = st.ranges.front().epoch;
  if (*flow == ReadFlow::have_batch) {
    st.rows += batch->num_rows();
    st.out.send_batch(BatchMessage{epoch, std::move(batch)});
  } else {
    st.out.send_barrier(BarrierMessage{epoch});
    self->send(st.coordinator, SourceDone{epoch, st.pipeline, st.rows});
    st.reader.reset();
    st.ranges.pop_front();
  }
  if (st.reader || !st.ranges.empty()) schedule_read(self);
}

caf::behavior source_behavior(source_actor* self, caf::actor coordinator, caf::actor stage,
                              std::shared_ptr<Source> source, int pipeline, int partition,
                              std::string name) {
  auto& st = self->state;
  st.source = std::move(source);
  st.coordinator = std::move(coordinator);
  st.out = OutputLink(self, std::move(stage));
  st.pipeline = pipeline;
  st.partition = partition;
  st.name = std::move(name);
  return {
      [=](EpochRange range) {
        self->state.ranges.push_back(range);
        schedule_read(self);
      },
      [=](read_atom) {
        self->state.read_scheduled = false;
        read_step(self);
      },
      [=](CreditMessage credit) {
        self->state.out.add_credits(credit.credits);
        schedule_read(self);
      },
      [=](stop_atom) { self->quit(); },
  };
}

struct StageState {
  std::shared_ptr<const StatelessStage> stage;
  caf::actor coordinator;
  caf::actor upstream;
  OutputLink out;
  int32_t owed_credits = 0;
  std::string name;
  bool failed = false;
};

using stage_actor = caf::stateful_actor<StageState>;

// Returns credits upstream only once our own output went out: a slow sink slows the source.
void return_credits(stage_actor* self) {
  auto& st = self->state;
  if (st.owed_credits > 0 && st.out.drained() && st.upstream) {
    self->send(st.upstream, CreditMessage{st.owed_credits});
    st.owed_credits = 0;
  }
}

caf::behavior stage_behavior(stage_actor* self, caf::actor coordinator, caf::actor sink,
                             std::shared_ptr<const StatelessStage> stage, std::string name) {
  auto& st = self->state;
  st.stage = std::move(stage);
  st.coordinator = std::move(coordinator);
  st.out = OutputLink(self, std::move(sink));
  st.name = std::move(name);
  return {
      [=](BatchMessage& message) {
        auto& st = self->state;
        if (!st.upstream) st.upstream = caf::actor_cast<caf::actor>(self->current_sender());
        ++st.owed_credits;
        if (st.failed) return;
        Result<RecordBatchPtr> output = RecordBatchPtr();
        Status status = guarded(st.name, [&] {
          output = st.stage->process(message.batch);
          return output.status();
        });
        if (!status.is_ok()) {
          st.failed = true;
          self->send(st.coordinator, Failure{status.with_context(st.name)});
          return;
        }
        if ((*output)->num_rows() > 0) st.out.send_batch(BatchMessage{message.epoch, *output});
        return_credits(self);
      },
      [=](BarrierMessage barrier) { self->state.out.send_barrier(barrier); },
      [=](CreditMessage credit) {
        self->state.out.add_credits(credit.credits);
        return_credits(self);
      },
      [=](stop_atom) { self->quit(); },
  };
}

struct SinkState {
  std::shared_ptr<Sink> sink;
  caf::actor coordinator;
  int num_inputs = 0;
  std::map<int64_t, int> barriers;
  std::map<int64_t, int64_t> rows;
  bool failed = false;
};

using sink_actor = caf::stateful_actor<SinkState>;

void sink_fail(sink_actor* self, const Status& status) {
  self->state.failed = true;
  self->send(self->state.coordinator, Failure{status.with_context(self->state.sink->description())});
}

caf::behavior sink_behavior(sink_actor* self, caf::actor coordinator, std::shared_ptr<Sink> sink,
                            int num_inputs) {
  auto& st = self->state;
  st.sink = std::move(sink);
  st.coordinator = std::move(coordinator);
  st.num_inputs = num_inputs;
  return {
      [=](BatchMessage& message) {
        auto& st = self->state;
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        if (!st.failed) {
          st.rows[message.epoch] += message.batch->num_rows();
          Status status = guarded(st.sink->description(),
                                  [&] { return st.sink->write(message.epoch, message.batch); });
          if (!status.is_ok()) sink_fail(self, status);
        }
        if (sender) self->send(sender, CreditMessage{1});
      },
      [=](BarrierMessage barrier) {
        auto& st = self->state;
        if (st.failed || ++st.barriers[barrier.epoch] < st.num_inputs) return;
        st.barriers.erase(barrier.epoch);
        Status status = guarded(st.sink->description(),
                                [&] { return st.sink->finish_epoch(barrier.epoch); });
        if (!status.is_ok()) return sink_fail(self, status);
        const int64_t rows = st.rows[barrier.epoch];
        st.rows.erase(barrier.epoch);
        self->send(st.coordinator, SinkDone{barrier.epoch, rows});
      },
      [=](SinkCommit commit) {
        auto& st = self->state;
        if (st.failed) return;
        Status status = guarded(st.sink->description(),
                                [&] { return st.sink->commit_epoch(commit.epoch); });
        if (!status.is_ok()) sink_fail(self, status);
      },
      [=](stop_atom) {
        auto& st = self->state;
        // Rows of epochs that never reached their commit are dropped, not published.
        for (const auto& entry : st.rows) st.sink->abort_epoch(entry.first);
        self->quit();
      },
  };
}

}  // namespace

caf::actor spawn_source_actor(caf::actor_system& system, caf::actor coordinator, caf::actor stage,
                              std::shared_ptr<Source> source, int pipeline, int partition,
                              std::string name) {
  return system.spawn(source_behavior, std::move(coordinator), std::move(stage), std::move(source),
                      pipeline, partition, std::move(name));
}

caf::actor spawn_stage_actor(caf::actor_system& system, caf::actor coordinator, caf::actor sink,
                             std::shared_ptr<const StatelessStage> stage, std::string name) {
  return system.spawn(stage_behavior, std::move(coordinator), std::move(sink), std::move(stage),
                      std::move(name));
}

caf::actor spawn_sink_actor(caf::actor_system& system, caf::actor coordinator,
                            std::shared_ptr<Sink> sink, int num_inputs) {
  return system.spawn(sink_behavior, std::move(coordinator), std::move(sink), num_inputs);
}

}  // namespace sluice::actors
