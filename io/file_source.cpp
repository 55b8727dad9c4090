#include "io/file_source.hpp"

#include "io/hive_partitions.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "core/schema.hpp"
#include "io/file_sink.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

bool is_glob(std::string_view path) {
  return path.find_first_of("*?[") != std::string_view::npos;
}

bool is_hidden(std::string_view name) {
  return !name.empty() && (name.front() == '_' || name.front() == '.');
}

// The directory part of a glob that holds no wildcard: listing starts there.
std::string glob_base(const std::string& pattern) {
  const size_t wildcard = pattern.find_first_of("*?[");
  const size_t slash = pattern.rfind('/', wildcard);
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : pattern.substr(0, slash);
}

Result<int64_t> parse_age(const std::string& text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  while (!unit.empty() && unit.front() == ' ')
    unit.remove_prefix(1);
  static const std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1000},         {"s", 1'000'000},      {"m", 60'000'000},           {"min", 60'000'000},
      {"h", 3'600'000'000}, {"d", 86'400'000'000}, {"w", 7 * 86'400'000'000LL}, {"", 1000}};
  if (error == std::errc() && value >= 0) {
    for (const auto& [name, micros] : kUnits) {
      if (unit == name) return value * micros;
    }
  }
  return Status::invalid_argument(
      "option 'maxFileAge' must be a duration such as 7d, 12h, 30m, 10s, got '" + text + "'");
}

std::string escape_field(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string unescape_field(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      ++i;
      out.push_back(text[i] == 'n' ? '\n' : text[i] == 't' ? '\t' : text[i]);
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (true) {
    const size_t end = text.find(separator, pos);
    parts.push_back(
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) return parts;
    pos = end + 1;
  }
}

bool parse_number(std::string_view text, int64_t& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

// Partition values of a file from its directories below the source directory ("k=v/...").
std::map<std::string, std::string> partition_values(const std::string& relative) {
  std::map<std::string, std::string> values;
  const auto parts = split(relative, '/');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const size_t equals = parts[i].find('=');
    if (equals == std::string_view::npos || equals == 0) continue;
    values[std::string(parts[i].substr(0, equals))] =
        unescape_partition_value(parts[i].substr(equals + 1));
  }
  return values;
}

// The state entry holding how many positions are committed.
constexpr const char* kPositionsKey = "positions";

// Converts a partition directory's text to the column's type, as the parser does for rows;
// nullopt when it does not convert (the filter is then not used to prune).
std::optional<Value> partition_value(const std::optional<std::string>& text, Type type) {
  if (!text || *text == "__HIVE_DEFAULT_PARTITION__") return Value();
  switch (type) {
    case Type::String:
      return Value(*text);
    case Type::Int64: {
      int64_t number = 0;
      if (!parse_number(*text, number)) return std::nullopt;
      return Value(number);
    }
    case Type::Double: {
      double number = 0;
      auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), number);
      if (error != std::errc() || end != text->data() + text->size()) return std::nullopt;
      return Value(number);
    }
    case Type::Bool:
      if (*text == "true") return Value(true);
      if (*text == "false") return Value(false);
      return std::nullopt;
    default:
      return std::nullopt;  // timestamps follow timestampFormat: not pruned
  }
}

// A file's content in a buffer reused from file to file: it only grows, so reading a stream of
// files neither zero-fills nor maps fresh pages for each one.
struct ReadBuffer {
  std::string bytes;  ///< content, then RecordParser::kPadding zero bytes, then unused room
  size_t length = 0;  ///< bytes of content
  bool missing = false;

  std::string_view content() const { return {bytes.data(), length}; }
};

