#include "actors/pipeline_actors.hpp"

#include "actors/edge_sequences.hpp"
#include "core/fault_injection.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "actors/router.hpp"

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

// Checks a message's number on its edge (EdgeSequences); on a duplicate or a gap, fails the
// receiving actor (its state has failed, coordinator and sequences) and returns false.
template <typename Actor, typename Message>
bool accept_in_order(Actor* self, const Message& message) {
  auto& st = self->state;
  Status accepted = st.sequences.accept(self->current_sender(), message);
  if (accepted.is_ok()) return true;
  st.failed = true;
  self->send(st.coordinator, Failure{accepted});
  return false;
}

struct SourceState {
  std::shared_ptr<Source> source;
  caf::actor coordinator;
  OutputLink out;
  std::deque<EpochRange> ranges;
  std::unique_ptr<PartitionReader> reader;
  size_t added_read = 0;  // how many of the front range's `added` ranges are read
  bool read_scheduled = false;
  int64_t rows = 0;
  int pipeline = 0;
  int partition = 0;
  std::string name;
  bool failed = false;
  // Continuous trigger: once the logged ranges are read, stream the actor's partition and any
  // the coordinator added (ContinuousAdd), each from its position on, round robin, as
  // `continuous_epoch`, polling the source for new data when all caught up.
  struct Stream {
    int partition = 0;
    int64_t position = 0;
  };
  bool continuous = false;
  std::vector<Stream> streams;
  size_t current = 0;  // the stream `reader` reads, or the last one read
  int64_t continuous_epoch = 0;
  int64_t epoch_rows = 0;
  bool poll_scheduled = false;
};

using source_actor = caf::stateful_actor<SourceState>;

// How often a continuous source partition that caught up asks for new data.
constexpr auto kContinuousPoll = std::chrono::milliseconds(1);

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

void continuous_step(source_actor* self);

// Reads one batch per message, so that credits and new ranges interleave with reading.
void read_step(source_actor* self) {
  auto& st = self->state;
  if (st.failed) return;
  if (st.ranges.empty() && st.continuous) return continuous_step(self);
  if (!st.reader) {
    if (st.ranges.empty()) return;
    const EpochRange& range = st.ranges.front();
    if (st.added_read == 0) st.rows = 0;
    PartitionRange part{st.partition, range.start, range.end};
    if (st.added_read > 0) part = range.added[st.added_read - 1];
    auto reader = st.source->open_reader(part.partition, part.start, part.end);
    if (!reader.ok()) return fail(self, reader.status());
    st.reader = std::move(*reader);
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
    if (Status fault = fault_point(FaultPoint::during_source_read, st.ranges.front().epoch); !fault.is_ok()) {
      return fault_kills_actor(fault) ? self->quit(caf::exit_reason::kill) : fail(self, fault);
    }
    st.rows += batch->num_rows();
    st.out.send_batch(epoch, std::move(batch));
  } else if (st.added_read < st.ranges.front().added.size()) {
    ++st.added_read;  // the next partition of the same epoch
    st.reader.reset();
  } else {
    st.added_read = 0;
    st.out.send_barrier(epoch);
    self->send(st.coordinator, SourceDone{epoch, st.pipeline, st.rows});
    st.reader.reset();
    st.ranges.pop_front();
  }
  if (st.reader || !st.ranges.empty()) schedule_read(self);
}

// Streams the partitions: reads what one has available now, then the next one's, round robin;
// polls when all caught up.
void continuous_step(source_actor* self) {
  auto& st = self->state;
  if (!st.reader) {
    SourceOffset zero(static_cast<size_t>(st.source->num_partitions()), 0);
    auto latest = st.source->latest_offset(zero, ReadLimit{});
    if (!latest.ok()) return fail(self, latest.status());
    for (size_t tried = 0; tried < st.streams.size() && !st.reader; ++tried) {
      st.current = (st.current + 1) % st.streams.size();
      const auto& stream = st.streams[st.current];
      const auto index = static_cast<size_t>(stream.partition);
      const int64_t available = index < latest->size() ? (*latest)[index] : 0;
      if (available <= stream.position) continue;
      auto reader = st.source->open_reader(stream.partition, stream.position, available);
      if (!reader.ok()) return fail(self, reader.status());
      if (!(*reader)->position()) {
        return fail(self, Status::invalid_argument(st.source->description() +
                                                   " cannot run with the continuous trigger: its "
                                                   "readers do not report their position"));
      }
      st.reader = std::move(*reader);
    }
    if (!st.reader) {
      if (!st.poll_scheduled) {
        st.poll_scheduled = true;
        self->delayed_send(self, kContinuousPoll, read_atom::value);
      }
      return;
    }
  }
  if (!st.out.has_credit()) return;  // resumed by the next credit
  RecordBatchPtr batch;
  Result<ReadFlow> flow = ReadFlow::finished;
  Status status = guarded(st.name, [&] {
    flow = st.reader->next(batch);
    return flow.status();
  });
  if (!status.is_ok()) return fail(self, status);
  if (*flow == ReadFlow::have_batch) {
    st.epoch_rows += batch->num_rows();
    st.out.send_batch(st.continuous_epoch, std::move(batch));
  } else {
    st.streams[st.current].position = *st.reader->position();
    st.reader.reset();
  }
  schedule_read(self);
}

