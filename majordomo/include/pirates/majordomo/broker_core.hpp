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
//   expiring_          queued requests in the order their request_ttl runs out (a queued request is a heap
//   node
//                 in its service's queue and in expiring_, or in its service's `parked` list)
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
//   - Client request: mmi.* is answered here (mmi.service: 200 if the service has a worker, 404 otherwise,
//     never creating it; other mmi.*: 501). Otherwise the least recently used idle worker of the service
//     takes it, or it waits in the service's queue. MDP 0.1 has no error reply, so a request refused by a
//     bound is dropped (counted, logged) and its client's timeout/retry takes over: the newest request when
//     its service queue holds max_queue requests, or when all queued requests hold max_queue_bytes; a
//     request for a new service when max_services exist.
//   - A queued request expires (dropped, counted) once it has waited request_ttl while its service had no
//     worker: one that falls due while its service has workers (all busy) keeps its place, and gets a fresh
//     request_ttl if the service later loses every worker.
//   - Anything malformed (short, wrong delimiter, unknown protocol or command, extra frames): counted and
//     dropped, logged at debug.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/routed_send.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pirates::majordomo {

struct BrokerConfig {
    Duration heartbeat{2500};
    int liveness = 3;
    std::size_t max_queue = 10000;     // queued requests per service
    std::size_t max_services = 10000;  // services known at once
    Duration busy_timeout{0};          // a busy worker silent this long is dropped; 0: never (the reference)
    // Bytes all queued requests may hold, across services (each counts its frames plus
    // queued_request_overhead); past it the newest request is dropped.
    std::size_t max_queue_bytes = kDefaultMaxQueueBytes;
    Duration request_ttl{60000};  // a request queued this long for a service with no worker expires; 0: never
};

// What a queued request counts against max_queue_bytes beyond its frames: its bookkeeping (node, frame
// objects, the frame list), so a flood of tiny requests is bounded too.
inline constexpr std::size_t queued_request_overhead = 1024;

// Every counter of the broker, in one place.
struct BrokerStats {
    std::uint64_t client_requests = 0;  // well-formed requests from clients (mmi included)
    std::uint64_t dispatched = 0;       // requests sent to workers
    std::uint64_t replies = 0;          // replies forwarded to clients
    std::uint64_t mmi_requests = 0;
    std::uint64_t workers_registered = 0;
    std::uint64_t heartbeats_received = 0;
    std::uint64_t heartbeats_sent = 0;
    std::uint64_t worker_disconnects = 0;   // DISCONNECT from a known worker
    std::uint64_t unknown_disconnects = 0;  // DISCONNECT from a worker we did not know (ignored)
    std::uint64_t disconnects_sent = 0;
    std::uint64_t workers_expired = 0;
    std::uint64_t protocol_errors =
        0;                        // second READY, READY for mmi.*, REPLY/HEARTBEAT from an unknown worker
    std::uint64_t malformed = 0;  // dropped as invalid
    std::uint64_t queue_full_drops = 0;      // requests refused by a full service queue
    std::uint64_t service_limit_drops = 0;   // requests or READYs refused because max_services exist
    std::uint64_t services_evicted = 0;      // services without workers evicted to make room (max_services)
    std::uint64_t evicted_requests = 0;      // requests dropped with them
    std::uint64_t unroutable = 0;            // messages to clients that were gone (EHOSTUNREACH), dropped
    std::uint64_t hwm_drops = 0;             // messages to clients whose pipe was full (--hwm), dropped
    std::uint64_t workers_vanished = 0;      // workers forgotten because they were gone (send or connection)
    std::uint64_t requests_requeued = 0;     // requests given back to their queue by a worker forgotten busy
    std::uint64_t queue_bytes_drops = 0;     // requests refused because queued requests held max_queue_bytes
    std::uint64_t requests_expired = 0;      // queued requests dropped after request_ttl without a worker
    std::uint64_t connections_accepted = 0;  // (driver) TCP/IPC connections accepted
    std::uint64_t connections_closed = 0;    // (driver) TCP/IPC connections closed (by the peer, or by
                                             // libzmq for an oversized frame)
};

