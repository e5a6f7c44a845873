#pragma once
// The Paranoid Pirate queue driver: a frontend ROUTER for clients, a backend ROUTER for workers, the
// QueueCore in between. The frontend is polled only while a worker is idle, so requests wait in the clients'
// pipes (bounded by their high-water marks), not in the queue.
//
// The backend sets ZMQ_ROUTER_MANDATORY: a request or heartbeat for a worker whose connection is gone fails
// at once, the worker is forgotten and the request goes to the next idle worker instead of vanishing.
#include <pirates/common/reactor.hpp>
#include <pirates/paranoid_pirate/queue_core.hpp>

#include <string>

namespace pirates::paranoid_pirate {

class Queue {
  public:
    Queue(zmq::context_t& context, QueueConfig config, const ClockSource& clock = steady_clock());
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

    // Bind (logging "bound frontend|backend <endpoint>") and return the endpoint actually bound.
    std::string bind_frontend(const std::string& endpoint);
    std::string bind_backend(const std::string& endpoint);

    // Run until stop() or SIGINT/SIGTERM (with install_stop_signals()).
    void run();
    // One turn of the loop; false once stopped.
    bool run_once(Duration max_wait);
    void stop() { reactor_.stop(); }

    const QueueCore& core() const { return core_; }

  private:
    bool on_frontend();
    bool on_backend();
    void on_timer();
    void flush();
    void update();

    const ClockSource& clock_;
    zmq::socket_t frontend_;
    zmq::socket_t backend_;
    QueueCore core_;
    Reactor reactor_;
    QueueCore::Outbox outbox_;
    Reactor::TimerId timer_ = 0;
    TimePoint timer_at_{};
};

enum class SendResult { sent, unreachable, would_block };
// Send a whole message without blocking. If the first frame is refused (no route with ZMQ_ROUTER_MANDATORY,
// or the high-water mark), nothing is sent and `message` is left intact.
SendResult send_message(zmq::socket_t& socket, Frames& message);

}  // namespace pirates::paranoid_pirate
