#include "state_proxy.hpp"

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
    zmq::pollitem_t items[2] = {{in_[0].handle(), 0, ZMQ_POLLIN, 0}, {in_[1].handle(), 0, ZMQ_POLLIN, 0}};
    while (!stop_) {
        zmq::poll(items, 2, std::chrono::milliseconds(10));
        for (int d = 0; d < 2; ++d) {
            if (!(items[d].revents & ZMQ_POLLIN)) continue;
            Frames m;
            while (m.recv(in_[d], ZMQ_DONTWAIT)) {
                ++seen_[d];
                if (m.size() == 1 && m[0].size() == 1)
                    last_[d] = *static_cast<const char*>(m[0].data()) - '0';
                if (!cut_[d]) {
                    m.send(out_[d], ZMQ_DONTWAIT);
                    ++forwarded_[d];
                }
                m.clear();
            }
        }
    }
}

}  // namespace pirates::test
