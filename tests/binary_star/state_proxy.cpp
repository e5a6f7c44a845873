#include "state_proxy.hpp"

#include <pirates/common/reactor.hpp>

#include "support/net.hpp"

namespace pirates::test {

StateProxy::StateProxy(zmq::context_t& context)
    : in_{zmq::socket_t(context, zmq::socket_type::sub), zmq::socket_t(context, zmq::socket_type::sub)},
      out_{zmq::socket_t(context, zmq::socket_type::pub), zmq::socket_t(context, zmq::socket_type::pub)} {
    for (int d = 0; d < 2; ++d) {
        in_[d].set(zmq::sockopt::linger, 0);
        in_[d].set(zmq::sockopt::subscribe, "");
        out_[d].set(zmq::sockopt::linger, 0);
        out_ep_[d] = bind_loopback(out_[d]);
    }
}

StateProxy::~StateProxy() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

void StateProxy::connect(const std::string& primary_pub, const std::string& backup_pub) {
    in_[primary_to_backup].connect(primary_pub);
    in_[backup_to_primary].connect(backup_pub);
}

// The sockets were made by the constructing thread; from here on only the proxy thread touches them (thread
// creation is the memory barrier zmq asks for when a socket changes threads).
void StateProxy::start() {
    thread_ = std::thread([this] { loop(); });
}

void StateProxy::loop() {
    Reactor reactor;
    for (int d = 0; d < 2; ++d) {
        reactor.add(in_[d], [this, d] {
            Frames m;
            if (!recv_nowait(in_[d], m)) return false;
            ++seen_[d];
            if (m.size() == 1 && m[0].size() == 1) last_[d] = *static_cast<const char*>(m[0].data()) - '0';
            if (!cut_[d]) {
                m.send(out_[d], ZMQ_DONTWAIT);
                ++forwarded_[d];
            }
            return true;
        });
    }
    while (!stop_ && reactor.run_once(std::chrono::milliseconds(10))) {
    }
}

}  // namespace pirates::test
