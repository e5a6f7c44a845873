#pragma once
// A Binary Star server on the common Reactor: a frontend for clients beside a Pairing (pairing.hpp: the
// fail-over state machine, the state channel to the peer, the heartbeat and the stall watch).
//
//   frontend   ROUTER, binds: client requests (at most max_message_bytes each; a client sending more is
//              disconnected by libzmq). Each is judged by Pairing::admit_client_request() first; a refused one
//              is dropped unanswered (the client's timeout moves it to the other server). A served one goes to
//              the user's request handler, and its reply goes back with the client's envelope.
//
// The loop: per turn the state subscriber is read first, then the publisher's socket (both the Pairing's),
// then the frontend, each at most Reactor::max_burst messages, then the timers.
//
// A fatal combination (two primaries, two backups, two actives, two passives) stops the server: run() returns
// the Error.
#include <pirates/binary_star/pairing.hpp>
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

struct ServerOptions {
    State role = State::primary;  // PRIMARY or BACKUP
    std::string frontend;         // endpoint to bind for clients
    std::string state_pub;        // endpoint to bind our state publisher on
    std::string state_sub;        // the peer's publisher, to connect to
    Duration heartbeat{1000};
    std::string witness;    // the pair's witness (PairingOptions::witness); empty: none
    Duration lease_ttl{0};  // the lease asked of it; 0 = 3 x heartbeat
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

// The Pairing's part of a pair's options.
PairingOptions pairing_options(const ServerOptions& options);

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
    void on_state_change(StateHandler handler) { pairing_.on_state_change(std::move(handler)); }

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

    State state() const { return pairing_.state(); }
    ServerStats stats() const;
    const StatePublisher& state_publisher() const { return pairing_.state_publisher(); }
    const std::string& frontend_endpoint() const { return frontend_ep_; }
    const std::string& state_pub_endpoint() const { return pairing_.state_pub_endpoint(); }
    const Pairing& pairing() const { return pairing_; }
    // The reactor, to add the user's own sockets and timers.
    Reactor& reactor() { return reactor_; }
    // Calls fn every `interval` on the loop's thread (a metrics exporter's snapshots, as every driver).
    void every(Duration interval, std::function<void()> fn) {
        reactor_.add_repeating(interval, std::move(fn));
    }

  private:
    bool on_frontend();

    ServerOptions config_;
    Reactor reactor_;
    Pairing pairing_;  // after reactor_: it adds its sockets and timers to it
    zmq::socket_t frontend_;
    std::string frontend_ep_;
    RequestHandler on_request_;
    ServerStats stats_;  // the frontend's counters; the rest come from pairing_
    bool started_ = false;
};

}  // namespace pirates::binary_star
