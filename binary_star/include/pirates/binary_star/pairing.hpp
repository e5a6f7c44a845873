#pragma once
// Pairing: one server's half of a Binary Star pair, on the owner's Reactor. It is everything a Binary Star
// server has besides its frontend: the fail-over state machine (ServerCore), the state publisher (our state
// every heartbeat), the state subscriber (the peer's states, each a peer event) with its socket monitor, and
// the stall watch. Any server becomes one of a pair by owning a Pairing and asking it, for each client
// request, whether to serve it (admit_client_request()): bstarsrv (binary_star::Server) and mdbroker
// --primary/--backup are both built this way.
//
//   state-pub  binds: a PUB on the wire, our state as one frame ("1".."4") every heartbeat. Built on
//              StatePublisher (a ZMQ_STREAM socket speaking ZMTP), which applies only subscriptions to
//              everything and keeps nothing else a connection sends: a stranger cannot load it.
//              Under CURVE (PairingOptions::pub_security set) it is a real ZMQ PUB instead, a CURVE server whose
//              handshakes are judged in the ZAP domain zap_peer_domain, where the owner's ZapHandler admits
//              only the peer's key (pair_security()): a stranger cannot complete the handshake.
//   state-sub  SUB, connects to the peer's publisher, subscribed to everything: each message is a peer event.
//              Under CURVE, a CURVE client that expects the peer's key.
//              A message over kMaxStateMessageBytes makes libzmq drop the connection, and, being a protocol
//              error, never reconnect: the socket monitor sees that and a new subscriber is opened.
//
//   witness    (optional) DEALER, connects to the witness (witness.hpp): a lease request every heartbeat while
//              ServerCore::wants_lease(), its replies kept by a LeaseCore; the FSM then follows the table with
//              a witness (server_core.hpp). Empty endpoint: no witness, the Guide's rules.
//
// start() adds its sockets to the reactor in this order: state subscriber, its monitor, [witness,] publisher.
// The owner adds its frontend after them, so that on each turn the peer's states are read before client
// requests. With read_on_timer (mdbroker) they are not polled but drained, in the same order, by a timer every
// quarter heartbeat; admit_client_request() still reads the peer's states first when it matters.
//
// A fatal combination (two primaries, two backups, two actives, two passives) stops the reactor; fatal()
// then says why.
#include <pirates/binary_star/server_core.hpp>
#include <pirates/binary_star/state_publisher.hpp>
#include <pirates/binary_star/witness.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/security.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pirates::binary_star {

// Largest message accepted on the state subscriber: a state is one byte.
inline constexpr std::size_t kMaxStateMessageBytes = 256;
// Under CURVE the limit must let the handshake's commands through (INITIATE carries a vouch and metadata).
inline constexpr std::size_t kMaxCurveCommandBytes = 1024;

struct PairingOptions {
    State role = State::primary;  // PRIMARY or BACKUP
    std::string state_pub;        // endpoint to bind our state publisher on
    std::string state_sub;        // the peer's publisher, to connect to
    Duration heartbeat{1000};
    // The witness to connect to (empty: none). Both servers of a pair use the same witness, or none.
    std::string witness;
    // The lease asked of the witness; 0 = 3 x heartbeat. A take-over waits for the active's lease to run out.
    Duration lease_ttl{0};
    // CURVE on the state channel; both plaintext (the default): our own ZMTP publisher, as the Guide's pair.
    Security pub_security{};  // Security::server, domain zap_peer_domain
    Security sub_security{};  // Security::client with the peer's public key
    // Read the state channel (and the witness) on a timer, every quarter heartbeat, instead of polling its
    // sockets on every turn of the owner's loop. For an owner whose loop turns per message (mdbroker): each
    // socket polled costs every turn (libzmq checks each one's mailbox with system calls), and the pair's
    // three or four would otherwise be most of a broker's poll. A state read up to a quarter heartbeat late
    // only moves the peer's expiry later (a take-over is never earlier), and admit_client_request() still
    // reads the peer's states first whenever a request could make this server active.
    bool read_on_timer = false;
};

// The lease TTL `options` give (3 x heartbeat unless set).
inline Duration lease_ttl(const PairingOptions& options) {
    return options.lease_ttl.count() > 0 ? options.lease_ttl : 3 * options.heartbeat;
}

