#pragma once
// The Majordomo broker as a plain state machine: no sockets, no clock. The driver (broker.hpp) feeds it each
// message a ROUTER received (identity frame first) with `now`, calls tick(now) when next_deadline() has
// passed, and sends what the core appended to the outbox (each message identity frame first, ready for a
// ROUTER).
//
// State, one owner per fact:
//   services_     name -> Service { FIFO of queued requests, LRU list of idle workers, worker count }
//   workers_      identity -> Worker { its service, idle or busy, expiry, next heartbeat, the request it is
//                 working on (a shared copy, so it can be given back), its connection }
//   connections_  connection id (the driver's: the file descriptor of the worker's TCP connection) -> Worker
//   expiry_       idle workers, in expiry order (each message from a worker moves it to the tail)
//   busy_         busy workers, in the order their busy deadline falls due (none when busy_timeout is 0)
//   beats_        idle workers, in the order their heartbeat falls due
//   expiring_     queued requests in the order their request_ttl runs out (a queued request is a heap node
//                 in its service's queue and in expiring_, or in its service's `parked` list)
// (These are the implementation's, in src/: the public header shows the API only.)
// The lists are intrusive (hooks inside Worker and Pending), so joining, leaving and the LRU pick are O(1)
// and allocation free; a worker is unlinked from every list and erased from workers_ by one function,
// forget(), and a queued request by one function, unqueue().
//
// Rules (7/MDP 0.1, 8/MMI, docs/protocols.md):
//   - READY from an unknown worker registers it (idle). READY from a known worker, READY for an mmi.*
//     service, REPLY or HEARTBEAT from an unknown worker: DISCONNECT sent and the worker forgotten.
//   - DISCONNECT from a worker: forgotten, nothing sent. From an unknown one: ignored.
//   - REPLY: "" MDPC01 service body... to the client; the worker becomes idle (never twice in the idle list).
//   - Any message from a known worker refreshes its expiry. Idle workers get a HEARTBEAT when theirs is due;
//     expired idle workers are sent DISCONNECT and forgotten. A busy worker is not expired by liveness: a
//     worker sends nothing while it works (the reference worker does not heartbeat during a request, and the
//     reference broker purges waiting workers only), so a request longer than heartbeat x liveness is still
//     answered. With busy_timeout > 0, a busy worker silent that long is taken for dead and forgotten the
//     same way.
//   - Vanished workers (our addition): a send to a worker that the outbox reports gone (peer_gone) or full
//     (would_block), or the close of the worker's connection (on_connection_closed(), fed by the driver's
//     socket monitor), forgets the worker at once, busy or not.
//   - Whenever a busy worker is forgotten, for any reason, the request it was working on goes back to the
//     FRONT of its service's queue and the next idle worker takes it: the client need not resend. (It may
//     run twice if the worker had done it; MDP never promised at-most-once.)
//   - Client request: mmi.* is answered here, never creating a service (8/MMI and our additions,
//     docs/protocols.md): mmi.service: 200 if the service has a worker, 404 otherwise; mmi.services: 200
//     and the known service names, sorted; mmi.workers: 200 and the service's worker count, or 404;
//     mmi.stats: 200 and a JSON object (stats_json()); other mmi.*: 501. The argument is the body's last
//     frame (unless that is an async client's correlation frame); it is replaced by the reply frames, and
//     the frames before it travel back untouched. Otherwise the least recently used idle worker of the service
//     takes it, or it waits in the service's queue. MDP 0.1 has no error reply, so a request refused by a
//     bound is dropped (counted, logged) and its client's timeout/retry takes over: the newest request when
//     its service queue holds max_queue requests, or when all queued requests hold max_queue_bytes; a
//     request for a new service when max_services exist.
//   - A queued request expires (dropped, counted) once it has waited request_ttl while its service had no
//     worker: one that falls due while its service has workers (all busy) keeps its place, and gets a fresh
//     request_ttl if the service later loses every worker.
//   - 18/MDP 0.2 and the majortomo dialect (docs/protocols.md) on the same socket: each message says its
//     version by its header; a worker keeps the version of its READY (a message in another one is a
//     protocol error), a request the version of its client, and every message goes out in its receiver's
//     framing. A 0.1 worker's REPLY is a 0.2 client's FINAL; a 0.2 worker's FINAL a 0.1 client's REPLY;
//     PARTIALs for a 0.1 client are dropped and counted.
//   - Busy workers that heartbeat (our addition, RFC 18 asks every worker to): a worker seen to send two
//     HEARTBEATs while it held one request (one may have left before it read the request) is, from then on, expired when busy and silent heartbeat x liveness
//     (sent DISCONNECT, forgotten); others are never expired busy (the Guide's workers are silent while they
//     work). A request given back by expired workers is requeued at most max_redeliveries times, then
//     dropped and counted: at-least-once delivery.
//   - One of a Binary Star pair (set_admission()): a client request for a service is first judged by the
//     pair's gate; refused (this broker is not the active one), it is dropped unanswered and counted. mmi.*
//     requests and workers' messages never pass the gate: both brokers register the workers connected to
//     them and answer MMI, so the passive one is ready to serve the moment it takes over.
//   - Anything malformed (short, wrong delimiter, unknown protocol or command, extra frames): counted and
//     dropped, logged at debug.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/histogram.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/outbox.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pirates::majordomo {