Status read_whole_file(const std::string& path, ReadBuffer& buffer) {
  buffer.length = 0;
  buffer.missing = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      buffer.missing = true;
      return Status::ok();
    }
    return Status::io_error("cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status::io_error(path + " is not a readable regular file");
  }
  std::string& bytes = buffer.bytes;
  const size_t wanted = static_cast<size_t>(info.st_size) + RecordParser::kPadding + 1;
  if (bytes.size() < wanted) bytes.resize(wanted);
  size_t filled = 0;
  while (true) {
    // The file may grow while it is read: keep room for the padding.
    if (filled + RecordParser::kPadding + 1 >= bytes.size()) bytes.resize(bytes.size() * 2);
    const ssize_t got = ::read(fd, bytes.data() + filled, bytes.size() - RecordParser::kPadding - filled);
    if (got < 0) {
      if (errno == EINTR) continue;
      const std::string message = std::strerror(errno);
      ::close(fd);
      return Status::io_error("cannot read " + path + ": " + message);
    }
    if (got == 0) break;
    filled += static_cast<size_t>(got);
  }
  ::close(fd);
  std::memset(bytes.data() + filled, 0, RecordParser::kPadding);
  buffer.length = filled;
  return Status::ok();
}

Status write_bad_records(const std::string& directory, int64_t position, const std::string& file,
                         const std::vector<BadRecord>& records) {
  std::error_code error;
  fs::create_directories(directory, error);
  if (error)
    return Status::io_error("cannot create badRecordsPath " + directory + ": " + error.message());
  std::string content;
  for (const auto& record : records) {
    content += "{\"path\":";
    append_json_string(record.file, content);
    content += ",\"line\":" + std::to_string(record.line) + ",\"reason\":";
    append_json_string(record.reason, content);
    content += ",\"record\":";
    append_json_string(record.text, content);
    content += "}\n";
  }
  // Named by the file's position, so a replayed epoch rewrites the same file.
  const std::string name =
      std::to_string(position) + "-" + fs::path(file).filename().string() + ".json";
  const std::string temporary = directory + "/." + name + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::io_error("cannot create " + temporary + ": " + std::strerror(errno));
  std::string_view rest = content;
  while (!rest.empty()) {
    const ssize_t written = ::write(fd, rest.data(), rest.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) {
      ::close(fd);
      return Status::io_error("cannot write " + temporary + ": " + std::strerror(errno));
    }
    rest.remove_prefix(static_cast<size_t>(written));
  }
  ::close(fd);
  if (std::rename(temporary.c_str(), (directory + "/" + name).c_str()) != 0) {
    return Status::io_error("cannot rename " + temporary + ": " + std::strerror(errno));
  }
  return Status::ok();
}

class FileReader final : public PartitionReader {
 public:
  FileReader(std::vector<std::pair<int64_t, SourceFile>> files,
             std::shared_ptr<const RecordParser> parser, const FileSourceOptions& options,
             std::shared_ptr<std::atomic<int64_t>> bad_records)
      : files_(std::move(files)),
        parser_(std::move(parser)),
        options_(options),
        bad_records_(std::move(bad_records)),
        builder_(parser_->output_schema()) {}

  Result<ReadFlow> next(RecordBatchPtr& out) override {
    while (true) {
      if (pending_.empty() && index_ >= files_.size()) return ReadFlow::finished;
      if (!pending_.empty()) {
        out = std::move(pending_.front());
        pending_.erase(pending_.begin());
        return ReadFlow::have_batch;
      }
      const auto& [position, file] = files_[index_++];
      SLUICE_RETURN_NOT_OK(read_whole_file(file.path, buffer_));
      if (buffer_.missing) {
        if (options_.ignore_missing_files) continue;
        return Status::not_found(
            "file " + file.path + " (position " + std::to_string(position) +
            ") was deleted before it was read; set ignoreMissingFiles=true to skip such files");
      }
      std::vector<BadRecord> bad;
      SLUICE_RETURN_NOT_OK(
          parser_->parse(file.path, buffer_.content(), partition_values(file.relative), builder_, bad));
      if (!bad.empty()) {
        bad_records_->fetch_add(static_cast<int64_t>(bad.size()));
        if (!options_.format.bad_records_path.empty()) {
          SLUICE_RETURN_NOT_OK(
              write_bad_records(options_.format.bad_records_path, position, file.path, bad));
        }
      }
      if (builder_.num_rows() == 0) continue;
      SLUICE_ASSIGN_OR_RETURN(RecordBatchPtr batch, builder_.finish());
      for (int64_t offset = 0; offset < batch->num_rows(); offset += options_.rows_per_batch) {
        pending_.push_back(
            batch->slice(offset, std::min(options_.rows_per_batch, batch->num_rows() - offset)));
      }
    }
  }

