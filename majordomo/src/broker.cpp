#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/broker.hpp>

namespace pirates::majordomo {

Broker::Broker(zmq::context_t& context, BrokerOptions options, const ClockSource& clock)
    : socket_(context, zmq::socket_type::router),
      options_(std::move(options)),
      clock_(clock),
      core_(options_.core) {
    socket_.set(zmq::sockopt::router_mandatory, 1);
    socket_.set(zmq::sockopt::sndhwm, options_.hwm);
    socket_.set(zmq::sockopt::rcvhwm, options_.hwm);
    socket_.set(zmq::sockopt::linger, 100);
    out_.reserve(64);
    endpoint_ = bind_and_announce(socket_, options_.bind, "broker");
}

std::string Broker::summary() const {
    const auto& s = core_.stats();
    return fmt::format(
        "services {} workers {} idle {} queued {} | requests {} replies {} mmi {} queue-full {} malformed {} "
        "protocol-errors {} expired {} unroutable {}",
        core_.service_count(), core_.worker_count(), core_.idle_count(), core_.queued_count(),
        s.client_requests, s.replies, s.mmi_requests, s.queue_full_drops, s.malformed, s.protocol_errors,
        s.workers_expired, s.unroutable);
}

void Broker::send_all() {
    for (Frames& m : out_) {
        const std::size_t n = m.size();
        std::size_t i = 0;
        try {
            for (; i < n; ++i) {
                auto flags = zmq::send_flags::dontwait;
                if (i + 1 < n) flags = flags | zmq::send_flags::sndmore;
                if (!socket_.send(m[i], flags)) break;  // EAGAIN: the peer's pipe is full
            }
        } catch (const zmq::error_t& e) {
            if (e.num() != EHOSTUNREACH) throw;
        }
        if (i == 0) {  // ROUTER_MANDATORY fails on the identity frame, before anything is queued
            ++core_.stats().unroutable;
            log::debug("dropped a message to {}: peer gone or not keeping up", hex(m[0].to_string_view()));
        }
    }
    out_.clear();
}

void Broker::run() {
    log::info("broker ready on {} (heartbeat {} ms, liveness {}, max-queue {})", endpoint_,
              options_.core.heartbeat.count(), options_.core.liveness, options_.core.max_queue);
    TimePoint next_summary = clock_.now() + options_.summary_interval;
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    while (!stop_ && !stop_requested()) {
        TimePoint now = clock_.now();
        TimePoint wake = core_.next_deadline();
        if (options_.summary_interval.count() > 0) wake = std::min(wake, next_summary);
        try {
            zmq::poll(&item, 1, std::min(until(now, wake), Duration{100}));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
            continue;
        }
        if (item.revents & ZMQ_POLLIN) {
            // Drain what is waiting (bounded, so timers are not starved under a flood).
            try {
                for (int n = 0; n < 10000; ++n) {
                    Frames m;
                    if (!m.recv(socket_, ZMQ_DONTWAIT)) break;
                    core_.on_message(std::move(m), clock_.now(), out_);
                    if (!out_.empty()) send_all();
                }
            } catch (const zmq::error_t& e) {
                if (e.num() != EINTR) throw;
            }
        }
        now = clock_.now();
        if (now >= core_.next_deadline()) {
            core_.tick(now, out_);
            send_all();
        }
        if (options_.summary_interval.count() > 0 && now >= next_summary) {
            log::info("{}", summary());
            next_summary = now + options_.summary_interval;
        }
    }
    if (options_.disconnect_on_stop) {
        core_.disconnect_all(out_);
        send_all();
    }
    log::info("broker stopping: {}", summary());
}

}  // namespace pirates::majordomo
