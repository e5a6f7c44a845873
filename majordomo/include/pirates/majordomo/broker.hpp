#pragma once
// The Majordomo broker driver: one ROUTER socket for clients and workers, feeding BrokerCore.
//
// The ROUTER is ZMQ_ROUTER_MANDATORY and every send goes through send_routed(): a message for a peer that is
// gone (EHOSTUNREACH) or whose pipe is full (the high-water mark, `hwm` messages) comes back to the core,
// which drops it and counts it (stats().unroutable, hwm_drops) or, for a REQUEST, forgets the worker and
// gives the request to the next one. It never blocks and never dies from what a peer sends.
//
// Memory bounds: ZMQ_MAXMSGSIZE (max_message_bytes) on the ROUTER, so libzmq closes the connection of a peer
// that sends a larger frame; the core bounds what it queues (max_queue per service, max_queue_bytes in all,
// request_ttl); what waits in libzmq's pipe to one peer that does not read is at most `hwm` messages, so at
// most about hwm x max_message_bytes per peer (libzmq counts messages, not bytes).
//
// Vanished workers: a socket monitor (ZMQ_EVENT_ACCEPTED, ZMQ_EVENT_DISCONNECTED) read in the same loop
// tells which TCP/IPC connection closed, by file descriptor; each worker's connection is its messages'
// ZMQ_SRCFD, so the core forgets a worker the moment its connection closes (inproc peers have none: they are
// found gone by the next send, or by heartbeat expiry). libzmq reports DISCONNECTED(fd) before it closes the
// fd, and ACCEPTED(fd) of a new connection before any of its messages, so the driver reads every pending
// event before passing a READY: a new worker is never bound to a stale fd, and a READY whose connection has
// already closed registers no worker that would outlive it. (ACCEPTED before the first message holds when
// the listener and the connection share the context's I/O thread, as with mdbroker's one-thread context; with
// several I/O threads libzmq could, in principle, deliver a READY before its ACCEPTED: that worker would be
// forgotten at once and register again after its liveness, never kept stale.)
//
// The loop is a Reactor (common/reactor.hpp): the ROUTER and the monitor socket are its handlers (the ROUTER
// first, so that a worker that replied and then closed has its reply read before its close), the core's
// next_deadline() a timer re-armed after each turn, the summary a repeating timer.
//
// One of a Binary Star pair (options.pair; mdbroker --primary/--backup): the broker owns a
// binary_star::Pairing on its Reactor (the fail-over state machine, the state publisher and subscriber, the
// heartbeat, the stall watch: the very ones bstarsrv runs), whose sockets come before the ROUTER, so that on
// each turn the peer's states are read before client requests. Each client request for a service is judged by
// Pairing::admit_client_request() (BrokerCore::set_admission): only the active broker dispatches; the passive
// one drops it unanswered (requests_refused_passive), and a request arriving while the peer has expired makes
// the passive one active, by Binary Star's rules. Workers' messages and mmi.* requests are handled by both
// brokers alike, so a worker connected to both is registered on both and the backup takes over with its
// workers in place. On leaving ACTIVE (only a witness could make it) the queued requests are dropped (their
// clients retry on the other broker). A fatal combination (two actives, two passives, ...) stops the loop:
// run() returns and fatal() says why.
#include <pirates/binary_star/pairing.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/security.hpp>
#include <pirates/majordomo/broker_core.hpp>

#include <atomic>
#include <optional>
#include <string>
#include <unordered_set>

