#pragma once

#include <memory>

#include "operators/stateful_operator.hpp"
#include "state/checkpoint_store.hpp"

namespace sluice::actors {

/// Returns a reader of one state table of the checkpoint, for a stateful operator. The reader
/// shares ownership of the store. Thread-safe, as the store is.
std::shared_ptr<const StateReader> make_state_reader(std::shared_ptr<CheckpointStore> store,
                                                     std::string table);

}  // namespace sluice::actors
