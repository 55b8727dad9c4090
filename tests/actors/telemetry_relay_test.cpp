#define BOOST_TEST_MODULE telemetry_relay
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <map>
#include <sstream>
#include <tuple>

#include "tests/support/temporary_directory.hpp"

using sluice::testing::TemporaryDirectory;

namespace {

// One printed window: (start s, device) -> (readings, mean, max).
using Windows = std::map<std::pair<int64_t, int64_t>, std::tuple<int64_t, double, double>>;

Windows run_example(int64_t devices, int64_t seconds, const std::string& work_dir,
                    std::string& text) {
  const std::string command = std::string(TELEMETRY_RELAY_PATH) + " " + std::to_string(devices) +
                              " " + std::to_string(seconds) + " " + work_dir;
  FILE* pipe = ::popen(command.c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
    text += buffer;
  BOOST_REQUIRE_MESSAGE(::pclose(pipe) == 0, text);
  Windows windows;
  std::istringstream lines(text);
  std::string word_window, word_device, word_readings, word_mean, word_max;
  int64_t start = 0, device = 0, readings = 0;
  double mean = 0, max = 0;
  while (lines >> word_window >> start >> word_device >> device >> word_readings >> readings >>
         word_mean >> mean >> word_max >> max) {
    BOOST_TEST(windows.count({start, device}) == 0u,
               "window " << start << " device " << device << " printed twice");
    windows[{start, device}] = {readings, mean, max};
  }
  return windows;
}

// The reference: the example's simulated readings, windows of 10 s that the watermark (the
// latest second minus 5 s) has passed.
Windows expected_windows(int64_t devices, int64_t seconds) {
  Windows windows;
  const int64_t watermark = seconds - 1 - 5;
  for (int64_t d = 0; d < devices; ++d) {
    for (int64_t start = 0; start + 10 <= watermark; start += 10) {
      int64_t n = 0;
      double sum = 0, max = 0;
      for (int64_t s = start; s < start + 10 && s < seconds; ++s) {
        const double value = static_cast<double>((7 * d + 13 * s) % 100) / 10.0;
        ++n;
        sum += value;
        max = n == 1 ? value : std::max(max, value);
      }
      windows[{start, d}] = {n, sum / static_cast<double>(n), max};
    }
  }
  return windows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_relay_prints_every_closed_window_of_every_device_once) {
  TemporaryDirectory work;
  std::string text;
  const Windows got = run_example(4, 47, work.path(), text);
  BOOST_TEST_MESSAGE(text);
  const Windows expected = expected_windows(4, 47);
  BOOST_REQUIRE(expected.size() == 16u);
  BOOST_TEST(got.size() == expected.size());
  for (const auto& [key, value] : expected) {
    auto it = got.find(key);
    BOOST_TEST_REQUIRE((it != got.end()),
                       "window " << key.first << " device " << key.second << " missing");
    BOOST_TEST(std::get<0>(it->second) == std::get<0>(value));
    BOOST_TEST(std::get<1>(it->second) == std::get<1>(value), boost::test_tools::tolerance(1e-3));
    BOOST_TEST(std::get<2>(it->second) == std::get<2>(value), boost::test_tools::tolerance(1e-9));
  }
}
