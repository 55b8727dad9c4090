#define BOOST_TEST_MODULE dashboard_browser
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sluice/sluice.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "monitoring/monitoring_server.hpp"
#include "plan/progress.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using sluice::testing::TemporaryDirectory;

namespace {

const std::string kSourceDir = SLUICE_SOURCE_DIR;
const std::string kChromium = "/usr/bin/chromium";

// Returns the path of `program` on PATH, or "" when it is not there.
std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream directories(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    const std::string candidate = (directory.empty() ? "." : directory) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct ChildResult {
  int exit_code = -1;  // -1: killed at the timeout
  std::string output;  // stdout and stderr
};

// Runs a program in `directory` in its own process group, output to a file, and waits at most
// `timeout`; on timeout kills that group (the browser the script started included).
ChildResult run(const std::vector<std::string>& argv, const std::string& directory,
                const std::string& output, std::chrono::seconds timeout) {
  std::vector<char*> args;
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  BOOST_REQUIRE_MESSAGE(pid >= 0, "fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec: the parent has other threads.
    ::setpgid(0, 0);
    const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::chdir(directory.c_str()) != 0) ::_exit(127);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ChildResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  result.output = read_file(output);
  return result;
}

}  // namespace

// Skipped, with the reason in the log, on a machine without Chromium (`make deps` installs it).
boost::test_tools::assertion_result chromium_installed(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result installed(::access(kChromium.c_str(), X_OK) == 0);
  installed.message() << kChromium << " is not installed, so the browser test is skipped: run `make deps` (Debian's chromium package)";
  return installed;
}

BOOST_AUTO_TEST_CASE(the_dashboard_draws_live_charts_and_shows_a_failed_query_in_a_real_browser,
                     *boost::unit_test::precondition(chromium_installed)) {
  const std::string node = find_on_path("node");
  BOOST_REQUIRE_MESSAGE(!node.empty(), "node is not installed: run `make deps`");
  BOOST_REQUIRE_MESSAGE(
      std::filesystem::exists(kSourceDir + "/node_modules/playwright-core/package.json"),
      "playwright-core is missing from " << kSourceDir << "/node_modules: run `make deps`");

  Session session;
  auto server = MonitoringServer::start(session);
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().to_string());
  // A rate source keeps rows coming while the page is open; a windowed count gives the charts
  // a watermark and state to draw.
  auto query = session.read_stream()
                   .format("rate")
                   .option("rowsPerSecond", "200")
                   .load()
                   .with_watermark("timestamp", "2 seconds")
                   .group_by(window(col("timestamp"), "1 second"))
                   .agg(count().alias("n"))
                   .write_stream()
                   .format("noop")
                   .trigger(Trigger::ProcessingTime(250ms))
                   .query_name("dashboard_demo")
                   .start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());

  // A query whose sink refuses its first epoch: the page must show it failed, and why.
  MemoryStream input(session, Schema::make({{"v", Type::Int64}}).value());
  auto doomed = input.to_df()
                    .write_stream()
                    .foreach_batch([](const RecordBatchPtr&, int64_t epoch) {
                      return Status::io_error("the archive refused epoch " + std::to_string(epoch));
                    })
                    .query_name("doomed_archive")
                    .start();
  BOOST_REQUIRE_MESSAGE(doomed.ok(), doomed.status().to_string());
  BOOST_REQUIRE(input.add_data({{Value(int64_t{1})}}).is_ok());
  BOOST_REQUIRE(doomed->await_termination(10s));
  BOOST_REQUIRE(doomed->exception());
  const std::string failure = "the archive refused epoch 0";
  BOOST_TEST(doomed->exception()->to_string().find(failure) != std::string::npos);

  // The first line of the physical plan, as explain() prints it.
  const std::string explain = query->explain();
  const std::string marker = "== Physical Plan ==\n";
  BOOST_REQUIRE(explain.find(marker) != std::string::npos);
  std::string plan_line = explain.substr(explain.find(marker) + marker.size());
  plan_line = plan_line.substr(0, plan_line.find('\n'));
  plan_line = plan_line.substr(plan_line.find_first_not_of(" +-:*"));

  TemporaryDirectory directory;
  const std::string screenshot = directory.file("dashboard.png");
  const std::string kept = SLUICE_DASHBOARD_SCREENSHOT_PATH;
  std::filesystem::remove(kept);
  const std::string config =
      "{\"url\":" + json_quote((*server)->url()) + ",\"queryName\":\"dashboard_demo\"" +
      ",\"planText\":" + json_quote(plan_line) + ",\"failedQueryName\":\"doomed_archive\"" +
      ",\"failedError\":" + json_quote(failure) + ",\"screenshots\":[" + json_quote(screenshot) +
      "," + json_quote(kept) +
      "],\"userDataDir\":" + json_quote(directory.file("chromium-profile")) + "}";
  const ChildResult check =
      run({node, kSourceDir + "/tests/monitoring/dashboard_check.mjs", config}, kSourceDir,
          directory.file("node-output.txt"), 60s);
  BOOST_TEST_MESSAGE("dashboard_check.mjs: " << check.output);
  BOOST_TEST(check.exit_code == 0, "dashboard_check.mjs exited with " << check.exit_code << ":\n"
                                                                      << check.output);
  BOOST_TEST(check.output.find("\"problems\":[]") != std::string::npos, check.output);

  // The screenshots are PNGs: one in the test's directory, one kept in the build directory (and
  // SLUICE_DASHBOARD_SCREENSHOT names a further copy) for a person to look at.
  for (const std::string& path : {screenshot, kept}) {
    const std::string picture = read_file(path);
    BOOST_TEST(picture.rfind("\x89PNG\r\n\x1a\n", 0) == 0u, "no PNG screenshot at " << path);
  }
  if (const char* keep = std::getenv("SLUICE_DASHBOARD_SCREENSHOT"); keep && *keep) {
    std::filesystem::copy_file(screenshot, keep, std::filesystem::copy_options::overwrite_existing);
  }
  BOOST_REQUIRE(query->stop().is_ok());
}
