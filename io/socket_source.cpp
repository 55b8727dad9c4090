#include "io/socket_source.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/column_builder.hpp"
#include "io/option_map.hpp"

namespace sluice {
namespace {

constexpr int64_t kRowsPerBatch = 65536;

// Hands out the lines of one epoch, copied out of the source's buffer when the reader opened.
class SocketReader final : public PartitionReader {
 public:
  SocketReader(SchemaPtr schema, std::vector<std::pair<std::string, int64_t>> lines, int64_t start)
      : schema_(std::move(schema)), lines_(std::move(lines)), start_(start) {}

  Result<ReadFlow> next(RecordBatchPtr& out) override {
    if (next_ >= lines_.size()) return ReadFlow::finished;
    const size_t end = std::min(lines_.size(), next_ + static_cast<size_t>(kRowsPerBatch));
    ColumnBuilder values(Type::String);
    ColumnBuilder times(Type::Timestamp);
    for (size_t i = next_; i < end; ++i) {
      values.append_string(lines_[i].first);
      times.append_timestamp(lines_[i].second);
    }
    std::vector<ColumnPtr> columns = {values.finish()};
    if (schema_->num_fields() == 2) columns.push_back(times.finish());
    out = RecordBatch::make_unchecked(schema_, std::move(columns), static_cast<int64_t>(end - next_));
    next_ = end;
    return ReadFlow::have_batch;
  }

  std::optional<int64_t> position() const override { return start_ + static_cast<int64_t>(next_); }

 private:
  SchemaPtr schema_;
  std::vector<std::pair<std::string, int64_t>> lines_;
  int64_t start_;
  size_t next_ = 0;
};

}  // namespace

Result<SocketSourceOptions> SocketSourceOptions::parse(const std::map<std::string, std::string>& raw) {
  OptionMap options("the socket source", raw);
  SocketSourceOptions parsed;
  parsed.host = options.take_or("host", "");
  SLUICE_ASSIGN_OR_RETURN(int64_t port, options.take_int("port", 0, 0));
  SLUICE_ASSIGN_OR_RETURN(parsed.include_timestamp, options.take_bool("includeTimestamp", false));
  SLUICE_RETURN_NOT_OK(options.check_all_used());
  if (parsed.host.empty()) return Status::invalid_argument("the socket source needs option host");
  if (port < 1 || port > 65535) {
    return Status::invalid_argument("the socket source needs option port (1 to 65535), got " + std::to_string(port));
  }
  parsed.port = static_cast<int>(port);
  return parsed;
}

SchemaPtr SocketSource::schema_for(const SocketSourceOptions& options) {
  std::vector<Field> fields = {{"value", Type::String, false}};
  if (options.include_timestamp) fields.push_back({"timestamp", Type::Timestamp, false});
  return Schema::make(std::move(fields)).value();
}

SocketSource::SocketSource(SocketSourceOptions options, std::shared_ptr<Clock> clock)
    : options_(std::move(options)), clock_(std::move(clock)), schema_(schema_for(options_)) {}

SocketSource::~SocketSource() {
  if (socket_ >= 0) ::shutdown(socket_, SHUT_RDWR);  // ends the receiver's recv
  if (receiver_.joinable()) receiver_.join();
  if (socket_ >= 0) ::close(socket_);
}

std::string SocketSource::description() const {
  return "TextSocketSource[host: " + options_.host + ", port: " + std::to_string(options_.port) + "]";
}

Status SocketSource::connect() {
  const std::string address = options_.host + ":" + std::to_string(options_.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(options_.host.c_str(), std::to_string(options_.port).c_str(), &hints, &found); rc != 0) {
    return Status::io_error("the socket source cannot resolve " + address + ": " + gai_strerror(rc));
  }
  int error = 0;
  for (addrinfo* candidate = found; candidate != nullptr; candidate = candidate->ai_next) {
    const int fd = ::socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC, candidate->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    if (::connect(fd, candidate->ai_addr, candidate->ai_addrlen) == 0) {
      socket_ = fd;
      break;
    }
    error = errno;
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (socket_ < 0) return Status::io_error("the socket source cannot connect to " + address + ": " + std::strerror(error));
  receiver_ = std::thread([this] { receive(); });
  return Status::ok();
}

void SocketSource::receive() {
  std::string partial;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t received = ::recv(socket_, buffer, sizeof(buffer), 0);
    if (received < 0 && errno == EINTR) continue;
    if (received <= 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!partial.empty()) lines_.push_back({std::move(partial), clock_->now_micros()});
      if (received < 0) receive_error_ = std::strerror(errno);
      return;
    }
    const int64_t now = clock_->now_micros();
    std::lock_guard<std::mutex> lock(mutex_);
    for (ssize_t i = 0; i < received; ++i) {
      if (buffer[i] != '\n') {
        partial.push_back(buffer[i]);
        continue;
      }
      if (!partial.empty() && partial.back() == '\r') partial.pop_back();
      lines_.push_back({std::move(partial), now});
      partial.clear();
    }
  }
}

Result<SourceOffset> SocketSource::latest_offset(const SourceOffset& start, const ReadLimit& limit) {
  if (socket_ < 0) SLUICE_RETURN_NOT_OK(connect());
  std::lock_guard<std::mutex> lock(mutex_);
  if (!receive_error_.empty()) {
    return Status::io_error("the socket source lost its connection to " + options_.host + ":" +
                            std::to_string(options_.port) + ": " + receive_error_);
  }
  // Lines received before the first plan take the offsets after the checkpoint's last range.
  if (base_ < 0) base_ = start.empty() ? 0 : start[0];
  int64_t latest = base_ + static_cast<int64_t>(lines_.size());
  if (!limit.everything && limit.max_rows > 0 && !start.empty()) latest = std::min(latest, start[0] + limit.max_rows);
  return SourceOffset{latest};
}

Result<std::unique_ptr<PartitionReader>> SocketSource::open_reader(int partition, int64_t start, int64_t end) {
  if (partition != 0) return Status::invalid_argument("the socket source has one partition, not " + std::to_string(partition + 1));
  std::vector<std::pair<std::string, int64_t>> lines;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Offsets below base_ belong to a run before a restart: those lines are gone (at-most-once).
    if (base_ >= 0) {
      const int64_t from = std::max(start, base_);
      const int64_t to = std::min(end, base_ + static_cast<int64_t>(lines_.size()));
      for (int64_t offset = from; offset < to; ++offset) {
        const Line& line = lines_[static_cast<size_t>(offset - base_)];
        lines.emplace_back(line.text, line.arrival_micros);
      }
    }
  }
  return std::unique_ptr<PartitionReader>(std::make_unique<SocketReader>(schema_, std::move(lines), start));
}

Status SocketSource::commit(const SourceOffset& end) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (base_ < 0 || end.empty()) return Status::ok();
  while (base_ < end[0] && !lines_.empty()) {
    lines_.pop_front();
    ++base_;
  }
  return Status::ok();
}

}  // namespace sluice
