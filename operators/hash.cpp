// hash(...): xxHash64 over the arguments' values, seeded with 42, each argument's hash seeding
// the next and NULL arguments skipped, as Spark's xxhash64. BIGINT and TIMESTAMP hash their 8
// little-endian bytes, DOUBLE the bytes of the value with -0.0 folded into 0.0 and every NaN
// into one NaN (equal values hash equally), BOOLEAN a 4-byte 0 or 1, STRING its UTF-8 bytes.

#include <cmath>
#include <cstring>
#include <limits>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "operators/bound_node.hpp"

namespace sluice {

namespace {

constexpr uint64_t kSeed = 42;

inline uint64_t hash_int64(int64_t v, uint64_t seed) {
  return XXH64(&v, sizeof v, seed);
}

inline uint64_t hash_double(double v, uint64_t seed) {
  if (v == 0.0) v = 0.0;
  if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
  return XXH64(&v, sizeof v, seed);
}

inline uint64_t hash_bool(uint8_t v, uint64_t seed) {
  const int32_t value = v;
  return XXH64(&value, sizeof value, seed);
}

inline uint64_t hash_string(std::string_view v, uint64_t seed) {
  return XXH64(v.data(), v.size(), seed);
}

// Folds one argument into every row's running hash; null rows keep theirs.
template <typename Hash>
void fold_rows(const Column& column, uint64_t* __restrict hashes, int64_t n, Hash hash) {
  if (!column.has_nulls()) {
    for (int64_t i = 0; i < n; ++i)
      hashes[i] = hash(i, hashes[i]);
    return;
  }
  const uint8_t* bits = column.validity_bits();
  const int64_t offset = column.offset();
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t h = hash(i, hashes[i]);
    hashes[i] = bitmap::get(bits, offset + i) ? h : hashes[i];
  }
}

class HashNode final : public BoundNode {
 public:
  HashNode(std::vector<BoundNodePtr> args, Expr expr)
      : BoundNode(Type::Int64, false, std::move(expr), std::move(args)) {}

  Result<ColumnPtr> evaluate(const EvalContext& ctx) const override {
    const int64_t n = ctx.num_rows;
    auto values = allocate_values(Type::Int64, n);
    uint64_t* hashes = values->mutable_as<uint64_t>();
    for (int64_t i = 0; i < n; ++i)
      hashes[i] = kSeed;
    for (const auto& child : children) {
      if (child->literal && child->literal->is_null()) continue;
      SLUICE_ASSIGN_OR_RETURN(ColumnPtr column, child->evaluate(ctx));
      const Column& c = *column;
      switch (child->type) {
        case Type::Bool: {
          const uint8_t* v = c.values<uint8_t>();
          fold_rows(c, hashes, n, [v](int64_t i, uint64_t seed) { return hash_bool(v[i], seed); });
          break;
        }
        case Type::Double: {
          const double* v = c.values<double>();
          fold_rows(c, hashes, n,
                    [v](int64_t i, uint64_t seed) { return hash_double(v[i], seed); });
          break;
        }
        case Type::String:
          fold_rows(c, hashes, n,
                    [&c](int64_t i, uint64_t seed) { return hash_string(c.string_at(i), seed); });
          break;
        default: {
          const int64_t* v = c.values<int64_t>();
          fold_rows(c, hashes, n, [v](int64_t i, uint64_t seed) { return hash_int64(v[i], seed); });
          break;
        }
      }
    }
    return Column::make_unchecked(type, n, std::move(values), nullptr);
  }
};

}  // namespace

BoundNodePtr make_hash_node(std::vector<BoundNodePtr> args, Expr expr) {
  return std::make_shared<HashNode>(std::move(args), std::move(expr));
}

}  // namespace sluice
