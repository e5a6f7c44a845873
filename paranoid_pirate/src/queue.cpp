#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/paranoid_pirate/protocol.hpp>
#include <pirates/paranoid_pirate/queue.hpp>

namespace pirates::paranoid_pirate {

Queue::Queue(zmq::context_t& context, QueueOptions options, const ClockSource& clock)
    : clock_(clock),
      frontend_(make_router(context, options.hwm, options.max_message_bytes, options.security)),
      backend_(make_router(context, options.hwm, options.max_message_bytes, options.security)),
      core_(options, clock.now()),
      reactor_(clock),
      sender_({&frontend_, &backend_}),
      drain_(options.drain) {
    reactor_.on_summary([this] { log::info("{}", summary()); });
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
    reactor_.enable(frontend_, !draining_ && core_.has_idle_worker());
    const TimePoint next = core_.next_deadline();
    if (timer_ != 0 && timer_at_ == next) return;
    if (timer_ != 0) reactor_.cancel(timer_);
    timer_at_ = next;
    timer_ = reactor_.add_timer_at(next, [this] { on_timer(); });
}

std::uint64_t Queue::in_workers_hands() const {
    const auto& s = core_.stats();
    return s.requests > s.replies ? s.requests - s.replies : 0;
}

std::string Queue::summary() const {
    const auto& s = core_.stats();
    return fmt::format(
        "{} requests, {} replies, {} workers idle, {} workers expired, {} invalid worker and {} invalid "
        "client "
        "messages, {} replies not delivered ({} to clients gone, {} to clients not reading)",
        s.requests, s.replies, core_.idle_count(), s.expired, s.malformed_from_workers,
        s.malformed - s.malformed_from_workers, s.replies_to_gone_clients + s.replies_would_block,
        s.replies_to_gone_clients, s.replies_would_block);
}

void Queue::run() {
    while (run_once(reactor_.max_poll)) {
    }
    if (drain_.count() > 0 && in_workers_hands() > 0) {
        draining_ = true;
        update();
        log::info("draining: {} requests in workers' hands, clients not read, for up to {} ms",
                  in_workers_hands(), drain_.count());
        if (pirates::drain(reactor_, drain_, [this] { return in_workers_hands() > 0; }))
            log::info("drained");
        else
            log::info("drain ended with {} requests still in workers' hands", in_workers_hands());
    }
}

bool Queue::run_once(Duration max_wait) {
    return reactor_.run_once(max_wait);
}

}  // namespace pirates::paranoid_pirate