 private:
  std::vector<std::pair<int64_t, SourceFile>> files_;
  std::shared_ptr<const RecordParser> parser_;
  FileSourceOptions options_;
  std::shared_ptr<std::atomic<int64_t>> bad_records_;
  RecordBatchBuilder builder_;
  std::vector<RecordBatchPtr> pending_;
  size_t index_ = 0;
  ReadBuffer buffer_;
};

}  // namespace

Result<FileSourceOptions> FileSourceOptions::parse(FileFormat format, std::string path,
                                                   std::map<std::string, std::string> options) {
  FileSourceOptions parsed;
  if (path.empty()) {
    auto it = options.find("path");
    if (it != options.end()) path = it->second;
  }
  options.erase("path");
  if (path.empty()) {
    return Status::invalid_argument("the " + std::string(file_format_name(format)) +
                                    " source needs a path: load(directory)");
  }
  parsed.path = std::move(path);
  SLUICE_ASSIGN_OR_RETURN(parsed.format, FileFormatOptions::parse(format, options));
  auto take = [&](const std::string& key) -> std::optional<std::string> {
    auto it = options.find(key);
    if (it == options.end()) return std::nullopt;
    std::string value = it->second;
    options.erase(it);
    return value;
  };
  auto integer = [&](const std::string& key, int64_t& target) -> Status {
    auto value = take(key);
    if (!value) return Status::ok();
    if (!parse_number(*value, target) || target < 1) {
      return Status::invalid_argument("option '" + key + "' must be an integer >= 1, got '" +
                                      *value + "'");
    }
    return Status::ok();
  };
  auto boolean = [&](const std::string& key, bool& target) -> Status {
    auto value = take(key);
    if (!value) return Status::ok();
    if (*value != "true" && *value != "false") {
      return Status::invalid_argument("option '" + key + "' must be true or false, got '" + *value +
                                      "'");
    }
    target = *value == "true";
    return Status::ok();
  };
  SLUICE_RETURN_NOT_OK(integer("maxFilesPerTrigger", parsed.max_files_per_trigger));
  SLUICE_RETURN_NOT_OK(integer("maxBytesPerTrigger", parsed.max_bytes_per_trigger));
  SLUICE_RETURN_NOT_OK(integer("rowsPerBatch", parsed.rows_per_batch));
  SLUICE_RETURN_NOT_OK(boolean("latestFirst", parsed.latest_first));
  SLUICE_RETURN_NOT_OK(boolean("fileNameOnly", parsed.file_name_only));
  SLUICE_RETURN_NOT_OK(boolean("recursiveFileLookup", parsed.recursive));
  SLUICE_RETURN_NOT_OK(boolean("ignoreMissingFiles", parsed.ignore_missing_files));
  SLUICE_RETURN_NOT_OK(boolean("inferSchema", parsed.infer_schema));
  if (auto age = take("maxFileAge")) {
    SLUICE_ASSIGN_OR_RETURN(parsed.max_file_age_micros, parse_age(*age));
  }
  if (auto clean = take("cleanSource")) {
    if (*clean == "off") {
      parsed.clean_source = Cleanup::off;
    } else if (*clean == "delete") {
      parsed.clean_source = Cleanup::remove;
    } else if (*clean == "archive") {
      parsed.clean_source = Cleanup::archive;
    } else {
      return Status::invalid_argument("option 'cleanSource' must be off, delete or archive, got '" +
                                      *clean + "'");
    }
  }
  if (auto archive = take("sourceArchiveDir")) parsed.archive_dir = *archive;
  if (parsed.clean_source == Cleanup::archive && parsed.archive_dir.empty()) {
    return Status::invalid_argument("cleanSource=archive needs option 'sourceArchiveDir'");
  }
  if (!options.empty()) {
    const std::string& key = options.begin()->first;
    std::vector<std::string> known = {"path",
                                      "mode",
                                      "badRecordsPath",
                                      "maxRecordLength",
                                      "columnNameOfCorruptRecord",
                                      "maxFilesPerTrigger",
                                      "maxBytesPerTrigger",
                                      "rowsPerBatch",
                                      "latestFirst",
                                      "fileNameOnly",
                                      "recursiveFileLookup",
                                      "ignoreMissingFiles",
                                      "inferSchema",
                                      "maxFileAge",
                                      "cleanSource",
                                      "sourceArchiveDir"};
    if (format != FileFormat::text) known.push_back("timestampFormat");
    if (format == FileFormat::csv) {
      for (const char* name : {"header", "sep", "delimiter", "quote", "escape", "nullValue"})
        known.push_back(name);
    }
    std::string message =
        "unknown option '" + key + "' for the " + std::string(file_format_name(format)) + " source";
    if (std::string suggestion = closest_name(key, known); !suggestion.empty()) {
      message += "; did you mean '" + suggestion + "'?";
    }
    return Status::invalid_argument(message);
  }
  return parsed;
}

