#include <pirates/common/json.hpp>
#include <pirates/common/log.hpp>
#include <pirates/majordomo/broker_core.hpp>
#include <pirates/majordomo/protocol.hpp>
#include "detail/broker_lists.hpp"

#include <pirates/version.hpp>

#include <algorithm>
#include <chrono>

namespace pirates::majordomo {
namespace {

Frame copy_frame(std::string_view s) {
    return Frame(s.data(), s.size());
}

}  // namespace

struct BrokerCore::Impl {
    explicit Impl(BrokerCoreOptions config);
    ~Impl();

    void on_message(Frames&& message, TimePoint now, Outbox& out, int connection);
    void on_connection_closed(int connection, TimePoint now, Outbox& out);
    void tick(TimePoint now, Outbox& out);
    TimePoint next_deadline() const;
    void disconnect_all(Outbox& out);
    std::optional<WorkerView> worker(std::string_view identity) const;
    std::optional<ServiceView> service(std::string_view name) const;
    std::vector<std::string> expiry_order() const;
    std::string check_invariants() const;

    struct Service;
    struct Worker {
        std::string identity;
        Service* service = nullptr;
        bool idle = false;
        int connection = no_connection;
        Version version = Version::v01;  // the framing of its READY
        bool beats_while_busy = false;   // it sent a HEARTBEAT while it held a request: expirable when busy
        int busy_beats = 0;              // HEARTBEATs received during the current request
        bool expired = false;            // being forgotten by expiry (its request counts a redelivery)
        TimePoint expiry{};
        TimePoint heartbeat_at{};
        // While busy: the request it works on, a second handle on the frames sent (share(): no payload
        // copy), given back to the queue if the worker is forgotten before it replies.
        Frame request_client;
        Frames request_body;
        Version request_version = Version::v01;  // the framing of the request's client
        int request_redeliveries = 0;            // times it was given back by expired workers before
        TimePoint request_arrived{};             // when the request it works on reached the broker
        detail::Hook<Worker> idle_hook;          // in service->idle while idle
        detail::Hook<Worker> beat_hook;          // in beats_ while idle
        detail::Hook<Worker> expiry_hook;        // in expiry_ while idle
        detail::Hook<Worker> busy_hook;          // in busy_ while busy (unless beats_while_busy)
        detail::Hook<Worker> beating_hook;       // in busy_beating_ while busy (if beats_while_busy)
    };
    // A queued request: a heap node, so it can leave its queue or expiring_ from anywhere in O(1).
    struct Pending {
        Frame client;
        Frames body;
        Service* service = nullptr;
        Version version = Version::v01;    // the client's framing
        int redeliveries = 0;              // times given back by a worker forgotten while busy
        std::size_t bytes = 0;             // what it counts against max_queue_bytes
        TimePoint expires{};               // when request_ttl runs out (if linked in expiring_)
        bool parked = false;               // its ttl_hook is in service->parked, not in expiring_
        detail::Hook<Pending> queue_hook;  // in service->queue
        detail::Hook<Pending> ttl_hook;    // in expiring_ or service->parked (neither when request_ttl is 0)
        TimePoint arrived{};               // when it reached the broker (request_duration)
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
        std::uint64_t requests = 0;         // client requests for it, since it became known
        std::uint64_t replies = 0;          // final replies to its clients
        detail::Hook<Service> orphan_hook;  // in orphans_ while it has no worker (only queued requests)
    };

    // `body` is the received message with its header frames taken off: it is re-headed and sent in place.
    void on_client(Frame&& identity, Frame&& service, Version v, Frames& body, TimePoint now, Outbox& out);
    void on_mmi(Frame&& identity, Frame&& service, Version v, Frames& body, TimePoint now, Outbox& out);
    // The first `now` the core was given: uptime_s counts from it.
    void started(TimePoint now) {
        if (!started_) started_ = now;
    }
    std::vector<ServiceView> services() const;
    std::string stats_json(TimePoint now) const;
    void on_ready(Frame&& identity, Frame&& service, Version v, int connection, TimePoint now, Outbox& out);
    void on_reply(Worker& w, Frame&& client, Frames& body, bool final, TimePoint now, Outbox& out);
    // `v`: the framing of the DISCONNECT (the one the peer just spoke).
    void protocol_error(Frame&& identity, Worker* known, Version v, std::string_view what, TimePoint now,
                        Outbox& out);

    Worker* find_worker(std::string_view identity);
    Service* find_service(std::string_view name);
    void refresh(Worker& w, TimePoint now);
    void make_idle(Worker& w, TimePoint now, Outbox& out);
    // Sends the request to `w` and makes it busy. False if the worker was gone (or its pipe full): then
    // `client` and `body` are as they were and the caller forgets the worker.
    bool send_request(Worker& w, Frame& client, Version client_version, int redeliveries, TimePoint arrived,
                      Frames& body, TimePoint now, Outbox& out);
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
    Pending& enqueue(Service& s, Frame&& client, Frames&& body, std::size_t bytes, bool front, TimePoint now);
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

