#include "thread_server.hpp"

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
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        while (!stop_) {
            Duration wait{10};
            if (!later.empty()) wait = std::min(wait, until(Clock::now(), later.front().first));
            zmq::poll(&item, 1, wait);
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
