#pragma once
// Majordomo worker API (7/MDP 0.1 worker side, DEALER socket).
//
// The worker registers for one service (READY), heartbeats every interval, counts the broker dead after
// `liveness` silent intervals, then closes its socket and reconnects after an exponential back-off with
// jitter, registering again. A DISCONNECT from the broker also makes it reconnect and register again (at once
// the first time, with back-off if the broker keeps refusing it). Requests are handled one at a time.
//
// Three ways to use it:
//   run(handler)            a loop: request body -> handler -> reply body, until stop() or SIGINT/SIGTERM
//   recv(timeout) + reply() when the caller wants control between requests
//   socket()/next_deadline()/on_readable()/on_timer()  to multiplex several workers and clients on one thread
//
// A handler runs synchronously: no heartbeat is sent while it runs, so it must finish well within
// heartbeat x liveness or the broker counts the worker as dead (MDP's rule, as in the reference worker).
#include <pirates/common/backoff.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/heartbeat.hpp>
#include <pirates/common/limits.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace pirates::majordomo {

struct WorkerConfig {
    std::string broker;   // endpoint to connect to
    std::string service;  // service to register for (not mmi.*: the broker refuses those)
    Duration heartbeat{2500};
    int liveness = 3;
    BackoffPolicy reconnect{Duration{2500}, Duration{32000}, 0.2};
    // A larger inbound frame makes libzmq drop the connection (ZMQ_MAXMSGSIZE); the worker then registers
    // again, as after any lost connection (the broker no longer knows it). 0: no limit.
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};

struct WorkerStats {
    std::uint64_t requests = 0;
    std::uint64_t replies = 0;
    std::uint64_t replies_dropped = 0;  // reply to a request from a connection since replaced
    std::uint64_t heartbeats_sent = 0;
    std::uint64_t heartbeats_received = 0;
    std::uint64_t disconnects_received = 0;
    std::uint64_t connects = 0;       // READY sent (first registration included)
    std::uint64_t broker_deaths = 0;  // liveness ran out
    std::uint64_t malformed = 0;
};

// One request as handed to the caller. Keep it to reply(): it carries the return address.
struct Request {
    Frame client;       // the client's identity at the broker (opaque)
    Frames body;        // the request body, one or more frames
    Frame correlation;  // async-client correlation frame, if any (empty otherwise), echoed by reply()
    std::uint64_t connection = 0;  // which connection it came on
};

class Worker {
  public:
    using Handler = std::function<Frames(Frames&&)>;

    Worker(zmq::context_t& context, WorkerConfig config, const ClockSource& clock = steady_clock());
    // Says DISCONNECT to the broker if connected.
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Wait up to `timeout` for the next request, keeping heartbeats and reconnection going. nullopt on
    // timeout or when stopped.
    std::optional<Request> recv(Duration timeout);
    // Send the reply to a request from recv()/on_readable(). An empty body is sent as one empty frame.
    // Returns false (and drops the reply) if the connection it came on has been replaced since.
    bool reply(Request&& request, Frames body);
    // recv -> handler -> reply until stop() or a stop signal.
    void run(const Handler& handler);
    void stop() { stopped_ = true; }
    bool stopped() const;

    // ---- For a caller's own poll loop ----
    // The socket to poll for input; nullptr while waiting to reconnect.
    zmq::socket_t* socket() { return socket_ ? &socket_ : nullptr; }
    // When on_timer() must next be called.
    TimePoint next_deadline() const;
    // Process waiting messages without blocking; returns the first request found.
    std::optional<Request> on_readable();
    // Heartbeat, liveness and reconnection when due (harmless to call early).
    void on_timer();

    bool connected() const { return static_cast<bool>(socket_); }
    std::uint64_t connection() const { return connection_; }
    const WorkerStats& stats() const { return stats_; }
    const WorkerConfig& config() const { return config_; }

  private:
    void connect(TimePoint now);
    void close_socket();
    void schedule_reconnect(TimePoint now, Duration delay);
    bool send(Frames&& message);

    zmq::context_t& context_;
    WorkerConfig config_;
    const ClockSource& clock_;
    zmq::socket_t socket_;
    HeartbeatTimer heartbeat_;
    LivenessCounter liveness_;
    Backoff backoff_;
    bool heard_ = false;  // something came from the broker since the last heartbeat tick
    int disconnects_in_a_row_ = 0;
    std::optional<TimePoint> reconnect_at_;  // set while waiting to reconnect
    std::uint64_t connection_ = 0;
    std::atomic<bool> stopped_{false};
    WorkerStats stats_;
};

}  // namespace pirates::majordomo
