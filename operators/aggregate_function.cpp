#include "operators/aggregate_function.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "operators/state_encoding.hpp"

namespace sluice {

namespace se = state_encoding;

namespace {

constexpr uint64_t kHashSeed = 42;
constexpr uint64_t kSet = 1;   // first/last flag: a row was seen
constexpr uint64_t kNull = 2;  // first/last flag: the kept value is null

template <typename T>
inline T load(const uint64_t* word) {
  T v;
  std::memcpy(&v, word, sizeof(T));
  return v;
}

template <typename T>
inline void store(uint64_t* word, T v) {
  std::memcpy(word, &v, sizeof(T));
}

template <typename T>
inline T* load_pointer(const uint64_t* word) {
  return reinterpret_cast<T*>(static_cast<uintptr_t>(*word));
}

template <typename T>
inline void store_pointer(uint64_t* word, T* pointer) {
  *word = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(pointer));
}

// Folds -0.0 into 0.0 and every NaN into one NaN, so equal values have equal bits.
inline double canonical_double(double v) {
  if (v == 0.0) return 0.0;
  if (std::isnan(v)) return std::numeric_limits<double>::quiet_NaN();
  return v;
}

// Orders doubles as Spark does: NaN above every other value.
inline bool double_less(double a, double b) {
  if (std::isnan(b)) return !std::isnan(a);
  if (std::isnan(a)) return false;
  return a < b;
}

// Calls f(j, r) for every j in [0, count) whose row r = rows[j] (or j) holds a value.
template <typename F>
inline void for_each_valid(const Column* input, const int32_t* rows, int64_t count, F&& f) {
  if (input == nullptr || !input->has_nulls()) {
    if (rows != nullptr) {
      for (int64_t j = 0; j < count; ++j) {
        f(j, static_cast<int64_t>(rows[j]));
      }
    } else {
      for (int64_t j = 0; j < count; ++j) {
        f(j, j);
      }
    }
    return;
  }
  const uint8_t* bits = input->validity_bits();
  const int64_t offset = input->offset();
  if (rows != nullptr) {
    for (int64_t j = 0; j < count; ++j) {
      if (bitmap::get(bits, offset + rows[j])) f(j, static_cast<int64_t>(rows[j]));
    }
  } else {
    for (int64_t j = 0; j < count; ++j) {
      if (bitmap::get(bits, offset + j)) f(j, j);
    }
  }
}

// Calls f(j, r) for every j in [0, count), valid or not.
template <typename F>
inline void for_each_row(const int32_t* rows, int64_t count, F&& f) {
  if (rows != nullptr) {
    for (int64_t j = 0; j < count; ++j) {
      f(j, static_cast<int64_t>(rows[j]));
    }
  } else {
    for (int64_t j = 0; j < count; ++j) {
      f(j, j);
    }
  }
}

// Reads, stores, compares and writes the fixed-width types. Bool, BIGINT and TIMESTAMP keep an
// int64 in their state word, DOUBLE a double.
template <Type T>
struct Fixed;

template <>
struct Fixed<Type::Bool> {
  using Raw = uint8_t;
  using Stored = int64_t;
  static Stored get(const Raw* v, int64_t r) { return v[r]; }
  static bool less(Stored a, Stored b) { return a < b; }
  static void append(ColumnBuilder& b, Stored v) { b.append_bool(v != 0); }
  static void put(std::string& out, Stored v) { se::put_byte(out, static_cast<uint8_t>(v)); }
  static bool get(std::string_view& in, Stored& v) {
    uint8_t b;
    if (!se::get_byte(in, b) || b > 1) return false;
    v = b;
    return true;
  }
  static uint64_t bits(Stored v) { return static_cast<uint64_t>(v); }
};

template <Type T>
struct FixedInt64 {
  using Raw = int64_t;
  using Stored = int64_t;
  static Stored get(const Raw* v, int64_t r) { return v[r]; }
  static bool less(Stored a, Stored b) { return a < b; }
  static void append(ColumnBuilder& b, Stored v) {
    if constexpr (T == Type::Timestamp) {
      b.append_timestamp(v);
    } else {
      b.append_int64(v);
    }
  }
  static void put(std::string& out, Stored v) { se::put_zigzag(out, v); }
  static bool get(std::string_view& in, Stored& v) { return se::get_zigzag(in, v); }
  static uint64_t bits(Stored v) { return static_cast<uint64_t>(v); }
};

template <>
struct Fixed<Type::Int64> : FixedInt64<Type::Int64> {};
template <>
struct Fixed<Type::Timestamp> : FixedInt64<Type::Timestamp> {};

template <>
struct Fixed<Type::Double> {
  using Raw = double;
  using Stored = double;
  static Stored get(const Raw* v, int64_t r) { return v[r]; }
  static bool less(Stored a, Stored b) { return double_less(a, b); }
  static void append(ColumnBuilder& b, Stored v) { b.append_double(v); }
  static void put(std::string& out, Stored v) { se::put_double(out, v); }
  static bool get(std::string_view& in, Stored& v) { return se::get_double(in, v); }
  static uint64_t bits(Stored v) { return std::bit_cast<uint64_t>(canonical_double(v)); }
};

}  // namespace

