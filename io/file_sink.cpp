#include "io/file_sink.hpp"

#include "core/file_contents.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/schema.hpp"
#include "io/hive_partitions.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHeader = "sluice-manifest v1 ";

std::string random_run_id() {
  std::random_device device;
  std::mt19937_64 random((static_cast<uint64_t>(device()) << 32) ^ device());
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(random()));
  return text;
}

// Writes a file under a temporary name and renames it in, so readers see all of it or nothing.
Status write_atomically(const std::string& target, const std::string& content, bool sync) {
  const fs::path path(target);
  const std::string temporary =
      (path.parent_path() / ("." + path.filename().string() + ".tmp")).string();
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::io_error("cannot create " + temporary + ": " + std::strerror(errno));
  Status written = write_fully(fd, content, temporary);
  if (written.is_ok() && sync && ::fsync(fd) != 0) {
    written = Status::io_error("cannot sync " + temporary + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (!written.is_ok()) return written;
  if (std::rename(temporary.c_str(), target.c_str()) != 0) {
    return Status::io_error("cannot rename " + temporary + " to " + target + ": " +
                            std::strerror(errno));
  }
  if (sync) {
    const int directory = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory >= 0) {
      (void)::fsync(directory);
      ::close(directory);
    }
  }
  return Status::ok();
}

struct EntryName {
  int64_t epoch = 0;
  bool compact = false;
};

std::optional<EntryName> parse_entry_name(const std::string& name) {
  EntryName entry;
  std::string_view text = name;
  if (text.ends_with(".compact")) {
    entry.compact = true;
    text.remove_suffix(8);
  }
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), entry.epoch);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return entry;
}

enum class ReadOutcome { ok, vanished };

Result<ReadOutcome> apply_entry(const std::string& file, std::set<std::string>& files) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (!fs::exists(file)) return ReadOutcome::vanished;
    return Status::io_error("cannot read manifest entry " + file);
  }
  std::string line;
  if (!std::getline(in, line) || !line.starts_with(kHeader)) {
    return Status::corrupt("manifest entry " + file + " does not start with '" +
                           std::string(kHeader) + "'");
  }
  const std::string kind = line.substr(kHeader.size());
  if (kind == "complete" || kind == "compact") {
    files.clear();
  } else if (kind != "append") {
    return Status::corrupt("manifest entry " + file + " has unknown kind '" + kind + "'");
  }
  while (std::getline(in, line)) {
    if (!line.empty()) files.insert(line);
  }
  return ReadOutcome::ok;
}

}  // namespace

std::string manifest_directory(const std::string& path) {
  return (fs::path(path) / "_sluice_metadata").string();
}

bool has_manifest(const std::string& path) {
  std::error_code error;
  return fs::is_directory(manifest_directory(path), error);
}

Result<FileManifest> read_manifest(const std::string& path) {
  const std::string directory = manifest_directory(path);
  // A compaction may remove entries between listing and reading them: list again.
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::error_code error;
    std::map<int64_t, bool> entries;  // epoch -> has a compact file
    std::optional<int64_t> newest_compact;
    for (fs::directory_iterator it(directory, error), end; !error && it != end;
         it.increment(error)) {
      auto entry = parse_entry_name(it->path().filename().string());
      if (!entry) continue;
      if (entry->compact) {
        newest_compact = std::max(newest_compact.value_or(entry->epoch), entry->epoch);
      } else {
        entries[entry->epoch] = true;
      }
    }
    if (error)
      return Status::io_error("cannot list manifest " + directory + ": " + error.message());
    FileManifest manifest;
    bool vanished = false;
    if (newest_compact) {
      SLUICE_ASSIGN_OR_RETURN(
          ReadOutcome outcome,
          apply_entry(directory + "/" + std::to_string(*newest_compact) + ".compact",
                      manifest.files));
      vanished = outcome == ReadOutcome::vanished;
      manifest.latest_epoch = newest_compact;
    }
    for (auto it = entries.begin(); !vanished && it != entries.end(); ++it) {
      if (newest_compact && it->first <= *newest_compact) continue;
      SLUICE_ASSIGN_OR_RETURN(
          ReadOutcome outcome,
          apply_entry(directory + "/" + std::to_string(it->first), manifest.files));
      vanished = outcome == ReadOutcome::vanished;
      manifest.latest_epoch = it->first;
    }
    if (!vanished) return manifest;
  }
  return Status::io_error("manifest " + directory + " kept changing while it was read");
}

