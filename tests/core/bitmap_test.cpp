#define BOOST_TEST_MODULE bitmap
#include <boost/test/unit_test.hpp>

#include <random>
#include <vector>

#include "core/bitmap.hpp"

using namespace sluice;

namespace {

// Bit i of a byte vector, least significant bit first: the reference the kernels are held to.
bool naive_get(const std::vector<uint8_t>& bytes, int64_t i) {
  return (bytes[static_cast<size_t>(i / 8)] >> (i % 8)) & 1;
}

int64_t naive_count(const std::vector<uint8_t>& bytes, int64_t offset, int64_t length) {
  int64_t count = 0;
  for (int64_t i = offset; i < offset + length; ++i)
    count += naive_get(bytes, i);
  return count;
}

std::vector<uint8_t> random_bytes(std::mt19937& random, size_t size) {
  std::vector<uint8_t> bytes(size);
  for (auto& b : bytes)
    b = static_cast<uint8_t>(random());
  return bytes;
}

constexpr uint32_t kSeed = 42;

}  // namespace

BOOST_AUTO_TEST_CASE(set_clear_and_set_to_change_exactly_one_bit) {
  std::vector<uint8_t> bits(5, 0);
  std::vector<bool> expected(40, false);
  std::mt19937 random(kSeed);
  for (int step = 0; step < 2000; ++step) {
    const int64_t i = static_cast<int64_t>(random() % 40);
    const auto operation = random() % 3;
    const bool v = operation == 0 || (operation == 2 && random() % 2 == 1);
    if (operation == 0) bitmap::set(bits.data(), i);
    if (operation == 1) bitmap::clear(bits.data(), i);
    if (operation == 2) bitmap::set_to(bits.data(), i, v);
    expected[static_cast<size_t>(i)] = v;
    for (int64_t j = 0; j < 40; ++j) {
      if (bitmap::get(bits.data(), j) != expected[static_cast<size_t>(j)]) {
        BOOST_FAIL("bit " << j << " differs after step " << step);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(bits_are_least_significant_first) {
  std::vector<uint8_t> bits(2, 0);
  bitmap::set(bits.data(), 0);
  bitmap::set(bits.data(), 9);
  BOOST_TEST(bits[0] == 0x01);
  BOOST_TEST(bits[1] == 0x02);
}

BOOST_AUTO_TEST_CASE(bytes_for_rounds_up_to_whole_bytes) {
  BOOST_TEST(bitmap::bytes_for(0) == 0);
  BOOST_TEST(bitmap::bytes_for(1) == 1);
  BOOST_TEST(bitmap::bytes_for(8) == 1);
  BOOST_TEST(bitmap::bytes_for(9) == 2);
  BOOST_TEST(bitmap::bytes_for(64) == 8);
}

BOOST_AUTO_TEST_CASE(load_word_matches_bit_by_bit_reads_at_every_shift) {
  std::mt19937 random(kSeed);
  const auto bytes = random_bytes(random, 32);
  for (int64_t offset = 0; offset + 64 <= 31 * 8; ++offset) {
    uint64_t expected = 0;
    for (int b = 0; b < 64; ++b)
      expected |= uint64_t{naive_get(bytes, offset + b)} << b;
    BOOST_TEST(bitmap::load_word(bytes.data(), offset) == expected, "offset " << offset);
  }
}

BOOST_AUTO_TEST_CASE(count_set_matches_a_naive_count_at_many_offsets_and_lengths) {
  std::mt19937 random(kSeed);
  BOOST_TEST_MESSAGE("seed " << kSeed);
  // Exact-size vectors: under AddressSanitizer any read past the last needed byte is caught.
  for (int density = 0; density < 3; ++density) {
    std::vector<uint8_t> bytes = random_bytes(random, 80);
    if (density == 1) std::fill(bytes.begin(), bytes.end(), 0xff);
    if (density == 2) std::fill(bytes.begin(), bytes.end(), 0x00);
    for (int64_t offset = 0; offset < 70; ++offset) {
      for (int64_t length = 0; offset + length <= 640; length += 1 + length / 16) {
        const int64_t needed = bitmap::bytes_for(offset + length);
        std::vector<uint8_t> exact(bytes.begin(), bytes.begin() + needed);
        if (bitmap::count_set(exact.data(), offset, length) != naive_count(bytes, offset, length)) {
          BOOST_FAIL("count_set differs at offset " << offset << " length " << length);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(copy_matches_naive_bits_and_leaves_later_dst_bits_alone) {
  std::mt19937 random(kSeed);
  const auto src = random_bytes(random, 40);
  for (int64_t offset = 0; offset < 24; ++offset) {
    for (int64_t length = 0; offset + length <= 300; length += 1 + length / 8) {
      for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xff}}) {
        std::vector<uint8_t> dst(40, fill);
        bitmap::copy(dst.data(), src.data(), offset, length);
        for (int64_t i = 0; i < 320; ++i) {
          const bool expected = i < length ? naive_get(src, offset + i) : fill != 0;
          if (naive_get(dst, i) != expected) {
            BOOST_FAIL("copy offset " << offset << " length " << length << " fill " << int(fill)
                                      << " differs at bit " << i);
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(and_into_matches_naive_and_at_unaligned_offsets) {
  std::mt19937 random(kSeed);
  const auto a = random_bytes(random, 40);
  const auto b = random_bytes(random, 40);
  for (int64_t a_offset = 0; a_offset < 17; ++a_offset) {
    for (int64_t b_offset : {int64_t{0}, int64_t{3}, int64_t{8}, int64_t{13}, int64_t{16}}) {
      for (int64_t length = 0; length <= 250; length += 1 + length / 8) {
        std::vector<uint8_t> dst(40, 0xff);
        bitmap::and_into(dst.data(), a.data(), a_offset, b.data(), b_offset, length);
        for (int64_t i = 0; i < 320; ++i) {
          const bool expected =
              i < length ? naive_get(a, a_offset + i) && naive_get(b, b_offset + i) : true;
          if (naive_get(dst, i) != expected) {
            BOOST_FAIL("and_into offsets " << a_offset << "," << b_offset << " length " << length
                                           << " differs at bit " << i);
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(set_all_sets_exactly_the_first_length_bits) {
  for (int64_t length = 0; length <= 70; ++length) {
    std::vector<uint8_t> bits(10, 0);
    bitmap::set_all(bits.data(), length);
    BOOST_TEST(naive_count(bits, 0, 80) == length);
    BOOST_TEST(naive_count(bits, 0, length) == length);
  }
}
