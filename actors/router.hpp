#pragma once

#include <algorithm>
#include <vector>

#include "actors/output_link.hpp"
#include "actors/pipeline_actors.hpp"
#include "operators/key_encoder.hpp"

namespace sluice::actors {

/// The sending side of a Downstream: one credit-managed link per receiving actor, and the
/// scratch space of routing rows by key hash. Owned by one actor; not thread-safe.
struct Router {
  std::vector<OutputLink> outputs;
  std::vector<int> key_columns;
  int input = 0;
  std::vector<int32_t> partition_of_row;
  std::vector<std::vector<int32_t>> rows_by_partition;
  std::shared_ptr<PartialCombiner> combiner;  // pre-aggregates batches when the target allows it

  Router() = default;
  Router(caf::event_based_actor* self, Downstream downstream, const std::string& sender)
      : key_columns(std::move(downstream.key_columns)), input(downstream.input) {
    auto name = std::make_shared<const std::string>(sender);
    for (auto& actor : downstream.actors)
      outputs.emplace_back(self, std::move(actor), downstream.edge, name);
    if (downstream.partial) combiner = std::make_shared<PartialCombiner>(std::move(downstream.partial));
  }

  // Sends a batch to the one output, or splits it by key hash across the partitions; with a
  // combiner, sends the batch's partial aggregates instead of its rows (or the rows, when the
  // combiner skips the batch or fails: the partitions aggregate raw rows as well).
  void route(int64_t epoch, const RecordBatchPtr& rows) {
    RecordBatchPtr batch = rows;
    const std::vector<int>* keys = &key_columns;
    if (combiner) {
      auto combined = combiner->combine(rows);
      if (combined.ok() && *combined != rows) {
        batch = std::move(*combined);
        keys = &combiner->definition().partial_key_columns();
      }
    }
    const int partitions = static_cast<int>(outputs.size());
    if (partitions == 1) {
      outputs[0].send_batch(epoch, batch, input);
      return;
    }
    partition_rows(*batch, *keys, partitions, partition_of_row);
    rows_by_partition.resize(static_cast<size_t>(partitions));
    for (auto& rows : rows_by_partition) rows.clear();
    for (size_t row = 0; row < partition_of_row.size(); ++row) {
      rows_by_partition[static_cast<size_t>(partition_of_row[row])].push_back(static_cast<int32_t>(row));
    }
    for (int p = 0; p < partitions; ++p) {
      const auto& rows = rows_by_partition[static_cast<size_t>(p)];
      if (rows.empty()) continue;
      RecordBatchPtr part = static_cast<int64_t>(rows.size()) == batch->num_rows()
                                ? batch
                                : batch->take(rows.data(), static_cast<int64_t>(rows.size()));
      outputs[static_cast<size_t>(p)].send_batch(epoch, std::move(part), input);
    }
  }

  void send_barrier(int64_t epoch) {
    for (auto& output : outputs)
      output.send_barrier(epoch);
  }

  // Gives credits returned by `sender` to its link.
  void add_credits(const caf::strong_actor_ptr& sender, int32_t credits) {
    for (auto& output : outputs) {
      if (caf::actor_cast<caf::strong_actor_ptr>(output.destination()) == sender) output.add_credits(credits);
    }
  }

  // Sends what waited for a delay that has passed (resume_atom).
  void resume() {
    for (auto& output : outputs)
      output.resume();
  }

  bool drained() const {
    return std::all_of(outputs.begin(), outputs.end(), [](const OutputLink& l) { return l.drained(); });
  }
};

}  // namespace sluice::actors