// Computes one aggregate over states at a fixed word offset of a group row. Instances are
// immutable once laid out by AggregateRow::make.
class AggregateFunction {
 public:
  virtual ~AggregateFunction() = default;
  virtual int words() const = 0;
  virtual bool has_heap_state() const { return false; }
  // Folds rows into states[j] + offset().
  virtual void update(const Column* input, const int32_t* rows, uint64_t* const* states,
                      int64_t count, const int64_t* order) const = 0;
  // The remaining methods take the function's own state (row + offset()).
  virtual void merge(uint64_t* into, const uint64_t* from) const = 0;
  // Merges a state of rows that arrived after into's (see AggregateRow::merge_later).
  virtual void merge_later(uint64_t* into, const uint64_t* from) const { merge(into, from); }
  virtual void destroy(uint64_t* state) const { (void)state; }
  virtual void serialize(const uint64_t* state, std::string& out) const = 0;
  virtual bool deserialize(std::string_view& in, uint64_t* state) const = 0;
  virtual void finalize(const uint64_t* state, ColumnBuilder& out) const = 0;
  virtual int64_t heap_bytes(const uint64_t* state) const {
    (void)state;
    return 0;
  }

  int offset() const { return offset_; }
  void set_offset(int offset) { offset_ = offset; }

 private:
  int offset_ = 0;
};

namespace {

// count(*) and count(x): one word, the count.
class CountFunction final : public AggregateFunction {
 public:
  explicit CountFunction(bool all_rows) : all_rows_(all_rows) {}
  int words() const override { return 1; }
  void update(const Column* input, const int32_t* rows, uint64_t* const* states, int64_t count,
              const int64_t*) const override {
    const int o = offset();
    for_each_valid(all_rows_ ? nullptr : input, rows, count,
                   [&](int64_t j, int64_t) { ++states[j][o]; });
  }
  void merge(uint64_t* into, const uint64_t* from) const override { *into += *from; }
  void serialize(const uint64_t* state, std::string& out) const override {
    se::put_varint(out, *state);
  }
  bool deserialize(std::string_view& in, uint64_t* state) const override {
    return se::get_varint(in, *state);
  }
  void finalize(const uint64_t* state, ColumnBuilder& out) const override {
    out.append_int64(static_cast<int64_t>(*state));
  }

 private:
  bool all_rows_;
};

// sum(BIGINT): [sum, has a value]; wraps on overflow like Spark's non-ANSI mode.
class SumInt64Function final : public AggregateFunction {
 public:
  int words() const override { return 2; }
  void update(const Column* input, const int32_t* rows, uint64_t* const* states, int64_t count,
              const int64_t*) const override {
    const int o = offset();
    const int64_t* v = input->values<int64_t>();
    for_each_valid(input, rows, count, [&](int64_t j, int64_t r) {
      uint64_t* s = states[j] + o;
      s[0] += static_cast<uint64_t>(v[r]);
      s[1] = 1;
    });
  }
  void merge(uint64_t* into, const uint64_t* from) const override {
    if (from[1] == 0) return;
    into[0] += from[0];
    into[1] = 1;
  }
  void serialize(const uint64_t* state, std::string& out) const override {
    se::put_byte(out, static_cast<uint8_t>(state[1]));
    if (state[1]) se::put_zigzag(out, static_cast<int64_t>(state[0]));
  }
  bool deserialize(std::string_view& in, uint64_t* state) const override {
    uint8_t has;
    if (!se::get_byte(in, has) || has > 1) return false;
    state[1] = has;
    int64_t sum = 0;
    if (has && !se::get_zigzag(in, sum)) return false;
    state[0] = static_cast<uint64_t>(sum);
    return true;
  }
  void finalize(const uint64_t* state, ColumnBuilder& out) const override {
    if (state[1]) {
      out.append_int64(static_cast<int64_t>(state[0]));
    } else {
      out.append_null();
    }
  }
};

// sum(DOUBLE): [sum, has a value].
class SumDoubleFunction final : public AggregateFunction {
 public:
  int words() const override { return 2; }
  void update(const Column* input, const int32_t* rows, uint64_t* const* states, int64_t count,
              const int64_t*) const override {
    const int o = offset();
    const double* v = input->values<double>();
    for_each_valid(input, rows, count, [&](int64_t j, int64_t r) {
      uint64_t* s = states[j] + o;
      store(s, load<double>(s) + v[r]);
      s[1] = 1;
    });
  }
  void merge(uint64_t* into, const uint64_t* from) const override {
    if (from[1] == 0) return;
    store(into, load<double>(into) + load<double>(from));
    into[1] = 1;
  }
  void serialize(const uint64_t* state, std::string& out) const override {
    se::put_byte(out, static_cast<uint8_t>(state[1]));
    if (state[1]) se::put_fixed64(out, state[0]);
  }
  bool deserialize(std::string_view& in, uint64_t* state) const override {
    uint8_t has;
    if (!se::get_byte(in, has) || has > 1) return false;
    state[1] = has;
    state[0] = 0;
    return !has || se::get_fixed64(in, state[0]);
  }
  void finalize(const uint64_t* state, ColumnBuilder& out) const override {
    if (state[1]) {
      out.append_double(load<double>(state));
    } else {
      out.append_null();
    }
  }
};

// avg(x): [sum as double, count].
template <Type T>
class AvgFunction final : public AggregateFunction {
 public:
  int words() const override { return 2; }
  void update(const Column* input, const int32_t* rows, uint64_t* const* states, int64_t count,
              const int64_t*) const override {
    const int o = offset();
    const auto* v = input->values<typename Fixed<T>::Raw>();
    for_each_valid(input, rows, count, [&](int64_t j, int64_t r) {
      uint64_t* s = states[j] + o;
      store(s, load<double>(s) + static_cast<double>(v[r]));
      ++s[1];
    });
  }
  void merge(uint64_t* into, const uint64_t* from) const override {
    store(into, load<double>(into) + load<double>(from));
    into[1] += from[1];
  }
  void serialize(const uint64_t* state, std::string& out) const override {
    se::put_varint(out, state[1]);
    if (state[1]) se::put_fixed64(out, state[0]);
  }
  bool deserialize(std::string_view& in, uint64_t* state) const override {
    if (!se::get_varint(in, state[1])) return false;
    state[0] = 0;
    return state[1] == 0 || se::get_fixed64(in, state[0]);
  }
  void finalize(const uint64_t* state, ColumnBuilder& out) const override {
    if (state[1]) {
      out.append_double(load<double>(state) / static_cast<double>(state[1]));
    } else {
      out.append_null();
    }
  }
};

// min(x) / max(x) of a fixed-width type: [value, has a value].
template <Type T, bool kMax>
class MinMaxFunction final : public AggregateFunction {
  using F = Fixed<T>;
  using Stored = typename F::Stored;

