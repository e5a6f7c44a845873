#include <pirates/lazy_pirate/attempts.hpp>

namespace pirates::lazy_pirate {

bool same_frames(const Frames& request, const Frames& reply) {
    if (request.size() != reply.size()) return false;
    for (std::size_t i = 0; i < request.size(); ++i)
        if (request[i].to_string_view() != reply[i].to_string_view()) return false;
    return true;
}

Attempts::Attempts(RetryPolicy policy, ReplyCheck check)
    : policy_(policy), check_(std::move(check)), state_(policy) {}

Attempts::Action Attempts::start(Frames request, TimePoint now) {
    request_ = std::move(request);
    state_ = RetryState(policy_);
    discarded_ = 0;
    in_flight_ = true;
    if (!state_.begin_attempt(now)) {
        in_flight_ = false;
        return Action::give_up;
    }
    return Action::send;
}

Attempts::Action Attempts::next_attempt(TimePoint now) {
    if (state_.begin_attempt(now)) return Action::resend;
    in_flight_ = false;
    return Action::give_up;
}

Attempts::Action Attempts::on_reply(const Frames& reply, TimePoint now) {
    if (!in_flight_) {
        ++discarded_;
        return Action::wait;
    }
    if (!check_ || check_(request_, reply)) {
        in_flight_ = false;
        return Action::deliver;
    }
    ++discarded_;
    return next_attempt(now);
}

Attempts::Action Attempts::on_timeout(TimePoint now) {
    if (!in_flight_ || !state_.timed_out(now)) return Action::wait;
    return next_attempt(now);
}

const char* to_string(Attempts::Action action) {
    switch (action) {
        case Attempts::Action::wait:
            return "wait";
        case Attempts::Action::send:
            return "send";
        case Attempts::Action::resend:
            return "resend";
        case Attempts::Action::deliver:
            return "deliver";
        case Attempts::Action::give_up:
            return "give_up";
    }
    return "?";
}

}  // namespace pirates::lazy_pirate
