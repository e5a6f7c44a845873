#include <pirates/binary_star/server.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>

#include <stdexcept>

namespace pirates::binary_star {

Server::Server(zmq::context_t& context, ServerConfig config, const ClockSource& clock)
    : config_(std::move(config)),
      clock_(clock),
      fsm_(config_.role, config_.heartbeat, clock.now() + 2 * config_.heartbeat),  // set again by start()
      reactor_(clock),
      frontend_(context, zmq::socket_type::router),
      statepub_(context, zmq::socket_type::pub),
      statesub_(context, zmq::socket_type::sub) {
    if (config_.role != State::primary && config_.role != State::backup)
        throw std::invalid_argument("binary_star::Server: the role is PRIMARY or BACKUP");
    for (auto* s : {&frontend_, &statepub_, &statesub_}) s->set(zmq::sockopt::linger, 0);
    statesub_.set(zmq::sockopt::subscribe, "");
}

void Server::start() {
    if (started_) return;
    started_ = true;
    // Until the peer is first heard, it counts as alive for two heartbeats from now: a primary that restarts
    // next to an active backup hears it before it could take a client request and make two actives. (The
    // reference starts with the peer already expired.)
    fsm_ = Fsm(config_.role, config_.heartbeat, clock_.now() + 2 * config_.heartbeat);
    frontend_ep_ = bind_and_announce(frontend_, config_.frontend, "frontend");
    state_pub_ep_ = bind_and_announce(statepub_, config_.state_pub, "state-pub");
    statesub_.connect(config_.state_sub);
    log::info("state {} (heartbeat {} ms, peer publisher {})", name(fsm_.state()), config_.heartbeat.count(),
              config_.state_sub);
    reactor_.add(frontend_, [this] { return on_frontend(); });
    reactor_.add(statesub_, [this] { return on_peer_state(); });
    // The heartbeat runs on its own timer: nothing that arrives moves it.
    reactor_.add_repeating(config_.heartbeat, [this] { publish_state(); });
}

std::optional<Error> Server::run() {
    start();
    reactor_.run();
    return fatal_;
}

void Server::publish_state() {
    Frames m;
    m.add(encode_state(fsm_.state()));
    m.send(statepub_, ZMQ_DONTWAIT);  // PUB never blocks; with no subscriber the state is simply dropped
    ++stats_.heartbeats_sent;
}

void Server::fatal(Error e) {
    log::error("{} in state {}; stopping", e.reason, name(fsm_.state()));
    fatal_ = std::move(e);
    reactor_.stop();
}

std::optional<Step> Server::apply(Event event) {
    const State before = fsm_.state();
    auto step = fsm_.on_event(event, clock_.now());
    if (!step) {
        fatal(step.error());
        return std::nullopt;
    }
    if (step->next != before) {
        log::info("state {} -> {} on {}", name(before), name(step->next), name(event));
        if (on_state_) on_state_(before, step->next, event);
    }
    return *step;
}

bool Server::on_peer_state() {
    Frames m;
    if (!recv_nowait(statesub_, m)) return false;
    auto peer = decode_state(m);
    if (!peer) {
        ++stats_.peer_invalid;
        log::debug("dropped invalid peer state: {} ({})", peer.error().reason, printable(m));
        return true;
    }
    ++stats_.peer_states;
    apply(peer_event(*peer));
    return true;
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
    auto step = apply(Event::client_request);  // never fatal by the table, but the table is the judge
    if (!step) return true;
    if (!step->accepted) {
        ++stats_.requests_refused;
        log::debug("refused a request in state {}", name(fsm_.state()));
        return true;
    }
    ++stats_.requests_served;
    std::optional<Frames> reply =
        on_request_ ? on_request_(std::move(m)) : std::optional<Frames>{std::move(m)};
    if (!reply) {
        ++stats_.requests_unanswered;
        return true;
    }
    if (delimited) reply->push(Frame());
    reply->push(std::move(*identity));
    reply->send(frontend_, ZMQ_DONTWAIT);  // a vanished client: ROUTER drops it
    return true;
}

}  // namespace pirates::binary_star