FileSource::FileSource(FileSourceOptions options, SchemaPtr full)
    : options_(std::move(options)), full_(full), output_(std::move(full)) {}

Result<std::vector<SourceFile>> FileSource::list_files() const {
  std::vector<SourceFile> files;
  pruned_directories_ = 0;
  const bool glob = is_glob(options_.path);
  const std::string base = glob ? glob_base(options_.path) : options_.path;
  std::error_code error;
  if (!fs::is_directory(base, error)) {
    return Status::not_found("the file source directory " + base +
                             " does not exist (or is not a directory)");
  }
  auto add = [&](const fs::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return;
    SourceFile file;
    file.path = path.string();
    file.relative = fs::relative(path, base, error).string();
    if (!partition_filters_.empty() && !partitions_may_match(file.relative)) return;
    file.modified_micros =
        static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000 + info.st_mtim.tv_nsec / 1000;
    file.size = static_cast<int64_t>(info.st_size);
    files.push_back(std::move(file));
  };
  if (!glob && has_manifest(base)) {
    // A file sink's output: only files its manifest committed.
    SLUICE_ASSIGN_OR_RETURN(FileManifest manifest, read_manifest(base));
    for (const auto& relative : manifest.files)
      add(fs::path(base) / relative);
    return files;
  }
  for (fs::recursive_directory_iterator it(base, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    std::error_code type_error;
    if (it->is_directory(type_error)) {
      // Partition directories (key=value) are always read; others only when recursive or globbing.
      const bool partition = name.find('=') != std::string::npos;
      bool descend = !is_hidden(name) && (glob || options_.recursive || partition);
      if (descend && partition && !partition_filters_.empty() &&
          !partitions_may_match(fs::relative(it->path(), base, error).string() + "/")) {
        ++pruned_directories_;
        descend = false;
      }
      if (!descend) it.disable_recursion_pending();
      continue;
    }
    if (is_hidden(name)) continue;
    if (glob && ::fnmatch(options_.path.c_str(), it->path().c_str(), FNM_PATHNAME) != 0) continue;
    add(it->path());
  }
  if (error && error != std::errc::no_such_file_or_directory) {
    return Status::io_error("cannot list " + base + ": " + error.message());
  }
  return files;
}

Result<std::shared_ptr<FileSource>> FileSource::make(FileSourceOptions options, SchemaPtr schema) {
  std::shared_ptr<FileSource> source(new FileSource(options, nullptr));
  SLUICE_ASSIGN_OR_RETURN(std::vector<SourceFile> files, source->list_files());
  std::sort(files.begin(), files.end(), [](const SourceFile& a, const SourceFile& b) {
    return std::tie(a.modified_micros, a.path) < std::tie(b.modified_micros, b.path);
  });
  std::vector<std::string> keys;
  for (const auto& file : files) {
    for (const auto& [key, value] : partition_values(file.relative)) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
  }
  if (!options.partition_keys.empty()) keys = options.partition_keys;
  const FileFormat format = options.format.format;
  if (!schema && format == FileFormat::text)
    schema = Schema::make({{"value", Type::String, true}}).value();
  if (!schema) {
    if (!options.infer_schema) {
      return Status::invalid_argument(
          "the " + std::string(file_format_name(format)) +
          " source needs a schema: call schema(...) or set option inferSchema=true");
    }
    std::vector<std::string> samples;
    int64_t sampled = 0;
    for (const auto& file : files) {
      if (sampled > (1 << 20) || samples.size() >= 8) break;
      ReadBuffer content;
      SLUICE_RETURN_NOT_OK(read_whole_file(file.path, content));
      if (content.missing) continue;
      sampled += static_cast<int64_t>(content.length);
      samples.emplace_back(content.content());
    }
    if (samples.empty()) {
      return Status::invalid_argument("cannot infer a schema: " + options.path +
                                      " holds no files yet; give schema(...)");
    }
    SLUICE_ASSIGN_OR_RETURN(schema, infer_schema(options.format, samples));
  }
  std::vector<Field> fields = schema->fields();
  for (const auto& key : keys) {
    if (schema->find(key) < 0) fields.push_back({key, Type::String, true});
  }
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr full, Schema::make(std::move(fields)));
  // Check once that the schema parses (types of the text format, the corrupt-record column).
  SLUICE_RETURN_NOT_OK(RecordParser::make(options.format, full, keys, full).status());
  source->options_ = std::move(options);
  source->full_ = full;
  source->output_ = full;
  source->partition_keys_ = std::move(keys);
  return source;
}

