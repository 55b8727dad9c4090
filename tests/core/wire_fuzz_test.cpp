#define BOOST_TEST_MODULE wire_fuzz
#include <boost/test/unit_test.hpp>

#include <flatbuffers/flatbuffers.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/record_batch.hpp"
#include "core/wire.hpp"
#include "wire_generated.h"

using namespace sluice;

namespace {

constexpr int kIterations = 10'000;

// Builds a batch of random rows over the given schema; nulls only where the field allows.
RecordBatchPtr random_batch(std::mt19937_64& random, const SchemaPtr& schema, int64_t rows) {
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int64_t> any_int(-1'000'000'000, 1'000'000'000);
  std::uniform_int_distribution<int> length(0, 24);
  std::vector<std::vector<Value>> values;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<Value> row;
    for (const Field& field : schema->fields()) {
      if (field.nullable && percent(random) < 15) {
        row.emplace_back();
        continue;
      }
      switch (field.type) {
        case Type::Bool:
          row.emplace_back(percent(random) < 50);
          break;
        case Type::Int64:
          row.emplace_back(any_int(random));
          break;
        case Type::Double:
          row.emplace_back(static_cast<double>(any_int(random)) / 7);
          break;
        case Type::Timestamp:
          row.emplace_back(Timestamp{any_int(random)});
          break;
        case Type::String: {
          std::string text(static_cast<size_t>(length(random)), 'x');
          for (char& c : text)
            c = static_cast<char>('a' + percent(random) % 26);
          row.emplace_back(std::move(text));
          break;
        }
      }
    }
    values.push_back(std::move(row));
  }
  return RecordBatch::from_rows(schema, values).value();
}

// Returns the seed corpus: batches of every type, sizes around the byte and word edges of the
// validity bitmap, slices at bit offsets, and the degenerate shapes.
std::vector<RecordBatchPtr> corpus(std::mt19937_64& random) {
  auto mixed = Schema::make({{"flag", Type::Bool},
                             {"id", Type::Int64, false},
                             {"price", Type::Double},
                             {"name", Type::String},
                             {"at", Type::Timestamp},
                             {"label", Type::String, false}})
                   .value();
  std::vector<RecordBatchPtr> batches;
  for (int64_t rows : {0, 1, 7, 8, 9, 63, 64, 65, 130}) {
    batches.push_back(random_batch(random, mixed, rows));
  }
  auto big = random_batch(random, mixed, 300);
  batches.push_back(big->slice(3, 100));
  batches.push_back(big->slice(13, 77));
  batches.push_back(big->slice(64, 200));
  for (Type type : {Type::Bool, Type::Int64, Type::Double, Type::String, Type::Timestamp}) {
    batches.push_back(random_batch(random, Schema::make({{"only", type}}).value(), 40));
  }
  batches.push_back(RecordBatch::make(Schema::make({}).value(), {}, 5).value());
  return batches;
}

// Counts what happened to the mutated buffers.
struct Outcomes {
  int decoded = 0;
  int refused = 0;
  int refused_before_verifier = 0;  // empty, too short, wrong identifier
  int refused_by_verifier = 0;
  int refused_by_checks = 0;  // passed FlatBuffers verification, caught by Sluice's checks
};

// Positions of the fields a mutation should aim at: vector length prefixes, string offsets,
// the row count. Found through the generated accessors of the unmutated buffer.
std::vector<size_t> interesting_positions(const std::vector<uint8_t>& bytes) {
  std::vector<size_t> positions;
  const uint8_t* base = bytes.data();
  const auto* root = wire::fb::GetSizePrefixedRecordBatch(base);
  auto add_vector = [&](const flatbuffers::Vector<uint8_t>* vector, bool offsets) {
    if (vector == nullptr) return;
    positions.push_back(static_cast<size_t>(vector->data() - base) - 4);  // length prefix
    if (offsets) {
      for (size_t i = 0; i + 8 <= vector->size(); i += 8) {
        positions.push_back(static_cast<size_t>(vector->data() - base) + i);
      }
    } else if (vector->size() > 0) {
      positions.push_back(static_cast<size_t>(vector->data() - base));
    }
  };
  if (root->columns() != nullptr) {
    for (const auto* column : *root->columns()) {
      add_vector(column->validity(), false);
      add_vector(column->values(), column->type() == wire::fb::Type::String);
      add_vector(column->data(), false);
    }
  }
  // The row count has no accessor for its address; its value is searched for instead.
  const int64_t num_rows = root->num_rows();
  for (size_t i = 0; num_rows > 0 && i + 8 <= bytes.size(); i += 4) {
    if (std::memcmp(base + i, &num_rows, 8) == 0) positions.push_back(i);
  }
  return positions;
}

