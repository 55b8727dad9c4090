#include "parquet/writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>

#include "parquet/compression.hpp"
#include "parquet/encoding.hpp"
#include "parquet/metadata.hpp"

namespace sluice::parquet {

namespace {

// Rows appended to a column between two checks of the page and dictionary sizes.
constexpr int64_t kCheckRows = 4096;
// Rows of a batch appended to every column before the row group size is checked.
constexpr int64_t kSliceRows = 8192;
// String bounds longer than this are left out of the statistics rather than stored.
constexpr size_t kMaxStatisticsBytes = 1024;

Codec to_codec(Compression compression) {
  switch (compression) {
    case Compression::uncompressed:
      return Codec::uncompressed;
    case Compression::snappy:
      return Codec::snappy;
    case Compression::zstd:
      return Codec::zstd;
  }
  return Codec::uncompressed;
}

template <typename T>
void append_raw(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
std::string raw_bytes(T value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof(T));
}

std::string io_error_message(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// Assigns dense indices to distinct strings; entries live in one byte arena.
class StringDictionary {
 public:
  uint32_t insert(std::string_view value) {
    if ((count() + 1) * 2 > static_cast<int64_t>(slots_.size())) grow();
    const uint64_t hash = std::hash<std::string_view>{}(value);
    const size_t mask = slots_.size() - 1;
    for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
      const int32_t index = slots_[slot];
      if (index < 0) {
        const auto added = static_cast<int32_t>(count());
        slots_[slot] = added;
        hashes_.push_back(hash);
        data_.append(value);
        offsets_.push_back(static_cast<int64_t>(data_.size()));
        return static_cast<uint32_t>(added);
      }
      if (hashes_[static_cast<size_t>(index)] == hash && at(index) == value) {
        return static_cast<uint32_t>(index);
      }
    }
  }

  std::string_view at(int64_t index) const {
    const auto i = static_cast<size_t>(index);
    return std::string_view(data_).substr(static_cast<size_t>(offsets_[i]),
                                          static_cast<size_t>(offsets_[i + 1] - offsets_[i]));
  }
  int64_t count() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  /// Returns the size of the entries PLAIN-encoded (4-byte length prefix each).
  int64_t plain_bytes() const { return static_cast<int64_t>(data_.size()) + 4 * count(); }

  void clear() {
    data_.clear();
    offsets_.assign(1, 0);
    hashes_.clear();
    slots_.assign(1024, -1);
  }

 private:
  void grow() {
    slots_.assign(std::max<size_t>(1024, slots_.size() * 2), -1);
    const size_t mask = slots_.size() - 1;
    for (int64_t i = 0; i < count(); ++i) {
      size_t slot = hashes_[static_cast<size_t>(i)] & mask;
      while (slots_[slot] >= 0)
        slot = (slot + 1) & mask;
      slots_[slot] = static_cast<int32_t>(i);
    }
  }

  std::string data_;
  std::vector<int64_t> offsets_{0};
  std::vector<uint64_t> hashes_;
  std::vector<int32_t> slots_ = std::vector<int32_t>(1024, -1);
};

// Tracks min, max and null count of one column over a chunk (or a file).
struct Bounds {
  explicit Bounds(Type column_type) : type(column_type) {}
  Type type;
  int64_t null_count = 0;
  int64_t nan_count = 0;
  bool has_value = false;
  bool strings_too_long = false;
  int64_t int_min = 0, int_max = 0;
  double double_min = 0, double_max = 0;
  std::string string_min, string_max;

  void add_int(int64_t lo, int64_t hi) {
    if (!has_value) {
      int_min = lo;
      int_max = hi;
    } else {
      int_min = std::min(int_min, lo);
      int_max = std::max(int_max, hi);
    }
    has_value = true;
  }
  void add_double(double lo, double hi) {
    if (!has_value) {
      double_min = lo;
      double_max = hi;
    } else {
      double_min = std::min(double_min, lo);
      double_max = std::max(double_max, hi);
    }
    has_value = true;
  }
  void add_string(std::string_view value) {
    if (!has_value) {
      string_min = value;
      string_max = value;
      has_value = true;
      return;
    }
    if (value < std::string_view(string_min)) string_min = value;
    if (value > std::string_view(string_max)) string_max = value;
  }
  void merge(const Bounds& other) {
    null_count += other.null_count;
    nan_count += other.nan_count;
    strings_too_long = strings_too_long || other.strings_too_long;
    if (!other.has_value) return;
    switch (type) {
      case Type::String:
        add_string(other.string_min);
        add_string(other.string_max);
        break;
      case Type::Double:
        add_double(other.double_min, other.double_max);
        break;
      default:
        add_int(other.int_min, other.int_max);
        break;
    }
  }