std::string FileSource::description() const {
  return "FileStreamSource[" + std::string(file_format_name(options_.format.format)) + ", " +
         options_.path + "]";
}

std::string FileSource::key_of(const SourceFile& file) const {
  return options_.file_name_only ? fs::path(file.path).filename().string() : file.path;
}

Result<SourceOffset> FileSource::latest_offset(const SourceOffset& start, const ReadLimit& limit) {
  (void)start;
  std::lock_guard lock(mutex_);
  if (limit.everything) {
    // How far the files available now reach, without giving them positions yet: later
    // triggers assign them in order, each within its limits.
    SLUICE_ASSIGN_OR_RETURN(std::vector<SourceFile> files, list_files());
    int64_t fresh = 0;
    for (const auto& file : files) {
      const std::string key = key_of(file);
      if (!seen_.count(key) && !assigned_keys_.count(key)) ++fresh;
    }
    return SourceOffset{next_position_ + fresh};
  }
  // Files given positions but not yet logged count toward this trigger's limits.
  int64_t pending_files = next_position_ - logged_until_;
  int64_t pending_bytes = 0;
  for (auto it = assigned_.lower_bound(logged_until_); it != assigned_.end(); ++it)
    pending_bytes += it->second.size;
  const bool files_full =
      options_.max_files_per_trigger > 0 && pending_files >= options_.max_files_per_trigger;
  const bool bytes_full = options_.max_bytes_per_trigger > 0 && pending_files > 0 &&
                          pending_bytes >= options_.max_bytes_per_trigger;
  if (files_full || bytes_full) return SourceOffset{next_position_};
  SLUICE_ASSIGN_OR_RETURN(std::vector<SourceFile> files, list_files());
  for (const auto& file : files)
    newest_modified_ = std::max(newest_modified_, file.modified_micros);
  // As in Spark, maxFileAge does not apply when latestFirst and maxFilesPerTrigger are both set.
  const bool age_applies = !(options_.latest_first && options_.max_files_per_trigger > 0);
  const int64_t oldest = newest_modified_ - options_.max_file_age_micros;
  std::vector<SourceFile> fresh;
  for (auto& file : files) {
    const std::string key = key_of(file);
    if (seen_.count(key) || assigned_keys_.count(key)) continue;
    if (age_applies && file.modified_micros < oldest) continue;
    fresh.push_back(std::move(file));
  }
  std::sort(fresh.begin(), fresh.end(), [&](const SourceFile& a, const SourceFile& b) {
    if (options_.latest_first)
      return std::tie(b.modified_micros, b.path) < std::tie(a.modified_micros, a.path);
    return std::tie(a.modified_micros, a.path) < std::tie(b.modified_micros, b.path);
  });
  for (auto& file : fresh) {
    if (options_.max_files_per_trigger > 0 && pending_files >= options_.max_files_per_trigger)
      break;
    if (options_.max_bytes_per_trigger > 0 && pending_files > 0 &&
        pending_bytes + file.size > options_.max_bytes_per_trigger) {
      break;
    }
    ++pending_files;
    pending_bytes += file.size;
    assigned_keys_.insert(key_of(file));
    assigned_.emplace(next_position_++, std::move(file));
  }
  return SourceOffset{next_position_};
}

