#pragma once
// The Paranoid Pirate queue driver: a frontend ROUTER for clients, a backend ROUTER for workers, the
// QueueCore in between, in a Reactor. The frontend is polled only while a worker is idle, so requests wait in
// the clients' pipes (at most `hwm` messages per client connection), never in the queue: the queue holds no
// request for later, so it needs no byte bound of its own.
//
// Both ROUTERs set ZMQ_ROUTER_MANDATORY and send through send_routed(): a request or heartbeat for a worker
// whose connection is gone fails at once, the core forgets the worker and gives the request to the next idle
// worker instead of letting it vanish; a reply to a client that has gone, or that does not read its replies
// (its pipe holds `hwm` of them), is dropped and counted, never blocking. libzmq disconnects a peer that
// sends a frame over max_message_bytes (ZMQ_MAXMSGSIZE).
#include <pirates/common/reactor.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/paranoid_pirate/queue_core.hpp>

#include <string>

namespace pirates::paranoid_pirate {

class Queue {
  public:
    Queue(zmq::context_t& context, QueueOptions options, const ClockSource& clock = steady_clock());
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

    // Bind (logging "bound frontend|backend <endpoint>") and return the endpoint actually bound.
    std::string bind_frontend(const std::string& endpoint);
    std::string bind_backend(const std::string& endpoint);

    // Run until request_stop(), then drain (options.drain): clients are not read any more (their requests
    // stay unread, so they retry elsewhere) while replies to the requests workers hold are still forwarded.
    void run();
    // One turn of the loop; false once stopped.
    bool run_once(Duration max_wait);
    // Thread-safe: run() returns within one poll slice (after its drain; a second request ends the drain).
    void request_stop() { reactor_.request_stop(); }
    void stop() { request_stop(); }
    // Thread-safe: the running loop logs summary() within one poll slice (SIGUSR1 in ppqueue).
    void request_summary() { reactor_.request_summary(); }
    // One line of counts.
    std::string summary() const;
    // Requests given to workers and not answered yet (a worker that died holding one counts until the end).
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
    void on_timer();
    void update();

    const ClockSource& clock_;
    zmq::socket_t frontend_;
    zmq::socket_t backend_;
    QueueCore core_;
    Reactor reactor_;
    RouterOutbox sender_;  // the core's output: channel kFrontend, kBackend
    Reactor::TimerId timer_ = 0;
    TimePoint timer_at_{};
    Duration drain_;
    bool draining_ = false;  // the frontend stays disabled
};

// Kept for users of the earlier API: common's one non-blocking ROUTER send (what was `unreachable` is
// `peer_gone`).
using SendResult = pirates::SendResult;
// Send a whole message without blocking. If the first frame is refused (no route with ZMQ_ROUTER_MANDATORY,
// or the high-water mark), nothing is sent and `message` is left intact.
[[nodiscard]] inline SendResult send_message(zmq::socket_t& socket, Frames& message) {
    return send_routed(socket, message);
}

}  // namespace pirates::paranoid_pirate
