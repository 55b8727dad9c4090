#define BOOST_TEST_MODULE parquet_corrupt_file
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>

#include "parquet/reader.hpp"
#include "parquet/writer.hpp"
#include "tests/parquet/parquet_test_data.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace sluice::parquet;
using sluice::testing::TemporaryDirectory;

namespace {

std::string write_valid_file(const TemporaryDirectory& dir, Compression compression) {
  const std::string path = dir.file("valid.parquet");
  WriterOptions options;
  options.compression = compression;
  options.row_group_bytes = 8 * 1024;
  options.page_bytes = 2 * 1024;
  auto writer = Writer::open(path, sluice::testing::parquet_test_schema(), options).value();
  for (int64_t first = 0; first < 600; first += 150) {
    BOOST_REQUIRE(writer->write(*sluice::testing::parquet_test_batch(first, 150, 1)).is_ok());
  }
  auto written = writer->close();
  BOOST_REQUIRE(written.ok());
  BOOST_REQUIRE(written->num_row_groups > 1);
  return path;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Overwrites in place and then truncates: opening with O_TRUNC makes ext4 flush the old data,
// which costs milliseconds per round.
void write_bytes(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  BOOST_REQUIRE(::ftruncate(fd, static_cast<off_t>(bytes.size())) == 0);
  ::close(fd);
}

// Reads every batch; returns the first error, or ok.
Status read_everything(const std::string& path) {
  auto reader = Reader::open(path);
  if (!reader.ok()) return reader.status();
  return (*reader)->read_all().status();
}

Status read_bytes_as_file(const TemporaryDirectory& dir, const std::string& bytes) {
  const std::string path = dir.file("broken.parquet");
  write_bytes(path, bytes);
  return read_everything(path);
}

}  // namespace

BOOST_AUTO_TEST_CASE(bad_magic_and_truncation_are_named) {
  TemporaryDirectory dir;
  const std::string valid = read_bytes(write_valid_file(dir, Compression::snappy));
  const std::string path = dir.file("broken.parquet");

  std::string bytes = valid;
  bytes[0] = 'X';
  Status status = read_bytes_as_file(dir, bytes);
  BOOST_TEST(status.code() == StatusCode::corrupt);
  BOOST_TEST(status.message().find(path) != std::string::npos);
  BOOST_TEST(status.message().find("bad magic at the start") != std::string::npos);

  status = read_bytes_as_file(dir, valid.substr(0, valid.size() - 100));
  BOOST_TEST(status.message().find("bad magic at the end") != std::string::npos);

  status = read_bytes_as_file(dir, "PAR1");
  BOOST_TEST(status.message().find("too small") != std::string::npos);

  bytes = valid;
  const uint32_t huge = 0x7fffffff;
  std::memcpy(bytes.data() + bytes.size() - 8, &huge, 4);
  status = read_bytes_as_file(dir, bytes);
  BOOST_TEST(status.message().find("footer length") != std::string::npos);

  // A footer that ends early fails in its Thrift decoding.
  uint32_t footer_length;
  std::memcpy(&footer_length, valid.data() + valid.size() - 8, 4);
  bytes = valid;
  const uint32_t shorter = footer_length / 2;
  std::memcpy(bytes.data() + bytes.size() - 8, &shorter, 4);
  status = read_bytes_as_file(dir, bytes);
  BOOST_TEST(status.code() == StatusCode::corrupt);
  BOOST_TEST(status.message().find("corrupt footer") != std::string::npos);

  BOOST_TEST(read_everything(dir.file("absent.parquet")).code() == StatusCode::not_found);
}

BOOST_AUTO_TEST_CASE(damaged_pages_are_reported_with_column_and_offset) {
  TemporaryDirectory dir;
  const std::string valid = read_bytes(write_valid_file(dir, Compression::snappy));
  // Overwrite the data of the first column chunk (just past the magic) with garbage.
  std::string bytes = valid;
  for (size_t i = 4; i < 40; ++i)
    bytes[i] = static_cast<char>(0xee);
  const Status status = read_bytes_as_file(dir, bytes);
  BOOST_REQUIRE(!status.is_ok());
  BOOST_TEST(status.code() == StatusCode::corrupt);
  BOOST_TEST(
      status.message().find("column 'id', row group 0, page at offset 4") != std::string::npos,
      status.message());
}

BOOST_AUTO_TEST_CASE(flipped_and_truncated_bytes_give_data_or_an_error_never_a_crash) {
  TemporaryDirectory dir;
  const auto start = std::chrono::steady_clock::now();
  const uint32_t seed = 977;
  std::cout << "seed " << seed << "\n";
  std::mt19937 random(seed);
  int errors = 0, successes = 0;
  for (Compression compression :
       {Compression::snappy, Compression::zstd, Compression::uncompressed}) {
    const std::string valid = read_bytes(write_valid_file(dir, compression));
    BOOST_TEST_REQUIRE(read_everything(dir.file("valid.parquet")).is_ok());
    uint32_t footer_length;
    std::memcpy(&footer_length, valid.data() + valid.size() - 8, 4);
    const size_t footer_start = valid.size() - 8 - footer_length;
    for (int round = 0; round < 1500; ++round) {
      std::string bytes = valid;
      const int kind = static_cast<int>(random() % 4);
      if (kind == 0) {
        bytes.resize(random() % valid.size());
      } else {
        // Half of the flips hit the footer, where one byte steers everything else.
        const int flips = 1 + static_cast<int>(random() % 3);
        for (int f = 0; f < flips; ++f) {
          const size_t position =
              kind == 1 ? footer_start + random() % footer_length : random() % valid.size();
          bytes[position] = static_cast<char>(kind == 3 ? random() % 256
                                                        : bytes[position] ^ (1u << (random() % 8)));
        }
      }
      const Status status = read_bytes_as_file(dir, bytes);
      if (status.is_ok()) {
        ++successes;
      } else {
        ++errors;
        BOOST_TEST_CONTEXT("round " << round << " kind " << kind) {
          BOOST_TEST(status.message().find("broken.parquet") != std::string::npos,
                     status.to_string());
          BOOST_TEST(status.code() != StatusCode::internal);
        }
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << errors << " errors, " << successes << " readable, " << seconds << " s\n";
  BOOST_TEST(errors > 2000);
  BOOST_TEST(seconds < 5.0);
}
