#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/simple_pirate/queue.hpp>

namespace pirates::simple_pirate {

Queue::Queue(zmq::context_t& context, QueueOptions options, const ClockSource& clock)
    : clock_(clock),
      frontend_(make_router(context, options.hwm, options.max_message_bytes, options.security)),
      backend_(make_router(context, options.hwm, options.max_message_bytes, options.security)),
      core_(options.max_held, options.max_queue_bytes),
      reactor_(clock),
      sender_({&frontend_, &backend_}),
      drain_(options.drain) {
    frontend_endpoint_ = bind_and_announce(frontend_, options.frontend, "frontend");
    backend_endpoint_ = bind_and_announce(backend_, options.backend, "backend");
    reactor_.on_summary([this] { log::info("{}", summary()); });
    reactor_.add(frontend_, [this] { return on_frontend(); });
    reactor_.add(backend_, [this] { return on_backend(); });
    reactor_.enable(frontend_, false);  // no worker yet
}

bool Queue::on_frontend() {
    if (draining_ || !core_.accepting()) return false;
    Frames message;
    if (!recv_nowait(frontend_, message)) return false;
    core_.on_message(kFrontend, std::move(message), clock_.now(), sender_);
    reactor_.enable(frontend_, !draining_ && core_.accepting());
    return true;
}

bool Queue::on_backend() {
    Frames message;
    if (!recv_nowait(backend_, message)) return false;
    core_.on_message(kBackend, std::move(message), clock_.now(), sender_);
    reactor_.enable(frontend_, !draining_ && core_.accepting());
    return true;
}

std::uint64_t Queue::in_workers_hands() const {
    const auto& c = core_.stats();
    return c.dispatched > c.replies ? c.dispatched - c.replies : 0;
}

std::string Queue::summary() const {
    const auto& c = core_.stats();
    return fmt::format(
        "{} requests, {} replies, {} workers idle, {} workers lost, {} invalid, {} dropped from a full hold "
        "queue, {} replies not delivered ({} to clients gone, {} to clients not reading)",
        c.requests, c.replies, core_.idle_workers(), c.workers_lost, c.malformed, c.dropped_overflow,
        c.replies_to_gone_clients + c.replies_would_block, c.replies_to_gone_clients, c.replies_would_block);
}

void Queue::run() {
    reactor_.run();
    if (drain_.count() > 0 && in_workers_hands() > 0) {
        draining_ = true;
        reactor_.enable(frontend_, false);
        log::info("draining: {} requests in workers' hands, clients not read, for up to {} ms",
                  in_workers_hands(), drain_.count());
        if (pirates::drain(reactor_, drain_, [this] { return in_workers_hands() > 0; }))
            log::info("drained");
        else
            log::info("drain ended with {} requests still in workers' hands", in_workers_hands());
    }
    log::info("stopping: {}", summary());
}

}  // namespace pirates::simple_pirate