// Ends the current continuous epoch at every stream's position and starts the next one.
void cut(source_actor* self, int64_t epoch) {
  auto& st = self->state;
  if (st.failed) return;
  st.out.send_barrier(epoch);
  for (size_t i = 0; i < st.streams.size(); ++i) {
    const int64_t end =
        st.reader && i == st.current ? *st.reader->position() : st.streams[i].position;
    self->send(st.coordinator, SourceCut{epoch, st.pipeline, st.streams[i].partition, end,
                                         i == 0 ? st.epoch_rows : 0});
  }
  st.continuous_epoch = epoch + 1;
  st.epoch_rows = 0;
}

caf::behavior source_behavior(source_actor* self, caf::actor coordinator, caf::actor stage,
                              std::shared_ptr<Source> source, int pipeline, int partition,
                              std::string name) {
  auto& st = self->state;
  st.source = std::move(source);
  st.coordinator = std::move(coordinator);
  st.out = OutputLink(self, std::move(stage), FaultPoint::edge_source_to_stage,
                      std::make_shared<const std::string>(name));
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
        self->state.poll_scheduled = false;
        read_step(self);
      },
      [=](ContinuousStart start) {
        auto& st = self->state;
        st.continuous = true;
        st.streams = {{st.partition, start.start}};
        st.current = 0;
        st.continuous_epoch = start.epoch;
        schedule_read(self);
      },
      [=](ContinuousAdd add) {
        auto& st = self->state;
        // The coordinator adds a partition to the newest epoch it opened, after sending the cut
        // of the one before, so it is the epoch this actor streams now.
        if (add.epoch != st.continuous_epoch) {
          return fail(self, Status::internal("partition " + std::to_string(add.partition) +
                                             " was added to epoch " + std::to_string(add.epoch) +
                                             " while the actor streams epoch " +
                                             std::to_string(st.continuous_epoch)));
        }
        st.streams.push_back({add.partition, add.start});
        schedule_read(self);
      },
      [=](CutEpoch epoch) { cut(self, epoch.epoch); },
      [=](CreditMessage credit) {
        self->state.out.add_credits(credit.credits);
        schedule_read(self);
      },
      [=](resume_atom) {
        self->state.out.resume();
        schedule_read(self);
      },
      [=](stop_atom) { self->quit(); },
  };
}

struct StageState {
  std::shared_ptr<const StatelessStage> stage;
  caf::actor coordinator;
  caf::actor upstream;
  Router router;
  EdgeSequences sequences;
  StageObservation observation;
  int32_t owed_credits = 0;
  int input = 0;
  std::string name;
  bool failed = false;
};

using stage_actor = caf::stateful_actor<StageState>;

// Returns credits upstream only once our own output went out: a slow sink slows the source.
void return_credits(stage_actor* self) {
  auto& st = self->state;
  if (st.owed_credits > 0 && st.router.drained() && st.upstream) {
    self->send(st.upstream, CreditMessage{st.owed_credits});
    st.owed_credits = 0;
  }
}

