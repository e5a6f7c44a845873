#pragma once
// Kept for code written before the framework's one naming: the Simple Pirate queue driver is `Queue` now
// (queue.hpp) and its socket-free core `QueueCore` (queue_core.hpp). Note that the name `Queue` used to mean
// the core.
#include <pirates/simple_pirate/queue.hpp>

namespace pirates::simple_pirate {

using QueueServer = Queue;

}  // namespace pirates::simple_pirate
