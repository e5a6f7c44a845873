#include <pirates/common/log.hpp>
#include <pirates/paranoid_pirate/protocol.hpp>
#include <pirates/paranoid_pirate/queue_core.hpp>

#include <algorithm>

namespace pirates::paranoid_pirate {

QueueCore::QueueCore(QueueConfig config, TimePoint now)
    : config_(config),
      ttl_(config.heartbeat * std::max(config.liveness, 1)),
      heartbeat_(config.heartbeat, now) {}

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

void QueueCore::on_worker_message(Frames message, TimePoint now, Outbox& out) {
    auto identity = pop_identity(message);
    if (!identity || identity->size() == 0) {
        ++stats_.invalid_worker;
        log::debug("dropped worker message without identity");
        return;
    }
    std::string id = identity_key(*identity);
    auto command = classify_from_worker(message);
    // Any message from a worker is a sign of life: it becomes (or stays) idle at the tail, even when what it
    // said is malformed and dropped (6/PPP: "any message from a worker marks it alive and idle").
    refresh(id, now);
    if (!command) {
        ++stats_.invalid_worker;
        log::debug("dropped invalid message from worker {}: {}", hex(id), command.error().reason);
        return;
    }
    switch (*command) {
        case WorkerCommand::ready:
            ++stats_.readies;
            log::debug("worker {} ready", hex(id));
            break;
        case WorkerCommand::heartbeat:
            ++stats_.heartbeats_in;
            break;
        case WorkerCommand::reply:
            ++stats_.replies;
            out.push_back(Output{To::frontend, std::move(message)});
            break;
    }
}

void QueueCore::on_client_message(Frames message, TimePoint now, Outbox& out) {
    // [client-id] "" request...: an identity, an empty delimiter, at least one frame of body.
    if (message.size() < 3 || message[0].size() == 0 || message[1].size() != 0) {
        ++stats_.invalid_client;
        log::debug("dropped invalid client message of {} frame(s)", message.size());
        return;
    }
    purge(now);  // never hand a request to a worker already presumed dead
    if (idle_.empty()) {
        ++stats_.no_worker;
        log::debug("dropped a client request: no idle worker");
        return;
    }
    Idle worker = std::move(idle_.front());
    index_.erase(worker.id);
    idle_.pop_front();
    ++stats_.requests;
    push_identity(message, Frame(worker.id.data(), worker.id.size()));
    out.push_back(Output{To::backend, std::move(message)});
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

void QueueCore::on_tick(TimePoint now, Outbox& out) {
    purge(now);
    if (!heartbeat_.due(now)) return;
    heartbeat_.sent(now);
    for (const Idle& w : idle_) {
        Frames hb = heartbeat_message();
        push_identity(hb, Frame(w.id.data(), w.id.size()));
        out.push_back(Output{To::backend, std::move(hb)});
        ++stats_.heartbeats_out;
    }
}

void QueueCore::on_unreachable(std::string_view worker_id) {
    ++stats_.unreachable;
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