void mutate(std::mt19937_64& random, std::vector<uint8_t>& bytes,
            const std::vector<size_t>& interesting) {
  std::uniform_int_distribution<int> kind_of(0, 9);
  auto index = [&](size_t limit) {
    return std::uniform_int_distribution<size_t>(0, limit == 0 ? 0 : limit - 1)(random);
  };
  const int kind = kind_of(random);
  if (bytes.empty()) {
    bytes.push_back(static_cast<uint8_t>(random()));
    return;
  }
  switch (kind) {
    case 0:
    case 1: {  // flip one bit
      bytes[index(bytes.size())] ^= static_cast<uint8_t>(1u << index(8));
      break;
    }
    case 2: {  // overwrite a few bytes
      const size_t at = index(bytes.size());
      const size_t count = std::min<size_t>(1 + index(4), bytes.size() - at);
      for (size_t i = 0; i < count; ++i)
        bytes[at + i] = static_cast<uint8_t>(random());
      break;
    }
    case 3: {  // truncate
      bytes.resize(index(bytes.size()));
      break;
    }
    case 4: {  // insert bytes
      const size_t at = index(bytes.size() + 1);
      const size_t count = 1 + index(8);
      std::vector<uint8_t> inserted(count);
      for (uint8_t& b : inserted)
        b = static_cast<uint8_t>(random());
      bytes.insert(bytes.begin() + static_cast<long>(at), inserted.begin(), inserted.end());
      break;
    }
    case 5: {  // erase bytes
      const size_t at = index(bytes.size());
      const size_t count = std::min<size_t>(1 + index(8), bytes.size() - at);
      bytes.erase(bytes.begin() + static_cast<long>(at),
                  bytes.begin() + static_cast<long>(at + count));
      break;
    }
    default: {  // a length, offset or row count field gets a nearby or extreme value
      if (interesting.empty()) {
        bytes[index(bytes.size())] = static_cast<uint8_t>(random());
        break;
      }
      const size_t at = interesting[index(interesting.size())];
      if (at + 4 > bytes.size()) break;
      // Unsigned arithmetic wraps around, as a corrupted field would.
      uint32_t value;
      std::memcpy(&value, bytes.data() + at, 4);
      static constexpr uint32_t kDeltas[] = {1, 0xffffffffu, 8, 0xfffffff8u, 64, 1u << 20};
      switch (index(4)) {
        case 0:
          value += kDeltas[index(std::size(kDeltas))];
          break;
        case 1:
          value = 0u - value;
          break;
        case 2:
          value = static_cast<uint32_t>(random());
          break;
        default:
          value = index(2) == 0 ? 0x7fffffffu : 0;
          break;
      }
      std::memcpy(bytes.data() + at, &value, 4);
      break;
    }
  }
}

// Reads every value of a decoded batch and checks it passes the library's own validation.
void check_fully_readable(const RecordBatch& batch) {
  std::vector<ColumnPtr> rebuilt;
  for (int c = 0; c < batch.num_columns(); ++c) {
    const ColumnPtr& column = batch.column(c);
    auto again = Column::make(column->type(), column->length(), column->values_buffer(),
                              column->validity_buffer(), column->data_buffer(), column->offset());
    BOOST_REQUIRE_MESSAGE(again.ok(),
                          "decoded column " << c << " fails Column::make: " << again.status());
    rebuilt.push_back(*again);
  }
  auto remade = RecordBatch::make(batch.schema(), rebuilt, batch.num_rows());
  BOOST_REQUIRE_MESSAGE(remade.ok(), "decoded batch fails RecordBatch::make: " << remade.status());
  if (batch.num_columns() == 0) {
    // Nothing to read; a row count alone may be large, which is not worth materializing.
    BOOST_REQUIRE(batch.num_rows() <= wire::kMaxRows);
    return;
  }
  const auto rows = batch.to_rows();
  BOOST_REQUIRE(static_cast<int64_t>(rows.size()) == batch.num_rows());
  // A decoded batch encodes again, and decoding and encoding that gives the same bytes (rows
  // are not compared: a mutated double may be NaN, which equals nothing).
  auto bytes = wire::encode_batch(batch);
  BOOST_REQUIRE(bytes.ok());
  auto again = wire::decode_batch(bytes->data(), bytes->size());
  BOOST_REQUIRE_MESSAGE(again.ok(), again.status());
  BOOST_REQUIRE(((*again)->num_rows() == batch.num_rows()));
  auto bytes_again = wire::encode_batch(**again);
  BOOST_REQUIRE(bytes_again.ok());
  BOOST_REQUIRE((*bytes_again == *bytes));
}

}  // namespace

