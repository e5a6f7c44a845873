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

// An IPv4 address literal ("127.0.0.1"): only digits and dots.
bool ipv4_literal(std::string_view host) {
    return !host.empty() && host.find_first_not_of("0123456789.") == std::string_view::npos;
}

}  // namespace

void bind_endpoint(zmq::socket_t& socket, const std::string& endpoint) {
    // Sockets from make_socket() have ZMQ_IPV6 on, so that [::1] and names with IPv6 addresses work. An IPv4
    // literal is bound as IPv4 (with IPv6 on, libzmq would bind the mapped address and report
    // tcp://[::ffff:127.0.0.1]:P, which an IPv4-only peer cannot connect to); * binds both (dual stack).
    if (endpoint.starts_with("tcp://")) {
        std::string_view rest = std::string_view(endpoint).substr(6);
        if (ipv4_literal(rest.substr(0, rest.rfind(':')))) socket.set(zmq::sockopt::ipv6, 0);
    }
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
    log::info("bound {} {}", role, bound);
    return bound;
}

}  // namespace pirates
