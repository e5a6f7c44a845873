#pragma once
// The Lazy Pirate client's logic, without a socket: one request, its attempts and their deadlines, and
// whether a reply answers it. A driver (Client) owns the REQ socket and does what each Action says.
//
//   start(request, now)  -> send                    first attempt on the current socket
//   on_reply(reply, now) -> deliver                 the reply answers the request in flight
//                        -> resend | give_up        it does not: discarded, and the attempt counts as failed
//                                                   (a REQ socket gets one reply per request: waiting on is
//                                                   useless)
//   on_timeout(now)      -> wait                    deadline() not reached yet
//                        -> resend                  close the socket (linger 0), open a new one, send again
//                        -> give_up                 every attempt used: the server is unreachable
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/retry.hpp>

#include <functional>

namespace pirates::lazy_pirate {

// Does `reply` answer `request`? An empty ReplyCheck accepts any reply: on a REQ socket that is reopened
// after every lost reply, whatever arrives is the answer to the request in flight.
using ReplyCheck = std::function<bool(const Frames& request, const Frames& reply)>;

// The check for echo servers (the Guide's lpserver, ours): the reply is the request, frame for frame.
bool same_frames(const Frames& request, const Frames& reply);
inline ReplyCheck echo_check() {
    return same_frames;
}

using pirates::share;  // a copy of a message for resending, sharing large payloads (common/frames.hpp)

class Attempts {
  public:
    enum class Action { wait, send, resend, deliver, give_up };

    explicit Attempts(RetryPolicy policy, ReplyCheck check = {});

    // Begin a new request (a request still in flight is abandoned). Returns send, or give_up when the policy
    // allows no attempt at all.
    Action start(Frames request, TimePoint now);
    Action on_reply(const Frames& reply, TimePoint now);
    Action on_timeout(TimePoint now);

    bool in_flight() const { return in_flight_; }
    TimePoint deadline() const { return state_.deadline(); }
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

const char* to_string(Attempts::Action action);

}  // namespace pirates::lazy_pirate
