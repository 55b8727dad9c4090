#pragma once

#include <string>

namespace sluice::tools {

/// Runs a scale-out worker (`sluice worker --listen HOST:PORT`) until SIGINT or SIGTERM: hosts
/// the stateful partitions coordinators place on it (queries with option workers). Prints the
/// address it listens on, "HOST:PORT" with the bound port (port 0 picks a free one), as the
/// first line on stdout. Returns the process exit code: 2 for a malformed address, 1 when it
/// cannot listen.
int run_worker(const std::string& listen);

}  // namespace sluice::tools
