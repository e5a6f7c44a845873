#include <pirates/common/log.hpp>
#include <pirates/simple_pirate/queue_core.hpp>

namespace pirates::simple_pirate {

void QueueCore::on_message(Channel channel, Frames&& message, TimePoint, Outbox& out) {
    if (channel == kBackend)
        on_backend(message, out);
    else
        on_frontend(message, out);
}

void QueueCore::on_backend(Frames& message, Outbox& out) {
    // [worker-id] "" 0x01   or   [worker-id] "" [client-id] "" reply...
    const bool envelope_ok = message.size() >= 3 && message[1].size() == 0;
    const bool ready = envelope_ok && message.size() == 3 && is_byte(message[2], kReady);
    const bool reply = envelope_ok && message.size() >= 5 && message[3].size() == 0;
    if (!ready && !reply) {
        ++stats_.malformed;
        ++stats_.malformed_from_workers;
        log::debug("backend: dropped a malformed message {}", printable(message));
        return;
    }
    std::string id = message.pop().to_string();
    if (index_.count(id)) {
        // The worker is idle already: it cannot have sent this as a REQ worker. Drop it, keep the worker
        // once.
        ++stats_.protocol_errors;
        log::debug("backend: message from worker {} that is already idle, dropped", hex(id));
        return;
    }
    message.pop();  // ""
    if (ready) {
        ++stats_.readies;
        log::debug("backend: worker {} ready", hex(id));
    } else {
        ++stats_.replies;
        // [client-id] "" reply...
        switch (out.send(message, kFrontend)) {
            case SendResult::sent:
                break;
            case SendResult::peer_gone:
                ++stats_.unroutable;
                ++stats_.replies_to_gone_clients;
                log::debug("frontend: client {} has gone, reply dropped",
                           hex(message.front().to_string_view()));
                break;
            case SendResult::would_block:
                ++stats_.unroutable;
                ++stats_.replies_would_block;
                log::debug("frontend: client {} is not reading, reply dropped",
                           hex(message.front().to_string_view()));
                break;
        }
    }
    worker_idle(std::move(id), out);
}

void QueueCore::worker_idle(std::string id, Outbox& out) {
    idle_.push_back(id);
    index_.emplace(std::move(id), std::prev(idle_.end()));
    // Held requests exist only while no worker is idle: this worker is the one to take the oldest.
    if (!held_.empty()) {
        Frames request = std::move(held_.front());
        held_.pop_front();
        held_bytes_ -= byte_size(request);
        route(request, true, out);
    }
}

void QueueCore::on_frontend(Frames& message, Outbox& out) {
    // [client-id] "" request...
    if (message.size() < 3 || message[0].size() == 0 || message[1].size() != 0) {
        ++stats_.malformed;
        log::debug("frontend: dropped a malformed request {}", printable(message));
        return;
    }
    ++stats_.requests;
    route(message, false, out);
}

void QueueCore::route(Frames& request, bool oldest, Outbox& out) {
    // Workers found gone on the way are forgotten (they are out of the idle list already) and the request
    // goes to the next one. A full pipe counts as gone: a REQ worker holds one request at a time, so a worker
    // whose pipe is full is not one to wait for.
    while (!idle_.empty()) {
        std::string id = std::move(idle_.front());
        idle_.pop_front();
        index_.erase(id);
        request.push(Frame());
        request.push(frame(id));
        ++stats_.dispatched;
        if (out.send(request, kBackend) == SendResult::sent) return;
        // The message is untouched: take the worker's envelope off again.
        ++stats_.unroutable;
        ++stats_.workers_lost;
        log::debug("backend: worker {} has gone; re-routing its request", hex(id));
        request.pop();
        request.pop();
        oldest = true;
    }
    hold(request, oldest);
}

void QueueCore::hold(Frames& request, bool oldest) {
    const std::size_t bytes = byte_size(request);
    if (held_.size() >= max_held_ || bytes > max_held_bytes_ - held_bytes_) {
        // The request offered now is the one dropped: what is held already waits longer for its worker.
        ++stats_.dropped_overflow;
        log::debug("frontend: hold queue full ({} requests, {} bytes), request of {} bytes dropped",
                   held_.size(), held_bytes_, bytes);
        return;
    }
    ++stats_.held;
    held_bytes_ += bytes;
    if (oldest)
        held_.push_front(std::move(request));
    else
        held_.push_back(std::move(request));
}

std::string QueueCore::check_invariants() const {
    if (idle_.size() != index_.size()) return "idle list and index differ in size";
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
        auto found = index_.find(*it);
        if (found == index_.end() || found->second != it) return "idle worker missing from the index";
    }
    if (!idle_.empty() && !held_.empty()) return "requests held while a worker is idle";
    std::size_t bytes = 0;
    for (const Frames& m : held_) bytes += byte_size(m);
    if (bytes != held_bytes_) return "held bytes do not add up";
    return {};
}

}  // namespace pirates::simple_pirate
