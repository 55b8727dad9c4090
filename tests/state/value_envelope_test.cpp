#define BOOST_TEST_MODULE value_envelope
#include <boost/test/unit_test.hpp>

#include "state/value_envelope.hpp"

using namespace sluice;

BOOST_AUTO_TEST_CASE(sealed_value_unseals_to_its_payload) {
  std::string payload("range 0..42\0binary", 18);
  std::string sealed = seal_value(EnvelopeTag::offsets, "key", payload);
  BOOST_TEST(sealed.size() == kEnvelopeHeaderSize + payload.size());
  auto unsealed = unseal_value(EnvelopeTag::offsets, "key", sealed);
  BOOST_REQUIRE(unsealed.ok());
  BOOST_TEST(std::string(*unsealed) == payload);
}

BOOST_AUTO_TEST_CASE(empty_payload_round_trips) {
  std::string sealed = seal_value(EnvelopeTag::commits, "", "");
  auto unsealed = unseal_value(EnvelopeTag::commits, "", sealed);
  BOOST_REQUIRE(unsealed.ok());
  BOOST_TEST(unsealed->empty());
}

BOOST_AUTO_TEST_CASE(every_single_bit_flip_is_detected) {
  std::string sealed = seal_value(EnvelopeTag::state, "t\0k", "some state value");
  for (size_t byte = 0; byte < sealed.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = sealed;
      damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
      auto unsealed = unseal_value(EnvelopeTag::state, "t\0k", damaged);
      BOOST_TEST_REQUIRE(!unsealed.ok(), "flip of bit " << bit << " in byte " << byte);
      BOOST_TEST(unsealed.status().code() == StatusCode::corrupt);
    }
  }
}

BOOST_AUTO_TEST_CASE(value_under_another_key_or_database_fails_verification) {
  std::string sealed = seal_value(EnvelopeTag::offsets, "epoch-1", "payload");
  auto other_key = unseal_value(EnvelopeTag::offsets, "epoch-2", sealed);
  BOOST_REQUIRE(!other_key.ok());
  BOOST_TEST(other_key.status().message().find("checksum") != std::string::npos);
  auto other_database = unseal_value(EnvelopeTag::commits, "epoch-1", sealed);
  BOOST_REQUIRE(!other_database.ok());
  BOOST_TEST(other_database.status().code() == StatusCode::corrupt);
}

BOOST_AUTO_TEST_CASE(short_value_is_corrupt_not_read_past_its_end) {
  auto unsealed = unseal_value(EnvelopeTag::meta, "k", "SL\x01");
  BOOST_REQUIRE(!unsealed.ok());
  BOOST_TEST(unsealed.status().code() == StatusCode::corrupt);
  BOOST_TEST(unsealed.status().message().find("shorter than") != std::string::npos);
}