    BrokerCoreOptions config_;
    Duration ttl_;
    std::unordered_map<std::string, Service, detail::StringHash, std::equal_to<>> services_;
    std::unordered_map<std::string, Worker, detail::StringHash, std::equal_to<>> workers_;
    detail::List<Worker, &Worker::expiry_hook> expiry_;
    detail::List<Worker, &Worker::busy_hook> busy_;
    detail::List<Worker, &Worker::beating_hook> busy_beating_;  // busy, expired by heartbeat x liveness
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
    bool draining_ = false;        // begin_drain(): client requests are dropped
    std::function<bool()> admit_;  // set_admission(): the pair's gate for client requests for a service
    HaView ha_;
    std::size_t drop_queued();
    std::optional<TimePoint> started_;
    BrokerCoreStats stats_;
};

BrokerCore::Impl::Impl(BrokerCoreOptions config)
    : config_(config), ttl_(config.heartbeat * std::max(config.liveness, 1)) {
    config_.max_queue = std::max<std::size_t>(config_.max_queue, 1);
    config_.max_services = std::max<std::size_t>(config_.max_services, 1);
}

BrokerCore::Impl::~Impl() {
    for (auto& [name, s] : services_)
        while (Pending* p = s.queue.front()) {
            unqueue(*p);
            delete p;
        }
}

BrokerCore::Impl::Worker* BrokerCore::Impl::find_worker(std::string_view identity) {
    auto it = workers_.find(identity);
    return it == workers_.end() ? nullptr : &it->second;
}

BrokerCore::Impl::Service* BrokerCore::Impl::find_service(std::string_view name) {
    auto it = services_.find(name);
    return it == services_.end() ? nullptr : &it->second;
}

void BrokerCore::Impl::on_message(Frames&& message, TimePoint now, Outbox& out, int connection) {
    started(now);
    if (message.empty()) {
        ++stats_.malformed;
        return;
    }
    Frame identity = message.pop();
    auto decoded = decode_broker_header(message);
    if (!decoded) {
        ++stats_.malformed;
        log::debug("dropped malformed message from {}: {}", hex(identity.to_string_view()),
                   decoded.error().reason);
        return;
    }
    BrokerHeader& header = decoded.value();
    switch (header.kind) {
        case InboundKind::client_request:
            if (draining_) {  // stopping: the client's retry goes elsewhere
                ++stats_.refused_draining;
                log::debug("request from {} dropped: draining", hex(identity.to_string_view()));
                return;
            }
            on_client(std::move(identity), std::move(header.name), header.version, message, now, out);
            return;
        case InboundKind::ready:
            on_ready(std::move(identity), std::move(header.name), header.version, connection, now, out);
            return;
        default:
            break;
    }
    Worker* w = find_worker(identity.to_string_view());
    if (w && w->version != header.version) {
        protocol_error(std::move(identity), w, header.version, "a worker changed its MDP version", now, out);
        return;
    }
    if (header.kind == InboundKind::disconnect) {
        if (w) {
            ++stats_.worker_disconnects;
            log::debug("worker {} disconnected", hex(w->identity));
            drop_worker(*w, now, out);
        } else {
            ++stats_.unknown_disconnects;
        }
        return;
    }
    if (!w) {
        protocol_error(std::move(identity), nullptr, header.version,
                       header.kind == InboundKind::heartbeat ? "HEARTBEAT from an unknown worker"
                                                             : "a reply from an unknown worker",
                       now, out);
        return;
    }
    if (header.kind == InboundKind::reply || header.kind == InboundKind::partial) {
        on_reply(*w, std::move(header.name), message, header.kind == InboundKind::reply, now,
                 out);  // refreshes it too
    } else {
        // Two HEARTBEATs within one request: the first may have left a silent worker just before it read
        // the request; a worker that sends two is heartbeating while it works.
        if (!w->idle && !w->beats_while_busy && ++w->busy_beats >= 2) {
            w->beats_while_busy = true;  // from now on, expired busy too when it falls silent
            log::debug("worker {} heartbeats while busy", hex(w->identity));
        }
        refresh(*w, now);
        ++stats_.heartbeats_received;
    }
}

void BrokerCore::Impl::on_connection_closed(int connection, TimePoint now, Outbox& out) {
    auto it = connections_.find(connection);
    if (it == connections_.end()) return;  // a client's, or a worker's already forgotten
    vanished(*it->second, "its connection closed", now, out);
}

void BrokerCore::Impl::on_client(Frame&& identity, Frame&& service, Version v, Frames& body, TimePoint now,
                                 Outbox& out) {
    std::string_view name = service.to_string_view();
    if (is_mmi(name)) {  // answered by every broker of a pair, active or not
        ++stats_.requests;
        on_mmi(std::move(identity), std::move(service), v, body, now, out);
        return;
    }
    // The pair's gate before anything else: it may change our state (and call set_ha() or drop_queued()),
    // so no service is looked at before it has spoken.
    if (admit_ && !admit_()) {
        ++stats_.requests_refused_passive;
        log::debug("request from {} for '{}' dropped: not the active broker of the pair",
                   hex(identity.to_string_view()), printable(service));
        return;
    }
    ++stats_.requests;
    Service* s = find_service(name);
    if (!s && !(s = create_service(name))) {
        ++stats_.service_limit_drops;
        log::debug("request for new service {} dropped: {} services with workers exist", printable(service),
                   services_.size());
        return;
    }
    ++s->requests;
    // The common case: straight to the LRU idle worker (the next one if that one is found gone).
    while (s->queue.empty() && !s->idle.empty()) {
        Worker& w = *s->idle.front();
        if (send_request(w, identity, v, 0, now, body, now, out)) return;
        ++stats_.workers_vanished;
        log::debug("worker {} of '{}' gone when sent a request: forgotten", hex(w.identity), s->name);
        forget(w, now);  // idle: nothing given back; the service stays (we queue into it below)
    }
    if (s->queue.size() >= config_.max_queue) {
        ++stats_.queue_full_drops;
        if (!s->full_warned) {
            s->full_warned = true;
            log::warn(
                "service '{}' has {} queued requests (--max-queue): dropping new requests until it drains",
                s->name, s->queue.size());
        }
        log::debug("request from {} for '{}' dropped: queue full", hex(identity.to_string_view()), s->name);
        maybe_remove_service(*s);
        return;
    }
    const std::size_t bytes = byte_size(body) + identity.size() + queued_request_overhead;
    if (queued_bytes_ + bytes > config_.max_queue_bytes) {
        ++stats_.queue_bytes_drops;
        if (!bytes_full_warned_) {
            bytes_full_warned_ = true;
            log::warn(
                "queued requests hold {} bytes (--max-queue-bytes {}): dropping new requests until they "
                "drain",
                queued_bytes_, config_.max_queue_bytes);
        }
        log::debug("request of {} bytes from {} for '{}' dropped: queued bytes at their bound", bytes,
                   hex(identity.to_string_view()), s->name);
        maybe_remove_service(*s);
        return;
    }
    // The one move: a queued request.
    Pending& p = enqueue(*s, std::move(identity), std::move(body), bytes, false, now);
    p.version = v;
    p.arrived = now;
    dispatch(*s, now, out);
}

BrokerCore::Impl::Pending& BrokerCore::Impl::enqueue(Service& s, Frame&& client, Frames&& body,
                                                     std::size_t bytes, bool front, TimePoint now) {
    auto* p = new Pending{std::move(client), std::move(body), &s, Version::v01, 0, bytes, {}, false, {}, {}};
    if (front)
        s.queue.push_front(*p);
    else
        s.queue.push_back(*p);
    ++queued_;
    queued_bytes_ += bytes;
    link_ttl(*p, now);
    return *p;
}

void BrokerCore::Impl::link_ttl(Pending& p, TimePoint now) {
    if (config_.request_ttl.count() <= 0) return;
    // expiring_ stays in expiry order: every expiry is now + the same ttl for a `now` that only grows; max()
    // keeps the order even if a caller's clock stepped back.
    TimePoint expires = now + config_.request_ttl;
    if (Pending* last = expiring_.back()) expires = std::max(expires, last->expires);
    p.expires = expires;
    p.parked = false;
    expiring_.push_back(p);
}

void BrokerCore::Impl::unqueue(Pending& p) {
    Service& s = *p.service;
    s.queue.erase(p);
    if (p.parked)
        s.parked.erase(p);
    else
        expiring_.erase(p);
    --queued_;
    queued_bytes_ -= p.bytes;
    if (bytes_full_warned_ && queued_bytes_ <= config_.max_queue_bytes / 2) {
        bytes_full_warned_ = false;
        log::info("queued requests below half of --max-queue-bytes again");
    }
}

std::size_t BrokerCore::Impl::drop_queued() {
    std::vector<Service*> holding;
    for (auto& [name, s] : services_)
        if (!s.queue.empty()) holding.push_back(&s);
    std::size_t dropped = 0;
    for (Service* s : holding) {  // erasing one service leaves pointers to the others valid
        while (Pending* p = s->queue.front()) {
            unqueue(*p);
            delete p;
            ++dropped;
        }
        maybe_remove_service(*s);
    }
    stats_.requests_dropped_passive += dropped;
    return dropped;
}

void BrokerCore::Impl::on_mmi(Frame&& identity, Frame&& service, Version v, Frames& body, TimePoint now,
                              Outbox& out) {
    ++stats_.mmi_requests;
    // As the reference: the argument is the body's last frame, and the reply replaces it; any frames before
    // it travel back untouched (our async client's correlation frame among them). A body that is only a
    // correlation frame (or nothing) has no argument.
    std::string argument;
    if (!body.empty() && !is_correlation_frame(body.back())) argument = body.remove().to_string();
    const std::string_view command = service.to_string_view();
    auto code = [&](std::string_view c) { body.add(copy_frame(c)); };
    if (command == "mmi.service") {
        const Service* s = find_service(argument);  // a lookup, never an insertion
        code((s && s->workers > 0) ? "200" : "404");
    } else if (command == "mmi.workers") {
        if (const Service* s = find_service(argument)) {
            code("200");
            body.add(copy_frame(std::to_string(s->workers)));
        } else {
            code("404");
        }
    } else if (command == "mmi.services") {
        code("200");
        std::vector<std::string_view> names;
        names.reserve(services_.size());
        for (const auto& entry : services_) names.push_back(entry.first);
        std::sort(names.begin(), names.end());
        for (std::string_view n : names) body.add(copy_frame(n));
    } else if (command == "mmi.stats") {
        code("200");
        body.add(copy_frame(stats_json(now)));
    } else {
        code("501");
    }
    push_client_reply_header(body, command, v, true);
    send_to(std::move(identity), body, out);
}

std::vector<BrokerCore::ServiceView> BrokerCore::Impl::services() const {
    std::vector<ServiceView> all;
    all.reserve(services_.size());
    for (const auto& [name, s] : services_)
        all.push_back(ServiceView{s.workers, s.idle.size(), s.queue.size(), s.requests, s.replies, name});
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return all;
}

std::string BrokerCore::Impl::stats_json(TimePoint now) const {
    const double uptime = started_ ? std::chrono::duration<double>(now - *started_).count() : 0.0;
    JsonWriter j;
    j.begin_object()
        .key("version")
        .value(PIRATES_VERSION_STRING)
        .key("uptime_s")
        .value(std::max(uptime, 0.0))
        .key("requests")
        .value(stats_.requests)
        .key("replies")
        .value(stats_.replies)
        .key("malformed")
        .value(stats_.malformed)
        .key("protocol_errors")
        .value(stats_.protocol_errors)
        .key("expired")
        .value(stats_.expired)
        .key("queue_full")
        .value(stats_.queue_full_drops)
        .key("workers")
        .value(static_cast<std::uint64_t>(workers_.size()))
        .key("idle")
        .value(static_cast<std::uint64_t>(beats_.size()))
        .key("queued")
        .value(static_cast<std::uint64_t>(queued_))
        .key("ha")
        .value(ha_.ha);
    if (!ha_.role.empty())
        j.key("ha_role")
            .value(ha_.role)
            .key("ha_state")
            .value(ha_.state)
            .key("ha_failovers")
            .value(ha_.failovers)
            .key("requests_refused_passive")
            .value(stats_.requests_refused_passive);
    j.key("services").begin_array();
    for (const ServiceView& s : services())
        j.begin_object()
            .key("name")
            .value(s.name)
            .key("workers")
            .value(static_cast<std::uint64_t>(s.workers))
            .key("idle")
            .value(static_cast<std::uint64_t>(s.idle))
            .key("queued")
            .value(static_cast<std::uint64_t>(s.queued))
            .key("requests")
            .value(s.requests)
            .key("replies")
            .value(s.replies)
            .end_object();
    j.end_array().end_object();
    return j.take();
}

void BrokerCore::Impl::send_to(Frame&& identity, Frames& message, Outbox& out) {
    message.push(std::move(identity));
    switch (out.send(message)) {
        case SendResult::sent:
            return;
        case SendResult::peer_gone:
            ++stats_.unroutable;
            log::debug("dropped a message to {}: peer gone", hex(message[0].to_string_view()));
            return;
        case SendResult::would_block:
            ++stats_.hwm_drops;
            log::debug("dropped a message to {}: its pipe is full (--hwm)", hex(message[0].to_string_view()));
            return;
    }
}

void BrokerCore::Impl::on_ready(Frame&& identity, Frame&& service, Version v, int connection, TimePoint now,
                                Outbox& out) {
    std::string_view id = identity.to_string_view();
    if (Worker* known = find_worker(id)) {
        protocol_error(std::move(identity), known, v, "READY from a worker already registered", now, out);
        return;
    }
    std::string_view name = service.to_string_view();
    if (is_mmi(name)) {
        protocol_error(std::move(identity), nullptr, v, "READY for an mmi.* service", now, out);
        return;
    }
    if (connection != no_connection) {
        // One connection carries one identity: a worker still bound to this connection id is on a closed
        // connection whose file descriptor was reused (the driver reported every close it knew of first).
        if (auto it = connections_.find(connection); it != connections_.end())
            vanished(*it->second, "its connection id was reused", now, out);
    }
    Service* s = find_service(name);
    if (!s && !(s = create_service(name))) {
        ++stats_.service_limit_drops;
        log::debug("READY for new service {} refused: {} services with workers exist", printable(service),
                   services_.size());
        Frames m = encode_disconnect(v);
        send_to(std::move(identity), m, out);
        ++stats_.disconnects_sent;
        return;
    }
    auto [it, inserted] = workers_.try_emplace(std::string(id));
    Worker& w = it->second;
    w.identity = it->first;
    w.service = s;
    w.version = v;
    w.connection = connection;
    if (connection != no_connection) connections_[connection] = &w;
    if (s->workers++ == 0) orphans_.erase(*s);
    ++stats_.workers_registered;
    log::debug("worker {} ready for '{}' (MDP {}, connection {})", hex(w.identity), s->name, version_name(v),
               connection);
    make_idle(w, now, out);
}

void BrokerCore::Impl::on_reply(Worker& w, Frame&& client, Frames& body, bool final, TimePoint now,
                                Outbox& out) {
    // The client's framing: the one of the request the worker holds; for an unsolicited reply (an idle
    // worker), the worker's own.
    const Version v = w.idle ? w.version : w.request_version;
    if (!final) {
        refresh(w, now);  // a sign of life; the worker stays busy
        if (!has_partials(v)) {
            ++stats_.partials_dropped;
            log::debug("PARTIAL for 0.1 client {} dropped", hex(client.to_string_view()));
            return;
        }
        ++stats_.partials;
        push_client_reply_header(body, w.service->name, v, false);
        send_to(std::move(client), body, out);
        return;
    }
    ++stats_.replies;
    ++w.service->replies;
    push_client_reply_header(body, w.service->name, v, true);
    send_to(std::move(client), body, out);
    if (!w.idle) stats_.request_duration.observe(now - w.request_arrived);
    if (w.idle) {
        refresh(w, now);  // an unsolicited reply: an idle worker is never added to the idle list twice
    } else {
        w.request_client = Frame();
        w.request_body.clear();
        make_idle(w, now, out);
    }
}

void BrokerCore::Impl::protocol_error(Frame&& identity, Worker* known, Version v, std::string_view what,
                                      TimePoint now, Outbox& out) {
    ++stats_.protocol_errors;
    log::debug("protocol error from {}: {}; sending DISCONNECT", hex(identity.to_string_view()), what);
    if (known) drop_worker(*known, now, out);
    Frames m = encode_disconnect(v);
    send_to(std::move(identity), m, out);
    ++stats_.disconnects_sent;
}

void BrokerCore::Impl::refresh(Worker& w, TimePoint now) {
    // Moving to the tail keeps each list in expiry order: every expiry in a list is now + the same ttl for a
    // `now` that only grows; max() keeps the order even if a caller's clock stepped back.
    auto move_to_tail = [&](auto& list, Duration ttl) {
        TimePoint expiry = ttl.count() > 0 ? now + ttl : TimePoint::max();
        if (Worker* last = list.back(); last && last != &w) expiry = std::max(expiry, last->expiry);
        w.expiry = expiry;
        list.erase(w);
        list.push_back(w);
    };
    if (w.idle) {
        move_to_tail(expiry_, ttl_);
    } else if (w.beats_while_busy) {
        busy_.erase(w);  // (it learned to heartbeat while busy in this request)
        Duration d = ttl_;
        if (config_.busy_timeout.count() > 0) d = std::min(d, config_.busy_timeout);
        move_to_tail(busy_beating_, d);
    } else {
        move_to_tail(busy_, config_.busy_timeout);
    }
}

void BrokerCore::Impl::make_idle(Worker& w, TimePoint now, Outbox& out) {
    busy_.erase(w);
    busy_beating_.erase(w);
    w.idle = true;
    refresh(w, now);
    TimePoint beat = now + config_.heartbeat;
    if (Worker* last = beats_.back()) beat = std::max(beat, last->heartbeat_at);
    w.heartbeat_at = beat;
    w.service->idle.push_back(w);
    beats_.push_back(w);
    dispatch(*w.service, now, out);  // may find w gone and forget it: callers do not touch w afterwards
}

bool BrokerCore::Impl::send_request(Worker& w, Frame& client, Version client_version, int redeliveries,
                                    TimePoint arrived, Frames& body, TimePoint now, Outbox& out) {
    // Keep a second handle on the request (frames shared, payloads not copied) before the send consumes it.
    w.request_client = Frame();
    w.request_client.copy(client);
    w.request_body = share(body);
    w.request_version = client_version;
    w.request_redeliveries = redeliveries;
    w.request_arrived = arrived;
    w.busy_beats = 0;
    push_request_header(body, std::move(client), w.version);
    if (send_to_worker(w, body, out) != SendResult::sent) {
        body.pop();  // the worker's identity
        client = pop_request_header(body, w.version);
        w.request_client = Frame();
        w.request_body.clear();
        return false;
    }
    w.idle = false;
    w.service->idle.erase(w);
    beats_.erase(w);
    expiry_.erase(w);
    refresh(w, now);  // into busy_
    ++stats_.dispatched;
    return true;
}

void BrokerCore::Impl::dispatch(Service& s, TimePoint now, Outbox& out) {
    while (!s.queue.empty() && !s.idle.empty()) {
        Pending& p = *s.queue.front();
        Worker& w = *s.idle.front();
        if (!send_request(w, p.client, p.version, p.redeliveries, p.arrived, p.body, now, out)) {
            ++stats_.workers_vanished;
            log::debug("worker {} of '{}' gone when sent a request: forgotten", hex(w.identity), s.name);
            forget(w, now);  // idle: nothing given back; p stays at the front for the next worker
            continue;
        }
        unqueue(p);
        delete &p;
    }
    if (s.full_warned && s.queue.size() < config_.max_queue) {
        s.full_warned = false;
        log::info("service '{}' queue below its limit again", s.name);
    }
}

SendResult BrokerCore::Impl::send_to_worker(const Worker& w, Frames& message, Outbox& out) {
    message.push(copy_frame(w.identity));
    return out.send(message);
}

BrokerCore::Impl::Service& BrokerCore::Impl::forget(Worker& w, TimePoint now) {
    Service& s = *w.service;
    s.idle.erase(w);
    beats_.erase(w);
    expiry_.erase(w);
    busy_.erase(w);
    busy_beating_.erase(w);
    if (w.connection != no_connection) {
        auto it = connections_.find(w.connection);
        if (it != connections_.end() && it->second == &w) connections_.erase(it);
    }
    if (!w.idle && !w.request_body.empty() && w.expired &&
        w.request_redeliveries >= config_.max_redeliveries) {
        ++stats_.redelivery_drops;
        log::debug(
            "request of {} from worker {} of '{}' dropped: given back {} times already (max-redeliveries)",
            hex(w.request_client.to_string_view()), hex(w.identity), s.name, w.request_redeliveries);
        w.request_client = Frame();
        w.request_body.clear();
    }
    if (!w.idle && !w.request_body.empty()) {
        // Given back at the front: it is older than anything queued behind it. Already in memory (shared
        // with what was sent), so the queue bounds do not refuse it.
        const std::size_t bytes =
            byte_size(w.request_body) + w.request_client.size() + queued_request_overhead;
        ++stats_.requests_requeued;
        log::debug("request of {} from worker {} of '{}' back at the front of the queue",
                   hex(w.request_client.to_string_view()), hex(w.identity), s.name);
        Pending& p = enqueue(s, std::move(w.request_client), std::move(w.request_body), bytes, true, now);
        p.version = w.request_version;
        p.redeliveries = w.request_redeliveries + (w.expired ? 1 : 0);
        p.arrived = w.request_arrived;
    }
    workers_.erase(workers_.find(w.identity));  // w is gone after this line
    if (--s.workers == 0) {
        orphans_.push_back(s);  // removed with the service if nothing is queued (maybe_remove_service)
        // Requests parked while the service had workers: their request_ttl runs again from now.
        while (Pending* p = s.parked.front()) {
            s.parked.erase(*p);
            link_ttl(*p, now);
        }
    }
    return s;
}

void BrokerCore::Impl::drop_worker(Worker& w, TimePoint now, Outbox& out) {
    Service& s = forget(w, now);
    dispatch(s, now, out);
    maybe_remove_service(s);
}

void BrokerCore::Impl::vanished(Worker& w, std::string_view why, TimePoint now, Outbox& out) {
    ++stats_.workers_vanished;
    log::debug("worker {} of '{}' gone ({}): forgotten", hex(w.identity), w.service->name, why);
    drop_worker(w, now, out);
}

void BrokerCore::Impl::maybe_remove_service(Service& s) {
    if (s.workers == 0 && s.queue.empty()) {
        log::debug("service '{}' removed (no workers, nothing queued)", s.name);
        orphans_.erase(s);
        services_.erase(services_.find(s.name));
    }
}

BrokerCore::Impl::Service* BrokerCore::Impl::create_service(std::string_view name) {
    if (services_.size() >= config_.max_services) {
        Service* victim = orphans_.front();
        if (!victim) return nullptr;
        ++stats_.services_evicted;
        stats_.evicted_requests += victim->queue.size();
        log::debug("service '{}' evicted with {} queued requests (max_services)", victim->name,
                   victim->queue.size());
        while (Pending* p = victim->queue.front()) {
            unqueue(*p);
            delete p;
        }
        maybe_remove_service(*victim);
    }
    auto [it, inserted] = services_.try_emplace(std::string(name));
    Service& s = it->second;
    s.name = it->first;
    // A new service has no worker yet: it is an orphan until one registers (on_ready takes it out at once).
    orphans_.push_back(s);
    log::debug("service '{}' created", s.name);
    return &s;
}

void BrokerCore::Impl::expire(Worker& w, std::string_view why, TimePoint now, Outbox& out) {
    ++stats_.expired;
    log::debug("worker {} of '{}' expired: {}", hex(w.identity), w.service->name, why);
    if (send_command(w, encode_disconnect(w.version), out))  // if it is only slow, it registers again
        ++stats_.disconnects_sent;
    w.expired = true;
    drop_worker(w, now, out);
}

void BrokerCore::Impl::expire_requests(TimePoint now) {
    // expiring_ is in expiry order: the first request still within its ttl ends the walk.
    while (Pending* p = expiring_.front()) {
        if (p->expires > now) break;
        Service& s = *p->service;
        expiring_.erase(*p);
        if (s.workers > 0) {  // its workers are busy: it waits its turn
            p->parked = true;
            s.parked.push_back(*p);
            continue;
        }
        ++stats_.requests_expired;
        log::debug("request from {} for '{}' expired: no worker for request_ttl",
                   hex(p->client.to_string_view()), s.name);
        unqueue(*p);
        delete p;
        maybe_remove_service(s);
    }
}

void BrokerCore::Impl::tick(TimePoint now, Outbox& out) {
    started(now);
    // Expiry: each list is in expiry order, so the first live worker ends the walk.
    while (Worker* w = expiry_.front()) {
        if (w->expiry > now) break;
        expire(*w, "silent for heartbeat x liveness", now, out);
    }
    while (Worker* w = busy_.front()) {
        if (w->expiry > now) break;
        expire(*w, "busy and silent for busy_timeout", now, out);
    }
    while (Worker* w = busy_beating_.front()) {
        if (w->expiry > now) break;
        ++stats_.busy_expired;
        expire(*w, "busy, heartbeating while busy, then silent for heartbeat x liveness", now, out);
    }
    expire_requests(now);
    // Heartbeats to the idle workers whose heartbeat is due, in due order.
    while (Worker* w = beats_.front()) {
        if (w->heartbeat_at > now) break;
        if (!send_command(*w, encode_heartbeat(w->version), out)) {
            vanished(*w, "a heartbeat could not be sent", now, out);
            continue;
        }
        ++stats_.heartbeats_sent;
        beats_.erase(*w);
        TimePoint beat = now + config_.heartbeat;
        if (Worker* last = beats_.back()) beat = std::max(beat, last->heartbeat_at);
        w->heartbeat_at = beat;
        beats_.push_back(*w);
    }
}

TimePoint BrokerCore::Impl::next_deadline() const {
    TimePoint t = TimePoint::max();
    if (Worker* w = expiry_.front()) t = std::min(t, w->expiry);
    if (Worker* w = busy_.front()) t = std::min(t, w->expiry);
    if (Worker* w = busy_beating_.front()) t = std::min(t, w->expiry);
    if (Worker* w = beats_.front()) t = std::min(t, w->heartbeat_at);
    if (Pending* p = expiring_.front()) t = std::min(t, p->expires);
    return t;
}

void BrokerCore::Impl::disconnect_all(Outbox& out) {
    // Shutting down: nobody would serve a request given back, so busy workers' requests are let go.
    const TimePoint now{};
    auto say_goodbye = [&](Worker& w) {
        if (send_command(w, encode_disconnect(w.version), out)) ++stats_.disconnects_sent;
        w.request_client = Frame();
        w.request_body.clear();
        maybe_remove_service(forget(w, now));
    };
    while (Worker* w = expiry_.front()) say_goodbye(*w);
    while (Worker* w = busy_.front()) say_goodbye(*w);
    while (Worker* w = busy_beating_.front()) say_goodbye(*w);
}

std::optional<BrokerCore::WorkerView> BrokerCore::Impl::worker(std::string_view identity) const {
    auto it = workers_.find(identity);
    if (it == workers_.end()) return std::nullopt;
    return WorkerView{it->second.service->name, it->second.idle, it->second.expiry,
                      it->second.beats_while_busy};
}

std::optional<BrokerCore::ServiceView> BrokerCore::Impl::service(std::string_view name) const {
    auto it = services_.find(name);
    if (it == services_.end()) return std::nullopt;
    const Service& s = it->second;
    return ServiceView{s.workers, s.idle.size(), s.queue.size(), s.requests, s.replies, s.name};
}

std::vector<std::string> BrokerCore::Impl::expiry_order() const {
    std::vector<std::string> ids;
    expiry_.for_each([&](const Worker& w) { ids.push_back(w.identity); });
    return ids;
}

std::string BrokerCore::Impl::check_invariants() const {
    std::string bad;
    auto fail = [&](std::string what) { bad += what + "; "; };
    if (expiry_.size() + busy_.size() + busy_beating_.size() != workers_.size())
        fail("expiry + busy list sizes != worker count");
    std::size_t idle = 0, queued = 0, bytes = 0, in_ttl = 0;
    for (const auto& entry : services_) {
        const std::string& name = entry.first;  // not a structured binding: lambdas below capture `s`, and
        const Service& s = entry.second;        // clang 14 cannot capture a binding
        if (s.name != name) fail("service name mismatch");
        if (s.workers == 0 && s.queue.empty()) fail("empty service '" + name + "' kept");
        if (!s.queue.empty() && !s.idle.empty())
            fail("service '" + name + "' has queued requests and idle workers");
        // (No check against max_queue: a request given back by a forgotten worker may go past it.)
        queued += s.queue.size();
        idle += s.idle.size();
        std::size_t n = 0;
        for (const auto& [id, w] : workers_)
            if (w.service == &s) ++n;
        if (n != s.workers) fail("service '" + name + "' worker count wrong");
        s.idle.for_each([&](const Worker& w) {
            if (!w.idle) fail("busy worker in idle list");
            if (w.service != &s) fail("worker in another service's idle list");
        });
        std::size_t parked = 0;
        s.queue.for_each([&](const Pending& p) {
            if (p.service != &s) fail("request in another service's queue");
            bytes += p.bytes;
            if (p.bytes != byte_size(p.body) + p.client.size() + queued_request_overhead)
                fail("request byte count wrong");
            if (p.parked) {
                ++parked;
                if (!s.parked.contains(p)) fail("parked request not in its service's parked list");
            } else if (config_.request_ttl.count() > 0 && !expiring_.contains(p)) {
                fail("queued request in no ttl list");
            } else if (expiring_.contains(p)) {
                ++in_ttl;
            }
        });
        if (parked != s.parked.size()) fail("service '" + name + "' parked list size wrong");
        if (s.workers == 0 && !s.parked.empty())
            fail("service '" + name + "' without workers has parked requests");
    }
    if (in_ttl != expiring_.size()) fail("ttl list holds requests not queued");
    if (services_.size() > config_.max_services) fail("more services than max_services");
    std::size_t orphans = 0;
    for (const auto& [name, s] : services_)
        if (s.workers == 0) {
            ++orphans;
            if (!orphans_.contains(s)) fail("service '" + name + "' without workers not in the orphan list");
        } else if (orphans_.contains(s)) {
            fail("service '" + name + "' with workers in the orphan list");
        }
    if (orphans != orphans_.size()) fail("orphan list size wrong");
    if (queued != queued_) fail("queued counter wrong");
    if (bytes != queued_bytes_) fail("queued bytes counter wrong");
    if (idle != beats_.size()) fail("idle lists and heartbeat list differ in size");
    std::size_t bound = 0;
    for (const auto& [id, w] : workers_) {
        if (w.identity != id) fail("worker identity mismatch");
        if (w.idle != expiry_.contains(w)) fail("idle flag disagrees with expiry list");
        if (w.idle == (busy_.contains(w) || busy_beating_.contains(w)))
            fail("idle flag disagrees with busy list");
        if (busy_beating_.contains(w) && !w.beats_while_busy) fail("silent worker in the beating busy list");
        if (busy_.contains(w) && busy_beating_.contains(w)) fail("worker in both busy lists");
        if (w.idle != w.service->idle.contains(w)) fail("idle flag disagrees with idle list");
        if (w.idle != beats_.contains(w)) fail("idle flag disagrees with heartbeat list");
        if (!services_.contains(w.service->name)) fail("worker of a removed service");
        if (w.idle && !w.request_body.empty()) fail("idle worker keeps a request");
        if (!w.idle && w.request_body.empty()) fail("busy worker keeps no request");
        if (w.connection != no_connection) {
            ++bound;
            auto it = connections_.find(w.connection);
            if (it == connections_.end() || it->second != &w) fail("worker's connection not mapped to it");
        }
    }
    if (bound != connections_.size()) fail("connection map holds workers that are gone");
    TimePoint last = TimePoint::min();
    expiry_.for_each([&](const Worker& w) {
        if (w.expiry < last) fail("expiry list out of order");
        last = w.expiry;
    });
    last = TimePoint::min();
    busy_.for_each([&](const Worker& w) {
        if (w.expiry < last) fail("busy list out of order");
        last = w.expiry;
    });
    last = TimePoint::min();
    busy_beating_.for_each([&](const Worker& w) {
        if (w.expiry < last) fail("beating busy list out of order");
        last = w.expiry;
    });
    last = TimePoint::min();
    beats_.for_each([&](const Worker& w) {
        if (w.heartbeat_at < last) fail("heartbeat list out of order");
        last = w.heartbeat_at;
    });
    last = TimePoint::min();
    expiring_.for_each([&](const Pending& p) {
        if (p.expires < last) fail("ttl list out of order");
        last = p.expires;
    });
    return bad;
}

BrokerCore::BrokerCore(BrokerCoreOptions options) : impl_(std::make_unique<Impl>(options)) {}
BrokerCore::~BrokerCore() = default;
void BrokerCore::on_message(Frames&& message, TimePoint now, Outbox& out, int connection) {
    impl_->on_message(std::move(message), now, out, connection);
}
void BrokerCore::on_connection_closed(int connection, TimePoint now, Outbox& out) {
    impl_->on_connection_closed(connection, now, out);
}
void BrokerCore::tick(TimePoint now, Outbox& out) {
    impl_->tick(now, out);
}
TimePoint BrokerCore::next_deadline() const {
    return impl_->next_deadline();
}
void BrokerCore::disconnect_all(Outbox& out) {
    impl_->disconnect_all(out);
}
void BrokerCore::begin_drain() {
    impl_->draining_ = true;
}
bool BrokerCore::draining() const {
    return impl_->draining_;
}
void BrokerCore::set_admission(std::function<bool()> admit) {
    impl_->admit_ = std::move(admit);
}
void BrokerCore::set_ha(HaView view) {
    impl_->ha_ = std::move(view);
}
const HaView& BrokerCore::ha() const {
    return impl_->ha_;
}
std::size_t BrokerCore::drop_queued() {
    return impl_->drop_queued();
}
const BrokerCoreStats& BrokerCore::stats() const {
    return impl_->stats_;
}
const BrokerCoreOptions& BrokerCore::options() const {
    return impl_->config_;
}
std::size_t BrokerCore::worker_count() const {
    return impl_->workers_.size();
}
std::size_t BrokerCore::service_count() const {
    return impl_->services_.size();
}
std::size_t BrokerCore::idle_count() const {
    return impl_->beats_.size();
}
std::size_t BrokerCore::queued_count() const {
    return impl_->queued_;
}
std::size_t BrokerCore::queued_bytes() const {
    return impl_->queued_bytes_;
}
std::optional<BrokerCore::WorkerView> BrokerCore::worker(std::string_view identity) const {
    return impl_->worker(identity);
}
std::optional<BrokerCore::ServiceView> BrokerCore::service(std::string_view name) const {
    return impl_->service(name);
}
std::vector<BrokerCore::ServiceView> BrokerCore::services() const {
    return impl_->services();
}
std::string BrokerCore::stats_json(TimePoint now) const {
    return impl_->stats_json(now);
}
std::vector<std::string> BrokerCore::expiry_order() const {
    return impl_->expiry_order();
}
std::string BrokerCore::check_invariants() const {
    return impl_->check_invariants();
}

}  // namespace pirates::majordomo
