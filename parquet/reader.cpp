#include "parquet/reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <new>

#include "parquet/compression.hpp"
#include "parquet/encoding.hpp"

namespace sluice::parquet {

// Describes one leaf column of the file and how it maps to a Sluice type.
struct Reader::Leaf {
  std::string name;
  int index = 0;  // position among the leaves = position in each row group's columns
  PhysicalType physical = PhysicalType::int64;
  Type type = Type::Int64;
  bool nullable = true;
  bool unsigned_int32 = false;
  TimeUnit unit = TimeUnit::micros;
  bool is_timestamp = false;
  std::string unsupported;  // why Sluice cannot read it; empty when it can
};

struct Reader::ResolvedPredicate {
  int leaf = 0;
  CompareOp op = CompareOp::equal;
  Value literal;
};

namespace {

// Rows in one row group Sluice accepts; more is taken as corruption.
constexpr int64_t kMaxRowGroupRows = INT32_MAX;

Status pread_exact(int fd, uint8_t* out, int64_t size, int64_t offset, const std::string& path) {
  int64_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, static_cast<size_t>(size - done), offset + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::io_error("cannot read " + path + ": " + std::strerror(errno));
    }
    if (n == 0) {
      return Status::corrupt(path + ": file ends at byte " + std::to_string(offset + done) +
                             " while reading " + std::to_string(size) + " bytes at offset " +
                             std::to_string(offset));
    }
    done += n;
  }
  return Status::ok();
}

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Copies a string of length bytes; short ones move as two fixed 8-byte words, which both sides
// must have room for (callers pad their buffers by kCopySlack bytes).
constexpr int64_t kCopySlack = 16;
inline void copy_string(uint8_t* out, const uint8_t* in, int64_t length) {
  if (length <= 16) {
    std::memcpy(out, in, 8);
    std::memcpy(out + 8, in + 8, 8);
  } else {
    std::memcpy(out, in, static_cast<size_t>(length));
  }
}

int64_t convert_time(int64_t value, TimeUnit unit) {
  switch (unit) {
    case TimeUnit::millis:
      return value * 1000;
    case TimeUnit::micros:
      return value;
    case TimeUnit::nanos: {
      int64_t q = value / 1000;
      if (value % 1000 < 0) --q;  // floor toward earlier instants
      return q;
    }
  }
  return value;
}

// Compares two non-null values of compatible types: numbers with numbers, timestamps with
// timestamps, strings with strings, bools with bools. Returns nullopt when incomparable.
std::optional<int> compare_values(const Value& a, const Value& b) {
  auto sign = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  const auto& sa = a.storage();
  const auto& sb = b.storage();
  if (std::holds_alternative<int64_t>(sa) && std::holds_alternative<int64_t>(sb)) {
    return sign(std::get<int64_t>(sa), std::get<int64_t>(sb));
  }
  auto as_double = [](const Value::Storage& s) -> std::optional<double> {
    if (std::holds_alternative<int64_t>(s)) return static_cast<double>(std::get<int64_t>(s));
    if (std::holds_alternative<double>(s)) return std::get<double>(s);
    return std::nullopt;
  };
  if (auto x = as_double(sa), y = as_double(sb); x && y) {
    if (std::isnan(*x) || std::isnan(*y)) return std::nullopt;
    return sign(*x, *y);
  }
  if (sa.index() != sb.index()) return std::nullopt;
  if (std::holds_alternative<Timestamp>(sa))
    return sign(std::get<Timestamp>(sa).micros, std::get<Timestamp>(sb).micros);
  if (std::holds_alternative<std::string>(sa))
    return sign(std::get<std::string>(sa), std::get<std::string>(sb));
  if (std::holds_alternative<bool>(sa)) return sign(std::get<bool>(sa), std::get<bool>(sb));
  return std::nullopt;
}

// Holds bytes that are either borrowed or owned by a reusable scratch allocation.
class Scratch {
 public:
  uint8_t* reserve(size_t size) {
    if (size > capacity_) {
      data_.reset(new uint8_t[std::max<size_t>(size, 64)]);
      capacity_ = std::max<size_t>(size, 64);
    }
    return data_.get();
  }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t capacity_ = 0;
};

// Decodes the pages of one column chunk into one Column.
class ColumnDecoder {
 public:
  ColumnDecoder(const Reader::Leaf& leaf, int64_t num_rows) : leaf_(leaf), num_rows_(num_rows) {
    if (leaf.type == Type::String) {
      values_ = Buffer::allocate((num_rows + 1) * 8);
      data_ = Buffer::allocate(0);
    } else {
      values_ = Buffer::allocate_for_overwrite(num_rows * value_width(leaf.type));
    }
    if (leaf.nullable) validity_ = Buffer::allocate(bitmap::bytes_for(num_rows));
  }

  int64_t rows_done() const { return rows_done_; }

