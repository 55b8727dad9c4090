#include "actors/remote_partition.hpp"

#include <algorithm>
#include <atomic>

#include <caf/io/all.hpp>

#include "actors/router.hpp"
#include "core/wire.hpp"

namespace sluice::actors {

namespace {

std::atomic<int64_t> bytes_sent{0};
std::atomic<int64_t> bytes_received{0};
std::atomic<int64_t> batches_sent{0};
std::atomic<int64_t> batches_received{0};

// How long a worker may take to plan the query and host the partition.
constexpr auto kHostTimeout = std::chrono::seconds(30);
// A worker that does not answer a heartbeat within kHeartbeatTimeout is taken for dead (a
// machine that vanished without closing its connections sends no down message).
constexpr auto kHeartbeatInterval = std::chrono::seconds(1);
constexpr auto kHeartbeatTimeout = std::chrono::seconds(5);

struct RemotePartitionState {
  caf::actor coordinator;
  caf::actor worker;
  caf::actor host;  // the partition's host actor in the worker, once it runs
  WorkerAddress address;
  Router router;
  // Upstream senders of the batches in flight to the worker, oldest first: the worker returns
  // credits in the order it consumed them.
  std::deque<caf::actor> credit_owners;
  wire::BatchEncoder encoder;
  int stage = 0;
  int partition = 0;
  std::string name;
  bool failed = false;
};

using remote_partition_actor = caf::stateful_actor<RemotePartitionState>;

void remote_fail(remote_partition_actor* self, const std::string& what) {
  auto& st = self->state;
  if (st.failed) return;
  st.failed = true;
  self->send(st.coordinator, Failure{Status::aborted("worker " + st.address.to_string() + " " +
                                                     what + " (" + st.name + ")")});
}

caf::behavior remote_partition_behavior(remote_partition_actor* self, caf::actor coordinator,
                                        Downstream downstream, WorkerAddress address,
                                        caf::actor worker, HostPartition request,
                                        std::string name) {
  auto& st = self->state;
  st.coordinator = std::move(coordinator);
  st.worker = std::move(worker);
  st.address = std::move(address);
  st.router = Router(self, std::move(downstream), name);
  st.stage = request.stage;
  st.partition = request.partition;
  st.name = std::move(name);
  self->monitor(st.worker);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    if (down.source == st.worker.address() || (st.host && down.source == st.host.address())) {
      remote_fail(self, "is gone: " + self->system().render(down.reason));
    }
  });
  // Nothing else is handled until the worker answers: batches and epoch messages wait.
  self->request(st.worker, kHostTimeout, host_atom::value, std::move(request))
      .await(
          [=](RemoteHosted& hosted) {
            auto& st = self->state;
            if (!hosted.error.empty() || !hosted.host) {
              return remote_fail(self, "cannot run the partition: " + hosted.error);
            }
            st.host = std::move(hosted.host);
            self->monitor(st.host);
            self->delayed_send(self, kHeartbeatInterval, tick_atom::value);
          },
          [=](caf::error& error) {
            remote_fail(self, "did not take the partition: " + self->system().render(error));
          });
  return {
      // From upstream actors and the coordinator: forwarded to the worker.
      [=](BatchMessage& message) {
        auto& st = self->state;
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        if (st.failed || !st.host) {
          if (sender) self->send(sender, CreditMessage{1});
          return;
        }
        auto bytes = st.encoder.encode(*message.batch);
        if (!bytes.ok()) {
          self->send(st.coordinator, Failure{bytes.status().with_context(st.name)});
          st.failed = true;
          return;
        }
        bytes_sent += static_cast<int64_t>(bytes->size());
        ++batches_sent;
        st.credit_owners.push_back(std::move(sender));
        self->send(st.host, RemoteBatch{message.epoch, message.input,
                                        std::vector<uint8_t>(bytes->begin(), bytes->end())});
      },
      [=](BarrierMessage barrier) {
        if (self->state.host) self->send(self->state.host, RemoteBarrier{barrier.epoch});
      },
      [=](EpochStart start) {
        if (!self->state.host) return;
        self->send(self->state.host,
                   RemoteEpochStart{start.epoch, start.watermark, start.processing_time,
                                    static_cast<int32_t>(start.mode)});
      },
      [=](EpochCommitted committed) {
        if (self->state.host) self->send(self->state.host, RemoteEpochCommitted{committed.epoch});
      },
      [=](CreditMessage credit) {
        self->state.router.add_credits(self->current_sender(), credit.credits);
      },
      // From the worker: credits, output, the epoch's state delta, failures.
      [=](RemoteCredit credit) {
        auto& st = self->state;
        for (int32_t i = 0; i < credit.credits && !st.credit_owners.empty(); ++i) {
          if (st.credit_owners.front()) self->send(st.credit_owners.front(), CreditMessage{1});
          st.credit_owners.pop_front();
        }
      },
      [=](RemoteBatch& message) {
        auto& st = self->state;
        bytes_received += static_cast<int64_t>(message.bytes.size());
        ++batches_received;
        auto batch = wire::decode_batch(message.bytes.data(), message.bytes.size());
        if (!batch.ok()) {
          return remote_fail(self, "sent a malformed batch for epoch " +
                                       std::to_string(message.epoch) + ": " +
                                       batch.status().message());
        }
        if ((*batch)->num_rows() > 0) st.router.route(message.epoch, *batch);
      },
      [=](RemoteBarrier barrier) {
        self->state.router.send_barrier(barrier.epoch);
      },
      // A delayed output link (edge fault) may send again.
      [=](resume_atom) { self->state.router.resume(); },
      [=](RemoteStateDone& done) {
        auto& st = self->state;
        auto delta = std::make_shared<StateDelta>();
        delta->changes.reserve(done.keys.size());
        for (size_t i = 0; i < done.keys.size(); ++i) {
          StateDelta::Change change;
          change.key = std::move(done.keys[i]);
          if (i >= done.deleted.size() || done.deleted[i] == 0)
            change.value = std::move(done.values[i]);
          delta->changes.push_back(std::move(change));
        }
        self->send(st.coordinator, StateDone{done.epoch, st.stage, st.partition, std::move(delta),
                                             std::move(done.metrics)});
      },
      [=](RemoteFailure& failure) {
        auto& st = self->state;
        if (st.failed) return;
        st.failed = true;
        const Status status(static_cast<StatusCode>(failure.code), failure.message);
        self->send(st.coordinator,
                   Failure{status.with_context("on worker " + st.address.to_string())});
      },
      [=](tick_atom) {
        auto& st = self->state;
        if (st.failed || !st.host) return;
        self->request(st.host, kHeartbeatTimeout, ping_atom::value)
            .then(
                [=](ping_atom) { self->delayed_send(self, kHeartbeatInterval, tick_atom::value); },
                [=](caf::error& error) {
                  remote_fail(self, "did not answer a heartbeat within 5 s: " +
                                        self->system().render(error));
                });
      },
      [=](stop_atom) {
        auto& st = self->state;
        if (st.host) self->send(st.host, stop_atom::value);
        self->quit();
      },
  };
}

}  // namespace

