#include <pirates/simple_pirate/metrics.hpp>

namespace pirates::simple_pirate {

std::string queue_metrics(const Queue& queue) {
    auto n = [](std::uint64_t v) { return static_cast<double>(v); };
    metrics::MetricsText m;
    const QueueStats& s = queue.stats();
    m.counter("spqueue_requests_total", "valid client requests received", n(s.requests));
    m.counter("spqueue_dispatched_total", "requests sent to a worker (re-routes count again)",
              n(s.dispatched));
    m.counter("spqueue_replies_total", "worker replies forwarded to clients", n(s.replies));
    m.counter("spqueue_readies_total", "READY received", n(s.readies));
    m.counter("spqueue_held_total", "requests that had to wait for a worker", n(s.held));
    m.counter("spqueue_dropped_overflow_total", "requests dropped: the hold queue was full",
              n(s.dropped_overflow));
    m.counter("spqueue_malformed_total", "malformed messages dropped", n(s.malformed));
    m.counter("spqueue_malformed_from_workers_total", "malformed messages from workers",
              n(s.malformed_from_workers));
    m.counter("spqueue_protocol_errors_total", "messages from a worker already idle", n(s.protocol_errors));
    m.counter("spqueue_unroutable_total", "sends that found the peer gone or full", n(s.unroutable));
    m.counter("spqueue_workers_lost_total", "workers found gone when a request was sent to them",
              n(s.workers_lost));
    m.counter("spqueue_replies_to_gone_clients_total", "replies dropped: the client had gone",
              n(s.replies_to_gone_clients));
    m.counter("spqueue_replies_would_block_total", "replies dropped: the client was not reading",
              n(s.replies_would_block));
    m.gauge("spqueue_idle_workers", "workers waiting for a request",
            static_cast<double>(queue.core().idle_workers()));
    m.gauge("spqueue_held_requests", "requests waiting for a worker",
            static_cast<double>(queue.core().held_requests()));
    m.gauge("spqueue_held_bytes", "bytes of the requests waiting",
            static_cast<double>(queue.core().held_bytes()));
    m.gauge("spqueue_in_workers_hands", "requests sent to workers and not answered yet",
            n(queue.in_workers_hands()));
    return m.take();
}

std::unique_ptr<metrics::Exporter> serve_metrics(Queue& queue, const std::string& address,
                                                 Duration interval) {
    return metrics::serve(queue, address, interval, queue_metrics);
}

}  // namespace pirates::simple_pirate
