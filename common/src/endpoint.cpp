#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>

namespace pirates {

bool valid_endpoint(std::string_view ep) {
    auto rest_after = [&](std::string_view scheme) -> std::string_view {
        return ep.substr(0, scheme.size()) == scheme ? ep.substr(scheme.size()) : std::string_view{};
    };
    if (auto rest = rest_after("tcp://"); !rest.empty()) {
        auto colon = rest.rfind(':');
        if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) return false;
        auto host = rest.substr(0, colon);
        if (host.front() == '[') {  // an IPv6 address: [::1], [fe80::1%eth0]
            if (host.size() < 3 || host.back() != ']') return false;
        } else if (host.find_first_of("[]") != std::string_view::npos) {
            return false;
        }
        auto port = rest.substr(colon + 1);
        if (port == "*") return true;
        if (port.size() > 5) return false;
        unsigned value = 0;
        for (char c : port) {
            if (c < '0' || c > '9') return false;
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        return value >= 1 && value <= 65535;
    }
    if (!rest_after("ipc://").empty()) return true;
    if (!rest_after("inproc://").empty()) return true;
    return false;
}

std::vector<std::string> split_list(std::string_view list) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        auto comma = list.find(',', start);
        out.emplace_back(list.substr(start, comma == std::string_view::npos ? list.npos : comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

BindError::BindError(std::string endpoint, std::string reason, int error_number)
    : std::runtime_error(fmt::format("cannot bind {}: {}", endpoint, reason)),
      endpoint_(std::move(endpoint)),
      reason_(std::move(reason)),
      errno_(error_number) {}

namespace {
// ZMQ_IPV6 for one bind or connect (libzmq reads it at that call). On only where the endpoint asks for IPv6:
// a bracketed address ([::1]) and, to bind, * (one dual-stack listener for IPv4 and IPv6 peers). Host names,
// interfaces and IPv4 addresses stay IPv4, as libzmq's default and the Guide's programs have them: with IPv6
// on, "localhost" may resolve to ::1 and miss a peer bound to 127.0.0.1, and an IPv4 address would be bound
// as the mapped ::ffff:a.b.c.d, which an IPv4-only peer cannot connect to.
void set_ipv6_for(zmq::socket_t& socket, const std::string& endpoint, bool binding) {
    if (!endpoint.starts_with("tcp://")) return;
    const std::string_view rest = std::string_view(endpoint).substr(6);
    const std::string_view host = rest.substr(0, rest.rfind(':'));
    const bool ipv6 = host.starts_with('[') || (binding && host == "*");
    socket.set(zmq::sockopt::ipv6, ipv6 ? 1 : 0);
}
}  // namespace

void connect_endpoint(zmq::socket_t& socket, const std::string& endpoint) {
    set_ipv6_for(socket, endpoint, false);
    socket.connect(endpoint);
}

void bind_endpoint(zmq::socket_t& socket, const std::string& endpoint) {
    set_ipv6_for(socket, endpoint, true);
    try {
        socket.bind(endpoint);
    } catch (const zmq::error_t& e) {
        std::string reason = e.what();
        // libzmq says "No such device" for a host name that does not resolve (and an unknown interface).
        if (e.num() == ENODEV && endpoint.starts_with("tcp://"))
            reason = "unknown host or interface (" + reason + ")";
        throw BindError(endpoint, std::move(reason), e.num());
    }
}

std::string bind_and_announce(zmq::socket_t& socket, const std::string& endpoint, std::string_view role) {
    bind_endpoint(socket, endpoint);
    std::string bound = socket.get(zmq::sockopt::last_endpoint);
    log::info(log::Fields{{"role", role}, {"endpoint", bound}}, "bound {} {}", role, bound);
    return bound;
}

}  // namespace pirates
