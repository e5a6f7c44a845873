#include <pirates/binary_star/server.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/common/socket.hpp>

namespace pirates::binary_star {

PairingOptions pairing_options(const ServerOptions& options) {
    return PairingOptions{options.role,      options.state_pub, options.state_sub,
                          options.heartbeat, options.witness,   options.lease_ttl};
}

Server::Server(zmq::context_t& context, ServerOptions options, const ClockSource& clock)
    : config_(std::move(options)),
      reactor_(clock),
      pairing_(context, pairing_options(config_), reactor_, clock),
      frontend_(make_router(context, 1000, config_.max_message_bytes, config_.security)) {}

void Server::start() {
    if (started_) return;
    started_ = true;
    frontend_ep_ = bind_and_announce(frontend_, config_.frontend, "frontend");
    pairing_.start();  // its sockets first: the peer's states are read before client requests
    reactor_.add(frontend_, [this] {
        pairing_.awake();
        return on_frontend();
    });
}

std::optional<Error> Server::run() {
    start();
    reactor_.run();
    return pairing_.fatal();
}

ServerStats Server::stats() const {
    ServerStats s = stats_;
    const PairingStats p = pairing_.stats();
    s.requests_refused = p.requests_refused;
    s.peer_states = p.peer_states;
    s.peer_invalid = p.peer_invalid;
    s.heartbeats_sent = p.heartbeats_sent;
    s.stalls = p.stalls;
    s.subscriber_reopened = p.subscriber_reopened;
    s.failovers = p.failovers;
    s.state_pub = p.state_pub;
    return s;
}

bool Server::on_frontend() {
    Frames m;
    if (!recv_nowait(frontend_, m)) return false;
    // Envelope: the client's identity, then the empty delimiter if the client is a REQ (or a DEALER that
    // sends it).
    auto identity = pop_identity(m);
    bool delimited = !m.empty() && m.front().size() == 0;
    if (delimited) m.pop();
    if (!identity || m.empty()) {
        ++stats_.requests_malformed;
        log::debug("dropped a request with no body");
        return true;
    }
    if (!pairing_.admit_client_request()) return true;  // refused (counted by the Pairing), or stopping
    ++stats_.requests_served;
    std::optional<Frames> reply =
        on_request_ ? on_request_(std::move(m)) : std::optional<Frames>{std::move(m)};
    if (!reply) {
        ++stats_.requests_unanswered;
        return true;
    }
    if (delimited) reply->push(Frame());
    reply->push(std::move(*identity));
    if (send_routed(frontend_, *reply) != SendResult::sent) {
        ++stats_.unroutable;  // the client has gone, or does not read its replies: dropped
        log::debug("reply dropped: the client has gone or is not reading");
    }
    return true;
}

}  // namespace pirates::binary_star
