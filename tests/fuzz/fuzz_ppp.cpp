// 6/PPP, both directions: classify_from_worker, classify_from_queue and body_start on one arbitrary message.
// A request or reply must have its envelope delimiter and a body after it.
#include "fuzz_input.hpp"

#include <pirates/paranoid_pirate/protocol.hpp>

using namespace pirates;
using namespace pirates::paranoid_pirate;

namespace {
const std::vector<std::string_view> tokens = {"", "\x01", "\x02", "client-1", "hello"};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    Frames message = in.message(tokens, 16);
    const std::size_t start = body_start(message);
    FUZZ_CHECK(start <= message.size());
    if (start > 0) FUZZ_CHECK(message[start - 1].size() == 0);
    auto w = classify_from_worker(message);
    if (w && *w == WorkerCommand::reply) FUZZ_CHECK(start > 0 && start < message.size());
    if (w && *w != WorkerCommand::reply) FUZZ_CHECK(message.size() == 1);
    auto q = classify_from_queue(message);
    if (q && *q == QueueCommand::request) FUZZ_CHECK(start > 0 && start < message.size());
    if (q && *q == QueueCommand::heartbeat)
        FUZZ_CHECK(message.size() == 1 && is_byte(message[0], kHeartbeat));
    return 0;
}
