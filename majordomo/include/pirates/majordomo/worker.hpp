#pragma once
// Majordomo worker API (7/MDP 0.1 worker side, DEALER socket).
//
// The worker registers for one service (READY), heartbeats every interval, counts the broker dead after
// `liveness` silent intervals, then closes its socket and reconnects after an exponential back-off with
// jitter, registering again. A DISCONNECT from the broker also makes it reconnect and register again (at once
// the first time, with back-off if the broker keeps refusing it). Requests are handled one at a time. The
// logic is WorkerCore (worker_core.hpp); this is its driver.
//
// Three ways to use it:
//   run(handler)            a loop: request body -> handler -> reply body, until request_stop()
//   recv(timeout) + reply() when the caller wants control between requests
//   attach(reactor, on_request)  serve from the caller's own Reactor, next to other workers and clients;
//                           or, for a loop of one's own, socket()/next_deadline()/on_readable()/tick()
//
// run() and handle() run the handler on a thread of its own while the worker's thread keeps heartbeating
// (a broker that has seen us heartbeat while busy then notices if we hang or lose the network); the handler
// may send 0.2 PARTIAL replies through the sink it is given. recv() + reply() and attach() leave the
// handling to the caller: no heartbeat then while the caller works (the reference worker's behaviour, which
// the broker accepts: it never expires a worker that is silent while busy).
//
// Two brokers (a Binary Star pair, `connect = "A,B"`): one DEALER per broker, each with its own WorkerCore
// (READY, heartbeats, liveness, reconnect and back-off, independent of the other), so the backup knows the
// worker before it takes over. A request comes from either; its reply (and partials) goes back on the
// connection it came on. The worker still handles one request at a time: a request that arrives from the
// other broker meanwhile (at most one per broker: a broker sends nothing more to a busy worker) is queued and
// handed out next, by recv() and run(); its connection counts as busy from its arrival (heartbeats go on, the
// broker's silence is not counted), so it is not lost to a liveness timeout while it waits. With attach(),
// each request goes to on_request as it arrives (so two may be outstanding, one per broker; answer each
// with reply(), in any order). A loop of the caller's own polls socket(i) for every i < links().
//
// request_stop() may be called from any thread (a program wires SIGINT/SIGTERM to it with a StopSignalHook):
// run() returns, and recv() returns nullopt, within one poll slice (100 ms).
#include <pirates/common/outbox.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/majordomo/worker_core.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pirates::majordomo {

class Worker {
  public:
    using Handler = std::function<Frames(Frames&&)>;
    using RequestHandler = std::function<void(Request&&)>;
    // Sends one PARTIAL reply (0.2 and majortomo; dropped under 0.1). Callable from the handler's thread.
    using PartialSink = std::function<void(Frames)>;
    // Request body and a partial sink -> the final reply body.
    using StreamHandler = std::function<Frames(Frames&&, const PartialSink&)>;

    Worker(zmq::context_t& context, WorkerOptions options, const ClockSource& clock = steady_clock());
    // Says DISCONNECT to the broker if connected; detaches from the caller's Reactor.
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Wait up to `timeout` for the next request, keeping heartbeats and reconnection going. nullopt on
    // timeout or when stopped. Not while attached to a Reactor of the caller's.
    std::optional<Request> recv(Duration timeout);
    // Send the reply to a request from recv()/on_readable()/attach(). An empty body is sent as one empty
    // frame. Returns false (and drops the reply) if the connection it came on has been replaced since.
    bool reply(Request&& request, Frames body);
    // A 0.2 PARTIAL reply to a request not yet answered (from this thread; a handler on another thread uses
    // handle()'s sink). False, and dropped, under 0.1 or when the connection it came on was replaced.
    bool partial(const Request& request, Frames body);
    // recv -> handler -> reply until request_stop(), each handler on its own thread (see above).
    void run(const Handler& handler);
    void run(const StreamHandler& handler);
    // Runs `handler` for a request from recv() on a thread of its own while this thread heartbeats and sends
    // the partials it makes, then sends its final reply. Returns what reply() returns.
    bool handle(Request&& request, const StreamHandler& handler);
    // Thread-safe.
    void request_stop();
    void stop() { request_stop(); }
    bool stopped() const;

