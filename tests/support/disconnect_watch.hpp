#pragma once
// Watch a socket's connections drop, through a libzmq socket monitor (ZMQ_EVENT_DISCONNECTED): how a test
// sees that a server dropped it (for instance after a message over the server's ZMQ_MAXMSGSIZE), without a
// sleep.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>

#include "support/net.hpp"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace pirates::test {

class DisconnectWatch {
  public:
    // Start watching `socket` (before or after it connects). `context` must be the socket's context.
    DisconnectWatch(zmq::context_t& context, zmq::socket_t& socket) : socket_(socket) {
        static std::atomic<std::uint64_t> serial{0};
        const std::string address = "inproc://pirates-test-disconnect-watch-" + std::to_string(++serial);
        if (zmq_socket_monitor(socket.handle(), address.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
            throw std::runtime_error("zmq_socket_monitor failed");
        events_ = zmq::socket_t(context, zmq::socket_type::pair);
        events_.set(zmq::sockopt::linger, 0);
        events_.connect(address);
    }
    ~DisconnectWatch() { zmq_socket_monitor(socket_.handle(), nullptr, 0); }
    DisconnectWatch(const DisconnectWatch&) = delete;
    DisconnectWatch& operator=(const DisconnectWatch&) = delete;

    // Wait until `count` disconnections in all have been seen since the watch started.
    bool wait(int count = 1, Duration timeout = Duration{5000}) {
        const TimePoint deadline = Clock::now() + timeout;
        while (seen_ < count) {
            Frames event;
            if (!recv_within(events_, event, until(Clock::now(), deadline))) return false;
            // Frame 1: u16 event id, u32 value (native byte order); frame 2: the endpoint.
            std::uint16_t id = 0;
            if (!event.empty() && event[0].size() >= sizeof id) std::memcpy(&id, event[0].data(), sizeof id);
            if (id == ZMQ_EVENT_DISCONNECTED) ++seen_;
        }
        return true;
    }
    int seen() const { return seen_; }

  private:
    zmq::socket_t& socket_;
    zmq::socket_t events_;
    int seen_ = 0;
};

}  // namespace pirates::test
