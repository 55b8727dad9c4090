#pragma once

#include <memory>

#include "io/source.hpp"
#include "operators/stateful_operator.hpp"
#include "state/checkpoint_store.hpp"

namespace sluice::actors {

/// Returns a reader of one state table of the checkpoint, for a stateful operator. The reader
/// shares ownership of the store. Thread-safe, as the store is.
std::shared_ptr<const StateReader> make_state_reader(std::shared_ptr<CheckpointStore> store,
                                                     std::string table);

/// Returns a reader of a source's own state table in the checkpoint.
std::shared_ptr<const SourceStateReader> make_source_state_reader(std::shared_ptr<CheckpointStore> store,
                                                                  std::string table);

/// Returns the plain state table where the runtime records, with each commit, how many keys
/// each partition of stateful stage table `table` owns (key: the partition in decimal; value:
/// "<num_partitions> <rows>"), read back by StateReader::partition_rows.
inline std::string partition_rows_table(const std::string& table) { return table + "/rows"; }

/// Encodes the value of a partition_rows_table entry.
inline std::string encode_partition_rows(int num_partitions, int64_t rows) {
  return std::to_string(num_partitions) + " " + std::to_string(rows);
}

/// The state table of source `index` of a query.
inline std::string source_state_table(size_t index) { return "source" + std::to_string(index); }

}  // namespace sluice::actors
