#pragma once
// Retry for request-reply clients: the policy (how long one attempt may take, how many attempts there are)
// and RetryCore, the one retry machine every synchronous client drives (Lazy Pirate, Majordomo, Binary Star,
// Freelance model 1, Titanic).
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>

#include <functional>

namespace pirates {

struct RetryPolicy {
    Duration timeout{2500};
    int attempts = 3;
};

// Tracks one request's attempts against a policy.
class RetryState {
  public:
    explicit RetryState(RetryPolicy policy) : policy_(policy) {}
    // Begin an attempt at `now`. Returns false when every attempt is used up.
    bool begin_attempt(TimePoint now) {
        if (used_ >= policy_.attempts) return false;
        ++used_;
        deadline_ = now + policy_.timeout;
        return true;
    }
    // The attempt in flight went out at `now`: its deadline counts from there.
    void restart(TimePoint now) { deadline_ = now + policy_.timeout; }
    bool timed_out(TimePoint now) const { return now >= deadline_; }
    bool exhausted() const { return used_ >= policy_.attempts; }
    int attempts_used() const { return used_; }
    int retries() const { return used_ > 0 ? used_ - 1 : 0; }
    TimePoint deadline() const { return deadline_; }
    const RetryPolicy& policy() const { return policy_; }

  private:
    RetryPolicy policy_;
    int used_ = 0;
    TimePoint deadline_{};
};

// Does `reply` answer `request`? An empty ReplyCheck accepts any reply: on a REQ socket that is reopened
// after every lost reply, whatever arrives is the answer to the request in flight.
using ReplyCheck = std::function<bool(const Frames& request, const Frames& reply)>;

// The check for echo servers: the reply is the request, frame for frame.
bool same_frames(const Frames& request, const Frames& reply);
inline ReplyCheck echo_check() {
    return same_frames;
}

// One request's attempts and their deadlines, and whether a reply answers it; no socket. The driver does what
// each Action says:
//
//   start(request, now)  -> send                    first attempt
//   on_reply(reply, now) -> deliver                 the reply answers the request in flight
//                        -> resend | give_up        it does not: discarded, and the attempt counts as failed
//                                                   (a REQ socket gets one reply per request: waiting on is
//                                                   useless)
//   on_timeout(now)      -> wait                    deadline() not reached yet
//                        -> resend                  reopen (or switch server) and send again
//                        -> give_up                 every attempt used
//   rearm(now)                                      a driver that pauses before it resends (Binary Star's
//                                                   settle delay) says when the resend went out
class RetryCore {
  public:
    enum class Action { wait, send, resend, deliver, give_up };

    explicit RetryCore(RetryPolicy policy, ReplyCheck check = {});

    // Begin a new request (a request still in flight is abandoned). Returns send, or give_up when the policy
    // allows no attempt at all.
    Action start(Frames request, TimePoint now);
    Action on_reply(const Frames& reply, TimePoint now);
    Action on_timeout(TimePoint now);
    // The attempt in flight was sent at `now`, later than the action that began it: its deadline counts from
    // `now`, so a pause before a resend does not eat into the attempt's timeout. No effect when nothing is in
    // flight.
    void rearm(TimePoint now);

    bool in_flight() const { return in_flight_; }
    TimePoint deadline() const { return state_.deadline(); }
    TimePoint next_deadline() const { return in_flight_ ? state_.deadline() : TimePoint::max(); }
    const Frames& request() const { return request_; }
    // Take the request back once it is over (delivered or given up), without copying it.
    Frames take_request() { return std::move(request_); }

    int attempts_used() const { return state_.attempts_used(); }
    int discarded() const { return discarded_; }
    const RetryPolicy& policy() const { return policy_; }

  private:
    Action next_attempt(TimePoint now);

    RetryPolicy policy_;
    ReplyCheck check_;
    RetryState state_;
    Frames request_;
    bool in_flight_ = false;
    int discarded_ = 0;
};

const char* name(RetryCore::Action action);

}  // namespace pirates
