#pragma once

#include <memory>
#include <string>

#include "operators/stateful_operator.hpp"

namespace sluice {

/// The definition shared by Sluice's keyed stateful operators: a config (input and output
/// schema, key columns, fingerprint, cache size) and a State type built per partition over the
/// committed state and loaded before use. Immutable; thread-safe.
template <typename State, typename Config>
class PartitionedOperator final : public StatefulOperator {
 public:
  PartitionedOperator(std::string name, std::shared_ptr<const Config> config, SchemaPtr output)
      : name_(std::move(name)), config_(std::move(config)), output_(std::move(output)) {}

  std::string name() const override { return name_; }
  const SchemaPtr& input_schema() const override { return config_->input; }
  const SchemaPtr& output_schema() const override { return output_; }
  std::vector<int> key_columns() const override { return config_->key_columns; }
  std::string state_fingerprint() const override { return config_->fingerprint; }
  std::shared_ptr<const PartialAggregation> partial_aggregation(int input) const override {
    (void)input;
    if constexpr (requires { config_->senders_partial; }) {
      return config_->senders_partial;
    } else {
      return nullptr;
    }
  }

  Result<std::unique_ptr<StatefulOperatorState>> make_state(
      int partition, int num_partitions,
      std::shared_ptr<const StateReader> committed) const override {
    if (num_partitions < 1 || partition < 0 || partition >= num_partitions) {
      return Status::invalid_argument("partition " + std::to_string(partition) + " of " +
                                      std::to_string(num_partitions) + " does not exist");
    }
    auto state = std::make_unique<State>(config_, partition, num_partitions, std::move(committed));
    SLUICE_RETURN_NOT_OK(
        state->load(config_->options.cache_bytes).with_context("loading the state of " + name_));
    return std::unique_ptr<StatefulOperatorState>(std::move(state));
  }

 private:
  std::string name_;
  std::shared_ptr<const Config> config_;
  SchemaPtr output_;
};

}  // namespace sluice
