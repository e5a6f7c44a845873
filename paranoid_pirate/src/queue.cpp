#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/paranoid_pirate/protocol.hpp>
#include <pirates/paranoid_pirate/queue.hpp>

namespace pirates::paranoid_pirate {

Queue::Queue(zmq::context_t& context, QueueOptions options, const ClockSource& clock)
    : clock_(clock),
      frontend_(make_router(context, options.hwm, options.max_message_bytes)),
      backend_(make_router(context, options.hwm, options.max_message_bytes)),
      core_(options, clock.now()),
      reactor_(clock),
      sender_({&frontend_, &backend_}) {
    reactor_.add(frontend_, [this] { return on_frontend(); });
    reactor_.add(backend_, [this] { return on_backend(); });
    update();
}

std::string Queue::bind_frontend(const std::string& endpoint) {
    return bind_and_announce(frontend_, endpoint, "frontend");
}

std::string Queue::bind_backend(const std::string& endpoint) {
    return bind_and_announce(backend_, endpoint, "backend");
}

bool Queue::on_frontend() {
    core_.expire(clock_.now());
    if (!core_.has_idle_worker()) {
        update();
        return false;
    }
    Frames message;
    if (!recv_nowait(frontend_, message)) return false;
    core_.on_message(kFrontend, std::move(message), clock_.now(), sender_);
    update();
    return true;
}

bool Queue::on_backend() {
    Frames message;
    if (!recv_nowait(backend_, message)) return false;
    core_.on_message(kBackend, std::move(message), clock_.now(), sender_);
    update();
    return true;
}

void Queue::on_timer() {
    timer_ = 0;
    // Read what workers already sent before judging them: after a stall (a loaded machine, a burst of
    // traffic), heartbeats can sit in the backend socket beyond the reactor's burst limit, and purging first
    // would drop live workers. Bounded, so a flood cannot hold the timer off for ever.
    for (int n = 0; n < 100000 && on_backend(); ++n) {
    }
    core_.tick(clock_.now(), sender_);
    update();
}

void Queue::update() {
    reactor_.enable(frontend_, core_.has_idle_worker());
    const TimePoint next = core_.next_deadline();
    if (timer_ != 0 && timer_at_ == next) return;
    if (timer_ != 0) reactor_.cancel(timer_);
    timer_at_ = next;
    timer_ = reactor_.add_timer_at(next, [this] { on_timer(); });
}

void Queue::run() {
    while (run_once(reactor_.max_poll)) {
    }
}

bool Queue::run_once(Duration max_wait) {
    return reactor_.run_once(max_wait);
}

}  // namespace pirates::paranoid_pirate