Result<FileSinkOptions> FileSinkOptions::parse(FileFormat format,
                                               std::map<std::string, std::string> options) {
  FileSinkOptions parsed;
  auto path = options.find("path");
  if (path == options.end() || path->second.empty()) {
    return Status::invalid_argument("the " + std::string(file_format_name(format)) +
                                    " sink needs option(\"path\", directory)");
  }
  parsed.path = path->second;
  options.erase(path);
  if (auto it = options.find("maxFileSize"); it != options.end()) {
    auto [end, error] = std::from_chars(it->second.data(), it->second.data() + it->second.size(),
                                        parsed.max_file_bytes);
    if (error != std::errc() || end != it->second.data() + it->second.size() ||
        parsed.max_file_bytes < 1) {
      return Status::invalid_argument(
          "option 'maxFileSize' must be a positive number of bytes, got '" + it->second + "'");
    }
    options.erase(it);
  }
  // The format readers' options that also shape writing (header, sep, quote, nullValue).
  std::map<std::string, std::string> format_options;
  for (const char* key : {"header", "sep", "delimiter", "quote", "escape", "nullValue"}) {
    if (auto it = options.find(key); it != options.end() && format == FileFormat::csv) {
      format_options.insert(*it);
      options.erase(it);
    }
  }
  SLUICE_ASSIGN_OR_RETURN(parsed.format, FileFormatOptions::parse(format, format_options));
  for (const char* key : {"checkpointLocation", "minBatchesToRetain"})
    options.erase(key);
  if (!options.empty()) {
    const std::string& key = options.begin()->first;
    std::vector<std::string> known = {"path", "maxFileSize", "checkpointLocation",
                                      "minBatchesToRetain"};
    if (format == FileFormat::csv) {
      for (const char* name : {"header", "sep", "delimiter", "quote", "escape", "nullValue"})
        known.push_back(name);
    }
    std::string message =
        "unknown option '" + key + "' for the " + std::string(file_format_name(format)) + " sink";
    if (std::string suggestion = closest_name(key, known); !suggestion.empty()) {
      message += "; did you mean '" + suggestion + "'?";
    }
    return Status::invalid_argument(message);
  }
  return parsed;
}

FileSink::FileSink(FileSinkOptions options, SchemaPtr schema, OutputMode mode)
    : options_(std::move(options)),
      schema_(std::move(schema)),
      mode_(mode),
      run_id_(random_run_id()) {}