    // ---- On the caller's Reactor ----
    // Register the socket and the worker's timer with `reactor` (instead of recv()/run()): each request is
    // passed to `on_request`, which replies with reply() at once or later. The reactor must outlive the
    // worker, or detach() first.
    void attach(Reactor& reactor, RequestHandler on_request);
    void detach();

    // ---- For a loop of the caller's own (no Reactor) ----
    // The socket to wait on for input from broker `link`; nullptr while waiting to reconnect.
    zmq::socket_t* socket(std::size_t link = 0) {
        Link& l = *links_.at(link);
        return l.socket ? &l.socket : nullptr;
    }
    // When tick() must next be called (the earliest over all brokers).
    TimePoint next_deadline() const;
    // Process waiting messages (from every broker) without blocking; returns the first request found.
    std::optional<Request> on_readable();
    // Heartbeat, liveness and reconnection when due, for every broker (harmless to call early).
    void tick();
    void on_timer() { tick(); }  // the former name

    // How many brokers (connections) the worker holds: 1, or the size of the `connect` list.
    std::size_t links() const { return links_.size(); }
    const std::string& endpoint(std::size_t link = 0) const {
        return links_.at(link)->core.options().connect;
    }
    // A socket is open to at least one broker.
    bool connected() const;
    bool connected(std::size_t link) const { return static_cast<bool>(links_.at(link)->socket); }
    std::uint64_t connection(std::size_t link = 0) const { return links_.at(link)->core.connection(); }
    // Summed over every broker; stats(link) for one.
    WorkerStats stats() const;
    const WorkerStats& stats(std::size_t link) const { return links_.at(link)->core.stats(); }
    const WorkerCore& core(std::size_t link = 0) const { return links_.at(link)->core; }
    const WorkerOptions& options() const { return options_; }
    const WorkerOptions& config() const { return options(); }  // the former name
    // Requests received and not yet handed out (from the other broker while one was being handled).
    std::size_t queued() const { return ready_.size(); }

  private:
    // One broker: its core, socket and timer.
    struct Link {
        Link(WorkerOptions options, TimePoint now, std::size_t index)
            : core(std::move(options), now), index(index) {}
        WorkerCore core;
        std::size_t index;
        zmq::socket_t socket;
        Frames in;  // the message being read (kept: a new one per read would cost an allocation)
        SocketOutbox out{socket};
        std::optional<Reactor::TimerId> timer;
        TimePoint timer_at{};
    };
    void open(Link& link);
    bool on_socket(Link& link);
    void on_timer_fired(Link& link);
    void tick(Link& link);
    void schedule(Link& link);
    void take(Link& link, Request&& request);
    void register_with(Reactor& reactor);
    void unregister();

    struct HandlerThread;
    bool on_handler_message();
    void deliver_from_handler(Frames&& message);

    zmq::context_t& context_;
    const ClockSource& clock_;
    WorkerOptions options_;
    std::vector<std::unique_ptr<Link>> links_;  // (pointers: a Link's Outbox refers to its socket)
    Reactor own_reactor_;                       // recv() and run() turn this one
    Reactor* reactor_ = nullptr;                // where the sockets and timers are registered
    RequestHandler on_request_;                 // set by attach()
    std::deque<Request> ready_;                 // requests read by the reactor, not yet handed out by recv()
    std::optional<std::size_t> handed_out_;  // recv() returned a request from this link since the last recv()
    StopSource stop_;
    // handle(): the handler's thread (started by the first call), the request it works on, its answer.
    std::unique_ptr<HandlerThread> handler_thread_;
    const Request* handler_request_ = nullptr;
    std::optional<Frames> handler_answer_;
};

}  // namespace pirates::majordomo
