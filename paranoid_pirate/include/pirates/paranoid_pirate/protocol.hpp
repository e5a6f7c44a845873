#pragma once
// 6/PPP on the wire (see docs/protocols.md, Paranoid Pirate). Worker -> queue: READY = one frame 0x01, HEARTBEAT =
// one frame 0x02, reply = [client-id] "" reply...; queue -> worker: HEARTBEAT = one frame 0x02, request =
// [client-id] "" request...
#include <pirates/common/frames.hpp>
#include <pirates/common/result.hpp>

#include <string>
#include <string_view>

namespace pirates::paranoid_pirate {

inline constexpr unsigned char kReady = 0x01;
inline constexpr unsigned char kHeartbeat = 0x02;

inline Frames ready_message() {
    Frames m;
    m.add(byte_frame(kReady));
    return m;
}
inline Frames heartbeat_message() {
    Frames m;
    m.add(byte_frame(kHeartbeat));
    return m;
}

// What a worker sent, as the queue sees it after taking the identity off.
enum class WorkerCommand { ready, heartbeat, reply };
Result<WorkerCommand> classify_from_worker(const Frames& m);

// What the queue sent, as the worker sees it.
enum class QueueCommand { heartbeat, request };
Result<QueueCommand> classify_from_queue(const Frames& m);

// Index of the first frame after the envelope (the frames up to and including the first empty frame), or 0 if
// there is no empty delimiter. A request/reply needs at least one frame after it.
std::size_t body_start(const Frames& m);

// A binary identity as a string key (for hash maps) and back as a frame.
inline std::string identity_key(const Frame& f) {
    return std::string(f.to_string_view());
}

}  // namespace pirates::paranoid_pirate
