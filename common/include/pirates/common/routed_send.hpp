#pragma once
// The one non-blocking send on a ROUTER socket, used by every ROUTER driver.
//
// The socket should be ZMQ_ROUTER_MANDATORY: then libzmq refuses the identity frame of a message for a peer
// that is not connected (EHOSTUNREACH) or whose pipe is at its high-water mark (EAGAIN), before any frame is
// queued. Both come back as values, and the message is left as it was, so the caller can put it back (a
// request re-queued for another worker) or drop it. A sent message is consumed.
#include <pirates/common/frames.hpp>

namespace pirates {

enum class SendResult {
    sent,         // queued for the peer
    peer_gone,    // no such peer connected (EHOSTUNREACH): the message is untouched
    would_block,  // the peer's pipe is full (EAGAIN): the message is untouched
};

// Sends `message` (routing identity first) without blocking. Other errors throw zmq::error_t.
[[nodiscard]] SendResult send_routed(zmq::socket_t& router, Frames& message);

const char* name(SendResult result);

}  // namespace pirates
