// The worker side of scale-out. How a worker builds the operator the coordinator planned: the
// coordinator sends the query's definition, the SQL script that started it (a `sluice run`
// file or SqlContext::execute text), with the plan's fingerprint, the stage and the partition;
// the worker plans the script again (sql/script_plans: nothing starts) and takes the query
// with that fingerprint. Chosen over shipping operators (they hold compiled expressions and
// user lambdas, which do not serialize) and over pipelines registered by name (that needs a
// worker binary per C++ program) for SQL: a SQL pipeline is self-contained text, the `sluice`
// binary is its one "jar", and an equal fingerprint proves the worker runs the same operator (same
// keys, aggregates, types) the checkpoint's state belongs to. A pipeline built in C++ cannot
// travel as text, so its definition names a function registered in the program
// (plan/pipeline_registry), and the worker is that same program started with --sluice-worker:
// the function builds the pipeline again on a planning session and the fingerprint is checked
// the same way.
//
// Per partition, the worker runs the ordinary stateful actor (actors/pipeline_actors) behind a
// host actor that translates between it and the coordinator's proxy (actors/remote_partition):
// batches to and from wire bytes, credits, barriers, and the two-phase epoch: the host sends
// the partition's state delta for epoch e (prepare), keeps it, and applies it to the
// partition's committed table only when the coordinator says e is committed.

#include "actors/worker.hpp"

#include <signal.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <shared_mutex>

#include <caf/io/all.hpp>

#include "actors/messages.hpp"
#include "actors/pipeline_actors.hpp"
#include "actors/remote_messages.hpp"
#include "core/wire.hpp"
#include "plan/pipeline_registry.hpp"

namespace sluice::actors {

namespace {

// The committed state of one stage, as the coordinator handed it over, plus every delta the
// coordinator committed since: what the local checkpoint is to a local partition. Thread-safe
// (the partition reads while the host applies commits).
class CommittedTable final : public StateReader {
 public:
  CommittedTable(std::vector<std::string> keys, std::vector<std::string> values) {
    for (size_t i = 0; i < keys.size() && i < values.size(); ++i)
      rows_.emplace(std::move(keys[i]), std::move(values[i]));
  }