  Status set_dictionary(const uint8_t* data, size_t size, int32_t count, Encoding encoding) {
    if (has_dictionary_) return Status::corrupt("a second dictionary page in one column chunk");
    if (encoding != Encoding::plain && encoding != Encoding::plain_dictionary) {
      return Status::invalid_argument("dictionary page encoding " + encoding_name(encoding) +
                                      " is not supported");
    }
    if (count < 0) return Status::corrupt("dictionary page claims a negative value count");
    has_dictionary_ = true;
    dictionary_count_ = count;
    if (leaf_.type == Type::String) {
      dictionary_offsets_.assign(1, 0);
      dictionary_offsets_.reserve(static_cast<size_t>(count) + 1);
      size_t position = 0;
      for (int32_t i = 0; i < count; ++i) {
        if (size - position < 4) return Status::corrupt("dictionary page ends inside an entry");
        const uint32_t length = load_u32(data + position);
        position += 4;
        if (length > size - position) return Status::corrupt("dictionary entry runs past its page");
        dictionary_data_.append(reinterpret_cast<const char*>(data + position), length);
        position += length;
        dictionary_offsets_.push_back(static_cast<int64_t>(dictionary_data_.size()));
      }
      dictionary_data_.append(static_cast<size_t>(kCopySlack), '\0');
      return Status::ok();
    }
    dictionary_values_.resize(static_cast<size_t>(count) * 8);
    return decode_plain_fixed(data, size, count, dictionary_values_.data());
  }

  /// Decodes one data page. levels/levels_size hold the definition levels (v1: with their
  /// 4-byte length prefix, followed by the values; v2: exactly the levels).
  Status decode_page(int64_t num_values, Encoding encoding, bool v2, const uint8_t* levels,
                     size_t levels_size, const uint8_t* values, size_t values_size) {
    if (num_values < 0 || num_values > num_rows_ - rows_done_) {
      return Status::corrupt("page holds " + std::to_string(num_values) + " values but " +
                             std::to_string(num_rows_ - rows_done_) +
                             " rows remain in the row group");
    }
    const int64_t row = rows_done_;
    int64_t non_null = num_values;
    if (leaf_.nullable) {
      const uint8_t* level_data = levels;
      size_t level_size = levels_size;
      if (!v2) {
        if (levels_size < 4) return Status::corrupt("page too small for its definition levels");
        level_size = load_u32(levels);
        if (level_size > levels_size - 4) {
          return Status::corrupt("definition levels of " + std::to_string(level_size) +
                                 " bytes run past the page");
        }
        level_data = levels + 4;
        values = level_data + level_size;
        values_size = levels_size - 4 - level_size;
      }
      scratch_levels_.resize(static_cast<size_t>(num_values));
      RleHybridDecoder decoder(level_data, level_size, 1);
      SLUICE_RETURN_NOT_OK(
          decoder.decode(scratch_levels_.data(), num_values).with_context("definition levels"));
      uint8_t* bits = validity_->mutable_data();
      non_null = 0;
      for (int64_t i = 0; i < num_values; ++i) {
        const uint32_t level = scratch_levels_[static_cast<size_t>(i)];
        non_null += level;
        if (level) bitmap::set(bits, row + i);
      }
    }
    Status status = leaf_.type == Type::String
                        ? decode_strings(encoding, values, values_size, num_values, non_null)
                        : decode_fixed(encoding, values, values_size, num_values, non_null);
    SLUICE_RETURN_NOT_OK(status);
    rows_done_ += num_values;
    return Status::ok();
  }

  Result<ColumnPtr> finish() {
    if (rows_done_ != num_rows_) {
      return Status::corrupt("column chunk ends after " + std::to_string(rows_done_) + " of " +
                             std::to_string(num_rows_) + " rows");
    }
    if (leaf_.type == Type::String) data_->set_size(data_size_);
    return Column::make_unchecked(leaf_.type, num_rows_, std::move(values_), std::move(validity_),
                                  std::move(data_));
  }

 private:
  // Decodes count PLAIN values into out, in the Sluice representation of the leaf's type.
  Status decode_plain_fixed(const uint8_t* data, size_t size, int64_t count, uint8_t* out) {
    const auto u_count = static_cast<size_t>(count);
    auto need = [&](size_t bytes) -> Status {
      if (bytes > size) {
        return Status::corrupt("PLAIN values need " + std::to_string(bytes) +
                               " bytes, page holds " + std::to_string(size));
      }
      return Status::ok();
    };
    switch (leaf_.physical) {
      case PhysicalType::boolean: {
        SLUICE_RETURN_NOT_OK(need((u_count + 7) / 8));
        for (size_t i = 0; i < u_count; ++i)
          out[i] = (data[i >> 3] >> (i & 7)) & 1;
        return Status::ok();
      }
      case PhysicalType::int32: {
        SLUICE_RETURN_NOT_OK(need(u_count * 4));
        auto* o = reinterpret_cast<int64_t*>(out);
        if (leaf_.unsigned_int32) {
          for (size_t i = 0; i < u_count; ++i)
            o[i] = load_u32(data + 4 * i);
        } else {
          for (size_t i = 0; i < u_count; ++i)
            o[i] = static_cast<int32_t>(load_u32(data + 4 * i));
        }
        return Status::ok();
      }
      case PhysicalType::int64: {
        SLUICE_RETURN_NOT_OK(need(u_count * 8));
        if (u_count > 0) std::memcpy(out, data, u_count * 8);
        if (leaf_.is_timestamp && leaf_.unit != TimeUnit::micros) {
          auto* o = reinterpret_cast<int64_t*>(out);
          for (size_t i = 0; i < u_count; ++i)
            o[i] = convert_time(o[i], leaf_.unit);
        }
        return Status::ok();
      }
      case PhysicalType::float_: {
        SLUICE_RETURN_NOT_OK(need(u_count * 4));
        auto* o = reinterpret_cast<double*>(out);
        for (size_t i = 0; i < u_count; ++i) {
          float f;
          std::memcpy(&f, data + 4 * i, 4);
          o[i] = f;
        }
        return Status::ok();
      }
      case PhysicalType::double_: {
        SLUICE_RETURN_NOT_OK(need(u_count * 8));
        if (u_count > 0) std::memcpy(out, data, u_count * 8);
        return Status::ok();
      }
      default:
        break;
    }
    return Status::invalid_argument("physical type " + physical_type_name(leaf_.physical) +
                                    " is not supported");
  }

