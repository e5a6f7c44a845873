#pragma once
// A link to one peer that heartbeats, as a plain state machine (no socket, no clock): when our heartbeat is
// due, when the peer counts as dead (liveness intervals of silence), and when to reconnect (exponential
// back-off with jitter). Used by every worker that heartbeats to a queue or broker (Paranoid Pirate,
// Majordomo); the driver owns the socket and does what tick() says.
//
//   connected: a heartbeat every interval (only sending one moves that timer: incoming traffic never delays
//              it); anything heard from the peer restores full liveness and resets the back-off; each
//              interval of silence takes one off. At zero the peer is presumed dead: close, wait the
//              back-off.
//   waiting:   no socket; at the end of the delay, open a new socket and register again (connected).
//   disconnect(now): the peer told us to go (MDP DISCONNECT): close and reconnect after the back-off.
//   restart(now):    the driver closed and reopened at once (no back-off): connected afresh from `now`.
#include <pirates/common/backoff.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/heartbeat.hpp>

#include <cstdint>
#include <random>

namespace pirates {

struct PeerLinkOptions {
    Duration heartbeat{2500};
    int liveness = 3;
    BackoffPolicy reconnect{Duration{2500}, Duration{32000}, 0.2};
};

// The link's options from any options struct with `heartbeat`, `liveness` and `reconnect` (the workers').
template <typename Options>
PeerLinkOptions peer_link_options(const Options& o) {
    return PeerLinkOptions{o.heartbeat, o.liveness, o.reconnect};
}

struct PeerLinkStats {
    std::uint64_t heartbeats_sent = 0;
    std::uint64_t reconnects = 0;   // sockets opened after the first
    std::uint64_t peer_deaths = 0;  // liveness ran out
    std::uint64_t disconnects = 0;  // the peer told us to go
};

class PeerLink {
  public:
    enum class State { connected, waiting };

    // What the driver must do after tick(), in this order.
    struct Actions {
        bool close_socket = false;    // peer presumed dead or told us to go: close (linger 0)
        bool open_socket = false;     // open a new socket, connect, register (READY)
        bool send_heartbeat = false;  // send one heartbeat
        Duration reconnect_in{0};     // with close_socket: the back-off chosen
    };

    // Starts connected: the driver opens its first socket and registers at `now`.
    PeerLink(PeerLinkOptions options, TimePoint now, std::uint64_t seed = std::random_device{}());

    // Anything from the peer: full liveness, the back-off starts over.
    void heard(TimePoint now);
    // Time we spent not listening (a handler running on the driver's thread) is not the peer's silence:
    // liveness restarts from `now`, the back-off is kept.
    void resume(TimePoint now);
    // The peer told us to go: close now, reconnect after the back-off. Returns the delay.
    Duration disconnect(TimePoint now);
    // The driver closed its socket and opened a new one at once, without waiting a back-off (an MDP worker
    // told to go for the first time registers again now): heartbeat and liveness start afresh from `now`, the
    // back-off is kept (so a peer that keeps refusing us meets disconnect()'s growing delays). A reconnect.
    void restart(TimePoint now);
    Actions tick(TimePoint now);
    TimePoint next_deadline() const;

    State state() const { return state_; }
    bool connected() const { return state_ == State::connected; }
    int liveness_left() const { return liveness_.left(); }
    Duration next_backoff_base() const { return backoff_.base(); }
    const PeerLinkOptions& options() const { return options_; }
    const PeerLinkStats& stats() const { return stats_; }

  private:
    void start_connected(TimePoint now);
    Duration go_waiting(TimePoint now);

    PeerLinkOptions options_;
    State state_ = State::connected;
    HeartbeatTimer heartbeat_;
    LivenessCounter liveness_;
    TimePoint silence_check_;  // when the next silent interval is counted
    TimePoint reconnect_at_{};
    Backoff backoff_;
    PeerLinkStats stats_;
};

}  // namespace pirates