struct BrokerCoreOptions {
    Duration heartbeat{2500};
    int liveness = 3;
    std::size_t max_queue = 10000;     // queued requests per service
    std::size_t max_services = 10000;  // services known at once
    Duration busy_timeout{0};          // a busy worker silent this long is dropped; 0: never (the reference)
    // Bytes all queued requests may hold, across services (each counts its frames plus
    // queued_request_overhead); past it the newest request is dropped.
    std::size_t max_queue_bytes = kDefaultMaxQueueBytes;
    Duration request_ttl{60000};  // a request queued this long for a service with no worker expires; 0: never
    // How many times a request is given back to its queue by busy workers expired (hung: busy_timeout, or
    // silent after heartbeating while busy); past it the request is dropped and counted (redelivery_drops).
    // 0: never given back after an expiry. (Workers whose connection closes give their request back always.)
    int max_redeliveries = 1;
};

// What a queued request counts against max_queue_bytes beyond its frames: its bookkeeping (node, frame
// objects, the frame list), so a flood of tiny requests is bounded too.
inline constexpr std::size_t queued_request_overhead = 1024;

using BrokerConfig = BrokerCoreOptions;  // the former name

// What mmi.stats says about high availability (set_ha()): "single" for a broker on its own; for one of a
// Binary Star pair, "active" while it dispatches client requests and "passive" otherwise, with its role
// ("primary"/"backup"), its state machine's state ("PRIMARY", "BACKUP", "ACTIVE", "PASSIVE") and how many
// times it took over from its peer.
struct HaView {
    std::string ha = "single";
    std::string role;   // empty for a single broker
    std::string state;  // empty for a single broker
    std::uint64_t failovers = 0;
};

// Every counter of the core, in one place (the driver's own are in broker.hpp's BrokerStats).
struct BrokerCoreStats {
    std::uint64_t requests = 0;    // well-formed requests from clients (mmi included)
    std::uint64_t dispatched = 0;  // requests sent to workers
    std::uint64_t replies = 0;     // replies forwarded to clients
    std::uint64_t mmi_requests = 0;
    std::uint64_t workers_registered = 0;
    std::uint64_t heartbeats_received = 0;
    std::uint64_t heartbeats_sent = 0;
    std::uint64_t worker_disconnects = 0;   // DISCONNECT from a known worker
    std::uint64_t unknown_disconnects = 0;  // DISCONNECT from a worker we did not know (ignored)
    std::uint64_t disconnects_sent = 0;
    std::uint64_t expired = 0;  // workers dropped by liveness (or busy_timeout)
    std::uint64_t protocol_errors =
        0;                        // second READY, READY for mmi.*, REPLY/HEARTBEAT from an unknown worker
    std::uint64_t malformed = 0;  // dropped as invalid
    std::uint64_t queue_full_drops = 0;     // requests refused by a full service queue
    std::uint64_t service_limit_drops = 0;  // requests or READYs refused because max_services exist
    std::uint64_t services_evicted = 0;     // services without workers evicted to make room (max_services)
    std::uint64_t evicted_requests = 0;     // requests dropped with them
    std::uint64_t unroutable = 0;           // messages to clients that were gone (EHOSTUNREACH), dropped
    std::uint64_t hwm_drops = 0;            // messages to clients whose pipe was full (--hwm), dropped
    std::uint64_t workers_vanished = 0;     // workers forgotten because they were gone (send or connection)
    std::uint64_t requests_requeued = 0;    // requests given back to their queue by a worker forgotten busy
    std::uint64_t queue_bytes_drops = 0;    // requests refused because queued requests held max_queue_bytes
    std::uint64_t requests_expired = 0;     // queued requests dropped after request_ttl without a worker
    std::uint64_t partials = 0;             // 0.2 PARTIAL replies forwarded to clients
    std::uint64_t partials_dropped = 0;     // PARTIALs for a 0.1 client (it cannot take them), dropped
    std::uint64_t redelivery_drops = 0;     // requests dropped: given back max_redeliveries times already
    std::uint64_t busy_expired =
        0;  // busy workers expired: they had heartbeated while busy, then fell silent
    std::uint64_t refused_draining = 0;  // client requests dropped because the broker was stopping
    // One of a Binary Star pair (set_admission): client requests for a service the pair's state machine
    // refused (this broker is not the active one), dropped unanswered; not counted in `requests`.
    std::uint64_t requests_refused_passive = 0;
    // Queued requests dropped when this broker stopped being the active one (drop_queued()).
    std::uint64_t requests_dropped_passive = 0;
    // From a request's arrival at the core to its (final) reply leaving for the client, over every request
    // a worker answered (MMI requests, answered by the core at once, are not observed).
    Histogram request_duration;
};