BOOST_AUTO_TEST_CASE(mutated_batches_never_crash_and_decode_only_to_readable_batches) {
  const char* replay = std::getenv("SLUICE_WIRE_FUZZ_SEED");
  const uint64_t seed = replay != nullptr ? std::stoull(replay) : std::random_device()();
  BOOST_TEST_MESSAGE("wire fuzz seed " << seed << " (set SLUICE_WIRE_FUZZ_SEED to replay)");
  std::mt19937_64 random(seed);
  const std::vector<RecordBatchPtr> batches = corpus(random);
  std::vector<std::vector<uint8_t>> encoded;
  std::vector<std::vector<size_t>> positions;
  for (const RecordBatchPtr& batch : batches) {
    encoded.push_back(wire::encode_batch(*batch).value());
    positions.push_back(interesting_positions(encoded.back()));
  }

  Outcomes outcomes;
  const auto start = std::chrono::steady_clock::now();
  std::uniform_int_distribution<size_t> pick(0, encoded.size() - 1);
  std::uniform_int_distribution<int> mutations(1, 3);
  std::uniform_int_distribution<size_t> shift(0, 7);
  std::uniform_int_distribution<int> coin(0, 1);
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    const size_t which = pick(random);
    std::vector<uint8_t> bytes = encoded[which];
    for (int m = mutations(random); m > 0; --m)
      mutate(random, bytes, positions[which]);
    // Half the time the size prefix is made to agree again, so shifted and truncated
    // structure reaches the verifier instead of stopping at the prefix check.
    if (bytes.size() >= 4 && coin(random) == 0) {
      const auto prefix = static_cast<uint32_t>(bytes.size() - 4);
      std::memcpy(bytes.data(), &prefix, 4);
    }
    // Decode from an exactly sized heap copy, sometimes misaligned, so ASan sees any
    // read past the end.
    const size_t misalign = shift(random) < 6 ? 0 : 1 + shift(random) % 7;
    std::vector<uint8_t> storage(bytes.size() + misalign);
    if (!bytes.empty()) std::memcpy(storage.data() + misalign, bytes.data(), bytes.size());
    const uint8_t* data = storage.data() + misalign;
    auto decoded = wire::decode_batch(data, bytes.size());
    if (decoded.ok()) {
      ++outcomes.decoded;
      BOOST_TEST_CONTEXT("iteration " << iteration << " from seed batch " << which) {
        check_fully_readable(**decoded);
      }
      continue;
    }
    ++outcomes.refused;
    BOOST_REQUIRE_MESSAGE(decoded.status().code() == StatusCode::corrupt,
                          "iteration " << iteration << ": " << decoded.status());
    const std::string message = decoded.status().message();
    if (message.find("FlatBuffers verification") != std::string::npos) {
      ++outcomes.refused_by_verifier;
    } else if (message.find("identifier") != std::string::npos ||
               message.find("too short") != std::string::npos ||
               message.find("empty buffer") != std::string::npos ||
               message.find("size prefix") != std::string::npos ||
               message.find("holds a Sluice schema") != std::string::npos) {
      ++outcomes.refused_before_verifier;
    } else {
      ++outcomes.refused_by_checks;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST_MESSAGE("wire fuzz: " << kIterations << " buffers in " << seconds
                                   << " s: " << outcomes.decoded << " decoded, " << outcomes.refused
                                   << " refused (" << outcomes.refused_before_verifier
                                   << " before the verifier, " << outcomes.refused_by_verifier
                                   << " by the verifier, " << outcomes.refused_by_checks
                                   << " by Sluice's checks)");
  BOOST_TEST(outcomes.decoded + outcomes.refused == kIterations);
  // Every stage must have seen work: mutations of values and string bytes still decode,
  // mangled structure is caught by the verifier, and sizes and offsets by our own checks.
  BOOST_TEST(outcomes.decoded > kIterations / 50);
  BOOST_TEST(outcomes.refused > kIterations / 4);
  BOOST_TEST(outcomes.refused_by_verifier > kIterations / 20);
  BOOST_TEST(outcomes.refused_by_checks > kIterations / 50);
}

BOOST_AUTO_TEST_CASE(random_bytes_are_refused) {
  std::mt19937_64 random(12345);
  BOOST_TEST_MESSAGE("random bytes seed 12345");
  int refused = 0;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> bytes(std::uniform_int_distribution<size_t>(0, 256)(random));
    for (uint8_t& b : bytes)
      b = static_cast<uint8_t>(random());
    // Two in three carry the right identifier, one in three also the right size prefix, so
    // they reach the checks behind it.
    if (bytes.size() >= 12 && i % 3 != 0) std::memcpy(bytes.data() + 8, "SLRB", 4);
    if (bytes.size() >= 12 && i % 3 == 2) {
      const auto prefix = static_cast<uint32_t>(bytes.size() - 4);
      std::memcpy(bytes.data(), &prefix, 4);
    }
    auto decoded = wire::decode_batch(bytes.data(), bytes.size());
    if (!decoded.ok()) {
      ++refused;
      BOOST_REQUIRE(decoded.status().code() == StatusCode::corrupt);
    } else {
      check_fully_readable(**decoded);
    }
  }
  BOOST_TEST(refused > 1990);
}
