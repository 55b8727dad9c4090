// Measures encode + verify + decode of 64k-row batches against a memcpy of the same bytes.
// Prints `bench <name> <value> <unit>` lines; `--quick` runs ~0.3 s per measurement
// instead of ~2 s.

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/record_batch.hpp"
#include "core/wire.hpp"

using namespace sluice;

namespace {

constexpr int64_t kRows = 64 * 1024;
constexpr int kBatches = 4;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Builds a batch of INT64, DOUBLE, STRING (10 to 20 bytes), TIMESTAMP and BOOL columns with
// about 10% nulls in each.
RecordBatchPtr make_batch(std::mt19937_64& random) {
  auto schema = Schema::make({{"id", Type::Int64},
                              {"price", Type::Double},
                              {"name", Type::String},
                              {"at", Type::Timestamp},
                              {"flag", Type::Bool}})
                    .value();
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int> length(10, 20);
  ColumnBuilder ids(Type::Int64), prices(Type::Double), names(Type::String), times(Type::Timestamp),
      flags(Type::Bool);
  std::string text;
  for (int64_t i = 0; i < kRows; ++i) {
    if (percent(random) < 10) {
      ids.append_null();
    } else {
      ids.append_int64(static_cast<int64_t>(random() >> 20));
    }
    if (percent(random) < 10) {
      prices.append_null();
    } else {
      prices.append_double(static_cast<double>(random() % 1'000'000) / 100);
    }
    if (percent(random) < 10) {
      names.append_null();
    } else {
      text.resize(static_cast<size_t>(length(random)));
      for (char& c : text)
        c = static_cast<char>('a' + percent(random) % 26);
      names.append_string(text);
    }
    if (percent(random) < 10) {
      times.append_null();
    } else {
      times.append_timestamp(1'700'000'000'000'000 + i * 1000);
    }
    if (percent(random) < 10) {
      flags.append_null();
    } else {
      flags.append_bool(percent(random) < 50);
    }
  }
  return RecordBatch::make(schema, {ids.finish(), prices.finish(), names.finish(), times.finish(),
                                    flags.finish()})
      .value();
}

void print(const char* name, double value, const char* unit) {
  std::printf("bench %s %.1f %s\n", name, value, unit);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const double budget = quick ? 0.3 : 2.0;

  std::mt19937_64 random(42);
  std::vector<RecordBatchPtr> batches;
  std::vector<std::vector<uint8_t>> encoded;
  for (int i = 0; i < kBatches; ++i) {
    batches.push_back(make_batch(random));
    encoded.push_back(wire::encode_batch(*batches.back()).value());
    auto decoded = wire::decode_batch(encoded.back().data(), encoded.back().size());
    if (!decoded.ok() || (*decoded)->to_rows() != batches.back()->to_rows()) {
      std::fprintf(stderr, "round trip failed: %s\n", decoded.status().to_string().c_str());
      return 1;
    }
  }

  // Encode into a reused encoder, then verify and decode into fresh buffers: what a sender
  // and a receiver of a batch do, on one thread.
  wire::BatchEncoder encoder;
  int64_t bytes = 0;
  int64_t checksum = 0;
  double encode_seconds = 0;
  double decode_seconds = 0;
  int64_t iterations = 0;
  const auto start = Clock::now();
  while (seconds_since(start) < budget || iterations < kBatches) {
    const RecordBatch& batch = *batches[static_cast<size_t>(iterations % kBatches)];
    const auto encode_start = Clock::now();
    auto span = encoder.encode(batch);
    const auto decode_start = Clock::now();
    auto decoded = wire::decode_batch(span->data(), span->size());
    const auto end = Clock::now();
    if (!decoded.ok()) {
      std::fprintf(stderr, "decode failed: %s\n", decoded.status().to_string().c_str());
      return 1;
    }
    encode_seconds += std::chrono::duration<double>(decode_start - encode_start).count();
    decode_seconds += std::chrono::duration<double>(end - decode_start).count();
    bytes += static_cast<int64_t>(span->size());
    checksum += (*decoded)->num_rows();
    ++iterations;
  }
  const double wire_seconds = seconds_since(start);

  // The baseline: copy the same encoded bytes with memcpy, as many times.
  std::vector<uint8_t> target(encoded[0].size() * 2);
  int64_t copied = 0;
  const auto copy_start = Clock::now();
  for (int64_t i = 0; i < iterations; ++i) {
    const std::vector<uint8_t>& source = encoded[static_cast<size_t>(i % kBatches)];
    if (target.size() < source.size()) target.resize(source.size());
    std::memcpy(target.data(), source.data(), source.size());
    checksum += target[static_cast<size_t>(i) % source.size()];
    copied += static_cast<int64_t>(source.size());
  }
  const double copy_seconds = seconds_since(copy_start);

  const double wire_rate = static_cast<double>(bytes) / 1e6 / wire_seconds;
  const double copy_rate = static_cast<double>(copied) / 1e6 / copy_seconds;
  std::fprintf(stderr, "%lld batches of %lld rows, %.2f MB each (checksum %lld)\n",
               static_cast<long long>(iterations), static_cast<long long>(kRows),
               static_cast<double>(encoded[0].size()) / 1e6, static_cast<long long>(checksum));
  print("wire_encode_decode", wire_rate, "MB/s");
  print("wire_encode", static_cast<double>(bytes) / 1e6 / encode_seconds, "MB/s");
  print("wire_verify_decode", static_cast<double>(bytes) / 1e6 / decode_seconds, "MB/s");
  print("wire_memcpy_baseline", copy_rate, "MB/s");
  std::printf("bench wire_ratio_to_memcpy %.3f ratio\n", wire_rate / copy_rate);
  return 0;
}