  Result<std::optional<std::string>> get(std::string_view key) const override {
    std::shared_lock lock(mutex_);
    auto it = rows_.find(std::string(key));
    if (it == rows_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  Status scan(std::string_view begin, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    std::shared_lock lock(mutex_);
    for (auto it = rows_.lower_bound(std::string(begin)); it != rows_.end(); ++it) {
      if (!end.empty() && it->first >= end) break;
      if (!fn(it->first, it->second)) break;
    }
    return Status::ok();
  }

  void apply(const StateDelta& delta) {
    std::unique_lock lock(mutex_);
    for (const auto& change : delta.changes) {
      if (change.value) {
        rows_[change.key] = *change.value;
      } else {
        rows_.erase(change.key);
      }
    }
  }

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::string, std::less<>> rows_;
};

struct HostState {
  caf::actor proxy;      // the coordinator's RemotePartition actor
  caf::actor partition;  // the local stateful actor
  std::shared_ptr<CommittedTable> table;
  std::map<int64_t, std::shared_ptr<StateDelta>> prepared;  // epoch → delta awaiting its commit
  wire::BatchEncoder encoder;
  std::string name;
  bool failed = false;
};

using host_actor = caf::stateful_actor<HostState>;

void host_fail(host_actor* self, const Status& status) {
  auto& st = self->state;
  if (st.failed) return;
  st.failed = true;
  self->send(st.proxy, RemoteFailure{static_cast<int32_t>(status.code()), status.message()});
}

struct PartitionParts {
  std::unique_ptr<StatefulOperatorState> state;
  std::shared_ptr<const StatelessStage> post;
  std::shared_ptr<CommittedTable> table;
  int stage = 0;
  int partition = 0;
  int num_senders = 0;
  std::string name;
};

caf::behavior host_behavior(host_actor* self, caf::actor proxy,
                            std::shared_ptr<PartitionParts> parts) {
  auto& st = self->state;
  st.proxy = std::move(proxy);
  st.table = parts->table;
  st.name = parts->name;
  caf::actor me = caf::actor_cast<caf::actor>(self);
  Downstream back;
  back.actors = {me};
  st.partition = spawn_stateful_actor(self->system(), me, std::move(back), std::move(parts->state),
                                      parts->post, parts->stage, parts->partition,
                                      parts->num_senders, parts->name);
  self->monitor(st.partition);
  self->monitor(st.proxy);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    if (down.source == st.proxy.address()) {
      // The coordinator is gone (stopped, crashed or unreachable): nothing here outlives it.
      self->send(st.partition, stop_atom::value);
      self->quit();
    } else if (down.reason) {
      host_fail(self, Status::internal(st.name + " died: " + self->system().render(down.reason)));
    }
  });
  return {
      // From the coordinator: the partition's input and epoch protocol.
      [=](RemoteBatch& message) {
        auto& st = self->state;
        auto batch = wire::decode_batch(message.bytes.data(), message.bytes.size());
        if (!batch.ok())
          return host_fail(self, batch.status().with_context(st.name + ", epoch " +
                                                             std::to_string(message.epoch)));
        self->send(st.partition, BatchMessage{message.epoch, std::move(*batch), message.input, 0, nullptr});
      },
      [=](RemoteBarrier barrier) {
        self->send(self->state.partition, BarrierMessage{barrier.epoch, 0, nullptr});
      },
      [=](RemoteEpochStart start) {
        self->send(self->state.partition,
                   EpochStart{start.epoch, start.watermark, start.processing_time,
                              static_cast<OutputMode>(start.output_mode)});
      },
      [=](RemoteEpochCommitted committed) {
        auto& st = self->state;
        // Phase two: the coordinator's checkpoint holds the delta now, so the partition's
        // committed view takes it before the partition drops its own uncommitted copy.
        auto it = st.prepared.find(committed.epoch);
        if (it != st.prepared.end()) {
          st.table->apply(*it->second);
          st.prepared.erase(it);
        }
        self->send(st.partition, EpochCommitted{committed.epoch});
      },
      [=](ping_atom) { return ping_atom::value; },
      [=](stop_atom) {
        self->send(self->state.partition, stop_atom::value);
        self->quit();
      },
      // From the local stateful actor: credits for its input, its output, its epoch results.
      [=](CreditMessage credit) { self->send(self->state.proxy, RemoteCredit{credit.credits}); },
      [=](BatchMessage& message) {
        auto& st = self->state;
        self->send(st.partition, CreditMessage{1});
        auto bytes = st.encoder.encode(*message.batch);
        if (!bytes.ok()) return host_fail(self, bytes.status().with_context(st.name));
        self->send(st.proxy, RemoteBatch{message.epoch, message.input,
                                         std::vector<uint8_t>(bytes->begin(), bytes->end())});
      },
      [=](BarrierMessage barrier) { self->send(self->state.proxy, RemoteBarrier{barrier.epoch}); },
      [=](StateDone& done) {
        auto& st = self->state;
        // Phase one: hand the delta to the coordinator, keep it until the epoch commits.
        RemoteStateDone remote;
        remote.epoch = done.epoch;
        for (const auto& change : done.delta->changes) {
          remote.keys.push_back(change.key);
          remote.values.push_back(change.value.value_or(std::string()));
          remote.deleted.push_back(change.value ? 0 : 1);
        }
        remote.metrics = std::move(done.metrics);
        st.prepared[done.epoch] = std::move(done.delta);
        self->send(st.proxy, std::move(remote));
      },
      [=](Failure& failure) { host_fail(self, failure.status); },
  };
}

struct WorkerState {
  PlanResolver resolver;
  std::vector<caf::actor> hosts;  // the partitions it runs, stopped with the worker
  // The last plans resolved, by definition and fingerprint: every partition of a query asks.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const QuerySpec>> plans;
};

using worker_actor = caf::stateful_actor<WorkerState>;

Result<std::shared_ptr<PartitionParts>> prepare_partition(worker_actor* self,
                                                          HostPartition& request) {
  auto& st = self->state;
  auto key = std::make_pair(request.definition, request.plan_fingerprint);
  auto it = st.plans.find(key);
  if (it == st.plans.end()) {
    Result<QuerySpec> spec = Status::invalid_argument(
        "this worker runs registered C++ pipelines only: start SQL queries' workers with "
        "`sluice worker`");
    if (is_pipeline_definition(request.definition)) {
      spec = plan_pipeline(request.definition, request.plan_fingerprint);
    } else if (st.resolver) {
      spec = st.resolver(request.definition, request.plan_fingerprint);
    }
    if (!spec.ok()) return spec.status().with_context("planning the coordinator's query");
    if (st.plans.size() > 16) st.plans.clear();
    it = st.plans.emplace(key, std::make_shared<const QuerySpec>(std::move(*spec))).first;
  }
  const QuerySpec& spec = *it->second;
  const auto& stages = spec.physical.stages;
  if (request.stage < 0 || static_cast<size_t>(request.stage) >= stages.size() ||
      request.partition < 0 || request.partition >= request.num_partitions) {
    return Status::invalid_argument("the query has no partition " +
                                    std::to_string(request.partition) + " of " +
                                    std::to_string(request.num_partitions) + " of stateful stage " +
                                    std::to_string(request.stage) + " (it has " +
                                    std::to_string(stages.size()) + " stateful stages)");
  }
  const StatefulStage& stage = stages[static_cast<size_t>(request.stage)];
  auto parts = std::make_shared<PartitionParts>();
  parts->name = stage.op->name() + ", partition " + std::to_string(request.partition);
  SLUICE_ASSIGN_OR_RETURN(
      parts->post, StatelessStage::make(stage.op->output_schema(), stage.post_steps, spec.eval));
  parts->table = std::make_shared<CommittedTable>(std::move(request.committed_keys),
                                                  std::move(request.committed_values));
  auto state = stage.op->make_state(request.partition, request.num_partitions, parts->table);
  if (!state.ok()) return state.status().with_context(parts->name);
  parts->state = std::move(*state);
  parts->stage = request.stage;
  parts->partition = request.partition;
  parts->num_senders = request.num_senders;
  return parts;
}

caf::behavior worker_behavior(worker_actor* self, PlanResolver resolver) {
  self->state.resolver = std::move(resolver);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& hosts = self->state.hosts;
    hosts.erase(std::remove_if(hosts.begin(), hosts.end(),
                               [&](const caf::actor& h) { return h.address() == down.source; }),
                hosts.end());
  });
  // A stopping worker stops its partitions, so that its actor system can shut down.
  self->set_exit_handler([=](caf::exit_msg& exit) {
    for (const auto& host : self->state.hosts)
      self->send(host, stop_atom::value);
    self->quit(exit.reason);
  });
  return {
      [=](host_atom, HostPartition& request) -> RemoteHosted {
        auto proxy = caf::actor_cast<caf::actor>(self->current_sender());
        auto parts = prepare_partition(self, request);
        if (!parts.ok()) return RemoteHosted{caf::actor(), parts.status().message()};
        caf::actor host = self->system().spawn(host_behavior, proxy, *parts);
        self->monitor(host);
        self->state.hosts.push_back(host);
        return RemoteHosted{host, ""};
      },
      [=](ping_atom) { return ping_atom::value; },
  };
}

}  // namespace

