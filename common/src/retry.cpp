#include <pirates/common/retry.hpp>

namespace pirates {

bool same_frames(const Frames& request, const Frames& reply) {
    if (request.size() != reply.size()) return false;
    for (std::size_t i = 0; i < request.size(); ++i)
        if (request[i].to_string_view() != reply[i].to_string_view()) return false;
    return true;
}

RetryCore::RetryCore(RetryPolicy policy, ReplyCheck check)
    : policy_(policy), check_(std::move(check)), state_(policy) {}

RetryCore::Action RetryCore::start(Frames request, TimePoint now) {
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

RetryCore::Action RetryCore::next_attempt(TimePoint now) {
    if (state_.begin_attempt(now)) return Action::resend;
    in_flight_ = false;
    return Action::give_up;
}

RetryCore::Action RetryCore::on_reply(const Frames& reply, TimePoint now) {
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

RetryCore::Action RetryCore::on_timeout(TimePoint now) {
    if (!in_flight_ || !state_.timed_out(now)) return Action::wait;
    return next_attempt(now);
}

void RetryCore::rearm(TimePoint now) {
    if (in_flight_) state_.restart(now);
}

const char* name(RetryCore::Action action) {
    switch (action) {
        case RetryCore::Action::wait:
            return "wait";
        case RetryCore::Action::send:
            return "send";
        case RetryCore::Action::resend:
            return "resend";
        case RetryCore::Action::deliver:
            return "deliver";
        case RetryCore::Action::give_up:
            return "give_up";
    }
    return "?";
}

}  // namespace pirates
