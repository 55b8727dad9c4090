#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/column_builder.hpp"
#include "operators/expression.hpp"

namespace sluice {

/// Describes a user function: its name, result type, how it computes a whole batch, and
/// whether it is deterministic. Shared by every expression that calls it.
struct UserFunctionDefinition {
  std::string name;
  Type result_type = Type::Int64;
  /// Argument types a scalar udf declares (arguments are cast to them when that is lossless);
  /// nullopt for batch_udf, which takes arguments of any type.
  std::optional<std::vector<Type>> argument_types;
  bool deterministic = true;
  BatchFunction function;
};

/// Builds the expression calling a user function.
Expr call_user_function(std::shared_ptr<const UserFunctionDefinition> definition,
                        std::vector<Expr> args);

namespace udf_detail {

template <typename T>
struct Argument {
  static constexpr bool supported = false;
};
template <>
struct Argument<bool> {
  static constexpr bool supported = true;
  static constexpr Type type = Type::Bool;
  static bool read(const Column& c, int64_t i) { return c.values<uint8_t>()[i] != 0; }
};
template <>
struct Argument<int64_t> {
  static constexpr bool supported = true;
  static constexpr Type type = Type::Int64;
  static int64_t read(const Column& c, int64_t i) { return c.values<int64_t>()[i]; }
};
template <>
struct Argument<double> {
  static constexpr bool supported = true;
  static constexpr Type type = Type::Double;
  static double read(const Column& c, int64_t i) { return c.values<double>()[i]; }
};
template <>
struct Argument<std::string_view> {
  static constexpr bool supported = true;
  static constexpr Type type = Type::String;
  static std::string_view read(const Column& c, int64_t i) { return c.string_at(i); }
};
template <>
struct Argument<std::string> {
  static constexpr bool supported = true;
  static constexpr Type type = Type::String;
  static std::string read(const Column& c, int64_t i) { return std::string(c.string_at(i)); }
};
template <>
struct Argument<Timestamp> {
  static constexpr bool supported = true;
  static constexpr Type type = Type::Timestamp;
  static Timestamp read(const Column& c, int64_t i) { return Timestamp{c.values<int64_t>()[i]}; }
};

template <typename T>
struct Output {
  static constexpr bool supported = false;
};
template <>
struct Output<bool> {
  static constexpr bool supported = true;
  static constexpr Type type = Type::Bool;
  static void append(ColumnBuilder& b, bool v) { b.append_bool(v); }
};
template <>
struct Output<int64_t> {
  static constexpr bool supported = true;
  static constexpr Type type = Type::Int64;
  static void append(ColumnBuilder& b, int64_t v) { b.append_int64(v); }
};
template <>
struct Output<double> {
  static constexpr bool supported = true;
  static constexpr Type type = Type::Double;
  static void append(ColumnBuilder& b, double v) { b.append_double(v); }
};
template <>
struct Output<std::string> {
  static constexpr bool supported = true;
  static constexpr Type type = Type::String;
  static void append(ColumnBuilder& b, const std::string& v) { b.append_string(v); }
};
template <>
struct Output<Timestamp> {
  static constexpr bool supported = true;
  static constexpr Type type = Type::Timestamp;
  static void append(ColumnBuilder& b, Timestamp v) { b.append_timestamp(v.micros); }
};
// std::optional<T> results let a function return NULL for some inputs.
template <typename T>
struct Output<std::optional<T>> {
  static constexpr bool supported = Output<T>::supported;
  static constexpr Type type = Output<T>::type;
  static void append(ColumnBuilder& b, const std::optional<T>& v) {
    if (v) {
      Output<T>::append(b, *v);
    } else {
      b.append_null();
    }
  }
};

template <typename T>
struct Signature {
  static constexpr bool known = false;
  static constexpr bool is_const = true;
  using result = bool;  // placeholders so that only the first static_assert fires
  using arguments = std::tuple<>;
};
template <typename R, typename... A>
struct Signature<R (*)(A...)> {
  static constexpr bool known = true;
  static constexpr bool is_const = true;
  using result = R;
  using arguments = std::tuple<std::remove_cvref_t<A>...>;
};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...) const> : Signature<R (*)(A...)> {};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...)> : Signature<R (*)(A...)> {
  static constexpr bool is_const = false;
};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...) const noexcept> : Signature<R (*)(A...)> {};
template <typename R, typename... A>
struct Signature<R (*)(A...) noexcept> : Signature<R (*)(A...)> {};

