#include <pirates/binary_star/server_core.hpp>

#include <fmt/format.h>

namespace pirates::binary_star {

std::string_view name(State s) {
    switch (s) {
        case State::primary:
            return "PRIMARY";
        case State::backup:
            return "BACKUP";
        case State::active:
            return "ACTIVE";
        case State::passive:
            return "PASSIVE";
    }
    return "?";
}

std::string_view name(Event e) {
    switch (e) {
        case Event::peer_primary:
            return "PEER_PRIMARY";
        case Event::peer_backup:
            return "PEER_BACKUP";
        case Event::peer_active:
            return "PEER_ACTIVE";
        case Event::peer_passive:
            return "PEER_PASSIVE";
        case Event::client_request:
            return "CLIENT_REQUEST";
        case Event::lease_lost:
            return "LEASE_LOST";
    }
    return "?";
}

Result<Step> transition(State current, Event event, bool peer_expired) {
    const Step stay{current, true};
    switch (current) {
        case State::primary:
            if (event == Event::peer_primary)
                return error("fatal: dual primaries (the peer is PRIMARY too: both started --primary)");
            if (event == Event::peer_backup) return Step{State::active, true};
            if (event == Event::peer_active) return Step{State::passive, true};
            if (event == Event::client_request)
                return peer_expired ? Step{State::active, true} : Step{State::primary, false};
            return stay;
        case State::backup:
            if (event == Event::peer_backup)
                return error("fatal: dual backups (the peer is BACKUP too: both started --backup)");
            if (event == Event::peer_active) return Step{State::passive, true};
            if (event == Event::client_request) return Step{State::backup, false};
            return stay;
        case State::active:
            if (event == Event::peer_active)
                return error("fatal: dual actives (peer is ACTIVE while we are ACTIVE)");
            return stay;
        case State::passive:
            if (event == Event::peer_primary || event == Event::peer_backup) return Step{State::active, true};
            if (event == Event::peer_passive)
                return error("fatal: dual passives (peer is PASSIVE while we are PASSIVE)");
            if (event == Event::client_request)
                return peer_expired ? Step{State::active, true} : Step{State::passive, false};
            return stay;
    }
    return error("unknown state");
}

Result<Step> witnessed_transition(State current, Event event, const WitnessFacts& f) {
    const Step stay{current, true};
    switch (current) {
        case State::primary:
            if (event == Event::client_request)
                return f.peer_expired && f.lease ? Step{State::active, true} : Step{State::primary, false};
            break;
        case State::backup:
            break;
        case State::active:
            if (event == Event::peer_active) return f.lease ? stay : Step{State::passive, true};
            if (event == Event::lease_lost)
                return f.peer_silent && !f.lease ? Step{State::passive, true} : stay;
            if (event == Event::client_request)
                return f.peer_silent && !f.lease ? Step{State::passive, false} : stay;
            return stay;
        case State::passive:
            // Two passives that hear each other (after a healed cut, or an active's lost lease): the primary
            // resumes at once, as a PRIMARY hearing BACKUP does; no lease needed, the peer has just spoken.
            if (event == Event::peer_passive) return f.primary ? Step{State::active, true} : stay;
            if (event == Event::client_request) {
                // Take over from a peer gone, with the lease; or, the primary, resume next to a peer heard
                // to be passive (both passive after a healed cut or a lost lease: no lease needed, the peer
                // is alive, as in a healthy pair).
                const bool take_over = f.peer_expired && f.lease;
                const bool resume = f.primary && !f.peer_silent && f.peer == State::passive;
                return take_over || resume ? Step{State::active, true} : Step{State::passive, false};
            }
            break;
    }
    if (event == Event::lease_lost) return stay;
    return transition(current, event, f.peer_expired);  // the rest is the Guide's
}

ServerCore::ServerCore(State initial, Duration heartbeat, TimePoint peer_expiry)
    : state_(initial),
      role_(initial),
      heartbeat_(heartbeat),
      peer_expiry_(peer_expiry),
      heard_expiry_(peer_expiry) {}

WitnessFacts ServerCore::facts(TimePoint now) const {
    return WitnessFacts{peer_expired(now), peer_silent(now), lease_held(now), peer_, role_ == State::primary};
}

bool ServerCore::wants_lease(TimePoint now) const {
    if (!witnessed_) return false;
    switch (state_) {
        case State::active:
            return true;
        case State::primary:
        case State::passive:
            return peer_expired(now);
        case State::backup:
            return false;
    }
    return false;
}

bool ServerCore::awake(TimePoint now) {
    const bool stalled = last_awake_ && now - *last_awake_ > heartbeat_;
    if (!last_awake_ || now > *last_awake_) last_awake_ = now;
    if (stalled && peer_expiry_ < now + 2 * heartbeat_) peer_expiry_ = now + 2 * heartbeat_;
    return stalled;
}

Result<Step> ServerCore::on_event(Event event, TimePoint now) {
    if (event != Event::client_request && event != Event::lease_lost) {
        peer_expiry_ = now + 2 * heartbeat_;
        heard_expiry_ = peer_expiry_;
        peer_ = static_cast<State>(static_cast<int>(event));
    }
    auto step = witnessed_ ? witnessed_transition(state_, event, facts(now))
                           : transition(state_, event, peer_expired(now));
    if (step) state_ = step->next;
    return step;
}

Frame encode_state(State s) {
    return frame(fmt::format("{}", static_cast<int>(s)));
}

Result<State> decode_state(const Frames& message) {
    if (message.size() != 1) return error(fmt::format("state message of {} frames (want 1)", message.size()));
    const Frame& f = message[0];
    if (f.size() != 1) return error(fmt::format("state frame of {} bytes (want 1)", f.size()));
    const char c = *static_cast<const char*>(f.data());
    if (c < '1' || c > '4') return error(fmt::format("state frame '{}' is not 1..4", printable(f)));
    return static_cast<State>(c - '0');
}

}  // namespace pirates::binary_star
