#include <pirates/common/routed_send.hpp>

namespace pirates {

SendResult send_routed(zmq::socket_t& router, Frames& message) {
    const std::size_t n = message.size();
    for (std::size_t i = 0; i < n; ++i) {
        auto flags = zmq::send_flags::dontwait;
        if (i + 1 < n) flags = flags | zmq::send_flags::sndmore;
        try {
            // After the identity frame is accepted the rest of the message always is (same pipe).
            if (!router.send(message[i], flags) && i == 0) return SendResult::would_block;
        } catch (const zmq::error_t& e) {
            if (i == 0 && e.num() == EHOSTUNREACH) return SendResult::peer_gone;
            if (i == 0 && e.num() == EAGAIN) return SendResult::would_block;
            throw;
        }
    }
    message.clear();
    return SendResult::sent;
}

const char* name(SendResult result) {
    switch (result) {
        case SendResult::sent:
            return "sent";
        case SendResult::peer_gone:
            return "peer gone";
        case SendResult::would_block:
            return "would block";
    }
    return "?";
}

}  // namespace pirates
