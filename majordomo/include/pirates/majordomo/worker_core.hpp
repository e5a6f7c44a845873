#pragma once
// The Majordomo worker (7/MDP 0.1, worker side) as a plain state machine: no socket, no clock. The driver
// (Worker) owns the DEALER socket and does what this says; tests drive it with a ManualClock.
//
//   on_connected:  the driver opened a socket: READY for the service (a new connection number).
//   connected:     HEARTBEAT every interval; anything from the broker restores liveness (a HEARTBEAT or a
//                  REQUEST also resets the back-off); each interval of silence takes one off. At zero the
//                  broker is presumed dead: tick() says close, then open again after the back-off.
//   DISCONNECT:    the broker forgot us (restarted, or we were silent too long): the next tick() says close
//                  and open at once, so the worker registers again; if the broker keeps saying DISCONNECT
//                  (nothing else heard in between), after the back-off instead.
//   REQUEST:       handed to the caller as a Request; reply() turns the answer into a REPLY on the same
//                  connection, and drops it if that connection has been replaced since.
//   malformed:     counted and dropped.
//   versions:      options.version picks the framing (0.1, 0.2, majortomo); 0.2 adds partial(). While the
//                  caller handles a request on another thread (handling() .. handled()), heartbeats go on
//                  and the broker's silence is not counted (it does not heartbeat busy workers).
// Heartbeats, liveness and back-off are common's PeerLink.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/outbox.hpp>
#include <pirates/common/peer_link.hpp>
#include <pirates/common/security.hpp>
#include <pirates/majordomo/protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

namespace pirates::majordomo {

struct WorkerOptions {
    // The broker's endpoint, or a comma-separated list ("A,B"): the Worker then holds one connection to each
    // broker, each with its own WorkerCore (a WorkerCore itself talks to one broker: endpoint() is one).
    std::string connect;
    std::string service;  // service to register for (not mmi.*: the broker refuses those)
    Duration heartbeat{2500};
    int liveness = 3;
    BackoffPolicy reconnect{Duration{2500}, Duration{32000}, 0.2};
    // A larger inbound frame makes libzmq drop the connection (ZMQ_MAXMSGSIZE); the worker then registers
    // again, as after any lost connection (the broker no longer knows it). 0: no limit.
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
    // The framing spoken: 0.1 (the default), 18/MDP 0.2, or the majortomo dialect of 0.2.
    Version version = Version::v01;
    // The former name of `connect`, read when `connect` is empty.
    std::string broker{};
    // CURVE to the broker (Security::client); plaintext if empty. Applied by the driver, unused by the core.
    Security security{};

    const std::string& endpoint() const { return connect.empty() ? broker : connect; }
};
using WorkerConfig = WorkerOptions;  // the former name

struct WorkerStats {
    std::uint64_t requests = 0;         // requests handed to the caller
    std::uint64_t replies = 0;          // replies sent (0.1 REPLY, 0.2 FINAL)
    std::uint64_t partials = 0;         // 0.2 PARTIAL replies sent
    std::uint64_t unroutable = 0;       // replies dropped: their connection was replaced, or the send failed
    std::uint64_t malformed = 0;        // messages from the broker dropped as invalid
    std::uint64_t heartbeats_sent = 0;  //
    std::uint64_t heartbeats_received = 0;  //
    std::uint64_t disconnects = 0;          // DISCONNECT received from the broker
    std::uint64_t reconnects = 0;           // sockets opened (and READY sent) after the first
    std::uint64_t expired = 0;              // the broker presumed dead (liveness ran out)
};

// One request as handed to the caller. Keep it for reply(): it carries the return address.
struct Request {
    Frame client;       // the client's identity at the broker (opaque)
    Frames body;        // the request body, one or more frames
    Frame correlation;  // async-client correlation frame, if any (empty otherwise), echoed by reply()
    std::uint64_t connection = 0;  // which connection it came on
    std::size_t link = 0;          // which broker it came from (Worker: index into its endpoints)
};

class WorkerCore {
  public:
    enum class State { connected, waiting };

    // What the driver must do with its socket after tick(), in this order. Messages (heartbeats) have already
    // gone through the Outbox.
    struct Actions {
        bool close_socket = false;  // close (linger 0): broker presumed dead, or it said DISCONNECT
        bool open_socket = false;   // open a new socket, connect, then call on_connected()
        Duration reconnect_in{0};   // close without open: the back-off chosen
    };

    // The worker starts connected: the driver opens its first socket and calls on_connected(now, out).
    WorkerCore(WorkerOptions options, TimePoint now, std::uint64_t seed = std::random_device{}());

    // The driver has just opened and connected a socket: READY goes out, and silence counts from `now` (the
    // time taken to open the socket is not the peer's silence).
    void on_connected(TimePoint now, Outbox& out);
    // A message from the broker. Returns the request when it is one. Sends nothing: a DISCONNECT makes
    // next_deadline() due at once, and the next tick() says what to do.
    std::optional<Request> on_message(Frames&& message, TimePoint now);
    // Heartbeats, liveness, the reaction to a DISCONNECT, reconnection. Call at next_deadline() (earlier is
    // harmless).
    Actions tick(TimePoint now, Outbox& out);
    // Answer `request` (an empty body is sent as one empty frame; an async client's correlation frame goes
    // first). Also marks the request handled (handled()). False, and nothing sent, when the connection it
    // came on has been replaced or is closing, or the socket refused the message: counted as unroutable.
    bool reply(Request&& request, Frames&& body, TimePoint now, Outbox& out);
    // A 0.2 PARTIAL reply to `request` (which stays the caller's, for more partials and the final reply()).
    // False, and nothing sent, under 0.1 (no partials there), or when the connection is gone, as reply().
    bool partial(const Request& request, Frames&& body, TimePoint now, Outbox& out);
    // The caller is handling a request on another thread and the driver keeps calling tick(): heartbeats go
    // on, and the broker's silence (it does not heartbeat a busy worker) is not counted until handled().
    void handling(TimePoint now);
    // The caller finished a request at `now` (answered or not) and listens again. The broker does not
    // heartbeat a busy worker, so the time spent handling is not silence: liveness restarts from `now`.
    void handled(TimePoint now);
    // The worker is going away for good: DISCONNECT, if it is connected.
    void on_close(Outbox& out);

    TimePoint next_deadline() const;
    State state() const { return link_.connected() ? State::connected : State::waiting; }
    // A DISCONNECT arrived and tick() has not yet acted on it.
    bool disconnect_pending() const { return disconnect_pending_; }
    // Counts sockets opened (on_connected calls): the first connection is 1.
    std::uint64_t connection() const { return connection_; }
    int liveness_left() const { return link_.liveness_left(); }
    // The base of the next back-off delay (before jitter): tells whether it was reset.
    Duration next_backoff_base() const { return link_.next_backoff_base(); }
    const WorkerStats& stats() const { return stats_; }
    const WorkerOptions& options() const { return options_; }

  private:
    WorkerOptions options_;
    PeerLink link_;
    WorkerStats stats_;
    std::uint64_t connection_ = 0;
    bool disconnect_pending_ = false;
    bool handling_ = false;
    TimePoint disconnect_at_{};
    int disconnects_in_a_row_ = 0;  // DISCONNECTs with nothing else heard in between
};

}  // namespace pirates::majordomo
