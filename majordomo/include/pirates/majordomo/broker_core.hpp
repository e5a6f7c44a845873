#pragma once
// The Majordomo broker as a plain state machine: no sockets, no clock. The driver (broker.hpp) feeds it each
// message a ROUTER received (identity frame first) with `now`, calls tick(now) when next_deadline() has
// passed, and sends what the core appended to the outbox (each message identity frame first, ready for a
// ROUTER).
//
// State, one owner per fact:
//   services_  name -> Service { FIFO of queued requests (bounded), LRU list of idle workers, worker count }
//   workers_   identity -> Worker { its service, idle or busy, expiry, next heartbeat }
//   expiry_    idle workers, in expiry order (each message from a worker moves it to the tail)
//   busy_      busy workers, in the order their busy deadline falls due (none when busy_timeout is 0)
//   beats_     idle workers, in the order their heartbeat falls due
// The lists are intrusive (hooks inside Worker), so joining, leaving and the LRU pick are O(1) and allocation
// free; a worker is unlinked from every list and erased from workers_ by one function, forget().
//
// Rules (7/MDP 0.1, 8/MMI, docs/protocols.md):
//   - READY from an unknown worker registers it (idle). READY from a known worker, READY for an mmi.*
//   service,
//     REPLY or HEARTBEAT from an unknown worker: DISCONNECT sent and the worker forgotten.
//   - DISCONNECT from a worker: forgotten, nothing sent. From an unknown one: ignored.
//   - REPLY: "" MDPC01 service body... to the client; the worker becomes idle (never twice in the idle list).
//   - Any message from a known worker refreshes its expiry. Idle workers get a HEARTBEAT when theirs is due;
//     expired idle workers are sent DISCONNECT and forgotten. A busy worker is not expired by liveness: a
//     worker sends nothing while it works (the reference worker does not heartbeat during a request, and the
//     reference broker purges waiting workers only), so a request longer than heartbeat x liveness is still
//     answered. Our addition: with busy_timeout > 0, a busy worker silent that long is taken for dead and
//     forgotten the same way (it reclaims workers killed in the middle of a request).
//   - Client request: mmi.* is answered here (mmi.service: 200 if the service has a worker, 404 otherwise,
//   never
//     creating it; other mmi.*: 501). Otherwise the least recently used idle worker of the service takes it,
//     or it waits in the service's queue. A queue holding max_queue requests refuses new ones: MDP 0.1 has no
//     error reply, so the newest request is dropped (counted, logged) and its client's timeout/retry takes
//     over. A request for a new service when max_services exist is dropped the same way.
//   - Anything malformed (short, wrong delimiter, unknown protocol or command, extra frames): counted and
//     dropped, logged at debug.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>

#include <cstdint>
#include <deque>
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
};

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
    std::uint64_t queue_full_drops = 0;     // requests refused by a full service queue
    std::uint64_t service_limit_drops = 0;  // requests or READYs refused because max_services exist
    std::uint64_t services_evicted = 0;     // services without workers evicted to make room (max_services)
    std::uint64_t evicted_requests = 0;     // requests dropped with them
    std::uint64_t unroutable = 0;           // (driver) messages to peers that were gone
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

// Where the core puts what it sends: each message identity frame first. The receiver may consume the frames
// (a driver sends them at once, with no copy and no move of the message object).
class Outbox {
  public:
    virtual ~Outbox() = default;
    virtual void send(Frames& message) = 0;
};

// An Outbox that keeps the messages (tests, simple drivers).
class OutboxVector final : public Outbox {
  public:
    std::vector<Frames> messages;
    void send(Frames& message) override { messages.push_back(std::move(message)); }
};

class BrokerCore {
  public:
    using Messages = std::vector<Frames>;

    explicit BrokerCore(BrokerConfig config = {});
    BrokerCore(const BrokerCore&) = delete;
    BrokerCore& operator=(const BrokerCore&) = delete;

    // One message as a ROUTER received it: [identity] frames... Appends what to send to `out`.
    void on_message(Frames&& message, TimePoint now, Outbox& out);
    // Heartbeats due and expired workers. Appends what to send to `out`.
    void tick(TimePoint now, Outbox& out);
    // When tick() next has something to do (TimePoint::max() when nothing is scheduled).
    TimePoint next_deadline() const;
    // DISCONNECT to every worker (a broker shutting down cleanly), forgetting them all.
    void disconnect_all(Outbox& out);

    // Conveniences for tests.
    Messages on_message(Frames&& message, TimePoint now) {
        OutboxVector out;
        on_message(std::move(message), now, out);
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
        TimePoint expiry{};
        TimePoint heartbeat_at{};
        detail::Hook<Worker> idle_hook;    // in service->idle while idle
        detail::Hook<Worker> beat_hook;    // in beats_ while idle
        detail::Hook<Worker> expiry_hook;  // in expiry_ while idle
        detail::Hook<Worker> busy_hook;    // in busy_ while busy
    };
    struct Pending {
        Frame client;
        Frames body;
    };
    struct Service {
        std::string name;
        std::deque<Pending> queue;
        detail::List<Worker, &Worker::idle_hook> idle;
        std::size_t workers = 0;
        bool full_warned = false;
        detail::Hook<Service> orphan_hook;  // in orphans_ while it has no worker (only queued requests)
    };

    // `body` is the received message with its header frames taken off: it is re-headed and sent in place.
    void on_client(Frame&& identity, Frame&& service, Frames& body, TimePoint now, Outbox& out);
    void on_mmi(Frame&& identity, Frame&& service, Frames& body, Outbox& out);
    void on_ready(Frame&& identity, Frame&& service, TimePoint now, Outbox& out);
    void on_reply(Worker& w, Frame&& client, Frames& body, TimePoint now, Outbox& out);
    void protocol_error(Frame&& identity, Worker* known, std::string_view what, Outbox& out);

    Worker* find_worker(std::string_view identity);
    Service* find_service(std::string_view name);
    void refresh(Worker& w, TimePoint now);
    void make_idle(Worker& w, TimePoint now, Outbox& out);
    void send_request(Worker& w, Frame&& client, Frames& body, TimePoint now, Outbox& out);
    void dispatch(Service& s, TimePoint now, Outbox& out);
    void expire(Worker& w, std::string_view why, Outbox& out);
    void forget(Worker& w);
    void maybe_remove_service(Service& s);
    Service* create_service(std::string_view name);
    void send_to_worker(const Worker& w, Frames& message, Outbox& out);
    void send_command(const Worker& w, Frames&& command, Outbox& out) { send_to_worker(w, command, out); }
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
    std::size_t queued_ = 0;
    BrokerStats stats_;
};

}  // namespace pirates::majordomo