  Status decode_indices(const uint8_t* data, size_t size, int64_t count) {
    if (!has_dictionary_)
      return Status::corrupt("dictionary-encoded page without a dictionary page");
    if (size < 1) return Status::corrupt("dictionary-encoded page lacks its bit width");
    const int width = data[0];
    if (width > 32)
      return Status::corrupt("dictionary index bit width " + std::to_string(width) +
                             " is above 32");
    scratch_indices_.resize(static_cast<size_t>(count));
    RleHybridDecoder decoder(data + 1, size - 1, width);
    SLUICE_RETURN_NOT_OK(
        decoder.decode(scratch_indices_.data(), count).with_context("dictionary indices"));
    uint32_t bad = 0;
    for (uint32_t index : scratch_indices_)
      bad |= static_cast<uint32_t>(index >= static_cast<uint32_t>(dictionary_count_));
    if (bad) {
      return Status::corrupt("dictionary index out of range (dictionary holds " +
                             std::to_string(dictionary_count_) + " entries)");
    }
    return Status::ok();
  }

  Status decode_fixed(Encoding encoding, const uint8_t* data, size_t size, int64_t num_values,
                      int64_t non_null) {
    const int width = value_width(leaf_.type);
    uint8_t* destination = values_->mutable_data() + rows_done_ * width;
    // Without nulls the values land in place; otherwise densely in scratch, then spread out.
    uint8_t* dense = destination;
    if (non_null != num_values) {
      scratch_values_.resize(static_cast<size_t>(non_null) * static_cast<size_t>(width));
      dense = scratch_values_.data();
    }
    if (encoding == Encoding::plain) {
      SLUICE_RETURN_NOT_OK(decode_plain_fixed(data, size, non_null, dense));
    } else if (encoding == Encoding::rle_dictionary || encoding == Encoding::plain_dictionary) {
      SLUICE_RETURN_NOT_OK(decode_indices(data, size, non_null));
      const uint32_t* indices = scratch_indices_.data();
      if (width == 8) {
        auto* o = reinterpret_cast<int64_t*>(dense);
        const auto* d = reinterpret_cast<const int64_t*>(dictionary_values_.data());
        for (int64_t i = 0; i < non_null; ++i)
          o[i] = d[indices[i]];
      } else {
        const uint8_t* d = dictionary_values_.data();
        for (int64_t i = 0; i < non_null; ++i)
          dense[i] = d[indices[i]];
      }
    } else if (encoding == Encoding::rle && leaf_.physical == PhysicalType::boolean) {
      if (size < 4) return Status::corrupt("RLE boolean page lacks its length prefix");
      const uint32_t length = load_u32(data);
      if (length > size - 4) return Status::corrupt("RLE booleans run past the page");
      scratch_indices_.resize(static_cast<size_t>(non_null));
      RleHybridDecoder decoder(data + 4, length, 1);
      SLUICE_RETURN_NOT_OK(decoder.decode(scratch_indices_.data(), non_null));
      for (int64_t i = 0; i < non_null; ++i)
        dense[i] = static_cast<uint8_t>(scratch_indices_[static_cast<size_t>(i)]);
    } else {
      return Status::invalid_argument("encoding " + encoding_name(encoding) + " is not supported");
    }
    if (dense != destination) {
      const uint32_t* levels = scratch_levels_.data();
      if (width == 8) {
        auto* o = reinterpret_cast<int64_t*>(destination);
        const auto* d = reinterpret_cast<const int64_t*>(dense);
        int64_t j = 0;
        for (int64_t i = 0; i < num_values; ++i) {
          o[i] = levels[i] ? d[j] : 0;
          j += levels[i];
        }
      } else {
        int64_t j = 0;
        for (int64_t i = 0; i < num_values; ++i) {
          destination[i] = levels[i] ? dense[j] : 0;
          j += levels[i];
        }
      }
    }
    return Status::ok();
  }

