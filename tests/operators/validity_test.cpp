#define BOOST_TEST_MODULE validity
#include <boost/test/unit_test.hpp>

#include <random>

#include "operators/validity.hpp"

using namespace sluice;

namespace {

// A bitmap of length bits held in a buffer of exactly the bytes it needs (no padding), so any
// read past its last byte shows up under AddressSanitizer.
struct TightBitmap {
  std::vector<bool> bits;
  std::vector<uint8_t> bytes;
};

TightBitmap random_bitmap(int64_t length, uint64_t seed) {
  std::mt19937_64 random(seed);
  TightBitmap b;
  b.bytes.assign(static_cast<size_t>(bitmap::bytes_for(length)), 0);
  for (int64_t i = 0; i < length; ++i) {
    const bool set = random() % 3 != 0;
    b.bits.push_back(set);
    if (set) bitmap::set(b.bytes.data(), i);
  }
  return b;
}

bool bit(const uint64_t* words, int64_t i) {
  return (words[i / 64] >> (i % 64)) & 1;
}

}  // namespace

BOOST_AUTO_TEST_CASE(copy_and_and_into_handle_every_bit_offset) {
  for (int64_t length : {1, 7, 8, 63, 64, 65, 200}) {
    for (int64_t offset : {0, 1, 3, 7, 8, 9, 63, 64, 70}) {
      auto a = random_bitmap(offset + length, 100 + offset);
      auto b = random_bitmap(offset + length + 5, 200 + length);
      std::vector<uint64_t> out(static_cast<size_t>(validity::words_for(length)));
      validity::copy(out.data(), {a.bytes.data(), offset}, length);
      for (int64_t i = 0; i < length; ++i)
        BOOST_TEST(bit(out.data(), i) == a.bits[offset + i]);
      validity::and_into(out.data(), {b.bytes.data(), offset + 5}, length);
      for (int64_t i = 0; i < length; ++i) {
        BOOST_TEST(bit(out.data(), i) == (a.bits[offset + i] && b.bits[offset + 5 + i]));
      }
      // Bits past the length stay clear, so counts over whole words are exact.
      int64_t expected_count = 0;
      for (int64_t i = 0; i < length; ++i)
        expected_count += bit(out.data(), i);
      BOOST_TEST(validity::count(out.data(), validity::words_for(length) * 64) == expected_count);
    }
  }
}

BOOST_AUTO_TEST_CASE(copy_without_a_bitmap_sets_exactly_length_bits) {
  std::vector<uint64_t> out(3, 0);
  validity::copy(out.data(), {}, 130);
  BOOST_TEST(validity::count(out.data(), 192) == 130);
}

BOOST_AUTO_TEST_CASE(pack_and_unpack_round_trip) {
  std::mt19937_64 random(4);
  for (int64_t length : {0, 1, 8, 9, 64, 100, 1000}) {
    std::vector<uint8_t> bytes(static_cast<size_t>(length));
    for (auto& b : bytes)
      b = random() % 2;
    std::vector<uint64_t> words(static_cast<size_t>(validity::words_for(length)) + 1, 0);
    validity::pack(bytes.data(), length, words.data());
    for (int64_t i = 0; i < length; ++i)
      BOOST_TEST(bit(words.data(), i) == (bytes[i] == 1));
    for (int64_t offset : {0, 5}) {
      std::vector<uint8_t> shifted(static_cast<size_t>(bitmap::bytes_for(length + offset)) + 1, 0);
      for (int64_t i = 0; i < length; ++i) {
        if (bytes[i]) bitmap::set(shifted.data(), i + offset);
      }
      std::vector<uint8_t> back(static_cast<size_t>(length));
      validity::unpack({shifted.data(), offset}, length, back.data());
      BOOST_TEST(back == bytes, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(select_rows_keeps_rows_whose_byte_and_bit_are_set) {
  for (int64_t length : {0, 1, 63, 64, 65, 500}) {
    for (int64_t offset : {0, 3, 64}) {
      auto valid = random_bitmap(offset + length, 7 + length);
      std::mt19937_64 random(static_cast<uint64_t>(length));
      std::vector<uint8_t> bytes(static_cast<size_t>(length));
      for (auto& b : bytes)
        b = random() % 2;
      std::vector<int32_t> expected;
      for (int64_t i = 0; i < length; ++i) {
        if (bytes[i] && valid.bits[offset + i]) expected.push_back(static_cast<int32_t>(i));
      }
      std::vector<int32_t> selection{-1};
      validity::select_rows(bytes.data(), {valid.bytes.data(), offset}, length, selection);
      BOOST_REQUIRE(!selection.empty());
      BOOST_TEST(selection.front() == -1);  // appends after what was there
      selection.erase(selection.begin());
      BOOST_TEST(selection == expected, boost::test_tools::per_element());
    }
  }
}