 public:
  int words() const override { return 2; }
  static bool better(Stored candidate, Stored current) {
    return kMax ? F::less(current, candidate) : F::less(candidate, current);
  }
  void update(const Column* input, const int32_t* rows, uint64_t* const* states, int64_t count,
              const int64_t*) const override {
    const int o = offset();
    const auto* v = input->values<typename F::Raw>();
    for_each_valid(input, rows, count, [&](int64_t j, int64_t r) {
      uint64_t* s = states[j] + o;
      const Stored value = F::get(v, r);
      if (!s[1] || better(value, load<Stored>(s))) {
        store(s, value);
        s[1] = 1;
      }
    });
  }
  void merge(uint64_t* into, const uint64_t* from) const override {
    if (from[1] && (!into[1] || better(load<Stored>(from), load<Stored>(into)))) {
      into[0] = from[0];
      into[1] = 1;
    }
  }
  void serialize(const uint64_t* state, std::string& out) const override {
    se::put_byte(out, static_cast<uint8_t>(state[1]));
    if (state[1]) F::put(out, load<Stored>(state));
  }
  bool deserialize(std::string_view& in, uint64_t* state) const override {
    uint8_t has;
    if (!se::get_byte(in, has) || has > 1) return false;
    state[0] = 0;
    state[1] = has;
    if (!has) return true;
    Stored value;
    if (!F::get(in, value)) return false;
    store(state, value);
    return true;
  }
  void finalize(const uint64_t* state, ColumnBuilder& out) const override {
    if (state[1]) {
      F::append(out, load<Stored>(state));
    } else {
      out.append_null();
    }
  }
};

// min(x) / max(x) of strings: [owned std::string*, null when no value].
template <bool kMax>
class MinMaxStringFunction final : public AggregateFunction {
 public:
  int words() const override { return 1; }
  bool has_heap_state() const override { return true; }
  static bool better(std::string_view candidate, const std::string& current) {
    return kMax ? current < candidate : candidate < current;
  }
  static void offer(uint64_t* s, std::string_view value) {
    auto* current = load_pointer<std::string>(s);
    if (current == nullptr) {
      store_pointer(s, new std::string(value));
    } else if (better(value, *current)) {
      current->assign(value);
    }
  }
  void update(const Column* input, const int32_t* rows, uint64_t* const* states, int64_t count,
              const int64_t*) const override {
    const int o = offset();
    for_each_valid(input, rows, count,
                   [&](int64_t j, int64_t r) { offer(states[j] + o, input->string_at(r)); });
  }
  void merge(uint64_t* into, const uint64_t* from) const override {
    if (const auto* value = load_pointer<std::string>(from)) offer(into, *value);
  }
  void destroy(uint64_t* state) const override {
    delete load_pointer<std::string>(state);
    *state = 0;
  }
  void serialize(const uint64_t* state, std::string& out) const override {
    const auto* value = load_pointer<std::string>(state);
    se::put_byte(out, value != nullptr);
    if (value) se::put_bytes(out, *value);
  }
  bool deserialize(std::string_view& in, uint64_t* state) const override {
    uint8_t has;
    if (!se::get_byte(in, has) || has > 1) return false;
    if (!has) return true;
    std::string_view value;
    if (!se::get_bytes(in, value)) return false;
    store_pointer(state, new std::string(value));
    return true;
  }
  void finalize(const uint64_t* state, ColumnBuilder& out) const override {
    if (const auto* value = load_pointer<std::string>(state)) {
      out.append_string(*value);
    } else {
      out.append_null();
    }
  }
  int64_t heap_bytes(const uint64_t* state) const override {
    const auto* value = load_pointer<std::string>(state);
    return value ? static_cast<int64_t>(sizeof(std::string) + value->capacity()) : 0;
  }
};

// Decides whether a row with arrival rank `rank` replaces the kept first/last value. Without
// ranks rows come in arrival order: first keeps the earliest, last takes every row.
template <bool kLast>
inline bool takes(const uint64_t* s, const int64_t* order, int64_t j) {
  if (!(s[1] & kSet)) return true;
  if (order == nullptr) return kLast;
  return kLast ? order[j] >= static_cast<int64_t>(s[2]) : order[j] < static_cast<int64_t>(s[2]);
}

template <bool kLast>
inline bool merge_takes(const uint64_t* into, const uint64_t* from) {
  if (!(from[1] & kSet)) return false;
  if (!(into[1] & kSet)) return true;
  const auto from_rank = static_cast<int64_t>(from[2]);
  const auto into_rank = static_cast<int64_t>(into[2]);
  return kLast ? from_rank > into_rank : from_rank < into_rank;
}

// Decides whether from, of rows that arrived after into's, replaces into's first/last value.
template <bool kLast>
inline bool later_takes(const uint64_t* into, const uint64_t* from) {
  if (!(from[1] & kSet)) return false;
  return kLast || !(into[1] & kSet);
}

// first(x) / last(x) of a fixed-width type: [value, flags, arrival rank].
template <Type T, bool kLast>
class FirstLastFunction final : public AggregateFunction {
  using F = Fixed<T>;
  using Stored = typename F::Stored;

