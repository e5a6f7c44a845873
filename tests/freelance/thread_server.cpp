#include "thread_server.hpp"

#include <pirates/common/reactor.hpp>
#include <pirates/freelance/server.hpp>

#include <deque>

#include "support/net.hpp"

namespace pirates::test {

ThreadServer::ThreadServer(zmq::context_t& context, Handler handler, Duration delay,
                           bool identity_is_endpoint)
    : socket_(context, zmq::socket_type::router), handler_(std::move(handler)), delay_(delay) {
    socket_.set(zmq::sockopt::linger, 0);
    if (identity_is_endpoint)
        endpoint_ = freelance::bind_with_identity(socket_, "tcp://127.0.0.1:*", "");
    else
        endpoint_ = bind_loopback(socket_);
    thread_ = std::thread([this] {
        std::deque<std::pair<TimePoint, Frames>> later;
        const StopSource never;  // stop_ is checked every turn (at most 10 ms)
        while (!stop_) {
            TimePoint wake_at = Clock::now() + Duration{10};
            if (!later.empty()) wake_at = std::min(wake_at, later.front().first);
            (void)wait_readable(socket_, wake_at, steady_clock(), never);
            Frames m;
            while (m.recv(socket_, ZMQ_DONTWAIT)) {
                ++received_;
                for (auto& reply : handler_(m)) later.emplace_back(Clock::now() + delay_, std::move(reply));
                m.clear();
            }
            while (!later.empty() && later.front().first <= Clock::now()) {
                later.front().second.send(socket_, ZMQ_DONTWAIT);
                later.pop_front();
                ++sent_;
            }
        }
    });
}

ThreadServer::~ThreadServer() {
    stop_ = true;
    thread_.join();
}

}  // namespace pirates::test