  Status decode_strings(Encoding encoding, const uint8_t* data, size_t size, int64_t num_values,
                        int64_t non_null) {
    int64_t* offsets = values_->mutable_as<int64_t>() + rows_done_;
    const bool has_nulls = non_null != num_values;
    const uint32_t* levels = scratch_levels_.data();
    if (encoding == Encoding::plain) {
      // The page's bytes bound the string bytes it can add.
      ensure_data(data_size_ + static_cast<int64_t>(size) + kCopySlack);
      uint8_t* out = data_->mutable_data();
      size_t position = 0;
      for (int64_t i = 0; i < num_values; ++i) {
        if (has_nulls && !levels[i]) {
          offsets[i + 1] = data_size_;
          continue;
        }
        if (size - position < 4) return Status::corrupt("PLAIN string runs past the page");
        const uint32_t length = load_u32(data + position);
        position += 4;
        if (length > size - position) return Status::corrupt("PLAIN string runs past the page");
        if (size - position >= static_cast<size_t>(kCopySlack)) {
          copy_string(out + data_size_, data + position, length);
        } else {
          std::memcpy(out + data_size_, data + position, length);
        }
        position += length;
        data_size_ += length;
        offsets[i + 1] = data_size_;
      }
      return Status::ok();
    }
    if (encoding == Encoding::rle_dictionary || encoding == Encoding::plain_dictionary) {
      SLUICE_RETURN_NOT_OK(decode_indices(data, size, non_null));
      const uint32_t* indices = scratch_indices_.data();
      const int64_t* entry = dictionary_offsets_.data();
      int64_t total = 0;
      for (int64_t i = 0; i < non_null; ++i)
        total += entry[indices[i] + 1] - entry[indices[i]];
      ensure_data(data_size_ + total + kCopySlack);
      uint8_t* out = data_->mutable_data();
      const auto* source = reinterpret_cast<const uint8_t*>(dictionary_data_.data());
      int64_t j = 0;
      for (int64_t i = 0; i < num_values; ++i) {
        if (has_nulls && !levels[i]) {
          offsets[i + 1] = data_size_;
          continue;
        }
        const uint32_t index = indices[j++];
        const int64_t begin = entry[index];
        const int64_t length = entry[index + 1] - begin;
        copy_string(out + data_size_, source + begin, length);
        data_size_ += length;
        offsets[i + 1] = data_size_;
      }
      return Status::ok();
    }
    return Status::invalid_argument("encoding " + encoding_name(encoding) + " is not supported");
  }

  void ensure_data(int64_t size) {
    if (size > data_->size()) data_->resize(std::max(size, data_->size() * 3 / 2));
  }

  const Reader::Leaf& leaf_;
  int64_t num_rows_;
  int64_t rows_done_ = 0;
  std::shared_ptr<Buffer> values_;
  std::shared_ptr<Buffer> validity_;
  std::shared_ptr<Buffer> data_;
  int64_t data_size_ = 0;
  bool has_dictionary_ = false;
  int64_t dictionary_count_ = 0;
  std::vector<uint8_t> dictionary_values_;
  std::vector<int64_t> dictionary_offsets_;
  std::string dictionary_data_;
  std::vector<uint32_t> scratch_levels_;
  std::vector<uint32_t> scratch_indices_;
  std::vector<uint8_t> scratch_values_;
};

}  // namespace

Reader::Reader(std::string path, int fd, int64_t file_size, ReaderOptions options)
    : path_(std::move(path)), fd_(fd), file_size_(file_size), options_(std::move(options)) {}

Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<Reader>> Reader::open(const std::string& path, ReaderOptions options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::not_found("parquet file " + path + " does not exist");
    return Status::io_error("cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    return Status::io_error("cannot stat " + path + ": " + std::strerror(errno));
  }
  std::unique_ptr<Reader> reader(new Reader(path, fd, info.st_size, std::move(options)));
  SLUICE_RETURN_NOT_OK(reader->load_footer());
  SLUICE_RETURN_NOT_OK(reader->resolve_columns());
  return reader;
}

Status Reader::load_footer() {
  if (file_size_ < 12) {
    return Status::corrupt(path_ + ": file of " + std::to_string(file_size_) +
                           " bytes is too small to be Parquet (truncated?)");
  }
  uint8_t head[4];
  uint8_t tail[8];
  SLUICE_RETURN_NOT_OK(pread_exact(fd_, head, 4, 0, path_));
  SLUICE_RETURN_NOT_OK(pread_exact(fd_, tail, 8, file_size_ - 8, path_));
  if (std::memcmp(head, "PAR1", 4) != 0) {
    return Status::corrupt(path_ + ": bad magic at the start of the file (not Parquet)");
  }
  if (std::memcmp(tail + 4, "PAR1", 4) != 0) {
    return Status::corrupt(path_ + ": bad magic at the end of the file (truncated or encrypted?)");
  }
  const int64_t footer_length = load_u32(tail);
  if (footer_length > file_size_ - 12) {
    return Status::corrupt(path_ + ": footer length " + std::to_string(footer_length) +
                           " exceeds the file size " + std::to_string(file_size_));
  }
  data_end_ = file_size_ - 8 - footer_length;
  std::vector<uint8_t> footer(static_cast<size_t>(footer_length));
  SLUICE_RETURN_NOT_OK(pread_exact(fd_, footer.data(), footer_length, data_end_, path_));
  auto parsed = parse_file_metadata(footer.data(), footer.size());
  if (!parsed.ok()) return parsed.status().with_context(path_ + ": corrupt footer");
  metadata_ = std::move(parsed).value();
  return Status::ok();
}

