#include <pirates/binary_star/metrics.hpp>

namespace pirates::binary_star {

std::string server_metrics(const Server& server) {
    const ServerStats s = server.stats();
    auto n = [](std::uint64_t v) { return static_cast<double>(v); };
    metrics::MetricsText m;
    for (State st : {State::primary, State::backup, State::active, State::passive})
        m.gauge("bstarsrv_state", "1 for the server's current state, 0 for the others",
                server.state() == st ? 1 : 0, {{"state", std::string(name(st))}});
    m.gauge("bstarsrv_active", "1 while this server answers clients (ACTIVE)",
            server.state() == State::active);
    m.counter("bstarsrv_failovers_total", "PASSIVE -> ACTIVE: took over from a peer found gone",
              n(s.failovers));
    m.counter("bstarsrv_requests_served_total", "client requests served", n(s.requests_served));
    m.counter("bstarsrv_requests_refused_total", "client requests refused by the state machine",
              n(s.requests_refused));
    m.counter("bstarsrv_requests_unanswered_total", "requests the handler gave no reply",
              n(s.requests_unanswered));
    m.counter("bstarsrv_requests_malformed_total", "client messages with no body", n(s.requests_malformed));
    m.counter("bstarsrv_peer_states_total", "valid states received from the peer", n(s.peer_states));
    m.counter("bstarsrv_peer_invalid_total", "anything else received on the state subscriber",
              n(s.peer_invalid));
    m.counter("bstarsrv_heartbeats_sent_total", "states published", n(s.heartbeats_sent));
    m.counter("bstarsrv_stalls_total", "gaps of more than a heartbeat in the server's own loop", n(s.stalls));
    m.counter("bstarsrv_subscriber_reopened_total", "state subscriber replaced", n(s.subscriber_reopened));
    m.counter("bstarsrv_unroutable_total", "replies to clients gone or not reading, dropped",
              n(s.unroutable));
    m.counter("bstarsrv_state_pub_connections_total", "connections to the state publisher",
              n(s.state_pub.connections));
    if (!server.pairing().options().witness.empty()) {
        const PairingStats p = server.pairing().stats();
        m.gauge("bstarsrv_lease_held", "1 while this server holds the witness's lease",
                server.pairing().lease_held());
        m.counter("bstarsrv_lease_requests_total", "lease requests sent to the witness", n(p.lease_requests));
        m.counter("bstarsrv_lease_granted_total", "GRANTED replies from the witness", n(p.lease_granted));
        m.counter("bstarsrv_lease_denied_total", "DENIED replies from the witness", n(p.lease_denied));
    }
    return m.take();
}

std::unique_ptr<metrics::Exporter> serve_metrics(Server& server, const std::string& address,
                                                 Duration interval) {
    return metrics::serve(server, address, interval, server_metrics);
}

std::string witness_metrics(const Witness& witness) {
    const WitnessStats& s = witness.stats();
    auto n = [](std::uint64_t v) { return static_cast<double>(v); };
    metrics::MetricsText m;
    const auto holder = witness.holder();
    for (State role : {State::primary, State::backup})
        m.gauge("bstarwitness_lease_holder", "1 for the server holding the lease now, 0 for the other",
                holder == role, {{"role", std::string(name(role))}});
    m.counter("bstarwitness_granted_total", "lease requests granted (renewals included)", n(s.granted));
    m.counter("bstarwitness_denied_total", "lease requests denied", n(s.denied));
    m.counter("bstarwitness_new_holders_total", "grants that were not renewals", n(s.new_holders));
    m.counter("bstarwitness_malformed_total", "messages that were not lease requests, dropped",
              n(s.malformed));
    m.counter("bstarwitness_refused_total", "requests for a lease over the maximum, dropped", n(s.refused));
    return m.take();
}

std::unique_ptr<metrics::Exporter> serve_metrics(Witness& witness, const std::string& address,
                                                 Duration interval) {
    return metrics::serve(witness, address, interval, witness_metrics);
}

}  // namespace pirates::binary_star