namespace detail {
template <typename T>
struct Hook {
    Hook* prev = nullptr;
    Hook* next = nullptr;
    T* owner = nullptr;
    bool linked() const { return prev != nullptr; }
};

// Intrusive doubly linked list through a Hook member of T: O(1) push_back, erase, front; no allocation.
template <typename T, Hook<T> T::*H>
class List {
  public:
    List() { head_.prev = head_.next = &head_; }
    List(const List&) = delete;
    List& operator=(const List&) = delete;
    bool empty() const { return head_.next == &head_; }
    std::size_t size() const { return size_; }
    T* front() const { return empty() ? nullptr : head_.next->owner; }
    T* back() const { return empty() ? nullptr : head_.prev->owner; }
    void push_front(T& t) {
        Hook<T>& h = t.*H;
        h.owner = &t;
        h.prev = &head_;
        h.next = head_.next;
        head_.next->prev = &h;
        head_.next = &h;
        ++size_;
    }
    void push_back(T& t) {
        Hook<T>& h = t.*H;
        h.owner = &t;
        h.prev = head_.prev;
        h.next = &head_;
        head_.prev->next = &h;
        head_.prev = &h;
        ++size_;
    }
    void erase(T& t) {
        Hook<T>& h = t.*H;
        if (!h.linked()) return;
        h.prev->next = h.next;
        h.next->prev = h.prev;
        h.prev = h.next = nullptr;
        --size_;
    }
    bool contains(const T& t) const { return (t.*H).linked(); }
    template <typename F>
    void for_each(F&& f) const {
        for (Hook<T>* h = head_.next; h != &head_; h = h->next) f(*h->owner);
    }

  private:
    Hook<T> head_;
    std::size_t size_ = 0;
};

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
}  // namespace detail

// Where the core puts what it sends: each message identity frame first. The receiver sends it at once (a
// driver: send_routed(), with no copy and no move of the message object) and says what happened: a sent
// message is consumed; on peer_gone or would_block the message is left as it was, so the core can take a
// request back.
class Outbox {
  public:
    virtual ~Outbox() = default;
    [[nodiscard]] virtual SendResult send(Frames& message) = 0;
};

// An Outbox that keeps the messages (tests, simple drivers). Messages to an identity in `gone` (or `full`)
// are refused with peer_gone (would_block) and left untouched, as a ROUTER_MANDATORY socket does.
class OutboxVector final : public Outbox {
  public:
    std::vector<Frames> messages;
    std::vector<std::string> gone, full;
    SendResult send(Frames& message) override {
        std::string_view to = message.empty() ? std::string_view{} : message[0].to_string_view();
        for (const auto& g : gone)
            if (g == to) return SendResult::peer_gone;
        for (const auto& f : full)
            if (f == to) return SendResult::would_block;
        messages.push_back(std::move(message));
        return SendResult::sent;
    }
};

class BrokerCore {
  public:
    using Messages = std::vector<Frames>;

    // A connection id the driver could not tell (inproc): such workers are found gone by sends and expiry.
    static constexpr int no_connection = -1;

    explicit BrokerCore(BrokerConfig config = {});
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
    // Heartbeats due and expired workers. Appends what to send to `out`.
    void tick(TimePoint now, Outbox& out);
    // When tick() next has something to do (TimePoint::max() when nothing is scheduled).
    TimePoint next_deadline() const;
    // DISCONNECT to every worker (a broker shutting down cleanly), forgetting them all.
    void disconnect_all(Outbox& out);

    // Conveniences for tests.
    Messages on_message(Frames&& message, TimePoint now, int connection = no_connection) {
        OutboxVector out;
        on_message(std::move(message), now, out, connection);
        return std::move(out.messages);
    }
    Messages on_connection_closed(int connection, TimePoint now) {
        OutboxVector out;
        on_connection_closed(connection, now, out);
        return std::move(out.messages);
    }
    Messages tick(TimePoint now) {
        OutboxVector out;
        tick(now, out);
        return std::move(out.messages);
    }

    // ---- Introspection ----
    const BrokerStats& stats() const { return stats_; }
    BrokerStats& stats() { return stats_; }
    const BrokerConfig& config() const { return config_; }
    std::size_t worker_count() const { return workers_.size(); }
    std::size_t service_count() const { return services_.size(); }
    std::size_t idle_count() const { return beats_.size(); }
    std::size_t queued_count() const { return queued_; }
    // What the queued requests count against max_queue_bytes.
    std::size_t queued_bytes() const { return queued_bytes_; }
    struct WorkerView {
        std::string service;
        bool idle;
        TimePoint expiry;
    };
    std::optional<WorkerView> worker(std::string_view identity) const;
    struct ServiceView {
        std::size_t workers;
        std::size_t idle;
        std::size_t queued;
    };
    std::optional<ServiceView> service(std::string_view name) const;
    // Identities of the idle workers in expiry order (tests check the order).
    std::vector<std::string> expiry_order() const;
    // Cross-checks every structure against the others; empty when consistent, else what is wrong.
    std::string check_invariants() const;