Status Reader::resolve_columns() {
  const auto& schema = metadata_.schema;
  if (schema.empty()) return Status::corrupt(path_ + ": footer has an empty schema");
  const int64_t declared = schema[0].num_children.value_or(0);
  if (declared != static_cast<int64_t>(schema.size()) - 1) {
    for (size_t i = 1; i < schema.size(); ++i) {
      if (schema[i].num_children.value_or(0) > 0) {
        return Status::invalid_argument(path_ + ": nested column '" + schema[i].name +
                                        "' is not supported (Sluice reads flat schemas)");
      }
    }
    return Status::corrupt(path_ + ": schema root declares " + std::to_string(declared) +
                           " columns but lists " + std::to_string(schema.size() - 1));
  }
  for (size_t i = 1; i < schema.size(); ++i) {
    const SchemaElement& e = schema[i];
    Leaf leaf;
    leaf.name = e.name;
    leaf.index = static_cast<int>(i - 1);
    if (e.num_children.value_or(0) > 0) {
      return Status::invalid_argument(path_ + ": nested column '" + e.name + "' is not supported");
    }
    if (!e.type) return Status::corrupt(path_ + ": column '" + e.name + "' has no physical type");
    leaf.physical = *e.type;
    const Repetition repetition = e.repetition.value_or(Repetition::optional);
    if (repetition == Repetition::repeated) leaf.unsupported = "repeated columns are not supported";
    leaf.nullable = repetition != Repetition::required;
    const auto kind = e.logical_type.kind;
    const int32_t converted = e.converted_type.value_or(-1);
    const bool is_decimal =
        kind == LogicalType::Kind::decimal || converted == converted_type::decimal;
    const bool is_time = kind == LogicalType::Kind::time ||
                         converted == converted_type::time_millis ||
                         converted == converted_type::time_micros;
    switch (leaf.physical) {
      case PhysicalType::boolean:
        leaf.type = Type::Bool;
        break;
      case PhysicalType::int32:
        leaf.type = Type::Int64;
        if (kind == LogicalType::Kind::date || converted == converted_type::date) {
          leaf.unsupported = "type DATE is not supported (cast it to TIMESTAMP when writing)";
        } else if (is_decimal) {
          leaf.unsupported = "type DECIMAL is not supported (cast it to DOUBLE when writing)";
        } else if (is_time) {
          leaf.unsupported = "type TIME is not supported";
        }
        leaf.unsigned_int32 = (kind == LogicalType::Kind::integer && !e.logical_type.is_signed) ||
                              converted == 11 || converted == 12 || converted == 13;
        break;
      case PhysicalType::int64:
        leaf.type = Type::Int64;
        if (kind == LogicalType::Kind::timestamp) {
          leaf.type = Type::Timestamp;
          leaf.is_timestamp = true;
          leaf.unit = e.logical_type.unit;
        } else if (converted == converted_type::timestamp_micros ||
                   converted == converted_type::timestamp_millis) {
          leaf.type = Type::Timestamp;
          leaf.is_timestamp = true;
          leaf.unit =
              converted == converted_type::timestamp_millis ? TimeUnit::millis : TimeUnit::micros;
        } else if (is_decimal) {
          leaf.unsupported = "type DECIMAL is not supported (cast it to DOUBLE when writing)";
        } else if (is_time) {
          leaf.unsupported = "type TIME is not supported";
        }
        break;
      case PhysicalType::float_:
      case PhysicalType::double_:
        leaf.type = Type::Double;
        break;
      case PhysicalType::byte_array:
        leaf.type = Type::String;
        if (is_decimal)
          leaf.unsupported = "type DECIMAL is not supported (cast it to DOUBLE when writing)";
        break;
      case PhysicalType::int96:
        leaf.unsupported = "INT96 timestamps are not supported";
        break;
      default:
        leaf.unsupported =
            "physical type " + physical_type_name(leaf.physical) + " is not supported";
        break;
    }
    leaves_.push_back(std::move(leaf));
  }
  for (size_t g = 0; g < metadata_.row_groups.size(); ++g) {
    const RowGroup& group = metadata_.row_groups[g];
    const std::string where = path_ + ": row group " + std::to_string(g);
    if (group.columns.size() != leaves_.size()) {
      return Status::corrupt(where + " has " + std::to_string(group.columns.size()) +
                             " column chunks for " + std::to_string(leaves_.size()) + " columns");
    }
    if (group.num_rows < 0 || group.num_rows > kMaxRowGroupRows) {
      return Status::corrupt(where + " claims " + std::to_string(group.num_rows) + " rows");
    }
    for (size_t c = 0; c < leaves_.size(); ++c) {
      if (!group.columns[c].meta_data) {
        return Status::corrupt(where + ", column '" + leaves_[c].name + "' lacks its metadata");
      }
    }
  }

  std::vector<std::string> names;
  for (const Leaf& leaf : leaves_)
    names.push_back(leaf.name);
  auto find = [&](const std::string& name) -> Result<int> {
    for (size_t i = 0; i < leaves_.size(); ++i) {
      if (leaves_[i].name == name) return static_cast<int>(i);
    }
    std::string message = path_ + ": no column '" + name + "'";
    const std::string closest = closest_name(name, names);
    if (!closest.empty()) message += " (did you mean '" + closest + "'?)";
    return Status::not_found(message);
  };
  if (options_.columns.empty()) {
    for (size_t i = 0; i < leaves_.size(); ++i)
      projection_.push_back(static_cast<int>(i));
  } else {
    for (const auto& name : options_.columns) {
      SLUICE_ASSIGN_OR_RETURN(int index, find(name));
      projection_.push_back(index);
    }
  }
  std::vector<Field> fields;
  for (int index : projection_) {
    const Leaf& leaf = leaves_[static_cast<size_t>(index)];
    if (!leaf.unsupported.empty()) {
      return Status::invalid_argument(path_ + ": column '" + leaf.name + "': " + leaf.unsupported);
    }
    fields.push_back(Field{leaf.name, leaf.type, leaf.nullable});
  }
  auto schema_result = Schema::make(std::move(fields));
  if (!schema_result.ok()) return schema_result.status().with_context(path_);
  schema_ = std::move(schema_result).value();

  for (const Predicate& predicate : options_.predicates) {
    SLUICE_ASSIGN_OR_RETURN(int index, find(predicate.column));
    const Leaf& leaf = leaves_[static_cast<size_t>(index)];
    Value literal = predicate.literal;
    if (leaf.type == Type::Timestamp && literal.type() == Type::Int64) {
      literal = Value(Timestamp{literal.as_int64()});
    }
    const auto literal_type = literal.type();
    const bool numeric = is_numeric(leaf.type) && literal_type && is_numeric(*literal_type);
    if (literal_type && !numeric && *literal_type != leaf.type) {
      return Status::type_error(path_ + ": predicate on column '" + leaf.name + "' of type " +
                                std::string(type_name(leaf.type)) + " compares with a " +
                                std::string(type_name(*literal_type)) + " literal");
    }
    predicates_.push_back(ResolvedPredicate{index, predicate.op, std::move(literal)});
  }
  return Status::ok();
}

