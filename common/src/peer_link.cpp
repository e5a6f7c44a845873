#include <pirates/common/peer_link.hpp>

#include <algorithm>

namespace pirates {

PeerLink::PeerLink(PeerLinkOptions options, TimePoint now, std::uint64_t seed)
    : options_(options),
      heartbeat_(options.heartbeat, now),
      liveness_(std::max(options.liveness, 1)),
      silence_check_(now + options.heartbeat),
      backoff_(options.reconnect, seed) {}

void PeerLink::start_connected(TimePoint now) {
    state_ = State::connected;
    heartbeat_.restart(now);
    liveness_.heard();
    silence_check_ = now + options_.heartbeat;
}

void PeerLink::heard(TimePoint now) {
    if (state_ != State::connected) return;  // late news from a socket already closed
    liveness_.heard();
    silence_check_ = now + options_.heartbeat;
    backoff_.reset();
}

void PeerLink::resume(TimePoint now) {
    if (state_ != State::connected) return;
    liveness_.heard();
    silence_check_ = now + options_.heartbeat;
}

Duration PeerLink::go_waiting(TimePoint now) {
    Duration delay = backoff_.next();
    reconnect_at_ = now + delay;
    state_ = State::waiting;
    return delay;
}

Duration PeerLink::disconnect(TimePoint now) {
    ++stats_.disconnects;
    return go_waiting(now);
}

void PeerLink::restart(TimePoint now) {
    ++stats_.reconnects;
    start_connected(now);
}

PeerLink::Actions PeerLink::tick(TimePoint now) {
    Actions actions;
    if (state_ == State::waiting) {
        if (now < reconnect_at_) return actions;
        ++stats_.reconnects;
        start_connected(now);
        actions.open_socket = true;
        return actions;
    }
    while (now >= silence_check_) {
        silence_check_ += options_.heartbeat;
        if (!liveness_.silent_interval()) {
            ++stats_.peer_deaths;
            actions.close_socket = true;
            actions.reconnect_in = go_waiting(now);
            return actions;
        }
    }
    if (heartbeat_.due(now)) {
        heartbeat_.sent(now);
        ++stats_.heartbeats_sent;
        actions.send_heartbeat = true;
    }
    return actions;
}

TimePoint PeerLink::next_deadline() const {
    if (state_ == State::waiting) return reconnect_at_;
    return std::min(heartbeat_.next(), silence_check_);
}

}  // namespace pirates