// The core writes to common's Outbox (outbox.hpp), channel 0 (its one ROUTER): each message identity frame
// first. The receiver sends it at once (a driver: send_routed(), no copy) and says what happened: a sent
// message is consumed; on peer_gone or would_block the message is left as it was, so the core can take a
// request back.

class BrokerCore {
  public:
    using Messages = std::vector<Frames>;

    // A connection id the driver could not tell (inproc): such workers are found gone by sends and expiry.
    static constexpr int no_connection = -1;

    explicit BrokerCore(BrokerCoreOptions options = {});
    ~BrokerCore();
    BrokerCore(const BrokerCore&) = delete;
    BrokerCore& operator=(const BrokerCore&) = delete;

    // One message as a ROUTER received it: [identity] frames... Sends what it must through `out`.
    // `connection` identifies the connection it came on (the driver passes the file descriptor, ZMQ_SRCFD);
    // a READY binds it to the worker, so that on_connection_closed() finds the worker. The driver must have
    // reported every closed connection it knows of before it passes a READY (file descriptors are reused).
    void on_message(Frames&& message, TimePoint now, Outbox& out, int connection = no_connection);
    // The connection `connection` closed: a worker bound to it is forgotten at once (busy: its request goes
    // back to the front of its queue). Connections of clients, or unknown ones, are ignored.
    void on_connection_closed(int connection, TimePoint now, Outbox& out);
    // Heartbeats due and expired workers. Sends what it must through `out`.
    void tick(TimePoint now, Outbox& out);
    // When tick() next has something to do (TimePoint::max() when nothing is scheduled).
    TimePoint next_deadline() const;
    // DISCONNECT to every worker (a broker shutting down cleanly), forgetting them all.
    void disconnect_all(Outbox& out);
    // A broker stopping gracefully: from now on every client request (mmi.* too) is dropped unanswered
    // (counted in refused_draining; the client's retry goes to another broker), while workers' messages are
    // handled as ever, so replies to requests already taken are still forwarded (and requests already queued
    // still go to workers as they become idle). The driver stops once busy_count() is 0 or its drain time is up.
    void begin_drain();
    bool draining() const;

    // ---- One of a Binary Star pair (driven by the Broker's Pairing; a single broker never calls these) ----
    // The gate for client requests for a service: called once for each (after the drain check, before the
    // request touches any service), never for mmi.* requests (answered by every broker, active or not) nor
    // for workers' messages. False: the request is dropped unanswered and counted in
    // requests_refused_passive (the client's timeout moves it to the other broker). The gate may call back
    // into set_ha() or drop_queued(). Empty (the default): every request is admitted.
    void set_admission(std::function<bool()> admit);
    // What mmi.stats reports as "ha", "ha_role", "ha_state", "ha_failovers".
    void set_ha(HaView view);
    const HaView& ha() const;
    // Drops every queued request (counted in requests_dropped_passive) and returns how many: a broker that
    // stops being the active one leaves its clients' requests to the other broker. Requests in workers'
    // hands are kept: their replies are still forwarded.
    std::size_t drop_queued();

    // ---- Introspection ----
    const BrokerCoreStats& stats() const;
    const BrokerCoreOptions& options() const;
    const BrokerCoreOptions& config() const { return options(); }  // the former name
    std::size_t worker_count() const;
    std::size_t service_count() const;
    std::size_t idle_count() const;
    // Workers holding a request (worker_count() - idle_count()).
    std::size_t busy_count() const { return worker_count() - idle_count(); }
    std::size_t queued_count() const;
    // What the queued requests count against max_queue_bytes.
    std::size_t queued_bytes() const;
    struct WorkerView {
        std::string service;
        bool idle;
        TimePoint expiry;
        bool beats_while_busy = false;  // seen to HEARTBEAT (twice) while holding a request
    };
    std::optional<WorkerView> worker(std::string_view identity) const;
    // A known service (one with a worker or a queued request). `requests` and `replies` count since the
    // service became known: a service is forgotten when it has neither worker nor queued request, and its
    // counters start again from 0 if it comes back.
    struct ServiceView {
        std::size_t workers = 0;
        std::size_t idle = 0;
        std::size_t queued = 0;
        std::uint64_t requests = 0;  // client requests for it (those refused by a bound included)
        std::uint64_t replies = 0;   // final replies forwarded to its clients
        std::string name;
    };
    std::optional<ServiceView> service(std::string_view name) const;
    // Every known service, sorted by name.
    std::vector<ServiceView> services() const;
    // The `mmi.stats` reply: one JSON object (docs/protocols.md) of the counters above and services().
    // `uptime_s` counts from the first message or tick the core was given.
    std::string stats_json(TimePoint now) const;
    // Identities of the idle workers in expiry order (tests check the order).
    std::vector<std::string> expiry_order() const;
    // Cross-checks every structure against the others; empty when consistent, else what is wrong.
    std::string check_invariants() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pirates::majordomo
