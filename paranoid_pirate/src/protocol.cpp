#include <pirates/paranoid_pirate/protocol.hpp>

namespace pirates::paranoid_pirate {

std::size_t body_start(const Frames& m) {
    for (std::size_t i = 0; i < m.size(); ++i)
        if (m[i].size() == 0) return i == 0 ? 0 : i + 1;
    return 0;
}

Result<WorkerCommand> classify_from_worker(const Frames& m) {
    if (m.empty()) return error("empty message");
    if (m.size() == 1) {
        if (is_byte(m[0], kReady)) return WorkerCommand::ready;
        if (is_byte(m[0], kHeartbeat)) return WorkerCommand::heartbeat;
        return error("one-frame message that is neither READY nor HEARTBEAT: " + printable(m[0]));
    }
    std::size_t body = body_start(m);
    if (body == 0) return error("reply without [client-id] \"\" envelope");
    if (body >= m.size()) return error("reply without a body");
    return WorkerCommand::reply;
}

Result<QueueCommand> classify_from_queue(const Frames& m) {
    if (m.empty()) return error("empty message");
    if (m.size() == 1) {
        if (is_byte(m[0], kHeartbeat)) return QueueCommand::heartbeat;
        return error("one-frame message that is not HEARTBEAT: " + printable(m[0]));
    }
    if (m.size() == 2) return error("two-frame message");
    std::size_t body = body_start(m);
    if (body == 0) return error("request without [client-id] \"\" envelope");
    if (body >= m.size()) return error("request without a body");
    return QueueCommand::request;
}

}  // namespace pirates::paranoid_pirate
