#pragma once
// A Binary Star server on the common Reactor: the driver around ServerCore (the fail-over FSM).
//
//   frontend   ROUTER, binds: client requests (at most max_message_bytes each; a client sending more is
//              disconnected by libzmq). Each goes through the state machine first; a refused one is dropped
//              unanswered (the client's timeout moves it to the other server). A served one goes to the
//              user's request handler, and its reply goes back with the client's envelope.
//   state-pub  binds: a PUB on the wire, our state as one frame ("1".."4") every heartbeat. Built on
//              StatePublisher (a ZMQ_STREAM socket speaking ZMTP), which applies only subscriptions to
//              everything and keeps nothing else a connection sends: a stranger cannot load it.
//   state-sub  SUB, connects to the peer's publisher, subscribed to everything: each message is a peer event.
//              A message over kMaxStateMessageBytes makes libzmq drop the connection, and, being a protocol
//              error, never reconnect: a socket monitor sees that and opens a new subscriber.
//
// The loop: per turn the state subscriber is read first, then the publisher's socket, then the frontend, each
// at most Reactor::max_burst messages, then the timers (heartbeat, and the stall watch, ServerCore::awake).
// Before a client request may make this server active (the peer looks expired), the state subscriber is
// drained once more, so that a state the peer sent before the request is never judged after it.
//
// A fatal combination (two primaries, two backups, two actives, two passives) stops the server: run() returns
// the Error.
#include <pirates/binary_star/server_core.hpp>
#include <pirates/binary_star/state_publisher.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/security.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace pirates::binary_star {

// Largest message accepted on the state subscriber: a state is one byte.
inline constexpr std::size_t kMaxStateMessageBytes = 256;

struct ServerOptions {
    State role = State::primary;  // PRIMARY or BACKUP
    std::string frontend;         // endpoint to bind for clients
    std::string state_pub;        // endpoint to bind our state publisher on
    std::string state_sub;        // the peer's publisher, to connect to
    Duration heartbeat{1000};
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;  // per client request (0: no limit)
    // CURVE on the frontend (clients). The state channel between the pair stays plaintext (docs/security.md).
    Security security{};
};

struct ServerStats {
    std::uint64_t requests_served = 0;
    std::uint64_t requests_refused = 0;     // arrived while the state machine refused them (not answered)
    std::uint64_t requests_unanswered = 0;  // served, but the handler returned no reply
    std::uint64_t requests_malformed = 0;   // a message with no body after its envelope
    std::uint64_t peer_states = 0;          // valid states received from the peer
    std::uint64_t peer_invalid = 0;         // anything else received on the state subscriber
    std::uint64_t heartbeats_sent = 0;
    std::uint64_t stalls = 0;  // gaps of more than a heartbeat in our own loop (ServerCore::awake)
    std::uint64_t subscriber_reopened =
        0;                          // state subscriber replaced after libzmq gave up on its connection
    std::uint64_t unroutable = 0;   // replies to clients that had gone or were not reading, dropped
    std::uint64_t failovers = 0;    // PASSIVE -> ACTIVE: took over from a peer found gone
    StatePublisherStats state_pub;  // the publisher: connections, subscriptions dropped, ...
};

using ServerConfig = ServerOptions;  // the former name

class Server {
  public:
    // Gets the request body (the envelope is taken off and put back by the server); returns the reply body,
    // or nullopt for "no reply".
    using RequestHandler = std::function<std::optional<Frames>(Frames request)>;
    // Called after every change of state, with the event that caused it.
    using StateHandler = std::function<void(State from, State to, Event cause)>;

    Server(zmq::context_t& context, ServerOptions options, const ClockSource& clock = steady_clock());
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void on_request(RequestHandler handler) { on_request_ = std::move(handler); }
    void on_state_change(StateHandler handler) { on_state_ = std::move(handler); }

    // Bind the frontend and the publisher (logging "bound frontend EP" and "bound state-pub EP"), connect the
    // subscriber, start the heartbeat. Called by run() if not called before.
    void start();
    // Run until request_stop(), or a fatal state combination (returned as the Error).
    std::optional<Error> run();
    // Thread-safe (a StopSignalHook, another thread): run() returns within one poll slice.
    void request_stop() { reactor_.request_stop(); }
    void stop() { request_stop(); }
    // Thread-safe (a SummarySignalHook): the running loop calls the on_summary() function on its own thread
    // within one poll slice.
    void request_summary() { reactor_.request_summary(); }
    void on_summary(std::function<void()> fn) { reactor_.on_summary(std::move(fn)); }

    State state() const { return fsm_.state(); }
    ServerStats stats() const {
        ServerStats s = stats_;
        s.state_pub = statepub_.stats();
        return s;
    }
    const StatePublisher& state_publisher() const { return statepub_; }
    const std::string& frontend_endpoint() const { return frontend_ep_; }
    const std::string& state_pub_endpoint() const { return state_pub_ep_; }
    // The reactor, to add the user's own sockets and timers.
    Reactor& reactor() { return reactor_; }
    // Calls fn every `interval` on the loop's thread (a metrics exporter's snapshots, as every driver).
    void every(Duration interval, std::function<void()> fn) {
        reactor_.add_repeating(interval, std::move(fn));
    }

  private:
    bool on_frontend();
    bool on_peer_state();
    // (Re)create the state subscriber and its monitor, and connect it.
    void open_subscriber();
    bool on_subscriber_event();
    void publish_state();
    // ServerCore::awake(), logging a stall.
    void awake();
    // Run the FSM, log and report a change; on a fatal error record it, stop, and return nullopt.
    std::optional<Step> apply(Event event);
    void fatal(Error e);

    ServerOptions config_;
    zmq::context_t& context_;
    const ClockSource& clock_;
    ServerCore fsm_;
    Reactor reactor_;
    zmq::socket_t frontend_;
    StatePublisher statepub_;
    zmq::socket_t statesub_;
    zmq::socket_t statesub_events_;  // the subscriber's socket monitor (PAIR)
    std::uint64_t subscriber_opened_ = 0;
    std::optional<Reactor::TimerId> reopen_timer_;
    std::string frontend_ep_;
    std::string state_pub_ep_;
    RequestHandler on_request_;
    StateHandler on_state_;
    ServerStats stats_;
    std::optional<Error> fatal_;
    bool started_ = false;
};

}  // namespace pirates::binary_star