caf::behavior stage_behavior(stage_actor* self, caf::actor coordinator, Downstream downstream,
                             std::shared_ptr<const StatelessStage> stage, int input, std::string name) {
  auto& st = self->state;
  st.stage = std::move(stage);
  st.coordinator = std::move(coordinator);
  st.router = Router(self, std::move(downstream), name);
  st.sequences = EdgeSequences(name);
  st.input = input;
  st.name = std::move(name);
  return {
      [=](BatchMessage& message) {
        auto& st = self->state;
        if (!st.upstream) st.upstream = caf::actor_cast<caf::actor>(self->current_sender());
        ++st.owed_credits;
        if (st.failed) return;
        if (!accept_in_order(self, message)) return;
        Result<RecordBatchPtr> output = RecordBatchPtr();
        Status status = guarded(st.name, [&] {
          output = st.stage->process(message.batch, st.observation, message.epoch);
          return output.status();
        });
        if (!status.is_ok()) {
          st.failed = true;
          self->send(st.coordinator, Failure{status.with_context(st.name)});
          return;
        }
        if ((*output)->num_rows() > 0) st.router.route(message.epoch, *output);
        return_credits(self);
      },
      [=](BarrierMessage barrier) {
        auto& st = self->state;
        if (st.failed) return;
        if (!accept_in_order(self, barrier)) return;
        st.router.send_barrier(barrier.epoch);
        self->send(st.coordinator, StageDone{barrier.epoch, st.input, st.observation.max_event_time,
                                             st.observation.saw_event_time});
        st.observation = StageObservation{};
      },
      [=](CreditMessage credit) {
        auto& st = self->state;
        st.router.add_credits(self->current_sender(), credit.credits);
        return_credits(self);
      },
      [=](resume_atom) {
        self->state.router.resume();
        return_credits(self);
      },
      [=](stop_atom) { self->quit(); },
  };
}

struct StatefulState {
  std::unique_ptr<StatefulOperatorState> state;
  std::shared_ptr<const StatelessStage> post;
  caf::actor coordinator;
  Router router;
  EdgeSequences sequences;
  std::map<int64_t, EpochContext> contexts;  // from EpochStart, until the epoch finishes
  std::map<int64_t, int> barriers;
  // Batches not yet given to the operator, per epoch, in arrival order (see drain_epochs).
  std::map<int64_t, std::vector<std::pair<int, RecordBatchPtr>>> held;
  int num_senders = 0;
  int stage = 0;
  int partition = 0;
  std::string name;
  bool failed = false;
};

using stateful_actor = caf::stateful_actor<StatefulState>;

void stateful_fail(stateful_actor* self, const Status& status) {
  self->state.failed = true;
  self->send(self->state.coordinator, Failure{status.with_context(self->state.name)});
}

void finish_stateful_epoch(stateful_actor* self, int64_t epoch);

// Gives the operator its input one epoch at a time, so that epoch e's state delta and output
// hold exactly e's rows. Epochs overlap: a sender that passed its barrier of e sends e+1's rows
// while another sender still sends e's, and a batch may come before the coordinator's
// EpochStart (which carries the epoch's watermark). The oldest epoch the actor knows of (by a
// held batch, a barrier or its EpochStart) is the one in progress: no sender sends e+1 before
// its barrier of e, so an epoch with a held batch or a barrier is never older than one still
// to come. Its held batches go to the operator once its EpochStart came, and it finishes once
// every sender's barrier came; then the next epoch's turn comes.
void drain_epochs(stateful_actor* self) {
  auto& st = self->state;
  while (!st.failed) {
    std::optional<int64_t> oldest;
    auto consider = [&](int64_t epoch) {
      if (!oldest || epoch < *oldest) oldest = epoch;
    };
    if (!st.held.empty()) consider(st.held.begin()->first);
    if (!st.barriers.empty()) consider(st.barriers.begin()->first);
    if (!st.contexts.empty()) consider(st.contexts.begin()->first);
    if (!oldest) return;
    auto context = st.contexts.find(*oldest);
    if (context == st.contexts.end()) return;  // its EpochStart is on its way
    if (auto batches = st.held.find(*oldest); batches != st.held.end()) {
      for (const auto& [input, batch] : batches->second) {
        Status status = guarded(st.name, [&] { return st.state->add_input(input, batch, context->second); });
        if (!status.is_ok()) return stateful_fail(self, status);
      }
      st.held.erase(batches);
    }
    auto barriers = st.barriers.find(*oldest);
    if (barriers == st.barriers.end() || barriers->second < st.num_senders) return;
    finish_stateful_epoch(self, *oldest);
  }
}