  bool has_bounds() const {
    if (!has_value) return false;
    if (type == Type::String) {
      return !strings_too_long && string_min.size() <= kMaxStatisticsBytes &&
             string_max.size() <= kMaxStatisticsBytes;
    }
    return true;
  }

  Statistics to_statistics() const {
    Statistics s;
    s.null_count = null_count;
    if (type == Type::Double) s.nan_count = nan_count;
    if (!has_bounds()) return s;
    switch (type) {
      case Type::Bool:
        s.min_value = std::string(1, static_cast<char>(int_min));
        s.max_value = std::string(1, static_cast<char>(int_max));
        break;
      case Type::Int64:
      case Type::Timestamp:
        s.min_value = raw_bytes(int_min);
        s.max_value = raw_bytes(int_max);
        break;
      case Type::Double:
        // The spec asks for -0.0 as a zero minimum and +0.0 as a zero maximum.
        s.min_value = raw_bytes(double_min == 0.0 ? -0.0 : double_min);
        s.max_value = raw_bytes(double_max == 0.0 ? 0.0 : double_max);
        break;
      case Type::String:
        s.min_value = string_min;
        s.max_value = string_max;
        break;
    }
    // Signed order equals the type order for these types, so old readers get bounds too.
    if (type != Type::String) {
      s.min = s.min_value;
      s.max = s.max_value;
    }
    return s;
  }

  std::optional<Value> value(bool minimum) const {
    if (!has_bounds()) return std::nullopt;
    switch (type) {
      case Type::Bool:
        return Value((minimum ? int_min : int_max) != 0);
      case Type::Int64:
        return Value(minimum ? int_min : int_max);
      case Type::Timestamp:
        return Value(Timestamp{minimum ? int_min : int_max});
      case Type::Double:
        return Value(minimum ? double_min : double_max);
      case Type::String:
        return Value(minimum ? string_min : string_max);
    }
    return std::nullopt;
  }
};

}  // namespace

// Encodes one column: buffers the current page, the finished pages of the current column chunk
// and, for strings, the chunk's dictionary.
class Writer::ColumnWriter {
 public:
  ColumnWriter(const Field& field, const WriterOptions& options)
      : field_(field), options_(options), codec_(to_codec(options.compression)) {
    chunk_bounds_.type = field.type;
    file_bounds_.type = field.type;
    reset_chunk();
  }

  Status append(const Column& column, int64_t offset, int64_t length) {
    for (int64_t done = 0; done < length; done += kCheckRows) {
      append_range(column, offset + done, std::min(kCheckRows, length - done));
      if (dictionary_mode_ && dictionary_.plain_bytes() > options_.dictionary_max_bytes) {
        SLUICE_RETURN_NOT_OK(flush_page());
        dictionary_mode_ = false;  // later pages of this chunk are PLAIN
      } else if (page_bytes() >= options_.page_bytes) {
        SLUICE_RETURN_NOT_OK(flush_page());
      }
    }
    return Status::ok();
  }

  /// Returns the bytes this column holds for the current row group so far.
  int64_t buffered_bytes() const {
    return static_cast<int64_t>(pages_.size()) + page_bytes() +
           (used_dictionary_ || dictionary_mode_ ? dictionary_.plain_bytes() : 0);
  }

