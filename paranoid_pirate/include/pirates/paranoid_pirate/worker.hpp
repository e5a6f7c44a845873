#pragma once
// A Paranoid Pirate worker: give it the queue's backend endpoint and a handler; it connects a DEALER, sends
// READY, heartbeats, notices a dead queue, reconnects with back-off, and turns each request into a call of
// the handler. The handler gets the request body (the envelope is kept aside) and returns the reply body, or
// nullopt to send no reply. Requests are handled one at a time, in the caller's thread.
//
//   zmq::context_t ctx;
//   pirates::paranoid_pirate::Worker worker(ctx, {.endpoint = "tcp://127.0.0.1:5556"},
//       [](pirates::Frames request) -> std::optional<pirates::Frames> { return request; });
//   worker.run();  // until SIGINT/SIGTERM (install_stop_signals()) or stop()
#include <pirates/paranoid_pirate/worker_core.hpp>

#include <functional>
#include <optional>
#include <string>

namespace pirates::paranoid_pirate {

struct WorkerConfig {
    std::string endpoint;  // the queue's backend
    WorkerTiming timing{};
};

class Worker {
  public:
    using Handler = std::function<std::optional<Frames>(Frames request)>;

    Worker(zmq::context_t& context, WorkerConfig config, Handler handler,
           const ClockSource& clock = steady_clock());
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Run until stop() or a stop signal.
    void run();
    // One turn: wait up to max_wait for a message or the next deadline, handle what came, do what is due.
    // False once stopped.
    bool run_once(Duration max_wait);
    void stop() { stopped_ = true; }
    bool stopped() const;

    const WorkerCore& core() const { return core_; }
    bool connected() const { return static_cast<bool>(socket_); }

  private:
    void open();
    void close();
    void handle(Frames request);

    zmq::context_t& context_;
    WorkerConfig config_;
    Handler handler_;
    const ClockSource& clock_;
    WorkerCore core_;
    zmq::socket_t socket_;
    bool stopped_ = false;
};

}  // namespace pirates::paranoid_pirate
