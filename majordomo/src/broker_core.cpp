#include <pirates/common/log.hpp>
#include <pirates/majordomo/broker_core.hpp>
#include <pirates/majordomo/protocol.hpp>

#include <algorithm>

namespace pirates::majordomo {
namespace {

Frame copy_frame(std::string_view s) {
    return Frame(s.data(), s.size());
}

}  // namespace

BrokerCore::BrokerCore(BrokerConfig config)
    : config_(config), ttl_(config.heartbeat * std::max(config.liveness, 1)) {
    config_.max_queue = std::max<std::size_t>(config_.max_queue, 1);
    config_.max_services = std::max<std::size_t>(config_.max_services, 1);
}

BrokerCore::Worker* BrokerCore::find_worker(std::string_view identity) {
    auto it = workers_.find(identity);
    return it == workers_.end() ? nullptr : &it->second;
}

BrokerCore::Service* BrokerCore::find_service(std::string_view name) {
    auto it = services_.find(name);
    return it == services_.end() ? nullptr : &it->second;
}

void BrokerCore::on_message(Frames&& message, TimePoint now, Outbox& out) {
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
            on_client(std::move(identity), std::move(header.name), message, now, out);
            return;
        case InboundKind::ready:
            on_ready(std::move(identity), std::move(header.name), now, out);
            return;
        default:
            break;
    }
    Worker* w = find_worker(identity.to_string_view());
    if (header.kind == InboundKind::disconnect) {
        if (w) {
            ++stats_.worker_disconnects;
            log::debug("worker {} disconnected", hex(w->identity));
            forget(*w);
        } else {
            ++stats_.unknown_disconnects;
        }
        return;
    }
    if (!w) {
        protocol_error(std::move(identity), nullptr,
                       header.kind == InboundKind::reply ? "REPLY from an unknown worker"
                                                         : "HEARTBEAT from an unknown worker",
                       out);
        return;
    }
    if (header.kind == InboundKind::reply) {
        on_reply(*w, std::move(header.name), message, now, out);  // refreshes it too
    } else {
        refresh(*w, now);
        ++stats_.heartbeats_received;
    }
}

void BrokerCore::on_client(Frame&& identity, Frame&& service, Frames& body, TimePoint now, Outbox& out) {
    ++stats_.client_requests;
    std::string_view name = service.to_string_view();
    if (is_mmi(name)) {
        on_mmi(std::move(identity), std::move(service), body, out);
        return;
    }
    Service* s = find_service(name);
    if (!s && !(s = create_service(name))) {
        ++stats_.service_limit_drops;
        log::debug("request for new service {} dropped: {} services with workers exist", printable(service),
                   services_.size());
        return;
    }
    if (s->queue.empty() && !s->idle.empty()) {  // the common case: straight to the LRU idle worker
        send_request(*s->idle.front(), std::move(identity), body, now, out);
        return;
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
        return;
    }
    s->queue.push_back(Pending{std::move(identity), std::move(body)});  // the one move: a queued request
    ++queued_;
    dispatch(*s, now, out);
}

void BrokerCore::on_mmi(Frame&& identity, Frame&& service, Frames& body, Outbox& out) {
    ++stats_.mmi_requests;
    // As the reference: the name is the body's last frame, and the code replaces that frame; any frames
    // before it travel back untouched (our async client's correlation frame among them).
    std::string_view code = "501";
    if (service.to_string_view() == "mmi.service") {
        const Service* s = find_service(body.back().to_string_view());  // a lookup, never an insertion
        code = (s && s->workers > 0) ? "200" : "404";
    }
    body.remove();
    body.add(copy_frame(code));
    push_client_reply_header(body, service.to_string_view());
    send_to(std::move(identity), body, out);
}

void BrokerCore::send_to(Frame&& identity, Frames& message, Outbox& out) {
    message.push(std::move(identity));
    out.send(message);
}

void BrokerCore::on_ready(Frame&& identity, Frame&& service, TimePoint now, Outbox& out) {
    std::string_view id = identity.to_string_view();
    if (Worker* known = find_worker(id)) {
        protocol_error(std::move(identity), known, "READY from a worker already registered", out);
        return;
    }
    std::string_view name = service.to_string_view();
    if (is_mmi(name)) {
        protocol_error(std::move(identity), nullptr, "READY for an mmi.* service", out);
        return;
    }
    Service* s = find_service(name);
    if (!s && !(s = create_service(name))) {
        ++stats_.service_limit_drops;
        log::debug("READY for new service {} refused: {} services with workers exist", printable(service),
                   services_.size());
        Frames m = encode_disconnect();
        send_to(std::move(identity), m, out);
        ++stats_.disconnects_sent;
        return;
    }
    auto [it, inserted] = workers_.try_emplace(std::string(id));
    Worker& w = it->second;
    w.identity = it->first;
    w.service = s;
    if (s->workers++ == 0) orphans_.erase(*s);
    ++stats_.workers_registered;
    log::debug("worker {} ready for '{}'", hex(w.identity), s->name);
    make_idle(w, now, out);
}

