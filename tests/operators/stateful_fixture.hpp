#pragma once

// Shared by the stateful operator tests: an in-memory committed state (a std::map), a runner
// that drives an operator over several partitions epoch by epoch (routing rows with
// partition_rows, committing every delta), and reference aggregates computed row by row.
// Include after <boost/test/unit_test.hpp>.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/record_batch.hpp"
#include "operators/aggregate_function.hpp"
#include "operators/key_encoder.hpp"
#include "operators/partial_aggregate.hpp"
#include "operators/stateful_operator.hpp"
#include "tests/operators/expression_fixture.hpp"

namespace sluice::testing {

using Row = std::vector<Value>;
using Rows = std::vector<Row>;

/// Returns the seed of a randomized test: SLUICE_TEST_SEED when set, else a fresh one; prints
/// it so a failure can be replayed.
inline uint64_t test_seed() {
  const char* forced = std::getenv("SLUICE_TEST_SEED");
  const uint64_t seed = forced ? std::strtoull(forced, nullptr, 10) : std::random_device{}();
  std::cout << boost::unit_test::framework::current_test_case().p_name << ": seed " << seed
            << " (set SLUICE_TEST_SEED to replay)\n";
  return seed;
}

/// Returns true when SLUICE_TEST_PARTIAL_AGGREGATION=1 asks the runner to combine batches.
inline bool partial_aggregation_from_environment() {
  const char* value = std::getenv("SLUICE_TEST_PARTIAL_AGGREGATION");
  return value != nullptr && std::string(value) == "1";
}

/// Holds committed state in a std::map; deltas are applied by the runner at commit.
class MapStateReader final : public StateReader {
 public:
  Result<std::optional<std::string>> get(std::string_view key) const override {
    ++gets;
    auto it = entries.find(key);
    if (it == entries.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  Status scan(std::string_view begin, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    ++scans;
    for (auto it = entries.lower_bound(begin); it != entries.end(); ++it) {
      if (!end.empty() && it->first >= end) break;
      ++scanned;
      if (!fn(it->first, it->second)) break;
    }
    return Status::ok();
  }

  /// Applies a delta; fails the test when a key appears twice in it.
  void apply(const StateDelta& delta) {
    std::set<std::string> seen;
    for (const auto& change : delta.changes) {
      BOOST_REQUIRE_MESSAGE(seen.insert(change.key).second, "a delta names one key twice");
      if (change.value) {
        entries[change.key] = *change.value;
      } else {
        entries.erase(change.key);
      }
    }
  }

  std::map<std::string, std::string, std::less<>> entries;
  mutable int64_t gets = 0;
  mutable int64_t scans = 0;
  mutable int64_t scanned = 0;
};

/// Drives one stateful operator over num_partitions states sharing one committed store.
class StatefulRunner {
 public:
  StatefulRunner(std::shared_ptr<const StatefulOperator> op, int num_partitions,
                 std::shared_ptr<MapStateReader> store = std::make_shared<MapStateReader>())
      : op_(std::move(op)), store_(std::move(store)) {
    restart(num_partitions);
  }

  /// Recreates every partition's state from the committed store (uncommitted changes are lost,
  /// as after a crash), possibly with another partition count.
  void restart(int num_partitions) {
    states_.clear();
    for (int p = 0; p < num_partitions; ++p) {
      auto state = op_->make_state(p, num_partitions, store_);
      BOOST_REQUIRE_MESSAGE(state.ok(), state.status().to_string());
      states_.push_back(std::move(*state));
    }
  }

  /// Runs one epoch: routes every batch, finishes every partition, applies the deltas and
  /// commits (unless commit is false: then the deltas are only kept in last_deltas, as when
  /// the process dies before the commit). Returns the output rows, partition after partition.
  Rows run_epoch(const std::vector<RecordBatchPtr>& batches, const EpochContext& context,
                 bool commit = true) {
    std::vector<std::pair<int, RecordBatchPtr>> inputs;
    for (const auto& batch : batches) inputs.emplace_back(0, batch);
    return run_inputs(inputs, context, commit);
  }

  /// Runs one epoch of an operator with several inputs: each batch with its input index.
  Rows run_inputs(const std::vector<std::pair<int, RecordBatchPtr>>& inputs, const EpochContext& context,
                  bool commit = true) {
    const int num_partitions = static_cast<int>(states_.size());
    std::vector<int32_t> partition_of_row;
    for (const auto& [input, rows_batch] : inputs) {
      RecordBatchPtr batch = rows_batch;
      std::vector<int> key_columns = op_->key_columns(input);
      if (combine && rows_batch->num_rows() > 0) {
        // As a sender does: each batch folded into one partial row per key before routing.
        if (auto partial = op_->partial_aggregation(input)) {
          PartialCombiner combiner(partial);
          auto combined = combiner.combine(rows_batch);
          BOOST_REQUIRE_MESSAGE(combined.ok(), combined.status().to_string());
          BOOST_REQUIRE(partial->is_partial(**combined));
          batch = *combined;
          key_columns = partial->partial_key_columns();
        }
      }
      if (num_partitions == 1) {
        add(0, input, batch, context);
        continue;
      }
      partition_rows(*batch, key_columns, num_partitions, partition_of_row);
      for (int p = 0; p < num_partitions; ++p) {
        std::vector<int32_t> rows;
        for (int32_t r = 0; r < static_cast<int32_t>(partition_of_row.size()); ++r) {
          if (partition_of_row[static_cast<size_t>(r)] == p) rows.push_back(r);
        }
        add(p, input, batch->take(rows.data(), static_cast<int64_t>(rows.size())), context);
      }
    }
    Rows out;
    std::vector<StateDelta> deltas(states_.size());
    last_delta_size = 0;
    for (size_t p = 0; p < states_.size(); ++p) {
      std::vector<RecordBatchPtr> batches_out;
      Status status = states_[p]->finish_epoch(context, batches_out, deltas[p]);
      BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
      for (const auto& batch : batches_out) {
        BOOST_REQUIRE(*batch->schema() == *op_->output_schema());
        for (auto& row : batch->to_rows()) {
          out.push_back(std::move(row));
        }
      }
      last_delta_size += static_cast<int64_t>(deltas[p].changes.size());
    }
    last_deltas = deltas;
    if (!commit) return out;
    for (const auto& delta : deltas) {
      store_->apply(delta);
    }
    for (auto& state : states_) {
      state->epoch_committed(context.epoch);
    }
    return out;
  }

  /// Sums the partitions' metrics.
  StateOperatorMetrics metrics() const {
    StateOperatorMetrics total;
    for (const auto& state : states_) {
      const auto m = state->metrics();
      total.num_rows_total += m.num_rows_total;
      total.num_rows_updated += m.num_rows_updated;
      total.num_rows_removed += m.num_rows_removed;
      total.num_rows_dropped_by_watermark += m.num_rows_dropped_by_watermark;
      total.memory_used_bytes += m.memory_used_bytes;
    }
    return total;
  }

  StatefulOperatorState& state(int partition) { return *states_[static_cast<size_t>(partition)]; }
  const std::shared_ptr<MapStateReader>& store() const { return store_; }
  int64_t last_delta_size = 0;
  std::vector<StateDelta> last_deltas;
  /// Sends partial aggregates instead of raw rows (for operators that offer them); on when
  /// the environment sets SLUICE_TEST_PARTIAL_AGGREGATION=1, so a test file runs both ways.
  bool combine = partial_aggregation_from_environment();

 private:
  void add(int partition, int input, const RecordBatchPtr& batch, const EpochContext& context) {
    if (batch->num_rows() == 0) return;
    Status status = states_[static_cast<size_t>(partition)]->add_input(input, batch, context);
    BOOST_REQUIRE_MESSAGE(status.is_ok(), status.to_string());
  }

  std::shared_ptr<const StatefulOperator> op_;
  std::shared_ptr<MapStateReader> store_;
  std::vector<std::unique_ptr<StatefulOperatorState>> states_;
};

inline EpochContext epoch_context(int64_t epoch, int64_t watermark, OutputMode mode) {
  EpochContext context;
  context.epoch = epoch;
  context.watermark = watermark;
  context.mode = mode;
  return context;
}

/// Returns the rows sorted (Value order), for comparing results regardless of order.
inline Rows sorted(Rows rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

inline std::string row_text(const Row& row) {
  std::string text = "(";
  for (size_t i = 0; i < row.size(); ++i) {
    text += (i ? ", " : "") + row[i].to_string();
  }
  return text + ")";
}

/// Compares two row sets exactly, printing the first difference.
inline void check_same_rows(const Rows& actual, const Rows& expected, const std::string& what) {
  const Rows a = sorted(actual);
  const Rows e = sorted(expected);
  BOOST_TEST_REQUIRE(a.size() == e.size(),
                     what << ": " << a.size() << " rows, expected " << e.size());
  for (size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST_REQUIRE(a[i] == e[i], what << ": row " << i << " is " << row_text(a[i])
                                          << ", expected " << row_text(e[i]));
  }
}

/// Orders values of one type as the aggregates do: NaN above every double.
inline bool value_less(const Value& a, const Value& b) {
  if (a.type() == Type::Double && b.type() == Type::Double) {
    const double x = a.as_double();
    const double y = b.as_double();
    if (std::isnan(y)) return !std::isnan(x);
    if (std::isnan(x)) return false;
    return x < y;
  }
  return a < b;
}

/// Computes an aggregate over the values of one group in arrival order, row by row (the
/// independent reference). approx_count_distinct is computed exactly.
inline Value reference_aggregate(AggregateKind kind, const std::vector<Value>& values,
                                 std::optional<Type> type) {
  std::vector<Value> present;
  for (const Value& v : values) {
    if (!v.is_null()) present.push_back(v);
  }
  switch (kind) {
    case AggregateKind::count_all:
      return Value(static_cast<int64_t>(values.size()));
    case AggregateKind::count:
      return Value(static_cast<int64_t>(present.size()));
    case AggregateKind::count_distinct:
    case AggregateKind::approx_count_distinct: {
      std::set<std::string> distinct;
      for (const Value& v : present) {
        if (v.type() == Type::Double) {
          double d = v.as_double();
          if (d == 0) d = 0;
          distinct.insert(std::isnan(d) ? "nan"
                                        : std::to_string(d) + "|" +
                                              std::to_string(std::bit_cast<uint64_t>(d)));
        } else {
          distinct.insert(v.to_string());
        }
      }
      return Value(static_cast<int64_t>(distinct.size()));
    }
    case AggregateKind::sum: {
      if (present.empty()) return Value();
      if (type == Type::Double) {
        double sum = 0;
        for (const Value& v : present) {
          sum += v.as_double();
        }
        return Value(sum);
      }
      uint64_t sum = 0;
      for (const Value& v : present) {
        sum += static_cast<uint64_t>(v.as_int64());
      }
      return Value(static_cast<int64_t>(sum));
    }
    case AggregateKind::avg: {
      if (present.empty()) return Value();
      double sum = 0;
      for (const Value& v : present) {
        sum += v.type() == Type::Double ? v.as_double() : static_cast<double>(v.as_int64());
      }
      return Value(sum / static_cast<double>(present.size()));
    }
    case AggregateKind::min:
    case AggregateKind::max: {
      if (present.empty()) return Value();
      Value best = present[0];
      for (const Value& v : present) {
        if (kind == AggregateKind::min ? value_less(v, best) : value_less(best, v)) best = v;
      }
      return best;
    }
    case AggregateKind::first:
      return values.empty() ? Value() : values.front();
    case AggregateKind::last:
      return values.empty() ? Value() : values.back();
  }
  return Value();
}

}  // namespace sluice::testing
