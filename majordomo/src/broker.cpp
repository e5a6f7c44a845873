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

void Broker::publish() {
    const auto& s = core_.stats();
    workers_.store(core_.worker_count(), std::memory_order_relaxed);
    idle_.store(core_.idle_count(), std::memory_order_relaxed);
    services_.store(core_.service_count(), std::memory_order_relaxed);
    queued_.store(core_.queued_count(), std::memory_order_relaxed);
    requests_.store(s.client_requests, std::memory_order_relaxed);
    replies_.store(s.replies, std::memory_order_relaxed);
    malformed_.store(s.malformed, std::memory_order_relaxed);
    protocol_errors_.store(s.protocol_errors, std::memory_order_relaxed);
}

Broker::Snapshot Broker::snapshot() const {
    return Snapshot{workers_.load(),  idle_.load(),    services_.load(),  queued_.load(),
                    requests_.load(), replies_.load(), malformed_.load(), protocol_errors_.load()};
}

void Broker::send_now(Frames& m) {
    {
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
                    // One message object reused for every receive: its storage is kept between messages.
                    if (!in_.recv(socket_, ZMQ_DONTWAIT)) break;
                    core_.on_message(std::move(in_), clock_.now(), out_);
                }
            } catch (const zmq::error_t& e) {
                if (e.num() != EINTR) throw;
            }
        }
        now = clock_.now();
        if (now >= core_.next_deadline()) {
            core_.tick(now, out_);
        }
        publish();
        if (options_.summary_interval.count() > 0 && now >= next_summary) {
            log::info("{}", summary());
            next_summary = now + options_.summary_interval;
        }
    }
    if (options_.disconnect_on_stop) {
        core_.disconnect_all(out_);
    }
    publish();
    log::info("broker stopping: {}", summary());
}

}  // namespace pirates::majordomo
