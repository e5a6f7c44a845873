#include <pirates/common/log.hpp>
#include <pirates/paranoid_pirate/protocol.hpp>
#include <pirates/paranoid_pirate/worker_core.hpp>

#include <algorithm>

namespace pirates::paranoid_pirate {

WorkerCore::WorkerCore(WorkerTiming timing, TimePoint now, std::uint64_t seed)
    : timing_(timing),
      heartbeat_(timing.heartbeat, now),
      liveness_(std::max(timing.liveness, 1)),
      silence_check_(now + timing.heartbeat),
      backoff_(timing.reconnect, seed) {}

void WorkerCore::connected(TimePoint now) {
    state_ = State::connected;
    heartbeat_.restart(now);
    liveness_.heard();
    silence_check_ = now + timing_.heartbeat;
}

std::optional<Frames> WorkerCore::on_message(Frames message, TimePoint now) {
    if (state_ != State::connected) return std::nullopt;  // a late message from a closed socket
    // Any message from the queue proves it alive: full liveness, and the back-off starts over.
    liveness_.heard();
    silence_check_ = now + timing_.heartbeat;
    backoff_.reset();
    auto command = classify_from_queue(message);
    if (!command) {
        ++stats_.invalid;
        log::debug("dropped invalid message from queue: {}", command.error().reason);
        return std::nullopt;
    }
    if (*command == QueueCommand::heartbeat) {
        ++stats_.heartbeats_in;
        return std::nullopt;
    }
    ++stats_.requests;
    return message;
}

WorkerCore::Actions WorkerCore::on_tick(TimePoint now) {
    Actions actions;
    if (state_ == State::waiting) {
        if (now < reconnect_at_) return actions;
        ++stats_.reconnects;
        connected(now);
        actions.open_socket = true;
        return actions;
    }
    while (now >= silence_check_) {
        silence_check_ += timing_.heartbeat;
        if (!liveness_.silent_interval()) {
            actions.close_socket = true;
            actions.reconnect_in = backoff_.next();
            reconnect_at_ = now + actions.reconnect_in;
            state_ = State::waiting;
            return actions;
        }
    }
    if (heartbeat_.due(now)) {
        heartbeat_.sent(now);
        ++stats_.heartbeats_out;
        actions.send_heartbeat = true;
    }
    return actions;
}

void WorkerCore::handled(TimePoint now, bool replied) {
    if (replied) ++stats_.replies;
    if (state_ != State::connected) return;
    liveness_.heard();
    silence_check_ = now + timing_.heartbeat;
}

Frames WorkerCore::make_reply(Frames request, Frames body) {
    std::size_t start = body_start(request);
    Frames reply;
    for (std::size_t i = 0; i < start; ++i) reply.add(request.pop());
    if (body.empty()) reply.add(Frame());
    while (!body.empty()) reply.add(body.pop());
    return reply;
}

TimePoint WorkerCore::next_deadline() const {
    if (state_ == State::waiting) return reconnect_at_;
    return std::min(heartbeat_.next(), silence_check_);
}

}  // namespace pirates::paranoid_pirate