Result<std::shared_ptr<FileSink>> FileSink::make(FileSinkOptions options, SchemaPtr schema,
                                                 OutputMode mode) {
  if (mode == OutputMode::Update) {
    return Status::invalid_argument("the file sink supports append and complete mode, not update");
  }
  std::shared_ptr<FileSink> sink(new FileSink(std::move(options), std::move(schema), mode));
  for (const auto& key : sink->options_.partition_by) {
    const int index = sink->schema_->find(key);
    if (index < 0) {
      SLUICE_RETURN_NOT_OK(sink->schema_->index_of(key).status().with_context("partition_by"));
    }
    sink->partition_columns_.push_back(index);
  }
  for (int i = 0; i < sink->schema_->num_fields(); ++i) {
    if (std::find(sink->partition_columns_.begin(), sink->partition_columns_.end(), i) ==
        sink->partition_columns_.end()) {
      sink->data_columns_.push_back(i);
    }
  }
  std::error_code error;
  fs::create_directories(manifest_directory(sink->options_.path), error);
  if (error) {
    return Status::io_error("cannot create the file sink directory " + sink->options_.path + ": " +
                            error.message());
  }
  SLUICE_ASSIGN_OR_RETURN(FileManifest manifest, read_manifest(sink->options_.path));
  sink->latest_epoch_ = manifest.latest_epoch;
  sink->committed_files_ = std::move(manifest.files);
  // Part files no entry names are leftovers of epochs that never committed: remove them.
  const fs::path root(sink->options_.path);
  for (fs::recursive_directory_iterator it(root, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory()) {
      if (name.starts_with("_") || name.starts_with(".")) it.disable_recursion_pending();
      continue;
    }
    if (!name.starts_with("part-")) continue;
    const std::string relative = fs::relative(it->path(), root).string();
    if (!sink->committed_files_.count(relative)) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
  return sink;
}

std::string FileSink::description() const {
  return "FileSink[" + std::string(file_format_name(options_.format.format)) + ", " +
         options_.path + "]";
}

Status FileSink::open_next(const std::string& directory, int64_t epoch, OpenFile& file) {
  char name[96];
  std::snprintf(name, sizeof(name), "part-%08lld-%05d-%s.%s", static_cast<long long>(epoch),
                file.sequence++, run_id_.c_str(),
                options_.format.format == FileFormat::csv ? "csv" : "json");
  file.relative = directory.empty() ? std::string(name) : directory + "/" + name;
  const fs::path full = fs::path(options_.path) / file.relative;
  std::error_code error;
  fs::create_directories(full.parent_path(), error);
  if (error)
    return Status::io_error("cannot create " + full.parent_path().string() + ": " +
                            error.message());
  file.fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (file.fd < 0)
    return Status::io_error("cannot create " + full.string() + ": " + std::strerror(errno));
  file.bytes = 0;
  if (options_.format.format == FileFormat::csv && options_.format.header) {
    std::string header;
    for (size_t i = 0; i < data_columns_.size(); ++i) {
      header += (i ? std::string(1, options_.format.delimiter) : "") +
                schema_->field(data_columns_[i]).name;
    }
    header += "\n";
    SLUICE_RETURN_NOT_OK(write_fully(file.fd, header, full.string()));
    file.bytes += static_cast<int64_t>(header.size());
  }
  return Status::ok();
}

Status FileSink::flush(OpenFile& file, std::string& buffer) {
  if (buffer.empty()) return Status::ok();
  SLUICE_RETURN_NOT_OK(
      write_fully(file.fd, buffer, (fs::path(options_.path) / file.relative).string()));
  file.bytes += static_cast<int64_t>(buffer.size());
  buffer.clear();
  return Status::ok();
}

FileSink::EpochFiles& FileSink::epoch_files(int64_t epoch) {
  auto [it, inserted] = epochs_.try_emplace(epoch);
  if (inserted) {
    it->second.skipping = latest_epoch_ && epoch <= *latest_epoch_;
    if (it->second.skipping) ++skipped_epochs_;
  }
  return it->second;
}

Status FileSink::write(int64_t epoch, const RecordBatchPtr& batch) {
  EpochFiles& files = epoch_files(epoch);
  if (files.skipping) return Status::ok();
  constexpr size_t kFlushBytes = 1 << 20;
  for (int64_t row = 0; row < batch->num_rows(); ++row) {
    std::string directory;
    for (int index : partition_columns_) {
      if (!directory.empty()) directory += "/";
      directory += schema_->field(index).name + "=" +
                   partition_directory_value(*batch->column(index), row);
    }
    OpenFile& file = files.open[directory];
    std::string& buffer = files.buffers[directory];
    if (file.fd < 0) SLUICE_RETURN_NOT_OK(open_next(directory, epoch, file));
    if (options_.format.format == FileFormat::csv) {
      append_csv_record(*batch, row, data_columns_, options_.format, buffer);
    } else {
      append_json_record(*batch, row, data_columns_, buffer);
    }
    if (buffer.size() >= kFlushBytes ||
        file.bytes + static_cast<int64_t>(buffer.size()) >= options_.max_file_bytes) {
      SLUICE_RETURN_NOT_OK(flush(file, buffer));
      if (file.bytes >= options_.max_file_bytes) {
        if (options_.sync) (void)::fsync(file.fd);
        ::close(file.fd);
        file.fd = -1;
        files.written.push_back(file.relative);
      }
    }
  }
  return Status::ok();
}

Status FileSink::write_entry(int64_t epoch, const std::vector<std::string>& added) {
  const std::string directory = manifest_directory(options_.path);
  std::string entry(kHeader);
  entry += mode_ == OutputMode::Complete ? "complete\n" : "append\n";
  for (const auto& file : added)
    entry += file + "\n";
  SLUICE_RETURN_NOT_OK(
      write_atomically(directory + "/" + std::to_string(epoch), entry, options_.sync));
  if (mode_ == OutputMode::Complete) committed_files_.clear();
  committed_files_.insert(added.begin(), added.end());
  latest_epoch_ = epoch;
  if ((epoch + 1) % options_.compact_interval != 0) return Status::ok();
  // Compaction: one file lists every committed file, so readers stop reading old entries.
  std::string compact(kHeader);
  compact += "compact\n";
  for (const auto& file : committed_files_)
    compact += file + "\n";
  SLUICE_RETURN_NOT_OK(write_atomically(directory + "/" + std::to_string(epoch) + ".compact",
                                        compact, options_.sync));
  std::error_code error;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    auto name = parse_entry_name(it->path().filename().string());
    if (name && (name->epoch < epoch || (name->epoch == epoch && !name->compact))) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
  return Status::ok();
}

Status FileSink::finish_epoch(int64_t epoch) {
  EpochFiles files = std::move(epoch_files(epoch));
  epochs_.erase(epoch);
  if (files.skipping) return Status::ok();  // the entry exists: this replay adds nothing
  for (auto& [directory, file] : files.open) {
    if (file.fd < 0) continue;
    Status flushed = flush(file, files.buffers[directory]);
    if (flushed.is_ok() && options_.sync && ::fsync(file.fd) != 0) {
      flushed = Status::io_error("cannot sync " + file.relative + ": " + std::strerror(errno));
    }
    ::close(file.fd);
    file.fd = -1;
    files.written.push_back(file.relative);
    SLUICE_RETURN_NOT_OK(flushed);
  }
  const std::set<std::string> previous = committed_files_;
  const std::vector<std::string>& added = files.written;
  SLUICE_RETURN_NOT_OK(
      write_entry(epoch, added)
          .with_context("committing epoch " + std::to_string(epoch) + " of " + description()));
  if (mode_ == OutputMode::Complete) {
    // The new entry replaced every earlier file; they are garbage now.
    for (const auto& file : previous) {
      if (committed_files_.count(file)) continue;
      std::error_code ignored;
      fs::remove(fs::path(options_.path) / file, ignored);
    }
  }
  return Status::ok();
}

void FileSink::abort_epoch(int64_t epoch) {
  auto it = epochs_.find(epoch);
  if (it == epochs_.end()) return;
  for (auto& [directory, file] : it->second.open) {
    if (file.fd < 0) continue;
    ::close(file.fd);
    it->second.written.push_back(file.relative);
  }
  if (!it->second.skipping) {
    for (const auto& relative : it->second.written) {
      std::error_code ignored;
      fs::remove(fs::path(options_.path) / relative, ignored);
    }
  }
  epochs_.erase(it);
}

}  // namespace sluice
