#include "actors/stream_test.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "actors/query_runtime.hpp"
#include "actors/seeded_scheduler.hpp"

namespace sluice::testing {

namespace {

std::string render(Rows rows) {
  std::sort(rows.begin(), rows.end());
  std::string text = "[";
  for (const auto& row : rows) {
    text += text.size() > 1 ? ", (" : "(";
    for (size_t i = 0; i < row.size(); ++i) text += (i ? ", " : "") + row[i].to_string();
    text += ")";
  }
  return text + "]";
}

bool same_rows(Rows a, Rows b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

class Harness {
 public:
  Harness(Session& session, const DataFrame& frame, OutputMode mode)
      : session_(session), frame_(frame), mode_(mode) {
    static std::atomic<int> counter{0};
    name_ = "stream_test_" + std::to_string(counter++);
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sluice-stream-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) checkpoint_ = pattern;
  }
  ~Harness() {
    if (query_ && query_->is_active()) (void)query_->stop();
    std::error_code ignored;
    if (!checkpoint_.empty()) std::filesystem::remove_all(checkpoint_, ignored);
  }

  Status run(const StreamAction& action) {
    return std::visit([this](const auto& a) { return apply(a); }, action);
  }
  bool started() const { return query_.has_value(); }

 private:
  Status start(Trigger trigger, std::shared_ptr<ManualClock> clock) {
    if (checkpoint_.empty()) return Status::io_error("cannot create a temporary checkpoint");
    if (clock) session_.state()->set_clock(clock);
    auto query = frame_.write_stream()
                     .format("memory")
                     .output_mode(mode_)
                     .query_name(name_)
                     .trigger(trigger)
                     .option("checkpointLocation", checkpoint_)
                     .start();
    if (!query.ok()) return query.status();
    query_ = *query;
    return Status::ok();
  }
  Status require_query() const {
    return query_ ? Status::ok() : Status::invalid_argument("no query is running (start_stream first)");
  }
  // The memory sink's rows so far, as a user of `mode` sees the result.
  Rows result() const {
    auto sink = session_.memory_table(name_);
    if (!sink) return {};
    if (mode_ != OutputMode::Complete) return sink->rows();
    auto epochs = sink->epochs();
    return epochs.empty() ? Rows{} : sink->epoch_rows(epochs.back());
  }

  // Data and time change only while no actor runs, so a seeded scheduler replays the run.
  Status apply(const AddData& a) {
    actors::await_quiet_scheduler(session_.system());
    return a.source->add_data(a.rows);
  }
  Status apply(const ProcessAllAvailable&) {
    SLUICE_RETURN_NOT_OK(require_query());
    return query_->process_all_available();
  }
  Status apply(const CheckAnswer& a) {
    SLUICE_RETURN_NOT_OK(apply(ProcessAllAvailable{}));
    Rows actual = result();
    seen_ = actual.size();
    if (same_rows(actual, a.rows)) return Status::ok();
    return Status::invalid_argument("check_answer: expected " + render(a.rows) + " but the sink has " + render(actual));
  }
  Status apply(const CheckNewAnswer& a) {
    SLUICE_RETURN_NOT_OK(apply(ProcessAllAvailable{}));
    Rows actual = result();
    Rows fresh(actual.begin() + static_cast<std::ptrdiff_t>(std::min(seen_, actual.size())), actual.end());
    seen_ = actual.size();
    if (same_rows(fresh, a.rows)) return Status::ok();
    return Status::invalid_argument("check_new_answer: expected " + render(a.rows) + " but got " + render(fresh));
  }
  Status apply(const CheckLastBatch& a) {
    SLUICE_RETURN_NOT_OK(apply(ProcessAllAvailable{}));
    auto sink = session_.memory_table(name_);
    auto epochs = sink ? sink->epochs() : std::vector<int64_t>{};
    Rows actual = epochs.empty() ? Rows{} : sink->epoch_rows(epochs.back());
    if (same_rows(actual, a.rows)) return Status::ok();
    return Status::invalid_argument("check_last_batch: expected " + render(a.rows) + " but the last epoch has " + render(actual));
  }
  Status apply(const StopStream&) {
    SLUICE_RETURN_NOT_OK(require_query());
    return query_->stop();
  }
  Status apply(const StartStream& a) { return start(a.trigger, a.clock); }
  Status apply(const AdvanceManualClock& a) {
    SLUICE_RETURN_NOT_OK(require_query());
    auto* clock = dynamic_cast<ManualClock*>(session_.state()->clock().get());
    if (clock == nullptr) return Status::invalid_argument("advance_manual_clock needs start_stream with a ManualClock");
    actors::await_quiet_scheduler(session_.system());
    clock->advance_micros(a.milliseconds * 1000);
    auto runtime = std::dynamic_pointer_cast<actors::QueryRuntime>(query_->handle());
    return runtime->clock_advanced();
  }
  Status apply(const ExpectFailure& a) {
    SLUICE_RETURN_NOT_OK(require_query());
    (void)query_->process_all_available();
    query_->await_termination();
    auto error = query_->exception();
    if (!error) return Status::invalid_argument("expect_failure: the query did not fail");
    if (error->code() != a.code || error->message().find(a.message_part) == std::string::npos) {
      return Status::invalid_argument("expect_failure: expected " + std::string(status_code_name(a.code)) +
                                      " containing '" + a.message_part + "', got " + error->to_string());
    }
    return Status::ok();
  }
  Status apply(const AssertOnQuery& a) {
    SLUICE_RETURN_NOT_OK(require_query());
    return a.check(*query_) ? Status::ok() : Status::invalid_argument("assert_on_query: " + a.message);
  }

  Session& session_;
  DataFrame frame_;
  OutputMode mode_;
  std::string name_;
  std::string checkpoint_;
  std::optional<StreamingQuery> query_;
  size_t seen_ = 0;
};

}  // namespace

Status test_stream(Session& session, const DataFrame& frame, OutputMode mode,
                   std::vector<StreamAction> actions) {
  Harness harness(session, frame, mode);
  if (actions.empty() || !std::holds_alternative<StartStream>(actions.front())) {
    actions.insert(actions.begin(), start_stream());
  }
  for (size_t i = 0; i < actions.size(); ++i) {
    Status status = harness.run(actions[i]);
    if (!status.is_ok()) return status.with_context("action " + std::to_string(i));
  }
  return Status::ok();
}

}  // namespace sluice::testing
