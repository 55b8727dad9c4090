#define BOOST_TEST_MODULE flat_buffer_codec
#include <boost/test/unit_test.hpp>

#include "counter_state_generated.h"
#include "operators/flat_buffer_codec.hpp"
#include "operators/flat_map_groups_with_state.hpp"
#include "tests/operators/stateful_fixture.hpp"

namespace sluice {
template <>
struct StateCodec<testing::CounterStateT> : FlatBufferCodec<testing::CounterState> {};
}  // namespace sluice

namespace sluice::testing {

BOOST_AUTO_TEST_CASE(a_state_round_trips_through_its_flatbuffers_table) {
  CounterStateT state;
  state.count = 42;
  state.labels = {"a", "", "ccc"};
  std::string bytes;
  StateCodec<CounterStateT>::encode(state, bytes);
  CounterStateT back;
  BOOST_REQUIRE(StateCodec<CounterStateT>::decode(bytes, back));
  BOOST_TEST(back.count == 42);
  BOOST_TEST(back.labels == state.labels);
  // Bytes at an odd address decode the same.
  std::string shifted = "x" + bytes;
  CounterStateT moved;
  BOOST_REQUIRE(StateCodec<CounterStateT>::decode(std::string_view(shifted).substr(1), moved));
  BOOST_TEST(moved.labels == state.labels);
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_the_table_do_not_decode) {
  CounterStateT state;
  BOOST_TEST(!StateCodec<CounterStateT>::decode("", state));
  BOOST_TEST(!StateCodec<CounterStateT>::decode(std::string(3, '\xff'), state));
  std::string bytes;
  CounterStateT full;
  full.labels = {"label"};
  StateCodec<CounterStateT>::encode(full, bytes);
  BOOST_TEST(!StateCodec<CounterStateT>::decode(std::string_view(bytes).substr(0, bytes.size() - 6), state));
}

BOOST_AUTO_TEST_CASE(flat_map_groups_with_state_keeps_a_flatbuffers_state_across_a_restart) {
  auto input = Schema::make({{"k", Type::Int64}, {"label", Type::String}}).value();
  auto output = Schema::make({{"k", Type::Int64}, {"count", Type::Int64}, {"labels", Type::String}}).value();
  auto spec = std::make_shared<GroupStateSpec>();
  spec->function = make_group_function<CounterStateT, false>(
      [](const std::vector<Value>& key, const RecordBatchPtr& rows, GroupState<CounterStateT>& state) {
        CounterStateT s = state.get_option().value_or(CounterStateT{});
        for (int64_t r = 0; r < rows->num_rows(); ++r) {
          ++s.count;
          s.labels.emplace_back(rows->column(1)->string_at(r));
        }
        state.update(s);
        std::string joined;
        for (const auto& label : s.labels) joined += label;
        return std::vector<OutputRow>{{key[0], s.count, joined}};
      });
  spec->output = output;
  spec->mode = OutputMode::Update;
  spec->state_type = "CounterStateT";
  auto op = make_flat_map_groups_with_state(input, {0}, spec, {});
  BOOST_REQUIRE_MESSAGE(op.ok(), op.status().to_string());
  StatefulRunner runner(*op, 2);
  auto batch = [&](const Rows& rows) { return RecordBatch::from_rows(input, rows).value(); };
  runner.run_epoch({batch({{int64_t{1}, "a"}, {int64_t{2}, "b"}})}, epoch_context(0, EpochContext::kNoWatermark, OutputMode::Update));
  runner.restart(3);
  Rows out = sorted(runner.run_epoch({batch({{int64_t{1}, "c"}})}, epoch_context(1, EpochContext::kNoWatermark, OutputMode::Update)));
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST((out[0] == Row{Value(int64_t{1}), Value(int64_t{2}), Value("ac")}));
}

}  // namespace sluice::testing
