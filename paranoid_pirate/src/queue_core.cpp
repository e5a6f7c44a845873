#include <pirates/common/log.hpp>
#include <pirates/paranoid_pirate/protocol.hpp>
#include <pirates/paranoid_pirate/queue_core.hpp>

#include <algorithm>

namespace pirates::paranoid_pirate {

QueueCore::QueueCore(QueueOptions options, TimePoint now)
    : options_(options),
      ttl_(options.heartbeat * std::max(options.liveness, 1)),
      heartbeat_(options.heartbeat, now) {}

void QueueCore::refresh(std::string id, TimePoint now) {
    const TimePoint expiry = now + ttl_;
    auto found = index_.find(id);
    if (found != index_.end()) {
        // Move the existing node to the tail: never a second entry for the same worker.
        found->second->expiry = expiry;
        idle_.splice(idle_.end(), idle_, found->second);
        return;
    }
    idle_.push_back(Idle{id, expiry});
    index_.emplace(std::move(id), std::prev(idle_.end()));
}

void QueueCore::forget(std::string_view id) {
    auto found = index_.find(std::string(id));
    if (found == index_.end()) return;
    idle_.erase(found->second);
    index_.erase(found);
}

void QueueCore::on_message(Channel channel, Frames&& message, TimePoint now, Outbox& out) {
    if (channel == kBackend)
        on_worker_message(message, now, out);
    else
        on_client_message(message, now, out);
}

void QueueCore::on_worker_message(Frames& message, TimePoint now, Outbox& out) {
    auto identity = pop_identity(message);
    if (!identity || identity->size() == 0) {
        ++stats_.malformed;
        ++stats_.malformed_from_workers;
        log::debug("dropped worker message without identity");
        return;
    }
    std::string id = identity_key(*identity);
    auto command = classify_from_worker(message);
    // Any message from a worker is a sign of life: it becomes (or stays) idle at the tail, even when what it
    // said is malformed and dropped (6/PPP: "any message from a worker marks it alive and idle").
    refresh(id, now);
    if (!command) {
        ++stats_.malformed;
        ++stats_.malformed_from_workers;
        log::debug("dropped invalid message from worker {}: {}", hex(id), command.error().reason);
        return;
    }
    switch (*command) {
        case WorkerCommand::ready:
            ++stats_.readies;
            log::debug("worker {} ready", hex(id));
            break;
        case WorkerCommand::heartbeat:
            ++stats_.heartbeats_received;
            break;
        case WorkerCommand::reply:
            ++stats_.replies;
            reply(message, out);
            break;
    }
}

void QueueCore::reply(Frames& message, Outbox& out) {
    switch (out.send(message, kFrontend)) {
        case SendResult::sent:
            break;
        case SendResult::peer_gone:
            ++stats_.replies_to_gone_clients;
            log::debug("reply dropped: client {} has gone", hex(message[0].to_string_view()));
            break;
        case SendResult::would_block:
            ++stats_.replies_would_block;
            log::debug("reply dropped: client {} is not reading", hex(message[0].to_string_view()));
            break;
    }
}

void QueueCore::on_client_message(Frames& message, TimePoint now, Outbox& out) {
    // [client-id] "" request...: an identity, an empty delimiter, at least one frame of body.
    if (message.size() < 3 || message[0].size() == 0 || message[1].size() != 0) {
        ++stats_.malformed;
        log::debug("dropped invalid client message of {} frame(s)", message.size());
        return;
    }
    purge(now);  // never hand a request to a worker already presumed dead
    if (idle_.empty()) {
        ++stats_.no_worker;
        log::debug("dropped a client request: no idle worker");
        return;
    }
    // A worker that cannot take it (gone, or its pipe full) is passed over for the next idle one.
    while (!idle_.empty()) {
        Idle worker = std::move(idle_.front());
        index_.erase(worker.id);
        idle_.pop_front();
        ++stats_.requests;
        push_identity(message, Frame(worker.id.data(), worker.id.size()));
        const SendResult result = out.send(message, kBackend);
        if (result == SendResult::sent) return;
        if (result == SendResult::peer_gone) {
            ++stats_.unroutable;
            log::debug("worker {} unreachable", hex(worker.id));
        }
        message.pop();  // untouched by the failed send: take the worker's identity off again
    }
    // Otherwise the client retries.
    log::debug("request dropped: worker gone and no other idle");
}

void QueueCore::purge(TimePoint now) {
    // The list is in expiry order: stop at the first worker still alive.
    while (!idle_.empty() && idle_.front().expiry <= now) {
        log::info("worker {} expired", hex(idle_.front().id));
        ++stats_.expired;
        index_.erase(idle_.front().id);
        idle_.pop_front();
    }
}

std::string QueueCore::check_invariants() const {
    std::string bad;
    if (index_.size() != idle_.size()) bad += "index and idle list sizes differ; ";
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
        auto found = index_.find(it->id);
        if (found == index_.end() || found->second != it) bad += "idle worker not indexed to its node; ";
        if (it != idle_.begin() && std::prev(it)->expiry > it->expiry)
            bad += "idle list not in expiry order; ";
    }
    return bad;
}

void QueueCore::tick(TimePoint now, Outbox& out) {
    purge(now);
    if (!heartbeat_.due(now)) return;
    heartbeat_.sent(now);
    for (auto it = idle_.begin(); it != idle_.end();) {
        auto worker = it++;  // the send may forget this worker: step past it first
        Frames hb = heartbeat_message();
        push_identity(hb, Frame(worker->id.data(), worker->id.size()));
        ++stats_.heartbeats_sent;
        if (out.send(hb, kBackend) == SendResult::peer_gone) {
            ++stats_.unroutable;
            log::debug("worker {} unreachable", hex(worker->id));
            index_.erase(worker->id);
            idle_.erase(worker);
        }
    }
}

void QueueCore::on_unroutable(std::string_view worker_id) {
    ++stats_.unroutable;
    log::debug("worker {} unreachable", hex(worker_id));
    forget(worker_id);
}

TimePoint QueueCore::next_deadline() const {
    TimePoint next = heartbeat_.next();
    if (!idle_.empty()) next = std::min(next, idle_.front().expiry);
    return next;
}

std::vector<std::string> QueueCore::idle_workers() const {
    std::vector<std::string> ids;
    ids.reserve(idle_.size());
    for (const Idle& w : idle_) ids.push_back(w.id);
    return ids;
}

std::optional<TimePoint> QueueCore::expiry_of(std::string_view worker_id) const {
    auto found = index_.find(std::string(worker_id));
    if (found == index_.end()) return std::nullopt;
    return found->second->expiry;
}

}  // namespace pirates::paranoid_pirate
