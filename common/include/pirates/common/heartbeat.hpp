#pragma once
// Heartbeat timing and peer liveness, shared by every pattern that heartbeats (PPP, MDP, Binary Star, FLP).
#include <pirates/common/clock.hpp>

namespace pirates {

// When our next heartbeat is due. Only sending one moves it: incoming traffic does not delay our heartbeats
// (a timer reset by every message drifts, and stops entirely under load).
class HeartbeatTimer {
  public:
    HeartbeatTimer(Duration interval, TimePoint now) : interval_(interval), next_(now + interval) {}
    bool due(TimePoint now) const { return now >= next_; }
    TimePoint next() const { return next_; }
    Duration interval() const { return interval_; }
    // Record a heartbeat sent at `now`; the next one is an interval later. If we fell far behind (a stalled
    // process), we do not send a burst to catch up.
    void sent(TimePoint now) {
        next_ += interval_;
        if (next_ <= now) next_ = now + interval_;
    }
    void restart(TimePoint now) { next_ = now + interval_; }

  private:
    Duration interval_;
    TimePoint next_;
};

// The worker-side counter of the Guide: starts at `liveness`, any traffic from the peer resets it, each
// interval of silence takes one off; at zero the peer is presumed dead.
class LivenessCounter {
  public:
    explicit LivenessCounter(int liveness) : max_(liveness), left_(liveness) {}
    void heard() { left_ = max_; }
    // One interval passed in silence. Returns true while the peer still counts as alive.
    bool silent_interval() {
        if (left_ > 0) --left_;
        return left_ > 0;
    }
    bool alive() const { return left_ > 0; }
    int left() const { return left_; }
    int max() const { return max_; }

  private:
    int max_;
    int left_;
};

// The broker-side view: a peer is alive until interval x liveness after we last heard from it.
class PeerExpiry {
  public:
    PeerExpiry(Duration interval, int liveness, TimePoint now)
        : ttl_(interval * liveness), expiry_(now + ttl_) {}
    void heard(TimePoint now) { expiry_ = now + ttl_; }
    bool expired(TimePoint now) const { return now >= expiry_; }
    TimePoint expiry() const { return expiry_; }
    Duration ttl() const { return ttl_; }

  private:
    Duration ttl_;
    TimePoint expiry_;
};

}  // namespace pirates