bool Reader::row_group_may_match(int index) const {
  const RowGroup& group = metadata_.row_groups[static_cast<size_t>(index)];
  for (const ResolvedPredicate& predicate : predicates_) {
    const Leaf& leaf = leaves_[static_cast<size_t>(predicate.leaf)];
    if (!leaf.unsupported.empty()) continue;
    const ColumnMetaData& meta = *group.columns[static_cast<size_t>(predicate.leaf)].meta_data;
    // A comparison with null is never true.
    if (predicate.literal.is_null()) return false;
    if (!meta.statistics) continue;
    const Statistics& s = *meta.statistics;
    if (s.null_count && *s.null_count == meta.num_values && meta.num_values > 0) return false;
    const std::string* min_bytes = s.min_value ? &*s.min_value : nullptr;
    const std::string* max_bytes = s.max_value ? &*s.max_value : nullptr;
    // Legacy bounds use signed order, which is the type order for numbers but not for strings.
    if ((!min_bytes || !max_bytes) && leaf.type != Type::String && !leaf.unsigned_int32) {
      if (s.min && s.max) {
        min_bytes = &*s.min;
        max_bytes = &*s.max;
      }
    }
    if (!min_bytes || !max_bytes) continue;
    auto decode = [&](const std::string& bytes) -> std::optional<Value> {
      switch (leaf.physical) {
        case PhysicalType::boolean:
          if (bytes.size() != 1) return std::nullopt;
          return Value(bytes[0] != 0);
        case PhysicalType::int32: {
          if (bytes.size() != 4) return std::nullopt;
          const uint32_t raw = load_u32(reinterpret_cast<const uint8_t*>(bytes.data()));
          return Value(leaf.unsigned_int32 ? int64_t{raw} : int64_t{static_cast<int32_t>(raw)});
        }
        case PhysicalType::int64: {
          if (bytes.size() != 8) return std::nullopt;
          int64_t v;
          std::memcpy(&v, bytes.data(), 8);
          if (leaf.is_timestamp) return Value(Timestamp{convert_time(v, leaf.unit)});
          return Value(v);
        }
        case PhysicalType::float_: {
          if (bytes.size() != 4) return std::nullopt;
          float v;
          std::memcpy(&v, bytes.data(), 4);
          return Value(static_cast<double>(v));
        }
        case PhysicalType::double_: {
          if (bytes.size() != 8) return std::nullopt;
          double v;
          std::memcpy(&v, bytes.data(), 8);
          return Value(v);
        }
        case PhysicalType::byte_array:
          return Value(bytes);
        default:
          return std::nullopt;
      }
    };
    const auto min = decode(*min_bytes);
    const auto max = decode(*max_bytes);
    if (!min || !max) continue;
    const auto literal_vs_min = compare_values(predicate.literal, *min);
    const auto literal_vs_max = compare_values(predicate.literal, *max);
    if (!literal_vs_min || !literal_vs_max) continue;
    bool impossible = false;
    switch (predicate.op) {
      case CompareOp::equal:
        impossible = *literal_vs_min < 0 || *literal_vs_max > 0;
        break;
      case CompareOp::not_equal:
        impossible = *literal_vs_min == 0 && *literal_vs_max == 0;
        break;
      case CompareOp::less:
        impossible = *literal_vs_min <= 0;
        break;  // min >= literal
      case CompareOp::less_equal:
        impossible = *literal_vs_min < 0;
        break;  // min > literal
      case CompareOp::greater:
        impossible = *literal_vs_max >= 0;
        break;  // max <= literal
      case CompareOp::greater_equal:
        impossible = *literal_vs_max > 0;
        break;  // max < literal
    }
    if (impossible) return false;
  }
  return true;
}

