#pragma once
// Fail-over over a list of servers, as a plain state machine (no socket, no clock): Binary Star's client
// rule, shared by every client that takes `--connect A,B`.
//
//   one endpoint:   on_silence() does nothing: the caller reconnects to the same server and resends at once
//                   (the Lazy Pirate rule; no settle delay).
//   several:        on_silence(now) starts settling: the caller closes (or stops using) the silent server's
//                   socket and waits until settled_at(). The pause is Binary Star's: a passive server takes
//                   over only once its peer has been silent for two heartbeats, so asking it sooner would
//                   only be refused. tick(now) at or after settled_at() switches to the next server in the
//                   list (round robin) and says so: the caller opens a socket to current() and resends.
//   silence while settling starts nothing new: one switch per settle.
#include <pirates/common/clock.hpp>

#include <cstddef>
#include <cstdint>

namespace pirates {

class FailoverCore {
  public:
    // `endpoints` servers (at least one), `settle` the pause before each switch.
    FailoverCore(std::size_t endpoints, Duration settle)
        : count_(endpoints == 0 ? 1 : endpoints), settle_(settle) {}

    // The server to talk to now: an index into the caller's list.
    std::size_t current() const { return current_; }
    std::size_t count() const { return count_; }
    bool can_fail_over() const { return count_ > 1; }
    Duration settle() const { return settle_; }

    // An attempt on current() went unanswered at `now`. True when a fail-over begins (several servers): the
    // caller waits until settled_at(), then calls tick(). False with one server (resend to it at once), or
    // when already settling.
    bool on_silence(TimePoint now) {
        if (!can_fail_over() || settling_) return false;
        settling_ = true;
        settled_at_ = now + settle_;
        return true;
    }
    bool settling() const { return settling_; }
    // When tick() switches; TimePoint::max() when not settling.
    TimePoint settled_at() const { return settling_ ? settled_at_ : TimePoint::max(); }
    // Switch to the next server once the settle delay is over. True when it switched (now is current()).
    bool tick(TimePoint now) {
        if (!settling_ || now < settled_at_) return false;
        settling_ = false;
        current_ = (current_ + 1) % count_;
        ++failovers_;
        return true;
    }
    // Switches made so far.
    std::uint64_t failovers() const { return failovers_; }

  private:
    std::size_t count_;
    Duration settle_;
    std::size_t current_ = 0;
    bool settling_ = false;
    TimePoint settled_at_{};
    std::uint64_t failovers_ = 0;
};

}  // namespace pirates
