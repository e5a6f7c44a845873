#pragma once
// A Paranoid Pirate worker: give it the queue's backend endpoint and a handler; it connects a DEALER, sends
// READY, heartbeats, notices a dead queue, reconnects with back-off, and turns each request into a call of
// the handler. The handler gets the request body (the envelope is kept aside) and returns the reply body, or
// nullopt to send no reply. Requests are handled one at a time, in the caller's thread.
//
//   zmq::context_t ctx;
//   pirates::paranoid_pirate::Worker worker(ctx, {.connect = "tcp://127.0.0.1:5556"},
//       [](pirates::Frames request) -> std::optional<pirates::Frames> { return request; });
//   worker.run();  // until worker.request_stop() (from any thread; a program wires SIGINT/SIGTERM to it
//                  // with a StopSignalHook)
//
// The logic is WorkerCore (PPP) on common's PeerLink (heartbeat, liveness, back-off); this driver owns the
// socket and runs a Reactor.
#include <pirates/common/outbox.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/security.hpp>
#include <pirates/paranoid_pirate/worker_core.hpp>

#include <functional>
#include <optional>
#include <string>

namespace pirates::paranoid_pirate {

struct WorkerOptions {
    std::string connect;  // the queue's backend
    WorkerTiming timing{};
    Security security{};  // CURVE (security.hpp); plaintext if empty
};
using WorkerConfig = WorkerOptions;  // the former name

class Worker {
  public:
    using Handler = std::function<std::optional<Frames>(Frames request)>;

    Worker(zmq::context_t& context, WorkerOptions options, Handler handler,
           const ClockSource& clock = steady_clock());
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Run until request_stop().
    void run();
    // One turn: wait up to max_wait for a message or the next deadline, handle what came, do what is due.
    // False once stopped.
    bool run_once(Duration max_wait);
    // Thread-safe: run() returns (and run_once() returns false) within one poll slice (100 ms), or after the
    // request being handled.
    void request_stop();
    void stop() { request_stop(); }
    bool stopped() const;

    const WorkerStats& stats() const { return core_.stats(); }
    const WorkerCore& core() const { return core_; }
    bool connected() const { return static_cast<bool>(socket_); }

  private:
    void open();
    bool on_readable();
    void on_timer();
    void handle(WorkerRequest& request);

    zmq::context_t& context_;
    WorkerOptions options_;
    Handler handler_;
    const ClockSource& clock_;
    WorkerCore core_;
    zmq::socket_t socket_;
    Frames in_;  // the message being read (kept: a new one per read would cost an allocation)
    SocketOutbox out_{socket_};
    Reactor reactor_;
    StopSource stop_;
};

}  // namespace pirates::paranoid_pirate