 public:
  int words() const override { return 3; }
  void update(const Column* input, const int32_t* rows, uint64_t* const* states, int64_t count,
              const int64_t* order) const override {
    const int o = offset();
    const auto* v = input->values<typename F::Raw>();
    for_each_row(rows, count, [&](int64_t j, int64_t r) {
      uint64_t* s = states[j] + o;
      if (!takes<kLast>(s, order, j)) return;
      if (input->is_valid(r)) {
        store(s, F::get(v, r));
        s[1] = kSet;
      } else {
        s[0] = 0;
        s[1] = kSet | kNull;
      }
      s[2] = order ? static_cast<uint64_t>(order[j]) : 0;
    });
  }
  void merge(uint64_t* into, const uint64_t* from) const override {
    if (merge_takes<kLast>(into, from)) std::memcpy(into, from, 3 * sizeof(uint64_t));
  }
  void merge_later(uint64_t* into, const uint64_t* from) const override {
    if (later_takes<kLast>(into, from)) std::memcpy(into, from, 3 * sizeof(uint64_t));
  }
  void serialize(const uint64_t* state, std::string& out) const override {
    se::put_byte(out, static_cast<uint8_t>(state[1]));
    if (!(state[1] & kSet)) return;
    se::put_zigzag(out, static_cast<int64_t>(state[2]));
    if (!(state[1] & kNull)) F::put(out, load<Stored>(state));
  }
  bool deserialize(std::string_view& in, uint64_t* state) const override {
    uint8_t flags;
    if (!se::get_byte(in, flags) || flags > (kSet | kNull)) return false;
    state[0] = 0;
    state[1] = flags;
    state[2] = 0;
    if (!(flags & kSet)) return flags == 0;
    int64_t rank;
    if (!se::get_zigzag(in, rank)) return false;
    state[2] = static_cast<uint64_t>(rank);
    if (flags & kNull) return true;
    Stored value;
    if (!F::get(in, value)) return false;
    store(state, value);
    return true;
  }
  void finalize(const uint64_t* state, ColumnBuilder& out) const override {
    if ((state[1] & kSet) && !(state[1] & kNull)) {
      F::append(out, load<Stored>(state));
    } else {
      out.append_null();
    }
  }
};

// first(x) / last(x) of strings: [owned std::string*, flags, arrival rank].
template <bool kLast>
class FirstLastStringFunction final : public AggregateFunction {
 public:
  int words() const override { return 3; }
  bool has_heap_state() const override { return true; }
  static void keep(uint64_t* s, std::string_view value) {
    if (auto* current = load_pointer<std::string>(s)) {
      current->assign(value);
    } else {
      store_pointer(s, new std::string(value));
    }
  }
  void update(const Column* input, const int32_t* rows, uint64_t* const* states, int64_t count,
              const int64_t* order) const override {
    const int o = offset();
    for_each_row(rows, count, [&](int64_t j, int64_t r) {
      uint64_t* s = states[j] + o;
      if (!takes<kLast>(s, order, j)) return;
      if (input->is_valid(r)) {
        keep(s, input->string_at(r));
        s[1] = kSet;
      } else {
        s[1] = kSet | kNull;
      }
      s[2] = order ? static_cast<uint64_t>(order[j]) : 0;
    });
  }
  void merge(uint64_t* into, const uint64_t* from) const override {
    if (merge_takes<kLast>(into, from)) take(into, from);
  }
  void merge_later(uint64_t* into, const uint64_t* from) const override {
    if (later_takes<kLast>(into, from)) take(into, from);
  }
  static void take(uint64_t* into, const uint64_t* from) {
    if (!(from[1] & kNull)) keep(into, *load_pointer<std::string>(from));
    into[1] = from[1];
    into[2] = from[2];
  }
  void destroy(uint64_t* state) const override {
    delete load_pointer<std::string>(state);
    state[0] = state[1] = state[2] = 0;
  }
  void serialize(const uint64_t* state, std::string& out) const override {
    se::put_byte(out, static_cast<uint8_t>(state[1]));
    if (!(state[1] & kSet)) return;
    se::put_zigzag(out, static_cast<int64_t>(state[2]));
    if (!(state[1] & kNull)) se::put_bytes(out, *load_pointer<std::string>(state));
  }
  bool deserialize(std::string_view& in, uint64_t* state) const override {
    uint8_t flags;
    if (!se::get_byte(in, flags) || flags > (kSet | kNull)) return false;
    state[1] = flags;
    if (!(flags & kSet)) return flags == 0;
    int64_t rank;
    if (!se::get_zigzag(in, rank)) return false;
    state[2] = static_cast<uint64_t>(rank);
    if (flags & kNull) return true;
    std::string_view value;
    if (!se::get_bytes(in, value)) return false;
    keep(state, value);
    return true;
  }
  void finalize(const uint64_t* state, ColumnBuilder& out) const override {
    if ((state[1] & kSet) && !(state[1] & kNull)) {
      out.append_string(*load_pointer<std::string>(state));
    } else {
      out.append_null();
    }
  }
  int64_t heap_bytes(const uint64_t* state) const override {
    const auto* value = load_pointer<std::string>(state);
    return value ? static_cast<int64_t>(sizeof(std::string) + value->capacity()) : 0;
  }
};

// count(DISTINCT x) of a fixed-width type: [owned set of canonical 64-bit values].
template <Type T>
class CountDistinctFunction final : public AggregateFunction {
  using F = Fixed<T>;
  using Set = std::unordered_set<uint64_t>;

