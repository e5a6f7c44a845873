#pragma once
// The Paranoid Pirate worker's logic as a plain state machine: heartbeats, liveness, reconnect back-off. The
// driver (Worker) owns the DEALER socket and does what this says: open a socket and send READY, send a
// heartbeat, close the socket, hand a request to the user's handler.
//
//   connected: a HEARTBEAT every interval (only sending one moves that timer); any message from the queue
//              resets liveness and the back-off; each interval of silence takes one off liveness. At zero the
//              queue is presumed dead: close, wait the back-off delay.
//   waiting:   no socket; at the end of the delay, open a new socket and send READY (connected again).
#include <pirates/common/backoff.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/heartbeat.hpp>

#include <cstdint>
#include <optional>

namespace pirates::paranoid_pirate {

struct WorkerTiming {
    Duration heartbeat{1000};
    int liveness = 3;
    // Reconnect delay: from `initial`, doubled after each failed attempt up to `max`, with jitter.
    BackoffPolicy reconnect{Duration{1000}, Duration{32000}, 0.2};
};

struct WorkerStats {
    std::uint64_t requests = 0;
    std::uint64_t replies = 0;
    std::uint64_t heartbeats_in = 0;
    std::uint64_t heartbeats_out = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t invalid = 0;
};

class WorkerCore {
  public:
    enum class State { connected, waiting };

    // What the driver must do after a tick, in this order.
    struct Actions {
        bool close_socket = false;    // queue presumed dead: close (linger 0)
        bool open_socket = false;     // open a new socket, connect, send ready_message()
        bool send_heartbeat = false;  // send heartbeat_message()
        Duration reconnect_in{0};     // with close_socket: the back-off chosen
    };

    // The worker starts connected: the driver opens its first socket and sends READY at `now`.
    WorkerCore(WorkerTiming timing, TimePoint now, std::uint64_t seed = std::random_device{}());

    // A message from the queue. Returns the request (envelope and body, as received) when it is one; nullopt
    // for a heartbeat or an invalid message (counted and dropped). Any message counts as hearing the queue.
    std::optional<Frames> on_message(Frames message, TimePoint now);
    // Heartbeats, liveness, reconnection. Call at next_deadline() (earlier is harmless).
    Actions on_tick(TimePoint now);
    // Turn the handler's reply body into the message for the queue: the request's envelope, then the body.
    // `request` is the message on_message() returned (its body frames are dropped).
    static Frames make_reply(Frames request, Frames body);
    // The handler finished at `now` (replied or not). Time spent handling is not silence from the queue: the
    // queue does not heartbeat a busy worker, so liveness restarts from the moment the worker is listening
    // again.
    void handled(TimePoint now, bool replied);

    TimePoint next_deadline() const;
    State state() const { return state_; }
    int liveness_left() const { return liveness_.left(); }
    // The base of the next back-off delay (before jitter): tells whether it was reset.
    Duration next_backoff_base() const { return backoff_.base(); }
    const WorkerStats& stats() const { return stats_; }
    const WorkerTiming& timing() const { return timing_; }

  private:
    void connected(TimePoint now);

    WorkerTiming timing_;
    State state_ = State::connected;
    HeartbeatTimer heartbeat_;
    LivenessCounter liveness_;
    TimePoint silence_check_;  // when the next silent interval is counted
    TimePoint reconnect_at_{};
    Backoff backoff_;
    WorkerStats stats_;
};

}  // namespace pirates::paranoid_pirate