// The state channel's CURVE settings for a server holding `own` (its secret certificate) whose peer's public
// key is `peer_public_key`. The owner's ZapHandler must admit the peer in zap_peer_domain
// (ZapPolicy::fixed_domains).
struct PairSecurity {
    Security pub;
    Security sub;
};
PairSecurity pair_security(const Certificate& own, const std::string& peer_public_key);

struct PairingStats {
    std::uint64_t requests_refused = 0;  // client requests the state machine refused
    std::uint64_t peer_states = 0;       // valid states received from the peer
    std::uint64_t peer_invalid = 0;      // anything else received on the state subscriber
    std::uint64_t heartbeats_sent = 0;
    std::uint64_t stalls = 0;  // gaps of more than a heartbeat in our own loop (ServerCore::awake)
    std::uint64_t subscriber_reopened =
        0;                          // state subscriber replaced after libzmq gave up on its connection
    std::uint64_t failovers = 0;    // PASSIVE -> ACTIVE: took over from a peer found gone
    StatePublisherStats state_pub;  // the publisher: connections, subscriptions dropped, ...
    // With a witness:
    std::uint64_t lease_requests = 0;   // sent (a request the socket could not take is not counted)
    std::uint64_t lease_granted = 0;    // GRANTED replies applied
    std::uint64_t lease_denied = 0;     // DENIED replies applied
    std::uint64_t witness_invalid = 0;  // malformed or stale replies, dropped
};

class Pairing {
  public:
    // Called after every change of state, with the event that caused it.
    using StateHandler = std::function<void(State from, State to, Event cause)>;

    Pairing(zmq::context_t& context, PairingOptions options, Reactor& reactor,
            const ClockSource& clock = steady_clock());
    Pairing(const Pairing&) = delete;
    Pairing& operator=(const Pairing&) = delete;

    void on_state_change(StateHandler handler) { on_state_ = std::move(handler); }

    // Bind the publisher (logging "bound state-pub EP"), connect the subscriber, add the sockets to the
    // reactor and start the heartbeat and the stall watch.
    void start();
    // The owner calls this on every turn of its loop before it handles anything (ServerCore::awake).
    void awake();
    // Judge one client request by the Binary Star rules: true to serve it, false to drop it unanswered (the
    // client's timeout moves it to the other server). If it may make us active, the peer's queued states are
    // heard first. False too once a fatal combination has stopped the reactor.
    bool admit_client_request();

    State state() const { return fsm_.state(); }
    bool active() const { return fsm_.state() == State::active; }
    // With a witness: whether we hold its lease now.
    bool lease_held() const { return fsm_.lease_held(clock_.now()); }
    const std::optional<Error>& fatal() const { return fatal_; }
    PairingStats stats() const {
        PairingStats s = stats_;
        s.state_pub = statepub_.stats();
        return s;
    }
    const StatePublisher& state_publisher() const { return statepub_; }
    const std::string& state_pub_endpoint() const { return state_pub_ep_; }
    const PairingOptions& options() const { return options_; }

  private:
    bool on_peer_state();
    // Poll `socket` on every turn, or (read_on_timer) drain it from the state timer.
    void watch(zmq::socket_t& socket, std::function<bool()> handler);
    void drain_watched();
    // (Re)create the state subscriber and its monitor, and connect it.
    void open_subscriber();
    bool on_subscriber_event();
    void publish_state();
    // Run the FSM, log and report a change; on a fatal error record it, stop, and return nullopt.
    std::optional<Step> apply(Event event);
    void fail(Error e);
    // The witness link (only with options_.witness).
    void ask_witness();
    bool on_witness_reply();
    void check_lease();

    PairingOptions options_;
    zmq::context_t& context_;
    Reactor& reactor_;
    const ClockSource& clock_;
    ServerCore fsm_;
    StatePublisher statepub_;
    std::optional<zmq::socket_t> curve_pub_;  // the publisher under CURVE (then statepub_ stays unbound)
    zmq::socket_t statesub_;
    zmq::socket_t statesub_events_;  // the subscriber's socket monitor (PAIR)
    std::uint64_t subscriber_opened_ = 0;
    std::optional<Reactor::TimerId> reopen_timer_;
    std::string state_pub_ep_;
    StateHandler on_state_;
    std::vector<std::function<bool()>> watched_;  // read_on_timer: drained in this order by the timer
    PairingStats stats_;
    std::optional<Error> fatal_;
    bool started_ = false;
    // The witness link.
    zmq::socket_t witness_;
    LeaseCore lease_;
    bool lease_logged_ = false;  // the lease state last logged
};

}  // namespace pirates::binary_star
