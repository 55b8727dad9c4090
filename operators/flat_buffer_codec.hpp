#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <flatbuffers/flatbuffers.h>

namespace sluice {

/// Stores custom group state as a FlatBuffers table: the state is the object-API type flatc
/// generates for `Table` (`flatc --cpp --gen-object-api`: `TableT`, with `Table::Pack` and
/// `UnPackTo`), so the schema, not the C++ layout, fixes the bytes in the checkpoint, and
/// fields can be added later as FlatBuffers allows. Use it as the StateCodec of that type:
///   template <> struct sluice::StateCodec<SessionStateT> : sluice::FlatBufferCodec<SessionState> {};
/// decode verifies the buffer with the FlatBuffers Verifier first and returns false for bytes
/// that are not such a table. Stateless; thread-safe.
template <typename Table>
struct FlatBufferCodec {
  using State = typename Table::NativeTableType;

  static void encode(const State& state, std::string& out) {
    flatbuffers::FlatBufferBuilder builder;
    builder.Finish(Table::Pack(builder, &state));
    out.append(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
  }

  static bool decode(std::string_view in, State& state) {
    const auto* data = reinterpret_cast<const uint8_t*>(in.data());
    // The Verifier checks alignment: stored bytes may come at any address.
    std::vector<uint8_t> aligned;
    if (reinterpret_cast<uintptr_t>(data) % alignof(std::max_align_t) != 0) {
      aligned.assign(data, data + in.size());
      data = aligned.data();
    }
    flatbuffers::Verifier verifier(data, in.size());
    if (!verifier.VerifyBuffer<Table>(nullptr)) return false;
    flatbuffers::GetRoot<Table>(data)->UnPackTo(&state);
    return true;
  }
};

}  // namespace sluice
