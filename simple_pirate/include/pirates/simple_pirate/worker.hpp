#pragma once
// The Simple Pirate worker: a REQ socket that connects to the queue's backend, announces itself with the
// one-frame READY (0x01), then answers requests one at a time:
//
//     pirates::simple_pirate::Worker worker(ctx, "tcp://localhost:5556");
//     pirates::StopSignalHook hook([&] { worker.request_stop(); });  // in a program: SIGINT/SIGTERM
//     while (!worker.stopped())
//         if (auto request = worker.receive(std::chrono::milliseconds(100))) worker.reply(handle(*request));
//
// The application sees only the request body; the client's envelope (`[client-id] ""`) is kept by the worker
// and put back in front of the reply.
//
// Simple Pirate has no heartbeat. One thing a REQ worker can do without one: when its TCP connection to the
// queue drops (the queue died, was restarted), the READY it sent went to a queue that no longer exists, so
// the worker opens a new socket and sends READY again (watched with a libzmq socket monitor). A request
// cannot be dropped on a REQ socket (it must answer before it can receive again): drop() does the same
// reopen.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/result.hpp>
#include <pirates/common/security.hpp>
#include <pirates/common/stop.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace pirates::simple_pirate {

// A request as the worker's REQ socket delivers it: envelope (every frame up to the first empty one, i.e.
// `[client-id] ""`) and body.
struct Request {
    Frames envelope;
    Frames body;
};
// Split `[client-id] "" request...`. An Error when there is no envelope or no body.
Result<Request> split_request(Frames message);
// Envelope + body, ready for the REQ socket.
Frames join_reply(Frames envelope, Frames body);

struct WorkerOptions {
    // Reopen and send READY again when the connection to the queue drops.
    bool reregister_on_disconnect = true;
    // libzmq transport (ZMTP) heartbeat, so that a queue host that vanishes without closing the connection is
    // noticed too: ping interval (0 = off); the connection drops after 3 silent intervals.
    Duration transport_heartbeat{0};
    Security security{};  // CURVE (security.hpp); plaintext if empty
};

struct WorkerStats {
    std::uint64_t requests = 0;    // valid requests received
    std::uint64_t replies = 0;     // replies sent
    std::uint64_t malformed = 0;   // malformed requests (the socket is reopened: a REQ must answer otherwise)
    std::uint64_t dropped = 0;     // requests dropped by drop()
    std::uint64_t reconnects = 0;  // sockets reopened (drop, malformed request, lost connection)
    std::uint64_t disconnects = 0;  // connection losses seen by the monitor
};
using WorkerCounters = WorkerStats;  // the former name

class Worker {
  public:
    Worker(zmq::context_t& context, std::string endpoint, WorkerOptions options = {},
           const ClockSource& clock = steady_clock());
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Wait up to `timeout` for a request and return its body; nullopt if none came, when the worker had to
    // register again (lost connection, malformed request), or once stopped. Must not be called while a
    // request is in hand (reply() or drop() it first).
    std::optional<Frames> receive(Duration timeout);
    // Answer the request in hand.
    void reply(Frames body);
    // Leave the request in hand unanswered: reopen the socket and send READY again (the client retries).
    void drop();
    bool busy() const { return busy_; }

    // Thread-safe: receive() returns nullopt within one poll slice (100 ms).
    void request_stop();
    bool stopped() const;

    const WorkerStats& stats() const { return stats_; }
    const std::string& endpoint() const { return endpoint_; }

  private:
    void open();
    void close();
    void reopen();
    bool on_monitor();
    bool on_socket();

    zmq::context_t& context_;
    std::string endpoint_;
    WorkerOptions options_;
    const ClockSource& clock_;
    zmq::socket_t socket_;   // REQ
    zmq::socket_t monitor_;  // PAIR: the REQ socket's DISCONNECTED events (closed when not re-registering)
    Reactor reactor_;
    Frames envelope_;
    std::optional<Frames> ready_;  // the body of a request read in this turn
    bool reopened_ = false;        // the socket was replaced in this turn
    bool busy_ = false;
    WorkerStats stats_;
    StopSource stop_;
};

}  // namespace pirates::simple_pirate
