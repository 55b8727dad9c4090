#include "actors/crash_point.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace sluice::actors {

namespace {

struct Target {
  std::string point;
  int64_t epoch = -1;
};

Target read_target() {
  Target target;
  const char* text = std::getenv("SLUICE_CRASH_AT");
  if (text == nullptr) return target;
  std::string spec(text);
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos) return target;
  target.point = spec.substr(0, colon);
  target.epoch = std::strtoll(spec.c_str() + colon + 1, nullptr, 10);
  return target;
}

}  // namespace

void crash_point(std::string_view point, int64_t epoch) {
  static const Target target = read_target();
  if (target.epoch == epoch && target.point == point) ::_exit(kCrashPointExitCode);
}

}  // namespace sluice::actors
