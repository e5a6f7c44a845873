#pragma once
// Byte bounds shared by every broker, queue and server (the hostile-probe fixes): no peer may send a message
// larger than max_message_bytes (libzmq drops the connection of a peer that tries, ZMQ_MAXMSGSIZE), and what
// a broker or queue holds for later is bounded in bytes as well as in messages.
#include <pirates/common/frames.hpp>

#include <cstddef>
#include <cstdint>

namespace pirates {

inline constexpr std::size_t kDefaultMaxMessageBytes = std::size_t{16} << 20;  // 16 MiB
inline constexpr std::size_t kDefaultMaxQueueBytes = std::size_t{256} << 20;   // 256 MiB

// Refuse inbound messages larger than `bytes` on this socket (0: no limit). Set before bind/connect.
inline void limit_message_size(zmq::socket_t& socket, std::size_t bytes) {
    socket.set(zmq::sockopt::maxmsgsize, bytes == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(bytes));
}

// Payload bytes of a message (the sum of its frame sizes), what byte bounds count.
inline std::size_t byte_size(const Frames& message) {
    std::size_t n = 0;
    for (const auto& f : message) n += f.size();
    return n;
}

}  // namespace pirates