  private:
    struct Service;
    struct Worker {
        std::string identity;
        Service* service = nullptr;
        bool idle = false;
        int connection = no_connection;
        TimePoint expiry{};
        TimePoint heartbeat_at{};
        // While busy: the request it works on, a second handle on the frames sent (share(): no payload
        // copy), given back to the queue if the worker is forgotten before it replies.
        Frame request_client;
        Frames request_body;
        detail::Hook<Worker> idle_hook;    // in service->idle while idle
        detail::Hook<Worker> beat_hook;    // in beats_ while idle
        detail::Hook<Worker> expiry_hook;  // in expiry_ while idle
        detail::Hook<Worker> busy_hook;    // in busy_ while busy
    };
    // A queued request: a heap node, so it can leave its queue or expiring_ from anywhere in O(1).
    struct Pending {
        Frame client;
        Frames body;
        Service* service = nullptr;
        std::size_t bytes = 0;             // what it counts against max_queue_bytes
        TimePoint expires{};               // when request_ttl runs out (if linked in expiring_)
        bool parked = false;               // its ttl_hook is in service->parked, not in expiring_
        detail::Hook<Pending> queue_hook;  // in service->queue
        detail::Hook<Pending> ttl_hook;    // in expiring_ or service->parked (neither when request_ttl is 0)
    };
    struct Service {
        std::string name;
        detail::List<Pending, &Pending::queue_hook> queue;
        // Requests whose request_ttl ran out while the service had workers: they wait their turn, and go
        // back to expiring_ (with a fresh request_ttl) if the service loses its last worker.
        detail::List<Pending, &Pending::ttl_hook> parked;
        detail::List<Worker, &Worker::idle_hook> idle;
        std::size_t workers = 0;
        bool full_warned = false;
        detail::Hook<Service> orphan_hook;  // in orphans_ while it has no worker (only queued requests)
    };

    // `body` is the received message with its header frames taken off: it is re-headed and sent in place.
    void on_client(Frame&& identity, Frame&& service, Frames& body, TimePoint now, Outbox& out);
    void on_mmi(Frame&& identity, Frame&& service, Frames& body, Outbox& out);
    void on_ready(Frame&& identity, Frame&& service, int connection, TimePoint now, Outbox& out);
    void on_reply(Worker& w, Frame&& client, Frames& body, TimePoint now, Outbox& out);
    void protocol_error(Frame&& identity, Worker* known, std::string_view what, TimePoint now, Outbox& out);

    Worker* find_worker(std::string_view identity);
    Service* find_service(std::string_view name);
    void refresh(Worker& w, TimePoint now);
    void make_idle(Worker& w, TimePoint now, Outbox& out);
    // Sends the request to `w` and makes it busy. False if the worker was gone (or its pipe full): then
    // `client` and `body` are as they were and the caller forgets the worker.
    bool send_request(Worker& w, Frame& client, Frames& body, TimePoint now, Outbox& out);
    // Hands queued requests to idle workers, oldest first, forgetting workers found gone on the way.
    void dispatch(Service& s, TimePoint now, Outbox& out);
    void expire(Worker& w, std::string_view why, TimePoint now, Outbox& out);
    // A worker found gone (send refused, connection closed): forgotten without a word.
    void vanished(Worker& w, std::string_view why, TimePoint now, Outbox& out);
    // Unlinks the worker from everything and erases it; a busy worker's request goes back to the front of
    // its service's queue. Never removes the service (the caller may still use it): see drop_worker().
    Service& forget(Worker& w, TimePoint now);
    // forget(), then let the next idle worker take a request given back, then remove the service if empty.
    void drop_worker(Worker& w, TimePoint now, Outbox& out);
    void maybe_remove_service(Service& s);
    Service* create_service(std::string_view name);
    // Queues a request at the back (new) or the front (given back by a forgotten worker).
    void enqueue(Service& s, Frame&& client, Frames&& body, std::size_t bytes, bool front, TimePoint now);
    void link_ttl(Pending& p, TimePoint now);
    // Unlinks a queued request from every list and the counters; the caller deletes or sends it.
    void unqueue(Pending& p);
    void expire_requests(TimePoint now);
    [[nodiscard]] SendResult send_to_worker(const Worker& w, Frames& message, Outbox& out);
    // HEARTBEAT or DISCONNECT; true if it was sent (false: the worker is gone, the caller forgets it).
    bool send_command(const Worker& w, Frames&& command, Outbox& out) {
        return send_to_worker(w, command, out) == SendResult::sent;
    }
    void send_to(Frame&& identity, Frames& message, Outbox& out);

    BrokerConfig config_;
    Duration ttl_;
    std::unordered_map<std::string, Service, detail::StringHash, std::equal_to<>> services_;
    std::unordered_map<std::string, Worker, detail::StringHash, std::equal_to<>> workers_;
    detail::List<Worker, &Worker::expiry_hook> expiry_;
    detail::List<Worker, &Worker::busy_hook> busy_;
    detail::List<Worker, &Worker::beat_hook> beats_;
    // Services with queued requests but no worker, oldest first: when max_services exist, the oldest of them
    // is evicted (its requests dropped) to make room, so requests for names nobody serves cannot lock real
    // workers out.
    detail::List<Service, &Service::orphan_hook> orphans_;
    detail::List<Pending, &Pending::ttl_hook> expiring_;
    std::unordered_map<int, Worker*> connections_;
    std::size_t queued_ = 0;
    std::size_t queued_bytes_ = 0;
    bool bytes_full_warned_ = false;
    BrokerStats stats_;
};

}  // namespace pirates::majordomo
