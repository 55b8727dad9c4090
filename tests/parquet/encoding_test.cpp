#define BOOST_TEST_MODULE parquet_encoding
#include <boost/test/unit_test.hpp>

#include <iostream>
#include <random>

#include "parquet/encoding.hpp"

using namespace sluice;
using namespace sluice::parquet;

BOOST_AUTO_TEST_CASE(rle_hybrid_round_trips_runs_and_literals_at_every_width) {
  const uint32_t seed = 31337;
  std::cout << "seed " << seed << "\n";
  std::mt19937 random(seed);
  for (int width = 1; width <= 32; ++width) {
    const uint64_t limit = width == 32 ? 0xffffffffull : (uint64_t{1} << width) - 1;
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<uint32_t> values;
      const int count = static_cast<int>(random() % 2000);
      while (static_cast<int>(values.size()) < count) {
        const uint32_t value = static_cast<uint32_t>(random() % (limit + 1));
        // Mix long runs (RLE) with scattered values (bit-packed).
        const int repeat = random() % 3 == 0 ? static_cast<int>(random() % 40) : 1;
        for (int r = 0; r < repeat; ++r)
          values.push_back(value);
      }
      std::string encoded;
      encode_rle_hybrid(values.data(), static_cast<int64_t>(values.size()), width, encoded);
      std::vector<uint32_t> decoded(values.size());
      RleHybridDecoder decoder(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size(),
                               width);
      BOOST_REQUIRE(decoder.decode(decoded.data(), static_cast<int64_t>(decoded.size())).is_ok());
      BOOST_TEST(decoded == values);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_long_constant_run_encodes_to_a_few_bytes) {
  std::vector<uint8_t> levels(100000, 1);
  std::string encoded;
  encode_rle_hybrid(levels.data(), static_cast<int64_t>(levels.size()), 1, encoded);
  BOOST_TEST(encoded.size() <= 5u);
}

BOOST_AUTO_TEST_CASE(decoding_past_the_data_is_an_error) {
  std::vector<uint32_t> values(100, 5);
  values[3] = 1;
  std::string encoded;
  encode_rle_hybrid(values.data(), 100, 3, encoded);
  std::vector<uint32_t> decoded(200);
  RleHybridDecoder decoder(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size(), 3);
  const Status status = decoder.decode(decoded.data(), 200);
  BOOST_TEST(status.code() == StatusCode::corrupt);
}