// Finishes `epoch` once its input is in and every sender's barrier came: the operator's output
// goes downstream with the barrier and its state delta to the coordinator.
void finish_stateful_epoch(stateful_actor* self, int64_t epoch) {
  auto& st = self->state;
  st.barriers.erase(epoch);
  EpochContext context = st.contexts[epoch];
  st.contexts.erase(epoch);
  std::vector<RecordBatchPtr> output;
  auto delta = std::make_shared<StateDelta>();
  Status status = guarded(st.name, [&] { return st.state->finish_epoch(context, output, *delta); });
  if (!status.is_ok()) return stateful_fail(self, status);
  for (const auto& batch : output) {
    Result<RecordBatchPtr> processed = RecordBatchPtr();
    status = guarded(st.name, [&] {
      StageObservation ignored;
      processed = st.post->process(batch, ignored, epoch);
      return processed.status();
    });
    if (!status.is_ok()) return stateful_fail(self, status);
    if ((*processed)->num_rows() > 0) st.router.route(epoch, *processed);
  }
  st.router.send_barrier(epoch);
  self->send(st.coordinator, StateDone{epoch, st.stage, st.partition, delta, st.state->metrics()});
}

caf::behavior stateful_behavior(stateful_actor* self, caf::actor coordinator, Downstream downstream,
                                std::unique_ptr<StatefulOperatorState> state,
                                std::shared_ptr<const StatelessStage> post, int stage, int partition,
                                int num_senders, std::string name) {
  auto& st = self->state;
  st.state = std::move(state);
  st.post = std::move(post);
  st.coordinator = std::move(coordinator);
  st.router = Router(self, std::move(downstream), name);
  st.sequences = EdgeSequences(name);
  st.stage = stage;
  st.partition = partition;
  st.num_senders = num_senders;
  st.name = std::move(name);
  return {
      [=](EpochStart start) {
        EpochContext context;
        context.epoch = start.epoch;
        context.watermark = start.watermark;
        context.processing_time = start.processing_time;
        context.mode = start.mode;
        self->state.contexts[start.epoch] = context;
        drain_epochs(self);
      },
      [=](BatchMessage& message) {
        auto& st = self->state;
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        if (!st.failed) {
          if (!accept_in_order(self, message)) return;
          st.held[message.epoch].emplace_back(message.input, std::move(message.batch));
          drain_epochs(self);
        }
        // Held input is bounded by the epochs in flight, so its credit goes straight back.
        if (sender) self->send(sender, CreditMessage{1});
      },
      [=](BarrierMessage barrier) {
        auto& st = self->state;
        if (st.failed) return;
        if (!accept_in_order(self, barrier)) return;
        ++st.barriers[barrier.epoch];
        drain_epochs(self);
      },
      [=](EpochCommitted committed) { self->state.state->epoch_committed(committed.epoch); },
      [=](CreditMessage credit) {
        self->state.router.add_credits(self->current_sender(), credit.credits);
      },
      [=](resume_atom) { self->state.router.resume(); },
      [=](stop_atom) { self->quit(); },
  };
}

// Sorts and cuts one epoch's complete result (order_by / limit after an aggregation).
Result<RecordBatchPtr> order_result(const std::vector<RecordBatchPtr>& batches, const SchemaPtr& schema,
                                    const ResultOrdering& ordering) {
  RecordBatchPtr all = RecordBatch::make_empty(schema);
  if (!batches.empty()) {
    SLUICE_ASSIGN_OR_RETURN(all, RecordBatch::concatenate(batches));
  }
  std::vector<int32_t> order(static_cast<size_t>(all->num_rows()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    for (const auto& [column, ascending] : ordering.sort) {
      const Value left = all->column(column)->value_at(a);
      const Value right = all->column(column)->value_at(b);
      if (left == right) continue;
      // Spark's default: nulls first when ascending, last when descending.
      return ascending ? left < right : right < left;
    }
    return false;
  });
  if (ordering.limit >= 0 && static_cast<int64_t>(order.size()) > ordering.limit) {
    order.resize(static_cast<size_t>(ordering.limit));
  }
  return all->take(order.data(), static_cast<int64_t>(order.size()));
}

