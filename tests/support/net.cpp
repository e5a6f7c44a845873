#include "support/net.hpp"

#include <thread>

namespace pirates::test {

std::string bind_loopback(zmq::socket_t& socket) {
    socket.bind("tcp://127.0.0.1:*");
    return socket.get(zmq::sockopt::last_endpoint);
}

bool eventually(const std::function<bool()>& pred, Duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        if (pred()) return true;
        if (Clock::now() >= deadline) return false;
        // Polling with a deadline: the pause between checks, not a wait for the event itself.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

bool recv_within(zmq::socket_t& socket, Frames& out, Duration timeout) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    const auto deadline = Clock::now() + timeout;
    while (true) {
        auto left = until(Clock::now(), deadline);
        try {
            zmq::poll(&item, 1, std::chrono::milliseconds(left));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
        if (item.revents & ZMQ_POLLIN) return out.recv(socket, ZMQ_DONTWAIT);
        if (left.count() == 0) return false;
    }
}

Frames make_frames(std::initializer_list<std::string_view> parts) {
    Frames m;
    for (auto p : parts) m.add(frame(p));
    return m;
}

std::vector<std::string> strings(const Frames& m) {
    std::vector<std::string> out;
    for (const auto& f : m) out.emplace_back(f.to_string());
    return out;
}

}  // namespace pirates::test
