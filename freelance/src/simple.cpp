#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/freelance/simple.hpp>

namespace pirates::freelance {

TryOrder::TryOrder(std::size_t servers, int attempts_per_server)
    : servers_(servers), attempts_(attempts_per_server > 0 ? attempts_per_server : (servers == 1 ? 3 : 1)) {}

std::optional<std::size_t> TryOrder::next() {
    if (server_ >= servers_) return std::nullopt;
    if (used_on_server_ == attempts_) {
        ++server_;
        used_on_server_ = 0;
        if (server_ >= servers_) return std::nullopt;
    }
    ++used_on_server_;
    return server_;
}

SimpleClient::SimpleClient(zmq::context_t& context, std::vector<std::string> endpoints, SimpleOptions options,
                           const ClockSource& clock)
    : clock_(clock), context_(context), endpoints_(std::move(endpoints)), options_(options) {}

namespace {

// One attempt on a fresh REQ socket: the reply, or nullopt on silence or a stop request.
std::optional<Frames> attempt(zmq::context_t& context, const std::string& endpoint, const Frames& body,
                              Duration timeout, const ClockSource& clock, const StopSource& stop,
                              const Security& security) {
    SocketOptions socket_options;
    socket_options.security = security;
    zmq::socket_t socket = make_socket(context, zmq::socket_type::req, socket_options);
    connect_endpoint(socket, endpoint);
    Frames request = body.clone();
    request.send(socket);
    const TimePoint deadline = clock.now() + timeout;
    // A stop request is seen within 10 ms.
    if (wait_readable(socket, deadline, clock, stop, Duration{10}) != WaitResult::ready) return std::nullopt;
    Frames reply;
    if (recv_nowait(socket, reply)) return reply;
    return std::nullopt;
}

}  // namespace

Reply SimpleClient::request(const Frames& body) {
    if (endpoints_.empty()) return Reply::failed(Status::gave_up, 0, "no server endpoints");
    if (body.empty()) return Reply::failed(Status::gave_up, 0, "empty request");
    TryOrder order(endpoints_.size(), options_.attempts_per_server);
    int attempts = 0;
    while (auto index = order.next()) {
        if (stop_.stop_requested()) return Reply::failed(Status::interrupted, attempts, "interrupted");
        const std::string& endpoint = endpoints_[*index];
        ++attempts;
        if (auto reply =
                attempt(context_, endpoint, body, options_.timeout, clock_, stop_, options_.security))
            return Reply::answered(Answer{std::move(*reply), endpoint}, attempts);
        if (stop_.stop_requested()) return Reply::failed(Status::interrupted, attempts, "interrupted");
        log::debug("no reply from {} within {} ms", endpoint, options_.timeout.count());
    }
    return Reply::failed(Status::gave_up, attempts,
                         fmt::format("no reply from {} server(s) after {} attempt(s) of {} ms",
                                     endpoints_.size(), attempts, options_.timeout.count()));
}

}  // namespace pirates::freelance
