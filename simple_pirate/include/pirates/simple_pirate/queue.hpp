#pragma once
// The Simple Pirate queue: two ROUTER sockets (frontend for clients, backend for workers, both bound) around
// a QueueCore, in a Reactor. The frontend is polled only while a worker is idle.
//
// (Before the framework's one naming, `Queue` was the socket-free core, now QueueCore, and this driver was
// QueueServer, still an alias in queue_server.hpp.)
//
// Both ROUTERs set ZMQ_ROUTER_MANDATORY and every send goes through send_routed(), so a message for a peer
// that has gone, or whose pipe is full, is reported to the core instead of silently dropped: a request for
// such a worker is re-routed to the next idle worker; a reply for a client that has gone, or that does not
// read its replies (its pipe holds `hwm` of them), is counted and dropped. Nothing blocks: every send is
// non-blocking.
//
// Memory bounds: libzmq disconnects a peer that sends a frame over max_message_bytes (ZMQ_MAXMSGSIZE); per
// connection and direction libzmq queues at most `hwm` messages (while no worker is idle, requests wait in
// the clients' frontend pipes, not in the queue); the core's hold queue is bounded by max_held requests and
// max_queue_bytes.
#include <pirates/common/clock.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/security.hpp>
#include <pirates/simple_pirate/queue_core.hpp>

#include <cstdint>
#include <string>

namespace pirates::simple_pirate {

struct QueueOptions {
    std::string frontend = "tcp://*:5555";  // bound
    std::string backend = "tcp://*:5556";   // bound
    std::size_t max_held = 10000;
    std::size_t max_queue_bytes = kDefaultMaxQueueBytes;      // bytes the hold queue may hold
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;  // larger inbound frames: the peer is dropped
    int hwm = 1000;  // messages per peer and direction (ZMQ_SNDHWM and ZMQ_RCVHWM), both sockets
    // On request_stop(), first stop reading clients and keep forwarding replies to requests workers hold
    // (held requests still go to workers as they free up), for up to this long, until no worker holds one;
    // 0: stop at once.
    Duration drain{0};
    Security security{};  // CURVE (security.hpp); plaintext if empty
};
using QueueConfig = QueueOptions;

class Queue {
  public:
    // Binds both sockets, announcing "bound frontend <ep>" and "bound backend <ep>".
    Queue(zmq::context_t& context, QueueOptions options, const ClockSource& clock = steady_clock());
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;
    const std::string& frontend_endpoint() const { return frontend_endpoint_; }
    const std::string& backend_endpoint() const { return backend_endpoint_; }

    // Serve until request_stop(), drain (options.drain), then log a summary.
    void run();
    // One turn of the loop; false once stopped.
    bool run_once(Duration max_wait) { return reactor_.run_once(max_wait); }
    // Thread-safe: run() returns within one poll slice (after its drain; a second request ends the drain).
    void request_stop() { reactor_.request_stop(); }
    void stop() { request_stop(); }
    // Thread-safe: the running loop logs summary() within one poll slice (SIGUSR1 in spqueue).
    void request_summary() { reactor_.request_summary(); }
    // One line of counts.
    std::string summary() const;
    // Requests sent to workers and not answered yet.
    std::uint64_t in_workers_hands() const;

    const QueueStats& stats() const { return core_.stats(); }
    const QueueCore& core() const { return core_; }
    // Calls fn every `interval` on the loop's thread (it may read core() and stats()): how a metrics exporter
    // gets its snapshots. Call before run(), from the thread that will run it.
    void every(Duration interval, std::function<void()> fn) {
        reactor_.add_repeating(interval, std::move(fn));
    }

  private:
    bool on_frontend();
    bool on_backend();

    const ClockSource& clock_;
    zmq::socket_t frontend_;
    zmq::socket_t backend_;
    std::string frontend_endpoint_;
    std::string backend_endpoint_;
    QueueCore core_;
    Reactor reactor_;
    RouterOutbox sender_;  // the core's output: channel kFrontend, kBackend
    Duration drain_;
    bool draining_ = false;  // the frontend stays disabled
};

}  // namespace pirates::simple_pirate