Result<std::unique_ptr<PartitionReader>> FileSource::open_reader(int partition, int64_t start,
                                                                 int64_t end) {
  if (partition != 0) {
    return Status::invalid_argument("the file source has one partition, asked for partition " +
                                    std::to_string(partition));
  }
  std::vector<std::pair<int64_t, SourceFile>> files;
  {
    std::lock_guard lock(mutex_);
    for (int64_t position = start; position < end; ++position) {
      auto it = assigned_.find(position);
      if (it == assigned_.end()) {
        return Status::internal("the file source knows no file at position " +
                                std::to_string(position) +
                                " (the write-ahead entry of this range lacks it)");
      }
      files.emplace_back(position, it->second);
    }
  }
  SLUICE_ASSIGN_OR_RETURN(auto parser,
                          RecordParser::make(options_.format, full_, partition_keys_, output_));
  return std::unique_ptr<PartitionReader>(
      new FileReader(std::move(files), std::move(parser), options_, bad_records_));
}

std::string FileSource::save_metadata() const {
  std::lock_guard lock(mutex_);
  // A replayed epoch must log byte for byte what it logged before the restart.
  if (!replay_entries_.empty()) {
    auto [end, text] = std::move(replay_entries_.front());
    replay_entries_.pop_front();
    logged_until_ = end;
    return text;
  }
  // The entry names exactly the files of the planned range [logged_until_, next_position_).
  std::string text =
      "files v1 " + std::to_string(logged_until_) + " " + std::to_string(next_position_) + "\n";
  for (auto it = assigned_.lower_bound(logged_until_);
       it != assigned_.end() && it->first < next_position_; ++it) {
    const SourceFile& file = it->second;
    text += std::to_string(it->first) + "\t" + std::to_string(file.modified_micros) + "\t" +
            std::to_string(file.size) + "\t" + escape_field(file.path) + "\t" +
            escape_field(file.relative) + "\n";
  }
  logged_until_ = next_position_;
  return text;
}