caf::actor spawn_remote_partition(caf::actor_system& system, caf::actor coordinator,
                                  Downstream downstream, WorkerAddress address, caf::actor worker,
                                  HostPartition request, std::string name) {
  return system.spawn(remote_partition_behavior, std::move(coordinator), std::move(downstream),
                      std::move(address), std::move(worker), std::move(request), std::move(name));
}

Result<caf::actor> connect_worker(caf::actor_system& system, const WorkerAddress& address,
                                  std::chrono::milliseconds timeout) {
  if (!system.has_middleman())
    return Status::invalid_argument("the actor system has no io middleman");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto describe = [&](const caf::error& error, const char* what) {
    return Status::io_error(error == caf::sec::request_timeout
                                ? std::string("no ") + what + " within " +
                                      std::to_string(timeout.count()) +
                                      " ms (the process is stopped or hangs)"
                                : system.render(error));
  };
  Result<caf::actor> result = Status::internal("no answer");
  caf::scoped_actor self{system};
  self->request(system.middleman().actor_handle(), timeout, caf::connect_atom::value, address.host,
                static_cast<uint16_t>(address.port))
      .receive(
          [&](caf::node_id&, caf::strong_actor_ptr& actor, std::set<std::string>&) {
            if (actor) {
              result = caf::actor_cast<caf::actor>(std::move(actor));
            } else {
              result = Status::io_error("nothing is published at " + address.to_string());
            }
          },
          [&](caf::error& error) { result = describe(error, "handshake"); });
  if (!result.ok()) return result;
  // The middleman hands out a known connection from its cache without asking the peer, which
  // may hang since: the worker must answer a ping too.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  self->request(*result, std::max(left, std::chrono::milliseconds(1)), ping_atom::value)
      .receive([](ping_atom) {},
               [&](caf::error& error) { result = describe(error, "answer to a ping"); });
  return result;
}

RemoteTraffic remote_traffic() {
  return RemoteTraffic{bytes_sent.load(), bytes_received.load(), batches_sent.load(),
                       batches_received.load()};
}

}  // namespace sluice::actors
