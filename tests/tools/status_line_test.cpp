#define BOOST_TEST_MODULE status_line
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <string>

#include "tools/status_line.hpp"

using namespace sluice;
using namespace sluice::tools;

namespace {

StreamingQueryProgress progress() {
  StreamingQueryProgress report;
  report.batch_id = 7;
  report.input_rows_per_second = 120.25;
  report.processed_rows_per_second = 4000;
  report.event_time["watermark"] = "2024-01-01T00:00:05.000Z";
  SourceProgress source;
  source.end_offset = "[40,42]";
  source.latest_offset = "[45,50]";
  report.sources.push_back(source);
  StateOperatorProgress state;
  state.num_rows_total = 12;
  report.state_operators.push_back(state);
  return report;
}

// Captures what a StatusBoard writes.
class Capture {
 public:
  Capture() : file_(std::tmpfile()) {}
  ~Capture() { std::fclose(file_); }
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    std::rewind(file_);
    std::string out;
    for (int c = std::fgetc(file_); c != EOF; c = std::fgetc(file_))
      out += static_cast<char>(c);
    return out;
  }

 private:
  std::FILE* file_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_status_line_shows_epoch_rates_watermark_lag_and_state) {
  BOOST_TEST(status_line("top_bids", progress()) ==
             "top_bids: epoch 7, input 120.2 rows/s, processed 4000.0 rows/s, watermark "
             "2024-01-01T00:00:05.000Z, lag 13 rows, state 12 rows");
  BOOST_TEST(status_line("top_bids", std::nullopt) == "top_bids: starting");
}

BOOST_AUTO_TEST_CASE(the_board_redraws_its_lines_in_place) {
  Capture capture;
  StatusBoard board(capture.file());
  board.draw({"a: starting", "b: starting"}, false);
  board.draw({"a: epoch 1", "b: epoch 1"}, false);
  BOOST_TEST(capture.text() ==
             "\x1b[2Ka: starting\n\x1b[2Kb: starting\n"
             "\x1b[2A\r\x1b[2Ka: epoch 1\n\x1b[2Kb: epoch 1\n");
}

BOOST_AUTO_TEST_CASE(the_board_never_overwrites_output_printed_after_it) {
  Capture capture;
  StatusBoard board(capture.file());
  board.draw({"a: starting"}, false);
  board.draw({"a: epoch 1"}, true);
  BOOST_TEST(capture.text() == "\x1b[2Ka: starting\n\x1b[2Ka: epoch 1\n");
}