Status FileSource::restore_metadata(std::string_view saved) {
  std::lock_guard lock(mutex_);
  if (saved.empty()) return Status::ok();
  auto corrupt = [&](const std::string& what) {
    return Status::corrupt("file source entry in the offsets log: " + what);
  };
  const auto lines = split(saved, '\n');
  const auto header = split(lines[0], ' ');
  int64_t start = 0, end = 0;
  if (header.size() != 4 || header[0] != "files" || header[1] != "v1" ||
      !parse_number(header[2], start) || !parse_number(header[3], end)) {
    return corrupt("bad header '" + std::string(lines[0]) + "'");
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto parts = split(lines[i], '\t');
    SourceFile file;
    int64_t position = 0;
    if (parts.size() != 5 || !parse_number(parts[0], position) ||
        !parse_number(parts[1], file.modified_micros) || !parse_number(parts[2], file.size)) {
      return corrupt("bad line " + std::to_string(i + 1));
    }
    file.path = unescape_field(parts[3]);
    file.relative = unescape_field(parts[4]);
    assigned_keys_.insert(key_of(file));
    assigned_.emplace(position, std::move(file));
  }
  restored_entries_.emplace_back(end, std::string(saved));
  next_position_ = std::max(next_position_, end);
  return Status::ok();
}

Status FileSource::recover(std::shared_ptr<const SourceStateReader> committed) {
  std::lock_guard lock(mutex_);
  seen_.clear();
  int64_t committed_files = 0;
  Status scanned = committed->scan_prefix("f/", [&](std::string_view key, std::string_view value) {
    int64_t modified = 0;
    (void)parse_number(value, modified);
    seen_.emplace(std::string(key.substr(2)), modified);
    newest_modified_ = std::max(newest_modified_, modified);
    ++committed_files;
    return true;
  });
  SLUICE_RETURN_NOT_OK(scanned.with_context("reading the files the file source already read"));
  // The committed positions; checkpoints written before old files were forgotten have no entry,
  // and there every committed position put exactly one file into the state.
  int64_t committed_end = static_cast<int64_t>(seen_.size());
  scanned = committed->scan_prefix(kPositionsKey, [&](std::string_view key, std::string_view value) {
    if (key == kPositionsKey) (void)parse_number(value, committed_end);
    return true;
  });
  SLUICE_RETURN_NOT_OK(scanned.with_context("reading the file source's committed position"));
  for (auto it = assigned_.begin(); it != assigned_.end();) {
    if (it->first < committed_end) {
      assigned_keys_.erase(key_of(it->second));
      it = assigned_.erase(it);
    } else {
      ++it;
    }
  }
  // Logged entries past the commit are re-run first, and must be logged again unchanged.
  // An epoch that read no file (it only moved the watermark) ends at committed_end too: it is a
  // replay unless it is the first entry, the last committed epoch's (restored first).
  for (size_t i = 0; i < restored_entries_.size(); ++i) {
    auto& entry = restored_entries_[i];
    const bool empty_replay = i > 0 && entry.first == committed_end &&
                              entry.second.rfind("files v1 " + std::to_string(committed_end) + " ", 0) == 0;
    if (entry.first > committed_end || empty_replay) replay_entries_.push_back(std::move(entry));
  }
  restored_entries_.clear();
  committed_position_ = state_written_until_ = logged_until_ = committed_end;
  next_position_ = std::max(next_position_, committed_end);
  (void)committed_files;
  return Status::ok();
}

std::vector<std::pair<std::string, std::optional<std::string>>> FileSource::state_changes(
    const SourceOffset& end) {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::optional<std::string>>> changes;
  const int64_t until = end.empty() ? 0 : end[0];
  for (auto it = assigned_.lower_bound(state_written_until_);
       it != assigned_.end() && it->first < until; ++it) {
    changes.emplace_back("f/" + key_of(it->second), std::to_string(it->second.modified_micros));
    seen_.emplace(key_of(it->second), it->second.modified_micros);
  }
  if (until > state_written_until_) changes.emplace_back(kPositionsKey, std::to_string(until));
  state_written_until_ = std::max(state_written_until_, until);
  // As Spark's seenFiles: files older than maxFileAge before the newest one are never listed
  // again (latest_offset skips them), so the state forgets them and stays bounded.
  const bool age_applies = !(options_.latest_first && options_.max_files_per_trigger > 0);
  const int64_t oldest = newest_modified_ - options_.max_file_age_micros;
  if (age_applies && oldest > purged_until_) {
    for (auto it = seen_.begin(); it != seen_.end();) {
      if (it->second < oldest) {
        changes.emplace_back("f/" + it->first, std::nullopt);
        it = seen_.erase(it);
      } else {
        ++it;
      }
    }
    purged_until_ = oldest;
  }
  return changes;
}