struct SinkState {
  std::shared_ptr<Sink> sink;
  // Continuous trigger: an epoch is finished only once its range is logged (OffsetsLogged),
  // so nothing becomes visible that a replay could not reproduce.
  bool wait_for_log = false;
  std::set<int64_t> logged;
  std::set<int64_t> aligned;
  ResultOrdering ordering;
  std::map<int64_t, std::vector<RecordBatchPtr>> held;
  SchemaPtr schema;
  caf::actor coordinator;
  EdgeSequences sequences;
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

// Makes an epoch's rows durable and visible once all inputs' barriers (and, continuous, its
// logged range) are in, then tells the coordinator.
void finish_sink_epoch(sink_actor* self, int64_t epoch) {
  auto& st = self->state;
  st.aligned.erase(epoch);
  st.logged.erase(epoch);
  if (Status fault = fault_point(FaultPoint::before_sink_write, epoch); !fault.is_ok()) {
    return fault_kills_actor(fault) ? self->quit(caf::exit_reason::kill) : sink_fail(self, fault);
  }
  if (st.ordering.active()) {
    auto held = std::move(st.held[epoch]);
    st.held.erase(epoch);
    if (!held.empty()) {
      auto ordered = order_result(held, st.schema, st.ordering);
      if (!ordered.ok()) return sink_fail(self, ordered.status());
      st.rows[epoch] += (*ordered)->num_rows();
      Status written = guarded(st.sink->description(), [&] { return st.sink->write(epoch, *ordered); });
      if (!written.is_ok()) return sink_fail(self, written);
    }
  }
  Status status = guarded(st.sink->description(), [&] { return st.sink->finish_epoch(epoch); });
  if (!status.is_ok()) return sink_fail(self, status);
  const int64_t rows = st.rows[epoch];
  st.rows.erase(epoch);
  self->send(st.coordinator, SinkDone{epoch, rows});
}

caf::behavior sink_behavior(sink_actor* self, caf::actor coordinator, std::shared_ptr<Sink> sink,
                            int num_inputs, ResultOrdering ordering, bool wait_for_log) {
  auto& st = self->state;
  st.wait_for_log = wait_for_log;
  st.sink = std::move(sink);
  st.ordering = std::move(ordering);
  st.coordinator = std::move(coordinator);
  st.sequences = EdgeSequences("sink " + st.sink->description());
  st.num_inputs = num_inputs;
  return {
      [=](BatchMessage& message) {
        auto& st = self->state;
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        if (!st.failed) {
          if (!accept_in_order(self, message)) return;
          if (st.ordering.active()) {
            st.schema = message.batch->schema();
            st.held[message.epoch].push_back(message.batch);
          } else {
            st.rows[message.epoch] += message.batch->num_rows();
            Status status = guarded(st.sink->description(),
                                    [&] { return st.sink->write(message.epoch, message.batch); });
            if (!status.is_ok()) sink_fail(self, status);
          }
        }
        if (sender) self->send(sender, CreditMessage{1});
      },
      [=](OffsetsLogged logged) {
        auto& st = self->state;
        st.logged.insert(logged.epoch);
        if (st.aligned.count(logged.epoch)) finish_sink_epoch(self, logged.epoch);
      },
      [=](BarrierMessage barrier) {
        auto& st = self->state;
        if (st.failed) return;
        if (!accept_in_order(self, barrier)) return;
        if (++st.barriers[barrier.epoch] < st.num_inputs) return;
        st.barriers.erase(barrier.epoch);
        if (st.wait_for_log && !st.logged.count(barrier.epoch)) {
          st.aligned.insert(barrier.epoch);
          return;
        }
        finish_sink_epoch(self, barrier.epoch);
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

caf::actor spawn_stage_actor(caf::actor_system& system, caf::actor coordinator, Downstream downstream,
                             std::shared_ptr<const StatelessStage> stage, int input, std::string name) {
  return system.spawn(stage_behavior, std::move(coordinator), std::move(downstream), std::move(stage), input,
                      std::move(name));
}

caf::actor spawn_stateful_actor(caf::actor_system& system, caf::actor coordinator, Downstream downstream,
                                std::unique_ptr<StatefulOperatorState> state,
                                std::shared_ptr<const StatelessStage> post, int stage, int partition,
                                int num_senders, std::string name) {
  // CAF copies spawn arguments, so the owned state travels in a shared wrapper.
  auto holder = std::make_shared<std::unique_ptr<StatefulOperatorState>>(std::move(state));
  return system.spawn(
      [holder](stateful_actor* self, caf::actor coordinator, Downstream downstream,
               std::shared_ptr<const StatelessStage> post, int stage, int partition, int num_senders,
               std::string name) {
        return stateful_behavior(self, std::move(coordinator), std::move(downstream), std::move(*holder),
                                 std::move(post), stage, partition, num_senders, std::move(name));
      },
      std::move(coordinator), std::move(downstream), std::move(post), stage, partition, num_senders,
      std::move(name));
}

caf::actor spawn_sink_actor(caf::actor_system& system, caf::actor coordinator,
                            std::shared_ptr<Sink> sink, int num_inputs, ResultOrdering ordering,
                            bool wait_for_log) {
  return system.spawn(sink_behavior, std::move(coordinator), std::move(sink), num_inputs,
                      std::move(ordering), wait_for_log);
}

}  // namespace sluice::actors