Result<ColumnPtr> Reader::read_column_chunk(int row_group, const Leaf& leaf) {
  const RowGroup& group = metadata_.row_groups[static_cast<size_t>(row_group)];
  const ColumnMetaData& meta = *group.columns[static_cast<size_t>(leaf.index)].meta_data;
  const std::string where =
      path_ + ": column '" + leaf.name + "', row group " + std::to_string(row_group);
  if (meta.type != leaf.physical) {
    return Status::corrupt(where + ": chunk type " + physical_type_name(meta.type) +
                           " differs from the schema type " + physical_type_name(leaf.physical));
  }
  if (meta.num_values != group.num_rows) {
    return Status::corrupt(where + ": chunk holds " + std::to_string(meta.num_values) +
                           " values for " + std::to_string(group.num_rows) + " rows");
  }
  int64_t start = meta.data_page_offset;
  if (meta.dictionary_page_offset && *meta.dictionary_page_offset > 0 &&
      *meta.dictionary_page_offset < start) {
    start = *meta.dictionary_page_offset;
  }
  const int64_t length = meta.total_compressed_size;
  if (start < 4 || length < 0 || start > data_end_ || length > data_end_ - start) {
    return Status::corrupt(where + ": chunk spans bytes [" + std::to_string(start) + ", " +
                           std::to_string(start + length) + ") outside the data section [4, " +
                           std::to_string(data_end_) + ")");
  }
  std::unique_ptr<uint8_t[]> chunk(new uint8_t[static_cast<size_t>(std::max<int64_t>(length, 1))]);
  SLUICE_RETURN_NOT_OK(pread_exact(fd_, chunk.get(), length, start, path_));

  ColumnDecoder decoder(leaf, group.num_rows);
  Scratch scratch;
  size_t position = 0;
  const auto size = static_cast<size_t>(length);
  while (decoder.rows_done() < group.num_rows) {
    const int64_t page_offset = start + static_cast<int64_t>(position);
    const std::string page_where = where + ", page at offset " + std::to_string(page_offset);
    if (position >= size) {
      return Status::corrupt(where + ": chunk ends after " + std::to_string(decoder.rows_done()) +
                             " of " + std::to_string(group.num_rows) + " rows");
    }
    size_t consumed = 0;
    auto header_result = parse_page_header(chunk.get() + position, size - position, consumed);
    if (!header_result.ok()) return header_result.status().with_context(page_where);
    const PageHeader& header = *header_result;
    position += consumed;
    if (header.compressed_page_size < 0 || header.uncompressed_page_size < 0 ||
        static_cast<size_t>(header.compressed_page_size) > size - position) {
      return Status::corrupt(page_where + ": page of " +
                             std::to_string(header.compressed_page_size) +
                             " bytes is out of bounds of its column chunk (" +
                             std::to_string(size - position) + " bytes left)");
    }
    const uint8_t* page = chunk.get() + position;
    const auto compressed_size = static_cast<size_t>(header.compressed_page_size);
    const auto uncompressed_size = static_cast<size_t>(header.uncompressed_page_size);
    position += compressed_size;

    auto decompress_page = [&](const uint8_t* data, size_t data_size, size_t expected,
                               bool compressed) -> Result<const uint8_t*> {
      if (!compressed || meta.codec == Codec::uncompressed) {
        if (data_size != expected) {
          return Status::corrupt("page holds " + std::to_string(data_size) + " bytes but claims " +
                                 std::to_string(expected) + " uncompressed");
        }
        return data;
      }
      uint8_t* out = scratch.reserve(expected);
      SLUICE_RETURN_NOT_OK(decompress(meta.codec, data, data_size, out, expected));
      return static_cast<const uint8_t*>(out);
    };

    Status status;
    switch (header.type) {
      case PageType::dictionary_page: {
        if (!header.dictionary_page_header) {
          status = Status::corrupt("dictionary page lacks its DictionaryPageHeader");
          break;
        }
        auto body = decompress_page(page, compressed_size, uncompressed_size, true);
        if (!body.ok()) {
          status = body.status();
          break;
        }
        const auto& d = *header.dictionary_page_header;
        status = decoder.set_dictionary(*body, uncompressed_size, d.num_values, d.encoding);
        break;
      }
      case PageType::data_page: {
        if (!header.data_page_header) {
          status = Status::corrupt("data page lacks its DataPageHeader");
          break;
        }
        const auto& d = *header.data_page_header;
        if (leaf.nullable && d.definition_level_encoding != Encoding::rle) {
          status = Status::invalid_argument("definition level encoding " +
                                            encoding_name(d.definition_level_encoding) +
                                            " is not supported");
          break;
        }
        auto body = decompress_page(page, compressed_size, uncompressed_size, true);
        if (!body.ok()) {
          status = body.status();
          break;
        }
        status = decoder.decode_page(d.num_values, d.encoding, false, *body, uncompressed_size,
                                     *body, uncompressed_size);
        break;
      }
      case PageType::data_page_v2: {
        if (!header.data_page_header_v2) {
          status = Status::corrupt("data page v2 lacks its DataPageHeaderV2");
          break;
        }
        const auto& d = *header.data_page_header_v2;
        const int64_t levels_size =
            int64_t{d.definition_levels_byte_length} + d.repetition_levels_byte_length;
        if (d.definition_levels_byte_length < 0 || d.repetition_levels_byte_length < 0 ||
            levels_size > static_cast<int64_t>(compressed_size) ||
            levels_size > static_cast<int64_t>(uncompressed_size)) {
          status = Status::corrupt("data page v2 levels of " + std::to_string(levels_size) +
                                   " bytes exceed the page");
          break;
        }
        const auto levels_bytes = static_cast<size_t>(levels_size);
        auto body = decompress_page(page + levels_bytes, compressed_size - levels_bytes,
                                    uncompressed_size - levels_bytes, d.is_compressed);
        if (!body.ok()) {
          status = body.status();
          break;
        }
        status = decoder.decode_page(d.num_values, d.encoding, true,
                                     page + d.repetition_levels_byte_length,
                                     static_cast<size_t>(d.definition_levels_byte_length), *body,
                                     uncompressed_size - levels_bytes);
        break;
      }
      default:
        break;  // index pages and unknown pages carry nothing Sluice needs
    }
    if (!status.is_ok()) return status.with_context(page_where);
  }
  auto column = decoder.finish();
  if (!column.ok()) return column.status().with_context(where);
  return column;
}