void BrokerCore::on_reply(Worker& w, Frame&& client, Frames& body, TimePoint now, Outbox& out) {
    ++stats_.replies;
    push_client_reply_header(body, w.service->name);
    send_to(std::move(client), body, out);
    if (w.idle)
        refresh(w, now);  // an unsolicited reply: an idle worker is never added to the idle list twice
    else
        make_idle(w, now, out);
}

void BrokerCore::protocol_error(Frame&& identity, Worker* known, std::string_view what, Outbox& out) {
    ++stats_.protocol_errors;
    log::debug("protocol error from {}: {}; sending DISCONNECT", hex(identity.to_string_view()), what);
    if (known) forget(*known);
    Frames m = encode_disconnect();
    send_to(std::move(identity), m, out);
    ++stats_.disconnects_sent;
}

void BrokerCore::refresh(Worker& w, TimePoint now) {
    // Moving to the tail keeps each list in expiry order: every expiry in a list is now + the same ttl for a
    // `now` that only grows; max() keeps the order even if a caller's clock stepped back.
    auto move_to_tail = [&](auto& list, Duration ttl) {
        TimePoint expiry = ttl.count() > 0 ? now + ttl : TimePoint::max();
        if (Worker* last = list.back(); last && last != &w) expiry = std::max(expiry, last->expiry);
        w.expiry = expiry;
        list.erase(w);
        list.push_back(w);
    };
    if (w.idle)
        move_to_tail(expiry_, ttl_);
    else
        move_to_tail(busy_, config_.busy_timeout);
}

void BrokerCore::make_idle(Worker& w, TimePoint now, Outbox& out) {
    busy_.erase(w);
    w.idle = true;
    refresh(w, now);
    TimePoint beat = now + config_.heartbeat;
    if (Worker* last = beats_.back()) beat = std::max(beat, last->heartbeat_at);
    w.heartbeat_at = beat;
    w.service->idle.push_back(w);
    beats_.push_back(w);
    dispatch(*w.service, now, out);
}

void BrokerCore::send_request(Worker& w, Frame&& client, Frames& body, TimePoint now, Outbox& out) {
    w.idle = false;
    w.service->idle.erase(w);
    beats_.erase(w);
    expiry_.erase(w);
    refresh(w, now);  // into busy_
    ++stats_.dispatched;
    push_request_header(body, std::move(client));
    send_to_worker(w, body, out);
}

void BrokerCore::dispatch(Service& s, TimePoint now, Outbox& out) {
    while (!s.queue.empty() && !s.idle.empty()) {
        Pending& p = s.queue.front();
        send_request(*s.idle.front(), std::move(p.client), p.body, now, out);
        s.queue.pop_front();
        --queued_;
    }
    if (s.full_warned && s.queue.size() < config_.max_queue) {
        s.full_warned = false;
        log::info("service '{}' queue below its limit again", s.name);
    }
}

void BrokerCore::send_to_worker(const Worker& w, Frames& message, Outbox& out) {
    message.push(copy_frame(w.identity));
    out.send(message);
}

void BrokerCore::forget(Worker& w) {
    Service& s = *w.service;
    s.idle.erase(w);
    beats_.erase(w);
    expiry_.erase(w);
    busy_.erase(w);
    workers_.erase(workers_.find(w.identity));  // w is gone after this line
    if (--s.workers == 0 && !s.queue.empty()) orphans_.push_back(s);
    maybe_remove_service(s);
}

void BrokerCore::maybe_remove_service(Service& s) {
    if (s.workers == 0 && s.queue.empty()) {
        log::debug("service '{}' removed (no workers, nothing queued)", s.name);
        orphans_.erase(s);
        services_.erase(services_.find(s.name));
    }
}