 public:
  int words() const override { return 1; }
  bool has_heap_state() const override { return true; }
  static Set& set_of(uint64_t* s) {
    auto* set = load_pointer<Set>(s);
    if (set == nullptr) {
      set = new Set();
      store_pointer(s, set);
    }
    return *set;
  }
  void update(const Column* input, const int32_t* rows, uint64_t* const* states, int64_t count,
              const int64_t*) const override {
    const int o = offset();
    const auto* v = input->values<typename F::Raw>();
    for_each_valid(input, rows, count, [&](int64_t j, int64_t r) {
      set_of(states[j] + o).insert(F::bits(F::get(v, r)));
    });
  }
  void merge(uint64_t* into, const uint64_t* from) const override {
    if (const auto* other = load_pointer<Set>(from)) {
      set_of(into).insert(other->begin(), other->end());
    }
  }
  void destroy(uint64_t* state) const override {
    delete load_pointer<Set>(state);
    *state = 0;
  }
  void serialize(const uint64_t* state, std::string& out) const override {
    const auto* set = load_pointer<Set>(state);
    if (set == nullptr) {
      se::put_varint(out, 0);
      return;
    }
    // Sorted and delta-encoded, so equal sets serialize to equal bytes.
    std::vector<uint64_t> values(set->begin(), set->end());
    std::sort(values.begin(), values.end());
    se::put_varint(out, values.size());
    uint64_t previous = 0;
    for (uint64_t v : values) {
      se::put_varint(out, v - previous);
      previous = v;
    }
  }
  bool deserialize(std::string_view& in, uint64_t* state) const override {
    uint64_t size;
    if (!se::get_varint(in, size) || size > in.size()) return false;
    if (size == 0) return true;
    Set& set = set_of(state);
    set.reserve(static_cast<size_t>(size));
    uint64_t value = 0;
    for (uint64_t i = 0; i < size; ++i) {
      uint64_t delta;
      if (!se::get_varint(in, delta)) return false;
      value += delta;
      set.insert(value);
    }
    return set.size() == size;
  }
  void finalize(const uint64_t* state, ColumnBuilder& out) const override {
    const auto* set = load_pointer<Set>(state);
    out.append_int64(set ? static_cast<int64_t>(set->size()) : 0);
  }
  int64_t heap_bytes(const uint64_t* state) const override {
    const auto* set = load_pointer<Set>(state);
    if (set == nullptr) return 0;
    return static_cast<int64_t>(sizeof(Set) + 32 * set->size() + 8 * set->bucket_count());
  }
};

// count(DISTINCT x) of strings: [owned set of strings with its byte count].
class CountDistinctStringFunction final : public AggregateFunction {
  struct Set {
    std::unordered_set<std::string> values;
    int64_t bytes = 0;
    void insert(std::string_view v) {
      if (values.emplace(v).second) {
        bytes += 48 + (v.size() > 15 ? static_cast<int64_t>(v.size()) + 1 : 0);
      }
    }
  };