  /// Appends the column chunk (dictionary page, data pages) to out, which will be written at
  /// file_offset, and describes it in chunk.
  Status finish_chunk(int64_t file_offset, std::string& out, ColumnChunk& chunk) {
    SLUICE_RETURN_NOT_OK(flush_page());
    ColumnMetaData meta;
    const size_t start = out.size();
    if (used_dictionary_) {
      std::string body;
      body.reserve(static_cast<size_t>(dictionary_.plain_bytes()));
      for (int64_t i = 0; i < dictionary_.count(); ++i) {
        const std::string_view entry = dictionary_.at(i);
        append_raw(body, static_cast<uint32_t>(entry.size()));
        body.append(entry);
      }
      PageHeader header;
      header.type = PageType::dictionary_page;
      header.dictionary_page_header = DictionaryPageHeader{
          static_cast<int32_t>(dictionary_.count()), Encoding::plain, std::nullopt};
      SLUICE_RETURN_NOT_OK(append_page(header, body, out));
      meta.dictionary_page_offset = file_offset;
    }
    meta.data_page_offset = file_offset + static_cast<int64_t>(out.size() - start);
    out += pages_;
    meta.type = physical_type();
    meta.encodings = {Encoding::plain, Encoding::rle};
    if (used_dictionary_) meta.encodings.push_back(Encoding::rle_dictionary);
    meta.path_in_schema = {field_.name};
    meta.codec = codec_;
    meta.num_values = chunk_values_;
    meta.total_uncompressed_size = chunk_uncompressed_;
    meta.total_compressed_size = static_cast<int64_t>(out.size() - start);
    meta.statistics = chunk_bounds_.to_statistics();
    chunk.file_offset = file_offset;
    chunk.meta_data = std::move(meta);
    file_bounds_.merge(chunk_bounds_);
    reset_chunk();
    return Status::ok();
  }

  PhysicalType physical_type() const {
    switch (field_.type) {
      case Type::Bool:
        return PhysicalType::boolean;
      case Type::Int64:
      case Type::Timestamp:
        return PhysicalType::int64;
      case Type::Double:
        return PhysicalType::double_;
      case Type::String:
        return PhysicalType::byte_array;
    }
    return PhysicalType::int64;
  }

  ColumnSummary summary() const {
    return ColumnSummary{field_.name, field_.type, file_bounds_.null_count,
                         file_bounds_.value(true), file_bounds_.value(false)};
  }

 private:
  int64_t page_bytes() const {
    return static_cast<int64_t>(plain_.size() + levels_.size() / 8 + bools_.size() / 8 +
                                indices_.size() * 2);
  }

  void reset_chunk() {
    pages_.clear();
    dictionary_.clear();
    dictionary_mode_ = options_.dictionary && field_.type == Type::String;
    used_dictionary_ = false;
    chunk_values_ = 0;
    chunk_uncompressed_ = 0;
    chunk_bounds_ = Bounds{field_.type};
  }

