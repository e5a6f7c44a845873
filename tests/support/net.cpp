#include "support/net.hpp"

#include <pirates/common/reactor.hpp>

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
    const ClockSource& clock = steady_clock();
    const StopSource never;  // the test's own deadline is the only way out
    if (wait_readable(socket, clock.now() + timeout, clock, never) != WaitResult::ready) return false;
    return out.recv(socket, ZMQ_DONTWAIT);
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