 public:
  int words() const override { return 1; }
  bool has_heap_state() const override { return true; }
  static Set& set_of(uint64_t* s) {
    auto* set = load_pointer<Set>(s);
    if (set == nullptr) {
      set = new Set();
      store_pointer(s, set);
    }
    return *set;
  }
  void update(const Column* input, const int32_t* rows, uint64_t* const* states, int64_t count,
              const int64_t*) const override {
    const int o = offset();
    for_each_valid(input, rows, count, [&](int64_t j, int64_t r) {
      set_of(states[j] + o).insert(input->string_at(r));
    });
  }
  void merge(uint64_t* into, const uint64_t* from) const override {
    const auto* other = load_pointer<Set>(from);
    if (other == nullptr) return;
    Set& set = set_of(into);
    for (const auto& v : other->values) {
      set.insert(v);
    }
  }
  void destroy(uint64_t* state) const override {
    delete load_pointer<Set>(state);
    *state = 0;
  }
  void serialize(const uint64_t* state, std::string& out) const override {
    const auto* set = load_pointer<Set>(state);
    if (set == nullptr) {
      se::put_varint(out, 0);
      return;
    }
    std::vector<std::string_view> values(set->values.begin(), set->values.end());
    std::sort(values.begin(), values.end());
    se::put_varint(out, values.size());
    for (std::string_view v : values) {
      se::put_bytes(out, v);
    }
  }
  bool deserialize(std::string_view& in, uint64_t* state) const override {
    uint64_t size;
    if (!se::get_varint(in, size) || size > in.size()) return false;
    if (size == 0) return true;
    Set& set = set_of(state);
    for (uint64_t i = 0; i < size; ++i) {
      std::string_view value;
      if (!se::get_bytes(in, value)) return false;
      set.insert(value);
    }
    return set.values.size() == size;
  }
  void finalize(const uint64_t* state, ColumnBuilder& out) const override {
    const auto* set = load_pointer<Set>(state);
    out.append_int64(set ? static_cast<int64_t>(set->values.size()) : 0);
  }
  int64_t heap_bytes(const uint64_t* state) const override {
    const auto* set = load_pointer<Set>(state);
    if (set == nullptr) return 0;
    return static_cast<int64_t>(sizeof(Set)) + set->bytes +
           8 * static_cast<int64_t>(set->values.bucket_count());
  }
};

// approx_count_distinct(x): [owned HyperLogLog registers, allocated with the first value].
template <Type T>
class ApproxCountDistinctFunction final : public AggregateFunction {
 public:
  static constexpr int kM = HyperLogLog::kNumRegisters;
  static constexpr uint8_t kMaxRegister = 64 - HyperLogLog::kPrecision + 1;
  static constexpr uint8_t kEmpty = 0;
  static constexpr uint8_t kSparse = 1;
  static constexpr uint8_t kDense = 2;

  int words() const override { return 1; }
  bool has_heap_state() const override { return true; }
  static uint8_t* registers_of(uint64_t* s) {
    auto* registers = load_pointer<uint8_t>(s);
    if (registers == nullptr) {
      registers = new uint8_t[kM]();
      store_pointer(s, registers);
    }
    return registers;
  }
  void update(const Column* input, const int32_t* rows, uint64_t* const* states, int64_t count,
              const int64_t*) const override {
    const int o = offset();
    if constexpr (T == Type::String) {
      for_each_valid(input, rows, count, [&](int64_t j, int64_t r) {
        const std::string_view v = input->string_at(r);
        HyperLogLog::add(registers_of(states[j] + o), XXH64(v.data(), v.size(), kHashSeed));
      });
    } else {
      using F = Fixed<T>;
      const auto* v = input->values<typename F::Raw>();
      for_each_valid(input, rows, count, [&](int64_t j, int64_t r) {
        const uint64_t bits = F::bits(F::get(v, r));
        HyperLogLog::add(registers_of(states[j] + o), XXH64(&bits, sizeof bits, kHashSeed));
      });
    }
  }
  void merge(uint64_t* into, const uint64_t* from) const override {
    const auto* other = load_pointer<uint8_t>(from);
    if (other == nullptr) return;
    uint8_t* registers = registers_of(into);
    for (int i = 0; i < kM; ++i) {
      registers[i] = std::max(registers[i], other[i]);
    }
  }
  void destroy(uint64_t* state) const override {
    delete[] load_pointer<uint8_t>(state);
    *state = 0;
  }
  void serialize(const uint64_t* state, std::string& out) const override {
    const auto* registers = load_pointer<uint8_t>(state);
    if (registers == nullptr) {
      se::put_byte(out, kEmpty);
      return;
    }
    int non_zero = 0;
    for (int i = 0; i < kM; ++i) {
      non_zero += registers[i] != 0;
    }
    // Sparse pairs cost about two bytes each; past a third of the registers dense is smaller.
    if (non_zero * 3 < kM) {
      se::put_byte(out, kSparse);
      se::put_varint(out, static_cast<uint64_t>(non_zero));
      int previous = 0;
      for (int i = 0; i < kM; ++i) {
        if (registers[i] == 0) continue;
        se::put_varint(out, static_cast<uint64_t>(i - previous));
        se::put_byte(out, registers[i]);
        previous = i;
      }
    } else {
      se::put_byte(out, kDense);
      out.append(reinterpret_cast<const char*>(registers), kM);
    }
  }
  bool deserialize(std::string_view& in, uint64_t* state) const override {
    uint8_t format;
    if (!se::get_byte(in, format)) return false;
    if (format == kEmpty) return true;
    uint8_t* registers = registers_of(state);
    if (format == kDense) {
      if (in.size() < kM) return false;
      std::memcpy(registers, in.data(), kM);
      in.remove_prefix(kM);
      for (int i = 0; i < kM; ++i) {
        if (registers[i] > kMaxRegister) return false;
      }
      return true;
    }
    if (format != kSparse) return false;
    uint64_t count;
    if (!se::get_varint(in, count) || count > kM) return false;
    uint64_t index = 0;
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t delta;
      uint8_t value;
      if (!se::get_varint(in, delta) || !se::get_byte(in, value)) return false;
      index += delta;
      if (index >= kM || value == 0 || value > kMaxRegister) return false;
      registers[index] = value;
    }
    return true;
  }
  void finalize(const uint64_t* state, ColumnBuilder& out) const override {
    const auto* registers = load_pointer<uint8_t>(state);
    out.append_int64(
        registers ? static_cast<int64_t>(std::llround(HyperLogLog::estimate(registers))) : 0);
  }
  int64_t heap_bytes(const uint64_t* state) const override {
    return load_pointer<uint8_t>(state) ? kM : 0;
  }
};