template <typename F>
concept has_call_operator = requires {
  &F::operator();
};

template <typename F>
constexpr auto signature_of() {
  if constexpr (std::is_pointer_v<F> || std::is_function_v<F>) {
    return Signature<std::add_pointer_t<std::remove_pointer_t<F>>>{};
  } else if constexpr (has_call_operator<F>) {
    return Signature<decltype(&F::operator())>{};
  } else {
    return Signature<void>{};
  }
}

template <typename Tuple>
struct ArgumentsSupported;
template <typename... A>
struct ArgumentsSupported<std::tuple<A...>> {
  static constexpr bool value = (Argument<A>::supported && ...);
  static std::vector<Type> types() { return {Argument<A>::type...}; }
};

// Calls fn once per row whose arguments are all non-null; nulls give a null result.
template <typename F, typename R, typename... A, size_t... I>
ColumnPtr call_per_row(const F& fn, const std::vector<ColumnPtr>& args, int64_t num_rows,
                       std::tuple<A...>*, std::index_sequence<I...>) {
  ColumnBuilder builder(Output<R>::type);
  builder.reserve(num_rows);
  for (int64_t row = 0; row < num_rows; ++row) {
    if ((args[I]->is_null(row) || ...)) {
      builder.append_null();
      continue;
    }
    Output<R>::append(builder, fn(Argument<A>::read(*args[I], row)...));
  }
  return builder.finish();
}

}  // namespace udf_detail

/// Wraps a scalar C++ function as a callable building expressions. Its arguments are
/// evaluated a batch at a time and the function is called once per row whose arguments are
/// all non-null (a NULL argument gives a NULL result). It may be called from several threads
/// at once, so it must not mutate shared state.
template <typename F>
class UserFunction {
 public:
  using Sig = decltype(udf_detail::signature_of<F>());
  static_assert(Sig::known,
                "udf needs a lambda or function with concrete parameter types (no auto "
                "parameters, no overloads)");
  static_assert(Sig::is_const,
                "udf lambdas must not be mutable: a udf may run on several threads at once");
  using ResultType = typename Sig::result;
  using Arguments = typename Sig::arguments;
  static_assert(udf_detail::Output<ResultType>::supported,
                "udf result type must be bool, int64_t, double, std::string, Timestamp or "
                "std::optional of one of them (std::string_view is not allowed: it would "
                "dangle)");
  static_assert(udf_detail::ArgumentsSupported<Arguments>::value,
                "udf parameter types must be bool, int64_t, double, std::string, "
                "std::string_view or Timestamp");

  UserFunction(std::string name, F fn) {
    auto definition = std::make_shared<UserFunctionDefinition>();
    definition->name = std::move(name);
    definition->result_type = udf_detail::Output<ResultType>::type;
    definition->argument_types = udf_detail::ArgumentsSupported<Arguments>::types();
    definition->function = [fn = std::move(fn)](const std::vector<ColumnPtr>& args,
                                                int64_t num_rows) -> Result<ColumnPtr> {
      return udf_detail::call_per_row<F, ResultType>(
          fn, args, num_rows, static_cast<Arguments*>(nullptr),
          std::make_index_sequence<std::tuple_size_v<Arguments>>());
    };
    definition_ = std::move(definition);
  }

  /// Builds the expression calling the function on the given arguments.
  template <typename... Args>
  Expr operator()(Args... args) const {
    static_assert((std::is_convertible_v<Args, Expr> && ...), "udf arguments must be Exprs");
    static_assert(sizeof...(Args) == std::tuple_size_v<Arguments>,
                  "udf called with a different number of arguments than the function takes");
    return call_user_function(definition_, std::vector<Expr>{Expr(std::move(args))...});
  }

  /// Returns a copy marked non-deterministic (the optimizer will not fold or reorder it).
  UserFunction as_nondeterministic() const {
    UserFunction copy = *this;
    auto definition = std::make_shared<UserFunctionDefinition>(*definition_);
    definition->deterministic = false;
    copy.definition_ = std::move(definition);
    return copy;
  }

  const std::shared_ptr<const UserFunctionDefinition>& definition() const { return definition_; }

 private:
  std::shared_ptr<const UserFunctionDefinition> definition_;
};

/// Wraps a scalar C++ lambda over bool, int64_t, double, std::string / std::string_view and
/// Timestamp as a user function; the result type is deduced from the lambda.
template <typename F>
auto udf(std::string name, F fn) {
  return UserFunction<F>(std::move(name), std::move(fn));
}

}  // namespace sluice
