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
        auto port = rest.substr(colon + 1);
        if (port == "*") return true;
        if (port.size() > 5) return false;
        for (char c : port)
            if (c < '0' || c > '9') return false;
        return true;
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

std::string bind_and_announce(zmq::socket_t& socket, const std::string& endpoint, std::string_view role) {
    socket.bind(endpoint);
    std::string bound = socket.get(zmq::sockopt::last_endpoint);
    log::info("bound {} {}", role, bound);
    return bound;
}

}  // namespace pirates