template <template <Type> class Function>
std::shared_ptr<AggregateFunction> for_type(Type type) {
  switch (type) {
    case Type::Bool:
      return std::make_shared<Function<Type::Bool>>();
    case Type::Int64:
      return std::make_shared<Function<Type::Int64>>();
    case Type::Double:
      return std::make_shared<Function<Type::Double>>();
    case Type::Timestamp:
      return std::make_shared<Function<Type::Timestamp>>();
    case Type::String:
      break;
  }
  return nullptr;
}

template <Type T>
using MinFunction = MinMaxFunction<T, false>;
template <Type T>
using MaxFunction = MinMaxFunction<T, true>;
template <Type T>
using FirstFunction = FirstLastFunction<T, false>;
template <Type T>
using LastFunction = FirstLastFunction<T, true>;

std::shared_ptr<AggregateFunction> make_function(AggregateKind kind, std::optional<Type> input) {
  const Type type = input.value_or(Type::Int64);
  switch (kind) {
    case AggregateKind::count_all:
      return std::make_shared<CountFunction>(true);
    case AggregateKind::count:
      return std::make_shared<CountFunction>(false);
    case AggregateKind::count_distinct:
      if (type == Type::String) return std::make_shared<CountDistinctStringFunction>();
      return for_type<CountDistinctFunction>(type);
    case AggregateKind::approx_count_distinct:
      if (type == Type::String) {
        return std::make_shared<ApproxCountDistinctFunction<Type::String>>();
      }
      return for_type<ApproxCountDistinctFunction>(type);
    case AggregateKind::sum:
      if (type == Type::Double) return std::make_shared<SumDoubleFunction>();
      return std::make_shared<SumInt64Function>();
    case AggregateKind::avg:
      if (type == Type::Double) return std::make_shared<AvgFunction<Type::Double>>();
      return std::make_shared<AvgFunction<Type::Int64>>();
    case AggregateKind::min:
      if (type == Type::String) return std::make_shared<MinMaxStringFunction<false>>();
      return for_type<MinFunction>(type);
    case AggregateKind::max:
      if (type == Type::String) return std::make_shared<MinMaxStringFunction<true>>();
      return for_type<MaxFunction>(type);
    case AggregateKind::first:
      if (type == Type::String) return std::make_shared<FirstLastStringFunction<false>>();
      return for_type<FirstFunction>(type);
    case AggregateKind::last:
      if (type == Type::String) return std::make_shared<FirstLastStringFunction<true>>();
      return for_type<LastFunction>(type);
  }
  return nullptr;
}

// Ertl's sigma and tau functions of the improved raw estimator ("New cardinality estimation
// algorithms for HyperLogLog sketches", 2017, algorithm 6).
double hll_sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0;
  double z = x;
  double previous;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (z != previous);
  return z;
}

double hll_tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  double previous;
  do {
    x = std::sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
  } while (z != previous);
  return z / 3.0;
}

}  // namespace

double HyperLogLog::relative_standard_error() {
  return 1.04 / std::sqrt(double{kNumRegisters});
}

void HyperLogLog::add(uint8_t* registers, uint64_t hash) {
  const auto index = static_cast<size_t>(hash >> (64 - kPrecision));
  const uint64_t rest = hash << kPrecision;
  const auto rank =
      static_cast<uint8_t>(rest == 0 ? 64 - kPrecision + 1 : std::countl_zero(rest) + 1);
  if (rank > registers[index]) registers[index] = rank;
}

double HyperLogLog::estimate(const uint8_t* registers) {
  constexpr int q = 64 - kPrecision;
  int histogram[q + 2] = {};
  for (int i = 0; i < kNumRegisters; ++i) {
    ++histogram[registers[i]];
  }
  const double m = kNumRegisters;
  if (histogram[0] == kNumRegisters) return 0.0;
  double z = m * hll_tau(1.0 - histogram[q + 1] / m);
  for (int k = q; k >= 1; --k) {
    z = 0.5 * (z + histogram[k]);
  }
  z += m * hll_sigma(histogram[0] / m);
  const double alpha_infinity = 1.0 / (2.0 * std::log(2.0));
  return alpha_infinity * m * m / z;
}

Result<Type> aggregate_result_type(AggregateKind kind, std::optional<Type> input) {
  if (kind == AggregateKind::count_all) return Type::Int64;
  if (!input) {
    return Status::invalid_argument(aggregate_name(kind) + " needs an input column");
  }
  switch (kind) {
    case AggregateKind::count_all:
    case AggregateKind::count:
    case AggregateKind::count_distinct:
    case AggregateKind::approx_count_distinct:
      return Type::Int64;
    case AggregateKind::sum:
    case AggregateKind::avg:
      if (!is_numeric(*input)) {
        return Status::type_error("function " + aggregate_name(kind) +
                                  " requires a numeric (BIGINT or DOUBLE) input, not " +
                                  std::string(type_name(*input)));
      }
      return kind == AggregateKind::avg ? Type::Double : *input;
    case AggregateKind::min:
    case AggregateKind::max:
    case AggregateKind::first:
    case AggregateKind::last:
      return *input;
  }
  return Status::invalid_argument("unknown aggregate kind");
}