Result<RecordBatchPtr> Reader::read_row_group(int index) {
  if (index < 0 || index >= num_row_groups()) {
    return Status::out_of_range(path_ + ": row group " + std::to_string(index) + " of " +
                                std::to_string(num_row_groups()));
  }
  const int64_t num_rows = metadata_.row_groups[static_cast<size_t>(index)].num_rows;
  std::vector<ColumnPtr> columns;
  try {
    for (int leaf : projection_) {
      SLUICE_ASSIGN_OR_RETURN(ColumnPtr column,
                              read_column_chunk(index, leaves_[static_cast<size_t>(leaf)]));
      columns.push_back(std::move(column));
    }
  } catch (const std::bad_alloc&) {
    return Status::out_of_range(path_ + ": row group " + std::to_string(index) +
                                " needs more memory than is available (corrupt sizes?)");
  }
  return RecordBatch::make_unchecked(schema_, std::move(columns), num_rows);
}

Result<std::optional<RecordBatchPtr>> Reader::next() {
  while (!pending_ || pending_offset_ >= pending_->num_rows()) {
    pending_.reset();
    pending_offset_ = 0;
    if (next_row_group_ >= num_row_groups()) return std::optional<RecordBatchPtr>();
    const int index = next_row_group_++;
    if (!row_group_may_match(index)) {
      ++row_groups_skipped_;
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(pending_, read_row_group(index));
    if (options_.batch_rows <= 0 || pending_->num_rows() <= options_.batch_rows) {
      RecordBatchPtr batch = std::move(pending_);
      pending_.reset();
      if (batch->num_rows() == 0) continue;
      return std::optional<RecordBatchPtr>(std::move(batch));
    }
  }
  const int64_t length = std::min(options_.batch_rows, pending_->num_rows() - pending_offset_);
  RecordBatchPtr batch = pending_->slice(pending_offset_, length);
  pending_offset_ += length;
  return std::optional<RecordBatchPtr>(std::move(batch));
}

Result<std::vector<RecordBatchPtr>> Reader::read_all() {
  std::vector<RecordBatchPtr> batches;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(auto batch, next());
    if (!batch) return batches;
    batches.push_back(std::move(*batch));
  }
}

}  // namespace sluice::parquet
