#include <pirates/common/log.hpp>
#include <pirates/simple_pirate/queue.hpp>

namespace pirates::simple_pirate {

void Queue::on_backend(Frames message, std::vector<Outgoing>& out) {
    // [worker-id] "" 0x01   or   [worker-id] "" [client-id] "" reply...
    const bool envelope_ok = message.size() >= 3 && message[1].size() == 0;
    const bool ready = envelope_ok && message.size() == 3 && is_byte(message[2], kReady);
    const bool reply = envelope_ok && message.size() >= 5 && message[3].size() == 0;
    if (!ready && !reply) {
        ++counters_.invalid_backend;
        log::debug("backend: dropped a malformed message {}", printable(message));
        return;
    }
    std::string id = message.pop().to_string();
    if (index_.count(id)) {
        // The worker is idle already: it cannot have sent this as a REQ worker. Drop it, keep the worker
        // once.
        ++counters_.protocol_errors;
        log::debug("backend: message from worker {} that is already idle, dropped", hex(id));
        return;
    }
    message.pop();  // ""
    if (ready) {
        ++counters_.ready;
        log::debug("backend: worker {} ready", hex(id));
    } else {
        ++counters_.replies;
        out.push_back({Outgoing::To::frontend, std::move(message)});  // [client-id] "" reply...
    }
    worker_idle(std::move(id), out);
}

void Queue::worker_idle(std::string id, std::vector<Outgoing>& out) {
    idle_.push_back(id);
    index_.emplace(std::move(id), std::prev(idle_.end()));
    // Held requests exist only while no worker is idle: this worker is the one to take the oldest.
    if (!held_.empty()) {
        Frames request = std::move(held_.front());
        held_.pop_front();
        held_bytes_ -= byte_size(request);
        route(std::move(request), true, out);
    }
}

void Queue::on_frontend(Frames message, std::vector<Outgoing>& out) {
    // [client-id] "" request...
    if (message.size() < 3 || message[0].size() == 0 || message[1].size() != 0) {
        ++counters_.invalid_frontend;
        log::debug("frontend: dropped a malformed request {}", printable(message));
        return;
    }
    ++counters_.requests;
    route(std::move(message), false, out);
}

void Queue::route(Frames request, bool oldest, std::vector<Outgoing>& out) {
    if (idle_.empty()) return hold(std::move(request), oldest);
    std::string id = std::move(idle_.front());
    idle_.pop_front();
    index_.erase(id);
    request.push(Frame());
    request.push(frame(id));
    ++counters_.dispatched;
    out.push_back({Outgoing::To::backend, std::move(request)});
}

void Queue::hold(Frames request, bool oldest) {
    const std::size_t bytes = byte_size(request);
    if (held_.size() >= max_held_ || bytes > max_held_bytes_ - held_bytes_) {
        // The request offered now is the one dropped: what is held already waits longer for its worker.
        ++counters_.dropped_overflow;
        log::debug("frontend: hold queue full ({} requests, {} bytes), request of {} bytes dropped",
                   held_.size(), held_bytes_, bytes);
        return;
    }
    ++counters_.held;
    held_bytes_ += bytes;
    if (oldest)
        held_.push_front(std::move(request));
    else
        held_.push_back(std::move(request));
}

void Queue::on_undeliverable(Frames dispatch, std::vector<Outgoing>& out) {
    // [worker-id] "" [client-id] "" request...: what route() produced.
    if (dispatch.size() < 2) return;
    ++counters_.workers_lost;
    log::debug("backend: worker {} has gone; re-routing its request", hex(dispatch.front().to_string_view()));
    dispatch.pop();
    dispatch.pop();
    route(std::move(dispatch), true, out);
}

}  // namespace pirates::simple_pirate