std::string aggregate_name(AggregateKind kind) {
  switch (kind) {
    case AggregateKind::count_all:
    case AggregateKind::count:
    case AggregateKind::count_distinct:
      return "count";
    case AggregateKind::approx_count_distinct:
      return "approx_count_distinct";
    case AggregateKind::sum:
      return "sum";
    case AggregateKind::avg:
      return "avg";
    case AggregateKind::min:
      return "min";
    case AggregateKind::max:
      return "max";
    case AggregateKind::first:
      return "first";
    case AggregateKind::last:
      return "last";
  }
  return "unknown";
}

std::string aggregate_column_name(const AggregateSpec& spec, const Schema& input) {
  if (spec.kind == AggregateKind::count_all) return "count(1)";
  const std::string column = spec.input_column >= 0 && spec.input_column < input.num_fields()
                                 ? input.field(spec.input_column).name
                                 : "?";
  if (spec.kind == AggregateKind::count_distinct) return "count(DISTINCT " + column + ")";
  return aggregate_name(spec.kind) + "(" + column + ")";
}

Result<AggregateRow> AggregateRow::make(const Schema& input,
                                        const std::vector<AggregateSpec>& specs) {
  AggregateRow row;
  row.specs_ = specs;
  for (size_t i = 0; i < specs.size(); ++i) {
    const AggregateSpec& spec = specs[i];
    std::optional<Type> type;
    if (spec.kind != AggregateKind::count_all) {
      if (spec.input_column < 0 || spec.input_column >= input.num_fields()) {
        return Status::invalid_argument("aggregate " + std::to_string(i) + " (" +
                                        aggregate_name(spec.kind) + ") reads column index " +
                                        std::to_string(spec.input_column) +
                                        ", outside the input schema (" + input.to_string() + ")");
      }
      type = input.field(spec.input_column).type;
    }
    auto result_type = aggregate_result_type(spec.kind, type);
    if (!result_type.ok()) {
      return result_type.status().with_context("in " + aggregate_column_name(spec, input));
    }
    auto function = make_function(spec.kind, type);
    function->set_offset(row.words_);
    row.words_ += function->words();
    row.has_heap_state_ |= function->has_heap_state();
    row.functions_.push_back(std::move(function));
    const bool counts = spec.kind == AggregateKind::count_all ||
                        spec.kind == AggregateKind::count ||
                        spec.kind == AggregateKind::count_distinct ||
                        spec.kind == AggregateKind::approx_count_distinct;
    row.fields_.push_back(
        Field{spec.output_name.empty() ? aggregate_column_name(spec, input) : spec.output_name,
              *result_type, !counts});
    if (!row.fingerprint_.empty()) row.fingerprint_ += ", ";
    row.fingerprint_ +=
        spec.kind == AggregateKind::count_distinct ? "count_distinct" : aggregate_name(spec.kind);
    row.fingerprint_ +=
        type ? "(" + input.field(spec.input_column).name + " " + std::string(type_name(*type)) + ")"
             : "(1)";
  }
  return row;
}

void AggregateRow::update(const RecordBatch& batch, const int32_t* rows, uint64_t* const* states,
                          int64_t count, const int64_t* order) const {
  for (size_t i = 0; i < functions_.size(); ++i) {
    const int column = specs_[i].input_column;
    const Column* input =
        specs_[i].kind == AggregateKind::count_all ? nullptr : batch.column(column).get();
    functions_[i]->update(input, rows, states, count, order);
  }
}

void AggregateRow::merge(uint64_t* into, const uint64_t* from) const {
  for (const auto& function : functions_) {
    function->merge(into + function->offset(), from + function->offset());
  }
}

void AggregateRow::merge_later(uint64_t* into, const uint64_t* from) const {
  for (const auto& function : functions_) {
    function->merge_later(into + function->offset(), from + function->offset());
  }
}

void AggregateRow::destroy(uint64_t* row) const {
  if (has_heap_state_) {
    for (const auto& function : functions_) {
      function->destroy(row + function->offset());
    }
  }
  std::memset(row, 0, static_cast<size_t>(words_) * sizeof(uint64_t));
}

void AggregateRow::serialize(const uint64_t* row, std::string& out) const {
  for (const auto& function : functions_) {
    function->serialize(row + function->offset(), out);
  }
}

Status AggregateRow::deserialize(std::string_view& in, uint64_t* row) const {
  for (size_t i = 0; i < functions_.size(); ++i) {
    const auto& function = functions_[i];
    if (!function->deserialize(in, row + function->offset())) {
      destroy(row);
      return Status::corrupt("state of aggregate " + std::to_string(i) + " (" + fields_[i].name +
                             ") does not decode");
    }
  }
  return Status::ok();
}

void AggregateRow::finalize(const uint64_t* row, ColumnBuilder* builders) const {
  for (size_t i = 0; i < functions_.size(); ++i) {
    functions_[i]->finalize(row + functions_[i]->offset(), builders[i]);
  }
}

int64_t AggregateRow::heap_bytes(const uint64_t* row) const {
  if (!has_heap_state_) return 0;
  int64_t bytes = 0;
  for (const auto& function : functions_) {
    bytes += function->heap_bytes(row + function->offset());
  }
  return bytes;
}

std::string AggregateRow::fingerprint() const {
  return fingerprint_;
}

}  // namespace sluice