BrokerCore::Service* BrokerCore::create_service(std::string_view name) {
    if (services_.size() >= config_.max_services) {
        Service* victim = orphans_.front();
        if (!victim) return nullptr;
        ++stats_.services_evicted;
        stats_.evicted_requests += victim->queue.size();
        log::debug("service '{}' evicted with {} queued requests (max_services)", victim->name,
                   victim->queue.size());
        queued_ -= victim->queue.size();
        victim->queue.clear();
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

void BrokerCore::expire(Worker& w, std::string_view why, Outbox& out) {
    ++stats_.workers_expired;
    log::debug("worker {} of '{}' expired: {}", hex(w.identity), w.service->name, why);
    send_command(w, encode_disconnect(), out);  // if it is only slow, it registers again
    ++stats_.disconnects_sent;
    forget(w);
}

void BrokerCore::tick(TimePoint now, Outbox& out) {
    // Expiry: each list is in expiry order, so the first live worker ends the walk.
    while (Worker* w = expiry_.front()) {
        if (w->expiry > now) break;
        expire(*w, "silent for heartbeat x liveness", out);
    }
    while (Worker* w = busy_.front()) {
        if (w->expiry > now) break;
        expire(*w, "busy and silent for busy_timeout", out);
    }
    // Heartbeats to the idle workers whose heartbeat is due, in due order.
    while (Worker* w = beats_.front()) {
        if (w->heartbeat_at > now) break;
        send_command(*w, encode_heartbeat(), out);
        ++stats_.heartbeats_sent;
        beats_.erase(*w);
        TimePoint beat = now + config_.heartbeat;
        if (Worker* last = beats_.back()) beat = std::max(beat, last->heartbeat_at);
        w->heartbeat_at = beat;
        beats_.push_back(*w);
    }
}

TimePoint BrokerCore::next_deadline() const {
    TimePoint t = TimePoint::max();
    if (Worker* w = expiry_.front()) t = std::min(t, w->expiry);
    if (Worker* w = busy_.front()) t = std::min(t, w->expiry);
    if (Worker* w = beats_.front()) t = std::min(t, w->heartbeat_at);
    return t;
}

void BrokerCore::disconnect_all(Outbox& out) {
    while (Worker* w = expiry_.front()) {
        send_command(*w, encode_disconnect(), out);
        ++stats_.disconnects_sent;
        forget(*w);
    }
    while (Worker* w = busy_.front()) {
        send_command(*w, encode_disconnect(), out);
        ++stats_.disconnects_sent;
        forget(*w);
    }
}

std::optional<BrokerCore::WorkerView> BrokerCore::worker(std::string_view identity) const {
    auto it = workers_.find(identity);
    if (it == workers_.end()) return std::nullopt;
    return WorkerView{it->second.service->name, it->second.idle, it->second.expiry};
}

std::optional<BrokerCore::ServiceView> BrokerCore::service(std::string_view name) const {
    auto it = services_.find(name);
    if (it == services_.end()) return std::nullopt;
    return ServiceView{it->second.workers, it->second.idle.size(), it->second.queue.size()};
}

std::vector<std::string> BrokerCore::expiry_order() const {
    std::vector<std::string> ids;
    expiry_.for_each([&](const Worker& w) { ids.push_back(w.identity); });
    return ids;
}

std::string BrokerCore::check_invariants() const {
    std::string bad;
    auto fail = [&](std::string what) { bad += what + "; "; };
    if (expiry_.size() + busy_.size() != workers_.size()) fail("expiry + busy list sizes != worker count");
    std::size_t idle = 0, queued = 0;
    for (const auto& [name, s] : services_) {
        if (s.name != name) fail("service name mismatch");
        if (s.workers == 0 && s.queue.empty()) fail("empty service '" + name + "' kept");
        if (!s.queue.empty() && !s.idle.empty())
            fail("service '" + name + "' has queued requests and idle workers");
        if (s.queue.size() > config_.max_queue) fail("service '" + name + "' queue over its limit");
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
    }
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
    if (idle != beats_.size()) fail("idle lists and heartbeat list differ in size");
    for (const auto& [id, w] : workers_) {
        if (w.identity != id) fail("worker identity mismatch");
        if (w.idle != expiry_.contains(w)) fail("idle flag disagrees with expiry list");
        if (w.idle == busy_.contains(w)) fail("idle flag disagrees with busy list");
        if (w.idle != w.service->idle.contains(w)) fail("idle flag disagrees with idle list");
        if (w.idle != beats_.contains(w)) fail("idle flag disagrees with heartbeat list");
        if (!services_.contains(w.service->name)) fail("worker of a removed service");
    }
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
    beats_.for_each([&](const Worker& w) {
        if (w.heartbeat_at < last) fail("heartbeat list out of order");
        last = w.heartbeat_at;
    });
    return bad;
}

}  // namespace pirates::majordomo
