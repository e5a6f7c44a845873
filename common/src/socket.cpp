#include <pirates/common/limits.hpp>
#include <pirates/common/socket.hpp>

namespace pirates {

zmq::socket_t make_socket(zmq::context_t& context, zmq::socket_type type, const SocketOptions& options) {
    zmq::socket_t socket(context, type);
    socket.set(zmq::sockopt::linger, options.linger_ms);
    socket.set(zmq::sockopt::sndhwm, options.sndhwm);
    socket.set(zmq::sockopt::rcvhwm, options.rcvhwm);
    if (options.max_message_bytes > 0) limit_message_size(socket, options.max_message_bytes);
    if (options.router_mandatory) socket.set(zmq::sockopt::router_mandatory, 1);
    if (!options.routing_id.empty()) socket.set(zmq::sockopt::routing_id, options.routing_id);
    if (options.ipv6) socket.set(zmq::sockopt::ipv6, 1);
    if (options.immediate >= 0) socket.set(zmq::sockopt::immediate, options.immediate);
    apply_security(socket, options.security);
    return socket;
}

SocketOptions router_options(int hwm, std::size_t max_message_bytes) {
    SocketOptions o;
    o.sndhwm = o.rcvhwm = hwm;
    o.max_message_bytes = max_message_bytes;
    o.router_mandatory = true;
    return o;
}

zmq::socket_t make_router(zmq::context_t& context, int hwm, std::size_t max_message_bytes,
                          const Security& security) {
    SocketOptions o = router_options(hwm, max_message_bytes);
    o.security = security;
    return make_socket(context, zmq::socket_type::router, o);
}

}  // namespace pirates
