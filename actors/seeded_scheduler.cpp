#include "actors/seeded_scheduler.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/detail/simple_actor_clock.hpp>
#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace sluice::actors {

namespace {

// The seeds of configs prepared by use_seeded_scheduler, for the scheduler module built from
// each (CAF 0.17 refuses configuration keys it does not declare).
std::mutex seeds_mutex;
std::map<const caf::actor_system_config*, uint64_t> seeds;

// A clock whose events fire only when the scheduler's thread asks (fire_next_due), one at a
// time in due order. Other threads may set timers: every entry point takes the mutex.
class SeededClock final : public caf::detail::simple_actor_clock {
 public:
  using super = caf::detail::simple_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override {
    std::lock_guard lock(mutex_);
    super::set_ordinary_timeout(t, self, type, id);
  }
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override {
    std::lock_guard lock(mutex_);
    super::set_multi_timeout(t, self, type, id);
  }
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    std::lock_guard lock(mutex_);
    super::set_request_timeout(t, self, id);
  }
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override {
    std::lock_guard lock(mutex_);
    super::cancel_ordinary_timeout(self, type);
  }
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override {
    std::lock_guard lock(mutex_);
    super::cancel_request_timeout(self, id);
  }
  void cancel_timeouts(caf::abstract_actor* self) override {
    std::lock_guard lock(mutex_);
    super::cancel_timeouts(self);
  }
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override {
    std::lock_guard lock(mutex_);
    super::schedule_message(t, std::move(receiver), std::move(content));
  }
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override {
    std::lock_guard lock(mutex_);
    super::schedule_message(t, std::move(target), std::move(sender), std::move(content));
  }
  void cancel_all() override {
    std::lock_guard lock(mutex_);
    super::cancel_all();
  }

  /// Returns when the earliest event is due, if any.
  std::optional<time_point> next_due() {
    std::lock_guard lock(mutex_);
    if (schedule_.empty()) return std::nullopt;
    return schedule_.begin()->first;
  }

  /// Fires the earliest event if it is due; returns whether it did.
  bool fire_next_due() {
    std::lock_guard lock(mutex_);
    if (schedule_.empty() || schedule_.begin()->first > now()) return false;
    auto entry = schedule_.begin();
    auto event = std::move(entry->second);
    schedule_.erase(entry);
    if (event->backlink != actor_lookup_.end()) actor_lookup_.erase(event->backlink);
    ship(*event);
    return true;
  }

 private:
  std::mutex mutex_;
};

class SeededCoordinator final : public caf::scheduler::abstract_coordinator {
 public:
  using super = caf::scheduler::abstract_coordinator;

  explicit SeededCoordinator(caf::actor_system& system) : super(system) {}

  static caf::actor_system::module* make(caf::actor_system& system, caf::detail::type_list<>) {
    return new SeededCoordinator(system);
  }

  void init(caf::actor_system_config& config) override {
    super::init(config);
    std::lock_guard lock(seeds_mutex);
    if (auto it = seeds.find(&config); it != seeds.end()) {
      seed_ = it->second;
      seeds.erase(it);
    }
  }

  void start() override {
    thread_ = std::thread([this] {
      system().thread_started();
      run();
      system().thread_terminates();
    });
    super::start();
  }

  void stop() override {
    stop_actors();
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    for (caf::resumable* job : jobs_)
      cleanup_and_release(job);
    jobs_.clear();
    clock_.cancel_all();
  }

  void enqueue(caf::resumable* job) override {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(job);
    }
    wake_.notify_one();
  }

  caf::actor_clock& clock() noexcept override { return clock_; }

  /// Waits until no job is queued or running (up to a second: timers may keep work coming).
  void await_quiet() {
    if (std::this_thread::get_id() == thread_.get_id()) return;
    std::unique_lock lock(mutex_);
    quiet_.wait_for(lock, std::chrono::seconds(1),
                    [&] { return (jobs_.empty() && !busy_) || stopping_; });
  }

 private:
  // The execution unit actors run on: what they schedule goes to the same queue.
  class Unit final : public caf::execution_unit {
   public:
    explicit Unit(SeededCoordinator* parent)
        : caf::execution_unit(&parent->system()), parent_(parent) {}
    void exec_later(caf::resumable* job) override { parent_->enqueue(job); }

   private:
    SeededCoordinator* parent_;
  };

  // Takes a job chosen by the seeded generator, or none.
  caf::resumable* take_job(std::mt19937_64& random) {
    std::lock_guard lock(mutex_);
    if (jobs_.empty()) {
      busy_ = false;
      quiet_.notify_all();
      return nullptr;
    }
    busy_ = true;
    const size_t index = static_cast<size_t>(random() % jobs_.size());
    caf::resumable* job = jobs_[index];
    jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(index));
    return job;
  }

  void run() {
    std::mt19937_64 random(seed_);
    Unit unit(this);
    for (;;) {
      if (caf::resumable* job = take_job(random)) {
        // One message per turn, so that the seed decides every interleaving step.
        switch (job->resume(&unit, 1)) {
          case caf::resumable::resume_later:
            enqueue(job);
            break;
          case caf::resumable::done:
          case caf::resumable::awaiting_message:
            intrusive_ptr_release(job);
            break;
          case caf::resumable::shutdown_execution_unit:
            break;
        }
        continue;
      }
      // Quiet: the earliest due timer fires, one at a time.
      if (clock_.fire_next_due()) continue;
      const auto due = clock_.next_due();
      std::unique_lock lock(mutex_);
      if (stopping_ && jobs_.empty()) return;
      // Timers set from other threads are noticed within the bounded wait.
      const auto limit = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
      wake_.wait_until(lock, due ? std::min(*due, limit) : limit,
                       [&] { return !jobs_.empty() || stopping_; });
    }
  }

  uint64_t seed_ = 0;
  SeededClock clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable quiet_;
  bool busy_ = false;  // a job runs now
  std::deque<caf::resumable*> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

void use_seeded_scheduler(caf::actor_system_config& config, uint64_t seed) {
  {
    std::lock_guard lock(seeds_mutex);
    seeds[&config] = seed;
  }
  config.load<SeededCoordinator>();
}

void await_quiet_scheduler(caf::actor_system& system) {
  if (auto* seeded = dynamic_cast<SeededCoordinator*>(&system.scheduler())) seeded->await_quiet();
}

}  // namespace sluice::actors
