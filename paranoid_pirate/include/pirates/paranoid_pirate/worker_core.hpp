#pragma once
// The Paranoid Pirate worker's logic as a plain state machine (no socket, no clock): READY on every new
// connection, what a message from the queue is (HEARTBEAT, a request to hand to the caller, or invalid), and
// the reply that goes back with the request's envelope. Heartbeats, liveness and the reconnect back-off are
// common's PeerLink. The driver (Worker) owns the DEALER socket and does what this says: open a socket (then
// on_connected: READY), close it, pass messages both ways.
//
//   connected: a HEARTBEAT every interval (only sending one moves that timer); any message from the queue
//              restores liveness and resets the back-off; each interval of silence takes one off liveness. At
//              zero the queue is presumed dead: close, wait the back-off delay.
//   waiting:   no socket; at the end of the delay, open a new socket and send READY (connected again).
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/outbox.hpp>
#include <pirates/common/peer_link.hpp>

#include <cstdint>
#include <optional>
#include <random>

namespace pirates::paranoid_pirate {

struct WorkerTiming {
    Duration heartbeat{1000};
    int liveness = 3;
    // Reconnect delay: from `initial`, doubled after each failed attempt up to `max`, with jitter.
    BackoffPolicy reconnect{Duration{1000}, Duration{32000}, 0.2};
};

struct WorkerStats {
    std::uint64_t requests = 0;             // requests handed to the caller
    std::uint64_t replies = 0;              // replies sent
    std::uint64_t unroutable = 0;           // replies that could not be sent (socket closed or full)
    std::uint64_t malformed = 0;            // messages from the queue dropped as invalid
    std::uint64_t heartbeats_sent = 0;      //
    std::uint64_t heartbeats_received = 0;  //
    std::uint64_t reconnects = 0;           // sockets opened after the first
    std::uint64_t expired = 0;              // the queue presumed dead (liveness ran out)
};

// A request as handed to the caller: the body, and the envelope (`[client-id] ""`, multi-hop ones included)
// that reply() puts back in front of the answer.
struct WorkerRequest {
    Frames envelope;
    Frames body;
};

class WorkerCore {
  public:
    enum class State { connected, waiting };

    // What the driver must do with its socket after tick(), in this order. Messages (heartbeats) have already
    // gone through the Outbox.
    struct Actions {
        bool close_socket = false;  // queue presumed dead: close (linger 0)
        bool open_socket = false;   // open a new socket, connect, then call on_connected()
        Duration reconnect_in{0};   // with close_socket: the back-off chosen
    };

    // The worker starts connected: the driver opens its first socket and calls on_connected(now, out).
    WorkerCore(WorkerTiming timing, TimePoint now, std::uint64_t seed = std::random_device{}());

    // The driver has just opened and connected a socket: READY goes out, and silence counts from `now` (the
    // time taken to open the socket is not the peer's silence).
    void on_connected(TimePoint now, Outbox& out);
    // A message from the queue. Returns the request when it is one; nullopt for a heartbeat or an invalid
    // message (counted and dropped). Any message counts as hearing the queue. Sends nothing.
    std::optional<WorkerRequest> on_message(Frames&& message, TimePoint now);
    // Heartbeats, liveness, reconnection. Call at next_deadline() (earlier is harmless).
    Actions tick(TimePoint now, Outbox& out);
    // Answer a request from on_message(): its envelope, then `body` (an empty body is sent as one empty
    // frame). Also marks the request handled (see handled()). Not sent while waiting to reconnect (the
    // request came on a socket since closed): counted as unroutable.
    SendResult reply(WorkerRequest&& request, Frames&& body, TimePoint now, Outbox& out);
    // The caller finished a request at `now` without answering it. Time spent handling is not silence from
    // the queue: the queue does not heartbeat a busy worker, so liveness restarts from the moment the worker
    // is listening again.
    void handled(TimePoint now);

    // The reply message for a request: the request's envelope (its frames up to and including the first
    // empty one; `request` may be the whole request or the envelope alone), then the body.
    static Frames make_reply(Frames request, Frames body);

    TimePoint next_deadline() const { return link_.next_deadline(); }
    State state() const { return link_.connected() ? State::connected : State::waiting; }
    int liveness_left() const { return link_.liveness_left(); }
    // The base of the next back-off delay (before jitter): tells whether it was reset.
    Duration next_backoff_base() const { return link_.next_backoff_base(); }
    const WorkerStats& stats() const { return stats_; }
    const WorkerTiming& timing() const { return timing_; }

  private:
    WorkerTiming timing_;
    PeerLink link_;
    WorkerStats stats_;
};

}  // namespace pirates::paranoid_pirate