struct Worker::Impl {
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system;
  caf::actor worker;
  WorkerAddress address;
};

Worker::Worker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Worker::~Worker() {
  caf::anon_send_exit(impl_->worker, caf::exit_reason::user_shutdown);
  impl_->worker = nullptr;
}

const WorkerAddress& Worker::address() const {
  return impl_->address;
}

Result<std::unique_ptr<Worker>> Worker::start(const WorkerAddress& listen, PlanResolver resolver) {
  auto impl = std::make_unique<Impl>();
  configure_remote(impl->config);
  impl->system = std::make_unique<caf::actor_system>(impl->config);
  impl->worker = impl->system->spawn(worker_behavior, std::move(resolver));
  auto port =
      impl->system->middleman().publish(impl->worker, listen.port, listen.host.c_str(), true);
  if (!port) {
    caf::anon_send_exit(impl->worker, caf::exit_reason::user_shutdown);
    return Status::io_error("cannot listen on " + listen.to_string() + ": " +
                            impl->system->render(port.error()));
  }
  impl->address = WorkerAddress{listen.host, *port};
  return std::unique_ptr<Worker>(new Worker(std::move(impl)));
}

int serve_worker(const WorkerAddress& listen, PlanResolver resolver, const std::string& program) {
  // Block the stop signals before CAF starts its threads, so that only sigwait receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  auto worker = Worker::start(listen, std::move(resolver));
  if (!worker.ok()) {
    std::cerr << program << ": error: " << worker.status().message() << std::endl;
    return 1;
  }
  const std::string address = (*worker)->address().to_string();
  std::cout << address << std::endl;
  std::cerr << program << " worker listening on " << address
            << "; queries reach it with option workers = '" << address << "'; Ctrl-C stops it"
            << std::endl;
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  std::cerr << "stopping the worker" << std::endl;
  return 0;
}

}  // namespace sluice::actors

namespace sluice {

std::optional<int> run_worker_if_requested(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != "--sluice-worker") return std::nullopt;
  const std::string program = argv[0];
  if (argc != 3) {
    std::cerr << program << ": error: --sluice-worker takes one HOST:PORT (e.g. 0.0.0.0:7070)"
              << std::endl;
    return 2;
  }
  auto address = parse_worker_address(argv[2], /*allow_port_zero=*/true);
  if (!address.ok()) {
    std::cerr << program << ": error: --sluice-worker " << address.status().message() << std::endl;
    return 2;
  }
  return actors::serve_worker(*address, nullptr, program);
}

}  // namespace sluice
