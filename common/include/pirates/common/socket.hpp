#pragma once
// The one place that creates and configures sockets. Every driver builds its sockets here, so an option added
// to SocketOptions (later: security) reaches every program at once.
#include <pirates/common/frames.hpp>
#include <pirates/common/security.hpp>

#include <cstddef>
#include <string>

namespace pirates {

struct SocketOptions {
    int linger_ms = 0;  // close at once: a reliable pattern resends what it lost
    int sndhwm = 1000;  // libzmq's default; messages, not bytes
    int rcvhwm = 1000;
    std::size_t max_message_bytes =
        0;                          // > 0: peers sending more are disconnected (ZMQ_MAXMSGSIZE); 0: no limit
    bool router_mandatory = false;  // ROUTER: a send to a gone peer fails instead of vanishing (send_routed)
    std::string routing_id;         // non-empty: this socket's identity (before connect/bind)
    int immediate = -1;             // >= 0: ZMQ_IMMEDIATE
    bool ipv6 = false;  // ZMQ_IPV6 to start with; bind_endpoint()/connect_endpoint() set it per endpoint
    Security security;  // CURVE server or client; plaintext when empty (security.hpp)
};

// A socket of `type` with `options` applied. Throws zmq::error_t only for an option libzmq refuses.
zmq::socket_t make_socket(zmq::context_t& context, zmq::socket_type type, const SocketOptions& options = {});

// The options every ROUTER driver wants: ROUTER_MANDATORY (gone peers are values, not silent drops).
SocketOptions router_options(int hwm = 1000, std::size_t max_message_bytes = 0);

// A ROUTER made with router_options(hwm, max_message_bytes): what every queue and broker binds.
zmq::socket_t make_router(zmq::context_t& context, int hwm, std::size_t max_message_bytes,
                          const Security& security = {});

}  // namespace pirates