  void append_range(const Column& column, int64_t offset, int64_t length) {
    const uint8_t* validity = column.validity_bits();
    const int64_t bit_offset = column.offset() + offset;
    int64_t nulls = 0;
    if (field_.nullable) {
      const size_t start = levels_.size();
      levels_.resize(start + static_cast<size_t>(length));
      uint8_t* levels = levels_.data() + start;
      if (validity == nullptr) {
        std::fill(levels, levels + length, uint8_t{1});
      } else {
        for (int64_t i = 0; i < length; ++i) {
          levels[i] = static_cast<uint8_t>(bitmap::get(validity, bit_offset + i));
          nulls += 1 - levels[i];
        }
      }
    }
    page_rows_ += length;
    chunk_values_ += length;
    chunk_bounds_.null_count += nulls;
    const bool dense = nulls == 0;
    auto valid = [&](int64_t i) { return dense || bitmap::get(validity, bit_offset + i); };
    switch (field_.type) {
      case Type::Int64:
      case Type::Timestamp: {
        const int64_t* values = column.values<int64_t>() + offset;
        if (dense) {
          if (length == 0) break;
          plain_.append(reinterpret_cast<const char*>(values), static_cast<size_t>(length) * 8);
          int64_t lo = values[0], hi = values[0];
          for (int64_t i = 1; i < length; ++i) {
            lo = std::min(lo, values[i]);
            hi = std::max(hi, values[i]);
          }
          chunk_bounds_.add_int(lo, hi);
        } else {
          for (int64_t i = 0; i < length; ++i) {
            if (!valid(i)) continue;
            append_raw(plain_, values[i]);
            chunk_bounds_.add_int(values[i], values[i]);
          }
        }
        break;
      }
      case Type::Double: {
        const double* values = column.values<double>() + offset;
        if (dense)
          plain_.append(reinterpret_cast<const char*>(values), static_cast<size_t>(length) * 8);
        double lo = INFINITY, hi = -INFINITY;
        bool any = false;
        for (int64_t i = 0; i < length; ++i) {
          if (!valid(i)) continue;
          const double v = values[i];
          if (!dense) append_raw(plain_, v);
          if (std::isnan(v)) {
            ++chunk_bounds_.nan_count;
            continue;
          }
          any = true;
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
        if (any) chunk_bounds_.add_double(lo, hi);
        break;
      }
      case Type::Bool: {
        const uint8_t* values = column.values<uint8_t>() + offset;
        int64_t lo = 1, hi = 0;
        for (int64_t i = 0; i < length; ++i) {
          if (!valid(i)) continue;
          bools_.push_back(values[i]);
          lo = std::min<int64_t>(lo, values[i]);
          hi = std::max<int64_t>(hi, values[i]);
        }
        if (lo <= hi) chunk_bounds_.add_int(lo, hi);
        break;
      }
      case Type::String: {
        for (int64_t i = 0; i < length; ++i) {
          if (!valid(i)) continue;
          const std::string_view value = column.string_at(offset + i);
          if (dictionary_mode_) {
            indices_.push_back(dictionary_.insert(value));
          } else {
            append_raw(plain_, static_cast<uint32_t>(value.size()));
            plain_.append(value);
          }
          if (value.size() > kMaxStatisticsBytes) {
            chunk_bounds_.strings_too_long = true;
          } else {
            chunk_bounds_.add_string(value);
          }
        }
        break;
      }
    }
  }

  // Re-encodes the page's dictionary indices as PLAIN values.
  void indices_to_plain() {
    for (uint32_t index : indices_) {
      const std::string_view value = dictionary_.at(index);
      append_raw(plain_, static_cast<uint32_t>(value.size()));
      plain_.append(value);
    }
    indices_.clear();
  }

  Status flush_page() {
    if (page_rows_ == 0) return Status::ok();
    if (dictionary_mode_ && !used_dictionary_) {
      // Decide on the first page whether the dictionary pays off: its entries plus the
      // indices must be clearly smaller than the plain values.
      int64_t plain_size = 0;
      for (uint32_t index : indices_)
        plain_size += 4 + static_cast<int64_t>(dictionary_.at(index).size());
      const int64_t index_bytes = static_cast<int64_t>(indices_.size()) *
                                  std::max(1, bit_width_for(dictionary_.count())) / 8;
      if (dictionary_.plain_bytes() + index_bytes > plain_size * 3 / 4) {
        indices_to_plain();
        dictionary_.clear();
        dictionary_mode_ = false;
      }
    }
    std::string body;
    body.reserve(static_cast<size_t>(page_bytes()) + 64);
    if (field_.nullable) {
      std::string levels;
      encode_rle_hybrid(levels_.data(), static_cast<int64_t>(levels_.size()), 1, levels);
      append_raw(body, static_cast<uint32_t>(levels.size()));
      body += levels;
    }
    Encoding encoding = Encoding::plain;
    if (dictionary_mode_ && (used_dictionary_ || !indices_.empty())) {
      encoding = Encoding::rle_dictionary;
      const int width = std::max(
          1, bit_width_for(static_cast<uint64_t>(std::max<int64_t>(dictionary_.count() - 1, 0))));
      body.push_back(static_cast<char>(width));
      encode_rle_hybrid(indices_.data(), static_cast<int64_t>(indices_.size()), width, body);
      used_dictionary_ = true;
    } else if (field_.type == Type::Bool) {
      std::vector<uint32_t> widened(bools_.begin(), bools_.end());
      pack_bits(widened.data(), static_cast<int64_t>(widened.size()), 1, body);
    } else {
      body += plain_;
    }
    PageHeader header;
    header.type = PageType::data_page;
    header.data_page_header =
        DataPageHeader{static_cast<int32_t>(page_rows_), encoding, Encoding::rle, Encoding::rle};
    SLUICE_RETURN_NOT_OK(append_page(header, body, pages_));
    levels_.clear();
    plain_.clear();
    bools_.clear();
    indices_.clear();
    page_rows_ = 0;
    return Status::ok();
  }

  Status append_page(PageHeader& header, const std::string& body, std::string& out) {
    compressed_.clear();
    SLUICE_RETURN_NOT_OK(compress(codec_, reinterpret_cast<const uint8_t*>(body.data()),
                                  body.size(), options_.zstd_level, compressed_));
    if (body.size() > INT32_MAX || compressed_.size() > INT32_MAX) {
      return Status::out_of_range("a page of column '" + field_.name + "' exceeds 2 GiB");
    }
    header.uncompressed_page_size = static_cast<int32_t>(body.size());
    header.compressed_page_size = static_cast<int32_t>(compressed_.size());
    const size_t before = out.size();
    serialize(header, out);
    chunk_uncompressed_ += static_cast<int64_t>(out.size() - before + body.size());
    out += compressed_;
    return Status::ok();
  }

  Field field_;
  const WriterOptions& options_;
  Codec codec_;
  // The page being built.
  int64_t page_rows_ = 0;
  std::vector<uint8_t> levels_;
  std::string plain_;
  std::vector<uint8_t> bools_;
  std::vector<uint32_t> indices_;
  std::string compressed_;
  // The column chunk being built.
  std::string pages_;
  StringDictionary dictionary_;
  bool dictionary_mode_ = false;
  bool used_dictionary_ = false;
  int64_t chunk_values_ = 0;
  int64_t chunk_uncompressed_ = 0;
  Bounds chunk_bounds_{Type::Int64};
  Bounds file_bounds_{Type::Int64};
};

struct Writer::State {
  std::vector<RowGroup> row_groups;
};

Writer::Writer(std::string path, SchemaPtr schema, WriterOptions options, int fd)
    : path_(std::move(path)),
      schema_(std::move(schema)),
      options_(std::move(options)),
      fd_(fd),
      state_(std::make_unique<State>()) {
  for (const Field& field : schema_->fields()) {
    columns_.push_back(std::make_unique<ColumnWriter>(field, options_));
  }
}

Writer::~Writer() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<Writer>> Writer::open(const std::string& path, SchemaPtr schema,
                                             WriterOptions options) {
  if (!schema) return Status::invalid_argument("parquet writer for " + path + ": no schema");
  if (options.row_group_bytes <= 0 || options.page_bytes <= 0) {
    return Status::invalid_argument("parquet writer for " + path +
                                    ": row_group_bytes and page_bytes must be positive");
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::io_error(io_error_message("cannot create", path));
  std::unique_ptr<Writer> writer(new Writer(path, std::move(schema), std::move(options), fd));
  SLUICE_RETURN_NOT_OK(writer->write_bytes("PAR1"));
  return writer;
}

Status Writer::write_bytes(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      failed_ = Status::io_error(io_error_message("cannot write", path_));
      return failed_;
    }
    done += static_cast<size_t>(n);
  }
  file_offset_ += static_cast<int64_t>(bytes.size());
  return Status::ok();
}

Status Writer::write(const RecordBatch& batch) {
  if (closed_) return Status::invalid_argument("parquet writer for " + path_ + " is closed");
  if (!failed_.is_ok()) return failed_;
  const Schema& given = *batch.schema();
  if (given.num_fields() != schema_->num_fields()) {
    return Status::invalid_argument("batch with schema (" + given.to_string() +
                                    ") does not match the schema of " + path_ + " (" +
                                    schema_->to_string() + ")");
  }
  for (int c = 0; c < schema_->num_fields(); ++c) {
    const Field& field = schema_->field(c);
    if (given.field(c).name != field.name || given.field(c).type != field.type) {
      return Status::invalid_argument("batch with schema (" + given.to_string() +
                                      ") does not match the schema of " + path_ + " (" +
                                      schema_->to_string() + ")");
    }
    if (!field.nullable && batch.column(c)->null_count() > 0) {
      return Status::invalid_argument("column '" + field.name + "' of " + path_ +
                                      " is NOT NULL but the batch holds nulls");
    }
  }
  for (int64_t offset = 0; offset < batch.num_rows(); offset += kSliceRows) {
    const int64_t length = std::min(kSliceRows, batch.num_rows() - offset);
    int64_t buffered = 0;
    for (int c = 0; c < schema_->num_fields(); ++c) {
      Status status = columns_[static_cast<size_t>(c)]->append(*batch.column(c), offset, length);
      if (!status.is_ok()) {
        failed_ = status;
        return status;
      }
      buffered += columns_[static_cast<size_t>(c)]->buffered_bytes();
    }
    buffered_rows_ += length;
    if (buffered >= options_.row_group_bytes) SLUICE_RETURN_NOT_OK(flush_row_group());
  }
  return Status::ok();
}

Status Writer::flush_row_group() {
  if (buffered_rows_ == 0) return Status::ok();
  RowGroup group;
  group.num_rows = buffered_rows_;
  group.file_offset = file_offset_;
  group.ordinal = static_cast<int16_t>(std::min<size_t>(state_->row_groups.size(), INT16_MAX));
  int64_t compressed = 0;
  std::string bytes;
  for (auto& column : columns_) {
    bytes.clear();
    ColumnChunk chunk;
    Status status = column->finish_chunk(file_offset_, bytes, chunk);
    if (!status.is_ok()) {
      failed_ = status;
      return status;
    }
    SLUICE_RETURN_NOT_OK(write_bytes(bytes));
    group.total_byte_size += chunk.meta_data->total_uncompressed_size;
    compressed += chunk.meta_data->total_compressed_size;
    group.columns.push_back(std::move(chunk));
  }
  group.total_compressed_size = compressed;
  state_->row_groups.push_back(std::move(group));
  total_rows_ += buffered_rows_;
  buffered_rows_ = 0;
  return Status::ok();
}

Result<WrittenFile> Writer::close() {
  if (closed_) return Status::invalid_argument("parquet writer for " + path_ + " closed twice");
  closed_ = true;
  if (!failed_.is_ok()) return failed_;
  SLUICE_RETURN_NOT_OK(flush_row_group());

  FileMetaData metadata;
  metadata.version = 1;
  SchemaElement root;
  root.name = "schema";
  root.num_children = schema_->num_fields();
  metadata.schema.push_back(root);
  for (const Field& field : schema_->fields()) {
    SchemaElement element;
    element.name = field.name;
    element.repetition = field.nullable ? Repetition::optional : Repetition::required;
    switch (field.type) {
      case Type::Bool:
        element.type = PhysicalType::boolean;
        break;
      case Type::Int64:
        element.type = PhysicalType::int64;
        break;
      case Type::Double:
        element.type = PhysicalType::double_;
        break;
      case Type::String:
        element.type = PhysicalType::byte_array;
        element.converted_type = converted_type::utf8;
        element.logical_type.kind = LogicalType::Kind::string;
        break;
      case Type::Timestamp:
        element.type = PhysicalType::int64;
        element.converted_type = converted_type::timestamp_micros;
        element.logical_type.kind = LogicalType::Kind::timestamp;
        element.logical_type.adjusted_to_utc = true;
        element.logical_type.unit = TimeUnit::micros;
        break;
    }
    metadata.schema.push_back(std::move(element));
  }
  metadata.num_rows = total_rows_;
  metadata.row_groups = std::move(state_->row_groups);
  metadata.created_by = options_.created_by;
  metadata.num_type_defined_orders = schema_->num_fields();

  std::string footer;
  serialize(metadata, footer);
  const auto footer_length = static_cast<uint32_t>(footer.size());
  footer.append(reinterpret_cast<const char*>(&footer_length), 4);
  footer.append("PAR1");
  SLUICE_RETURN_NOT_OK(write_bytes(footer));
  if (options_.fsync_on_close && ::fsync(fd_) != 0) {
    return Status::io_error(io_error_message("cannot fsync", path_));
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return Status::io_error(io_error_message("cannot close", path_));

  WrittenFile file;
  file.path = path_;
  file.num_rows = total_rows_;
  file.file_bytes = file_offset_;
  file.num_row_groups = static_cast<int64_t>(metadata.row_groups.size());
  for (const auto& column : columns_)
    file.columns.push_back(column->summary());
  return file;
}

}  // namespace sluice::parquet