Status FileSource::commit(const SourceOffset& end) {
  std::vector<SourceFile> done;
  {
    std::lock_guard lock(mutex_);
    const int64_t until = end.empty() ? 0 : end[0];
    for (auto it = assigned_.begin(); it != assigned_.end() && it->first < until;) {
      assigned_keys_.erase(key_of(it->second));
      done.push_back(std::move(it->second));
      it = assigned_.erase(it);
    }
    committed_position_ = std::max(committed_position_, until);
  }
  // cleanSource is best effort, as in Spark: a file that cannot be moved stays where it is.
  for (const auto& file : done) {
    std::error_code ignored;
    if (options_.clean_source == FileSourceOptions::Cleanup::remove) {
      fs::remove(file.path, ignored);
    } else if (options_.clean_source == FileSourceOptions::Cleanup::archive) {
      const fs::path target = fs::path(options_.archive_dir) / file.relative;
      fs::create_directories(target.parent_path(), ignored);
      fs::rename(file.path, target, ignored);
    }
  }
  return Status::ok();
}

void FileSource::push_filters(const std::vector<Expr>& filters) {
  for (const auto& filter : filters) {
    PartitionFilter partition_filter;
    partition_filter.columns = filter.referenced_columns();
    std::vector<Field> fields;
    bool usable = !partition_filter.columns.empty();
    for (const auto& column : partition_filter.columns) {
      const int index = full_->find(column);
      usable = usable && index >= 0 &&
               std::find(partition_keys_.begin(), partition_keys_.end(), column) != partition_keys_.end() &&
               full_->field(index).type != Type::Timestamp;
      if (usable) fields.push_back(full_->field(index));
    }
    if (!usable) continue;
    auto schema = Schema::make(std::move(fields));
    if (!schema.ok()) continue;
    auto bound = bind(filter, **schema);
    if (!bound.ok() || bound->type() != Type::Bool) continue;  // it still runs as a plan filter
    partition_filter.schema = *schema;
    partition_filter.predicate = std::make_shared<const BoundExpr>(std::move(*bound));
    partition_filters_.push_back(std::move(partition_filter));
  }
}

bool FileSource::partitions_may_match(const std::string& relative) const {
  const std::map<std::string, std::string> values = partition_values(relative);
  for (const auto& filter : partition_filters_) {
    std::vector<Value> row;
    bool known = true;
    for (const auto& field : filter.schema->fields()) {
      auto found = values.find(field.name);
      if (found == values.end()) {
        known = false;  // a directory further down names it
        break;
      }
      auto value = partition_value(found->second, field.type);
      if (!value) {
        known = false;
        break;
      }
      row.push_back(std::move(*value));
    }
    if (!known) continue;
    auto batch = RecordBatch::from_rows(filter.schema, {row});
    if (!batch.ok()) continue;
    auto result = filter.predicate->evaluate(**batch);
    if (!result.ok()) continue;
    const Value verdict = (*result)->value_at(0);
    if (verdict.is_null() || !verdict.as_bool()) return false;
  }
  return true;
}

std::vector<std::pair<std::string, std::string>> FileSource::progress_metrics(const SourceOffset& end,
                                                                              const SourceOffset& latest) const {
  (void)end;
  (void)latest;
  return {{"numBadRecords", std::to_string(num_bad_records())}};
}

bool FileSource::prune_columns(const std::vector<std::string>& columns) {
  std::vector<Field> fields;
  for (const auto& field : full_->fields()) {
    if (std::find(columns.begin(), columns.end(), field.name) != columns.end())
      fields.push_back(field);
  }
  auto pruned = Schema::make(std::move(fields));
  if (!pruned.ok()) return false;
  output_ = *pruned;
  return true;
}

}  // namespace sluice