namespace pirates::majordomo {

struct BrokerOptions {
    std::string bind = "tcp://*:5555";
    BrokerCoreOptions core;
    int hwm = 10000;  // send and receive high-water marks of the ROUTER (messages per peer)
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;  // ZMQ_MAXMSGSIZE on the ROUTER; 0: no limit
    Duration summary_interval{0};                             // >0: log a one-line summary at this interval
    bool disconnect_on_stop = true;                           // say DISCONNECT to every worker when stopping
    // On request_stop(), the broker first drains for up to this long: it drops new client requests
    // (BrokerCore::begin_drain) and keeps forwarding replies until no worker holds a request; 0: stop at once.
    Duration drain{0};
    // CURVE on the ROUTER (Security::server); the program runs the context's ZapHandler. Plaintext if empty.
    Security security{};
    // One of a Binary Star pair: its role, state channel and state heartbeat. Empty: a single broker.
    std::optional<binary_star::PairingOptions> pair;
};

// The driver's own counters (what its socket monitor saw).
struct BrokerDriverStats {
    std::uint64_t connections_accepted = 0;  // TCP/IPC connections accepted
    std::uint64_t connections_closed = 0;    // TCP/IPC connections closed (by the peer, or by libzmq for an
                                             // oversized frame)
};

// Everything Broker::stats() counts: the core's and the driver's.
struct BrokerStats {
    BrokerCoreStats core;
    BrokerDriverStats driver;
};

class Broker {
  public:
    // Binds at once (bind_and_announce: logs "bound broker <endpoint>"); one of a pair, also binds its state
    // publisher ("bound state-pub <endpoint>"), connects to the peer's and starts the state heartbeat.
    Broker(zmq::context_t& context, BrokerOptions options, const ClockSource& clock = steady_clock());
    ~Broker();
    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;
    // The endpoint actually bound.
    const std::string& endpoint() const { return endpoint_; }
    // Serve until request_stop(), or, one of a pair, a fatal state combination (then fatal() says it).
    void run();
    // Thread-safe: run() returns within one poll slice (100 ms), after its drain (options.drain), its
    // DISCONNECTs and summary. A second request_stop() during the drain ends the drain at once.
    void request_stop() { reactor_.request_stop(); }
    // Thread-safe: the running loop logs summary() within one poll slice (SIGUSR1 in mdbroker).
    void request_summary() { reactor_.request_summary(); }
    void stop() { request_stop(); }
    // Read the core and the stats only from the thread running run(), or after it returned.
    const BrokerCore& core() const { return core_; }
    BrokerStats stats() const { return BrokerStats{core_.stats(), stats_}; }
    std::string summary() const;
    // One of a pair: its Pairing (state(), stats(), state_pub_endpoint()); nullptr for a single broker.
    const binary_star::Pairing* pairing() const { return pairing_ ? &*pairing_ : nullptr; }
    // Why a pair's broker stopped on its own (a fatal state combination); nullopt otherwise.
    std::optional<Error> fatal() const { return pairing_ ? pairing_->fatal() : std::nullopt; }
    // Whether it dispatches client requests now: a single broker always, one of a pair while ACTIVE.
    bool serving() const { return !pairing_ || pairing_->active(); }
    // Calls fn every `interval` on the loop's thread while run() runs (it may read core() and stats()):
    // how a metrics exporter gets its snapshots. Call before run(), from the thread that will run it.
    void every(Duration interval, std::function<void()> fn) {
        reactor_.add_repeating(interval, std::move(fn));
    }
    // Counts published by the running loop after each turn, safe to read from any thread.
    struct Snapshot {
        std::size_t workers, idle, services, queued;
        std::uint64_t requests, replies, malformed, protocol_errors;
    };
    Snapshot snapshot() const;

  private:
    // Sends a message the core produced, at once (no queueing, no copy); the result goes back to the core.
    struct SocketOutbox final : Outbox {
        zmq::socket_t* socket;
        explicit SocketOutbox(zmq::socket_t* s) : socket(s) {}
        SendResult send(Frames& message, Channel) override { return send_routed(*socket, message); }
    };
    // Reads one pending monitor event (false if none), reporting a closed connection to the core.
    bool read_monitor_event();
    // Reads every pending monitor event.
    void drain_monitor();
    // Passes in_ to the core with the connection it came on.
    void on_message();
    void publish();
    // One loop turn's bookkeeping: the core's timer, the published counts.
    void after_turn(Reactor::TimerId tick);
    // Runs the loop (stopped once) again while workers hold requests, up to options_.drain.
    void drain(Reactor::TimerId tick);
    // One of a pair: the Pairing's state changed.
    void on_pair_state(binary_star::State from, binary_star::State to, binary_star::Event cause);
    HaView ha_view() const;

    zmq::socket_t socket_;
    zmq::socket_t monitor_;  // PAIR, the receiving end of the ROUTER's socket monitor
    BrokerOptions options_;
    const ClockSource& clock_;
    BrokerCore core_;
    BrokerDriverStats stats_;
    SocketOutbox out_{&socket_};
    Reactor reactor_;
    std::optional<binary_star::Pairing> pairing_;  // after reactor_: it adds its sockets and timers to it
    Frames event_;
    std::unordered_set<int> open_;  // fds of the connections open, as the monitor said
    Frames in_;
    std::string endpoint_;
    std::atomic<std::size_t> workers_{0}, idle_{0}, services_{0}, queued_{0};
    std::atomic<std::uint64_t> requests_{0}, replies_{0}, malformed_{0}, protocol_errors_{0};
};

}  // namespace pirates::majordomo
