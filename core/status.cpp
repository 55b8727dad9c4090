#include "core/status.hpp"

#include <ostream>

namespace sluice {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::invalid_argument: return "invalid argument";
    case StatusCode::type_error: return "type error";
    case StatusCode::not_found: return "not found";
    case StatusCode::corrupt: return "corrupt";
    case StatusCode::io_error: return "I/O error";
    case StatusCode::out_of_range: return "out of range";
    case StatusCode::aborted: return "aborted";
    case StatusCode::internal: return "internal error";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message_;
}

std::ostream& operator<<(std::ostream& out, StatusCode code) { return out << status_code_name(code); }
std::ostream& operator<<(std::ostream& out, const Status& status) { return out << status.to_string(); }

}  // namespace sluice
